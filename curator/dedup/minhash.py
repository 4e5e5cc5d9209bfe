"""Shingle hashes, one-permutation MinHash signatures and LSH band keys.

The per-character work (hashing every shingle, keeping each bin's minimum, densifying empty
bins) runs in the compiled loops of `curator.dedup.kernels`; this module gives them a
text-level interface and turns signatures into LSH band keys with numpy.

Signatures. Classic MinHash applies K hash functions to every shingle (K multiplies each);
one-permutation hashing (Li, Owen and Zhang, 2012) hashes each shingle once, uses the top bits
to pick one of K bins and keeps the minimum of the low 32 bits per bin, so a bin of two texts
agrees with probability equal to their Jaccard similarity at 1/K of the cost. Empty bins
(short texts) borrow from the next non-empty bin to the right, circularly, with an offset by
distance (rotation densification, Shrivastava and Li, 2014), so two texts still agree on a
borrowed bin only when they agree on its source.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from curator.dedup import kernels
from curator.dedup.settings import SHINGLINGS, DedupSettings, Shingling

U64 = npt.NDArray[np.uint64]
U32 = npt.NDArray[np.uint32]

_P = np.uint64(0x100000001B3 * 2 + 1)  # odd, so invertible modulo 2^64

def mix64(x: U64) -> U64:
    """splitmix64's finaliser: every input bit affects every output bit."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    out: U64 = x ^ (x >> np.uint64(31))
    return out


DEFAULT_SHINGLING = SHINGLINGS[DedupSettings().shingling]


def shingle_hashes(
    texts: Sequence[str], shingling: Shingling = DEFAULT_SHINGLING
) -> tuple[U64, npt.NDArray[np.int64]]:
    """64-bit hashes of every shingle of every text, and the text index of each hash.

    A text shorter than one shingle is one shingle on its own (an empty text included), so every
    text has at least one hash. Duplicated shingles within a text are kept; callers that need
    sets sort and deduplicate.
    """
    codes, offsets = kernels.encode(texts)
    hashes, bounds = kernels.shingles(codes, offsets, shingling.unit == "word", shingling.n)
    text_of = np.repeat(np.arange(len(texts), dtype=np.int64), np.diff(bounds))
    return hashes, text_of


def signatures(
    texts: Sequence[str], num_perm: int = DedupSettings().num_perm, shingling: Shingling = DEFAULT_SHINGLING
) -> U32:
    """One-permutation MinHash signatures, shape (len(texts), num_perm), dtype uint32."""
    return signatures_full(texts, num_perm, shingling)[0]


def signatures_full(
    texts: Sequence[str], num_perm: int = DedupSettings().num_perm, shingling: Shingling = DEFAULT_SHINGLING
) -> tuple[U32, npt.NDArray[np.bool_]]:
    """`signatures`, and which bins of each text hold a shingle of its own (True) rather than
    one borrowed from a neighbour, for estimators that count only a text's own bins."""
    if num_perm < 2 or num_perm & (num_perm - 1):
        raise ValueError(f"num_perm must be a power of two, not {num_perm}")
    codes, offsets = kernels.encode(texts)
    return kernels.minhash(codes, offsets, shingling.unit == "word", shingling.n, num_perm)


def band_keys(sig: U32, bands: int, rows: int) -> U64:
    """One 64-bit key per band, shape (len(sig), bands); equal bands give equal keys."""
    if bands * rows > sig.shape[1]:
        raise ValueError(f"{bands} bands of {rows} rows need {bands * rows} > {sig.shape[1]}")
    cols = sig[:, : bands * rows].reshape(len(sig), bands, rows).astype(np.uint64)
    key = np.broadcast_to(np.arange(1, bands + 1, dtype=np.uint64), cols.shape[:2]).copy()
    for j in range(rows):
        key = mix64(key * _P + cols[:, :, j])
    out: U64 = key
    return out


def collision_probability(similarity: float, bands: int, rows: int) -> float:
    """The LSH S-curve: chance that two texts of this Jaccard similarity share a band."""
    return float(1.0 - (1.0 - similarity**rows) ** bands)


def choose_bands(
    threshold: float, num_perm: int = DedupSettings().num_perm, min_recall: float = 0.99
) -> tuple[int, int]:
    """The (bands, rows) for a threshold: the most rows per band that still catch a pair at
    exactly the threshold with probability `min_recall`.

    Every candidate is verified by its true Jaccard, so a false candidate costs only time while
    a missed pair is lost for good; more rows per band cut the low-similarity candidates
    steeply, so take as many as the recall floor allows.
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], not {threshold}")
    best = (num_perm, 1)
    for rows in range(1, num_perm + 1):
        bands = num_perm // rows
        if collision_probability(threshold, bands, rows) >= min_recall:
            best = (bands, rows)
    return best
