"""Issue 12's text rules on answers: stub answers, answers that look cut off, the prompt repeated.

Each case goes through the full rules (check_row) and through validate_file, whose quick path
for clean chat rows must send such a row to the full rules rather than pass it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from curator.validate.context import Ctx
from curator.validate.engine import validate_file
from curator.validate.profiles import get_profile
from curator.validate.quality import stub_answer, truncated_answer
from curator.validate.rows import check_row

LONG = ("Photosynthesis turns light into chemical energy. Plants take in carbon dioxide and "
        "water, and with the energy of sunlight they make glucose and release oxygen.")


def _row(answer: str, prompt: str = "Explain photosynthesis to a ten-year-old.") -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": prompt},
                         {"role": "assistant", "content": answer}]}


def _issues(ex: dict[str, Any]) -> dict[str, str]:
    ctx = Ctx(get_profile("openai"), False)
    check_row(ex, ctx)
    return {i.code: i.message for i in ctx.issues}


def _file_codes(tmp_path: Path, rows: list[dict[str, Any]]) -> list[set[str]]:
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    report = validate_file(path, "openai")
    out: list[set[str]] = [set() for _ in rows]
    for issue in report.issues:
        if issue.line is not None:
            out[issue.line - 1].add(issue.code)
    return out


STUBS = ["TODO", "todo", "todo: write the answer", "TODO - fill in later", "FIXME", "Lorem ipsum",
         "lorem ipsum dolor sit amet, consectetur.", "<answer>", "<ANSWER HERE>", "{{answer}}",
         "{response}", "[insert answer]", "[Insert Answer Here]", "[Your answer]", "(answer)",
         "...", "…", "?", "-", "N/A", "n/a", "N.A.", "TBD", "tbd.", "xxx", "PLACEHOLDER",
         "Answer goes here", "Your answer here.", "To be written.", "(to be completed)",
         "Coming soon", "<insert response>", "Answer: TODO", "  Answer  "]


@pytest.mark.parametrize("text", STUBS)
def test_stub_answers_are_reported_case_insensitively(text: str) -> None:
    issues = _issues(_row(text))
    assert "quality.placeholder_answer" in issues
    assert repr(text.strip()) in issues["quality.placeholder_answer"]  # the reviewer sees it


@pytest.mark.parametrize("text", ["None", "42", "Paris", "(B)", "[1, 2, 3]", "Yes.", "<br>",
                                  "No answer is needed: the statement is true.", "N/A means not applicable.",
                                  "x = 5"])
def test_real_short_answers_are_not_stubs(text: str) -> None:
    assert stub_answer(text) is None
    assert "quality.placeholder_answer" not in _issues(_row(text))


def test_na_answer_gets_no_leave_the_input_empty_hint() -> None:
    ctx = Ctx(get_profile("openai"), False)
    check_row(_row("N/A"), ctx)
    codes = {i.code: i.hint for i in ctx.issues}
    assert "quality.placeholder_input" not in codes
    assert "leave the input empty" not in (codes["quality.placeholder_answer"] or "")
    # an input standing for "no input" keeps its own code and hint
    assert "quality.placeholder_input" in _issues(_row(LONG, prompt="N/A"))


TRUNCATED = [
    (LONG + " It also needs", "no end"),  # not a dangling word: an unfinished sentence
    ("Plants make their food from sunlight. They take carbon dioxide from the air and", "'and'"),
    ("Here is the function:\n```python\ndef add(a, b):\n    return a +", "```"),
    ("The three steps are as follows, in the order a gardener would use them:", "colon"),
    ("Several factors matter here (the light, the water, and the", "bracket"),
    ("Several factors matter here: the light, the water, and the", "'the'"),
    ("She buys 3 packs of 12 pens.\nIn all she has 3 * 12", "calculation"),
    ("Weng earns 12/60 = $0.2 per minute.\nWorking 50 minutes, she earned 0.2 x 50 =", "calculation"),
    ("The capital of France is Paris, a city of about two million people,", "comma"),
    (LONG + "\nPlants", "first word"),
    ("def is_even(n):\n    for i in range(n):\n        if i in evens", "code line"),
]


@pytest.mark.parametrize(("text", "cue"), TRUNCATED)
def test_cut_off_answers_are_reported_with_the_cue(text: str, cue: str) -> None:
    issues = _issues(_row(text))
    assert "quality.truncated_answer" in issues
    assert cue in issues["quality.truncated_answer"]


COMPLETE = [
    LONG, "Paris", "42", "Yes", "It is blue", "The answer is 7", "I think so",
    "Weng earns 12/60 = $0.2 per minute.\nWorking 50 minutes, she earned 0.2 x 50 = $10",
    "So the area left is 80 - 16 = 64 square meters\nThat leaves 64 square meters of carpet",
    "Ingredients:\n- 2 eggs\n- 1 cup of flour\n- a pinch of salt",
    "1. Java\n2. Python\n3. C++",
    "```python\nprint('hi')\n```",
    "SELECT * FROM users WHERE status = 'active';",
    "Thank you for your letter. It meant a great deal to all of us.\n\nYours sincerely, Jane Austen",
    "More on this in the official docs at https://docs.python.org/3/",
    "The trains run every ten minutes, so you never wait long.\nTickets cost 2.50 each",
    "The outline of the essay:\nI. Introduction\nII. Body\nIII. Conclusion",
    "So he makes 400*52=$20,800 per year more",
    "Call the National Domestic Violence Hotline on 1-800-799-7233",
    "#winter #cozy #staysnug",
]


@pytest.mark.parametrize("text", COMPLETE)
def test_finished_answers_are_not_called_cut_off(text: str) -> None:
    assert truncated_answer(text) is None
    assert "quality.truncated_answer" not in _issues(_row(text))


def test_prompt_repeated_up_to_case_and_punctuation() -> None:
    prompt = "Name three primary colours."
    issues = _issues(_row("name three primary colours", prompt=prompt))
    assert "quality.response_equals_prompt" in issues
    assert "ignoring case" in issues["quality.response_equals_prompt"]
    assert "quality.response_equals_prompt" not in _issues(_row("Red, yellow and blue.", prompt))


def test_validate_file_reports_the_answer_rules_on_plain_chat_rows(tmp_path: Path) -> None:
    # plain chat rows take the quick path when clean: these must not be passed as clean
    rows = [_row(LONG), _row("todo"), _row("Plants take carbon dioxide from the air and"),
            _row("explain Photosynthesis to a ten year old!")]
    found = _file_codes(tmp_path, rows)
    assert found[0] == set()
    assert "quality.placeholder_answer" in found[1]
    assert "quality.truncated_answer" in found[2]
    assert "quality.response_equals_prompt" in found[3]


def test_prompt_completion_answers_are_checked_too(tmp_path: Path) -> None:
    rows = [{"prompt": "Explain photosynthesis.", "completion": " [insert answer]"},
            {"prompt": "Explain photosynthesis.", "completion": " Plants take in water and light, and then they use the"}]
    found = _file_codes(tmp_path, rows)
    assert "quality.placeholder_answer" in found[0]
    assert "quality.truncated_answer" in found[1]
