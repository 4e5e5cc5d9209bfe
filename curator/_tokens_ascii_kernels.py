"""The compiled loops of `curator.tokens_ascii` (imported only when that counter is used, so
that nothing else pays for importing numba)."""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from curator.tokens_ascii import PIECE_MAX


def _jit(fn: Any) -> Any:
    # Not nogil: `count` merges in work arrays its caller owns (tokens_ascii.load), so two threads
    # sharing one counter must take turns, which holding the GIL makes them do.
    try:
        return numba.njit(cache=True)(fn)
    except RuntimeError:  # no writable cache location: compile at each start instead
        return numba.njit()(fn)


@_jit
def hash_bytes(buf: Any, a: int, b: int) -> Any:
    """FNV-1a, 64 bits, of buf[a:b]."""
    h = np.uint64(14695981039346656037)
    for i in range(a, b):
        h = (h ^ np.uint64(buf[i])) * np.uint64(1099511628211)
    return h


@_jit
def build(tokens: Any, offsets: Any, ranks: Any, table: Any) -> None:
    """Fill the open-addressing `table` (a power of two of rows, -1 where empty): for token t
    (tokens[offsets[t]:offsets[t + 1]]) a row of its hash's upper 63 bits and of rank << 40 |
    length << 32 | offset, at the first free row from its hash."""
    mask = len(table) - 1
    for t in range(len(offsets) - 1):
        h = hash_bytes(tokens, offsets[t], offsets[t + 1])
        i = np.int64(h & np.uint64(mask))
        while table[i, 0] != -1:
            i = (i + 1) & mask
        table[i, 0] = np.int64(h >> np.uint64(1))
        table[i, 1] = (ranks[t] << 40) | ((offsets[t + 1] - offsets[t]) << 32) | offsets[t]


@_jit
def rank(buf: Any, a: int, b: int, tokens: Any, table: Any, mask: int) -> int:
    """The rank of bytes buf[a:b] when they are a token, else -1 (`mask`: len(table) - 1)."""
    h = hash_bytes(buf, a, b)
    i = np.int64(h & np.uint64(mask))
    key = np.int64(h >> np.uint64(1))
    n = b - a
    while True:
        k = table[i, 0]
        if k == -1:
            return -1
        if k == key:
            v = table[i, 1]
            at = v & 0xFFFFFFFF
            if (v >> 32) & 0xFF == n:
                same = True
                for j in range(n):
                    if tokens[at + j] != buf[a + j]:
                        same = False
                        break
                if same:
                    return int(v >> 40)
        i = (i + 1) & mask


@_jit
def merged_tokens(buf: Any, a: int, b: int, tokens: Any, table: Any, mask: int, starts: Any, ranks: Any) -> int:
    """Tokens of the piece buf[a:b], which is not a token itself: byte-pair merges (the pair of
    adjacent parts whose joined bytes have the lowest rank first, the leftmost on a tie) until
    no adjacent pair joins into a token. `starts` and `ranks`: work space of b - a + 1 or more.
    (`count` looks the whole piece up itself: with that lookup in here as well, the compiled
    loop ran at half the speed.)"""
    n = b - a
    none = 1 << 62
    m = n + 1  # part i is buf[starts[i]:starts[i + 1]]; ranks[i] is that of parts i and i + 1 joined
    for i in range(m):
        starts[i] = a + i
    for i in range(m - 1):
        if i + 2 <= m - 1:
            r = rank(buf, starts[i], starts[i + 2], tokens, table, mask)
            ranks[i] = r if r >= 0 else none
        else:
            ranks[i] = none
    while True:
        best = none
        at = -1
        for i in range(m - 1):
            if ranks[i] < best:
                best = ranks[i]
                at = i
        if at < 0:
            break
        for k in range(at + 1, m - 1):  # part at + 1 joins part at
            starts[k] = starts[k + 1]
            ranks[k] = ranks[k + 1]
        m -= 1
        for j in (at - 1, at):
            if j >= 0 and j < m - 1:
                if j + 2 <= m - 1:
                    r = rank(buf, starts[j], starts[j + 2], tokens, table, mask)
                    ranks[j] = r if r >= 0 else none
                else:
                    ranks[j] = none
    return m - 1


