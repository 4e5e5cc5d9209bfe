"""Compiled loops for shingling, MinHash and pair verification (numba, compiled on first use).

The numpy versions of these steps made a dozen passes over arrays the size of the batch's text
(prefix sums, windows, masks, the finaliser) and one `intersect1d` call a candidate pair; at a
million examples that was most of a dedup run. Here each text is walked once, in a loop that
keeps its state in registers. The functions take texts as one array of code points and the
offsets where each text starts (`encode`), so a batch crosses into compiled code once.

Hashes. A character n-gram is the fold h = h * P + (c + 1) over its code points, updated as
the window slides. A word n-gram is the same fold over the 64-bit hashes of its words (a word
is a run of characters that are not ASCII whitespace as `str.split()` sees it). Either is finished with splitmix64's
finaliser after mixing in the shingle size, so every bit of the result depends on every input
bit. A text shorter than one shingle is a single shingle of everything it has (an empty text
too), so every text has at least one hash.

The results never depend on how texts are batched: a text's hashes depend on its own
characters only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar, cast

import numba
import numpy as np
import numpy.typing as npt

U64 = npt.NDArray[np.uint64]
_F = TypeVar("_F", bound=Callable[..., Any])
I64 = npt.NDArray[np.int64]

_P = np.uint64(0x100000001B3 * 2 + 1)  # odd multiplier of the character fold
_Q = np.uint64(0x9E3779B97F4A7C15)  # odd multiplier of the word fold
_WORD_TAG = np.uint64(0x5157_4F52_4453_0000)  # keeps word and character hashes apart
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_ONE = np.uint64(1)
_EMPTY = np.uint32(0xFFFFFFFF)
_LOW32 = np.uint64(0xFFFFFFFF)
_ROTATE = np.uint32(0x9E3779B1)  # the offset per step of a borrowed bin


def _jit(**options: Any) -> Callable[[_F], _F]:
    """numba.njit that keeps compiled code in numba's cache (beside this file, else in the
    user's cache folder); where neither is writable, numba refuses to cache at all, so compile
    at each start instead of failing to import."""

    def wrap(fn: _F) -> _F:
        try:
            return cast(_F, numba.njit(cache=True, nogil=True, **options)(fn))
        except RuntimeError:  # "cannot cache function ...: no locator available"
            return cast(_F, numba.njit(nogil=True, **options)(fn))

    return wrap


def encode(texts: Sequence[str]) -> tuple[npt.NDArray[np.uint32], I64]:
    """The texts as one array of code points and the offset of each text (len(texts) + 1)."""
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    codes = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32)
    return codes, offsets


@_jit()
def _normalise_ascii(
    codes: npt.NDArray[np.uint32], offsets: I64, out: npt.NDArray[np.uint32], bounds: I64
) -> None:  # pragma: no cover - compiled
    pos = 0
    for t in range(len(offsets) - 1):
        bounds[t] = pos
        started = False
        gap = False
        for i in range(offsets[t], offsets[t + 1]):
            c = codes[i]
            if c == 32 or 9 <= c <= 13 or 28 <= c <= 31:  # what str.split() splits on, in ASCII
                gap = started
                continue
            if gap:
                out[pos] = 32
                pos += 1
                gap = False
            if 65 <= c <= 90:
                c += 32
            out[pos] = c
            pos += 1
            started = True
    bounds[len(offsets) - 1] = pos


def normalise_ascii(
    codes: npt.NDArray[np.uint32], offsets: I64
) -> tuple[npt.NDArray[np.uint32], I64]:
    """`normalize_text` for ASCII text: lower-case letters, every run of whitespace one space,
    none at either end (ASCII needs no NFKC, case folding is lower-casing, and it has no
    invisible characters to drop). Text that is normalised already comes back unchanged, so a
    batch may mix raw ASCII texts with texts normalised by `normalize_text`."""
    out = np.empty(len(codes), dtype=np.uint32)
    bounds = np.empty(len(offsets), dtype=np.int64)
    _normalise_ascii(codes, offsets, out, bounds)
    return out[: bounds[-1]], bounds


@_jit()
def _normalise_utf8(
    data: npt.NDArray[np.uint8], bounds: I64, codes: npt.NDArray[np.uint32], offsets: I64,
    out: npt.NDArray[np.uint8], out_bounds: I64,
) -> None:  # pragma: no cover - compiled
    """`_normalise_ascii` over UTF-8 texts (data[bounds[t]:bounds[t + 1]]), decoding as it
    goes: the normalised text as code points (codes, offsets) and as UTF-8 (out, out_bounds).
    Only ASCII is changed; any other character is copied, its bytes as they are."""
    pos = 0
    at = 0
    for t in range(len(bounds) - 1):
        offsets[t] = pos
        out_bounds[t] = at
        started = False
        gap = False
        i = bounds[t]
        end = bounds[t + 1]
        while i < end:
            c = np.uint32(data[i])
            width = 1
            if c >= 0x80:
                if c < 0xE0:
                    c = ((c & np.uint32(0x1F)) << np.uint32(6)) | (np.uint32(data[i + 1]) & np.uint32(0x3F))
                    width = 2
                elif c < 0xF0:
                    c = (((c & np.uint32(0x0F)) << np.uint32(12))
                         | ((np.uint32(data[i + 1]) & np.uint32(0x3F)) << np.uint32(6))
                         | (np.uint32(data[i + 2]) & np.uint32(0x3F)))
                    width = 3
                else:
                    c = (((c & np.uint32(0x07)) << np.uint32(18))
                         | ((np.uint32(data[i + 1]) & np.uint32(0x3F)) << np.uint32(12))
                         | ((np.uint32(data[i + 2]) & np.uint32(0x3F)) << np.uint32(6))
                         | (np.uint32(data[i + 3]) & np.uint32(0x3F)))
                    width = 4
            elif c == 32 or 9 <= c <= 13 or 28 <= c <= 31:  # str.split()'s, in ASCII
                gap = started
                i += 1
                continue
            if gap:
                codes[pos] = 32
                pos += 1
                out[at] = 32
                at += 1
                gap = False
            if 65 <= c <= 90:
                c += 32
            codes[pos] = c
            pos += 1
            if width == 1:
                out[at] = np.uint8(c)
                at += 1
            else:
                for k in range(width):
                    out[at] = data[i + k]
                    at += 1
            i += width
            started = True
    offsets[len(bounds) - 1] = pos
    out_bounds[len(bounds) - 1] = at


def normalise_utf8(
    data: npt.NDArray[np.uint8], bounds: I64
) -> tuple[npt.NDArray[np.uint32], I64, npt.NDArray[np.uint8], I64]:
    """`normalise_ascii` of UTF-8 texts (the bytes data[bounds[t]:bounds[t + 1]]), without
    decoding them in Python first: the normalised texts as code points with their offsets, as
    `encode` gives them, and as UTF-8 with their byte bounds."""
    codes = np.empty(len(data), dtype=np.uint32)
    offsets = np.empty(len(bounds), dtype=np.int64)
    out = np.empty(len(data), dtype=np.uint8)
    out_bounds = np.empty(len(bounds), dtype=np.int64)
    _normalise_utf8(data, np.ascontiguousarray(bounds, dtype=np.int64), codes, offsets, out,
                    out_bounds)
    return codes[: offsets[-1]], offsets, out[: out_bounds[-1]], out_bounds


@_jit(inline="always")
def _skip_blank(data: npt.NDArray[np.uint8], i: int, end: int) -> int:  # pragma: no cover
    """The index of the first byte at or after i that is not JSON whitespace."""
    while i < end and (data[i] == 32 or data[i] == 10 or data[i] == 13 or data[i] == 9):
        i += 1
    return i


@_jit()
def _json_string(
    data: npt.NDArray[np.uint8], i: int, end: int, out: npt.NDArray[np.uint8], at: int
) -> tuple[int, int, int]:  # pragma: no cover - compiled
    """The JSON string whose opening quote is data[i], unescaped into out[at:] as UTF-8:
    (the index after its closing quote, the end of its text in out, 0 when the text is
    ASCII, 1 when not, -1 when this is not a string read here: a raw control character, an
    unknown escape, a surrogate escape, or no closing quote; the caller's parser decides)."""
    if i >= end or data[i] != 34:
        return i, at, -1
    i += 1
    wide = 0
    while i < end:
        c = data[i]
        if c == 34:
            return i + 1, at, wide
        if c == 92:
            if i + 1 >= end:
                return i, at, -1
            e = data[i + 1]
            if e == 34 or e == 92 or e == 47:
                out[at] = e
            elif e == 110:
                out[at] = 10
            elif e == 116:
                out[at] = 9
            elif e == 114:
                out[at] = 13
            elif e == 98:
                out[at] = 8
            elif e == 102:
                out[at] = 12
            elif e == 117:
                if i + 6 > end:
                    return i, at, -1
                code = 0
                for k in range(2, 6):
                    h = np.int64(data[i + k])
                    if 48 <= h <= 57:
                        code = code * 16 + (h - 48)
                    elif 97 <= h <= 102:
                        code = code * 16 + (h - 87)
                    elif 65 <= h <= 70:
                        code = code * 16 + (h - 55)
                    else:
                        return i, at, -1
                if 0xD800 <= code <= 0xDFFF:  # a surrogate (pair): left to the JSON parser
                    return i, at, -1
                if code < 0x80:
                    out[at] = code
                    at += 1
                elif code < 0x800:
                    out[at] = 0xC0 | (code >> 6)
                    out[at + 1] = 0x80 | (code & 0x3F)
                    at += 2
                    wide = 1
                else:
                    out[at] = 0xE0 | (code >> 12)
                    out[at + 1] = 0x80 | ((code >> 6) & 0x3F)
                    out[at + 2] = 0x80 | (code & 0x3F)
                    at += 3
                    wide = 1
                i += 6
                continue
            else:
                return i, at, -1
            at += 1
            i += 2
            continue
        if c < 32:  # not allowed raw in a JSON string
            return i, at, -1
        if c >= 128:
            wide = 1
        out[at] = c
        at += 1
        i += 1
    return i, at, -1


@_jit(inline="always")
def _is_blank(c: np.uint8) -> bool:  # pragma: no cover - compiled
    return bool(c == 32 or c == 9 or c == 10 or c == 13)  # padded's blanks (trim's)


@_jit(inline="always")
def _same(buf: npt.NDArray[np.uint8], length: int, word: npt.NDArray[np.uint8]) -> bool:  # pragma: no cover
    if length != len(word):
        return False
    k = 0
    while k < length and buf[k] == word[k]:
        k += 1
    return k == length


_MESSAGES = np.frombuffer(b"messages", dtype=np.uint8)
_ROLE = np.frombuffer(b"role", dtype=np.uint8)
_CONTENT = np.frombuffer(b"content", dtype=np.uint8)
_SYSTEM = np.frombuffer(b"system", dtype=np.uint8)
_DEVELOPER = np.frombuffer(b"developer", dtype=np.uint8)


@_jit()
def _plain_chat_one(
    data: npt.NDArray[np.uint8], i: int, end: int, include_system: bool,
    out: npt.NDArray[np.uint8], at: int, key: npt.NDArray[np.uint8],
    role: npt.NDArray[np.uint8], content: npt.NDArray[np.uint8],
) -> tuple[int, int, int]:  # pragma: no cover - compiled
    """One example's JSON if it is exactly {"messages": [{"role": str, "content": str},
    ...]} (the two keys in either order, each once; JSON whitespace anywhere): its comparison
    text written to out[at:] (`normalize.example_text`: "<|role|> content" a kept turn, joined
    by line feeds), and (end of the text in out, 0 ASCII text / 1 not / -1 any other shape,
    padded: `normalize.padded` of it)."""
    i = _skip_blank(data, i, end)
    if i >= end or data[i] != 123:
        return at, -1, 0
    i, n, kind = _json_string(data, _skip_blank(data, i + 1, end), end, key, 0)
    if kind != 0 or not _same(key, n, _MESSAGES):
        return at, -1, 0
    i = _skip_blank(data, i, end)
    if i >= end or data[i] != 58:
        return at, -1, 0
    i = _skip_blank(data, i + 1, end)
    if i >= end or data[i] != 91:
        return at, -1, 0
    i = _skip_blank(data, i + 1, end)
    wide = 0
    pad = 0
    first = True
    if i < end and data[i] == 93:  # no messages
        i += 1
    else:
        while True:
            if i >= end or data[i] != 123:
                return at, -1, 0
            i = _skip_blank(data, i + 1, end)
            n_role = -1
            n_content = -1
            role_wide = 0
            content_wide = 0
            while True:
                i, n, kind = _json_string(data, i, end, key, 0)
                if kind != 0:
                    return at, -1, 0
                i = _skip_blank(data, i, end)
                if i >= end or data[i] != 58:
                    return at, -1, 0
                i = _skip_blank(data, i + 1, end)
                if _same(key, n, _ROLE) and n_role < 0:
                    i, n_role, role_wide = _json_string(data, i, end, role, 0)
                    if role_wide < 0:
                        return at, -1, 0
                elif _same(key, n, _CONTENT) and n_content < 0:
                    i, n_content, content_wide = _json_string(data, i, end, content, 0)
                    if content_wide < 0:
                        return at, -1, 0
                else:  # another key, a repeated one, or a value that is not a string
                    return at, -1, 0
                i = _skip_blank(data, i, end)
                if i < end and data[i] == 44:
                    i = _skip_blank(data, i + 1, end)
                    continue
                if i < end and data[i] == 125:
                    i += 1
                    break
                return at, -1, 0
            if n_role < 0 or n_content < 0:
                return at, -1, 0
            if pad == 0 and n_content > 0:
                if _is_blank(content[0]) or _is_blank(content[n_content - 1]):
                    pad = 1
                else:
                    for k in range(n_content - 2):
                        c = content[k]
                        if (c == 32 or c == 10) and content[k + 1] == c and content[k + 2] == c:
                            pad = 1
                            break
            if include_system or not (_same(role, n_role, _SYSTEM)
                                      or _same(role, n_role, _DEVELOPER)):
                if not first:
                    out[at] = 10
                    at += 1
                first = False
                out[at] = 60  # <|
                out[at + 1] = 124
                at += 2
                out[at : at + n_role] = role[:n_role]
                at += n_role
                out[at] = 124  # |> and a space
                out[at + 1] = 62
                out[at + 2] = 32
                at += 3
                out[at : at + n_content] = content[:n_content]
                at += n_content
                wide |= role_wide | content_wide
            i = _skip_blank(data, i, end)
            if i < end and data[i] == 44:
                i = _skip_blank(data, i + 1, end)
                continue
            if i < end and data[i] == 93:
                i += 1
                break
            return at, -1, 0
    i = _skip_blank(data, i, end)
    if i >= end or data[i] != 125:
        return at, -1, 0
    if _skip_blank(data, i + 1, end) != end:
        return at, -1, 0
    return at, wide, pad


@_jit()
def _plain_chat(
    data: npt.NDArray[np.uint8], bounds: I64, include_system: bool,
    out: npt.NDArray[np.uint8], out_bounds: I64, kinds: npt.NDArray[np.int8],
    pads: npt.NDArray[np.int8], longest: int,
) -> None:  # pragma: no cover - compiled
    key = np.empty(longest, dtype=np.uint8)
    role = np.empty(longest, dtype=np.uint8)
    content = np.empty(longest, dtype=np.uint8)
    at = 0
    for t in range(len(bounds) - 1):
        out_bounds[t] = at
        end_at, kind, pad = _plain_chat_one(data, bounds[t], bounds[t + 1], include_system,
                                            out, at, key, role, content)
        kinds[t] = kind
        pads[t] = pad
        if kind >= 0:
            at = end_at
    out_bounds[len(bounds) - 1] = at


def plain_chat(
    data: npt.NDArray[np.uint8], bounds: I64, include_system: bool
) -> tuple[npt.NDArray[np.uint8], I64, npt.NDArray[np.int8], npt.NDArray[np.int8]]:
    """The comparison texts (`normalize.example_text`, not yet normalised) of examples given
    as JSON (the bytes data[bounds[t]:bounds[t + 1]]) of the plain chat shape, read without
    building Python objects: (the texts as UTF-8, back to back, their byte bounds, each
    example's kind: 0 its text is ASCII, 1 it is not, -1 the example has another shape (a
    tool call, content parts, more keys, escapes this does not read) and its text is empty
    here, and `normalize.padded` of each example read). Every example of kind -1 must be
    read by the JSON parser and `example_text` instead."""
    bounds = np.ascontiguousarray(bounds, dtype=np.int64)
    t = len(bounds) - 1
    longest = int(np.max(np.diff(bounds))) if t else 0
    out = np.empty(len(data) + 1, dtype=np.uint8)
    out_bounds = np.empty(t + 1, dtype=np.int64)
    kinds = np.empty(t, dtype=np.int8)
    pads = np.empty(t, dtype=np.int8)
    _plain_chat(data, bounds, bool(include_system), out, out_bounds, kinds, pads, longest + 1)
    return out[: out_bounds[-1]], out_bounds, kinds, pads


@_jit(inline="always")
def _mix(x: np.uint64) -> np.uint64:  # pragma: no cover - compiled
    x = x ^ (x >> np.uint64(30))
    x = x * _M1
    x = x ^ (x >> np.uint64(27))
    x = x * _M2
    mixed: np.uint64 = x ^ (x >> np.uint64(31))
    return mixed


@_jit(inline="always")
def _is_space(c: np.uint32) -> bool:  # pragma: no cover - compiled
    return bool(c == 32 or (9 <= c <= 13) or (28 <= c <= 31))  # str.split()'s, in ASCII


@_jit()
def _text_shingles(
    codes: npt.NDArray[np.uint32], a: int, b: int, word: bool, n: int, out: U64, pos: int
) -> int:  # pragma: no cover - compiled
    """Write the shingle hashes of codes[a:b] to out[pos:]; return the new end."""
    size = np.uint64(n)
    if not word:
        length = b - a
        if length < n:  # one shingle: the whole text
            h = np.uint64(0)
            for i in range(a, b):
                h = h * _P + np.uint64(codes[i]) + _ONE
            out[pos] = _mix(h ^ np.uint64(length))
            return pos + 1
        top = np.uint64(1)  # P^(n-1), to take the leaving character out of the window
        for _ in range(n - 1):
            top = top * _P
        h = np.uint64(0)
        for i in range(a, a + n):
            h = h * _P + np.uint64(codes[i]) + _ONE
        out[pos] = _mix(h ^ size)
        pos += 1
        for i in range(a + n, b):
            h = (h - (np.uint64(codes[i - n]) + _ONE) * top) * _P + np.uint64(codes[i]) + _ONE
            out[pos] = _mix(h ^ size)
            pos += 1
        return pos
    # words: hash each word, then fold n consecutive word hashes
    first = pos
    i = a
    while i < b:
        while i < b and _is_space(codes[i]):
            i += 1
        if i == b:
            break
        h = np.uint64(0)
        while i < b and not _is_space(codes[i]):
            h = h * _P + np.uint64(codes[i]) + _ONE
            i += 1
        out[pos] = _mix(h)
        pos += 1
    words = pos - first
    if words < n:  # one shingle: every word there is (none for an empty text)
        g = _WORD_TAG
        for k in range(first, pos):
            g = g * _Q + out[k]
        out[first] = _mix(g ^ np.uint64(words))
        return first + 1
    # in place: window k reads words k .. k+n-1, all at or after the slot it writes
    for k in range(words - n + 1):
        g = _WORD_TAG
        for j in range(n):
            g = g * _Q + out[first + k + j]
        out[first + k] = _mix(g ^ size)
    return first + words - n + 1


@_jit()
def _longest(offsets: I64) -> int:  # pragma: no cover - compiled
    best = 0
    for t in range(len(offsets) - 1):
        best = max(best, offsets[t + 1] - offsets[t])
    return best


@_jit()
def _all_shingles(
    codes: npt.NDArray[np.uint32], offsets: I64, word: bool, n: int, out: U64, bounds: I64
) -> None:  # pragma: no cover - compiled
    pos = 0
    for t in range(len(offsets) - 1):
        bounds[t] = pos
        pos = _text_shingles(codes, offsets[t], offsets[t + 1], word, n, out, pos)
    bounds[len(offsets) - 1] = pos


def shingles(
    codes: npt.NDArray[np.uint32], offsets: I64, word: bool, n: int
) -> tuple[U64, I64]:
    """Every shingle hash of every text in order, duplicates kept, and each text's bounds."""
    return _per_text(_all_shingles, codes, offsets, word, n)


def _per_text(kernel: Any, codes: npt.NDArray[np.uint32], offsets: I64, word: bool,
              n: int) -> tuple[U64, I64]:
    """Run a kernel that writes each text's shingles one after the other into `out` and each
    text's start into `bounds` (a text has at most one shingle per code point, plus one)."""
    out = np.empty(max(1, len(codes) + len(offsets)), dtype=np.uint64)
    bounds = np.empty(len(offsets), dtype=np.int64)
    kernel(codes, offsets, word, n, out, bounds)
    return out[: bounds[-1]], bounds


@_jit(inline="always")
def _table_size(entries: int) -> int:  # pragma: no cover - compiled
    """Slots of an open-addressing table for `entries` values: the smallest power of two, at
    least 16, with at most half of it filled."""
    size = 16
    while size < 2 * entries:
        size *= 2
    return size


@_jit()
def _all_distinct(
    codes: npt.NDArray[np.uint32], offsets: I64, word: bool, n: int, out: U64, bounds: I64
) -> None:  # pragma: no cover - compiled
    longest = max(1, _longest(offsets))
    scratch = np.empty(longest, dtype=np.uint64)
    capacity = _table_size(longest)
    keys = np.empty(capacity, dtype=np.uint64)
    marks = np.zeros(capacity, dtype=np.uint8)
    pos = 0
    for t in range(len(offsets) - 1):
        bounds[t] = pos
        count = _text_shingles(codes, offsets[t], offsets[t + 1], word, n, scratch, 0)
        size = _table_size(count)
        mask = np.uint64(size - 1)
        marks[:size] = 0
        for k in range(count):
            slot = _slot(keys, marks, mask, scratch[k])
            if marks[slot] == 0:
                keys[slot] = scratch[k]
                marks[slot] = 1
                out[pos] = scratch[k]
                pos += 1
    bounds[len(offsets) - 1] = pos


def distinct_shingles(
    codes: npt.NDArray[np.uint32], offsets: I64, word: bool, n: int
) -> tuple[U64, I64]:
    """`shingles` with each text's repeats dropped (first occurrences, in order)."""
    return _per_text(_all_distinct, codes, offsets, word, n)


#: buckets of a text's profile: how many of its distinct shingles fall in each of PROFILE
#: ranges of the hash (bits 32-39). Two texts share at most sum(min) of their counts, a bound
#: on their Jaccard that a pair needs no shingle for (`profile_bounds`)
PROFILE = 256
#: a bucket's count stops here: the true count is this or more
PROFILE_FULL = 255
_PROFILE_SHIFT = np.uint64(32)
_PROFILE_MASK = np.uint64(PROFILE - 1)


@_jit()
def _distinct_profile(
    hashes: U64, count: int, keys: U64, marks: npt.NDArray[np.uint8],
    profile: npt.NDArray[np.uint8],
) -> int:  # pragma: no cover - compiled
    """`_distinct`, each distinct value also counted in its bucket of `profile` (zeroed here;
    a count stops at PROFILE_FULL)."""
    size = _table_size(count)
    mask = np.uint64(size - 1)
    marks[:size] = 0
    profile[:] = 0
    found = 0
    for k in range(count):
        h = hashes[k]
        slot = _slot(keys, marks, mask, h)
        if marks[slot] == 0:
            keys[slot] = h
            marks[slot] = 1
            found += 1
            bucket = (h >> _PROFILE_SHIFT) & _PROFILE_MASK
            if profile[bucket] < PROFILE_FULL:
                profile[bucket] += 1
    return found


@_jit()
def _signatures(
    codes: npt.NDArray[np.uint32], offsets: I64, word: bool, n: int, bits: int,
    sig: npt.NDArray[np.uint32], own: npt.NDArray[np.bool_], distinct: I64,
    profiles: npt.NDArray[np.uint8],
) -> None:  # pragma: no cover - compiled
    """One-permutation MinHash: the top `bits` bits of a shingle hash choose its bin, the low
    32 bits are its value, and each bin keeps its minimum. `sig` comes filled with _EMPTY;
    own[t, b] says whether bin b of text t got a shingle of its own (was not borrowed).
    When `profiles` has a row a text, distinct[t] is how many distinct shingles text t has
    and profiles[t] its profile (`_distinct_profile`)."""
    longest = max(1, _longest(offsets))
    scratch = np.empty(longest, dtype=np.uint64)
    profiled = profiles.shape[0] == len(offsets) - 1
    capacity = _table_size(longest) if profiled else 16
    keys = np.empty(capacity, dtype=np.uint64)
    marks = np.zeros(capacity, dtype=np.uint8)
    shift = np.uint64(64 - bits)
    for t in range(len(offsets) - 1):
        count = _text_shingles(codes, offsets[t], offsets[t + 1], word, n, scratch, 0)
        if profiled:
            distinct[t] = _distinct_profile(scratch, count, keys, marks, profiles[t])
        row = sig[t]
        for k in range(count):
            h = scratch[k]
            b = h >> shift
            v = np.uint32(h & _LOW32)
            if v < row[b]:
                row[b] = v
        for b in range(len(row)):
            own[t, b] = row[b] != _EMPTY
        _densify(row)


@_jit()
def _densify(row: npt.NDArray[np.uint32]) -> None:  # pragma: no cover - compiled
    """Fill empty bins in place: an empty bin borrows the value of the next non-empty bin to
    its right, circularly, plus the distance times an odd constant (rotation densification),
    so two texts agree on a borrowed bin only when they agree on the bin it came from."""
    bins = len(row)
    last = -1  # the nearest non-empty bin at or after the current one, in the doubled row
    for i in range(2 * bins - 1, -1, -1):
        if row[i % bins] != _EMPTY:
            last = i
        elif i < bins and last >= 0:
            # `last` may point into the row's second copy; its value is still the original's
            row[i] = row[last % bins] + np.uint32(last - i) * _ROTATE


def minhash(
    codes: npt.NDArray[np.uint32], offsets: I64, word: bool, n: int, num_perm: int
) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.bool_]]:
    """One-permutation signatures with empty bins filled, shape (texts, num_perm), and which
    bins of each text hold a shingle of its own (the others were borrowed)."""
    sig = np.full((len(offsets) - 1, num_perm), _EMPTY, dtype=np.uint32)
    own = np.empty((len(offsets) - 1, num_perm), dtype=np.bool_)
    _signatures(codes, offsets, word, n, num_perm.bit_length() - 1, sig, own,
                np.empty(0, dtype=np.int64), _NO_PROFILES)
    return sig, own


