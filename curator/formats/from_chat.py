"""Canonical OpenAI chat -> every supported target format (reference/formats.md §7.2).

Targets: ``openai-chat``, ``prompt-completion``, ``trl-messages`` (TRL conversational language
modelling), ``trl-conversational-prompt-completion``, ``sharegpt`` (LLaMA-Factory tags) and
``alpaca`` (LLaMA-Factory columns, with ``system`` and ``history``).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from curator.formats.content import ContentError, content_text
from curator.formats.result import Collector, ConversionError, ConversionResult
from curator.formats.to_chat import LF_TOOL_RESPONSE_JOIN

TARGETS = (
    "openai-chat",
    "prompt-completion",
    "trl-messages",
    "trl-conversational-prompt-completion",
    "sharegpt",
    "alpaca",
)


def from_chat(example: dict[str, Any], target: str, *, example_index: int | None = None,
              pc_separator: str = "", pc_stop: str = "") -> ConversionResult:
    """Convert a canonical chat example to `target`.

    `pc_separator` / `pc_stop` are appended to prompt / completion for OpenAI legacy
    prompt-completion targets (leave them empty for TRL, which adds EOS itself).
    """
    converter = _TARGETS.get(target)
    if converter is None:
        raise ValueError(f"unknown target {target!r}; choose one of {', '.join(TARGETS)}")
    col = Collector(example_index)
    messages = example.get("messages")
    if not isinstance(messages, list) or not messages:
        return col.fail("chat.messages_missing", "example has no messages", path="/messages")
    try:
        out = converter(copy.deepcopy(example), col,
                        {"pc_separator": pc_separator, "pc_stop": pc_stop})
    except ConversionError as exc:
        return col.fail(exc.code, exc.message, path=exc.path, message_index=exc.message_index,
                        hint=exc.hint)
    return col.result(out)


def _unrepresentable(target: str, why: str, **kw: Any) -> ConversionError:
    return ConversionError("convert.unrepresentable", f"{target} cannot hold this example: {why}",
                           **kw)


def plain_text(content: Any, col: Collector, target: str, idx: int) -> str:
    """The text of a message's content; text parts are joined (reported), others refused."""
    if content is not None and not isinstance(content, (str, list)):
        raise ConversionError("chat.content_type_invalid",
                              f"message {idx}: content is a {type(content).__name__}",
                              path=f"/messages/{idx}/content", message_index=idx)
    try:
        text = content_text(content, images="error", others="error", refusals="error")
    except ContentError as exc:
        raise _unrepresentable(target, f"message {idx} has a {exc.part.type!r} content part",
                               path=f"/messages/{idx}/content/{exc.index}",
                               message_index=idx) from None
    if isinstance(content, list) and len(content) > 1:
        col.add("convert.lossy", "warning",
                f"message {idx}: {len(content)} text parts joined into one string",
                path=f"/messages/{idx}/content", message_index=idx)
    return text


def _args_to_dict(args: Any, col: Collector, path: str, idx: int) -> Any:
    if not isinstance(args, str):
        return args
    try:
        parsed = json.loads(args)
    except json.JSONDecodeError:
        parsed = None
    if not isinstance(parsed, dict):
        col.add("toolcall.arguments_invalid_json", "warning",
                f"message {idx}: arguments are not a JSON object and were kept as a string",
                path=path, message_index=idx)
        return args
    return parsed


def _no_weight(msg: dict[str, Any], col: Collector, target: str, idx: int) -> None:
    if msg.pop("weight", None) == 0:
        col.add("convert.lossy", "warning",
                f"message {idx}: weight 0 dropped ({target} has no per-turn weight; "
                "this turn will be trained)",
                path=f"/messages/{idx}/weight", message_index=idx)


def _require_roles(messages: list[dict[str, Any]], target: str) -> None:
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or not isinstance(m.get("role"), str):
            raise ConversionError("chat.role_missing", f"message {i} has no role",
                                  path=f"/messages/{i}", message_index=i)


# --- targets ---------------------------------------------------------------------------------


def _openai_chat(ex: dict[str, Any], col: Collector, opts: dict[str, Any]) -> dict[str, Any]:
    return ex


def to_trl_messages(messages: list[dict[str, Any]], col: Collector, target: str,
                       offset: int = 0) -> list[dict[str, Any]]:
    """TRL messages: tool-call arguments as dicts, tool results carry the function name."""
    names: dict[str, str] = {}
    for k, m in enumerate(messages):
        idx = offset + k
        _no_weight(m, col, target, idx)
        for j, call in enumerate(m.get("tool_calls") or []):
            fn = call.get("function", {})
            fn["arguments"] = _args_to_dict(fn.get("arguments"), col,
                                            f"/messages/{idx}/tool_calls/{j}/function/arguments",
                                            idx)
            if isinstance(call.get("id"), str) and isinstance(fn.get("name"), str):
                names[call["id"]] = fn["name"]
        if m.get("role") == "tool" and m.get("tool_call_id") in names:
            m["name"] = names[m["tool_call_id"]]
    return messages


