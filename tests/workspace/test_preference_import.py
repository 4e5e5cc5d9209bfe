"""Preference (DPO) and KTO feedback records: import from every layout, kind, the filter."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pref_helpers import lf_ranking_rows
from pref_helpers import words as _words
from store_helpers import chat, write_jsonl

from curator.workspace import FilterError, Workspace
from curator.workspace.importer import import_files
from curator.workspace.prepare import Preparer


@pytest.mark.parametrize("target", ["openai", "trl"])
def test_every_llamafactory_ranking_row_imports_as_a_preference_record(
        tmp_path: Path, target: str) -> None:
    src = tmp_path / "dpo_en_demo.json"  # a JSON array, as the demo file is
    src.write_text(json.dumps(lf_ranking_rows(300)), encoding="utf-8")
    with Workspace.open(tmp_path / "w.db", create=True) as ws:
        report = import_files(ws, [src], Preparer(target))
        assert (report.rows, report.new, report.rejected) == (300, 300, 0), report.reasons
        assert ws.count(["kind=preference"]) == 300 and ws.count(["kind=chat"]) == 0
        first = ws.get(1)
        assert (first.kind, first.format, first.status) == ("preference", "sharegpt-preference",
                                                            "pending")
        assert first.canonical == {
            "prompt": [{"role": "user", "content": f"Question number 0: {_words(0, 12)}?"}],
            "chosen": [{"role": "assistant", "content": f"A full answer: {_words(0, 20)}."}],
            "rejected": [{"role": "assistant", "content": f"No. {_words(0, 4)}"}]}
        system = ws.get(2).canonical
        assert system is not None and [m["role"] for m in system["prompt"]] == ["system", "user"]
        sides = first.tokens_sides
        assert sides is not None and set(sides) == {"prompt", "chosen", "rejected"}
        assert sides["chosen"] > sides["rejected"] > 0 and sides["prompt"] > 0
        # tokens_total: the prompt and the longer side, what a DPO batch holds per side
        assert first.tokens_total == sides["prompt"] + sides["chosen"]
        assert first.tokens_trained == sides["chosen"]
        assert first.to_dict()["kind"] == "preference"


def test_openai_dpo_rows_import_and_are_checked_by_the_openai_rules(tmp_path: Path) -> None:
    def dpo(q: str, good: str, bad: str, last: str = "user") -> dict[str, Any]:
        msgs = [{"role": "user", "content": q}]
        if last == "assistant":
            msgs.append({"role": "assistant", "content": "and?"})
        return {"input": {"messages": msgs},
                "preferred_output": [{"role": "assistant", "content": good}],
                "non_preferred_output": [{"role": "assistant", "content": bad}]}

    rows = [dpo("What is 2+2?", "4", "5"), dpo("Capital of France?", "Paris", "Paris"),
            dpo("Name a colour", "Blue", "Seven", last="assistant")]
    src = write_jsonl(tmp_path / "dpo.jsonl", rows)
    with Workspace.open(tmp_path / "w.db", create=True) as ws:
        report = import_files(ws, [src], Preparer("openai"))
        assert report.new == 3 and ws.count(["kind=preference"]) == 3
        assert ws.get(1).status == "pending" and ws.get(1).canonical == {
            "prompt": [{"role": "user", "content": "What is 2+2?"}],
            "chosen": [{"role": "assistant", "content": "4"}],
            "rejected": [{"role": "assistant", "content": "5"}]}
        assert (ws.get(2).status, ws.get(2).reason) == ("rejected", "pref.identical_outputs")
        assert (ws.get(3).status, ws.get(3).reason) == ("rejected", "pref.input_ends_with_assistant")


def test_trl_rows_plain_and_conversational_import(tmp_path: Path) -> None:
    rows = [
        {"prompt": "The sky is", "chosen": " blue.", "rejected": " green."},
        {"prompt": [{"role": "user", "content": "What colour is the sky?"}],
         "chosen": [{"role": "assistant", "content": "Blue."}],
         "rejected": [{"role": "assistant", "content": "Green."}]},
        # implicit prompt: the common beginning of chosen and rejected
        {"chosen": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}],
         "rejected": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Go."}]},
    ]
    src = write_jsonl(tmp_path / "trl.jsonl", rows)
    with Workspace.open(tmp_path / "w.db", create=True) as ws:
        report = import_files(ws, [src], Preparer("trl"))
        assert (report.new, report.rejected) == (3, 0), report.reasons
        assert ws.count(["kind=preference"]) == 3
        plain = ws.get(1).canonical
        assert plain == {"prompt": [{"role": "user", "content": "The sky is"}],
                         "chosen": [{"role": "assistant", "content": " blue."}],
                         "rejected": [{"role": "assistant", "content": " green."}]}
        implicit = ws.get(3).canonical
        assert implicit is not None and implicit["prompt"] == [{"role": "user", "content": "Hi"}]
        assert implicit["chosen"] == [{"role": "assistant", "content": "Hello!"}]


def test_kto_rows_import_as_feedback_for_trl_and_are_refused_by_openai(tmp_path: Path) -> None:
    rows = [{"prompt": "Is water wet?", "completion": "Yes, in the everyday sense.", "label": True},
            {"prompt": [{"role": "user", "content": "Say hi"}],
             "completion": [{"role": "assistant", "content": "Go away."}], "label": False}]
    src = write_jsonl(tmp_path / "kto.jsonl", rows)
    with Workspace.open(tmp_path / "trl.db", create=True) as ws:
        report = import_files(ws, [src], Preparer("trl"))
        assert (report.new, report.rejected) == (2, 0), report.reasons
        assert ws.count(["kind=feedback"]) == 2
        assert ws.get(1).canonical == {
            "prompt": [{"role": "user", "content": "Is water wet?"}],
            "completion": [{"role": "assistant", "content": "Yes, in the everyday sense."}],
            "label": True}
        assert ws.get(2).canonical is not None and ws.get(2).canonical["label"] is False
        assert (ws.get(1).tokens_total or 0) > 0
    with Workspace.open(tmp_path / "openai.db", create=True) as ws:
        report = import_files(ws, [src], Preparer("openai"))
        assert report.rejected == 2 and dict(report.reasons) == {"format.method_mismatch": 2}


def test_kind_filter_and_chat_records_unchanged(tmp_path: Path) -> None:
    rows = [chat("a", "b"), {"prompt": "p", "chosen": "good answer", "rejected": "bad one"}]
    src = write_jsonl(tmp_path / "mixed.jsonl", rows)
    with Workspace.open(tmp_path / "w.db", create=True) as ws:
        import_files(ws, [src], Preparer("trl"))
        assert ws.count(["kind=chat"]) == 1 and ws.count(["kind!=chat"]) == 1
        assert ws.count(["kind=feedback"]) == 0
        c = ws.get(1)
        assert (c.kind, c.tokens_sides, c.canonical) == ("chat", None, rows[0])
        with pytest.raises(FilterError, match="kind takes"):
            ws.count(["kind=pairs"])
