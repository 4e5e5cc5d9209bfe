"""Streaming the elements of one JSON document (an array of rows), past a bad element."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from curator.io.parse import _TOO_DEEP, Parsed, _slow_parse

_STRUCTURAL = re.compile(r'["\[\]{},]')
#: the rest of a JSON string after its opening quote; an unterminated one ends at the line end
_STRING_REST = re.compile(r'(?:[^"\\\n]|\\.)*"?')


def _element_end(text: str, pos: int) -> int | None:
    """Where the array element starting at `pos` ends: the index of the ',' or ']' after it at
    the array's own level, found by matching brackets outside strings (no recursion, so any
    depth). None when the brackets do not balance: then there is no telling where it ends."""
    stack: list[str] = []
    i = pos
    while True:
        m = _STRUCTURAL.search(text, i)
        if m is None:
            return None
        c = m.group()
        i = m.end()
        if c == '"':
            sm = _STRING_REST.match(text, i)
            i = sm.end() if sm else i
        elif c in "[{":
            stack.append(c)
        elif c in "]}":
            if not stack:
                return m.start() if c == "]" else None
            if (stack.pop() == "[") != (c == "]"):
                return None
        elif not stack:
            return m.start()


def _lines_in(text: str) -> int:
    return text.count("\n") + (0 if text.endswith("\n") else 1)


def iter_json_document(text: str, stopped: list[tuple[int, int]] | None = None,
                       ) -> Iterator[tuple[int, str, Parsed]]:
    """Yield (line, raw text, Parsed) for each element of a JSON array, or the one object.

    A bad element becomes one unparsable record at its line, and reading goes on after it
    wherever its brackets balance (a stray or missing comma, a bad literal, NaN, deep nesting).
    Where they do not, nothing after it can be split into elements: the bad record says so and
    `(first, last)` lines of the part not read are appended to `stopped`.
    """
    decoder = json.JSONDecoder()
    n = len(text)
    pos = _skip_ws(text, 0)
    line = 1 + text.count("\n", 0, pos)

    def lost(at: int, raw: str, message: str, column: int | None = None) -> tuple[int, str, Parsed]:
        last = max(at, _lines_in(text))
        if stopped is not None:
            stopped.append((at, last))
        return at, raw, Parsed(None, [(
            "json.invalid", f"{message}; the rest of the file (lines {at}-{last}) cannot be read",
            "fix the JSON there and read the file again")], column)

    if pos < n and text[pos] == "[":
        pos = _skip_ws(text, pos + 1)
        counted = pos
        line = 1 + text.count("\n", 0, pos)
        missing_comma = False
        while pos < n:
            line += text.count("\n", counted, pos)
            counted = pos
            if text[pos] == "]":  # closing bracket (a trailing comma before it loses nothing)
                rest = _skip_ws(text, pos + 1)
                if rest < n:
                    yield lost(1 + text.count("\n", 0, rest), text[rest:rest + 200],
                               "invalid JSON: text after the array's closing ']'")
                return
            error: str | None = None
            column: int | None = None
            end = pos
            try:
                _, end = decoder.raw_decode(text, pos)
            except json.JSONDecodeError as exc:
                error = f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
                column = exc.colno
            except RecursionError:
                error = _TOO_DEEP[1]
            if error is None and missing_comma:
                error = "invalid JSON: expected ',' between array elements before this one"
            if error is None:
                raw = text[pos:end]
                yield line, raw, _slow_parse(raw)
                pos = _skip_ws(text, end)
            else:
                stop = _element_end(text, pos)
                if stop is None:
                    yield lost(line, text[pos:pos + 200], error, column)
                    return
                yield line, text[pos:stop].rstrip(), Parsed(None, [("json.invalid", error, None)], column)
                pos = stop
            missing_comma = False
            if pos < n and text[pos] == ",":
                pos = _skip_ws(text, pos + 1)
            elif pos < n and text[pos] != "]":
                missing_comma = True  # the next element is reported, then reading goes on
        yield line, "", Parsed(None, [("json.invalid", "invalid JSON: the array is not closed with ']'",
                                       "the file looks truncated")])
    else:
        parsed = _slow_parse(text)
        yield line, text, parsed


def _skip_ws(text: str, pos: int) -> int:
    n = len(text)
    while pos < n and text[pos] in " \t\r\n":
        pos += 1
    return pos
