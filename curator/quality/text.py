"""The texts a quality signal compares, read from a record's chat example, and a fast near-
duplicate search over short texts (MinHash over character 5-grams, every candidate verified).

Deterministic: shingles are hashed from the text's bytes, never with Python's salted hash().
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
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
    (character 5-gram Jaccard >= threshold, verified). Signatures and band lookups run on whole
    arrays (numba, numpy); only candidate pairs are verified one by one."""
    if not queries or not refs:
        return []
    ref_bands = band_hashes(signatures(refs))
    ref_sh: dict[int, npt.NDArray[np.uint64]] = {}
    out: list[tuple[int, int, float]] = []
    for start in range(0, len(queries), _QUERY_BATCH):
        chunk = queries[start:start + _QUERY_BATCH]
        q_bands = band_hashes(signatures(chunk))
        cand_q, cand_r = [], []
        for b in range(BANDS):
            order = np.argsort(ref_bands[:, b])
            keys = ref_bands[order, b]
            lo = np.searchsorted(keys, q_bands[:, b], side="left")
            hi = np.searchsorted(keys, q_bands[:, b], side="right")
            has = np.nonzero(hi > lo)[0]
            for q in has.tolist():  # a bucket is capped: one text shared by very many refs
                rs = order[lo[q]:min(hi[q], lo[q] + BUCKET_CAP)]
                cand_q.append(np.full(len(rs), q))
                cand_r.append(rs)
        if not cand_q:
            continue
        pairs = np.unique(np.stack([np.concatenate(cand_q), np.concatenate(cand_r)]), axis=1)
        q_sh: dict[int, npt.NDArray[np.uint64]] = {}
        for q, r in zip(pairs[0].tolist(), pairs[1].tolist(), strict=True):
            if q not in q_sh:
                q_sh[q] = shingles(chunk[q])
            if r not in ref_sh:
                ref_sh[r] = shingles(refs[r])
            sim = jaccard(q_sh[q], ref_sh[r])
            if sim >= threshold:
                out.append((start + q, r, sim))
    return out


_QUERY_BATCH = 65536


def signatures(texts: Sequence[str]) -> npt.NDArray[np.uint64]:
    """MinHash signatures of many texts at once, equal to signature(shingles(text)) row by row."""
    blobs = [normalise(t).encode("utf-8", "surrogatepass") for t in texts]
    lengths = np.fromiter((len(b) for b in blobs), dtype=np.int64, count=len(blobs))
    ends = np.cumsum(lengths)
    buf = np.frombuffer(b"".join(blobs), dtype=np.uint8)
    out: npt.NDArray[np.uint64] = _sig_kernel()(buf, ends - lengths, ends, _A, _B)
    return out


def band_hashes(sigs: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """One 64-bit key per band of each signature (rows x BANDS)."""
    rows = NUM_PERM // BANDS
    parts = sigs.reshape(len(sigs), BANDS, rows)
    h = np.zeros((len(sigs), BANDS), dtype=np.uint64)
    for k in range(rows):
        h = h * np.uint64(0x100000001B3) + parts[:, :, k]
    return h


@lru_cache(maxsize=1)
def _sig_kernel() -> Any:
    import numba

    @numba.njit(cache=True, nogil=True)  # type: ignore[misc]
    def kernel(buf: Any, starts: Any, ends: Any, a: Any, b: Any) -> Any:
        mersenne = np.uint64((1 << 61) - 1)
        perms = len(a)
        out = np.empty((len(starts), perms), dtype=np.uint64)
        for t in range(len(starts)):
            s, e = starts[t], ends[t]
            for k in range(perms):
                out[t, k] = np.uint64(0xFFFFFFFFFFFFFFFF)
            if e - s < 5:
                x = np.uint64(0)
                for k in range(e - s):
                    x |= np.uint64(buf[s + k]) << np.uint64(8 * k)
                x += np.uint64(1)
                for k in range(perms):
                    out[t, k] = ((x & mersenne) * a[k] + b[k]) & mersenne
                continue
            for i in range(s, e - 4):
                x = np.uint64(0)
                for k in range(5):
                    x |= np.uint64(buf[i + k]) << np.uint64(8 * k)
                x &= mersenne
                for k in range(perms):
                    h = (x * a[k] + b[k]) & mersenne
                    if h < out[t, k]:
                        out[t, k] = h
        return out

    return kernel


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
