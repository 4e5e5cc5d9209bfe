"""Marks survive a restart and drive bulk apply; bulk apply runs in a worker with progress, is
one journal entry, and escape mid-way rolls it back. Assertions are on the workspace file."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from curator.tui.app import ReviewApp
from curator.tui.jobs import JobScreen
from curator.tui.messages import JobProgress
from curator.workspace import Workspace

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SIZE = (100, 30)


def statuses(path: Path) -> dict[int, str]:
    with Workspace.open(path) as ws:
        return {i: ws.get(i).status for i in range(1, 9)}


async def test_marks_survive_a_restart_and_bulk_apply_uses_them(ws_path: Path) -> None:
    app = ReviewApp(ws_path, actor="tester")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("j", "m", "m", "m")  # marks 2, 3, 4 (mark moves down)
        await pilot.press("k", "m")  # and unmarks 4
        with Workspace.open(ws_path) as ws:
            assert ws.marks() == {2, 3}  # on disk at once
    before = statuses(ws_path)
    app = ReviewApp(ws_path, actor="tester")
    async with app.run_test(size=SIZE) as pilot:
        assert app.main.marks == {2, 3}
        await pilot.press("b", "a", "y")  # bulk accept the marked records
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.main.marks == set()
    after = statuses(ws_path)
    assert after[2] == after[3] == "accepted"
    assert {i: s for i, s in after.items() if i not in (2, 3)} == {
        i: s for i, s in before.items() if i not in (2, 3)}
    with Workspace.open(ws_path) as ws:
        assert ws.marks() == set()  # applied marks are cleared, on disk too
        entry = ws.log(1)[0]
        assert entry.action == "accept" and entry.n_changes == 2


async def test_bulk_over_a_filter_shows_progress_and_is_one_undo(
        ws_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Workspace, "BULK_CHUNK", 2)
    shown: list[tuple[int, int]] = []
    real_show = JobScreen.on_job_progress

    def spy(self: JobScreen[object], message: JobProgress) -> None:
        shown.append((message.done, message.total))
        real_show(self, message)

    monkeypatch.setattr(JobScreen, "on_job_progress", spy)
    app = ReviewApp(ws_path, actor="tester")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f", *"status=pending", "enter")
        assert app.main.window.total == 7
        await pilot.press("b", "2", "y")  # label "tone" on the 7 pending records
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert not isinstance(app.screen, JobScreen)
        assert shown and shown[-1] == (7, 7)
        with Workspace.open(ws_path) as ws:
            assert ws.count(["label=tone"]) == 7
            assert ws.log(1)[0].n_changes == 7
        await pilot.press("u")  # one undo takes the whole bulk change back
        with Workspace.open(ws_path) as ws:
            assert ws.count(["label=tone"]) == 0


async def test_escape_during_bulk_apply_changes_nothing(
        ws_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Workspace, "BULK_CHUNK", 1)
    reached, go = threading.Event(), threading.Event()
    real_progress = JobScreen._progress

    def held(self: JobScreen, done: int, total: int) -> None:
        if done == 3:  # the worker waits here, mid-way, until the test has pressed escape
            reached.set()
            go.wait(10)
        real_progress(self, done, total)

    monkeypatch.setattr(JobScreen, "_progress", held)
    before = statuses(ws_path)
    with Workspace.open(ws_path) as ws:
        entries = len(ws.log(None))
    app = ReviewApp(ws_path, actor="tester")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("b", "a", "y")  # accept all 8, no marks
        for _ in range(200):
            if reached.is_set():
                break
            await asyncio.sleep(0.02)
        assert reached.is_set() and isinstance(app.screen, JobScreen)
        await pilot.press("escape")  # the dialog answers while the worker is busy
        go.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert not isinstance(app.screen, JobScreen)
    assert statuses(ws_path) == before
    with Workspace.open(ws_path) as ws:
        assert len(ws.log(None)) == entries


async def test_undo_and_redo_of_a_big_bulk_change_run_in_a_worker(
        ws_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from curator.tui.app import MainScreen

    monkeypatch.setattr(MainScreen, "BIG_UNDO", 3)
    screens: list[str] = []
    real_mount = JobScreen.on_mount

    def seen(self: JobScreen) -> None:
        screens.append(self.title_text)
        real_mount(self)

    monkeypatch.setattr(JobScreen, "on_mount", seen)
    before = statuses(ws_path)
    accepted = {i: "accepted" if s == "pending" else s for i, s in before.items()}
    app = ReviewApp(ws_path, actor="tester")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f", *"status=pending", "enter", "b", "a", "y")  # 7 records
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert statuses(ws_path) == accepted
        await pilot.press("u")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert statuses(ws_path) == before
        assert screens[-1].startswith("Undo: accept: 7 of 7")
        assert "undone: accept" in app.main.message
        await pilot.press("U")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert screens[-1].startswith("Redo: accept")
        assert statuses(ws_path) == accepted
        await pilot.press("f", "ctrl+a", "ctrl+k", "enter")  # all records again
        await pilot.press("1")
        with Workspace.open(ws_path) as ws:
            assert ws.get(1).labels == ["refund"]
        await pilot.press("u")  # a one-record change is undone at once, no worker
        with Workspace.open(ws_path) as ws:
            assert ws.get(1).labels == []
        assert len(screens) == 3
