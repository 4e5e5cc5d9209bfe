"""The review app's topics screen (T): the topics of `curator coverage` with their sizes; Enter
filters the queue to the topic under the cursor; c computes them when there are none."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from textual.widgets import DataTable, Static
from topic_helpers import astronomy, code, cooking

from curator.tui.app import ReviewApp
from curator.tui.coverage_screen import CoverageScreen
from curator.workspace import Workspace
from curator.workspace.coverage import compute
from curator.workspace.importer import import_files
from curator.workspace.prepare import Preparer

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SIZE = (200, 40)


def _workspace(tmp_path: Path) -> Path:
    prompts = [p for trio in zip(cooking(8), code(8), astronomy(8), strict=True) for p in trio]
    src = tmp_path / "data.jsonl"
    src.write_text("".join(json.dumps({"messages": [
        {"role": "user", "content": p}, {"role": "assistant", "content": "Fine."}]}) + "\n"
        for p in prompts), encoding="utf-8")
    path = tmp_path / "w.db"
    with Workspace.open(path, create=True, actor="tester") as ws:
        import_files(ws, [src], Preparer("openai"))
    return path


def _listed(app: ReviewApp) -> list[int]:
    rows = [app.main.window.get(i) for i in range(len(app.main.window))]
    return [r.summary.id for r in rows if r is not None]


def _head(screen: CoverageScreen) -> str:
    return str(screen.query_one("#coverage-head", Static).render())


async def test_enter_on_a_topic_filters_the_queue_to_it(tmp_path: Path) -> None:
    path = _workspace(tmp_path)
    with Workspace.open(path) as ws:
        summary = compute(ws, topics=3)
        second = list(ws.select_ids(["topic=2"]))
    assert len(second) == 8
    app = ReviewApp(path, actor="tester")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert len(_listed(app)) == 24
        await pilot.press("T")
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, CoverageScreen)
        table = screen.query_one(DataTable)
        assert table.row_count == 3
        assert [str(table.get_row_at(r)[1]) for r in range(3)] == ["8", "8", "8"]
        assert [str(table.get_row_at(r)[4]) for r in range(3)] == [
            ", ".join(t.words) for t in summary.topics]
        assert "24 prompts in 3 topics" in _head(screen)
        await pilot.press("down", "enter")
        await pilot.pause()
        assert app.screen is app.main
        assert app.main.window.where == ["topic=2"]
        assert _listed(app) == second


async def test_without_topics_the_screen_says_so_and_c_computes_them(tmp_path: Path) -> None:
    path = _workspace(tmp_path)
    app = ReviewApp(path, actor="tester")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("T")
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, CoverageScreen)
        assert "No topics yet: press c here" in _head(screen)
        assert screen.query_one(DataTable).row_count == 0
        await pilot.press("enter")  # nothing to choose: the screen stays
        await pilot.pause()
        assert app.screen is screen
        await pilot.press("c")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert screen.query_one(DataTable).row_count == 3  # round(sqrt(24 / 2))
        assert "24 prompts in 3 topics" in _head(screen)
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.main and app.main.window.where == []
    with Workspace.open(path) as ws:
        assert len(list(ws.select_ids(["topic=1"]))) == 8
