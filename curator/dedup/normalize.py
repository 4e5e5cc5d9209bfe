"""The text that dedup compares: one normalised string per example.

Two examples are duplicates when a reader would call them the same conversation, so the
normal form drops what a reader does not see (Unicode compatibility forms, case, runs of
whitespace, invisible format characters) and keeps what changes the meaning: who said what.
Each turn is prefixed with its role, so a user turn never equals an assistant turn.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any

from curator.formats.content import content_text

# Invisible characters that survive NFKC and `str.split()`; copied text often carries them,
# and two otherwise identical examples must not differ by a zero-width space.
_INVISIBLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff"

_SYSTEM_ROLES = frozenset({"system", "developer"})


def normalize_text(text: str) -> str:
    """NFKC, case-fold, drop invisible characters, collapse whitespace to single spaces."""
    if text.isascii():  # nothing to compose or drop; a third of the cost on English text
        return " ".join(text.lower().split())
    text = unicodedata.normalize("NFKC", text).casefold()
    # `in` and `replace` scan at memory speed; str.translate with a table was 60 us a text
    for ch in _INVISIBLE:
        if ch in text:
            text = text.replace(ch, "")
    return " ".join(text.split())


#: how `example_text` reads content; part of the pair cache's key (workspace.dedup), so a cache
#: built by another version is recomputed, not reused. 2: parts joined with nothing (the text a
#: model trains on), images as `<image URL>`, other parts left out (1 joined parts with a space).
#: 3: preference and feedback records compared whole, side by side (2 read them as empty).
TEXT_VERSION = 3


def _content_text(content: Any) -> str:
    return content_text(content, images="tag", others="skip")


#: Put before every visible character of a pair's comparison text (a private-use code point:
#: NFKC and case folding keep it), so no character or word shingle of a pair is ever one of a
#: chat example's: a chat record and a pair on the same prompt are never near duplicates.
_PAIR_MARK = "\ue000"
#: the sides of a workspace's preference pair and KTO feedback record, in comparison order
_PAIR_SIDES = {"preference": ("prompt", "chosen", "rejected"), "feedback": ("prompt", "completion")}


def example_text(example: Mapping[str, Any], *, include_system: bool = False) -> str:
    """The raw (not yet normalised) comparison text of a chat example.

    Tool calls are content: two answers that call different functions are different answers.
    A preference pair ({prompt, chosen, rejected}) or a KTO feedback row ({prompt, completion,
    label}) is compared whole, each side marked (`<|chosen|>`), after a first line naming its
    kind: two pairs are the same only when prompt and both answers are; every visible character
    of it follows `_PAIR_MARK`, so it shares no shingle with any chat example's text.
    """
    if "messages" not in example and isinstance(example.get("prompt"), list):
        kind = "feedback" if "completion" in example else "preference"
        lines = [f"<|{kind}|>" if kind == "preference" else
                 f"<|feedback {'good' if example.get('label') else 'bad'}|>"]
        for side in _PAIR_SIDES[kind]:
            value = example.get(side)
            lines.append(f"<|{side}|>")
            if isinstance(value, list):
                lines.append(example_text({"messages": value}, include_system=include_system))
        return "".join(ch if ch.isspace() else _PAIR_MARK + ch for ch in "\n".join(lines))
    turns: list[str] = []
    for message in example.get("messages", ()):
        role = str(message.get("role", ""))
        if role in _SYSTEM_ROLES and not include_system:
            continue
        content = message.get("content")
        if type(content) is str and "tool_calls" not in message and (
                "function_call" not in message):
            turns.append(f"<|{role}|> {content}")  # the common case, as below without calls
            continue
        pieces = [_content_text(content)]
        for call in message.get("tool_calls") or ():
            function = call.get("function", {})
            pieces.append(f"<call {function.get('name', '')} {function.get('arguments', '')}>")
        function_call = message.get("function_call")
        if function_call:
            pieces.append(
                f"<call {function_call.get('name', '')} {function_call.get('arguments', '')}>"
            )
        turns.append(f"<|{role}|> " + " ".join(p for p in pieces if p))
    return "\n".join(turns)


def normalize_example(example: Mapping[str, Any], *, include_system: bool = False) -> str:
    """The normalised comparison text of a chat example (see the module docstring)."""
    return normalize_text(example_text(example, include_system=include_system))


def padded(example: Mapping[str, Any]) -> int:
    """1 when a message's content is a string padded with blanks, else 0: `_PADDED_SQL`
    (curator.workspace.dedup) on the parsed example (leading or trailing space, tab, CR or LF; three spaces in a row; three
    line feeds in a row), run by the dedup workers on each example they read (in compiled code,
    `kernels.plain_chat`, for an example of the plain chat shape)."""
    messages = example.get("messages")
    if type(messages) is not list:  # (exact type tests first: the ABC checks cost more)
        if isinstance(messages, Mapping):  # json_each walks an object's values too
            messages = list(messages.values())
        elif not isinstance(messages, list):
            return 0
    for message in messages:
        if type(message) is not dict and not isinstance(message, Mapping):
            continue
        content = message.get("content")
        # a blank at either end is what trim() would take (no copy made to compare)
        if (type(content) is str or isinstance(content, str)) and content and (
                content[0] in _BLANKS or content[-1] in _BLANKS or "   " in content
                or "\n\n\n" in content):
            return 1
    return 0


_BLANKS = " \t\n\r"  # what _PADDED_SQL trims (and kernels.plain_chat)
