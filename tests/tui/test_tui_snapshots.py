"""One snapshot per screen at 80x24 (pytest-textual-snapshot). Update after an intended layout
change with: pytest tests/tui/test_tui_snapshots.py --snapshot-update"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tui_helpers import make_workspace

from curator.tui.app import ReviewApp

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SIZE = (80, 24)


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ReviewApp:
    monkeypatch.chdir(tmp_path)
    return ReviewApp(make_workspace(tmp_path), actor="tester", cursor_blink=False)


async def _settle(pilot: Any) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def test_main_screen(app: ReviewApp, snap_compare: Any) -> None:
    assert snap_compare(app, press=["j", "a", "m"], terminal_size=SIZE)


def test_main_screen_wide(app: ReviewApp, snap_compare: Any) -> None:
    assert snap_compare(app, press=["j", "j", "j", "j"], terminal_size=(140, 30))


def test_help_screen(app: ReviewApp, snap_compare: Any) -> None:
    assert snap_compare(app, press=["question_mark"], terminal_size=SIZE)


def test_edit_screen(app: ReviewApp, snap_compare: Any) -> None:
    assert snap_compare(app, press=["e"], terminal_size=SIZE)


def test_reject_dialog(app: ReviewApp, snap_compare: Any) -> None:
    assert snap_compare(app, press=["x"], terminal_size=SIZE)


def test_bulk_dialog(app: ReviewApp, snap_compare: Any) -> None:
    assert snap_compare(app, press=["b"], terminal_size=SIZE)


def test_duplicates_screen(app: ReviewApp, snap_compare: Any) -> None:
    assert snap_compare(app, press=["d"], terminal_size=SIZE)


def test_stats_screen(app: ReviewApp, snap_compare: Any) -> None:
    async def run_before(pilot: Any) -> None:
        await pilot.press("S")
        await _settle(pilot)

    assert snap_compare(app, run_before=run_before, terminal_size=SIZE)
