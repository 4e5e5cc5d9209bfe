"""The texts a quality signal compares, read from a record's chat example, and a fast near-
duplicate search over short texts (MinHash over character 5-grams, every candidate verified).

Deterministic: shingles are hashed from the text's bytes, never with Python's salted hash().
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

#: MinHash permutations and LSH bands (16 bands of 4: a pair at Jaccard 0.7 shares a band with
#: probability 0.99, at 0.5 with 0.64)
NUM_PERM = 64
BANDS = 16
#: a bucket larger than this compares each member with its next few only (one text shared by
#: very many records would otherwise cost a quadratic number of pairs)
BUCKET_CAP = 64
_NEIGHBOURS = 4
_MERSENNE = np.uint64((1 << 61) - 1)
_rng = np.random.default_rng(20261205)
_A = _rng.integers(1, 1 << 61, NUM_PERM, dtype=np.uint64)
_B = _rng.integers(0, 1 << 61, NUM_PERM, dtype=np.uint64)


@dataclass(frozen=True, slots=True)
class Item:
    """One record as the signals see it: the user's text (every user turn) and the answer (the
    last assistant turn)."""

    id: int
    prompt: str
    answer: str


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p["text"] for p in content
                         if isinstance(p, dict) and isinstance(p.get("text"), str))
    return ""


def item_of(record_id: int, example: bytes | str) -> Item | None:
    """The prompt and answer of a chat example's JSON; None when it has no user or answer."""
    try:
        ex = orjson.loads(example)
    except orjson.JSONDecodeError:
        return None
    msgs = ex.get("messages") if isinstance(ex, dict) else None
    if not isinstance(msgs, list):
        return None
    users = [_text(m.get("content")) for m in msgs if isinstance(m, dict) and m.get("role") == "user"]
    answers = [_text(m.get("content")) for m in msgs
               if isinstance(m, dict) and m.get("role") == "assistant"]
    if not users or not answers or not answers[-1].strip():
        return None
    return Item(record_id, "\n".join(users), answers[-1])


def normalise(text: str) -> str:
    """Lower case, spacing collapsed: what "the same text" means here."""
    return " ".join(text.lower().split())


def shingles(text: str, n: int = 5) -> npt.NDArray[np.uint64]:
    """The sorted distinct character n-grams (n <= 8) of the normalised text, as integers."""
    data = np.frombuffer(normalise(text).encode("utf-8"), dtype=np.uint8).astype(np.uint64)
    if len(data) < n:
        return np.array([int.from_bytes(bytes(data.astype(np.uint8)), "little") + 1],
                        dtype=np.uint64)
    grams = np.zeros(len(data) - n + 1, dtype=np.uint64)
    for k in range(n):
        grams |= data[k: len(data) - n + 1 + k] << np.uint64(8 * k)
    return np.unique(grams)


def jaccard(a: npt.NDArray[np.uint64], b: npt.NDArray[np.uint64]) -> float:
    """Jaccard similarity of two sorted distinct arrays."""
    inter = len(np.intersect1d(a, b, assume_unique=True))
    union = len(a) + len(b) - inter
    return inter / union if union else 1.0


def containment(a: npt.NDArray[np.uint64], b: npt.NDArray[np.uint64]) -> float:
    """The share of the smaller of two sorted distinct arrays found in the other."""
    inter = len(np.intersect1d(a, b, assume_unique=True))
    return inter / min(len(a), len(b)) if len(a) and len(b) else 1.0


def signature(sh: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """MinHash signature of a shingle set: NUM_PERM values, (a*x + b) mod 2^61-1 at its least."""
    x = (sh & _MERSENNE)[:, None]
    # a*x overflows 64 bits; wrap-around arithmetic is still a universal family up to the modulus
    h = (x * _A[None, :] + _B[None, :]) & _MERSENNE
    out: npt.NDArray[np.uint64] = h.min(axis=0)
    return out


def _band_keys(sig: npt.NDArray[np.uint64]) -> list[bytes]:
    rows = NUM_PERM // BANDS
    return [sig[b * rows:(b + 1) * rows].tobytes() + bytes([b]) for b in range(BANDS)]


def _bucket_pairs(members: Sequence[int]) -> Iterator[tuple[int, int]]:
    if len(members) <= BUCKET_CAP:
        for i, a in enumerate(members):
            for b in members[i + 1:]:
                yield a, b
        return
    for i, a in enumerate(members):
        for b in members[i + 1: i + 1 + _NEIGHBOURS]:
            yield a, b


def near_pairs(texts: Sequence[str], threshold: float) -> list[tuple[int, int, float]]:
    """(i, j, similarity) for every pair of texts (positions, i < j) whose character 5-gram
    Jaccard similarity is at least `threshold` among the candidates MinHash LSH finds; every
    pair returned is verified on the true sets."""
    sh = [shingles(t) for t in texts]
    buckets: dict[bytes, list[int]] = defaultdict(list)
    for i, s in enumerate(sh):
        for key in _band_keys(signature(s)):
            buckets[key].append(i)
    seen: set[tuple[int, int]] = set()
    out = []
    for members in buckets.values():
        if len(members) < 2:
            continue
        for a, b in _bucket_pairs(members):
            if (a, b) in seen:
                continue
            seen.add((a, b))
            sim = jaccard(sh[a], sh[b])
            if sim >= threshold:
                out.append((a, b, sim))
    out.sort()
    return out


def cross_pairs(queries: Sequence[str], refs: Sequence[str],
                threshold: float) -> list[tuple[int, int, float]]:
    """(query position, reference position, similarity) for query texts near a reference text
    (character 5-gram Jaccard >= threshold, verified); the reference side is indexed once."""
    ref_sh = [shingles(t) for t in refs]
    index: dict[bytes, list[int]] = defaultdict(list)
    for j, s in enumerate(ref_sh):
        for key in _band_keys(signature(s)):
            index[key].append(j)
    out: list[tuple[int, int, float]] = []
    for i, text in enumerate(queries):
        s = shingles(text)
        best: dict[int, float] = {}
        for key in _band_keys(signature(s)):
            for j in index.get(key, ())[:BUCKET_CAP]:
                if j not in best:
                    best[j] = jaccard(s, ref_sh[j])
        out.extend((i, j, sim) for j, sim in sorted(best.items()) if sim >= threshold)
    return out


def words(text: str) -> set[str]:
    """Content words (three letters or more, lower case) of a text."""
    return {w for w in "".join(c if c.isalnum() else " " for c in text.lower()).split()
            if len(w) >= 3}


def pairs_to_groups(n: int, pairs: Iterable[tuple[int, int]]) -> list[list[int]]:
    """Connected components (size >= 2) of the pair graph over positions 0..n-1."""
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[int, list[int]] = defaultdict(list)
    for i in range(n):
        groups[find(i)].append(i)
    return [g for g in groups.values() if len(g) > 1]
