"""export_workspace over a real workspace: selection, shapes, manifest, extras, and loading them."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
from store_helpers import chat, write_jsonl

from curator.export import BOM, ExportError, iter_export_rows
from curator.workspace import DuplicateCluster, Workspace
from curator.workspace.export import export_workspace, llamafactory_entry
from curator.workspace.importer import import_files
from curator.workspace.prepare import Preparer
from curator.workspace.settings import resolve_target_format

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

N = 30


def _rows() -> list[Any]:
    rows: list[Any] = [chat(f"question {i} — é?", f"answer {i}", system="be brief") for i in range(N)]
    rows[3] = {"messages": [{"role": "user", "content": "no answer"}]}  # an error under openai
    return rows


@pytest.fixture
def ws(tmp_path: Path) -> Any:
    src = write_jsonl(tmp_path / "data.jsonl", _rows(), raw_lines={5: "{broken"})
    w = Workspace.open(tmp_path / "w.db", create=True)
    import_files(w, [src], prepare=Preparer("openai", count_tokens=True))
    yield w
    w.close()


def _split_all(w: Workspace) -> None:
    ids = list(w.select_ids(["status!=rejected"]))
    names = ["train"] * 8 + ["validation", "holdout"]
    params = {"seed": 7, "ratios": [0.8, 0.1, 0.1]}  # kept where workspace/split.py keeps them
    w.set_splits({i: names[k % 10] for k, i in enumerate(ids)}, params,
                 meta={"split.params": json.dumps(params)})


def _ids_in(out: Path, split: str) -> list[str]:
    return [r["messages"][1]["content"] for r in iter_export_rows(out / f"{split}.jsonl")]


def test_selection_manifest_and_current_form(ws: Workspace, tmp_path: Path) -> None:
    _split_all(ws)
    ws.mark_duplicates([DuplicateCluster(1, {2: 0.91})])
    ws.set_status([7], "rejected", "off topic")
    edited = chat("question 8 — é?", "an edited answer", system="be brief")
    original = chat("question 8 — é?", "answer 8", system="be brief")
    assert ws.get(10).canonical == original  # row 8 is on line 10 (the broken line is line 6)
    ws.edit(10, edited)
    out = tmp_path / "out"
    res = export_workspace(ws, out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest == json.loads(json.dumps(res.manifest))
    exported = sum(manifest["splits"][s]["examples"] for s in ("train", "validation", "holdout"))
    total = ws.count()
    assert exported + len(manifest["excluded"]) == total
    reasons = {e["id"]: e for e in manifest["excluded"]}
    assert reasons[2]["reason"] == "duplicate of 1 (similarity 0.910)"
    assert reasons[7]["reason"] == "rejected: off topic"
    assert reasons[7]["source_file"].endswith("data.jsonl") and reasons[7]["line"] == 7
    broken = ws.get(6)
    assert broken.status == "rejected" and reasons[6]["line"] == 6
    assert reasons[4]["reason"].startswith("rejected: ")  # the row without an answer
    assert manifest["counts"]["excluded_by_reason"] == {"duplicate": 1, "rejected": 3}
    everything = [r for s in ("train", "validation", "holdout") for r in iter_export_rows(out / f"{s}.jsonl")]
    assert edited in everything
    assert original not in everything
    for split in ("train", "validation", "holdout"):
        data = (out / f"{split}.jsonl").read_bytes()
        assert manifest["splits"][split]["sha256"] == hashlib.sha256(data).hexdigest()
        assert manifest["files"][f"{split}.jsonl"] == hashlib.sha256(data).hexdigest()
        assert manifest["splits"][split]["tokens"]["min"] > 0
    assert manifest["parameters"]["seed"] == 7
    assert manifest["parameters"]["split"] == {"seed": 7, "ratios": [0.8, 0.1, 0.1]}
    assert manifest["profile"]["name"] == "openai"
    assert manifest["profile"]["token_limit"] == 65536


def test_only_accepted(ws: Workspace, tmp_path: Path) -> None:
    _split_all(ws)
    ws.set_status([1, 2, 10], "accepted")
    res = export_workspace(ws, tmp_path / "out", only_accepted=True)
    assert sum(res.counts.values()) == 3
    assert res.manifest["selection"] == "accepted"
    assert res.manifest["counts"]["excluded_by_reason"]["not_accepted"] == ws.count() - 3 - 2


def test_records_without_a_split_are_an_error(ws: Workspace, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="curator split"):
        export_workspace(ws, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    _split_all(ws)
    ws.set_splits({1: None})
    with pytest.raises(ExportError, match=r"1 of \d+ records to export have no split \(ids 1\)"):
        export_workspace(ws, tmp_path / "out")
    ws.set_status([1], "rejected", "bad")  # a rejected record needs no split
    export_workspace(ws, tmp_path / "out")


def test_same_export_twice_is_byte_identical_including_extras(ws: Workspace, tmp_path: Path) -> None:
    _split_all(ws)
    kw: dict[str, Any] = {"fmt": "trl-messages", "hf": ("dataset", "parquet"), "llamafactory": True}
    a = export_workspace(ws, tmp_path / "a", **kw)
    b = export_workspace(ws, tmp_path / "b", **kw)
    files_a = sorted(p.relative_to(a.out_dir) for p in a.out_dir.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b.out_dir) for p in b.out_dir.rglob("*") if p.is_file())
    assert files_a == files_b and len(files_a) > 10
    for rel in files_a:
        assert (a.out_dir / rel).read_bytes() == (b.out_dir / rel).read_bytes(), rel
    assert set(a.manifest["files"]) == {str(r) for r in files_a} - {"manifest.json"}
    again = export_workspace(ws, tmp_path / "a", **kw)  # over the previous export
    assert again.manifest == a.manifest


def test_azure_bom_and_format_target_rules(ws: Workspace, tmp_path: Path) -> None:
    _split_all(ws)
    export_workspace(ws, tmp_path / "az", target="azure")
    assert (tmp_path / "az" / "train.jsonl").read_bytes().startswith(BOM)
    export_workspace(ws, tmp_path / "nobom", target="azure", bom=False)
    assert not (tmp_path / "nobom" / "train.jsonl").read_bytes().startswith(BOM)
    az = export_workspace(ws, tmp_path / "azx", target="azure", hf=("parquet",))
    import pyarrow.parquet as pq

    rows = pq.read_table(tmp_path / "azx" / "parquet" / "train.parquet").to_pylist()
    assert rows == list(iter_export_rows(tmp_path / "azx" / "train.jsonl"))  # BOM not in the data
    assert az.manifest["bom"] is True
    export_workspace(ws, tmp_path / "oa", target="openai")
    assert not (tmp_path / "oa" / "train.jsonl").read_bytes().startswith(BOM)
    with pytest.raises(ExportError, match="target openai does not read sharegpt"):
        export_workspace(ws, tmp_path / "x", fmt="sharegpt", target="openai")
    assert resolve_target_format(ws, "alpaca", None) == ("alpaca", "lf")
    assert resolve_target_format(ws, None, "trl") == ("trl-messages", "trl")


def test_unconvertible_records_are_excluded_with_the_reason(ws: Workspace, tmp_path: Path) -> None:
    _split_all(ws)
    ws.edit(1, {"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "a"},
                             {"role": "assistant", "content": "b"}, {"role": "user", "content": "c"},
                             {"role": "assistant", "content": "d"}]})
    res = export_workspace(ws, tmp_path / "pc", fmt="prompt-completion")
    why = {e["id"]: e["reason"] for e in res.manifest["excluded"]}
    assert why[1].startswith("cannot convert to prompt-completion: convert.unrepresentable")
    assert res.manifest["counts"]["excluded_by_reason"]["unconvertible"] == 1
    row = next(iter_export_rows(tmp_path / "pc" / "train.jsonl"))
    assert set(row) == {"prompt", "completion"} and row["prompt"].startswith("be brief\n\n")


def test_llamafactory_dataset_info(ws: Workspace, tmp_path: Path) -> None:
    _split_all(ws)
    res = export_workspace(ws, tmp_path / "lf", fmt="sharegpt", llamafactory=True,
                           llamafactory_name="support")
    info = json.loads((tmp_path / "lf" / "dataset_info.json").read_text())
    assert set(info) == {"support", "support_validation", "support_holdout"}
    assert info["support"] == llamafactory_entry("sharegpt", "train.jsonl")
    assert info["support"]["columns"]["messages"] == "conversations"
    row = next(iter_export_rows(tmp_path / "lf" / info["support_holdout"]["file_name"]))
    assert row["conversations"][0]["from"] == "human" and row["system"] == "be brief"
    assert res.manifest["llamafactory"]["datasets"]["train"] == "support"


def _load_every_way(out: Path, cache: Path) -> dict[str, Any]:
    import datasets

    files = {s: str(out / f"{s}.jsonl") for s in ("train", "validation", "holdout")}
    return {
        "jsonl": datasets.load_dataset("json", data_files=files, cache_dir=str(cache)),
        "hf": datasets.load_from_disk(str(out / "hf")),
        "parquet": datasets.load_dataset(
            "parquet", data_files={s: str(out / "parquet" / f"{s}.parquet") for s in files},
            cache_dir=str(cache)),
    }


@pytest.mark.parametrize(("fmt", "keys"), [
    ("openai-chat", {"messages"}),
    ("trl-messages", {"messages"}),
    ("prompt-completion", {"prompt", "completion"}),
    ("sharegpt", {"conversations", "system"}),
    ("alpaca", {"instruction", "input", "output", "system"}),
])
def test_every_export_loads_with_datasets(ws: Workspace, tmp_path: Path, fmt: str,
                                          keys: set[str]) -> None:
    _split_all(ws)
    out = tmp_path / fmt
    res = export_workspace(ws, out, fmt=fmt, hf=("dataset", "parquet"))
    for how, dd in _load_every_way(out, tmp_path / "cache").items():
        for split in ("train", "validation", "holdout"):
            ds = dd[split]
            assert ds.num_rows == res.counts[split], (how, split)
            assert set(ds.column_names) == keys, (how, split)
        first = dd["train"][0]
        if "messages" in keys:  # what TRL's SFTTrainer takes as conversational LM data
            roles = [m["role"] for m in first["messages"]]
            assert roles == ["system", "user", "assistant"]
            assert all(isinstance(m["content"], str) for m in first["messages"])
        if keys == {"prompt", "completion"}:  # SFTTrainer's prompt-completion keys
            assert isinstance(first["prompt"], str) and isinstance(first["completion"], str)


def test_snapshot_holds_while_another_process_commits(ws: Workspace, tmp_path: Path) -> None:
    other = Workspace.open(ws.path)
    try:
        with ws.snapshot():
            before = ws.count(["status=rejected"])
            other.set_status([1], "rejected", "meanwhile")
            assert ws.count(["status=rejected"]) == before
        assert ws.count(["status=rejected"]) == before + 1
    finally:
        other.close()



def test_after_curator_split_with_its_own_names(ws: Workspace, tmp_path: Path) -> None:
    from curator.workspace.split import split_workspace

    split_workspace(ws, ratios=(0.6, 0.2, 0.2), seed=5, names=("fit", "dev", "exam"))
    assert ws.count(["split=fit"]) > 0
    res = export_workspace(ws, tmp_path / "out")
    included = ws.count(["status!=rejected"])
    assert sum(res.counts.values()) == included and min(res.counts.values()) > 0
    assert res.counts["train"] == ws.count(["split=fit", "status!=rejected"])
    assert res.manifest["parameters"]["seed"] == 5
    assert res.manifest["parameters"]["split_names"] == {"train": "fit", "validation": "dev",
                                                         "holdout": "exam"}
    from curator.workspace.report import gather_facts

    facts = gather_facts(ws)
    assert facts.split_counts == res.counts


# -- re-export replaces only what the previous export wrote (issue 11, item 2) ------------------


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize(("planted", "named"), [
    ("notes.txt", "notes.txt"), ("hf/notes.txt", "hf/notes.txt"), ("mine/deep/n.txt", "mine/")])
def test_reexport_refuses_a_folder_with_files_it_did_not_write(ws: Workspace, tmp_path: Path,
                                                               planted: str, named: str) -> None:
    _split_all(ws)
    out = tmp_path / "out"
    export_workspace(ws, out, hf=("dataset",))
    (out / planted).parent.mkdir(parents=True, exist_ok=True)
    (out / planted).write_text("precious")
    before = _tree(out)
    with pytest.raises(ExportError, match=r"refusing to replace files curator did not write"
                       ) as err:
        export_workspace(ws, out, hf=("dataset",))
    assert f"({named})" in str(err.value)
    assert _tree(out) == before  # nothing deleted, nothing replaced
    (out / planted).unlink()
    if named.endswith("/"):
        (out / planted).parent.rmdir()
        (out / planted).parent.parent.rmdir()
    export_workspace(ws, out, hf=("dataset",))  # only curator's files again: replaced


def test_reexport_never_deletes_a_workspace_inside_the_export_folder(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "data.jsonl", [chat(f"q{i}", f"a{i}") for i in range(10)])
    out = tmp_path / "out"
    with Workspace.open(tmp_path / "first.db", create=True) as first:
        import_files(first, [src], Preparer("openai", count_tokens=False))
        _split_all(first)
        export_workspace(first, out)
    # the user then keeps a workspace inside the export folder and decides on its records
    with Workspace.open(out / "ws.db", create=True) as inner:
        import_files(inner, [src], Preparer("openai", count_tokens=False))
        _split_all(inner)
        inner.set_status([1, 2], "rejected", "kept decision")
        with pytest.raises(ExportError, match="holds the open workspace"):
            export_workspace(inner, out)
        with pytest.raises(ExportError, match="holds the open workspace"):
            export_workspace(inner, tmp_path)  # a folder above the workspace's is at risk too
    with (Workspace.open(tmp_path / "first.db") as first,
          pytest.raises(ExportError, match=r"ws\.db")):  # another workspace's export: refused
        export_workspace(first, out)
    with Workspace.open(out / "ws.db") as inner:
        assert inner.get(1).status == "rejected" and inner.get(2).reason == "kept decision"
        assert inner.integrity_check() == "ok"


def test_reexport_removes_only_the_previous_exports_files(ws: Workspace, tmp_path: Path) -> None:
    _split_all(ws)
    out = tmp_path / "out"
    export_workspace(ws, out, hf=("dataset", "parquet"), llamafactory=True)
    res = export_workspace(ws, out)  # no extras this time: the old extras go, nothing else left
    assert set(_tree(out)) == set(res.manifest["files"]) | {"manifest.json"}
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("out", ".out"))) == [
        ".out.export.lock", "out"]


def test_a_file_written_into_the_folder_during_the_export_is_kept(
        ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file that lands in the old folder after the check (here: while the extras are written)
    makes the export undo its swap and refuse; the file and the previous export stay."""
    import curator.workspace.export as wse

    _split_all(ws)
    out = tmp_path / "out"
    export_workspace(ws, out)
    ws.set_status([1], "rejected", "changed")  # so the new export would differ
    before = _tree(out)
    real = wse._write_arrow

    def late_writer(*args: Any) -> dict[str, str] | None:
        (out / "late.txt").write_text("written meanwhile")
        return real(*args)

    monkeypatch.setattr(wse, "_write_arrow", late_writer)
    with pytest.raises(ExportError, match=r"gained files while exporting \(late\.txt\)"):
        export_workspace(ws, out, hf=("parquet",))
    after = _tree(out)
    assert after.pop("late.txt") == b"written meanwhile"
    assert after == before
    assert not list(tmp_path.glob(".out.export-*"))


