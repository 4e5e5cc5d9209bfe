import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from curator.export import (
    BOM,
    Exclusion,
    ExportError,
    ExportRecord,
    export_records,
    iter_export_rows,
)


def _chat(i: int) -> dict[str, Any]:
    return {
        "messages": [
            {"role": "user", "content": f"question {i}"},
            {"role": "assistant", "content": f"answer {i} — é"},
        ]
    }


def _records(n: int = 10) -> list[ExportRecord]:
    splits = ["train"] * 8 + ["validation", "holdout"]
    return [ExportRecord(i, splits[i % 10], _chat(i), 10 + i, 3 + i) for i in range(n)]


def test_export_writes_splits_and_a_manifest_that_matches_the_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = export_records(_records(20), out, excluded=[Exclusion(99, "duplicate of 1")])
    for split in ("train", "validation", "holdout"):
        data = (out / f"{split}.jsonl").read_bytes()
        entry = res.manifest["splits"][split]
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert entry["examples"] == len(data.splitlines())
    assert res.manifest["splits"]["train"]["examples"] == 16
    rows = list(iter_export_rows(out / "validation.jsonl"))
    assert rows == [_chat(8), _chat(18)]
    on_disk = json.loads((out / "manifest.json").read_text())
    assert on_disk["excluded"] == [
        {"id": 99, "source_file": None, "line": None, "reason": "duplicate of 1"}]
    assert set(on_disk["files"]) == {"train.jsonl", "validation.jsonl", "holdout.jsonl"}
    assert on_disk["splits"]["train"]["tokens"]["min"] == 10


def test_same_export_twice_is_byte_identical(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    export_records(_records(), a, parameters={"seed": 7})
    export_records(_records(), b, parameters={"seed": 7})
    for name in ("train.jsonl", "validation.jsonl", "holdout.jsonl", "manifest.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes()


def test_azure_target_writes_a_bom_by_default(tmp_path: Path) -> None:
    export_records(_records(), tmp_path / "az", target="azure")
    export_records(_records(), tmp_path / "oa", target="openai")
    assert (tmp_path / "az" / "train.jsonl").read_bytes().startswith(BOM)
    assert not (tmp_path / "oa" / "train.jsonl").read_bytes().startswith(BOM)
    assert next(iter_export_rows(tmp_path / "az" / "train.jsonl")) == _chat(0)


def test_failed_export_leaves_the_previous_one_intact(tmp_path: Path) -> None:
    out = tmp_path / "out"
    export_records(_records(), out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def broken(example: dict[str, Any], fmt: str) -> tuple[dict[str, Any] | None, str | None]:
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        export_records(_records(), out, fmt="alpaca", convert=broken)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    # no temp dir left behind (the lock file that serialises exports into `out` stays)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.export.lock", "out"]


def test_records_without_split_or_conversion_are_listed_not_dropped(tmp_path: Path) -> None:
    recs = [*_records(), ExportRecord(50, None, _chat(50))]

    def convert(example: dict[str, Any], fmt: str) -> tuple[dict[str, Any] | None, str | None]:
        if example == _chat(3):
            return None, "has no user turn"
        return {"instruction": example["messages"][0]["content"],
                "output": example["messages"][1]["content"]}, None

    res = export_records(recs, tmp_path / "o", fmt="alpaca", convert=convert)
    reasons = {e["id"]: e["reason"] for e in res.manifest["excluded"]}
    assert reasons[50].startswith("no split")
    assert "has no user turn" in reasons[3]
    total = sum(s["examples"] for s in res.manifest["splits"].values())
    assert total + len(reasons) == len(recs)


def test_refuses_to_replace_a_directory_curator_did_not_write(tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("precious")
    with pytest.raises(ExportError, match="refusing"):
        export_records(_records(), out)
    assert (out / "notes.txt").read_text() == "precious"
