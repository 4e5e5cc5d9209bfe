"""The review app's filter with numbers beyond 64 bits and codes that do not exist: the app
shows the error and keeps the list, instead of dying with a traceback (issue 11, items 11, 17).
The rule lives in the filter language (curator.workspace), shared with the CLI's --where."""

from __future__ import annotations

from pathlib import Path

import pytest

from curator.tui.app import ReviewApp
from curator.workspace import Workspace

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

BIG = "99999999999999999999999"


@pytest.mark.parametrize("typed, expect", [
    (f"tokens>{BIG}", "out of range"),
    (f"id<={BIG}", "out of range"),
    (f"cluster={BIG}", "out of range"),
    ("issue=chat.empty_content", "did you mean chat.content_empty"),
    ("format=sharegtp", "did you mean sharegpt"),
    # names the workspace does not have: refused as the CLI's --where refuses them
    ("label=nosuch", "no label 'nosuch' in this workspace"),
    ("split!=trian", "no split 'trian' in this workspace"),
])
async def test_filter_errors_are_shown_and_the_list_is_kept(ws_path: Path, typed: str,
                                                           expect: str) -> None:
    with Workspace.open(ws_path) as ws:
        before = ws.log(None)
    app = ReviewApp(ws_path, actor="tester")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("f", *"status=pending", "enter")
        total = app.main.window.total
        await pilot.press("f", "ctrl+a", "ctrl+k", *typed, "enter")
        await pilot.pause()
        assert app.is_running and app.return_code is None
        assert expect in app.main.message
        assert app.main.window.where == ["status=pending"] and app.main.window.total == total
        await pilot.press("f", "ctrl+a", "ctrl+k", *"tokens>=1", "enter")  # still answers
        assert app.main.window.where == ["tokens>=1"]
    with Workspace.open(ws_path) as ws:
        assert ws.log(None) == before