def test_an_empty_split_gets_no_file_and_a_warning(ws: Workspace, tmp_path: Path) -> None:
    """An empty validation.jsonl breaks datasets.load_dataset: no file is written for an empty
    split, the manifest says so, and every file written loads (issue 11, item 7)."""
    import datasets

    ids = list(ws.select_ids(["status!=rejected"]))
    ws.set_splits({i: ("train", "holdout")[k % 2] for k, i in enumerate(ids)})
    out = tmp_path / "out"
    res = export_workspace(ws, out, hf=("dataset", "parquet"), llamafactory=True)
    assert res.manifest["empty_splits"] == ["validation"]
    assert res.warnings == [res.manifest["warnings"][0]] and "validation is empty" in res.warnings[0]
    assert res.manifest["splits"]["validation"]["file"] is None
    assert res.to_dict()["warnings"] == res.warnings
    assert not (out / "validation.jsonl").exists()
    assert not (out / "parquet" / "validation.parquet").exists()
    files = {s: str(out / f"{s}.jsonl") for s in ("train", "holdout")}
    loaded = datasets.load_dataset("json", data_files=files, cache_dir=str(tmp_path / "c"))
    assert {s: loaded[s].num_rows for s in files} == {s: res.counts[s] for s in files}
    assert set(datasets.load_from_disk(str(out / "hf"))) == {"train", "holdout"}
    assert "curator_validation" not in json.loads((out / "dataset_info.json").read_text())
    again = export_workspace(ws, out, hf=("dataset", "parquet"), llamafactory=True)
    assert again.manifest == res.manifest  # reruns stay byte-identical
    ws.set_status(None, "rejected", "all out", where=[])
    none = export_workspace(ws, out, hf=("dataset",))
    assert none.manifest["empty_splits"] == ["train", "validation", "holdout"]
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json"]
    assert any("nothing to export" in w for w in none.warnings)
