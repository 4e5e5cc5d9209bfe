"""Exact o200k_base token counts of ASCII text, compiled with numba.

Counting is most of what `curator validate` spends on a row, and most rows of real data are
ASCII. For ASCII text the o200k_base split pattern reduces to a few byte classes (letters, digits,
whitespace, the rest), which a compiled loop applies directly; each piece is then looked up whole
in the vocabulary and, when it is not a token, merged by byte-pair encoding: the adjacent pair
whose joined bytes have the lowest rank is merged first, the leftmost on a tie, until no pair is
a token (the rule the encoding is defined by). The counts are the same as tiktoken's and the
bpe-openai wheel's: tests/unit/test_tokens_ascii.py compares them on real-text-like and random
ASCII strings, and `load` compares them on fixed hard cases before it hands out a counter.

The vocabulary comes from the bpe-openai wheel's copy of the encoding file (the one tiktoken
reads). Its lookup table (about 18 MB) is built once and written under the curator home with a
hash of its contents; later runs read it from there, and build it again if it does not match. A
piece longer than `PIECE_MAX` bytes (a run of one letter, a long identifier) is not merged here:
the whole text goes to the bpe-openai count, whose merge does not slow down on long pieces.

Only large inputs use it (`COMPILED_MIN_BYTES`: `curator validate`, `stats` and `import`): importing
numba and loading the compiled loop costs about 1 s, which a small file does not win back.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import hashlib
import os
from collections.abc import Callable, Iterable

import numpy as np
import numpy.typing as npt
import xxhash

from curator.home import curator_home
from curator.tokens import vocabulary_file

#: the longest piece merged here; a longer one is counted by the other counter
PIECE_MAX = 256
#: inputs at least this large use the compiled counter (validate, stats, import): about 1 s to start
#: (numba's import and its compiled code), won back after some 150,000 rows
COMPILED_MIN_BYTES = 256 * 1024 * 1024
def large_input(paths: Iterable[str | os.PathLike[str]]) -> bool:
    """Whether the files of `paths` on disk (stdin and an unreadable file count nothing here)
    hold at least COMPILED_MIN_BYTES: enough text for the compiled count to win back its start-up
    (stats, import; validate sizes its one file from the probe)."""
    return sum(os.path.getsize(p) for p in paths if os.path.isfile(p)) >= COMPILED_MIN_BYTES


#: the lookup table's layout (part of its file name, so that a new layout never reads an old file)
_LAYOUT = 1
#: ASCII texts whose counts `load` compares with bpe-openai's before it returns a counter
PROBES = (
    "Hello, world!", "  spaces\n\n\tand tabs   ", "<|endoftext|>", "x" * 200, "x" * 300, "1234567 'll 've",
    "I'M sure it's fine; DON'T they'll we'Ve", "\r\n\r\n  \n\t(x) ...!!! ///\n/", "#### 72",
    "CamelCase snake_case ABCdef abcDEF __init__", "3.14 1,000,000 $5 @me #tag e.g. http://x.y/z",
    "\x00\x1f\x7f\x0b\x0c end", "trailing spaces   ", " ' '' 's 'S 'x",
)


def _kernels() -> tuple[Callable[..., int], Callable[..., None]]:
    """(count, build): numba's compiled loops (imported here, on first use only)."""
    from curator import _tokens_ascii_kernels as k

    return k.count, k.build


def _tables(encoding: str) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """(token bytes, lookup table): read from the curator home when an earlier run left them for
    this very vocabulary file and they hash to what was written, else built and written there
    (best effort). A damaged file is never used: it is built again."""
    packed = vocabulary_file(encoding)
    digest = hashlib.sha256(packed).hexdigest()[:16]
    path = curator_home() / "cache" / f"{encoding}-{digest}-ascii{_LAYOUT}.npz"
    try:
        with np.load(path) as saved:
            tokens, table, check = saved["tokens"], saved["table"], saved["check"]
        if tokens.dtype == np.uint8 and table.dtype == np.int64 and table.ndim == 2 and table.shape[1] == 2 \
                and len(table) & (len(table) - 1) == 0 and bytes(check) == _check(tokens, table):
            return tokens, table
    except Exception:  # missing, empty, cut short, not an archive, a damaged header: build it again
        pass
    tokens, table = _build(packed)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as fh:
            np.savez(fh, tokens=tokens, table=table, check=np.frombuffer(_check(tokens, table), dtype=np.uint8))
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(path)
    except OSError:  # a read-only home or a full disk: build again next time
        with contextlib.suppress(OSError):
            tmp.unlink()
    return tokens, table


def _check(tokens: npt.NDArray[np.uint8], table: npt.NDArray[np.int64]) -> bytes:
    """A 16-byte hash of both arrays (XXH3-128), written beside them and compared on reading."""
    h = xxhash.xxh3_128()
    h.update(tokens.tobytes())
    h.update(table.tobytes())
    return h.digest()


def _build(packed: bytes) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    words: list[bytes] = []
    ranks: list[int] = []
    for line in gzip.decompress(packed).splitlines():
        if line:
            token, rank = line.split()
            words.append(base64.b64decode(token))
            ranks.append(int(rank))
    offsets = np.zeros(len(words) + 1, dtype=np.int64)
    np.cumsum([len(w) for w in words], out=offsets[1:])
    tokens = np.frombuffer(b"".join(words), dtype=np.uint8).copy()
    size = 1
    while size < 4 * len(words):
        size *= 2
    table = np.full((size, 2), -1, dtype=np.int64)
    _kernels()[1](tokens, offsets, np.array(ranks, dtype=np.int64), table)
    return tokens, table


def load(encoding: str, other: Callable[[str], int]) -> Callable[[str], int] | None:
    """A count of `encoding`'s tokens (o200k_base only) that counts ASCII text here and hands any
    other text, and an ASCII text with a piece longer than PIECE_MAX, to `other` (the bpe-openai
    count). None when it cannot be used: another encoding, numba missing, the vocabulary file
    unreadable, or a probe counted differently from `other`. (The compiled loop holds the GIL,
    so threads sharing the counter take turns with its one work buffer.)"""
    if encoding != "o200k_base":
        return None
    try:
        kernel, _ = _kernels()
        tokens, table = _tables(encoding)
    except Exception:  # numba or the vocabulary file unusable: keep the other counter
        return None
    starts = np.zeros(PIECE_MAX + 2, dtype=np.int64)  # the merge's work space
    ranks = np.zeros(PIECE_MAX + 2, dtype=np.int64)

    def count(text: str) -> int:
        if text.isascii():
            n = kernel(text.encode("ascii"), tokens, table, starts, ranks)
            if n >= 0:
                return n
        return other(text)

    if any(count(p) != other(p) for p in PROBES):
        return None
    return count
