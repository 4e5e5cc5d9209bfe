"""Every supported source format -> canonical OpenAI chat (reference/formats.md §7.2)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from curator.formats.detect import PREFERENCE_FORMATS
from curator.formats.messages import CallIds, PendingCalls, normalise_messages
from curator.formats.result import Collector, ConversionError, ConversionResult
from curator.formats.roles import (
    FUNCTION_CALL_TAG,
    STANDARD_NAMES,
    canonical_role,
    unknown_role_hint,
)

#: Alpaca `input` values that mean "no input" (AlpacaDataCleaned's list, formats.md §7.2)
PLACEHOLDER_INPUTS = frozenset({"<noinput>", "no input", "noinput", "<no input>", "n/a"})
#: how LLaMA-Factory joins the tool results it merged into one observation turn
LF_TOOL_RESPONSE_JOIN = "\n</tool_response>\n<tool_response>\n"
DEFAULT_ALPACA_SEP = "\n\n"


def to_chat(row: dict[str, Any], fmt: str, *, example_index: int | None = None,
            alpaca_sep: str = DEFAULT_ALPACA_SEP, pc_separator: str | None = None,
            pc_stop: str | None = None, pc_strip_leading_space: bool = False) -> ConversionResult:
    """Convert one row in format `fmt` to an OpenAI chat example.

    `example_index` feeds synthesised tool-call ids (`call_<example>_<n>`). `alpaca_sep` joins
    instruction and input. `pc_separator` / `pc_stop` are the legacy prompt separator and
    completion stop sequence to strip, and `pc_strip_leading_space` drops the leading space
    of completions (OpenAI legacy convention); all three are usually detected per file.
    """
    col = Collector(example_index)
    if fmt in PREFERENCE_FORMATS:
        return col.fail("format.method_mismatch",
                        f"a {fmt} row holds two answers and cannot become one chat example",
                        hint="convert it with --to openai-preference, trl-preference or "
                        "sharegpt-preference")
    if fmt == "trl-text":
        return col.fail("convert.unsupported",
                        "a 'text' row is already rendered with a chat template; its turn "
                        "boundaries are gone, so it cannot be split back into messages",
                        path="/text", hint="convert the data it was rendered from, or train on "
                        "it as it is (TRL language modelling, dataset_text_field='text')")
    converter = _CONVERTERS.get(fmt)
    if converter is None:
        raise ValueError(f"unknown format {fmt!r}")
    if not isinstance(row, dict):
        return col.fail("json.not_object", "row is not a JSON object")
    missing = [k for k in _REQUIRED[fmt] if k not in row]
    if missing:
        return col.fail("convert.field_invalid",
                        f"row has no {', '.join(map(repr, missing))}, which {fmt} requires",
                        path="/" + missing[0], hint="check --from, or leave it out to detect")
    ids = CallIds(example_index)
    try:
        example = converter(row, col, ids, {
            "alpaca_sep": alpaca_sep, "pc_separator": pc_separator, "pc_stop": pc_stop,
            "pc_strip_leading_space": pc_strip_leading_space})
    except ConversionError as exc:
        return col.fail(exc.code, exc.message, path=exc.path, message_index=exc.message_index,
                        hint=exc.hint)
    if not example.get("messages"):
        return col.fail("chat.messages_empty", "conversion produced no messages")
    return col.result(example)


Converter = Callable[[dict[str, Any], Collector, CallIds, dict[str, Any]], dict[str, Any]]


def _drop_unknown(row: dict[str, Any], known: set[str], col: Collector) -> None:
    extra = sorted(k for k in row if k not in known)
    if extra:
        col.add("convert.lossy", "warning",
                f"key(s) {', '.join(map(repr, extra))} have no place in chat and were dropped",
                path="/" + extra[0])


def _string(row: dict[str, Any], key: str, *, required: bool) -> str | None:
    value = row.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise ConversionError("convert.field_invalid",
                              f"{key!r} must be a string, got {type(value).__name__}"
                              if key in row else f"{key!r} is missing", path=f"/{key}")
    return value


def tools_list(raw: Any, col: Collector, path: str) -> list[dict[str, Any]] | None:
    """Tools as OpenAI wants them: a list of {type: function, function: {...}}.

    LLaMA-Factory and TRL also accept a JSON string of bare function definitions."""
    if raw is None or raw == "" or raw == []:
        return None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ConversionError("tools.not_list", f"tools is a string but not valid JSON: {exc}",
                                  path=path) from None
        if isinstance(raw, dict):
            raw = [raw]
    if not isinstance(raw, list):
        raise ConversionError("tools.not_list", "tools must be a list", path=path)
    out = []
    for i, tool in enumerate(raw):
        if not isinstance(tool, dict):
            raise ConversionError("tools.item_invalid", f"tool {i} is not an object",
                                  path=f"{path}/{i}")
        if tool.get("type") == "function" and isinstance(tool.get("function"), dict):
            out.append(tool)
        elif isinstance(tool.get("name"), str):
            out.append({"type": "function", "function": tool})
        else:
            raise ConversionError("tools.item_invalid",
                                  f"tool {i} is neither {{type: function, function}} nor a "
                                  "function definition with a name", path=f"{path}/{i}")
    return out or None


def _withtools_list(example: dict[str, Any], tools: list[dict[str, Any]] | None) -> dict[str, Any]:
    if tools:
        example["tools"] = tools
    return example


# --- OpenAI chat and TRL conversational ------------------------------------------------------


def _openai_chat(row: dict[str, Any], col: Collector, ids: CallIds,
                 opts: dict[str, Any]) -> dict[str, Any]:
    _drop_unknown(row, {"messages", "tools", "parallel_tool_calls", "functions"}, col)
    if row.get("messages") == []:
        raise ConversionError("chat.messages_empty", "messages is empty", path="/messages")
    example: dict[str, Any] = {
        "messages": normalise_messages(row["messages"], col, base="/messages", ids=ids)}
    _withtools_list(example, tools_list(row.get("tools"), col, "/tools"))
    for key in ("parallel_tool_calls", "functions"):
        if row.get(key) is not None:
            example[key] = row[key]
    return example


def _trl_prompt_completion(row: dict[str, Any], col: Collector, ids: CallIds,
                           opts: dict[str, Any]) -> dict[str, Any]:
    _drop_unknown(row, {"prompt", "completion", "tools"}, col)
    for key in ("prompt", "completion"):
        if not isinstance(row[key], list):
            raise ConversionError("convert.field_invalid",
                                  f"{key!r} must be a message list like the other side "
                                  "(conversational prompt-completion)", path=f"/{key}")
    pending = PendingCalls()
    prompt = normalise_messages(row["prompt"], col, base="/prompt", ids=ids, pending=pending)
    completion = normalise_messages(row["completion"], col, base="/completion", ids=ids,
                                    pending=pending, offset=len(prompt))
    return _withtools_list({"messages": prompt + completion}, tools_list(row.get("tools"), col, "/tools"))


# --- LLaMA-Factory v1 ------------------------------------------------------------------------


def _lf_v1(row: dict[str, Any], col: Collector, ids: CallIds,
           opts: dict[str, Any]) -> dict[str, Any]:
    _drop_unknown(row, {"messages", "tools"}, col)
    raw = row["messages"]
    if not isinstance(raw, list):
        raise ConversionError("chat.messages_not_list", "messages must be a list", path="/messages")
    plain: list[Any] = []
    for i, msg in enumerate(raw):
        if not isinstance(msg, dict):
            plain.append(msg)  # normalise_messages reports it
            continue
        m = {k: v for k, v in msg.items() if k != "loss_weight"}
        if isinstance(m.get("content"), list):
            m["content"] = _lf_v1_content(m["content"], i)
        role = canonical_role(m["role"]) if isinstance(m.get("role"), str) else None
        if "loss_weight" in msg:
            _lf_v1_weight(msg["loss_weight"], role, m, col, i)
        plain.append(m)
    example: dict[str, Any] = {"messages": normalise_messages(plain, col, base="/messages", ids=ids)}
    return _withtools_list(example, tools_list(row.get("tools"), col, "/tools"))


def _lf_v1_content(parts: list[Any], index: int) -> str | list[dict[str, Any]]:
    texts = []
    for j, part in enumerate(parts):
        if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(
                part.get("value"), str):
            kind = part.get("type") if isinstance(part, dict) else type(part).__name__
            raise ConversionError("convert.unrepresentable",
                                  f"message {index}: content part {j} of type {kind!r} has no "
                                  "OpenAI chat equivalent curator can build",
                                  path=f"/messages/{index}/content/{j}", message_index=index)
        texts.append(part["value"])
    if len(texts) == 1:
        return str(texts[0])
    return [{"type": "text", "text": t} for t in texts]


def _lf_v1_weight(weight: Any, role: str | None, m: dict[str, Any], col: Collector,
                  i: int) -> None:
    if isinstance(weight, bool) or not isinstance(weight, (int, float)):
        raise ConversionError("chat.weight_invalid", f"message {i}: loss_weight must be a number",
                              path=f"/messages/{i}/loss_weight", message_index=i)
    if role == "assistant":
        if weight == 0:
            m["weight"] = 0
        elif weight != 1:
            m["weight"] = 1
            col.add("convert.lossy", "warning",
                    f"message {i}: loss_weight {weight} became weight 1 (OpenAI weights are 0 or 1)",
                    path=f"/messages/{i}/loss_weight", message_index=i)
    elif weight != 0:
        col.add("convert.lossy", "warning",
                f"message {i}: loss_weight {weight} on a {role} turn was dropped "
                "(only assistant turns are trained in chat format)",
                path=f"/messages/{i}/loss_weight", message_index=i)


# --- prompt / completion ---------------------------------------------------------------------


def _prompt_completion(row: dict[str, Any], col: Collector, ids: CallIds,
                       opts: dict[str, Any]) -> dict[str, Any]:
    _drop_unknown(row, {"prompt", "completion"}, col)
    prompt = _string(row, "prompt", required=True) or ""
    completion = _string(row, "completion", required=True) or ""
    sep, stop = opts["pc_separator"], opts["pc_stop"]
    if sep and prompt.endswith(sep):
        prompt = prompt[: -len(sep)]
        col.add("convert.heuristic", "info",
                f"stripped the prompt separator {sep!r} (common to the file's prompts)",
                path="/prompt")
    if stop and completion.endswith(stop):
        completion = completion[: -len(stop)]
        col.add("convert.heuristic", "info",
                f"stripped the stop sequence {stop!r} (common to the file's completions)",
                path="/completion")
    if opts["pc_strip_leading_space"] and completion.startswith(" "):
        completion = completion[1:]
        col.add("convert.heuristic", "info",
                "dropped the completion's leading space (OpenAI legacy convention)",
                path="/completion")
    messages: list[dict[str, Any]] = []
    if prompt:
        messages.append({"role": "user", "content": prompt})
    else:
        col.add("convert.heuristic", "info",
                "empty prompt (open-ended generation): the example has no user message",
                path="/prompt")
    messages.append({"role": "assistant", "content": completion})
    return {"messages": messages}


# --- Alpaca ----------------------------------------------------------------------------------


def _alpaca(row: dict[str, Any], col: Collector, ids: CallIds,
            opts: dict[str, Any]) -> dict[str, Any]:
    _drop_unknown(row, {"instruction", "input", "output", "system", "history"}, col)
    instruction = _string(row, "instruction", required=True) or ""
    output = _string(row, "output", required=True) or ""
    extra = _string(row, "input", required=False) or ""
    system = _string(row, "system", required=False)
    if extra.strip().lower() in PLACEHOLDER_INPUTS:
        col.add("quality.placeholder_input", "warning",
                f"input {extra!r} is a placeholder for 'no input'; it was left out",
                path="/input")
        extra = ""
    messages: list[dict[str, Any]] = []
    if system:
        messages.append({"role": "system", "content": system})
    elif system == "":
        col.add("convert.heuristic", "info", "empty system prompt left out", path="/system")
    history = row.get("history")
    if history is not None:
        if not isinstance(history, list):
            raise ConversionError("convert.field_invalid",
                                  "history must be a list of [user, assistant] pairs",
                                  path="/history")
        for i, pair in enumerate(history):
            if (not isinstance(pair, list) or len(pair) != 2
                    or not all(isinstance(t, str) for t in pair)):
                raise ConversionError("convert.field_invalid",
                                      f"history item {i} is not a [user, assistant] pair of "
                                      "strings", path=f"/history/{i}")
            messages += [{"role": "user", "content": pair[0]},
                         {"role": "assistant", "content": pair[1]}]
    user = opts["alpaca_sep"].join(p for p in (instruction, extra) if p)
    messages += [{"role": "user", "content": user}, {"role": "assistant", "content": output}]
    return {"messages": messages}


# --- ShareGPT --------------------------------------------------------------------------------


def _sharegpt(row: dict[str, Any], col: Collector, ids: CallIds,
              opts: dict[str, Any]) -> dict[str, Any]:
    key = "conversations" if "conversations" in row else "messages"
    if key not in row:
        raise ConversionError("convert.field_invalid",
                              "row has no 'conversations', which sharegpt requires",
                              path="/conversations")
    _drop_unknown(row, {key, "system", "tools"}, col)
    turns = row[key]
    if not isinstance(turns, list):
        raise ConversionError("chat.messages_not_list", f"{key} must be a list", path=f"/{key}")
    if not turns:
        raise ConversionError("chat.messages_empty", f"{key} is empty", path=f"/{key}")
    messages = sharegpt_turns(turns, col, ids, base=f"/{key}")
    system = _string(row, "system", required=False)
    if system:
        if messages and messages[0]["role"] == "system":
            if messages[0]["content"] != system:
                col.add("convert.lossy", "warning",
                        "top-level system was overridden by the first system turn and dropped",
                        path="/system")
        else:
            messages.insert(0, {"role": "system", "content": system})
    return _withtools_list({"messages": messages}, tools_list(row.get("tools"), col, "/tools"))


def sharegpt_turns(turns: list[Any], col: Collector, ids: CallIds, *, base: str,
                   pending: PendingCalls | None = None) -> list[dict[str, Any]]:
    """ShareGPT turns (`from`/`value`, or `role`/`content`) -> OpenAI messages."""
    pending = pending if pending is not None else PendingCalls()
    out: list[dict[str, Any]] = []
    for k, turn in enumerate(turns):
        here = f"{base}/{k}"
        if not isinstance(turn, dict):
            raise ConversionError("chat.message_not_object", f"turn {k} is not an object",
                                  path=here, message_index=k)
        tag = turn.get("from", turn.get("role"))
        value = turn.get("value", turn.get("content"))
        if not isinstance(tag, str):
            raise ConversionError("chat.role_missing", f"turn {k} has no string 'from'",
                                  path=here, message_index=k)
        if not isinstance(value, str):
            raise ConversionError("chat.content_type_invalid",
                                  f"turn {k} 'value' must be a string", path=f"{here}/value",
                                  message_index=k)
        extra = sorted(set(turn) - {"from", "value", "role", "content"})
        if extra:
            col.add("convert.lossy", "warning",
                    f"turn {k}: key(s) {', '.join(map(repr, extra))} dropped",
                    path=f"{here}/{extra[0]}", message_index=k)
        if tag.strip().lower() == FUNCTION_CALL_TAG:
            out.append(_function_call_turn(value, col, ids, pending, here, len(out)))
            continue
        role = canonical_role(tag)
        if role is None:
            raise ConversionError("chat.role_invalid", f"turn {k} has unknown role {tag!r}",
                                  path=f"{here}/from", message_index=k,
                                  hint=unknown_role_hint(tag))
        if tag.strip().lower() not in STANDARD_NAMES:
            col.add("convert.role_alias", "info", f"role {tag!r} mapped to {role!r}",
                    path=f"{here}/from", message_index=k)
        if role == "tool":
            out += _observation(value, col, pending, here, len(out))
        else:
            out.append({"role": role, "content": value})
    return out


def _function_call_turn(value: str, col: Collector, ids: CallIds, pending: PendingCalls,
                        here: str, idx: int) -> dict[str, Any]:
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as exc:
        raise ConversionError("functioncall.invalid",
                              f"function_call turn is not JSON ({exc})", path=f"{here}/value",
                              message_index=idx) from None
    calls = parsed if isinstance(parsed, list) else [parsed]
    tool_calls = []
    for j, call in enumerate(calls):
        if not isinstance(call, dict) or not isinstance(call.get("name"), str):
            raise ConversionError("functioncall.invalid",
                                  f"function_call item {j} has no string 'name'",
                                  path=f"{here}/value", message_index=idx)
        args = call.get("arguments", {})
        if not isinstance(args, str):
            args = json.dumps(args, ensure_ascii=False)
        call_id = ids.next()
        pending.add(call_id, call["name"])
        tool_calls.append({"id": call_id, "type": "function",
                           "function": {"name": call["name"], "arguments": args}})
    return {"role": "assistant", "tool_calls": tool_calls}


def _observation(value: str, col: Collector, pending: PendingCalls, here: str,
                 idx: int) -> list[dict[str, Any]]:
    if not len(pending):
        raise ConversionError("toolmsg.orphan",
                              "observation turn follows no function_call turn",
                              path=here, message_index=idx,
                              hint="an observation must answer a preceding function_call")
    parts = [value]
    if len(pending) > 1:
        split = value.split(LF_TOOL_RESPONSE_JOIN)
        if len(split) == len(pending):
            parts = split
        else:
            col.add("convert.heuristic", "info",
                    f"one observation for {len(pending)} calls: it answers the first call",
                    path=here, message_index=idx)
    out = []
    for part in parts:
        match = pending.take()
        assert match is not None  # parts never outnumber the pending calls
        out.append({"role": "tool", "content": part, "tool_call_id": match[0]})
    return out


_REQUIRED: dict[str, tuple[str, ...]] = {
    "openai-chat": ("messages",),
    "prompt-completion": ("prompt", "completion"),
    "trl-conversational-prompt-completion": ("prompt", "completion"),
    "alpaca": ("instruction", "output"),
    "sharegpt": (),  # conversations or messages: checked below
    "lf-v1-messages": ("messages",),
}

_CONVERTERS: dict[str, Converter] = {
    "openai-chat": _openai_chat,
    "prompt-completion": _prompt_completion,
    "trl-conversational-prompt-completion": _trl_prompt_completion,
    "alpaca": _alpaca,
    "sharegpt": _sharegpt,
    "lf-v1-messages": _lf_v1,
}
