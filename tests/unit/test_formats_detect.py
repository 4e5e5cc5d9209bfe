"""Row and file format detection."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from curator.formats import FORMATS, detect_file_format, detect_format
from curator.formats.detect import candidates, classify, row_detection_issue
from curator.io import read_rows
from curator.validate import engine
from curator.validate.context import Ctx
from curator.validate.profiles import PROFILES, get_profile
from curator.validate.rows import CONVERTIBLE, MODEL_FORMATS, check_row

CHAT = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]

#: (row, what `classify` says): the one table of detection. Validate, import, stats and convert
#: all ask `classify`, so each line here holds for all of them.
ROWS: list[tuple[dict[str, Any], str]] = [
    ({"messages": [{"role": "user", "content": "hi"}]}, "openai-chat"),
    ({"messages": CHAT, "tools": []}, "openai-chat"),
    ({"messages": []}, "openai-chat"),
    ({"messages": "not a list"}, "openai-chat"),
    ({"messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]}, "openai-chat"),
    ({"prompt": "p", "completion": "c"}, "prompt-completion"),
    ({"prompt": [{"role": "user", "content": "p"}],
      "completion": [{"role": "assistant", "content": "c"}]},
     "trl-conversational-prompt-completion"),
    ({"prompt": "p", "completion": [{"role": "assistant", "content": "c"}]},
     "trl-conversational-prompt-completion"),
    ({"text": "<|im_start|>user\nhi"}, "trl-text"),
    ({"instruction": "i", "input": "", "output": "o"}, "alpaca"),
    ({"instruction": "i", "output": "o", "system": "s", "history": [["a", "b"]]}, "alpaca"),
    ({"conversations": [{"from": "human", "value": "hi"}], "tools": "[]"}, "sharegpt"),
    # ShareGPT turns under a `messages` key (validate's old case, test_validate_more)
    ({"messages": [{"from": "human", "value": "hi"}]}, "sharegpt"),
    ({"messages": [{"role": "user", "content": [{"type": "text", "value": "hi"}],
                    "loss_weight": 0.0}]}, "lf-v1-messages"),
    ({"messages": [{"role": "user", "content": "hi", "loss_weight": 1.0}]}, "lf-v1-messages"),
    ({"messages": [*CHAT, {"role": "user", "content": "x", "loss_weight": 0.0}]}, "lf-v1-messages"),
    ({"input": {"messages": []}, "preferred_output": [], "non_preferred_output": []},
     "openai-preference"),
    ({"input": {"messages": []}, "preferred_completion": [], "non_preferred_completion": []},
     "openai-preference"),
    ({"prompt": "p", "chosen": "a", "rejected": "b"}, "trl-preference"),
    ({"chosen": [], "rejected": []}, "trl-preference"),
    ({"conversations": [], "chosen": {"from": "gpt", "value": "a"},
      "rejected": {"from": "gpt", "value": "b"}}, "sharegpt-preference"),
    ({"question": "q", "answer": "a"}, "unknown"),
    ({}, "unknown"),
    ({"messages": [], "prompt": "p", "completion": "c"}, "ambiguous"),
    ({"messages": [], "instruction": "i", "output": "o"}, "ambiguous"),
    ({"prompt": "p", "completion": "c", "chosen": "a", "rejected": "b"}, "ambiguous"),
    # (a) `prompt` or `completion` alone: prompt/completion with a key missing, which the checks
    # name (pc.completion_missing), rather than "no known format"
    ({"prompt": "p"}, "prompt-completion"),
    ({"completion": "c"}, "prompt-completion"),
    ({"completion": [{"role": "assistant", "content": "c"}]}, "trl-conversational-prompt-completion"),
    # (b) prompt and completion in another case: prompt/completion (pc.key_case says so)
    ({"Prompt": "p", "COMPLETION": "c"}, "prompt-completion"),
    ({"Prompt": "p", "completion": "c"}, "prompt-completion"),
    # (c) `text` counts only when nothing else matched
    ({"text": "t", "label": 1}, "trl-text"),
    ({"text": 5}, "trl-text"),
    ({"messages": CHAT, "text": "t"}, "openai-chat"),
    ({"prompt": "p", "completion": "c", "text": "t"}, "prompt-completion"),
    ({"instruction": "i", "output": "o", "text": "t"}, "alpaca"),
    # (d) legacy OpenAI preference: either legacy key is enough
    ({"input": {"messages": []}, "preferred_completion": []}, "openai-preference"),
    ({"input": {"messages": []}, "non_preferred_completion": []}, "openai-preference"),
    ({"input": {"messages": []}, "preferred_output": []}, "openai-preference"),
    # (e) `messages` with chosen/rejected is axolotl's DPO layout
    ({"messages": CHAT, "chosen": "a", "rejected": "b"}, "trl-preference"),
    # (f) the one-key `messages` fast path answers as the general walk does
    ({"messages": [{"role": "user", "content": "hi", "name": "x"}]}, "openai-chat"),
    ({"messages": [{"role": "user", "content": "hi"}, {"from": "gpt", "value": "x"}]}, "openai-chat"),
]


@pytest.mark.parametrize(("row", "expected"), ROWS)
def test_classify(row: dict[str, Any], expected: str) -> None:
    assert classify(row) == expected


@pytest.mark.parametrize(("row", "expected"), ROWS)
def test_detect_format_and_candidates_are_views_of_classify(row: dict[str, Any], expected: str) -> None:
    named = expected not in ("unknown", "ambiguous")
    assert detect_format(row) == (expected if named else None)
    found = candidates(row)
    assert (found == [expected]) if named else (len(found) != 1)
    assert (row_detection_issue(row) is None) == named


@pytest.mark.parametrize(("row", "expected"), ROWS)
def test_validate_reports_the_format_classify_names(row: dict[str, Any], expected: str) -> None:
    # validate's rules run on the format the one detector names; unknown and ambiguous rows get
    # the matching code
    ctx = Ctx(get_profile("trl"), False)
    assert check_row(row, ctx) == expected
    codes = {i.code for i in ctx.issues}
    assert ("format.undetected" in codes) == (expected == "unknown")
    assert ("format.ambiguous" in codes) == (expected == "ambiguous")


def test_validate_speaks_the_detector_vocabulary() -> None:
    # one vocabulary: every name validate knows is one of curator.formats' names
    assert set(MODEL_FORMATS) <= set(FORMATS)
    assert CONVERTIBLE.issubset(FORMATS)
    for profile in PROFILES.values():
        assert profile.formats <= set(FORMATS), profile.name


def test_a_passed_format_is_not_detected_again(tmp_path: Path) -> None:
    # RowChecker.check(fmt=...) runs the rules of the format it is told: each row is detected once
    checker = engine.RowChecker(engine.Options("openai", count_tokens=False))
    row = {"prompt": "p", "completion": "c"}
    fmt, issues, *_ = checker.check(row)
    assert fmt == "prompt-completion" and issues == []
    told, told_issues, *_ = checker.check(row, fmt="alpaca")
    assert told == "alpaca"
    assert "format.needs_conversion" in {i.code for i in told_issues}


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
