"""Preference (DPO) rows: OpenAI, TRL and LLaMA-Factory sharegpt layouts.

The canonical preference form is TRL's conversational explicit-prompt row with OpenAI
messages: ``{"prompt": [msg...], "chosen": [msg...], "rejected": [msg...], "tools"?: [...]}``
(tool-call arguments as JSON strings, like canonical chat).
"""

from __future__ import annotations

import copy
from typing import Any

from curator.formats.from_chat import from_chat, to_trl_messages
from curator.formats.messages import CallIds, PendingCalls, normalise_messages
from curator.formats.result import Collector, ConversionError, ConversionResult
from curator.formats.to_chat import sharegpt_turns, tools_list

PREFERENCE_TARGETS = ("openai-preference", "trl-preference", "sharegpt-preference")
_LEGACY = {"preferred_completion": "preferred_output",
           "non_preferred_completion": "non_preferred_output"}


def to_preference(row: dict[str, Any], fmt: str, *,
                  example_index: int | None = None) -> ConversionResult:
    """Convert a preference row in format `fmt` to the canonical preference form."""
    col = Collector(example_index)
    reader = {"openai-preference": _from_openai, "trl-preference": _from_trl,
              "sharegpt-preference": _from_sharegpt}.get(fmt)
    if reader is None:
        return col.fail("format.method_mismatch",
                        f"a {fmt} row is not a preference row (chosen/rejected)",
                        hint="convert it with --to chat or another SFT target")
    required = {"openai-preference": ("input",), "trl-preference": ("chosen", "rejected"),
                "sharegpt-preference": ("conversations", "chosen", "rejected")}[fmt]
    missing = [k for k in required if k not in row]
    if missing:
        return col.fail("convert.field_invalid",
                        f"row has no {', '.join(map(repr, missing))}, which {fmt} requires",
                        path="/" + missing[0])
    try:
        out = reader(row, col, CallIds(example_index))
    except ConversionError as exc:
        return col.fail(exc.code, exc.message, path=exc.path, message_index=exc.message_index,
                        hint=exc.hint)
    return col.result(out)


def _drop_unknown(row: dict[str, Any], known: set[str], col: Collector) -> None:
    extra = sorted(set(row) - known)
    if extra:
        col.add("convert.lossy", "warning",
                f"key(s) {', '.join(map(repr, extra))} dropped", path="/" + extra[0])


def _forked(pending: PendingCalls) -> PendingCalls:
    fork = PendingCalls()
    fork.calls = list(pending.calls)
    return fork


def _from_openai(row: dict[str, Any], col: Collector, ids: CallIds) -> dict[str, Any]:
    row = dict(row)
    for old, new in _LEGACY.items():
        if old in row and new not in row:
            row[new] = row.pop(old)
            col.add("pref.legacy_field_name", "warning",
                    f"legacy key {old!r} read as {new!r}", path=f"/{old}", fix="rename")
    _drop_unknown(row, {"input", "preferred_output", "non_preferred_output"}, col)
    inp = row.get("input")
    if not isinstance(inp, dict) or "messages" not in inp:
        raise ConversionError("pref.input_invalid", "'input' must be an object with 'messages'",
                              path="/input")
    _drop_unknown({k: v for k, v in inp.items()}, {"messages", "tools", "parallel_tool_calls"},
                  col)
    pending = PendingCalls()
    out: dict[str, Any] = {
        "prompt": normalise_messages(inp["messages"], col, base="/input/messages", ids=ids,
                                     pending=pending)}
    for src, dst in (("preferred_output", "chosen"), ("non_preferred_output", "rejected")):
        if not isinstance(row.get(src), list):
            raise ConversionError("pref.output_missing", f"{src!r} must be a list of messages",
                                  path=f"/{src}")
        out[dst] = normalise_messages(row[src], col, base=f"/{src}", ids=ids,
                                      pending=_forked(pending))
    tools = tools_list(inp.get("tools"), col, "/input/tools")
    if tools:
        out["tools"] = tools
    if inp.get("parallel_tool_calls") is not None:
        out["parallel_tool_calls"] = inp["parallel_tool_calls"]
    return out


