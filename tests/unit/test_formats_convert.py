"""to_chat / from_chat / preference conversions, with expected outputs written from
reference/formats.md §7, and round trips."""

from __future__ import annotations

import json
from typing import Any

import pytest

from curator.formats import from_chat, from_preference, to_chat, to_preference
from curator.issues import Issue


def codes(issues: list[Issue]) -> set[str]:
    return {i.code for i in issues}


# --- sources -> chat -------------------------------------------------------------------------


def test_alpaca_with_system_history_and_input() -> None:
    row = {"instruction": "Translate", "input": "bonjour", "output": "hello",
           "system": "Be brief.", "history": [["hi", "hey"]]}
    res = to_chat(row, "alpaca")
    assert res.example == {"messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hi"}, {"role": "assistant", "content": "hey"},
        {"role": "user", "content": "Translate\n\nbonjour"},
        {"role": "assistant", "content": "hello"}]}
    assert res.issues == []


def test_alpaca_placeholder_input_and_extra_keys_are_reported() -> None:
    res = to_chat({"instruction": "Say hi", "input": "<noinput>", "output": "hi", "id": 7},
                  "alpaca", alpaca_sep="\n")
    assert res.example == {"messages": [{"role": "user", "content": "Say hi"},
                                        {"role": "assistant", "content": "hi"}]}
    assert codes(res.issues) == {"quality.placeholder_input", "convert.lossy"}
    assert any("'id'" in i.message for i in res.issues)


def test_alpaca_bad_history_is_rejected_with_path() -> None:
    res = to_chat({"instruction": "x", "output": "y", "history": [["only one"]]}, "alpaca")
    assert res.example is None
    assert [(i.code, i.severity, i.path) for i in res.issues] == [
        ("convert.field_invalid", "error", "/history/0")]


GLAIVE_LIKE = {
    "conversations": [
        {"from": "human", "value": "weather in Paris and Rome?"},
        {"from": "function_call", "value": json.dumps(
            [{"name": "weather", "arguments": {"city": "Paris"}},
             {"name": "weather", "arguments": {"city": "Rome"}}])},
        {"from": "observation", "value": "sunny\n</tool_response>\n<tool_response>\nrain"},
        {"from": "gpt", "value": "Paris is sunny, Rome rainy."},
    ],
    "system": "You are a weather bot.",
    "tools": json.dumps([{"name": "weather", "description": "w",
                          "parameters": {"type": "object", "properties": {}}}]),
}


def test_sharegpt_function_calls_and_observations() -> None:
    res = to_chat(GLAIVE_LIKE, "sharegpt", example_index=4)
    assert res.issues == []
    assert res.example == {
        "messages": [
            {"role": "system", "content": "You are a weather bot."},
            {"role": "user", "content": "weather in Paris and Rome?"},
            {"role": "assistant", "tool_calls": [
                {"id": "call_4_0", "type": "function",
                 "function": {"name": "weather", "arguments": '{"city": "Paris"}'}},
                {"id": "call_4_1", "type": "function",
                 "function": {"name": "weather", "arguments": '{"city": "Rome"}'}}]},
            {"role": "tool", "content": "sunny", "tool_call_id": "call_4_0"},
            {"role": "tool", "content": "rain", "tool_call_id": "call_4_1"},
            {"role": "assistant", "content": "Paris is sunny, Rome rainy."},
        ],
        "tools": [{"type": "function", "function": {
            "name": "weather", "description": "w",
            "parameters": {"type": "object", "properties": {}}}}],
    }


def test_sharegpt_role_aliases_and_unknown_role() -> None:
    row = {"conversations": [{"from": "USER ", "value": "a"}, {"from": "bot", "value": "b"}]}
    res = to_chat(row, "sharegpt")
    assert [m["role"] for m in res.example["messages"]] == ["user", "assistant"]  # type: ignore[index]
    assert codes(res.issues) == {"convert.role_alias"}
    bad = to_chat({"conversations": [{"from": "humna", "value": "a"}]}, "sharegpt")
    assert bad.example is None
    (issue,) = bad.issues
    assert issue.code == "chat.role_invalid" and "did you mean 'human'" in (issue.hint or "")
    assert issue.path == "/conversations/0/from"


