"""Preference pairs in the review app: the pair view (prompt once, chosen and rejected side by
side on a wide pane, stacked at 80x24, the words only one side has marked), a KTO feedback row
with its label, the swap key with undo and redo, the swap key on a chat record, and editing a
pair's sides (re-checked as a pair; a bad edit explained and not saved)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from rich.style import Style

from curator.cli import cli
from curator.tui.app import ReviewApp
from curator.tui.detail import DetailPane
from curator.tui.edit import EditScreen
from curator.tui.main_screen import MainScreen
from curator.workspace import Workspace
from curator.workspace.importer import import_files
from curator.workspace.prepare import Preparer

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

REFUSAL = "I'm sorry, but I cannot help with that request."
CHOSEN = "Knead the dough for ten minutes, then let it rise for an hour."
REJECTED = "Knead the dough for two minutes, then bake it at once."


def _pair(prompt: str, chosen: str, rejected: str) -> dict[str, Any]:
    return {"prompt": [{"role": "system", "content": "You are a baker."},
                       {"role": "user", "content": prompt}],
            "chosen": [{"role": "assistant", "content": chosen}],
            "rejected": [{"role": "assistant", "content": rejected}]}


ROWS: list[dict[str, Any]] = [
    _pair("How do I make bread rise?", CHOSEN, REJECTED),                       # 1
    _pair("How do I bake bread?", REFUSAL, "Mix flour, water and yeast; bake."),  # 2
    {"messages": [{"role": "user", "content": "Hello"},                          # 3: chat
                  {"role": "assistant", "content": "Hi there."}]},
    {"prompt": "Is the oven hot?", "completion": "Yes, at 230 C.", "label": False},  # 4: KTO
]


@pytest.fixture
def ws_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    src = Path("pairs.jsonl")
    src.write_text("\n".join(json.dumps(r) for r in ROWS) + "\n", encoding="utf-8")
    path = tmp_path / "w.db"
    # as a user makes it: the workspace stores its target (trl takes KTO feedback rows)
    result = CliRunner().invoke(cli, ["import", str(src), "-w", str(path), "--target", "trl"])
    assert result.exit_code == 0, result.output
    return path


def all_lines(pane: DetailPane) -> list[str]:
    """Every line of the record the pane holds (shown or scrolled off)."""
    return [strip.text.rstrip() for strip in pane.lines()]


def marked(pane: DetailPane) -> str:
    """The text the pane draws in its diff style (the words only one side has)."""
    diff = pane.get_component_rich_style("detail--diff")
    assert diff != Style()
    return " ".join(seg.text for strip in pane.lines() for seg in strip
                    if seg.style is not None and seg.style.underline
                    and seg.style.bgcolor == (pane.rich_style + diff).bgcolor)


def side(pane: DetailPane, text: str, column: int) -> str:
    """Column 0 (chosen) or 1 (rejected) of the side-by-side line that holds `text`."""
    row = next(ln for ln in all_lines(pane) if text in ln)
    head = next(ln for ln in all_lines(pane) if "chosen ✓" in ln)
    assert head.split("│")[0].strip().startswith("chosen ✓")
    assert head.split("│")[1].strip().startswith("rejected ✗")
    return row.split("│")[column]


def journal(path: Path) -> list[str]:
    with Workspace.open(path) as ws:
        return [e.action for e in ws.log(None)]


async def test_a_wide_pane_shows_the_pair_side_by_side_with_the_difference_marked(
        ws_path: Path) -> None:
    app = ReviewApp(ws_path, actor="tester", cursor_blink=False)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        pane = app.main.detail
        lines = all_lines(pane)
        text = "\n".join(lines)
        # the prompt once, then both labels on one line: the answers are in two columns
        assert text.count("How do I make bread rise?") == 1
        header = [ln for ln in lines if "chosen ✓" in ln]
        assert len(header) == 1 and "rejected ✗" in header[0]
        assert header[0].index("chosen ✓") < header[0].index("rejected ✗")
        row = [ln for ln in lines if "Knead the dough for ten" in ln]
        assert row and "Knead the dough for two" in row[0]  # side by side on one line
        for word in ("minutes,", "rise", "hour.", "bake", "once."):
            assert word in text
        shown = marked(pane)
        for only_one_side in ("ten", "let", "rise", "hour", "two", "bake", "once"):
            assert only_one_side in shown.split()
        for shared in ("Knead", "dough", "minutes"):
            assert shared not in shown.split()
        # the list's text column: the prompt's question, not the pair's JSON
        records = app.main.records
        listed = "\n".join(records.render_line(y).text for y in range(records.size.height))
        assert "How do I make bread rise?" in listed and '{"chosen"' not in listed


async def test_80x24_stacks_chosen_above_rejected_and_shows_the_chosen_answer(
        ws_path: Path) -> None:
    app = ReviewApp(ws_path, actor="tester", cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        pane = app.main.detail
        lines = all_lines(pane)
        chosen = next(i for i, ln in enumerate(lines) if "chosen ✓" in ln)
        rejected = next(i for i, ln in enumerate(lines) if "rejected ✗" in ln)
        assert chosen < rejected and "rejected ✗" not in lines[chosen]
        assert any("Knead the dough for ten" in ln for ln in lines[chosen:rejected])
        assert any("Knead the dough for two" in ln for ln in lines[rejected:])
        on_screen = "\n".join(pane.render_line(y).text for y in range(pane.size.height))
        assert "chosen ✓" in on_screen  # the answer is on screen without scrolling
        assert {"ten", "two"} <= set(marked(pane).split())


async def test_a_feedback_row_shows_its_completion_and_label(ws_path: Path) -> None:
    app = ReviewApp(ws_path, actor="tester", cursor_blink=False)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.press("G")
        await pilot.pause()
        text = "\n".join(all_lines(app.main.detail))
        assert "completion: bad ✗ (undesirable)" in text
        assert "Yes, at 230 C." in text and "Is the oven hot?" in text


async def test_swap_key_swaps_and_undo_and_redo_walk_it(ws_path: Path) -> None:
    app = ReviewApp(ws_path, actor="tester", cursor_blink=False)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.press("j")  # record 2: the refusal is chosen
        await pilot.pause()
        pane = app.main.detail
        assert "pref.refusal_chosen" in "\n".join(all_lines(pane))
        await pilot.press("w")
        await pilot.pause()
        assert app.main.current_id() == 2  # a swap does not move on
        assert "swap: record 2" in app.main.message
        with Workspace.open(ws_path) as ws:
            r = ws.get(2)
            assert r.example is not None and r.example["chosen"][0]["content"].startswith("Mix")
            assert "pref.refusal_chosen" not in {i.code for i in r.issues}
        assert "Mix flour" in side(pane, "Mix flour", 0)  # now on the chosen side
        assert "pref.refusal_chosen" not in "\n".join(all_lines(pane))
        assert journal(ws_path)[0] == "swap"

        await pilot.press("u")
        await pilot.pause()
        assert "undone: swap" in app.main.message
        assert "Mix flour" in side(pane, "Mix flour", 1)
        assert "pref.refusal_chosen" in "\n".join(all_lines(pane))

        await pilot.press("U")
        await pilot.pause()
        assert "redone: swap" in app.main.message
        assert "Mix flour" in side(pane, "Mix flour", 0)
    with Workspace.open(ws_path) as ws:
        assert ws.get(2).current is not None


async def test_swap_key_on_a_chat_record_says_so_and_changes_nothing(ws_path: Path) -> None:
    before = journal(ws_path)
    app = ReviewApp(ws_path, actor="tester", cursor_blink=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("j", "j")  # record 3: chat
        await pilot.press("w")
        await pilot.pause()
        assert app.main.current_id() == 3
        assert "only to preference pairs" in app.main.message
        assert "nothing changed" in app.main.message
    assert journal(ws_path) == before


async def test_swap_is_in_help_and_the_keymap_rebinds_it(ws_path: Path, tmp_path: Path) -> None:
    from curator.tui.app import binding_ids
    from curator.tui.keymap import load_keymap

    (tmp_path / "keys.yaml").write_text("swap: W\n", encoding="utf-8")
    keymap = load_keymap(tmp_path / "keys.yaml", binding_ids())
    app = ReviewApp(ws_path, actor="tester", cursor_blink=False, keymap=keymap)
    async with app.run_test(size=(160, 40)) as pilot:
        assert any("[swap]" in what for _, what in app.help_rows())
        await pilot.press("W")
        await pilot.pause()
        assert "swap: record 1" in app.main.message


async def test_edit_a_pair_rechecks_it_and_refuses_a_bad_edit(ws_path: Path) -> None:
    before = journal(ws_path)
    app = ReviewApp(ws_path, actor="tester", cursor_blink=False)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.press("e")
        screen = app.screen
        assert isinstance(screen, EditScreen)
        labels = [str(s.render()) for s in screen.query(".edit-role")]
        assert labels == ["prompt #0 system", "prompt #1 user", "chosen ✓ #0 assistant",
                          "rejected ✗ #0 assistant"]
        screen.query_one("#turn-3").load_text("")  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        assert app.screen is screen  # still editing: nothing lost
        errors = str(screen.query_one("#edit-errors").render())
        assert "Not saved" in errors and "pref.one_side_empty" in errors
        assert journal(ws_path) == before
        screen.query_one("#turn-3").load_text(REJECTED + " Then wait.")  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        assert "Then wait." in "\n".join(all_lines(app.main.detail))
    with Workspace.open(ws_path) as ws:
        r = ws.get(1)
        assert r.example is not None
        assert r.example["rejected"][0]["content"] == REJECTED + " Then wait."
        assert r.example["chosen"][0]["content"] == CHOSEN
        assert r.tokens_sides is not None and ws.log(1)[0].action == "edit"


def test_word_diff_marks_only_words_one_side_has_and_is_the_same_both_ways() -> None:
    from curator.tui.pair import word_diff

    a, b = CHOSEN, REJECTED
    ra, rb, ratio = word_diff(a, b)
    assert "".join(p for p, _ in ra) == a and "".join(p for p, _ in rb) == b
    only_a = {w for p, m in ra if m for w in p.split()}
    only_b = {w for p, m in rb if m for w in p.split()}
    assert {"ten", "rise", "hour"} <= only_a and {"two", "bake", "once"} <= only_b
    assert not any(m and p.isspace() for p, m in ra + rb)  # whitespace is never marked
    rb2, ra2, ratio2 = word_diff(b, a)  # swapped: the same marks, the same likeness
    assert (ra2, rb2, ratio2) == (ra, rb, ratio) and 0 < ratio < 1


async def test_a_hostile_pair_is_drawn_literally(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    hostile = "[bold]x[/] \x1b]0;title\x07 \x1b[31mred \u202eRTL"
    src = Path("pairs.jsonl")
    src.write_text(json.dumps(_pair("Ask " + hostile, "Yes " + hostile, "No " + hostile)) + "\n",
                   encoding="utf-8")
    path = tmp_path / "w.db"
    with Workspace.open(path, create=True, actor="tester") as ws:
        import_files(ws, [src], Preparer("trl"))
    for size in ((160, 40), (80, 24)):
        app = ReviewApp(path, actor="tester", cursor_blink=False)
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            text = "\n".join(all_lines(app.main.detail))
            assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
            for shown in ("[bold]x[/]", "␛]0;title␇", "␛[31mred", "<U+202E>RTL"):
                assert shown in text


async def test_edit_a_feedback_row_edits_its_completion(ws_path: Path) -> None:
    app = ReviewApp(ws_path, actor="tester", cursor_blink=False)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.press("G", "e")  # record 4: KTO feedback
        screen = app.screen
        assert isinstance(screen, EditScreen)
        labels = [str(s.render()) for s in screen.query(".edit-role")]
        assert labels == ["prompt #0 user", "completion #0 assistant"]
        screen.query_one("#turn-1").load_text("Yes, it is at 230 C now.")  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen), str(screen.query_one("#edit-errors").render())
    with Workspace.open(ws_path) as ws:
        r = ws.get(4)
        assert r.example == {"prompt": [{"role": "user", "content": "Is the oven hot?"}],
                             "completion": [{"role": "assistant",
                                             "content": "Yes, it is at 230 C now."}],
                             "label": False}
