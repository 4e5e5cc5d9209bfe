"""The review app judges records by the workspace's target: another one is refused, as by
`curator import` and `curator review --target` (issue 14: one rule in one place)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from curator.cli import cli
from curator.tui.app import ReviewApp
from curator.workspace import Workspace
from curator.workspace.settings import SettingsConflict, workspace_settings


def _prepared(tmp_path: Path, target: str) -> Path:
    data = tmp_path / "d.jsonl"
    data.write_text('{"messages": [{"role": "user", "content": "hi"}, '
                    '{"role": "assistant", "content": "hello"}]}\n', encoding="utf-8")
    ws = tmp_path / "w.db"
    result = CliRunner().invoke(cli, ["import", str(data), "-w", str(ws), "--target", target])
    assert result.exit_code == 0, result.output
    return ws


def test_review_app_refuses_another_target_than_the_workspaces(tmp_path: Path) -> None:
    ws = _prepared(tmp_path, "openai")
    with pytest.raises(SettingsConflict, match=r"prepared for target openai; --target azure "
                                              r"would judge its records by two rules"):
        ReviewApp(ws, target="azure", actor="tester")
    with Workspace.open(ws) as w:  # nothing was written: still the import's target
        assert workspace_settings(w).target == "openai"


def test_review_app_takes_the_workspaces_target_and_the_same_one_by_name(tmp_path: Path) -> None:
    ws = _prepared(tmp_path, "azure")
    for given in (None, "azure"):
        app = ReviewApp(ws, target=given, actor="tester")
        try:
            assert app.target == "azure" and app.preparer.target == "azure"
            assert app.limit == app.settings.require_limit()
        finally:
            app.ws.close()


def test_review_app_on_a_new_workspace_takes_the_target_given(tmp_path: Path) -> None:
    data = tmp_path / "d.jsonl"
    data.write_text('{"messages": [{"role": "user", "content": "hi"}, '
                    '{"role": "assistant", "content": "hello"}]}\n', encoding="utf-8")
    app = ReviewApp(tmp_path / "new.db", target="trl", imports=[data], actor="tester")
    try:
        assert app.target == "trl"
    finally:
        app.ws.close()