def minhash_profiles(
    codes: npt.NDArray[np.uint32], offsets: I64, word: bool, n: int, num_perm: int
) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.bool_], I64, npt.NDArray[np.uint8]]:
    """`minhash`, how many distinct shingles each text has (verification needs it for every
    text it compares: counted here once a text instead of once a chunk), and each text's
    profile (shape (texts, PROFILE)): the counts of its distinct shingles by bucket, which
    bound how many it can share with another text (`profile_bounds`), all in one pass."""
    sig = np.full((len(offsets) - 1, num_perm), _EMPTY, dtype=np.uint32)
    own = np.empty((len(offsets) - 1, num_perm), dtype=np.bool_)
    distinct = np.empty(len(offsets) - 1, dtype=np.int64)
    profiles = np.empty((len(offsets) - 1, PROFILE), dtype=np.uint8)
    _signatures(codes, offsets, word, n, num_perm.bit_length() - 1, sig, own, distinct,
                profiles)
    return sig, own, distinct, profiles


_NO_PROFILES = np.empty((0, PROFILE), dtype=np.uint8)


@_jit()
def _profiled_records(
    utf8: npt.NDArray[np.uint8], bounds: I64, profiles: npt.NDArray[np.uint8],
    out: npt.NDArray[np.uint8], out_bounds: I64,
) -> None:  # pragma: no cover - compiled
    pos = 0
    width = profiles.shape[1]
    for t in range(len(bounds) - 1):
        out_bounds[t] = pos
        out[pos : pos + width] = profiles[t]
        pos += width
        size = bounds[t + 1] - bounds[t]
        out[pos : pos + size] = utf8[bounds[t] : bounds[t + 1]]
        pos += size
    out_bounds[len(bounds) - 1] = pos


