"""Bring a list of role/content messages into canonical OpenAI form.

Shared by every source whose turns are already role/content dicts (OpenAI chat, TRL
conversational rows, LLaMA-Factory v1 after its parts are unwrapped, preference prompts).
"""

from __future__ import annotations

import json
from typing import Any

from curator.formats.result import Collector, ConversionError
from curator.formats.roles import STANDARD_NAMES, canonical_role, unknown_role_hint

ALLOWED_KEYS: dict[str, frozenset[str]] = {
    "system": frozenset({"role", "content", "name"}),
    "developer": frozenset({"role", "content", "name"}),
    "user": frozenset({"role", "content", "name"}),
    "assistant": frozenset(
        {"role", "content", "name", "tool_calls", "function_call", "refusal", "weight"}
    ),
    "tool": frozenset({"role", "content", "tool_call_id"}),
    "function": frozenset({"role", "content", "name"}),
}


class CallIds:
    """Deterministic tool-call ids, `call_<example>_<n>`, so reruns give identical output."""

    def __init__(self, example_index: int | None) -> None:
        self.prefix = f"call_{example_index}_" if example_index is not None else "call_"
        self.n = 0

    def next(self) -> str:
        value = f"{self.prefix}{self.n}"
        self.n += 1
        return value


class PendingCalls:
    """Tool calls not yet answered, in order, for pairing tool results with their calls."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []  # (id, function name)

    def add(self, call_id: str, name: str) -> None:
        self.calls.append((call_id, name))

    def take(self, call_id: str | None = None, name: str | None = None) -> tuple[str, str] | None:
        for i, (cid, cname) in enumerate(self.calls):
            if (call_id is not None and cid == call_id) or (
                call_id is None and (name is None or cname == name)
            ):
                return self.calls.pop(i)
        if call_id is None and name is not None and self.calls:
            return self.calls.pop(0)
        return None

    def __len__(self) -> int:
        return len(self.calls)


def arguments_to_string(args: Any, col: Collector, path: str, index: int) -> str:
    if isinstance(args, str):
        return args
    if isinstance(args, dict):
        col.add("toolcall.arguments_not_string", "info",
                "tool-call arguments were an object; serialised to a JSON string (OpenAI form)",
                path=path, message_index=index, fix="json.dumps")
        return json.dumps(args, ensure_ascii=False)
    raise ConversionError("toolcall.arguments_invalid_json",
                          f"tool-call arguments must be a JSON object or a string, got {type(args).__name__}",
                          path=path, message_index=index)


def normalise_messages(
    raw: Any,
    col: Collector,
    *,
    base: str,
    ids: CallIds,
    pending: PendingCalls | None = None,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Canonical copies of `raw` messages. `base` is the JSON pointer of the list, `offset`
    the index of its first message in the final `messages` (for message_index)."""
    if not isinstance(raw, list):
        raise ConversionError("chat.messages_not_list",
                              f"{base or '/'} must be a list of messages, got {type(raw).__name__}",
                              path=base)
    pending = pending if pending is not None else PendingCalls()
    out: list[dict[str, Any]] = []
    for k, msg in enumerate(raw):
        here, idx = f"{base}/{k}", offset + k
        if not isinstance(msg, dict):
            raise ConversionError("chat.message_not_object",
                                  f"message {idx} is a {type(msg).__name__}, not an object",
                                  path=here, message_index=idx)
        out.append(_message(msg, col, here, idx, ids, pending))
    return out


