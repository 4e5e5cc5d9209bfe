"""`curator convert` end to end through click, on files written in the test."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from curator.cli import cli


def _write(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows),
                    encoding="utf-8")
    return path


def _read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_alpaca_to_chat_with_rejects_and_json(tmp_path: Path) -> None:
    bad_line = '{"instruction": "x", "output": "y", "history": "nope"}'
    src = _write(tmp_path / "in.jsonl", [
        {"instruction": "Add", "input": "2 and 2", "output": "4"},
        bad_line,
        "{not json",
        {"instruction": "Hi", "input": "noinput", "output": "Hello"},
    ])
    out, rej = tmp_path / "out.jsonl", tmp_path / "rej.jsonl"
    result = CliRunner().invoke(cli, ["convert", str(src), "--to", "chat", "-o", str(out),
                                      "--rejects", str(rej), "--json"])
    assert result.exit_code == 1, result.output
    assert _read(out) == [
        {"messages": [{"role": "user", "content": "Add\n\n2 and 2"},
                      {"role": "assistant", "content": "4"}]},
        {"messages": [{"role": "user", "content": "Hi"},
                      {"role": "assistant", "content": "Hello"}]}]
    assert rej.read_text(encoding="utf-8").splitlines() == [bad_line, "{not json"]
    report = json.loads(result.stdout)
    assert (report["rows"], report["converted"], report["rejected"]) == (4, 2, 2)
    assert report["detected_format"] == "alpaca"
    assert report["counts"] == {"convert.field_invalid": 1, "json.invalid": 1,
                                "quality.placeholder_input": 1}
    errors = {(i["code"], i["line"]) for i in report["issues"] if i["severity"] == "error"}
    assert errors == {("convert.field_invalid", 2), ("json.invalid", 3)}
    assert f"{src}:2" in result.stderr and "convert.field_invalid" in result.stderr


def test_clean_sharegpt_to_chat_exits_zero_and_is_deterministic(tmp_path: Path) -> None:
    row = {"conversations": [
        {"from": "human", "value": "time?"},
        {"from": "function_call", "value": '{"name": "now", "arguments": {}}'},
        {"from": "observation", "value": "12:00"},
        {"from": "gpt", "value": "Noon."}]}
    src = _write(tmp_path / "in.jsonl", [row, row])
    outs = []
    for name in ("a.jsonl", "b.jsonl"):
        result = CliRunner().invoke(cli, ["convert", str(src), "--to", "chat", "-o",
                                          str(tmp_path / name)])
        assert result.exit_code == 0, result.output
        outs.append((tmp_path / name).read_bytes())
    assert outs[0] == outs[1]
    ids = [m["tool_calls"][0]["id"] for r in _read(tmp_path / "a.jsonl") for m in r["messages"]
           if "tool_calls" in m]
    assert ids == ["call_1_0", "call_2_0"]


def test_mixed_file_converts_each_row_and_warns(tmp_path: Path) -> None:
    src = _write(tmp_path / "in.jsonl", [
        {"prompt": "a", "completion": "b"}, {"prompt": "c", "completion": "d"},
        {"instruction": "e", "output": "f"}])
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(cli, ["convert", str(src), "--to", "chat", "-o", str(out),
                                      "--json"])
    assert result.exit_code == 0, result.output
    assert len(_read(out)) == 3
    report = json.loads(result.stdout)
    assert report["format_counts"] == {"prompt-completion": 2, "alpaca": 1}
    mixed = [i for i in report["issues"] if i["code"] == "format.mixed_in_file"]
    assert [(i["line"], i["severity"]) for i in mixed] == [(3, "warning")]


def test_prompt_completion_file_conventions_are_stripped_and_reported(tmp_path: Path) -> None:
    src = _write(tmp_path / "in.jsonl", [
        {"prompt": "2+2\n\n###\n\n", "completion": " 4 END"},
        {"prompt": "3+3\n\n###\n\n", "completion": " 6 END"}])
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(cli, ["convert", str(src), "--to", "chat", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert _read(out)[1] == {"messages": [{"role": "user", "content": "3+3"},
                                          {"role": "assistant", "content": "6"}]}
    assert "convert.heuristic" in result.stderr


def test_from_overrides_detection_and_preference_targets(tmp_path: Path) -> None:
    src = _write(tmp_path / "in.jsonl", [
        {"conversations": [{"from": "human", "value": "q"}],
         "chosen": {"from": "gpt", "value": "good"}, "rejected": {"from": "gpt", "value": "bad"}}])
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(cli, ["convert", str(src), "--to", "openai-preference", "-o",
                                      str(out)])
    assert result.exit_code == 0, result.output
    assert _read(out) == [{"input": {"messages": [{"role": "user", "content": "q"}]},
                           "preferred_output": [{"role": "assistant", "content": "good"}],
                           "non_preferred_output": [{"role": "assistant", "content": "bad"}]}]
    forced = CliRunner().invoke(cli, ["convert", str(src), "--to", "chat", "--from", "alpaca",
                                      "-o", str(out)])
    assert forced.exit_code == 1
    assert "convert.field_invalid" in forced.stderr


def test_usage_errors_exit_two(tmp_path: Path) -> None:
    src = _write(tmp_path / "in.jsonl", [{"prompt": "a", "completion": "b"}])
    runner = CliRunner()
    assert runner.invoke(cli, ["convert", str(tmp_path / "missing.jsonl"), "--to", "chat",
                               "-o", str(tmp_path / "o.jsonl")]).exit_code == 2
    assert runner.invoke(cli, ["convert", str(src), "--to", "nonsense",
                               "-o", str(tmp_path / "o.jsonl")]).exit_code == 2
    same = runner.invoke(cli, ["convert", str(src), "--to", "chat", "-o", str(src)])
    assert same.exit_code == 2
    assert src.read_text(encoding="utf-8").startswith('{"prompt"')


def test_failed_run_leaves_no_partial_output(tmp_path: Path) -> None:
    src = _write(tmp_path / "in.jsonl", [{"prompt": "a", "completion": "b"}])
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = CliRunner().invoke(cli, ["convert", str(src), "--to", "chat",
                                      "-o", str(blocker / "out.jsonl")])
    assert result.exit_code == 2
    assert "error" in result.stderr
    assert set(tmp_path.iterdir()) == {src, blocker}


def test_help_has_an_example() -> None:
    result = CliRunner().invoke(cli, ["convert", "--help"])
    assert result.exit_code == 0 and "Example: curator convert" in result.output