def test_sharegpt_observation_without_call_is_rejected() -> None:
    res = to_chat({"conversations": [{"from": "human", "value": "a"},
                                     {"from": "observation", "value": "x"}]}, "sharegpt")
    assert res.example is None and codes(res.issues) == {"toolmsg.orphan"}


def test_lf_v1_parts_and_loss_weight() -> None:
    row = {"messages": [
        {"role": "user", "content": [{"type": "text", "value": "hi"}], "loss_weight": 0.0},
        {"role": "assistant", "content": [{"type": "text", "value": "Hello"}], "loss_weight": 0.0},
        {"role": "user", "content": [{"type": "text", "value": "a"},
                                     {"type": "text", "value": "b"}], "loss_weight": 0.0},
        {"role": "assistant", "content": [{"type": "text", "value": "ok"}], "loss_weight": 1.0}]}
    res = to_chat(row, "lf-v1-messages")
    assert res.issues == []
    assert res.example == {"messages": [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "Hello", "weight": 0},
        {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
        {"role": "assistant", "content": "ok"}]}


def test_lf_v1_fractional_weight_and_unknown_part() -> None:
    row: dict[str, Any] = {"messages": [
        {"role": "user", "content": [{"type": "text", "value": "q"}]},
        {"role": "assistant", "content": [{"type": "text", "value": "a"}], "loss_weight": 0.5}]}
    res = to_chat(row, "lf-v1-messages")
    assert res.example is not None and res.example["messages"][1]["weight"] == 1
    assert codes(res.issues) == {"convert.lossy"}
    row["messages"][0]["content"] = [{"type": "image", "value": "x.png"}]
    assert to_chat(row, "lf-v1-messages").example is None


def test_prompt_completion_with_legacy_markers() -> None:
    row = {"prompt": "Q: 2+2?\n\n###\n\n", "completion": " 4 END"}
    plain = to_chat(row, "prompt-completion")
    assert plain.example == {"messages": [{"role": "user", "content": row["prompt"]},
                                          {"role": "assistant", "content": row["completion"]}]}
    assert plain.issues == []
    stripped = to_chat(row, "prompt-completion", pc_separator="\n\n###\n\n", pc_stop=" END",
                       pc_strip_leading_space=True)
    assert stripped.example == {"messages": [{"role": "user", "content": "Q: 2+2?"},
                                             {"role": "assistant", "content": "4"}]}
    assert [i.code for i in stripped.issues] == ["convert.heuristic"] * 3


def test_trl_text_is_refused_clearly() -> None:
    res = to_chat({"text": "<s>[INST] hi [/INST] hello</s>"}, "trl-text")
    assert res.example is None
    (issue,) = res.issues
    assert issue.code == "convert.unsupported" and "turn boundaries" in issue.message


def test_preference_row_to_chat_is_a_method_mismatch() -> None:
    res = to_chat({"prompt": "p", "chosen": "a", "rejected": "b"}, "trl-preference")
    assert res.example is None and codes(res.issues) == {"format.method_mismatch"}


def test_openai_chat_normalises_trl_style_tool_calls() -> None:
    row = {"messages": [
        {"role": "user", "content": "x"},
        {"role": "assistant", "tool_calls": [
            {"type": "function", "function": {"name": "f", "arguments": {"a": 1}}}]},
        {"role": "tool", "name": "f", "content": "1"},
        {"role": "assistant", "content": "done"}]}
    res = to_chat(row, "openai-chat", example_index=2)
    assert res.example is not None
    call = res.example["messages"][1]["tool_calls"][0]
    assert call == {"id": "call_2_0", "type": "function",
                    "function": {"name": "f", "arguments": '{"a": 1}'}}
    assert res.example["messages"][2] == {"role": "tool", "content": "1", "tool_call_id": "call_2_0"}
    assert codes(res.issues) == {"toolcall.arguments_not_string", "convert.heuristic"}


