"""One JSON document from bytes: orjson first, the standard library to name what it rejects."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from curator.io.rows import _SURROGATE

# --- one JSON document from bytes -------------------------------------------------------------


@dataclass(slots=True)
class Parsed:
    """The outcome of parsing one JSON text: the value (None when unusable) and what was wrong.

    `problems` holds (code, message, hint) triples; the caller adds the location.
    """

    value: Any
    problems: list[tuple[str, str, str | None]]
    column: int | None = None
    #: the value as orjson writes it with sorted keys, when the duplicate-key test made it (the
    #: canonical form an exact-duplicate check hashes; None when not made)
    canonical: bytes | None = None


def same_colon_count(raw: bytes, value: Any) -> bytes | None:
    """`value` as canonical JSON (sorted keys) when `raw` cannot contain a duplicate key that
    orjson silently collapsed; None when it may (or `value` cannot be written).

    Every member of a JSON object is written with exactly one structural colon, and orjson writes
    colons inside strings verbatim. So for the source, colons = members + colons in its strings
    (escaped ones, `\\u003a`, are counted separately); for the re-serialised value, colons = kept
    members + colons in kept strings. The two totals are equal exactly when no member was dropped
    and no `\\u003a` text was counted wrongly; any mismatch sends the line to the slow parser.
    Sorting the keys changes no count, and gives the exact-duplicate check its key for free.
    """
    escaped = raw.count(b"\\u003a") + raw.count(b"\\u003A") if b"\\u003" in raw else 0
    try:
        again = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except (TypeError, orjson.JSONEncodeError):
        return None
    return again if raw.count(b":") + escaped == again.count(b":") else None


def _walk_strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _walk_strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _walk_strings(v)


#: deepest nesting of arrays and objects a row may have. orjson reads up to 1024 levels, but
#: Python code walking such a value (the rules, pickling it to a worker) runs out of stack long
#: before; real rows nest a dozen levels or so.
MAX_DEPTH = 128
_TOO_DEEP = ("json.invalid", f"invalid JSON: nested more than {MAX_DEPTH} levels deep",
             "flatten the data; no fine-tuning row nests this deep")


def _too_deep(raw: bytes | str, value: Any) -> bool:
    """True when `value` nests deeper than MAX_DEPTH (only walked when `raw` has enough brackets)."""
    if isinstance(raw, bytes):
        opened = raw.count(b"[") + raw.count(b"{")
    else:
        opened = raw.count("[") + raw.count("{")
    if opened <= MAX_DEPTH:
        return False
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        v, depth = stack.pop()
        children = v.values() if isinstance(v, dict) else v
        if depth > MAX_DEPTH:
            return True
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False


def _slow_parse(text: str) -> Parsed:
    """Standard-library parse that names every problem orjson would only refuse."""
    duplicates: list[str] = []
    constants: list[str] = []

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, val in pairs:
            if key in out:
                duplicates.append(key)
            out[key] = val
        return out

    def constant_hook(name: str) -> None:
        constants.append(name)

    try:
        value = json.loads(text, object_pairs_hook=pairs_hook, parse_constant=constant_hook)
    except json.JSONDecodeError as exc:
        return Parsed(None, [("json.invalid", f"invalid JSON: {exc.msg} (column {exc.colno})", None)],
                      column=exc.colno)
    except RecursionError:
        return Parsed(None, [_TOO_DEEP])
    if isinstance(value, (dict, list)) and _too_deep(text, value):
        return Parsed(None, [_TOO_DEEP])
    problems: list[tuple[str, str, str | None]] = []
    if constants:
        names = ", ".join(sorted(set(constants)))
        problems.append(("json.nonstandard_constant",
                         f"non-standard JSON constant {names} (standard JSON has no NaN/Infinity)",
                         "write null or a number; most JSON writers have an allow_nan=False option"))
    if any(_SURROGATE.search(s) for s in _walk_strings(value)):
        problems.append(("json.lone_surrogate",
                         "a string holds an unpaired UTF-16 surrogate escape (e.g. \\ud83d); "
                         "it cannot be encoded as UTF-8",
                         "fix the broken escape at the source (often a string cut in the middle of an emoji)"))
    if duplicates:
        problems.append(("json.duplicate_key",
                         f"duplicate key {', '.join(repr(k) for k in dict.fromkeys(duplicates))} in one "
                         "object; parsers keep only the last one",
                         "remove the duplicate key so the intended value is unambiguous"))
    if constants or any(p[0] == "json.lone_surrogate" for p in problems):
        return Parsed(None, problems)
    return Parsed(value, problems)


def parse_json_bytes(raw: bytes) -> Parsed:
    """Parse one JSON text. orjson first; the standard library only to explain a failure."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    else:
        if isinstance(value, (dict, list)) and _too_deep(raw, value):
            return Parsed(None, [_TOO_DEEP])
        canonical = same_colon_count(raw, value)
        if canonical is not None:
            return Parsed(value, [], canonical=canonical)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = raw[exc.start:exc.start + 4]
        return Parsed(None, [("file.not_utf8",
                              f"bytes {bad!r} at byte {exc.start} of the line are not valid UTF-8",
                              "re-encode the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)")],
                      column=exc.start + 1)
    return _slow_parse(text)
