"""The review app and `curator score`'s numbers: the detail pane shows a record's score (and
says when the text changed since), and `o` orders the list most suspicious first (highest IFD
first, unscored last) and back. No model: the scores are written by hand."""

from __future__ import annotations

from pathlib import Path

import pytest
from tui_helpers import make_workspace

from curator.tui.app import ReviewApp
from curator.workspace import Workspace
from curator.workspace import scores as store
from curator.workspace.scores import ScoreRow

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SIZE = (220, 40)


def pane_text(app: ReviewApp) -> str:
    pane = app.main.detail
    return "\n".join(pane.render_line(y).text for y in range(pane.size.height))


def listed(app: ReviewApp) -> list[int]:
    rows = [app.main.window.get(i) for i in range(len(app.main.window))]
    return [r.summary.id for r in rows if r is not None]


@pytest.fixture
def ws_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    path = make_workspace(tmp_path)
    with Workspace.open(path) as ws:
        numbers = {4: (1.3, 1e-9), 6: (0.9, 0.2), 2: (0.5, 0.4), 7: (0.7, 0.3)}
        rows = [ScoreRow(rid, "tiny-model", h, ifd * 2, 2.0, ifd, end, 6)
                for rid, _, h in store.texts(ws, sorted(numbers)) for ifd, end in [numbers[rid]]]
        rows.append(ScoreRow(1, "tiny-model", store.texts(ws, [1])[0][2], None, None, None, None, 0,
                             "longer than the model's context"))
        store.save(ws, rows)
        ws.edit(7, {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."}]})
    return path


async def test_detail_pane_shows_the_score_and_says_when_it_is_stale(ws_path: Path) -> None:
    app = ReviewApp(ws_path, actor="tester")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "score none (longer than the model's context)" in pane_text(app)  # record 1
        await pilot.press("j", "j", "j")
        await pilot.pause()
        assert app.main.current_id() == 4
        text = pane_text(app)
        assert "score IFD 1.30  loss 2.60 given the prompt, 2.00 alone  end 1e-09  (tiny-model)" in text
        assert "stale" not in text
        assert "quality.answer_off_prompt" in text  # the signal written with the score
        await pilot.press("j")  # record 5: never scored, no score line
        await pilot.pause()
        assert "score " not in pane_text(app)
        await pilot.press("j", "j")  # record 7: edited since it was scored
        await pilot.pause()
        assert app.main.current_id() == 7
        flat = " ".join(line.strip() for line in pane_text(app).splitlines())  # wrapped lines joined
        assert "IFD 0.70" in flat and "stale: the text changed since it was scored" in flat


async def test_o_orders_the_list_most_suspicious_first_and_back(ws_path: Path) -> None:
    app = ReviewApp(ws_path, actor="tester")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert listed(app) == [1, 2, 3, 4, 5, 6, 7, 8]
        await pilot.press("o")
        await pilot.pause()
        assert listed(app) == [4, 6, 7, 2, 1, 3, 5, 8]  # by IFD, then the unscored in id order
        assert app.main.current_id() == 4
        await pilot.press("space")  # next goes on in the list's order
        await pilot.pause()
        assert app.main.current_id() == 6
        await pilot.press("a")  # a decision keeps the order
        await pilot.pause()
        assert listed(app)[:4] == [4, 6, 7, 2]
        await pilot.press("f", *"status=pending", "enter")  # a filter keeps the order too
        await pilot.pause()
        assert listed(app) == [4, 7, 2, 1, 5, 8]
        await pilot.press("o")
        await pilot.pause()
        assert listed(app) == [1, 2, 4, 5, 7, 8]
