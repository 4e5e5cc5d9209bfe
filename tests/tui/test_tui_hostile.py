"""Record text that looks like markup, ANSI escapes and control characters is drawn literally."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from textual import events
from textual.widgets import TextArea
from tui_helpers import HOSTILE, make_workspace

from curator.tui.app import ReviewApp
from curator.tui.edit import EditScreen
from curator.tui.text import literal
from curator.workspace import DuplicateCluster, Workspace

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def screen_text(app: ReviewApp) -> str:
    svg = app.export_screenshot()
    assert "<a " not in svg and "evil.example\"" not in svg  # no link was made
    text = " ".join(html.unescape(t) for t in re.findall(r">([^<>]*)</text>", svg))
    return text.replace("\xa0", " ")


def test_literal_makes_every_character_visible() -> None:
    out = literal(HOSTILE)
    assert "\x1b" not in out and "\x07" not in out and "\x00" not in out
    assert "\u202e" not in out
    assert "[bold]red[/]" in out and "␛[31mANSI" in out and "<U+202E>" in out
    assert literal("a\r\nb\tc", one_line=True) == "a b c"


async def test_hostile_record_is_drawn_literally_everywhere(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = make_workspace(tmp_path, labels=("[b]x[/b]", "[/]"), cluster=False)
    with Workspace.open(path) as ws:
        ws.mark_duplicates([DuplicateCluster(7, {1: 0.5})])
        ws.set_note_one(7, HOSTILE)
        ws.set_label_one(7, "[/]", True)
    app = ReviewApp(path, actor="tester")
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.press("G", "k")  # record 7
        assert app.main.current_id() == 7
        await pilot.press("s")  # system prompts expanded too
        text = screen_text(app)
        assert "[bold]red[/]" in text and "[link=https://evil.example]click[/link]" in text
        assert "␛[31mANSI" in text and "[reverse]x" in text
        await pilot.press("e")  # the editor shows the same visible form, editable
        area = app.screen.query_one("#turn-0")
        assert literal(HOSTILE).replace("    ", "\t") in area.text  # type: ignore[attr-defined]
        assert "[bold]red[/]" in screen_text(app)
        await pilot.press("escape", "d")  # duplicates screen, both members hostile-free
        assert "[bold]red[/]" in screen_text(app)
        await pilot.press("escape", "question_mark")  # help lists the label names literally
        assert "toggle label [b]x[/b]" in screen_text(app)
        await pilot.press("escape", "S")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "[b]x[/b]" in screen_text(app)
        await pilot.press("escape", "b")  # the bulk dialog names the labels literally
        assert "label [/]" in screen_text(app)


# What a terminal must never receive from a record: C0 controls but newline, DEL, C1 controls,
# bidi overrides and line separators.
TERMINAL_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
                              "\u2028\u2029]")
ANSWER = "ok \x1b]52;c;ZXZpbA==\x07 then \x1b[2J\x1b[H cleared \u2028 sep\r\nend\x85"
PARTS = [{"type": "text", "text": "parts \u202egnp.exe \x1b[0m"}]


def _control_rows() -> list[dict[str, object]]:
    return [
        {"messages": [{"role": "user", "content": HOSTILE},
                      {"role": "assistant", "content": ANSWER}]},
        {"messages": [{"role": "user", "content": PARTS},
                      {"role": "assistant", "content": "plain answer"}]},
        # the visible stand-in of ESC next to a real ESC: cannot be shown editable exactly
        {"messages": [{"role": "user", "content": "a drawn ␛ and a real \x1b[1m"},
                      {"role": "assistant", "content": "fine"}]},
    ]


def _example(path: Path, rid: int) -> object:
    with Workspace.open(path) as ws:
        return ws.get(rid).example


async def test_edit_screen_draws_no_control_character(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = make_workspace(tmp_path, rows=_control_rows(), cluster=False)
    app = ReviewApp(path, actor="tester", cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        for rid in (1, 2, 3):
            await pilot.press("e")
            await pilot.pause()
            svg = app.export_screenshot()
            assert not TERMINAL_CONTROL.search(svg), (rid, TERMINAL_CONTROL.findall(svg))
            if rid == 1:  # the clipboard write shows as text
                assert "␛]52;c;ZXZpbA==␇" in screen_text(app)
            await pilot.press("escape", "j")


async def test_edit_saved_unchanged_keeps_every_character(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = make_workspace(tmp_path, rows=_control_rows(), cluster=False)
    before = {rid: _example(path, rid) for rid in (1, 2, 3)}
    app = ReviewApp(path, actor="tester", cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        for _rid in (1, 2, 3):
            await pilot.press("e", "ctrl+s")
            assert not isinstance(app.screen, EditScreen)
            await pilot.press("j")
    for rid in (1, 2, 3):
        assert _example(path, rid) == before[rid]
        with Workspace.open(path) as ws:
            assert ws.get(rid).current is None


async def test_edit_of_one_turn_keeps_the_control_characters_of_the_others(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = make_workspace(tmp_path, rows=_control_rows(), cluster=False)
    app = ReviewApp(path, actor="tester", cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("e")
        assert isinstance(app.screen, EditScreen)
        await pilot.press(*"Hi ")  # typed at the start of the user turn
        await pilot.press("ctrl+s")
        assert not isinstance(app.screen, EditScreen)
    saved = _example(path, 1)
    assert isinstance(saved, dict)
    assert saved["messages"][0]["content"] == "Hi " + HOSTILE
    assert saved["messages"][1]["content"] == ANSWER


async def test_edit_can_remove_a_control_character_and_drops_pasted_ones(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = make_workspace(tmp_path, rows=_control_rows(), cluster=False)
    app = ReviewApp(path, actor="tester", cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("j", "e")  # record 2: the parts turn is JSON, with U+202E and ESC
        screen = app.screen
        assert isinstance(screen, EditScreen)
        area = screen.query_one("#turn-0", TextArea)
        assert "<U+202E>" in area.text and "\\u001b[0m" in area.text
        area.load_text(area.text.replace("<U+202E>", ""))  # the reviewer removes the override
        answer = screen.query_one("#turn-1", TextArea)
        answer.focus()
        await pilot.pause()
        answer.post_message(events.Paste("pasted \x1b]0;pwned\x07 text\r\n"))
        await pilot.pause()
        assert not TERMINAL_CONTROL.search(app.export_screenshot())
        await pilot.press("ctrl+s")
        assert not isinstance(app.screen, EditScreen)
    saved = _example(path, 2)
    assert isinstance(saved, dict)
    assert saved["messages"][0]["content"] == [{"type": "text", "text": "parts gnp.exe \x1b[0m"}]
    assert "\x1b" not in saved["messages"][1]["content"]
    assert "]0;pwned text\n" in saved["messages"][1]["content"]


async def test_edit_shows_an_ambiguous_turn_read_only(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = make_workspace(tmp_path, rows=_control_rows(), cluster=False)
    before = _example(path, 3)
    app = ReviewApp(path, actor="tester", cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("j", "j", "e")
        screen = app.screen
        assert isinstance(screen, EditScreen)
        area = screen.query_one("#turn-0", TextArea)
        assert area.read_only and "read-only" in screen_text(app)
        await pilot.press(*"typed")  # a read-only area takes no text
        screen.query_one("#turn-1", TextArea).load_text("fine, edited")
        await pilot.press("ctrl+s")
        assert not isinstance(app.screen, EditScreen)
    saved = _example(path, 3)
    assert isinstance(saved, dict) and isinstance(before, dict)
    assert saved["messages"][0] == before["messages"][0]
    assert saved["messages"][1]["content"] == "fine, edited"


async def test_dialogs_prefilled_from_the_workspace_draw_no_control_character(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The note (c) and label set (L) dialogs start from text in the workspace: shown visibly,
    answered exactly when left as they are, and edits keep the characters they did not touch."""
    monkeypatch.chdir(tmp_path)
    label = "tone\x1b]0;LABEL\x07"
    note = "see \x1b]0;NOTE\x07\nsecond line\tend"
    path = make_workspace(tmp_path, labels=(label, "refund"), cluster=False)
    with Workspace.open(path) as ws:
        ws.set_note_one(1, note)
    app = ReviewApp(path, actor="tester", cursor_blink=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("c")
        assert not TERMINAL_CONTROL.search(app.export_screenshot())
        assert "see ␛]0;NOTE␇␊second line␉end" in screen_text(app)
        await pilot.press("enter")  # unchanged
        await pilot.press("c", "end", *" more", "enter")
        await pilot.press("L")
        assert not TERMINAL_CONTROL.search(app.export_screenshot())
        await pilot.press("enter")  # unchanged
        await pilot.press("f")
        app.screen.query_one("#ask-input").post_message(events.Paste("status=\x07pending\x1b"))
        await pilot.pause()
        assert not TERMINAL_CONTROL.search(app.export_screenshot())
        await pilot.press("enter")
        assert app.main.window.where == ["status=pending"]
    with Workspace.open(path) as ws:
        assert ws.get(1).note == note + " more"
        assert [n for n, _ in ws.labels()] == [label, "refund"]
        # the set-up's note, then the app's one edit: the unchanged answers changed nothing
        assert [e.action for e in ws.log(3)] == ["note", "note", "labels"]


async def test_label_and_split_names_with_control_characters_stay_visible(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    label, split = "tone\x1b]0;LABEL\x07", "tr\x1b]2;SPLIT\x07"
    path = make_workspace(tmp_path, labels=(label,), cluster=False)
    with Workspace.open(path) as ws:
        ws.set_splits({1: split})
        ws.add_labels([1], [label])
    app = ReviewApp(path, actor="tester", cursor_blink=False)
    async with app.run_test(size=(120, 40)) as pilot:
        for keys in ([], ["question_mark"], ["escape", "b"], ["escape", "S"]):
            await pilot.press(*keys)
            await app.workers.wait_for_complete()
            await pilot.pause()
            svg = app.export_screenshot()
            assert not TERMINAL_CONTROL.search(svg), (keys, TERMINAL_CONTROL.findall(svg))
        await pilot.press("escape", "question_mark")
        assert "toggle label tone␛]0;LABEL␇" in screen_text(app)
