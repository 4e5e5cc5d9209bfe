"""The review app's keys produce values, not strings parsed back; its workers talk back with
messages, never by calling into widgets from their threads; and its modules stay small."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from curator.tui.actions import (
    BULK_REJECT_REASON,
    AddLabel,
    SetStatus,
    label_set,
    next_status_view,
    parse_term,
    term_value,
    without,
)
from curator.tui.app import MainScreen, ReviewApp
from curator.tui.modals import BulkChoice

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

TUI = Path(__file__).resolve().parents[2] / "curator" / "tui"
SIZE = (100, 30)


@pytest.mark.parametrize(("keys", "expected"), [
    (["a"], SetStatus("accepted")),
    (["x"], SetStatus("rejected", BULK_REJECT_REASON)),
    (["p"], SetStatus("pending")),
    (["2"], AddLabel("tone")),
    (["9"], None),  # no ninth label: nothing chosen yet; escape then cancels
    (["escape"], None),
])
async def test_bulk_choice_dismisses_an_action_value(ws_path: Path, keys: list[str],
                                                     expected: object) -> None:
    app = ReviewApp(ws_path, actor="tester")
    chosen: list[object] = []
    async with app.run_test(size=SIZE) as pilot:
        app.push_screen(BulkChoice("records", 8, app.label_names()), chosen.append)
        await pilot.pause()
        await pilot.press(*keys)
        if isinstance(app.screen, BulkChoice):
            await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
    assert chosen == [expected]


def test_filter_terms_are_read_as_the_filter_language_reads_them() -> None:
    where = ["status=accepted", "search~reset password", "label!=tone", "status!=rejected"]
    assert parse_term("search~reset password") is not None
    assert term_value(where, "search", "~") == "reset password"
    assert term_value(where, "status", "=") == "accepted"
    assert term_value(where, "label", "=") is None
    assert without(where, "search") == ["status=accepted", "label!=tone", "status!=rejected"]
    assert without(where, "status", "=") == ["search~reset password", "label!=tone",
                                             "status!=rejected"]
    assert parse_term("no operator here") is None


def test_the_status_view_cycles_and_keeps_the_other_terms() -> None:
    seen = []
    where = ["label=tone"]
    for _ in range(5):
        where = next_status_view(where)
        seen.append(where)
    assert seen == [["label=tone", "status=pending"], ["label=tone", "status=accepted"],
                    ["label=tone", "status=rejected"], ["label=tone"],
                    ["label=tone", "status=pending"]]


def test_the_label_set_as_typed() -> None:
    assert label_set(" refund, tone,,refund , new ") == ["refund", "tone", "new"]
    assert label_set("") == []


async def test_help_names_the_label_each_number_key_toggles(ws_path: Path) -> None:
    app = ReviewApp(ws_path, actor="tester")
    async with app.run_test(size=SIZE):
        rows = [what for _, what in app.help_rows()]
    assert "toggle label refund  [label_1]" in rows
    assert "toggle label tone  [label_2]" in rows
    assert "(no label yet)  [label_3]" in rows


def test_workers_never_call_into_widgets_from_their_threads() -> None:
    """Workers post messages (curator.tui.messages); `call_from_thread` would block the worker
    on the UI and spread widget code across threads."""
    calls = [f"{p.name}:{node.lineno}" for p in sorted(TUI.glob("*.py"))
             for node in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
             if isinstance(node, ast.Attribute) and node.attr == "call_from_thread"]
    assert calls == []


def test_no_module_of_the_review_app_is_over_600_lines() -> None:
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines())
             for p in TUI.glob("*.py")}
    assert {name: n for name, n in sizes.items() if n > 600} == {}