def _message(msg: dict[str, Any], col: Collector, here: str, idx: int, ids: CallIds,
             pending: PendingCalls) -> dict[str, Any]:
    if "role" not in msg:
        raise ConversionError("chat.role_missing", f"message {idx} has no 'role'",
                              path=here, message_index=idx)
    name = msg["role"]
    if not isinstance(name, str):
        raise ConversionError("chat.role_not_string", f"message {idx} role is not a string",
                              path=f"{here}/role", message_index=idx)
    # OpenAI's deprecated `function` role pairs with `function_call`; keep it as it is.
    role = "function" if name.strip().lower() == "function" else canonical_role(name)
    if role is None:
        raise ConversionError("chat.role_invalid", f"message {idx} has unknown role {name!r}",
                              path=f"{here}/role", message_index=idx, hint=unknown_role_hint(name))
    if name.strip().lower() not in STANDARD_NAMES or name != name.strip().lower():
        col.add("convert.role_alias", "info", f"role {name!r} mapped to {role!r}",
                path=f"{here}/role", message_index=idx)
    out: dict[str, Any] = {"role": role}
    for key, value in msg.items():
        if key == "role":
            continue
        if key not in ALLOWED_KEYS[role] and not (role == "tool" and key == "name"):
            col.add("convert.lossy", "warning",
                    f"message {idx}: key {key!r} is not part of a {role} message and was dropped",
                    path=f"{here}/{key}", message_index=idx)
            continue
        out[key] = value
    if role == "assistant" and out.get("tool_calls") is not None:
        out["tool_calls"] = _tool_calls(out["tool_calls"], col, here, idx, ids, pending)
    if role == "assistant" and isinstance(out.get("function_call"), dict):
        fc = dict(out["function_call"])
        if "arguments" in fc:
            fc["arguments"] = arguments_to_string(fc["arguments"], col, f"{here}/function_call", idx)
        out["function_call"] = fc
    if role == "tool":
        _pair_tool_message(out, col, here, idx, pending)
    return out


def _tool_calls(calls: Any, col: Collector, here: str, idx: int, ids: CallIds,
                pending: PendingCalls) -> list[dict[str, Any]]:
    if not isinstance(calls, list):
        raise ConversionError("toolcall.not_list", f"message {idx}: tool_calls must be a list",
                              path=f"{here}/tool_calls", message_index=idx)
    out = []
    for j, call in enumerate(calls):
        cpath = f"{here}/tool_calls/{j}"
        if not isinstance(call, dict) or not isinstance(call.get("function"), dict):
            raise ConversionError("toolcall.field_missing",
                                  f"message {idx}: tool call {j} has no 'function' object",
                                  path=cpath, message_index=idx)
        fn = dict(call["function"])
        if not isinstance(fn.get("name"), str):
            raise ConversionError("toolcall.field_missing",
                                  f"message {idx}: tool call {j} has no function name",
                                  path=f"{cpath}/function/name", message_index=idx)
        fn["arguments"] = arguments_to_string(fn.get("arguments", {}), col,
                                              f"{cpath}/function/arguments", idx)
        new = dict(call)
        new["function"] = fn
        if "type" not in new:
            new["type"] = "function"
        if not isinstance(new.get("id"), str) or not new["id"]:
            new["id"] = ids.next()
            col.add("convert.heuristic", "info",
                    f"message {idx}: tool call {j} had no id; synthesised {new['id']!r}",
                    path=f"{cpath}/id", message_index=idx)
        pending.add(new["id"], fn["name"])
        out.append({"id": new["id"], "type": new["type"], "function": fn,
                    **{k: v for k, v in new.items() if k not in ("id", "type", "function")}})
    return out


def _pair_tool_message(out: dict[str, Any], col: Collector, here: str, idx: int,
                       pending: PendingCalls) -> None:
    name = out.pop("name", None)
    call_id = out.get("tool_call_id")
    if isinstance(call_id, str):
        match = pending.take(call_id=call_id)
    else:
        ambiguous = len(pending) > 1
        match = pending.take(name=name if isinstance(name, str) else None)
        if match is None:
            raise ConversionError("toolmsg.orphan",
                                  f"message {idx}: tool result answers no preceding tool call",
                                  path=here, message_index=idx,
                                  hint="a tool message must follow an assistant message with tool_calls")
        out["tool_call_id"] = match[0]
        if ambiguous:
            col.add("convert.heuristic", "info",
                    f"message {idx}: tool result paired with call {match[0]!r} by position",
                    path=f"{here}/tool_call_id", message_index=idx)
    if isinstance(name, str) and (match is None or match[1] != name):
        col.add("convert.lossy", "warning",
                f"message {idx}: tool message name {name!r} does not match its call and was dropped",
                path=f"{here}/name", message_index=idx)