def _trl_messages(ex: dict[str, Any], col: Collector, opts: dict[str, Any]) -> dict[str, Any]:
    _require_roles(ex["messages"], "trl-messages")
    ex["messages"] = to_trl_messages(ex["messages"], col, "trl-messages")
    return ex


def _trl_prompt_completion(ex: dict[str, Any], col: Collector,
                           opts: dict[str, Any]) -> dict[str, Any]:
    target = "trl-conversational-prompt-completion"
    messages = ex["messages"]
    _require_roles(messages, target)
    trained = [i for i, m in enumerate(messages)
               if m["role"] == "assistant" and m.get("weight", 1) != 0]
    if not trained:
        raise _unrepresentable(target, "no trainable assistant message to make the completion")
    cut = trained[-1]
    # Pull the whole final episode (tool calls and their results) into the completion, so
    # the calls stay trained; stop at the last user turn or at an untrained assistant turn.
    while cut > 0 and messages[cut - 1]["role"] in ("assistant", "tool") and not (
            messages[cut - 1]["role"] == "assistant" and messages[cut - 1].get("weight") == 0):
        cut -= 1
    if cut == 0:
        raise _unrepresentable(target, "the prompt would be empty (first message is the answer)")
    if messages[cut - 1]["role"] not in ("user", "tool", "assistant"):
        raise _unrepresentable(target, f"the prompt would end with a {messages[cut - 1]['role']} "
                               "message (TRL: 'Invalid role in the last message')",
                               message_index=cut - 1)
    earlier = [i for i in trained if i < cut]
    if earlier:
        col.add("convert.lossy", "warning",
                f"{len(earlier)} earlier assistant turn(s) moved into the prompt and will not "
                "be trained (TRL trains the completion only)", message_index=earlier[0])
    for i in range(cut, len(messages)):
        if messages[i]["role"] == "assistant" and messages[i].get("weight") == 0:
            col.add("convert.lossy", "warning",
                    f"message {i} had weight 0 but is part of the completion and will be trained",
                    message_index=i)
    for m in messages:
        # weights are now expressed by the split: prompt untrained, completion trained
        m.pop("weight", None)
    converted = to_trl_messages(messages, col, target)
    prompt, completion = converted[:cut], converted[cut:]
    out: dict[str, Any] = {"prompt": prompt, "completion": completion}
    if ex.get("tools"):
        out["tools"] = ex["tools"]
    _lost_top_level(ex, {"messages", "tools"}, col, target)
    return out


def _lost_top_level(ex: dict[str, Any], kept: set[str], col: Collector, target: str) -> None:
    lost = sorted(k for k in ex if k not in kept and ex[k] is not None)
    if lost:
        col.add("convert.lossy", "warning",
                f"{', '.join(map(repr, lost))} dropped ({target} has no place for it)",
                path="/" + lost[0])