def profiled_records(
    utf8: npt.NDArray[np.uint8], bounds: I64, profiles: npt.NDArray[np.uint8]
) -> tuple[npt.NDArray[np.uint8], I64]:
    """Each text's profile row followed by its bytes (utf8[bounds[t]:bounds[t + 1]]), text
    after text, and where each record starts (len(bounds) values, the last the end): the
    records as dedup spills them."""
    out = np.empty(len(utf8) + profiles.size, dtype=np.uint8)
    out_bounds = np.empty(len(bounds), dtype=np.int64)
    _profiled_records(utf8, np.ascontiguousarray(bounds, dtype=np.int64),
                      np.ascontiguousarray(profiles, dtype=np.uint8), out, out_bounds)
    return out, out_bounds


@_jit()
def _profile_bounds(
    data: npt.NDArray[np.uint8], at: I64, left: I64, right: I64, distinct: I64,
    upper: npt.NDArray[np.float64],
) -> None:  # pragma: no cover - compiled
    for p in range(len(left)):
        x = data[at[left[p]] : at[left[p]] + PROFILE]
        y = data[at[right[p]] : at[right[p]] + PROFILE]
        shared = 0
        full = 0
        for k in range(PROFILE):  # no branch: the loop runs many bytes at a time
            m = min(x[k], y[k])
            shared += np.int32(m)
            full += np.int32(m == PROFILE_FULL)
        total = distinct[left[p]] + distinct[right[p]]
        if full or total - shared <= 0:
            upper[p] = np.nan
        else:
            upper[p] = shared / (total - shared)


