"""`curator review` from the command line, and the layering rule: only curator.tui imports
textual, and the CLI imports it only inside the review command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from tui_helpers import make_workspace

from curator.cli import cli
from curator.cli.review import workspace_for

ROOT = Path(__file__).resolve().parents[2]


def test_core_and_cli_do_not_import_textual() -> None:
    code = ("import sys, curator.cli, curator.workspace, curator.workspace.prepare, curator.cli.review; "
            "print('textual' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True)
    assert out.stdout.strip() == "False"


def test_review_refuses_without_a_terminal(tmp_path: Path) -> None:
    data = tmp_path / "d.jsonl"
    data.write_text('{"messages": [{"role": "user", "content": "q"}, '
                    '{"role": "assistant", "content": "a"}]}\n')
    result = CliRunner().invoke(cli, ["review", str(data)])
    assert result.exit_code == 2
    assert "interactive" in result.output
    assert not workspace_for(data).exists()  # nothing imported when the app cannot start


def test_review_missing_workspace_and_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import curator.cli.review as review

    monkeypatch.setattr(review, "_interactive", lambda: True)
    result = CliRunner().invoke(cli, ["review", str(tmp_path / "none.db")])
    assert result.exit_code == 2 and "no workspace at" in result.output
    result = CliRunner().invoke(cli, ["review", str(tmp_path / "none.jsonl")])
    assert result.exit_code == 2 and "no such file" in result.output


def test_review_bad_keymap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import curator.cli.review as review

    monkeypatch.setattr(review, "_interactive", lambda: True)
    monkeypatch.chdir(tmp_path)
    ws = make_workspace(tmp_path)
    keys = tmp_path / "k.yaml"
    keys.write_text("accept: [1, 2]\n")
    result = CliRunner().invoke(cli, ["review", str(ws), "--keymap", str(keys)])
    assert result.exit_code == 2 and "keys for 'accept'" in result.output


def test_review_refuses_another_target_than_the_workspaces(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import curator.cli.review as review

    monkeypatch.setattr(review, "_interactive", lambda: True)
    data = tmp_path / "d.jsonl"
    data.write_text('{"messages": [{"role": "user", "content": "hi"}, '
                    '{"role": "assistant", "content": "hello"}]}\n', encoding="utf-8")
    ws = tmp_path / "w.db"
    assert CliRunner().invoke(cli, ["import", str(data), "-w", str(ws)]).exit_code == 0
    result = CliRunner().invoke(cli, ["review", str(ws), "--target", "azure"])
    assert result.exit_code == 2
    assert "prepared for target openai" in result.output and "--target azure" in result.output


def test_review_help_has_an_example() -> None:
    result = CliRunner().invoke(cli, ["review", "--help"])
    assert result.exit_code == 0
    assert "curator review sample_data/chat_clean.jsonl" in result.output


def test_reopening_a_file_skips_an_unchanged_import(tmp_path: Path) -> None:
    from curator.cli.review import already_imported
    from curator.workspace import Workspace
    from curator.workspace.importer import import_files
    from curator.workspace.prepare import Preparer

    data = tmp_path / "d.jsonl"
    data.write_text('{"messages": [{"role": "user", "content": "q"}, '
                    '{"role": "assistant", "content": "a"}]}\n')
    ws_path = workspace_for(data)
    assert not already_imported(ws_path, data)
    with Workspace.open(ws_path, create=True) as ws:
        import_files(ws, [data], Preparer("openai", count_tokens=False))
    assert already_imported(ws_path, data)
    with data.open("a") as fh:  # the file grew: import again (only the new rows are added)
        fh.write('{"messages": [{"role": "user", "content": "q2"}, '
                 '{"role": "assistant", "content": "a2"}]}\n')
    assert not already_imported(ws_path, data)
