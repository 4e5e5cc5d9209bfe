"""The rules: agreement with the pydantic models, locations, profiles and quality checks."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from curator import schema
from curator.validate.codes import CODES, STRUCTURAL_PREFIXES
from curator.validate.context import Ctx
from curator.validate.profiles import get_profile
from curator.validate.quality import luhn_ok
from curator.validate.rows import check_row

RICH_CHAT: dict[str, Any] = {
    "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "What is in this picture?"},
                                     {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=",
                                                                         "detail": "low"}}]},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": "{\"q\": \"cat\"}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "a cat"},
        {"role": "assistant", "content": "A cat.", "weight": 1, "name": "bot_1"},
        {"role": "user", "content": "Thanks"},
        {"role": "assistant", "content": [{"type": "refusal", "refusal": "No more."}], "weight": 0},
    ],
    "tools": [{"type": "function", "function": {"name": "lookup", "description": "search",
                                                "parameters": {"type": "object"}, "strict": False}}],
    "parallel_tool_calls": True,
}
PC = {"prompt": "Say hi ->", "completion": " hi END"}
PREF = {"input": {"messages": [{"role": "user", "content": "Pick a colour"}]},
        "preferred_output": [{"role": "assistant", "content": "Blue."}],
        "non_preferred_output": [{"role": "assistant", "content": "No."}]}
REPLACEMENTS: list[Any] = [None, 5, True, 1.0, "", "x" * 70, [], {}, ["a"], {"zzz": 1}, "human", "developer",
                           "function", "tool", "assistant", "user", "text", "image_url", "refusal", "input_audio",
                           "https://example.com/a.png", "ftp://x", "high", "medium", 0, 2, "call_1", "call_9",
                           "bad name!", "{\"ok\": 1}", "[1]"]


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*path, i))


def _mutants(base: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for path in _paths(base):
        if not path:
            continue
        for new in [*REPLACEMENTS, "__delete__", "__extra__"]:
            ex = copy.deepcopy(base)
            parent = ex
            for step in path[:-1]:
                parent = parent[step]
            last = path[-1]
            if new == "__delete__":
                del parent[last]
            elif new == "__extra__":
                if not isinstance(parent[last], dict):
                    continue
                parent[last]["zzz"] = 1
            else:
                parent[last] = new
            yield ex


def _structural(ex: dict[str, Any], target: str = "openai") -> tuple[bool, list[str]]:
    ctx = Ctx(get_profile(target))
    check_row(ex, ctx, schema_check=False)  # the rules alone, without the pydantic safety net
    codes = [i.code for i in ctx.issues]
    return any(c.startswith(STRUCTURAL_PREFIXES) for c in codes), codes


def _pydantic_ok(model: type[BaseModel], ex: dict[str, Any]) -> bool:
    try:
        model.model_validate(ex)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize(("base", "model"), [(RICH_CHAT, schema.ChatExample), (PC, schema.PromptCompletionExample),
                                             (PREF, schema.PreferenceExample)])
def test_rules_agree_with_the_pydantic_model(base: dict[str, Any], model: type[BaseModel]) -> None:
    assert _structural(base) == (False, []) and _pydantic_ok(model, base)
    rejected_by_pydantic = 0
    for ex in _mutants(base):
        structural, codes = _structural(ex)
        ok = _pydantic_ok(model, ex)
        rejected_by_pydantic += not ok
        # no structural finding => pydantic accepts; pydantic rejects => a structural finding
        assert structural or ok, (json.dumps(ex), codes)
    assert rejected_by_pydantic > 15


def test_every_emitted_code_is_in_the_catalogue() -> None:
    seen: set[str] = set()
    for base in (RICH_CHAT, PC, PREF):
        for ex in _mutants(base):
            seen.update(_structural(ex)[1])
    assert seen <= set(CODES)
    assert len(seen) > 30


def test_role_invalid_names_the_message_and_suggests_a_role() -> None:
    ctx = Ctx(get_profile("openai"))
    check_row({"messages": [{"role": "user", "content": "q"}, {"role": "gpt", "content": "a"}]}, ctx)
    [issue] = [i for i in ctx.issues if i.code == "chat.role_invalid"]
    assert issue.message_index == 1 and issue.path == "/messages/1/role" and issue.severity == "error"
    assert "Did you mean 'assistant'?" in issue.message


def _codes(ex: dict[str, Any], target: str = "openai", strict: bool = False) -> dict[str, str]:
    ctx = Ctx(get_profile(target), strict)
    check_row(ex, ctx)
    return {i.code: i.severity for i in ctx.issues}


def test_profiles_change_severities() -> None:
    double = {"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"},
                           {"role": "assistant", "content": "c"}]}
    assert _codes(double)["chat.consecutive_same_role"] == "warning"
    assert _codes(double, "together")["chat.consecutive_same_role"] == "error"
    dict_args = copy.deepcopy(RICH_CHAT)
    dict_args["messages"][2]["tool_calls"][0]["function"]["arguments"] = {"q": "cat"}
    assert _codes(dict_args)["toolcall.arguments_not_string"] == "error"
    assert "toolcall.arguments_not_string" not in _codes(dict_args, "trl")
    extra = {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}], "id": 3}
    assert _codes(extra)["example.unknown_key"] == "warning"
    assert _codes(extra, strict=True)["example.unknown_key"] == "error"


def test_conversation_rules() -> None:
    assert _codes({"messages": [{"role": "user", "content": "a"}]})["chat.no_assistant_message"] == "error"
    no_train = {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b", "weight": 0}]}
    assert "chat.no_trainable_assistant" in _codes(no_train)
    tail = {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
                         {"role": "user", "content": "c"}]}
    assert _codes(tail)["chat.last_not_assistant"] == "warning"
    late_system = {"messages": [{"role": "user", "content": "a"}, {"role": "system", "content": "s"},
                                {"role": "assistant", "content": "b"}]}
    assert "chat.system_not_first" in _codes(late_system)


def test_preference_and_prompt_completion_rules() -> None:
    legacy = {"input": PREF["input"], "preferred_completion": PREF["preferred_output"],
              "non_preferred_completion": PREF["non_preferred_output"]}
    assert "pref.legacy_field_name" in _codes(legacy)
    ends = copy.deepcopy(PREF)
    ends["input"]["messages"].append({"role": "assistant", "content": "x"})
    assert "pref.input_ends_with_assistant" in _codes(ends)
    same = copy.deepcopy(PREF)
    same["non_preferred_output"] = same["preferred_output"]
    assert "pref.identical_outputs" in _codes(same)
    assert "pc.completion_empty" in _codes({"prompt": "a", "completion": " "})
    assert "pc.key_case" in _codes({"Prompt": "a", "completion": "b"})
    assert "pc.extra_keys" in _codes({"prompt": "a", "completion": "b", "id": 1})


def _say(text: str, role: str = "assistant") -> dict[str, str]:
    msgs = [{"role": "user", "content": "question"}, {"role": "assistant", "content": "answer"}]
    msgs[0 if role == "user" else 1]["content"] = text
    return _codes({"messages": msgs})


@pytest.mark.parametrize(("text", "code"), [
    ("write to ana.lopez@example.org", "quality.pii.email"),
    ("call +44 20 7946 0958 today", "quality.pii.phone"),
    ("card 4539 1488 0343 6467 ok", "quality.pii.credit_card"),
    ("key AKIAIOSFODNN7EXAMPLE here", "quality.pii.secret"),
    ("token ghp_" + "a1" * 18, "quality.pii.secret"),
    ("-----BEGIN RSA PRIVATE KEY-----\nMIIE", "quality.pii.secret"),
    ("Hello {{ customer_name }}!", "quality.placeholder"),
    ("Sure.<|eot_id|>", "quality.template_artifacts"),
    ("### Response:\nfine", "quality.template_artifacts"),
    ("As an AI language model, I can't.", "quality.refusal"),
    ("caf\u00c3\u00a9 au lait", "quality.mojibake"),
    ("zero\u200bwidth", "quality.zero_width"),
    ("evil \u202e txt", "quality.bidi_control"),
    ("bell \x07 here", "quality.control_chars"),
    ("lost \ufffd char", "quality.replacement_char"),
    ("   ", "quality.empty_or_whitespace"),
])
def test_quality_checks_fire(text: str, code: str) -> None:
    assert code in _say(text)


def test_quality_checks_stay_quiet_on_ordinary_text() -> None:
    for text in ["The meeting is at 10:30 in room 204.", "Café in Zürich costs 4.50 CHF — 東京 too.",
                 "Order 12345 shipped; call us on weekdays.", "Use {x} for format strings.",
                 "Invoice 4539 1488 0343 6468 is not a card (fails Luhn).",
                 "So he won 5000+70+160-400=$4830 in total."]:
        assert not [c for c in _say(text) if c.startswith("quality.")], text
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")


def test_trained_whitespace_answer_is_an_error_but_a_prompt_is_a_warning() -> None:
    assert _say(" \n ", "assistant")["quality.empty_or_whitespace"] == "error"
    assert _say(" \n ", "user")["quality.empty_or_whitespace"] == "warning"


def test_schema_invalid_carries_pydantics_message() -> None:
    # The net behind the rules: whatever pydantic rejects and no rule named becomes schema.invalid.
    from curator.validate.rows import schema_invalid

    ctx = Ctx(get_profile("openai"))
    schema_invalid({"messages": [{"role": "user", "content": 3}]}, schema.ChatExample, ctx)
    [issue] = ctx.issues
    assert issue.code == "schema.invalid" and issue.severity == "error"
    assert issue.path is not None and issue.path.startswith("/messages/0")
    ctx = Ctx(get_profile("openai"))
    schema_invalid(RICH_CHAT, schema.ChatExample, ctx)
    assert ctx.issues == []
