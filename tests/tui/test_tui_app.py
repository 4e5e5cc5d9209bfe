"""The review app driven by Pilot; every assertion is on the workspace file, not the screen."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Static
from tui_helpers import make_workspace

from curator.tui.app import MainScreen, ReviewApp
from curator.tui.edit import EditScreen
from curator.tui.modals import Help, Result
from curator.workspace import Workspace

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SIZE = (100, 30)


def state(path: Path, rid: int) -> tuple[str, str | None, list[str]]:
    with Workspace.open(path) as ws:
        r = ws.get(rid)
        return r.status, r.reason, r.labels


def actions(path: Path) -> list[str]:
    with Workspace.open(path) as ws:
        return [e.action for e in reversed(ws.log(None)) if e.state == "done"]


def app_for(path: Path, **kw: object) -> ReviewApp:
    return ReviewApp(path, actor="tester", **kw)  # type: ignore[arg-type]


def cursor_id(app: ReviewApp) -> int | None:
    return app.main.current_id()


def result_text(app: ReviewApp) -> str:
    """The text of the result screen a job (dedup, split, export) ends on; no JSON in it."""
    assert isinstance(app.screen, Result)
    text = str(app.screen.query_one("#result-text", Static).render())
    assert "{" not in text and '":' not in text
    return text


async def test_accept_reject_reset_are_committed(ws_path: Path) -> None:
    app = app_for(ws_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a")  # record 1 accepted, cursor moves on to 2
        assert state(ws_path, 1)[0] == "accepted"
        assert cursor_id(app) == 2
        await pilot.press("r")  # asks for a reason, pre-filled with the default
        await pilot.press("ctrl+a", "ctrl+k", *"off topic", "enter")
        assert state(ws_path, 2)[:2] == ("rejected", "off topic")
        await pilot.press("k", "p")  # back to record 2, reset to pending
        assert state(ws_path, 2)[:2] == ("pending", None)
        assert cursor_id(app) == 3  # 3 was rejected on import with its first error code
        assert state(ws_path, 3)[:2] == ("rejected", "chat.content_empty")
        await pilot.press("j", "X")  # reject with the default reason, no question
        assert state(ws_path, 4)[:2] == ("rejected", "rejected in review")
        await pilot.press("x", "escape")  # cancelled: nothing changes
        assert state(ws_path, 5)[0] == "pending"
    assert actions(ws_path)[-4:] == ["accept", "reject", "reset", "reject"]


async def test_labels_on_number_keys_and_label_set(ws_path: Path) -> None:
    app = app_for(ws_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")  # label set in the order added: refund, tone
        assert state(ws_path, 1)[2] == ["tone"]
        await pilot.press("1")
        assert state(ws_path, 1)[2] == ["refund", "tone"]
        await pilot.press("2")  # toggles off
        assert state(ws_path, 1)[2] == ["refund"]
        await pilot.press("9")  # no such label: nothing happens
        assert state(ws_path, 1)[2] == ["refund"]
        await pilot.press("L", "ctrl+a", *"billing, ", "enter")
        with Workspace.open(ws_path) as ws:
            assert [n for n, _ in ws.labels()] == ["billing", "refund", "tone"]
        await pilot.press("1")  # the keys follow the new order: 1 = billing
        assert state(ws_path, 1)[2] == ["billing", "refund"]


async def test_next_next_pending_next_with_issues(ws_path: Path) -> None:
    with Workspace.open(ws_path) as ws:
        ws.set_status([2, 4], "accepted")
    app = app_for(ws_path, advance=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("space")
        assert cursor_id(app) == 2
        await pilot.press("n")  # 3 was rejected on import, 4 accepted: next pending is 5
        assert cursor_id(app) == 5
        await pilot.press("g", "i")
        assert cursor_id(app) == 3  # the record with chat.content_empty
        await pilot.press("G")
        assert cursor_id(app) == 8
        await pilot.press("n")  # nothing after the last: stays
        assert cursor_id(app) == 8


async def test_edit_saves_a_valid_edit_and_revalidates(ws_path: Path) -> None:
    app = app_for(ws_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("j", "j", "e")  # record 3: empty assistant answer, rejected
        assert isinstance(app.screen, EditScreen)
        app.screen.query_one("#turn-1").load_text("Here is something.")  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, MainScreen)
    with Workspace.open(ws_path) as ws:
        r = ws.get(3)
        assert r.current is not None
        assert r.current["messages"][1]["content"] == "Here is something."
        assert not [i for i in r.issues if i.severity == "error"]  # revalidated, issue gone
        assert r.tokens_total is not None
        assert ws.log(1)[0].action == "edit"


async def test_invalid_edit_is_explained_and_not_saved(ws_path: Path) -> None:
    before = actions(ws_path)
    app = app_for(ws_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e")
        screen = app.screen
        assert isinstance(screen, EditScreen)
        screen.query_one("#turn-2").load_text("")  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        assert app.screen is screen  # still editing
        errors = str(screen.query_one("#edit-errors").render())
        assert "chat.content_empty" in errors and "Not saved" in errors
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)
    with Workspace.open(ws_path) as ws:
        assert ws.get(1).current is None
    assert actions(ws_path) == before


async def test_note_and_mark_and_bulk_apply_to_marked(ws_path: Path) -> None:
    app = app_for(ws_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("c", *"check policy", "enter")
        with Workspace.open(ws_path) as ws:
            assert ws.get(1).note == "check policy"
        await pilot.press("m", "j", "m")  # marks 1 and 3 (mark moves down)
        assert app.main.marks == {1, 3}
        await pilot.press("b", "a")  # bulk: accept ... asks to confirm
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.main.marks == set()
    assert [state(ws_path, i)[0] for i in (1, 2, 3)] == ["accepted", "pending", "accepted"]
    with Workspace.open(ws_path) as ws:
        entry = ws.log(1)[0]
        assert entry.action == "accept" and entry.n_changes == 2


async def test_bulk_apply_to_filter_and_decline(ws_path: Path) -> None:
    app = app_for(ws_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f", *"status=pending", "enter")
        assert app.main.window.total == 7
        await pilot.press("b", "1", "n")  # declined at the confirmation: nothing changes
        await app.workers.wait_for_complete()
        with Workspace.open(ws_path) as ws:
            assert ws.count(["label=refund"]) == 0
        await pilot.press("b", "1", "y")
        await app.workers.wait_for_complete()
        await pilot.pause()
    with Workspace.open(ws_path) as ws:
        assert ws.count(["label=refund"]) == 7
        assert ws.count(["label=refund", "status=rejected"]) == 0


async def test_undo_redo_survive_restart(ws_path: Path) -> None:
    app = app_for(ws_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a", "a")
        assert [state(ws_path, i)[0] for i in (1, 2)] == ["accepted", "accepted"]
        await pilot.press("u")
        assert state(ws_path, 2)[0] == "pending"
    app = app_for(ws_path)  # a new session: the journal is in the file
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("u")
        assert state(ws_path, 1)[0] == "pending"
        await pilot.press("U")
        assert state(ws_path, 1)[0] == "accepted"
        await pilot.press("ctrl+r")
        assert state(ws_path, 2)[0] == "accepted"
        await pilot.press("U")  # nothing left to redo
        assert "nothing to redo" in app.main.message


async def test_search_builds_the_index_then_filters(ws_path: Path) -> None:
    app = app_for(ws_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", *"ships tomorrow", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.main.window.where == ["search~ships tomorrow"]
        assert app.main.window.total == 2
        assert cursor_id(app) == 2
        await pilot.press("a")
        assert state(ws_path, 2)[0] == "accepted"
        await pilot.press("slash", "ctrl+a", "ctrl+k", "enter")  # empty search: all records
        assert app.main.window.total == 8
    with Workspace.open(ws_path) as ws:
        assert ws.search_index_pending() == 0


async def test_filters_and_status_view(ws_path: Path) -> None:
    app = app_for(ws_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f", *"issue=chat.content_empty", "enter")
        assert app.main.window.total == 1 and cursor_id(app) == 3
        await pilot.press("f", "ctrl+a", "ctrl+k", *"cluster=2 tokens>=1", "enter")
        assert app.main.window.total == 2
        await pilot.press("f", "ctrl+a", "ctrl+k", *"bogus=1", "enter")
        assert "unknown key" in app.main.message
        assert app.main.window.total == 2  # a bad filter leaves the list as it was
        await pilot.press("f", "ctrl+a", "ctrl+k", "enter", "v")  # all, then status=pending
        assert app.main.window.where == ["status=pending"]
        await pilot.press("v")
        assert app.main.window.where == ["status=accepted"]
        assert app.main.window.total == 0


async def test_duplicates_screen_keep_one_and_not_duplicates(ws_path: Path) -> None:
    app = app_for(ws_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("d")
        from curator.tui.dupes import DuplicatesScreen
        assert isinstance(app.screen, DuplicatesScreen)
        assert app.screen.clusters == [2]
        await pilot.press("2")  # keep the second member (record 6), reject the keeper 2
        assert state(ws_path, 6)[0] == "accepted"
        assert state(ws_path, 2)[:2] == ("rejected", "duplicate of 6")
        await pilot.press("u")
        assert state(ws_path, 2)[0] == "pending" and state(ws_path, 6)[0] == "pending"
        await pilot.press("n")  # not duplicates: the marks go, the statuses stay
        assert app.screen.clusters == []
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)
    with Workspace.open(ws_path) as ws:
        assert ws.get(6).dup_of is None and ws.get(2).cluster_id is None
        assert ws.log(1)[0].action == "undedup"


async def test_stats_screen_updates_as_decisions_land(ws_path: Path) -> None:
    from curator.tui.stats import StatsScreen

    app = app_for(ws_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("S")
        screen = app.screen
        assert isinstance(screen, StatsScreen)
        await until(pilot, lambda: screen.stats is not None)
        assert screen.stats is not None and screen.stats.status["accepted"] == 0
        assert screen.stats.issues[0][0] == "chat.content_empty"
        with Workspace.open(ws_path) as ws:  # a decision from elsewhere (say, the CLI)
            ws.set_status([1, 2], "accepted")
        # No key pressed: the screen notices the change by itself.
        await until(pilot, lambda: screen.stats is not None
                    and screen.stats.status["accepted"] == 2)


async def until(pilot: Any, condition: Any, timeout: float = 20.0) -> None:
    """Let the app run until `condition()` holds (workers and timers are real)."""
    import time

    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "condition not met in time"
        await pilot.pause(0.1)


async def test_help_lists_the_keymap(ws_path: Path, tmp_path: Path) -> None:
    from curator.tui.app import binding_ids
    from curator.tui.keymap import KeymapError, load_keymap

    (tmp_path / "keys.yaml").write_text("accept: y\nlabel_1: f5\n")
    keymap = load_keymap(tmp_path / "keys.yaml", binding_ids())
    (tmp_path / "bad.yaml").write_text("acept: y\n")
    with pytest.raises(KeymapError, match="unknown binding id 'acept'"):
        load_keymap(tmp_path / "bad.yaml", binding_ids())
    app = app_for(ws_path, keymap=keymap)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a")  # no longer accept
        assert state(ws_path, 1)[0] == "pending"
        await pilot.press("y", "f5")
        assert state(ws_path, 1)[0] == "accepted"
        assert state(ws_path, 2)[2] == ["refund"]
        await pilot.press("question_mark")
        assert isinstance(app.screen, Help)
        assert ("y", "accept  [accept]") in app.screen.rows
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)


async def test_review_file_imports_beside_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from curator.cli.review import workspace_for

    monkeypatch.chdir(tmp_path)
    src = Path(__file__).resolve().parents[2] / "sample_data" / "chat_clean.jsonl"
    data = tmp_path / "chat_clean.jsonl"
    data.write_bytes(src.read_bytes())
    path = workspace_for(data)
    assert path == tmp_path / "chat_clean.jsonl.curator.db"
    app = ReviewApp(path, imports=[data], actor="tester")
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        assert app.main.window.total == 30
        await pilot.press("a")
    assert state(path, 1)[0] == "accepted"
    with Workspace.open(path) as ws:  # imported as `curator import` would: target recorded
        assert ws.meta("workspace.target") == '"openai"'
        assert ws.sources()[0]["complete"]


async def test_mouse_click_selects_a_row(ws_path: Path) -> None:
    app = app_for(ws_path)
    async with app.run_test(size=SIZE) as pilot:
        # Row 4 of the list: one border line and one header line above the first record.
        await pilot.click("#records", offset=(5, 5))
        await pilot.pause()
        assert cursor_id(app) == 4
        await pilot.press("a")
    assert state(ws_path, 4)[0] == "accepted"


def test_kill_mid_review_loses_nothing_shown(ws_path: Path) -> None:
    import subprocess
    import sys

    worker = Path(__file__).with_name("tui_kill_worker.py")
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    proc = subprocess.run([sys.executable, str(worker), str(ws_path), "5"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == -9 and "accepted" in proc.stdout
    with Workspace.open(ws_path) as ws:
        assert ws.integrity_check() == "ok"
        assert [ws.get(i).status for i in range(1, 7)] == ["accepted"] * 5 + ["pending"]
        assert [e.actor for e in ws.log(5)] == ["killed"] * 5


async def test_dedup_split_export_from_the_app(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from tui_helpers import ROWS

    monkeypatch.chdir(tmp_path)
    ws_path = make_workspace(tmp_path, rows=[*ROWS, ROWS[7]], cluster=False)  # 9 repeats 8
    with Workspace.open(ws_path) as ws:
        ws.set_status([1, 2, 4, 5, 6, 8, 9], "accepted")
    app = app_for(ws_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("D")  # dedup with the core defaults, in a worker
        await app.workers.wait_for_complete()
        await pilot.pause()
        dedup = result_text(app)  # a short summary for a person, not the JSON of --json
        assert "8 records: 1 clusters, 1 duplicates (1 exact, 0 near)" in dedup  # 3 rejected
        assert "marked  [journal #" in dedup
        await pilot.press("escape", "P", "y")  # split, confirmed
        await app.workers.wait_for_complete()
        await pilot.pause()
        split = result_text(app)
        assert "leakage: 0 exact and 0 near-duplicate pairs across splits" in split
        assert "train " in split and "validation " in split
        out = tmp_path / "out"
        await pilot.press("escape", "E", "ctrl+a", "ctrl+k", *str(out), "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        export = result_text(app)
        assert f"exported to {out}" in export and "excluded" in export
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)
    with Workspace.open(ws_path) as ws:
        assert {ws.get(8).dup_of, ws.get(9).dup_of} == {None, 8} or \
            {ws.get(8).dup_of, ws.get(9).dup_of} == {None, 9}  # the exact repeat was found
        assert ws.count(["split=none", "status=accepted"]) == 0
        assert ws.meta("split.report") is not None
        assert {e.action for e in ws.log(5)} >= {"dedup", "split"}
    assert (out / "manifest.json").is_file()
    assert any(p.suffix == ".jsonl" for p in out.iterdir())
