"""Row and file format detection."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from curator.formats import detect_file_format, detect_format
from curator.formats.detect import row_detection_issue
from curator.io import read_rows

ROWS: list[tuple[dict[str, Any], str | None]] = [
    ({"messages": [{"role": "user", "content": "hi"}]}, "openai-chat"),
    ({"prompt": "p", "completion": "c"}, "prompt-completion"),
    ({"prompt": [{"role": "user", "content": "p"}],
      "completion": [{"role": "assistant", "content": "c"}]},
     "trl-conversational-prompt-completion"),
    ({"text": "<|im_start|>user\nhi"}, "trl-text"),
    ({"instruction": "i", "input": "", "output": "o"}, "alpaca"),
    ({"instruction": "i", "output": "o", "system": "s", "history": [["a", "b"]]}, "alpaca"),
    ({"conversations": [{"from": "human", "value": "hi"}], "tools": "[]"}, "sharegpt"),
    ({"messages": [{"role": "user", "content": [{"type": "text", "value": "hi"}],
                    "loss_weight": 0.0}]}, "lf-v1-messages"),
    ({"input": {"messages": []}, "preferred_output": [], "non_preferred_output": []},
     "openai-preference"),
    ({"input": {"messages": []}, "preferred_completion": [], "non_preferred_completion": []},
     "openai-preference"),
    ({"prompt": "p", "chosen": "a", "rejected": "b"}, "trl-preference"),
    ({"chosen": [], "rejected": []}, "trl-preference"),
    ({"conversations": [], "chosen": {"from": "gpt", "value": "a"},
      "rejected": {"from": "gpt", "value": "b"}}, "sharegpt-preference"),
    ({"question": "q", "answer": "a"}, None),
    ({"messages": [], "prompt": "p", "completion": "c"}, None),
]


@pytest.mark.parametrize(("row", "expected"), ROWS)
def test_detect_format(row: dict[str, Any], expected: str | None) -> None:
    assert detect_format(row) == expected


def test_undetected_and_ambiguous_issues_name_the_keys() -> None:
    undetected = row_detection_issue({"question": "q"})
    assert undetected is not None and undetected.code == "format.undetected"
    assert "question" in undetected.message
    ambiguous = row_detection_issue({"messages": [], "instruction": "i", "output": "o"})
    assert ambiguous is not None and ambiguous.code == "format.ambiguous"
    assert "openai-chat" in ambiguous.message and "alpaca" in ambiguous.message
    assert row_detection_issue({"prompt": "p", "completion": "c"}) is None


def _jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_file_detection_majority_and_mixed_rows(tmp_path: Path) -> None:
    alpaca = {"instruction": "i", "output": "o"}
    pc = {"prompt": "p", "completion": "c"}
    path = _jsonl(tmp_path / "mixed.jsonl", [alpaca, alpaca, pc, alpaca, {"foo": 1}])
    result = detect_file_format(read_rows(path))
    assert result.format == "alpaca"
    assert result.counts == {"alpaca": 3, "prompt-completion": 1}
    by_code = {(i.code, i.line) for i in result.issues}
    assert by_code == {("format.mixed_in_file", 3), ("format.undetected", 5)}
    assert all(i.file == str(path) for i in result.issues)


def test_file_detection_uniform_file_has_no_issues(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "chat.jsonl",
                  [{"messages": [{"role": "user", "content": str(i)}]} for i in range(4)])
    result = detect_file_format(read_rows(path))
    assert (result.format, result.counts, result.issues) == ("openai-chat", {"openai-chat": 4}, [])