def profile_bounds(
    data: npt.NDArray[np.uint8], at: I64, left: I64, right: I64,
    distinct: npt.NDArray[np.integer[Any]],
) -> npt.NDArray[np.float64]:
    """For each pair (left[p], right[p]) of texts: the highest Jaccard of their shingle sets
    that their profiles allow (`minhash_profiles`: text t's is the PROFILE bytes of `data`
    from at[t]; distinct[t] its number of distinct shingles), or NaN where they set no bound
    (a bucket full in both). Two texts share at most, bucket by bucket, the smaller of their
    counts; the Jaccard `pair_similarities` gives a pair is never above this figure."""
    upper = np.empty(len(left), dtype=np.float64)
    _profile_bounds(np.ascontiguousarray(data, dtype=np.uint8).reshape(-1),
                    np.ascontiguousarray(at, dtype=np.int64),
                    np.ascontiguousarray(left, dtype=np.int64),
                    np.ascontiguousarray(right, dtype=np.int64),
                    np.ascontiguousarray(distinct, dtype=np.int64), upper)
    return upper


@_jit(inline="always")
def _slot(
    keys: U64, marks: npt.NDArray[np.uint8], mask: np.uint64, h: np.uint64
) -> np.uint64:  # pragma: no cover - compiled
    """Where h is in the open-addressing table, or the empty slot where it would go."""
    slot = h & mask
    while marks[slot] != 0 and keys[slot] != h:
        slot = (slot + _ONE) & mask
    found: np.uint64 = slot
    return found


