"""Record text that looks like markup, ANSI escapes and control characters is drawn literally."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from tui_helpers import HOSTILE, make_workspace

from curator.store import DuplicateCluster, Workspace
from curator.tui.app import ReviewApp
from curator.tui.text import literal

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
        await pilot.press("e")  # the editor shows the same text as editable text
        area = app.screen.query_one("#turn-0")
        assert HOSTILE in area.text  # type: ignore[attr-defined]
        screen_text(app)
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