def _from_trl(row: dict[str, Any], col: Collector, ids: CallIds) -> dict[str, Any]:
    _drop_unknown(row, {"prompt", "chosen", "rejected", "tools"}, col)
    sides: dict[str, Any] = {k: row[k] for k in ("prompt", "chosen", "rejected") if k in row}
    kinds = {isinstance(v, list) for v in sides.values()}
    if len(kinds) > 1 or not all(isinstance(v, (str, list)) for v in sides.values()):
        raise ConversionError("pref.format_mismatch",
                              "prompt/chosen/rejected mix strings and message lists",
                              hint="make all of them strings (standard) or message lists "
                              "(conversational)")
    conversational = kinds == {True}
    if "prompt" not in row:
        sides = _extract_prompt(sides, conversational, col)
    if conversational:
        pending = PendingCalls()
        prompt = normalise_messages(sides["prompt"], col, base="/prompt", ids=ids,
                                    pending=pending)
        out: dict[str, Any] = {"prompt": prompt}
        for key in ("chosen", "rejected"):
            out[key] = normalise_messages(sides[key], col, base=f"/{key}", ids=ids,
                                          pending=_forked(pending))
    else:
        out = {"prompt": [{"role": "user", "content": sides["prompt"]}] if sides["prompt"] else [],
               "chosen": [{"role": "assistant", "content": sides["chosen"]}],
               "rejected": [{"role": "assistant", "content": sides["rejected"]}]}
    tools = tools_list(row.get("tools"), col, "/tools")
    if tools:
        out["tools"] = tools
    return out


def _extract_prompt(sides: dict[str, Any], conversational: bool,
                    col: Collector) -> dict[str, Any]:
    """Implicit prompt: the longest common prefix of chosen and rejected (TRL extract_prompt)."""
    chosen, rejected = sides["chosen"], sides["rejected"]
    if conversational:
        n = 0
        while n < min(len(chosen), len(rejected)) - 1 and chosen[n] == rejected[n]:
            n += 1
    else:
        n = 0
        while n < min(len(chosen), len(rejected)) and chosen[n] == rejected[n]:
            n += 1
    if n == 0:
        col.add("pref.implicit_prompt_empty", "warning",
                "implicit preference: chosen and rejected share no prefix, so the prompt is empty")
    else:
        col.add("convert.heuristic", "info",
                f"implicit preference: prompt taken as the common prefix "
                f"({n} {'messages' if conversational else 'characters'})")
    return {"prompt": chosen[:n], "chosen": chosen[n:], "rejected": rejected[n:]}


def _from_sharegpt(row: dict[str, Any], col: Collector, ids: CallIds) -> dict[str, Any]:
    _drop_unknown(row, {"conversations", "chosen", "rejected", "system", "tools"}, col)
    turns = row["conversations"]
    if not isinstance(turns, list):
        raise ConversionError("chat.messages_not_list", "conversations must be a list",
                              path="/conversations")
    pending = PendingCalls()
    prompt = sharegpt_turns(turns, col, ids, base="/conversations", pending=pending)
    system = row.get("system")
    if isinstance(system, str) and system and not (prompt and prompt[0]["role"] == "system"):
        prompt.insert(0, {"role": "system", "content": system})
    out: dict[str, Any] = {"prompt": prompt}
    for key in ("chosen", "rejected"):
        side = row[key]
        side = side if isinstance(side, list) else [side]
        out[key] = sharegpt_turns(side, col, ids, base=f"/{key}", pending=_forked(pending))
    tools = tools_list(row.get("tools"), col, "/tools")
    if tools:
        out["tools"] = tools
    return out


