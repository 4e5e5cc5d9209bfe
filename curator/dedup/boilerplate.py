"""Shingles that a large share of records share (a tool preamble, a stock instruction): a near copy
must also be a near copy without them.

Two GPTeacher toolformer rows share a 250-400 character tool description ("toolformer: enabled /
toolformer access: wikipedia / A wrapper around Wikipedia. ...") and differ in a one-line
question: "Find the greatest common divisor of 24 and 36." against "... of 48 and 180." Over
their whole texts their char-5 Jaccard passes 0.8; over the shingles that are not in many other
records they share far less, and that is the part that says whether they are the same example.

So after the exact Jaccard of a candidate pair reaches the threshold, the two texts' own
shingles (those that are not boilerplate) are compared too: the share of the smaller own set
found in the other (the overlap coefficient, |A & B| / min(|A|, |B|)); a pair below the
threshold by it is dropped (a pair is never added by this), and a pair kept reports its whole-
text Jaccard as before. Not the Jaccard of the own sets: a near copy whose edits fall inside the
preamble ("Input should be valid commands, now and the output ...") gains shingles of its own
there, which would weigh against the few shingles of a short question; the overlap coefficient
forgives what one side adds, and the whole-text Jaccard already bounds how much that can be. On
bench/gen_planted.py's seed-0 set the near copies of toolformer rows score 0.86-1.0 by it,
different questions under one preamble 0.17-0.78, two derivative questions differing in one term
("x^3 + 2x^2 - 7x + 1" and "- x + 1") 0.9.

A shingle is boilerplate when it is in at least `SHARE` of a sample of the texts (every text up
to `SAMPLE`, evenly spaced beyond) and in at least `MIN_RECORDS` of them. The overlap test
applies only when both texts keep at least `MIN_OWN` distinct shingles of their own: a text that
is nearly all boilerplate (a stock reply, or a family of many near copies whose shared text is
itself frequent) is judged on its whole text, as before.

A family of at least `MIN_RECORDS` near copies that is also over `SHARE` of the set, whose
copies each keep `MIN_OWN` or more shingles of their own, can lose its pairs: such a family is
its own boilerplate by this measure. The planted families of bench/gen_dedup.py (two to four
copies) and bench/gen_planted.py are far below that (docs/benchmarks_dedup.md).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from curator.dedup import kernels

#: texts read to count how many records hold each shingle (evenly spaced over the set)
SAMPLE = 5_000
#: a shingle in at least this share of the sampled texts is boilerplate ...
SHARE = 0.01
#: ... and in at least this many of them (a small set's 1 % is one or two records)
MIN_RECORDS = 10
#: the boilerplate-free similarity applies only when both texts keep this many distinct
#: shingles of their own (about a short sentence at char-5)
MIN_OWN = 16

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]


def sample_positions(n: int, sample: int = SAMPLE) -> I64:
    """Indices of the texts to count shingles in: all of them, or `sample` evenly spaced."""
    if n <= sample:
        return np.arange(n, dtype=np.int64)
    return np.unique(np.linspace(0, n - 1, sample).astype(np.int64))


def frequent_shingles(codes: npt.NDArray[np.uint32], offsets: I64, word: bool, n: int,
                      share: float = SHARE, min_records: int = MIN_RECORDS) -> U64:
    """Sorted hashes of the shingles found in at least max(min_records, share * texts) of the
    texts given (codes and offsets as kernels.encode gives them)."""
    texts = len(offsets) - 1
    cutoff = max(min_records, int(np.ceil(share * texts)))
    if texts < cutoff:
        return np.empty(0, dtype=np.uint64)
    # each text's distinct shingles (compiled), then how many texts hold each: one sort
    hashes = np.sort(kernels.distinct_shingles(codes, offsets, word, n)[0])
    if len(hashes) == 0:
        return np.empty(0, dtype=np.uint64)
    starts = np.flatnonzero(np.concatenate([[True], hashes[1:] != hashes[:-1]]))
    values = hashes[starts]
    counts = np.diff(np.append(starts, len(hashes)))
    out: U64 = values[counts >= cutoff]
    return out


def own_similarity(codes: npt.NDArray[np.uint32], offsets: I64, word: bool, n: int,
                   left: I64, right: I64, which: I64, frequent: U64,
                   min_own: int = MIN_OWN) -> npt.NDArray[np.float64]:
    """For the pairs `which` (indices into left/right), the overlap coefficient of the two texts'
    shingle sets without the `frequent` ones, |A & B| / min(|A|, |B|); NaN where either text
    keeps fewer than `min_own` distinct shingles of its own (the whole-text figure stands).
    In whole arrays, no loop over pairs: each text's own set once (sorted, deduplicated), then
    every pair's two sets side by side, sorted, and the equal neighbours counted."""
    out = np.full(len(which), np.nan)
    if len(which) == 0:
        return out
    # only the texts of these pairs (most candidates of a chunk fall below the threshold)
    needed = np.unique(np.concatenate([left[which], right[which]]))
    spans = [codes[offsets[k] : offsets[k + 1]] for k in needed.tolist()]
    codes = np.concatenate(spans) if spans else codes[:0]
    offsets = np.concatenate([[0], np.cumsum([len(x) for x in spans])]).astype(np.int64)
    left = np.searchsorted(needed, left[which])
    right = np.searchsorted(needed, right[which])
    which = np.arange(len(which))
    texts = len(needed)
    hashes, bounds = kernels.shingles(codes, offsets, word, n)
    text_of = np.repeat(np.arange(texts, dtype=np.int64), np.diff(bounds))
    if len(frequent):
        pos = np.minimum(np.searchsorted(frequent, hashes), len(frequent) - 1)
        keep = frequent[pos] != hashes
        hashes, text_of = hashes[keep], text_of[keep]
    order = np.lexsort((hashes, text_of))
    h, t = hashes[order], text_of[order]
    first = np.ones(len(h), dtype=bool)
    first[1:] = (h[1:] != h[:-1]) | (t[1:] != t[:-1])
    h, t = h[first], t[first]  # each text's own set, sorted, texts in order
    size = np.bincount(t, minlength=texts)
    start = np.concatenate([[0], np.cumsum(size)])
    a, b = left[which], right[which]
    ok = (size[a] >= min_own) & (size[b] >= min_own)
    pairs = np.flatnonzero(ok)
    if len(pairs) == 0:
        return out
    a, b = a[pairs], b[pairs]
    # the elements of both sets of every pair, tagged with the pair
    sides = np.concatenate([a, b])
    lengths = size[sides]
    tag = np.repeat(np.concatenate([np.arange(len(pairs))] * 2), lengths)
    within = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    values = h[np.repeat(start[sides], lengths) + within]
    order = np.lexsort((values, tag))
    v, g = values[order], tag[order]
    both = np.bincount(g[1:][(v[1:] == v[:-1]) & (g[1:] == g[:-1])], minlength=len(pairs))
    out[pairs] = both / np.minimum(size[a], size[b])
    return out