@_jit()
def _frequent_table(frequent: U64) -> tuple[U64, npt.NDArray[np.uint8]]:  # pragma: no cover
    """The frequent hashes in an open-addressing table (keys, marks; its size a power of two
    at least four times theirs): `_in_frequent` looks a hash up in a probe or two where the
    binary search takes a dozen unpredictable steps, and a text's shingles are asked many
    times each (a boilerplate shingle is in most texts, by definition)."""
    size = 16
    while size < 4 * len(frequent):
        size *= 2
    keys = np.empty(size, dtype=np.uint64)
    marks = np.zeros(size, dtype=np.uint8)
    mask = np.uint64(size - 1)
    for h in frequent:
        slot = _slot(keys, marks, mask, h)
        keys[slot] = h
        marks[slot] = 1
    return keys, marks


@_jit(inline="always")
def _in_frequent(fkeys: U64, fmarks: npt.NDArray[np.uint8], h: np.uint64) -> bool:  # pragma: no cover
    """Whether h is in the `_frequent_table` (fkeys, fmarks)."""
    slot = _slot(fkeys, fmarks, np.uint64(len(fkeys) - 1), h)
    return bool(fmarks[slot] != 0)


@_jit()
def _distinct_own(
    hashes: U64, count: int, keys: U64, marks: npt.NDArray[np.uint8], fkeys: U64,
    fmarks: npt.NDArray[np.uint8],
) -> int:  # pragma: no cover - compiled
    """How many distinct values hashes[:count] holds that are not in the `_frequent_table`
    (fkeys, fmarks)."""
    size = _table_size(count)
    mask = np.uint64(size - 1)
    marks[:size] = 0
    found = 0
    for k in range(count):
        slot = _slot(keys, marks, mask, hashes[k])
        if marks[slot] == 0:
            keys[slot] = hashes[k]
            marks[slot] = 1
            if not _in_frequent(fkeys, fmarks, hashes[k]):
                found += 1
    return found