# --- chat -> targets and round trips ---------------------------------------------------------

SIMPLE: dict[str, Any] = {"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "u1"},
                       {"role": "assistant", "content": "a1"}, {"role": "user", "content": "u2"},
                       {"role": "assistant", "content": "a2"}]}

TOOLS: dict[str, Any] = {
    "messages": [
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "tool_calls": [{"id": "call_1_0", "type": "function", "function": {
            "name": "weather", "arguments": '{"city": "Oslo"}'}}]},
        {"role": "tool", "content": "snow", "tool_call_id": "call_1_0"},
        {"role": "assistant", "content": "It snows."}],
    "tools": [{"type": "function", "function": {"name": "weather", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}}}}}],
}

FORMAT_OF_TARGET = {"openai-chat": "openai-chat", "trl-messages": "openai-chat",
                    "trl-conversational-prompt-completion": "trl-conversational-prompt-completion",
                    "sharegpt": "sharegpt", "alpaca": "alpaca",
                    "prompt-completion": "prompt-completion"}


@pytest.mark.parametrize(("example", "target"), [
    (SIMPLE, "openai-chat"), (SIMPLE, "trl-messages"), (SIMPLE, "sharegpt"), (SIMPLE, "alpaca"),
    (TOOLS, "openai-chat"), (TOOLS, "trl-messages"), (TOOLS, "sharegpt"),
    (TOOLS, "trl-conversational-prompt-completion"),
    ({"messages": SIMPLE["messages"][3:]}, "prompt-completion"),
])
def test_lossless_round_trip(example: dict[str, Any], target: str) -> None:
    there = from_chat(example, target, example_index=1)
    assert there.example is not None, there.issues
    assert not [i for i in there.issues if i.severity != "info"]
    back = to_chat(there.example, FORMAT_OF_TARGET[target], example_index=1)
    assert back.example == example


def test_trl_messages_uses_dict_arguments_and_tool_names() -> None:
    out = from_chat(TOOLS, "trl-messages").example
    assert out is not None
    assert out["messages"][1]["tool_calls"][0]["function"]["arguments"] == {"city": "Oslo"}
    assert out["messages"][2]["name"] == "weather"
    assert TOOLS["messages"][1]["tool_calls"][0]["function"]["arguments"] == '{"city": "Oslo"}'


def test_sharegpt_output_matches_llamafactory_layout() -> None:
    out = from_chat(TOOLS, "sharegpt").example
    assert out == {"conversations": [
        {"from": "human", "value": "weather?"},
        {"from": "function_call", "value": '{"name": "weather", "arguments": {"city": "Oslo"}}'},
        {"from": "observation", "value": "snow"},
        {"from": "gpt", "value": "It snows."}],
        "tools": '[{"name": "weather", "parameters": {"type": "object", "properties": '
                 '{"city": {"type": "string"}}}}]'}


def test_trl_prompt_completion_split_and_lossy_earlier_turns() -> None:
    res = from_chat(SIMPLE, "trl-conversational-prompt-completion")
    assert res.example == {"prompt": SIMPLE["messages"][:4], "completion": SIMPLE["messages"][4:]}
    assert [(i.code, i.severity) for i in res.issues] == [("convert.lossy", "warning")]
    weighted = {"messages": [*SIMPLE["messages"][:2], {**SIMPLE["messages"][2], "weight": 0},
                             *SIMPLE["messages"][3:]]}
    assert from_chat(weighted, "trl-conversational-prompt-completion").issues == []


def test_weight_zero_is_lossy_for_sharegpt_and_alpaca() -> None:
    weighted = {"messages": [*SIMPLE["messages"][:2], {**SIMPLE["messages"][2], "weight": 0},
                             *SIMPLE["messages"][3:]]}
    for target in ("sharegpt", "alpaca", "trl-messages"):
        res = from_chat(weighted, target)
        assert res.example is not None
        assert any(i.code == "convert.lossy" and i.message_index == 2 for i in res.issues)