def _simple_pairs(ex: dict[str, Any], col: Collector, target: str
                  ) -> tuple[str | None, list[tuple[str, str]]]:
    """[system?] (user assistant)+ as (system, [(user, assistant), ...]), or refuse."""
    messages = ex["messages"]
    _require_roles(messages, target)
    if ex.get("tools"):
        raise _unrepresentable(target, "it defines tools", path="/tools")
    _lost_top_level(ex, {"messages", "tools"}, col, target)
    start, system = 0, None
    if messages[0]["role"] == "system":
        system = plain_text(messages[0].get("content"), col, target, 0)
        start = 1
    body = messages[start:]
    expected = ["user", "assistant"] * (len(body) // 2)
    roles = [m["role"] for m in body]
    if not body or len(body) % 2 or roles != expected:
        raise _unrepresentable(target, "roles must be [system] then user/assistant pairs, got "
                               + " ".join(m["role"] for m in messages))
    pairs = []
    for k in range(0, len(body), 2):
        u, a, ai = body[k], body[k + 1], start + k + 1
        if a.get("tool_calls") or a.get("function_call"):
            raise _unrepresentable(target, f"message {ai} calls tools", message_index=ai)
        _no_weight(a, col, target, ai)
        for key in ("name", "refusal"):
            for m, i in ((u, ai - 1), (a, ai)):
                if m.get(key) is not None:
                    col.add("convert.lossy", "warning", f"message {i}: {key!r} dropped",
                            path=f"/messages/{i}/{key}", message_index=i)
        pairs.append((plain_text(u.get("content"), col, target, ai - 1),
                      plain_text(a.get("content"), col, target, ai)))
    return system, pairs


def _prompt_completion(ex: dict[str, Any], col: Collector, opts: dict[str, Any]) -> dict[str, Any]:
    target = "prompt-completion"
    system, pairs = _simple_pairs(ex, col, target)
    if len(pairs) != 1:
        raise _unrepresentable(target, f"it has {len(pairs)} user/assistant pairs; "
                               "prompt-completion holds one (use trl-prompt-completion)")
    prompt, completion = pairs[0]
    if system:
        prompt = f"{system}\n\n{prompt}"
        col.add("convert.lossy", "warning",
                "system message prepended to the prompt (joined by a blank line)",
                path="/messages/0", message_index=0)
    return {"prompt": prompt + opts["pc_separator"], "completion": completion + opts["pc_stop"]}


def _alpaca(ex: dict[str, Any], col: Collector, opts: dict[str, Any]) -> dict[str, Any]:
    system, pairs = _simple_pairs(ex, col, "alpaca")
    *history, (instruction, output) = pairs
    out: dict[str, Any] = {"instruction": instruction, "input": "", "output": output}
    if system is not None:
        out["system"] = system
    if history:
        out["history"] = [list(p) for p in history]
    return out


def _sharegpt(ex: dict[str, Any], col: Collector, opts: dict[str, Any]) -> dict[str, Any]:
    target = "sharegpt"
    messages = ex["messages"]
    _require_roles(messages, target)
    _lost_top_level(ex, {"messages", "tools"}, col, target)
    out: dict[str, Any] = {"conversations": []}
    turns: list[dict[str, str]] = out["conversations"]
    had_ids = False
    for i, m in enumerate(messages):
        role = m["role"]
        _no_weight(m, col, target, i)
        if m.get("name") is not None and role != "function":
            col.add("convert.lossy", "warning", f"message {i}: 'name' dropped",
                    path=f"/messages/{i}/name", message_index=i)
        if role in ("system", "developer"):
            if i != 0:
                raise _unrepresentable(target, f"system message at {i}; LLaMA-Factory allows "
                                       "system only first", message_index=i)
            out["system"] = plain_text(m.get("content"), col, target, i)
        elif role == "user":
            turns.append({"from": "human", "value": plain_text(m.get("content"), col, target, i)})
        elif role == "assistant":
            calls = [c.get("function", {}) for c in m.get("tool_calls") or []]
            if m.get("function_call"):
                calls.append(m["function_call"])
            if calls:
                had_ids = had_ids or bool(m.get("tool_calls"))
                if plain_text(m.get("content"), col, target, i):
                    col.add("convert.lossy", "warning",
                            f"message {i}: text beside tool calls dropped (a function_call "
                            "turn holds only the calls)", path=f"/messages/{i}/content",
                            message_index=i)
                payload = [{"name": c.get("name"),
                            "arguments": _args_to_dict(c.get("arguments"), col,
                                                       f"/messages/{i}/tool_calls", i)}
                           for c in calls]
                value = payload[0] if len(payload) == 1 else payload
                turns.append({"from": "function_call",
                              "value": json.dumps(value, ensure_ascii=False)})
            else:
                turns.append({"from": "gpt", "value": plain_text(m.get("content"), col, target, i)})
        elif role in ("tool", "function"):
            text = plain_text(m.get("content"), col, target, i)
            if i > 0 and messages[i - 1]["role"] == role and turns[-1]["from"] == "observation":
                turns[-1]["value"] += LF_TOOL_RESPONSE_JOIN + text
            else:
                turns.append({"from": "observation", "value": text})
        else:
            raise _unrepresentable(target, f"role {role!r}", message_index=i)
    if had_ids:
        col.add("convert.lossy", "info",
                "tool-call ids not kept (sharegpt has none; results are paired by position)")
    if ex.get("tools"):
        out["tools"] = json.dumps([t.get("function", t) for t in ex["tools"]], ensure_ascii=False)
    _check_lf_order(turns, col)
    return out


def _check_lf_order(turns: list[dict[str, str]], col: Collector) -> None:
    """LLaMA-Factory silently skips rows that break its order, so say so here."""
    for k, t in enumerate(turns):
        want = ("human", "observation") if k % 2 == 0 else ("gpt", "function_call")
        if t["from"] not in want:
            col.add("chat.roles_not_alternating", "warning",
                    f"turn {k} is {t['from']!r} where LLaMA-Factory expects "
                    f"{' or '.join(want)}; it would skip this row", path=f"/conversations/{k}")
            return
    if len(turns) % 2:
        col.add("chat.last_not_assistant", "warning",
                "odd number of turns (last is not gpt/function_call); LLaMA-Factory would "
                "skip this row for SFT", path="/conversations")


_TARGETS: dict[str, Callable[[dict[str, Any], Collector, dict[str, Any]], dict[str, Any]]] = {
    "openai-chat": _openai_chat,
    "prompt-completion": _prompt_completion,
    "trl-messages": _trl_messages,
    "trl-conversational-prompt-completion": _trl_prompt_completion,
    "sharegpt": _sharegpt,
    "alpaca": _alpaca,
}
