"""Pair checks: one side empty, a preferred refusal, length bias, contradicting pairs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from store_helpers import chat, write_jsonl
from test_preference_import import _words

from curator.cli import cli
from curator.report import assess
from curator.workspace import Workspace
from curator.workspace.importer import import_files
from curator.workspace.pairs import CONTRADICTION_LABEL, flag_contradictions, length_bias
from curator.workspace.prepare import Preparer
from curator.workspace.report import gather_facts

REFUSAL = "I'm sorry, but I cannot help with that request."


def _pair(prompt: str, chosen: str, rejected: str) -> dict[str, Any]:
    return {"prompt": [{"role": "user", "content": prompt}],
            "chosen": [{"role": "assistant", "content": chosen}],
            "rejected": [{"role": "assistant", "content": rejected}]}


def _import(tmp_path: Path, rows: list[Any], name: str = "w.db") -> Workspace:
    src = write_jsonl(tmp_path / f"{name}.jsonl", rows)
    ws = Workspace.open(tmp_path / name, create=True)
    import_files(ws, [src], Preparer("trl"))
    return ws


def _codes(ws: Workspace, rid: int) -> list[str]:
    return [i.code for i in ws.get(rid).issues]


def test_one_side_empty_and_a_preferred_refusal(tmp_path: Path) -> None:
    rows = [_pair("Tell me a joke", "", "Why did the chicken cross the road?"),
            _pair("Tell me a fact", "Water boils at 100 C at sea level.", ""),
            _pair("How do I bake bread?", REFUSAL, "Mix flour, water, yeast; knead; bake."),
            _pair("How do I pick a lock?", "Here is how a pin tumbler works.", REFUSAL),
            _pair("Say hello", "Hello!", "Hi.")]
    with _import(tmp_path, rows) as ws:
        assert "pref.one_side_empty" in _codes(ws, 1) and ws.get(1).status == "rejected"
        assert "pref.one_side_empty" in _codes(ws, 2) and ws.get(2).status == "rejected"
        refusal = ws.get(3)
        assert refusal.status == "pending"
        assert [(i.code, i.severity, i.path) for i in refusal.issues
                if i.code.startswith("pref.")] == [("pref.refusal_chosen", "warning", "/chosen")]
        # a refused rejected answer is the usual safety pair: nothing to say
        assert not [c for c in _codes(ws, 4) if c.startswith("pref.")]
        assert not [c for c in _codes(ws, 5) if c.startswith("pref.")]


def test_length_bias_is_reported_above_the_threshold(tmp_path: Path) -> None:
    biased = [_pair(f"Question {_words(i, 6)}", f"Long answer {_words(i, 30)}", "Short.")
              for i in range(10)]
    with _import(tmp_path, biased, "biased.db") as ws:
        bias = length_bias(ws)
        assert (bias.pairs, bias.chosen_longer) == (10, 10)
        check = next(c for c in assess(gather_facts(ws)) if c.name == "preference pairs")
        assert check.status == "warn" and "pref.length_bias" in check.detail
        assert check.numbers["chosen_longer_share"] == 1.0 and "100%" in check.detail
    even = [_pair(f"Question {_words(i, 6)}", *((f"Long answer {_words(i, 30)}", "Short.")
                                                   if i % 2 else ("Short.", f"Long {_words(i, 30)}")))
            for i in range(10)]
    with _import(tmp_path, even, "even.db") as ws:
        check = next(c for c in assess(gather_facts(ws)) if c.name == "preference pairs")
        assert check.status == "pass" and check.numbers["chosen_longer_share"] == 0.5
    with _import(tmp_path, [chat("a", "b")], "chat.db") as ws:  # a chat workspace: no such check
        assert "preference pairs" not in [c.name for c in assess(gather_facts(ws))]


def test_contradicting_pairs_are_labelled_and_undoable(tmp_path: Path) -> None:
    good, bad = "Paris is the capital of France.", "Lyon is the capital of France."
    rows = [_pair("Capital of France?", good, bad), _pair("Capital of Spain?", "Madrid.", "Rome."),
            _pair("Capital of France?", bad, good),  # the opposite preference: contradiction
            _pair("Capital of France?", good, "I do not know.")]  # same prompt, no contradiction
    with _import(tmp_path, rows) as ws:
        change = flag_contradictions(ws)
        assert change is not None and change.entry_id is not None
        assert list(ws.select_ids([f"label={CONTRADICTION_LABEL}"])) == [1, 3]
        check = next(c for c in assess(gather_facts(ws)) if c.name == "preference pairs")
        assert check.status == "warn" and check.numbers["contradicting_pairs"] == 2
        ws.undo()
        assert ws.count([f"label={CONTRADICTION_LABEL}"]) == 0


def test_import_command_labels_contradictions(tmp_path: Path) -> None:
    rows = [_pair("Capital of France?", "Paris.", "Lyon."), _pair("Capital of France?", "Lyon.",
                                                                  "Paris.")]
    src = write_jsonl(tmp_path / "p.jsonl", rows)
    res = CliRunner().invoke(cli, ["import", str(src), "-w", str(tmp_path / "w.db"),
                                   "--target", "trl", "--workers", "1", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["contradicting_pairs"] == 2
    chat_src = write_jsonl(tmp_path / "c.jsonl", [chat("a", "b")])
    res = CliRunner().invoke(cli, ["import", str(chat_src), "-w", str(tmp_path / "c.db"),
                                   "--workers", "1", "--json"])
    assert res.exit_code == 0 and "contradicting_pairs" not in json.loads(res.stdout)


def test_an_edited_pair_is_checked_as_import_checks_it(tmp_path: Path) -> None:
    # the review app re-checks an edit with Preparer.check: a stored pair is no TRL row to an
    # openai workspace (format.method_mismatch before), it is checked by the OpenAI DPO rules
    pair = _pair("Capital of France?", "Paris.", "Lyon.")
    checker = Preparer("openai")
    ok = checker.check(pair)
    assert ok.ok and not [i.code for i in ok.issues if i.code.startswith(("format.", "pref."))]
    assert ok.tokens_total is not None and ok.tokens_total > 0
    same = checker.check(_pair("Capital of France?", "Paris.", "Paris."))
    assert "pref.identical_outputs" in [i.code for i in same.issues] and not same.ok
    emptied = checker.check(_pair("Capital of France?", "Paris.", ""))
    assert "pref.one_side_empty" in [i.code for i in emptied.issues]
    feedback = Preparer("trl").check({"prompt": [{"role": "user", "content": "Hi"}],
                                      "completion": [{"role": "assistant", "content": "Hello"}],
                                      "label": True})
    assert feedback.ok, feedback.issues


def test_a_workspace_made_before_kinds_opens_with_chat_records(tmp_path: Path) -> None:
    import sqlite3

    from curator.workspace.migrations import MIGRATIONS

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    for migration in MIGRATIONS[:6]:  # the schema before preference records
        for statement in migration:
            conn.execute(statement)
    conn.execute("PRAGMA user_version = 6")
    conn.execute("INSERT INTO meta VALUES ('application', 'curator')")
    conn.execute("INSERT INTO records(id, uid, raw, canonical, created) VALUES "
                 "(1, 'u1', '{}', '{\"messages\":[]}', 't0')")
    conn.close()
    with Workspace.open(path) as ws:
        assert (ws.get(1).kind, ws.get(1).tokens_sides) == ("chat", None)
        assert ws.count(["kind=chat"]) == 1