#: the `_frequent_table` of no hash: `_distinct_own` with it counts every distinct value
_NO_FREQUENT_KEYS = np.zeros(16, dtype=np.uint64)
_NO_FREQUENT_MARKS = np.zeros(16, dtype=np.uint8)


@_jit()
def _distinct(
    hashes: U64, count: int, keys: U64, marks: npt.NDArray[np.uint8]
) -> int:  # pragma: no cover - compiled
    """How many distinct values hashes[:count] holds (keys and marks: scratch tables)."""
    return _distinct_own(hashes, count, keys, marks, _NO_FREQUENT_KEYS, _NO_FREQUENT_MARKS)


@_jit()
def _pair_sims(
    codes: npt.NDArray[np.uint32], offsets: I64, word: bool, n: int, left: I64, right: I64,
    sims: npt.NDArray[np.float64], frequent: U64, threshold: float, min_own: int,
    own: npt.NDArray[np.float64], known: I64, stop: bool,
) -> None:  # pragma: no cover - compiled
    """Exact Jaccard of two shingle sets, |A & B| / (|A| + |B| - |A & B|). The left text's
    shingles go into an open-addressing table that stays while consecutive pairs share their
    left text (candidates come sorted by it, so a record with many candidates builds its
    table once); each text's number of distinct shingles is counted once; the right text's
    shingles are looked up, each table slot stamped with the pair so a shingle repeated in
    the right text counts once.

    With `frequent` (sorted boilerplate hashes) not empty, a pair whose Jaccard reaches
    `threshold` also gets `own[p]`, the overlap coefficient of the two sets without the
    frequent shingles (boilerplate.own_similarity), or NaN where either keeps fewer than
    `min_own`; `own` comes filled with NaN. The left table's slots learn whether they are
    frequent once per left text, and only when one of its pairs reaches the threshold."""
    texts = len(offsets) - 1
    longest = max(1, _longest(offsets))
    left_hashes = np.empty(longest, dtype=np.uint64)
    right_hashes = np.empty(longest, dtype=np.uint64)
    # the left text's table at most an eighth full (`_table_size` is half): shorter probe
    # runs for the right text's shingles, most of which miss (5-7 % less time a pair), unless
    # a text of the chunk is so long that the tables would take more than a few MB
    spread = 4 if longest <= 1 << 16 else 1
    capacity = spread * _table_size(longest)
    keys = np.empty(capacity, dtype=np.uint64)
    marks = np.zeros(capacity, dtype=np.uint8)
    # a slot's stamp is the last pair that counted it: below every later pair, so the stamps
    # need no clearing when the left text changes (64 KB a text for a 700-character one)
    stamps = np.full(capacity, -1, dtype=np.int64)
    common = np.zeros(capacity, dtype=np.uint8)  # 1: the slot's shingle is frequent
    scratch_keys = np.empty(capacity, dtype=np.uint64)
    scratch_marks = np.zeros(capacity, dtype=np.uint8)
    distinct = known.copy() if len(known) == texts else np.full(texts, -1, dtype=np.int64)
    distinct_own = np.full(texts, -1, dtype=np.int64)
    check_own = len(frequent) > 0
    fkeys, fmarks = _frequent_table(frequent)
    current = -1
    flagged = -1  # the left text whose slots `common` describes
    size = 16
    mask = np.uint64(0)
    for p in range(len(left)):
        a, b = left[p], right[p]
        if a != current:
            na = _text_shingles(codes, offsets[a], offsets[a + 1], word, n, left_hashes, 0)
            size = spread * _table_size(na)
            mask = np.uint64(size - 1)
            marks[:size] = 0
            in_left = 0
            for k in range(na):
                slot = _slot(keys, marks, mask, left_hashes[k])
                if marks[slot] == 0:
                    keys[slot] = left_hashes[k]
                    marks[slot] = 1
                    in_left += 1
            distinct[a] = in_left
            current = a
            flagged = -1
        nb = _text_shingles(codes, offsets[b], offsets[b + 1], word, n, right_hashes, 0)
        if distinct[b] < 0:
            distinct[b] = _distinct(right_hashes, nb, scratch_keys, scratch_marks)
        both = 0
        total = distinct[a] + distinct[b]
        # with `stop`: the fewest shared shingles that can reach the threshold (less a margin
        # far above rounding), and how many of the right text's shingles may miss before the
        # rest cannot make it up; then the pair is below the threshold, its figure a bound
        allowed = nb
        if stop:
            need = np.int64(np.floor(threshold * total / (1.0 + threshold) - 1e-6))
            allowed = nb - need
        misses = 0
        stopped = False
        for k in range(nb):
            slot = _slot(keys, marks, mask, right_hashes[k])
            if marks[slot] != 0 and stamps[slot] != p:
                stamps[slot] = p
                both += 1
            else:
                misses += 1
                if misses > allowed:
                    stopped = True
                    break
        if stopped:  # at most nb - misses shared: below the threshold
            upper = nb - misses
            sims[p] = upper / (total - upper) if total > upper else 0.0
            continue
        sims[p] = both / (total - both)
        if not check_own or sims[p] < threshold:
            continue
        if flagged != a:
            own_left = 0
            for i in range(size):
                if marks[i] != 0:
                    common[i] = 1 if _in_frequent(fkeys, fmarks, keys[i]) else 0
                    if common[i] == 0:
                        own_left += 1
            distinct_own[a] = own_left
            flagged = a
        if distinct_own[b] < 0:
            distinct_own[b] = _distinct_own(right_hashes, nb, scratch_keys, scratch_marks,
                                            fkeys, fmarks)
        if distinct_own[a] < min_own or distinct_own[b] < min_own:
            continue
        # the stamps of this pair's shared slots are p; each counted once, restamped
        both_own = 0
        for k in range(nb):
            slot = _slot(keys, marks, mask, right_hashes[k])
            if marks[slot] != 0 and stamps[slot] == p:
                stamps[slot] = -2
                if common[slot] == 0:
                    both_own += 1
        own[p] = both_own / min(distinct_own[a], distinct_own[b])


def pair_jaccard(
    codes: npt.NDArray[np.uint32], offsets: I64, word: bool, n: int, left: I64, right: I64
) -> npt.NDArray[np.float64]:
    """The Jaccard similarity of the shingle sets of texts left[p] and right[p], for every p."""
    return pair_similarities(codes, offsets, word, n, left, right)[0]


