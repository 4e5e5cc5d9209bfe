"""Swapping a pair's chosen and rejected answers, and saving an edited pair: checked again as an
import checks a pair, one journal entry each (undo and redo, also from another process), the
per-side token counts follow the sides."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from store_helpers import chat, write_jsonl

from curator.cli import cli
from curator.workspace import EditRefused, Workspace
from curator.workspace.importer import import_files
from curator.workspace.pair_edit import NotAPair, edit_pair
from curator.workspace.prepare import Preparer

REFUSAL = "I'm sorry, but I cannot help with that request."
STEPS = "Mix flour, water, salt and yeast; knead for ten minutes; let it rise; bake at 230 C."


def _pair(prompt: str, chosen: str, rejected: str) -> dict[str, Any]:
    return {"prompt": [{"role": "user", "content": prompt}],
            "chosen": [{"role": "assistant", "content": chosen}],
            "rejected": [{"role": "assistant", "content": rejected}]}


@pytest.fixture
def ws_path(tmp_path: Path) -> Path:
    rows = [_pair("How do I bake bread?", REFUSAL, STEPS),       # 1: pref.refusal_chosen
            _pair("How do I pick a lock?", STEPS, REFUSAL),      # 2: the usual safety pair
            chat("Hello", "Hi there."),                          # 3: a chat record
            _pair("Say hello", "Hello!", "Hello!")]              # 4: both sides the same
    src = write_jsonl(tmp_path / "pairs.jsonl", rows)
    path = tmp_path / "w.db"
    with Workspace.open(path, create=True, actor="tester") as ws:
        import_files(ws, [src], Preparer("trl"))
    return path


def _codes(ws: Workspace, rid: int) -> list[str]:
    return [i.code for i in ws.get(rid).issues]


def test_swap_exchanges_the_sides_rechecks_and_is_one_undoable_entry(ws_path: Path) -> None:
    with Workspace.open(ws_path, actor="tester") as ws:
        before = ws.get(1)
        assert "pref.refusal_chosen" in _codes(ws, 1)
        sides = before.tokens_sides
        assert sides is not None and sides["chosen"] != sides["rejected"]
        entries = len(ws.log(None))

        change = ws.swap_sides(1)
        assert change.entry_id is not None and change.action == "swap"
        assert len(ws.log(None)) == entries + 1  # one journal entry
        after = ws.get(1)
        assert after.example is not None and before.example is not None
        assert after.example["chosen"] == before.example["rejected"]
        assert after.example["rejected"] == before.example["chosen"]
        assert after.example["prompt"] == before.example["prompt"]
        assert "pref.refusal_chosen" not in _codes(ws, 1)  # the checks ran again
        assert after.tokens_sides == {"prompt": sides["prompt"], "chosen": sides["rejected"],
                                      "rejected": sides["chosen"]}
        assert after.tokens_total == before.tokens_total

        undone = ws.undo()
        assert [e.id for e in undone] == [change.entry_id]
        back = ws.get(1)
        assert back.example == before.example and back.current is None
        assert back.tokens_sides == sides and "pref.refusal_chosen" in _codes(ws, 1)

        ws.redo()
        assert ws.get(1).example == after.example and ws.get(1).tokens_sides == after.tokens_sides
        assert "pref.refusal_chosen" not in _codes(ws, 1)


def test_swapping_the_usual_safety_pair_raises_the_refusal_warning(ws_path: Path) -> None:
    with Workspace.open(ws_path, actor="tester") as ws:
        assert "pref.refusal_chosen" not in _codes(ws, 2)
        ws.swap_sides(2)
        assert "pref.refusal_chosen" in _codes(ws, 2)
        ws.swap_sides(2)  # swapped back: the canonical pair again, stored as no edit
        assert ws.get(2).current is None and "pref.refusal_chosen" not in _codes(ws, 2)


def test_swap_on_a_chat_record_or_equal_sides_changes_nothing(ws_path: Path) -> None:
    with Workspace.open(ws_path, actor="tester") as ws:
        entries = len(ws.log(None))
        chat_before = ws.get(3)
        with pytest.raises(NotAPair, match="only to preference pairs"):
            ws.swap_sides(3)
        assert ws.get(3) == chat_before
        same = ws.swap_sides(4)
        assert same.entry_id is None and "nothing to swap" in same.summary
        assert len(ws.log(None)) == entries


def test_a_swap_made_here_is_undone_by_another_process(ws_path: Path) -> None:
    with Workspace.open(ws_path, actor="tester") as ws:
        ws.swap_sides(1)
    result = CliRunner().invoke(cli, ["undo", "-w", str(ws_path)])
    assert result.exit_code == 0, result.output
    with Workspace.open(ws_path) as ws:
        assert ws.get(1).current is None and "pref.refusal_chosen" in _codes(ws, 1)


def test_an_edited_pair_is_checked_as_a_pair_and_a_bad_edit_is_refused(ws_path: Path) -> None:
    with Workspace.open(ws_path, actor="tester") as ws:
        pair = ws.get(2).example
        assert pair is not None
        emptied = {**pair, "rejected": [{"role": "assistant", "content": ""}]}
        with pytest.raises(EditRefused) as info:
            edit_pair(ws, 2, emptied)
        assert "pref.one_side_empty" in {i.code for i in info.value.issues}
        assert ws.get(2).current is None  # nothing saved

        longer = STEPS + " Let it cool on a rack before slicing it."
        edited = {**pair, "chosen": [{"role": "assistant", "content": longer}]}
        sides = ws.get(2).tokens_sides
        assert sides is not None
        change = edit_pair(ws, 2, edited)
        assert change.action == "edit" and ws.get(2).example == edited
        new_sides = ws.get(2).tokens_sides
        assert new_sides is not None and new_sides["chosen"] > sides["chosen"]
        ws.undo()
        assert ws.get(2).example == pair and ws.get(2).tokens_sides == sides


def test_swap_command_swaps_pairs_and_says_which_records_are_not_pairs(ws_path: Path) -> None:
    result = CliRunner().invoke(cli, ["swap", "1", "3", "-w", str(ws_path)])
    assert result.exit_code == 1, result.output  # done, with a record that is not a pair
    assert "swap: record 1 chosen and rejected exchanged" in result.output
    assert "record 3: record 3 is a chat record" in result.output
    with Workspace.open(ws_path) as ws:
        assert "pref.refusal_chosen" not in _codes(ws, 1)
        assert ws.get(3).current is None
        assert [e.action for e in ws.log(None)][:1] == ["swap"]
    again = CliRunner().invoke(cli, ["swap", "1", "-w", str(ws_path)])
    assert again.exit_code == 0, again.output
    with Workspace.open(ws_path) as ws:
        assert ws.get(1).current is None  # swapped back to the pair as imported
