"""The Hugging Face folder and the Parquet files are streamed in batches (issue 15): several
Parquet row groups for a set larger than the batch, the same rows and schema as one batch would
give, byte-identical reruns, and loadable by `datasets`."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pytest
from store_helpers import chat, write_jsonl

from curator.export import ExportError, iter_export_rows
from curator.workspace import Workspace
from curator.workspace.export import export_workspace
from curator.workspace.importer import import_files
from curator.workspace.prepare import Preparer

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

SPLITS = ("train", "validation", "holdout")
N = 60


def _rows() -> list[Any]:
    rows: list[Any] = [chat(f"question {i} — é?", f"answer {i}", system="be brief")
                       for i in range(N)]
    # A field that only late records have: a batch-by-batch schema must still hold it.
    rows[N - 2]["messages"][1]["name"] = "bob"
    rows[N - 1]["messages"][1]["name"] = "eve"
    return rows


def _open(tmp_path: Path, rows: list[Any]) -> Workspace:
    src = write_jsonl(tmp_path / "data.jsonl", rows)
    ws = Workspace.open(tmp_path / "w.db", create=True)
    import_files(ws, [src], prepare=Preparer("openai", count_tokens=True))
    ids = list(ws.select_ids(["status!=rejected"]))
    names = ["train"] * 8 + ["validation", "holdout"]
    ws.set_splits({i: names[k % 10] for k, i in enumerate(ids)}, {"seed": 7})
    return ws


@pytest.fixture
def ws(tmp_path: Path) -> Any:
    w = _open(tmp_path, _rows())
    yield w
    w.close()


def _without_nulls(value: Any) -> Any:
    """A row as JSON has it: Arrow gives a missing struct field as None."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def test_parquet_has_a_row_group_per_batch_and_round_trips(ws: Workspace, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    out = tmp_path / "small"
    res = export_workspace(ws, out, hf=("dataset", "parquet"), batch_rows=4)
    assert res.counts["train"] > 8
    for s in SPLITS:
        f = pq.ParquetFile(out / "parquet" / f"{s}.parquet")
        assert f.metadata.num_row_groups == math.ceil(res.counts[s] / 4), s
        assert f.metadata.num_rows == res.counts[s]
        jsonl = list(iter_export_rows(out / f"{s}.jsonl"))
        assert _without_nulls(f.read().to_pylist()) == jsonl, s
    # the late records' own field made it into the one schema every split shares
    rows = [r for s in SPLITS for r in iter_export_rows(out / f"{s}.jsonl")]
    assert sum("name" in m for r in rows for m in r["messages"]) == 2

    # One batch over everything (the whole-table inference of before) gives the same tables.
    whole = tmp_path / "whole"
    export_workspace(ws, whole, hf=("dataset", "parquet"))
    for s in SPLITS:
        assert pq.ParquetFile(whole / "parquet" / f"{s}.parquet").metadata.num_row_groups == 1
        a = pq.read_table(out / "parquet" / f"{s}.parquet")
        b = pq.read_table(whole / "parquet" / f"{s}.parquet")
        assert a.schema == b.schema and a.equals(b), s


def test_streamed_outputs_load_with_datasets_and_rerun_identically(ws: Workspace,
                                                                   tmp_path: Path) -> None:
    import datasets

    out = tmp_path / "out"
    res = export_workspace(ws, out, hf=("dataset", "parquet"), batch_rows=4)
    assert res.manifest["hf_dataset"] == "hf"
    assert res.manifest["parquet"] == {s: f"parquet/{s}.parquet" for s in SPLITS}
    hf = datasets.load_from_disk(str(out / "hf"))
    pq = datasets.load_dataset(
        "parquet", data_files={s: str(out / "parquet" / f"{s}.parquet") for s in SPLITS},
        cache_dir=str(tmp_path / "cache"))
    for s in SPLITS:
        jsonl = list(iter_export_rows(out / f"{s}.jsonl"))
        assert hf[s].num_rows == pq[s].num_rows == res.counts[s]
        assert _without_nulls(hf[s].to_list()) == _without_nulls(pq[s].to_list()) == jsonl, s
    state = json.loads((out / "hf" / "train" / "state.json").read_text())
    assert state["_fingerprint"] == res.manifest["splits"]["train"]["sha256"][:16]
    again = export_workspace(ws, tmp_path / "again", hf=("dataset", "parquet"), batch_rows=4)
    assert again.manifest["files"] == res.manifest["files"]  # byte-identical, file by file


def test_a_field_whose_type_changes_between_batches_is_an_export_error(tmp_path: Path) -> None:
    """What one inference over every row refused (a string here, a number there) is still
    refused when the rows come in batches; nulls and ints meeting floats still unify."""
    from curator.workspace.export import _schema

    rows = [{"a": None, "b": 1}, {"a": "x", "b": 2}, {"a": None, "b": 2.5}, {"a": "y", "b": 3}]
    good = write_jsonl(tmp_path / "good.jsonl", rows)
    schema = _schema([good], 1)
    assert [(f.name, str(f.type)) for f in schema] == [("a", "string"), ("b", "double")]
    bad = write_jsonl(tmp_path / "bad.jsonl", [*rows, {"a": 7, "b": 1}])
    with pytest.raises(ExportError, match="cannot share one Arrow schema"):
        _schema([good, bad], 2)