def pair_similarities(
    codes: npt.NDArray[np.uint32], offsets: I64, word: bool, n: int, left: I64, right: I64,
    frequent: U64 | None = None, threshold: float = 1.0, min_own: int = 1,
    distinct: npt.NDArray[np.integer[Any]] | None = None, stop: bool = False,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """`pair_jaccard`, and for the pairs whose Jaccard reaches `threshold` the overlap
    coefficient of their shingle sets without the sorted `frequent` hashes, as
    `boilerplate.own_similarity` computes it (NaN where either text keeps fewer than
    `min_own` of its own, for every pair below the threshold, and everywhere when
    `frequent` is None or empty). `distinct`: each text's number of distinct shingles, when
    known (minhash_profiles), so it is not counted again. `stop`: a pair stops being counted
    once it cannot reach `threshold`; its figure is then only a bound below the threshold
    (every pair at or above it gets its exact Jaccard, as without)."""
    sims = np.empty(len(left), dtype=np.float64)
    own = np.full(len(left), np.nan)
    table = (np.empty(0, dtype=np.uint64) if frequent is None
             else np.ascontiguousarray(frequent, dtype=np.uint64))
    _pair_sims(codes, offsets, word, n, np.ascontiguousarray(left, dtype=np.int64),
               np.ascontiguousarray(right, dtype=np.int64), sims, table, float(threshold),
               int(min_own), own,
               np.empty(0, dtype=np.int64) if distinct is None
               else np.ascontiguousarray(distinct, dtype=np.int64), bool(stop))
    return sims, own


@_jit()
def _agreement(
    pairs: U64, sketch: npt.NDArray[np.uint8], own: npt.NDArray[np.uint8], k: int,
    agree: I64, trials: I64,
) -> None:  # pragma: no cover - compiled
    """For each pair (i << 32 | j): the bins where either record fills itself (own bits,
    packed most significant bit first as np.packbits does), and how many of them agree."""
    for p in range(len(pairs)):
        a = np.int64(pairs[p] >> np.uint64(32))
        b = np.int64(pairs[p] & _LOW32)
        hits = 0
        count = 0
        for q in range(own.shape[1]):
            either = own[a, q] | own[b, q]
            if either == 0:
                continue
            for bit in range(8):
                column = q * 8 + bit
                if column < k and either & (0x80 >> bit):
                    count += 1
                    if sketch[a, column] == sketch[b, column]:
                        hits += 1
        agree[p] = hits
        trials[p] = max(count, 1)


_L7 = np.uint64(0x7F7F7F7F7F7F7F7F)
_H8 = np.uint64(0x8080808080808080)
_BYTES1 = np.uint64(0x0101010101010101)


def _spread_table() -> U64:
    """For each own byte (bit 0x80 >> j: column j of its eight), the 64-bit mask with the
    high bit of byte j set: the bytes of a little-endian word of eight sketch columns."""
    table = np.zeros(256, dtype=np.uint64)
    for value in range(256):
        for j in range(8):
            if value & (0x80 >> j):
                table[value] |= np.uint64(0x80) << np.uint64(8 * j)
    return table


_SPREAD = _spread_table()


@_jit()
def _agreement_words(
    pairs: U64, words: U64, own: npt.NDArray[np.uint8], spread: U64, agree: I64, trials: I64,
) -> None:  # pragma: no cover - compiled
    """`_agreement` eight bins at a time: `words` holds each sketch row as little-endian
    64-bit words (bins q*8 .. q*8+7 in word q); a byte of x = a ^ b is zero exactly where two
    bins agree, found for all eight bytes at once without carries between them."""
    for p in range(len(pairs)):
        a = np.int64(pairs[p] >> np.uint64(32))
        b = np.int64(pairs[p] & _LOW32)
        hits = np.uint64(0)
        count = np.uint64(0)
        for q in range(own.shape[1]):
            either = own[a, q] | own[b, q]
            if either == 0:
                continue
            mask = spread[either]
            x = words[a, q] ^ words[b, q]
            nonzero = (((x & _L7) + _L7) | x) & _H8  # high bit of each byte that is not 0
            equal = ~nonzero & mask
            hits += ((equal >> np.uint64(7)) * _BYTES1) >> np.uint64(56)
            count += ((mask >> np.uint64(7)) * _BYTES1) >> np.uint64(56)
        agree[p] = np.int64(hits)
        trials[p] = max(np.int64(count), 1)


def agreement(
    pairs: U64, sketch: npt.NDArray[np.uint8], own: npt.NDArray[np.uint8]
) -> tuple[I64, I64]:
    """For candidate pairs (i << 32 | j): in how many bins either record fills itself the two
    signatures agree (`sketch`: the low byte of each bin), and how many such bins there are
    (at least 1); `own` is the packed bits of which bins each record fills itself."""
    agree = np.empty(len(pairs), dtype=np.int64)
    trials = np.empty(len(pairs), dtype=np.int64)
    pairs = np.ascontiguousarray(pairs, dtype=np.uint64)
    sketch = np.ascontiguousarray(sketch)
    own = np.ascontiguousarray(own)
    if sketch.shape[1] % 8 == 0 and sketch.shape[1] and own.shape[1] * 8 == sketch.shape[1]:
        words = sketch.view(np.dtype("<u8"))  # word q: bins q*8 .. q*8+7, the first lowest
        _agreement_words(pairs, words, own, _SPREAD, agree, trials)
    else:
        _agreement(pairs, sketch, own, sketch.shape[1], agree, trials)
    return agree, trials


def agreement_bins(
    pairs: U64, sketch: npt.NDArray[np.uint8], own: npt.NDArray[np.uint8]
) -> tuple[I64, I64]:
    """`agreement` one bin at a time (its reference)."""
    agree = np.empty(len(pairs), dtype=np.int64)
    trials = np.empty(len(pairs), dtype=np.int64)
    _agreement(np.ascontiguousarray(pairs, dtype=np.uint64), np.ascontiguousarray(sketch),
               np.ascontiguousarray(own), sketch.shape[1], agree, trials)
    return agree, trials


@_jit()
def _gather(
    data: npt.NDArray[np.uint8], starts: I64, ends: I64, out: npt.NDArray[np.uint32],
    offsets: I64,
) -> None:  # pragma: no cover - compiled
    """Decode the UTF-8 byte ranges starts[t]:ends[t] of data to code points in out, back to
    back, each range's start in offsets (and the end after the last). The ranges are valid
    UTF-8 (written by str.encode), so no byte is checked."""
    pos = 0
    for t in range(len(starts)):
        offsets[t] = pos
        i = starts[t]
        end = ends[t]
        while i < end:
            c = np.uint32(data[i])
            if c < 0x80:
                i += 1
            elif c < 0xE0:
                c = ((c & np.uint32(0x1F)) << np.uint32(6)) | (np.uint32(data[i + 1]) & np.uint32(0x3F))
                i += 2
            elif c < 0xF0:
                c = (((c & np.uint32(0x0F)) << np.uint32(12))
                     | ((np.uint32(data[i + 1]) & np.uint32(0x3F)) << np.uint32(6))
                     | (np.uint32(data[i + 2]) & np.uint32(0x3F)))
                i += 3
            else:
                c = (((c & np.uint32(0x07)) << np.uint32(18))
                     | ((np.uint32(data[i + 1]) & np.uint32(0x3F)) << np.uint32(12))
                     | ((np.uint32(data[i + 2]) & np.uint32(0x3F)) << np.uint32(6))
                     | (np.uint32(data[i + 3]) & np.uint32(0x3F)))
                i += 4
            out[pos] = c
            pos += 1
    offsets[len(starts)] = pos


def gather_utf8(
    data: npt.NDArray[np.uint8], starts: I64, ends: I64
) -> tuple[npt.NDArray[np.uint32], I64]:
    """The UTF-8 byte ranges of `data` decoded, as `encode` gives texts: one code-point array
    and the offset of each text (a text never has more code points than bytes)."""
    starts = np.ascontiguousarray(starts, dtype=np.int64)
    ends = np.ascontiguousarray(ends, dtype=np.int64)
    out = np.empty(max(0, int((ends - starts).sum())), dtype=np.uint32)
    offsets = np.empty(len(starts) + 1, dtype=np.int64)
    _gather(data, starts, ends, out, offsets)
    return out[: offsets[-1]], offsets


@_jit()
def components(left: I64, right: I64, n: int) -> I64:  # pragma: no cover - compiled
    """The connected components of n nodes joined by the edges (left[k], right[k]): each
    node's root, the smallest node of its component (a larger root always goes under a
    smaller one, so a root is its component's minimum)."""
    parent = np.arange(n)
    for k in range(len(left)):
        x = left[k]
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        y = right[k]
        while parent[y] != y:
            parent[y] = parent[parent[y]]
            y = parent[y]
        if x < y:
            parent[y] = x
        elif y < x:
            parent[x] = y
    for i in range(n):
        parent[i] = parent[parent[i]]  # parents are smaller: roots are final before i
    return parent


@_jit()
def _bucket_pairs(
    order: I64, run_start: I64, sizes: I64, out: U64
) -> None:  # pragma: no cover - compiled
    pos = 0
    for r in range(len(run_start)):
        first = run_start[r]
        end = first + sizes[r]
        for x in range(first, end):
            a = np.uint64(order[x])
            for y in range(x + 1, end):
                b = np.uint64(order[y])
                out[pos] = (a << np.uint64(32)) | b if a < b else (b << np.uint64(32)) | a
                pos += 1


def bucket_pairs(order: I64, run_start: I64, sizes: I64) -> U64:
    """Every pair of positions within each run order[run_start[r] : run_start[r] + sizes[r]],
    packed (i << 32 | j) with i < j, run after run (in no sorted order): the pairs of a band's
    buckets (`candidates.band_pairs`)."""
    run_start = np.ascontiguousarray(run_start, dtype=np.int64)
    sizes = np.ascontiguousarray(sizes, dtype=np.int64)
    out = np.empty(int((sizes * (sizes - 1) // 2).sum()), dtype=np.uint64)
    _bucket_pairs(np.ascontiguousarray(order, dtype=np.int64), run_start, sizes, out)
    return out


@_jit()
def _count_high(values: U64, counts: I64) -> None:  # pragma: no cover - compiled
    for k in range(len(values)):
        counts[(values[k] >> np.uint64(32)) + np.uint64(1)] += 1


@_jit()
def _scatter_high(
    values: U64, cursor: I64, out: U64, low: int, high: int
) -> None:  # pragma: no cover - compiled
    """Each value whose high word is in [low, high) to its run of `out` (at cursor[word])."""
    for k in range(len(values)):
        word = values[k] >> np.uint64(32)
        if low <= word < high:
            out[cursor[word]] = values[k]
            cursor[word] += 1


@_jit()
def _unique_runs(
    values: U64, starts: I64, low: int, high: int
) -> int:  # pragma: no cover - compiled
    """Sort each run values[starts[h] : starts[h + 1]] of h in [low, high) (one high word
    each) and keep its distinct values, moved together from starts[low] on; returns where
    they end."""
    pos: int = starts[low]
    for h in range(low, high):
        a = starts[h]
        b = starts[h + 1]
        if b - a > 32:
            values[a:b] = np.sort(values[a:b])
        else:  # insertion sort: most runs are short
            for i in range(a + 1, b):
                v = values[i]
                j = i - 1
                while j >= a and values[j] > v:
                    values[j + 1] = values[j]
                    j -= 1
                values[j + 1] = v
        for i in range(a, b):
            if i == a or values[i] != values[i - 1]:
                values[pos] = values[i]
                pos += 1
    return pos


def merge_unique(parts: Sequence[U64], high_limit: int, threads: int = 1) -> U64:
    """The distinct values of all `parts` in ascending order, for values whose high 32 bits
    are below `high_limit` (packed pairs i << 32 | j of i < high_limit): the same as
    np.unique(np.concatenate(parts)), by a counting sort on the high word and a sort of each
    run, without the copy of every part into one array first. With `threads`, each thread
    sorts the runs of a range of high words (the result does not depend on it)."""
    parts = [np.ascontiguousarray(part, dtype=np.uint64) for part in parts]
    counts = np.zeros(high_limit + 1, dtype=np.int64)
    for part in parts:
        _count_high(part, counts)
    starts = np.cumsum(counts)
    total = int(starts[-1])
    out = np.empty(total, dtype=np.uint64)
    cursor = starts[:-1].copy()
    # ranges of high words holding about the same number of values, one a thread
    cuts = [0, *(int(np.searchsorted(starts, total * k // threads))
                 for k in range(1, max(1, threads))), high_limit]

    def one(k: int) -> tuple[int, int]:
        low, high = cuts[k], max(cuts[k], cuts[k + 1])
        for part in parts:
            _scatter_high(part, cursor, out, low, high)
        return int(starts[low]), _unique_runs(out, starts, low, high)

    if threads > 1:
        with ThreadPoolExecutor(threads) as pool:
            spans = list(pool.map(one, range(len(cuts) - 1)))
    else:
        spans = [one(0)]
    if len(spans) == 1:
        return out[: spans[0][1]]
    return np.concatenate([out[a:b] for a, b in spans])
