"""`curator show` prints every turn as text a person reads: tool calls with their name and
arguments (never `None`), a weight 0 turn marked as not trained."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from tui_helpers import ROWS, make_workspace

from curator.cli import cli


def test_show_prints_tool_calls_and_weight_0(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    weighted = {"messages": [{"role": "user", "content": "Hi"},
                             {"role": "assistant", "content": "Old draft", "weight": 0},
                             {"role": "user", "content": "Again"},
                             {"role": "assistant", "content": "Hello!", "weight": 1}]}
    path = make_workspace(tmp_path, rows=[*ROWS, weighted], labels=(), cluster=False)
    r = CliRunner().invoke(cli, ["show", "5", "-w", str(path)])
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert "None" not in r.stdout
    i = lines.index("[assistant]")  # the tool-call turn: no text of its own
    assert lines[i + 1] == '  tool call get_weather({"city": "Paris"})  id call_1'
    assert lines[i + 2] == '[tool] (result of call_1) {"temp": 21}'
    r = CliRunner().invoke(cli, ["show", "9", "-w", str(path)])
    assert "[assistant] (weight 0: not trained) Old draft" in r.stdout.splitlines()
    assert "[assistant] Hello!" in r.stdout.splitlines()


def test_show_makes_control_characters_in_tool_calls_visible(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    hostile = {"messages": [
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "tool_calls": [{"id": "c\x1b]0;T\x07", "type": "function", "function": {
            "name": "get_weather", "arguments": '{"city": "\x1b[2JParis\x1b]52;c;eA==\x07"}'}}]},
        {"role": "tool", "tool_call_id": "c\x1b]0;T\x07", "content": "21"},
        {"role": "assistant", "content": "21 degrees"}]}
    path = make_workspace(tmp_path, rows=[*ROWS, hostile], labels=(), cluster=False)
    r = CliRunner().invoke(cli, ["show", "9", "-w", str(path)])
    assert r.exit_code == 0, r.output
    assert "get_weather" in r.stdout
    assert "\x1b" not in r.stdout and "\x07" not in r.stdout