@_jit
def _space(c: int) -> bool:
    return c == 32 or (c >= 9 and c <= 13)


@_jit
def _upper(c: int) -> bool:
    return c >= 65 and c <= 90


@_jit
def _lower(c: int) -> bool:
    return c >= 97 and c <= 122


@_jit
def _digit(c: int) -> bool:
    return c >= 48 and c <= 57


@_jit
def _contraction(s: Any, j: int, n: int) -> int:
    """The end of an optional 's 't 're 've 'm 'll 'd (any case) at j."""
    if j + 1 < n and s[j] == 39:
        c2 = s[j + 1] | 32
        if c2 == 115 or c2 == 116 or c2 == 109 or c2 == 100:
            return j + 2
        if j + 2 < n:
            c3 = s[j + 2] | 32
            if (c2 == 114 and c3 == 101) or (c2 == 118 and c3 == 101) or (c2 == 108 and c3 == 108):
                return j + 3
    return j


@_jit
def count(s: Any, tokens: Any, table: Any, starts: Any, ranks: Any) -> int:
    """Tokens of the ASCII bytes `s`, or -1 when a piece is longer than PIECE_MAX.

    The pieces, o200k_base's split pattern read for ASCII text, tried in its order at each place:
    an optional character other than CR, LF, a letter or a digit, then upper-case letters and
    lower-case ones (or upper-case ones alone), then an optional contraction; one to three
    digits; an optional space, characters other than whitespace, letters and digits, then CRs,
    LFs and slashes; whitespace up to its last CR or LF; whitespace at the end, or all of a run but
    its last character (which goes with what follows); any whitespace."""
    n = len(s)
    mask = len(table) - 1
    p = 0
    total = 0
    while p < n:
        c = s[p]
        end = -1
        if _upper(c) or _lower(c):
            q = p
        elif c != 10 and c != 13 and not _digit(c) and p + 1 < n and (_upper(s[p + 1]) or _lower(s[p + 1])):
            q = p + 1
        else:
            q = -1
        if q >= 0:
            j = q
            while j < n and _upper(s[j]):
                j += 1
            if j < n and _lower(s[j]):
                while j < n and _lower(s[j]):
                    j += 1
            end = _contraction(s, j, n)
        elif _digit(c):
            j = p + 1
            while j < n and j < p + 3 and _digit(s[j]):
                j += 1
            end = j
        else:
            q = p
            if c == 32 and p + 1 < n:
                d = s[p + 1]
                if not (_space(d) or _upper(d) or _lower(d) or _digit(d)):
                    q = p + 1
            d = s[q]
            if not (_space(d) or _upper(d) or _lower(d) or _digit(d)):
                j = q + 1
                while j < n:
                    d = s[j]
                    if _space(d) or _upper(d) or _lower(d) or _digit(d):
                        break
                    j += 1
                while j < n and (s[j] == 10 or s[j] == 13 or s[j] == 47):
                    j += 1
                end = j
            else:
                e = p
                last = -1
                while e < n and _space(s[e]):
                    if s[e] == 10 or s[e] == 13:
                        last = e
                    e += 1
                if last >= 0:
                    end = last + 1
                elif e == n:
                    end = e
                elif e - 1 > p:
                    end = e - 1
                else:
                    end = e
        if end - p > PIECE_MAX:
            return -1
        if end - p == 1 or rank(s, p, end, tokens, table, mask) >= 0:
            total += 1  # most pieces are tokens
        else:
            total += merged_tokens(s, p, end, tokens, table, mask, starts, ranks)
        p = end
    return total