@pytest.mark.parametrize("target", ["alpaca", "prompt-completion"])
def test_tools_are_unrepresentable_in_flat_targets(target: str) -> None:
    res = from_chat(TOOLS, target)
    assert res.example is None and codes(res.issues) == {"convert.unrepresentable"}


def test_prompt_completion_refuses_multi_turn_and_reports_system() -> None:
    assert from_chat(SIMPLE, "prompt-completion").example is None
    res = from_chat({"messages": [SIMPLE["messages"][0], *SIMPLE["messages"][3:]]},
                    "prompt-completion", pc_separator=" ->", pc_stop="\n")
    assert res.example == {"prompt": "S\n\nu2 ->", "completion": "a2\n"}
    assert codes(res.issues) == {"convert.lossy"}


def test_sharegpt_warns_where_llamafactory_would_skip_the_row() -> None:
    res = from_chat({"messages": [{"role": "user", "content": "a"},
                                  {"role": "user", "content": "b"},
                                  {"role": "assistant", "content": "c"}]}, "sharegpt")
    assert res.example is not None
    assert codes(res.issues) == {"chat.roles_not_alternating"}


# --- preference ------------------------------------------------------------------------------

PREF = {"prompt": [{"role": "user", "content": "2+2?"}],
        "chosen": [{"role": "assistant", "content": "4"}],
        "rejected": [{"role": "assistant", "content": "5"}]}


def test_openai_preference_legacy_names() -> None:
    row = {"input": {"messages": PREF["prompt"]}, "preferred_completion": PREF["chosen"],
           "non_preferred_completion": PREF["rejected"]}
    res = to_preference(row, "openai-preference")
    assert res.example == PREF
    assert codes(res.issues) == {"pref.legacy_field_name"}


@pytest.mark.parametrize("target", ["openai-preference", "trl-preference", "sharegpt-preference"])
def test_preference_round_trip(target: str) -> None:
    there = from_preference(PREF, target)
    assert there.example is not None and there.issues == []
    back = to_preference(there.example, target)
    assert back.example == PREF and back.issues == []


def test_preference_layouts_match_the_spec() -> None:
    assert from_preference(PREF, "openai-preference").example == {
        "input": {"messages": PREF["prompt"]}, "preferred_output": PREF["chosen"],
        "non_preferred_output": PREF["rejected"]}
    assert from_preference(PREF, "sharegpt-preference").example == {
        "conversations": [{"from": "human", "value": "2+2?"}],
        "chosen": {"from": "gpt", "value": "4"}, "rejected": {"from": "gpt", "value": "5"}}


def test_trl_standard_and_implicit_preference() -> None:
    std = to_preference({"prompt": "2+2?", "chosen": "4", "rejected": "5"}, "trl-preference")
    assert std.example == PREF and std.issues == []
    implicit = {"chosen": PREF["prompt"] + PREF["chosen"],
                "rejected": PREF["prompt"] + PREF["rejected"]}
    res = to_preference(implicit, "trl-preference")
    assert res.example == PREF and codes(res.issues) == {"convert.heuristic"}
    mixed = to_preference({"prompt": "p", "chosen": [], "rejected": "r"}, "trl-preference")
    assert mixed.example is None and codes(mixed.issues) == {"pref.format_mismatch"}


def test_multi_message_outputs_cannot_become_openai_preference() -> None:
    two = {**PREF, "chosen": PREF["chosen"] * 2}
    res = from_preference(two, "openai-preference")
    assert res.example is None and codes(res.issues) == {"pref.output_count"}


def test_trl_prompt_completion_keeps_the_tool_episode_in_the_completion() -> None:
    out = from_chat(TOOLS, "trl-conversational-prompt-completion").example
    assert out is not None
    assert out["prompt"] == [{"role": "user", "content": "weather?"}]
    assert [m["role"] for m in out["completion"]] == ["assistant", "tool", "assistant"]
