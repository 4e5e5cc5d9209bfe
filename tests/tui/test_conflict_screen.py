"""The conflict screen (`C`): clusters listed, the selected cluster's answers shown, `k` keeps
one, `p` turns two answers into a preference pair, `u` undoes; every assertion on the file."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Static
from tui_helpers import make_workspace

from curator.quality.answers import CONFLICT, SAME_ANSWER, find_answer_signals
from curator.tui.app import MainScreen, ReviewApp
from curator.workspace import Workspace
from curator.workspace.signals import eligible_items, write_flags

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SIZE = (100, 30)
CAPITAL = "What is the capital city of Australia? Answer in one short sentence."
DEFINE = "Give me a short definition of the word 'ephemeral'."


def _chat(user: str, answer: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": user},
                         {"role": "assistant", "content": answer}]}


ROWS = [
    _chat(CAPITAL, "Canberra is the capital city of Australia."),                 # 1
    _chat("Write a haiku about the sea at night.", "Dark waves fold the moon."),    # 2
    _chat(CAPITAL, "Sydney, the largest harbour city, is the capital."),          # 3
    _chat(DEFINE, "Ephemeral means lasting for a very short time."),              # 4
    _chat(DEFINE, "A large sea mammal that breathes through a blowhole."),        # 5
    _chat(DEFINE, "Something green that grows on the north side of trees."),      # 6
]


@pytest.fixture
def ws_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    path = make_workspace(tmp_path, rows=ROWS, labels=(), cluster=False)
    with Workspace.open(path, actor="tester") as ws:
        flagged: dict[str, dict[int, str]] = {SAME_ANSWER: {}, CONFLICT: {}}
        for f in find_answer_signals(eligible_items(ws)):
            flagged[f.kind][f.record] = f.reason
        write_flags(ws, [SAME_ANSWER, CONFLICT], flagged)
    return path


def state(path: Path, *ids: int) -> list[tuple[str, str | None]]:
    with Workspace.open(path) as ws:
        return [(ws.get(i).status, ws.get(i).reason) for i in ids]


async def until(pilot: Any, condition: Any, timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "condition not met in time"
        await pilot.pause(0.1)


async def test_conflict_screen_keeps_one_prefers_one_and_undoes(ws_path: Path) -> None:
    from curator.tui.conflict_screen import ConflictScreen

    app = ReviewApp(ws_path, actor="tester")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("C")
        screen = app.screen
        assert isinstance(screen, ConflictScreen)
        await until(pilot, lambda: screen.clusters is not None)
        assert [(c.id, [m.id for m in c.members]) for c in screen.clusters or []] == [
            (1, [1, 3]), (4, [4, 5, 6])]
        shown = str(screen.query_one("#conflict-text", Static).render())
        assert "Canberra" in shown and "Sydney" in shown  # both answers of the first cluster
        await pilot.press("right", "k")  # keep record 3 of cluster 1
        assert state(ws_path, 1, 3) == [("rejected", "conflict: kept #3"), ("accepted", None)]
        await until(pilot, lambda: bool(screen.clusters) and not screen.clusters[0].open)
        await pilot.press("u")
        assert state(ws_path, 1, 3) == [("pending", None)] * 2
        await pilot.press("down")  # cluster 4
        await until(pilot, lambda: screen.cluster is not None and screen.cluster.id == 4)
        await pilot.press("p")  # three records: which one is the rejected side?
        assert "mark the rejected answer with o" in str(
            screen.query_one("#conflict-head", Static).render())
        assert state(ws_path, 4, 5, 6) == [("pending", None)] * 3
        await pilot.press("right", "o", "left", "p")  # prefer record 4's answer over 5's
        with Workspace.open(ws_path) as ws:
            pair = ws.get(7)
            assert pair.kind == "preference" and pair.status == "pending"
            assert pair.canonical is not None
            assert pair.canonical["chosen"][0]["content"].startswith("Ephemeral means")
            assert pair.canonical["rejected"][0]["content"].startswith("A large sea mammal")
        assert state(ws_path, 4, 5) == [("rejected", "conflict: turned into preference pair #7")] * 2
        # record 6 asks what the new pair asks: shown, not merged
        await until(pilot, lambda: [(p.chat, p.preference) for p in screen.against] == [(6, 7)])
        assert state(ws_path, 6) == [("pending", None)]
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)
        await pilot.press("u")  # the main screen's undo takes the pair back too
        assert state(ws_path, 4, 5, 7) == [("pending", None), ("pending", None),
                                           ("rejected", "conflict: preference pair undone")]