# --- canonical -> targets --------------------------------------------------------------------


def from_preference(pref: dict[str, Any], target: str, *,
                    example_index: int | None = None) -> ConversionResult:
    """Convert a canonical preference row to `target` (one of PREFERENCE_TARGETS)."""
    if target not in PREFERENCE_TARGETS:
        raise ValueError(f"unknown preference target {target!r}")
    col = Collector(example_index)
    pref = copy.deepcopy(pref)
    try:
        if target == "openai-preference":
            out = _to_openai(pref, col)
        elif target == "trl-preference":
            out = _to_trl(pref, col)
        else:
            out = _to_sharegpt(pref, col, example_index)
    except ConversionError as exc:
        return col.fail(exc.code, exc.message, path=exc.path, message_index=exc.message_index,
                        hint=exc.hint)
    return col.result(out)


def _to_openai(pref: dict[str, Any], col: Collector) -> dict[str, Any]:
    if not pref["prompt"]:
        raise ConversionError("convert.unrepresentable",
                              "openai-preference needs at least one input message")
    for key in ("chosen", "rejected"):
        side = pref[key]
        if len(side) != 1 or side[0].get("role") != "assistant":
            raise ConversionError("pref.output_count",
                                  f"openai-preference needs exactly one assistant message as "
                                  f"{key}, got {len(side)} message(s)", path=f"/{key}")
    inp: dict[str, Any] = {"messages": pref["prompt"]}
    for key in ("tools", "parallel_tool_calls"):
        if pref.get(key) is not None:
            inp[key] = pref[key]
    return {"input": inp, "preferred_output": pref["chosen"],
            "non_preferred_output": pref["rejected"]}


def _to_trl(pref: dict[str, Any], col: Collector) -> dict[str, Any]:
    n = len(pref["prompt"])
    out: dict[str, Any] = {}
    for key in ("chosen", "rejected"):
        # convert prompt+side together so tool results in a side find their call's name
        both = to_trl_messages(copy.deepcopy(pref["prompt"]) + pref[key], col,
                                  "trl-preference")
        out["prompt"], out[key] = both[:n], both[n:]
    if pref.get("tools"):
        out["tools"] = pref["tools"]
    if pref.get("parallel_tool_calls") is not None:
        col.add("convert.lossy", "warning", "'parallel_tool_calls' dropped (TRL has no such key)")
    return {k: out[k] for k in ("prompt", "chosen", "rejected", "tools") if k in out}


def _to_sharegpt(pref: dict[str, Any], col: Collector, example_index: int | None
                 ) -> dict[str, Any]:
    out: dict[str, Any] = {}
    seen: set[tuple[str, str, str | None]] = set()
    for key in ("chosen", "rejected"):
        side = pref[key]
        if len(side) != 1:
            raise ConversionError("convert.unrepresentable",
                                  f"sharegpt-preference holds one {key} turn, got {len(side)}",
                                  path=f"/{key}")
        ex = {"messages": pref["prompt"] + side}
        if pref.get("tools"):
            ex["tools"] = pref["tools"]
        res = from_chat(ex, "sharegpt", example_index=example_index)
        for issue in res.issues:
            if (issue.code, issue.message, issue.path) not in seen:
                seen.add((issue.code, issue.message, issue.path))
                col.issues.append(issue)
        if res.example is None:
            raise ConversionError("convert.unrepresentable", f"{key} side cannot be sharegpt")
        turns = res.example["conversations"]
        out["conversations"], out[key] = turns[:-1], turns[-1]
        for extra in ("system", "tools"):
            if extra in res.example:
                out[extra] = res.example[extra]
    if out["conversations"] and len(out["conversations"]) % 2 == 0:
        col.add("pref.lf_message_count", "warning",
                "conversations has an even number of turns; LLaMA-Factory ranking needs an odd "
                "count ending with human", path="/conversations")
    return out
