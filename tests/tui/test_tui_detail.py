"""The detail pane: it follows the cursor (a burst of keys ends on the right record), shows what
the workspace holds after a change, and scrolls a record longer than the pane."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from tui_helpers import ROWS, make_workspace

from curator.tui.app import ReviewApp

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SIZE = (100, 30)


def screen_text(app: ReviewApp) -> str:
    svg = app.export_screenshot()
    text = " ".join(html.unescape(t) for t in re.findall(r">([^<>]*)</text>", svg))
    return text.replace("\xa0", " ")


def pane_text(app: ReviewApp) -> str:
    """What the detail pane shows now, line by line."""
    pane = app.main.detail
    return "\n".join(pane.render_line(y).text for y in range(pane.size.height))


@pytest.fixture
def ws_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    long = {"messages": [{"role": "user", "content": "\n".join(
        f"line {i:03d} of a long question" for i in range(80))},
        {"role": "assistant", "content": "the end of the long record"}]}
    return make_workspace(tmp_path, rows=[*ROWS, long])


async def test_detail_follows_a_burst_of_keys_and_changes(ws_path: Path) -> None:
    app = ReviewApp(ws_path, actor="tester")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("j", "j", "j", "j", "k")
        await pilot.pause()
        pane = app.main.detail
        assert app.main.current_id() == 4
        record = pane.current()
        assert record is not None and record.id == 4
        text = screen_text(app)
        assert "record 4  pending" in text and "Refunds take five days." in text
        await pilot.press("a", "k")  # accepted, moved on, and back: the pane reads it again
        await pilot.pause()
        assert "record 4  accepted" in screen_text(app)
        await pilot.press("1")  # a label shows at once
        await pilot.pause()
        assert "labels refund" in screen_text(app)


async def test_long_record_scrolls_and_the_next_record_starts_at_the_top(
        ws_path: Path) -> None:
    app = ReviewApp(ws_path, actor="tester")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("G")
        await pilot.pause()
        assert app.main.current_id() == 9
        text = pane_text(app)
        assert "record 9" in text and "the end of the long record" in text  # the answer first
        assert "line 079" not in text
        await pilot.press("J")  # a page down in the detail pane
        await pilot.pause()
        text = pane_text(app)
        assert "line 079" not in text and "record 9" not in text
        await pilot.press("tab", "end")  # focused, the pane scrolls with its own keys
        await pilot.pause()
        assert "line 079" in pane_text(app) and "the answer, shown above" in pane_text(app)
        await pilot.press("tab", "k")  # back to the list; another record shows from its top
        await pilot.pause()
        assert app.main.current_id() == 8
        assert "record 8" in pane_text(app)
        assert app.main.detail.top == 0


SMALL = (80, 24)
JUDGED = "Clean the rotors with isopropyl alcohol; replace the pads if they are glazed."


def _judged_rows() -> list[dict[str, object]]:
    question = "\n".join(f"detail {i} of the question" for i in range(12))
    return [{"messages": [
        {"role": "system", "content": "You are a bike shop assistant."},
        {"role": "user", "content": question},
        {"role": "assistant", "content": "An old draft answer", "weight": 0},
        {"role": "user", "content": "Please be specific."},
        {"role": "assistant", "content": JUDGED, "weight": 1}]},
        {"messages": [{"role": "user", "content": "Short question"},
                      {"role": "assistant", "content": "Short answer"}]}]


async def test_the_answer_judged_shows_at_80x24_without_scrolling(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    app = ReviewApp(make_workspace(tmp_path, rows=_judged_rows(), cluster=False),
                    actor="tester")
    async with app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        pane = app.main.detail
        assert pane.size.height < 12  # the small pane this is about
        text = pane_text(app)
        assert "record 1" in text and JUDGED[:40] in text
        lines = [pane.render_line(y).text for y in range(pane.size.height)]
        assert any("assistant   #4" in line and "the answer judged" in line for line in lines)
        await pilot.press("tab", "end")  # the whole conversation follows, in order
        await pilot.pause()
        text = pane_text(app)
        assert "the answer, shown above" in text
        await pilot.press("tab", "j")  # a record that fits is shown in order, as it is
        await pilot.pause()
        text = pane_text(app)
        assert "the answer judged" not in text
        assert text.index("Short question") < text.index("Short answer")


async def test_a_weight_0_turn_is_marked_as_not_trained(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    app = ReviewApp(make_workspace(tmp_path, rows=_judged_rows(), cluster=False),
                    actor="tester")
    async with app.run_test(size=(160, 60)) as pilot:  # the whole record fits: in order
        await pilot.pause()
        lines = [line.strip() for line in pane_text(app).splitlines()]
        marked = [i for i, line in enumerate(lines) if "not trained" in line]
        assert len(marked) == 1 and "assistant   #2" in lines[marked[0]]
        assert "weight 0: not trained" in lines[marked[0]]
        assert lines[marked[0] + 1] == "An old draft answer"


async def test_several_issues_do_not_push_the_answer_off_an_80x24_screen(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issues are listed before the conversation; on a record taller than the pane several of
    them took every line, so neither the answer nor any turn showed (found in review)."""
    monkeypatch.chdir(tmp_path)
    question = "\n".join(f"detail {i} of the question" for i in range(12))
    noisy = {"messages": [
        {"role": "user", "content": question + "\nMail me at jo.doe@example.com or call "
                                               "+1 415 555 0100, card 4111 1111 1111 1111."},
        {"role": "assistant", "content": "TODO", "weight": 0},
        {"role": "user", "content": "Please be specific."},
        {"role": "assistant", "content": JUDGED}]}
    app = ReviewApp(make_workspace(tmp_path, rows=[noisy], cluster=False), actor="tester")
    async with app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        record = app.ws.get(1)
        assert len(record.issues) >= 3, [i.code for i in record.issues]
        pane = app.main.detail
        lines = [pane.render_line(y).text for y in range(pane.size.height)]
        shown = "\n".join(lines)
        assert JUDGED[:40] in shown, shown
        assert f"{len(record.issues)} issues: " in shown
        await pilot.press("tab", "end")  # every issue in full after the conversation
        await pilot.pause()
        text = pane_text(app)
        for issue in record.issues:
            assert issue.code in text
