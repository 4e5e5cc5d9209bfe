"""`text~` (a substring scan no index answers) runs in a worker: the list keeps answering keys
meanwhile, a new filter replaces a running one, escape stops one, and the result is the
workspace's own count and rows."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from tui_helpers import make_workspace

from curator.tui import window as window_module
from curator.tui.app import MainScreen, ReviewApp
from curator.tui.messages import FilterProgress
from curator.workspace import Workspace

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SIZE = (100, 30)


def matching(path: Path, where: list[str]) -> list[int]:
    with Workspace.open(path) as ws:
        return list(ws.select_ids(where))


def listed(app: ReviewApp) -> list[int]:
    rows = [app.main.window.get(i) for i in range(len(app.main.window))]
    return [r.summary.id for r in rows if r is not None]


def hold_scans(monkeypatch: pytest.MonkeyPatch,
               only: str | None = None) -> tuple[threading.Event, threading.Event]:
    """Make the app's filter scans (those whose filter includes `only`, or every one) wait for
    `go` before they run, setting `reached` when one waits: a slow scan on demand."""
    reached, go = threading.Event(), threading.Event()
    real_scan = window_module.scan

    def held(ws: Workspace, where: list[str], *args: object) -> object:
        if only is None or only in where:
            reached.set()
            go.wait(10)
        return real_scan(ws, where, *args)  # type: ignore[arg-type]

    monkeypatch.setattr("curator.tui.filter_screen.scan", held)
    return reached, go


async def until(event: threading.Event) -> bool:
    for _ in range(200):
        if event.is_set():
            return True
        await asyncio.sleep(0.02)
    return False


async def test_text_filter_runs_in_a_worker_and_lists_the_matches(
        ws_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(window_module, "SCAN_CHUNK", 2)  # several steps over 8 records
    app = ReviewApp(ws_path, actor="tester")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f", *"text~WHERE", "enter")  # case-insensitive
        await app.workers.wait_for_complete()
        await pilot.pause()
        expected = matching(ws_path, ["text~WHERE"])
        assert 2 in expected and 6 in expected and len(expected) < 8
        assert app.main.window.where == ["text~WHERE"]
        assert len(app.main.window) == len(expected) and listed(app) == expected
        assert app.main.current_id() == expected[0]
        await pilot.press("f", "ctrl+a", "ctrl+k", *"text~zzqqxx", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert len(app.main.window) == 0 and app.main.current_id() is None


async def test_keys_answer_while_filtering_and_a_new_filter_replaces_it(
        ws_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(window_module, "SCAN_CHUNK", 1)
    reached, go = hold_scans(monkeypatch)
    real = MainScreen.on_filter_progress
    states: list[str] = []

    def spy(self: MainScreen, event: FilterProgress) -> None:
        real(self, event)
        states.append(self.message)

    monkeypatch.setattr(MainScreen, "on_filter_progress", spy)
    app = ReviewApp(ws_path, actor="tester")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f", *"text~order", "enter")
        assert await until(reached)
        assert app.main.message.startswith("filtering text~order")  # visible state
        await pilot.press("j", "j")  # the list still answers, on the records it showed
        assert app.main.current_id() == 3
        await pilot.press("a")
        with Workspace.open(ws_path) as ws:
            assert ws.get(3).status == "accepted"
        await pilot.press("f", *"status=accepted", "enter")  # replaces the running filter
        assert app.main.window.where == ["status=accepted"]
        go.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        # the replaced scan's result never showed
        assert app.main.window.where == ["status=accepted"]
        assert listed(app) == matching(ws_path, ["status=accepted"])
        assert not any(s.startswith("filtering text~order") for s in states[1:])


async def test_escape_stops_a_running_filter(
        ws_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reached, go = hold_scans(monkeypatch)
    app = ReviewApp(ws_path, actor="tester")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f", *"text~order", "enter")
        assert await until(reached)
        await pilot.press("escape")
        assert "filter stopped" in app.main.message
        go.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.main.window.where == [] and len(app.main.window) == 8


async def test_bulk_change_under_a_text_filter_recounts_in_the_worker(
        ws_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scans: list[list[str]] = []
    real_scan = window_module.scan

    def counted(ws: Workspace, where: list[str], *args: object) -> object:
        scans.append(list(where))
        return real_scan(ws, where, *args)  # type: ignore[arg-type]

    monkeypatch.setattr("curator.tui.filter_screen.scan", counted)
    app = ReviewApp(ws_path, actor="tester")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f", *"text~order", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        expected = matching(ws_path, ["text~order"])
        assert listed(app) == expected and len(expected) >= 2
        await pilot.press("j")  # the cursor on the second match
        await pilot.press("b", "a", "y")  # accept every match of the filter
        await app.workers.wait_for_complete()
        await pilot.pause()
        with Workspace.open(ws_path) as ws:
            assert [ws.get(i).status for i in expected] == ["accepted"] * len(expected)
        assert scans == [["text~order"], ["text~order"]]  # counted again, in the worker
        assert listed(app) == expected
        assert app.main.current_id() == expected[1]  # the cursor stayed on its record
        row = app.main.records.current
        assert row is not None and row.summary.status == "accepted"
        assert app.main.message.startswith("accept:")


async def test_text_filter_pages_by_the_scanned_ids(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tui_helpers import _chat

    monkeypatch.chdir(tmp_path)
    rows = [_chat(f"question {i}" + (" with a needle" if i % 2 else ""), f"answer {i}")
            for i in range(400)]
    path = make_workspace(tmp_path, rows=rows, cluster=False)
    with Workspace.open(path) as ws:
        ws.set_status(None, "accepted", where=["id<=300"])
    app = ReviewApp(path, actor="tester")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f", *"text~needle", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        expected = matching(path, ["text~needle"])
        assert len(expected) == 200 and app.main.window.ids is not None
        assert listed(app) == expected  # every page, read by id
        await pilot.press("G")
        assert app.main.current_id() == expected[-1]
        await pilot.press("g", "pagedown", "pagedown", "pagedown", "pagedown", "pagedown")
        assert app.main.current_id() == expected[app.main.records.cursor]
        await pilot.press("g", "n")  # next pending among the matches: ids above 300
        assert app.main.current_id() == min(i for i in expected if i > 300)
        await pilot.press("a")  # accepted, and the cursor moved to the next match
        with Workspace.open(path) as ws:
            assert ws.get(expected[expected.index(302)]).status == "accepted"
        assert app.main.current_id() == expected[expected.index(302) + 1]


async def test_a_refresh_while_a_filter_is_counted_keeps_that_filter(
        ws_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reached, go = hold_scans(monkeypatch, "text~order")  # held until the refresh happened
    app = ReviewApp(ws_path, actor="tester")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f", *"text~WHERE", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.main.window.where == ["text~WHERE"]
        await pilot.press("f", "ctrl+a", "ctrl+k", *"text~order", "enter")
        assert await until(reached)
        await pilot.press("ctrl+l")  # re-read everything, as after a bulk change
        await pilot.pause()
        go.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.main.window.where == ["text~order"]  # the filter asked for last, not the old
        assert listed(app) == matching(ws_path, ["text~order"])


@pytest.mark.parametrize("bad", [
    "tokens>99999999999999999999999",
    "id=-99999999999999999999999 status=pending",
    "text~order tokens<99999999999999999999999",  # counted by the worker (a text~ filter)
    "nonsense",
])
async def test_a_filter_that_fails_is_reported_and_the_app_keeps_running(
        ws_path: Path, bad: str) -> None:
    app = ReviewApp(ws_path, actor="tester")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f", *"status=pending", "enter")
        await app.workers.wait_for_complete()
        before = listed(app)
        assert before == matching(ws_path, ["status=pending"])
        await pilot.press("f", "ctrl+a", "ctrl+k", *bad, "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.is_running and isinstance(app.screen, MainScreen)
        assert "not applied" in app.main.message and bad in app.main.message
        assert app.main.window.where == ["status=pending"]  # the list is as it was
        assert listed(app) == before
        await pilot.press("f", "ctrl+a", "ctrl+k", *"status=rejected", "enter")
        await app.workers.wait_for_complete()
        assert listed(app) == matching(ws_path, ["status=rejected"])  # and filters still work
    assert app.return_code in (None, 0)


def hold_after_first_partial(monkeypatch: pytest.MonkeyPatch) -> tuple[threading.Event,
                                                                         threading.Event]:
    """One scan thread, one id per chunk, a page of 2: the scan stops after it has posted its
    first matches (`shown`) until `go` is set."""
    monkeypatch.setattr(window_module, "SCAN_CHUNK", 1)
    monkeypatch.setattr(window_module, "SCAN_THREADS", 1)
    monkeypatch.setattr(window_module, "PAGE", 2)
    shown, go = threading.Event(), threading.Event()
    real_scan = window_module.scan

    def held(ws: Workspace, where: list[str], progress: object, cancelled: object,
             partial: object = None) -> object:
        assert callable(partial)  # the app asks for the first matches

        def first_then_wait(*args: object) -> None:
            partial(*args)
            shown.set()
            go.wait(10)

        return real_scan(ws, where, progress, cancelled, first_then_wait)  # type: ignore[arg-type]

    monkeypatch.setattr("curator.tui.filter_screen.scan", held)
    return shown, go


async def test_a_text_filter_shows_its_first_matches_while_it_counts_the_rest(
        ws_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # issue 15: on a million records the first page is on screen long before the count is done
    shown, go = hold_after_first_partial(monkeypatch)
    expected = matching(ws_path, ["text~the"])
    assert len(expected) == 5
    app = ReviewApp(ws_path, actor="tester")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f", *"text~the", "enter")
        assert await until(shown)
        await pilot.pause()
        window = app.main.window
        assert window.where == ["text~the"] and 2 <= len(window) < len(expected)
        assert listed(app) == expected[:len(window)]  # the final list's first rows
        assert app.main.current_id() == expected[0]
        assert app.main.message.startswith("counting text~the")
        await pilot.press("j")  # keys answer on the matches shown
        assert app.main.current_id() == expected[1]
        go.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert listed(app) == expected
        assert app.main.current_id() == expected[1]  # the cursor stayed on its record
        assert app.main.message == f"{len(expected)} records"


async def test_escape_while_the_first_matches_show_puts_the_list_back(
        ws_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shown, go = hold_after_first_partial(monkeypatch)
    app = ReviewApp(ws_path, actor="tester")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("j", "j")
        await pilot.press("f", *"text~the", "enter")
        assert await until(shown)
        await pilot.pause()
        assert app.main.window.where == ["text~the"]
        await pilot.press("escape")
        assert "filter stopped" in app.main.message
        go.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.main.window.where == [] and listed(app) == list(range(1, 9))
        assert app.main.current_id() == 3  # where the cursor was
