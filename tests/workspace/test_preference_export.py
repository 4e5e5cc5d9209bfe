"""Export of preference and KTO feedback records: each target's layout, --kind, reruns."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pref_helpers import lf_ranking_rows
from pref_helpers import words as _words
from store_helpers import chat, write_jsonl

from curator.export import ExportError, iter_export_rows
from curator.formats.preference import to_preference
from curator.workspace import Workspace
from curator.workspace.dedup import dedup_workspace
from curator.workspace.export import export_workspace
from curator.workspace.importer import import_files
from curator.workspace.prepare import Preparer
from curator.workspace.split import split_workspace


def _workspace(tmp_path: Path, rows: list[Any], target: str = "openai") -> Workspace:
    src = tmp_path / "src.json"
    src.write_text(json.dumps(rows), encoding="utf-8")
    ws = Workspace.open(tmp_path / "w.db", create=True)
    report = import_files(ws, [src], Preparer(target))
    assert report.rejected == 0, report.reasons
    split_workspace(ws, seed=3)
    return ws


@pytest.mark.parametrize(("target", "layout"), [
    ("openai", "openai-preference"), ("azure", "openai-preference"),
    ("trl", "trl-preference"), ("lf", "sharegpt-preference")])
def test_each_target_layout_loads_in_datasets_and_round_trips(
        tmp_path: Path, target: str, layout: str) -> None:
    import datasets

    with _workspace(tmp_path, lf_ranking_rows(40)) as ws:
        out = export_workspace(ws, tmp_path / "out", fmt=None, target=target)
        assert (out.fmt, out.kind, out.manifest["kind"]) == (layout, "preference", "preference")
        assert sum(out.counts.values()) == 40 and out.excluded == 0
        stored = {json.dumps(ws.get(i).canonical, sort_keys=True) for i in ws.select_ids()}
        files = {s: str(out.out_dir / f"{s}.jsonl") for s in out.counts if out.counts[s]}
        loaded = datasets.load_dataset("json", data_files=files, cache_dir=str(tmp_path / "c"))
        assert {s: loaded[s].num_rows for s in files} == {s: out.counts[s] for s in files}
        back = set()
        for s in files:
            for row in iter_export_rows(files[s]):
                res = to_preference(row, layout)
                assert res.example is not None, res.issues
                back.add(json.dumps(res.example, sort_keys=True))
        assert back == stored  # every pair comes back as the workspace holds it
        if layout == "openai-preference":
            row = next(iter_export_rows(files["train"]))
            assert set(row) == {"input", "preferred_output", "non_preferred_output"}
        if layout == "sharegpt-preference":
            info = json.loads((out.out_dir / "dataset_info.json").read_text())
            assert info["curator"]["ranking"] is True
            assert info["curator"]["columns"]["chosen"] == "chosen"
            assert out.manifest["llamafactory"]["datasets"]["train"] == "curator"


def test_pairs_sharing_a_prompt_stay_in_one_split(tmp_path: Path) -> None:
    rows = lf_ranking_rows(40)
    for i in range(0, 40, 2):  # twenty prompts, each with two different pairs
        rows[i + 1]["conversations"] = rows[i]["conversations"]
    with _workspace(tmp_path, rows) as ws:
        by_prompt: dict[str, set[str]] = {}
        for i in ws.select_ids():
            rec = ws.get(i)
            assert rec.canonical is not None and rec.split is not None and rec.dup_of is None
            by_prompt.setdefault(json.dumps(rec.canonical["prompt"]), set()).add(rec.split)
        assert len(by_prompt) == 20 and all(len(s) == 1 for s in by_prompt.values())
        assert len({next(iter(s)) for s in by_prompt.values()}) == 3  # yet all three splits used


def test_mixed_kinds_need_kind_and_a_chat_twin_is_no_duplicate(tmp_path: Path) -> None:
    pairs = [{"prompt": f"Question {_words(i, 8)}?", "chosen": f"Answer {_words(i * 3, 12)}.",
              "rejected": "No."} for i in range(10)]
    # chat records 0-9 have the prompt and the chosen answer of pairs 0-9: not duplicates of them
    chats = [chat(f"Question {_words(i, 8)}?", f"Answer {_words(i * 3, 12)}.") for i in range(20)]
    src = write_jsonl(tmp_path / "mixed.jsonl", pairs + chats)
    with Workspace.open(tmp_path / "w.db", create=True) as ws:
        import_files(ws, [src], Preparer("trl"))
        dedup_workspace(ws, processes=1)
        assert ws.count(["dup=yes"]) == 0
        split_workspace(ws, seed=1)
        with pytest.raises(ExportError, match=r"20 chat, 10 preference.*--kind"):
            export_workspace(ws, tmp_path / "out", fmt=None)
        chat_out = export_workspace(ws, tmp_path / "chat", fmt=None, target="trl", kind="chat")
        assert sum(chat_out.counts.values()) == 20 and chat_out.fmt == "trl-messages"
        assert "kind" not in chat_out.manifest  # a chat export's manifest as before
        reasons = {e["reason"] for e in chat_out.manifest["excluded"]}
        assert reasons == {"a preference record (export it with --kind preference)"}
        pref_out = export_workspace(ws, tmp_path / "pref", fmt=None, target="trl",
                                   kind="preference")
        assert sum(pref_out.counts.values()) == 10 and pref_out.fmt == "trl-preference"
        with pytest.raises(ExportError, match="leave --format out"):
            export_workspace(ws, tmp_path / "bad", fmt="sharegpt", kind="preference")


def test_preference_export_is_byte_identical_on_rerun(tmp_path: Path) -> None:
    with _workspace(tmp_path, lf_ranking_rows(30)) as ws:
        kw: dict[str, Any] = {"fmt": None, "target": "lf", "hf": ("dataset",)}
        a = export_workspace(ws, tmp_path / "a", **kw)
        b = export_workspace(ws, tmp_path / "b", **kw)
        files = sorted(p.relative_to(a.out_dir) for p in a.out_dir.rglob("*") if p.is_file())
        assert len(files) > 5
        for rel in files:
            assert (a.out_dir / rel).read_bytes() == (b.out_dir / rel).read_bytes(), rel


def test_kto_feedback_exports_for_trl_only(tmp_path: Path) -> None:
    rows = [{"prompt": f"Tell me {_words(i, 8)}", "completion": f"Sure: {_words(i * 3, 8)}",
             "label": i % 2 == 0} for i in range(20)]
    with _workspace(tmp_path, rows, target="trl") as ws:
        out = export_workspace(ws, tmp_path / "out", fmt=None, target="trl")
        assert (out.fmt, out.kind) == ("trl-kto", "feedback")
        row = next(iter_export_rows(out.out_dir / "train.jsonl"))
        assert set(row) == {"prompt", "completion", "label"} and isinstance(row["label"], bool)
        assert row["prompt"][0]["role"] == "user" and row["completion"][0]["role"] == "assistant"
        with pytest.raises(ExportError, match="feedback records cannot be exported for openai"):
            export_workspace(ws, tmp_path / "o", fmt=None, target="openai")
