"""Candidate pairs for near-duplicate search: LSH banding under caps, the signature screen, and
the per-record limit (steps 3 of `curator.dedup.near`'s pipeline).

Inputs are per-record arrays (band keys, the low byte of each signature bin, which bins hold a
shingle of the record's own); outputs are candidate pairs packed as (i << 32 | j), i < j,
ascending. Nothing here reads a text: what survives is verified by its true Jaccard in `near`.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from curator.dedup import kernels

_T = TypeVar("_T")
_U = TypeVar("_U")

_SCREEN_SIGMAS = 6.0
_SCREEN_CHUNK = 100_000  # pairs compared at once: two 128-byte sketch rows each
#: A band bucket (records with equal keys in one band) of more records than this is not
#: expanded into all its pairs; each of its records is paired with the next BUCKET_WINDOW
#: records in the order of their key in another band (`band_pairs`). So one record takes
#: part in at most bands * (BUCKET_CAP - 1) candidate pairs, and no threshold or input makes
#: the candidate work quadratic.
BUCKET_CAP = 128
BUCKET_WINDOW = 32
#: After screening, a record keeps at most this many candidates with records after it, the
#: ones its signature says are most alike (`limit_per_record`): verification and clustering
#: then stay linear in the records too.
RECORD_CAP = 256


def ordered_map(
    pool: Executor | None, fn: Callable[[_T], _U], jobs: Iterable[_T], window: int
) -> Iterator[_U]:
    """fn over jobs in order, with at most `window` jobs in flight.

    Executor.map submits every job at once, which would hold the whole input in memory.
    """
    if pool is None:
        yield from map(fn, jobs)
        return
    pending: collections.deque[Future[_U]] = collections.deque()
    for job in jobs:
        pending.append(pool.submit(fn, job))
        if len(pending) >= window:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def sorted_unique(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    # np.unique hashes 64-bit values before sorting (numpy 2.3+), 6x slower here than a sort
    x = np.sort(x)
    keep = np.ones(len(x), dtype=bool)
    keep[1:] = x[1:] != x[:-1]
    out: npt.NDArray[np.uint64] = x[keep]
    return out


def run_starts(n: int, differs: npt.NDArray[np.bool_]) -> npt.NDArray[np.intp]:
    """Where each run of equal values of a sorted array of n values starts, and n at the end;
    `differs[i]` says whether sorted value i + 1 differs from value i."""
    new_run = np.ones(n + 1, dtype=bool)
    new_run[1:-1] = differs
    return np.flatnonzero(new_run)


def band_pairs(job: tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64], int, int]
                ) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64], int]:
    """The distinct (i << 32 | j), i < j, of the positions in one band's keys that hold equal
    keys (in no particular order), the positions in buckets over the cap, and how many
    buckets were over it.

    A bucket of at most `cap` records gives all its pairs. A larger one (text shared by a
    great many records) would give pairs quadratic in its size: its records are ordered by
    their key in a second band (so records that also share that band sit together) and each
    is paired with the `window` records after it, so the bucket gives fewer than
    size * window pairs. Pairs of such a bucket outside that window are not compared here
    (they may still meet in another band).
    """
    column, second, cap, window = job
    order = np.argsort(column)
    sorted_keys = column[order]
    starts = run_starts(len(order), sorted_keys[1:] != sorted_keys[:-1])
    run_start, sizes = starts[:-1], np.diff(starts)
    small = (sizes > 1) & (sizes <= cap)
    found = [kernels.bucket_pairs(order, run_start[small], sizes[small])]
    big = np.flatnonzero(sizes > cap)
    capped = np.empty(0, dtype=np.int64)
    if len(big):
        run_of = np.repeat(np.arange(len(big)), sizes[big])
        members = order[np.concatenate([np.arange(run_start[r], run_start[r] + sizes[r])
                                        for r in big.tolist()])]
        inner = np.lexsort((members, second[members], run_of))
        members, run_of = members[inner], run_of[inner]
        for d in range(1, window + 1):
            same = run_of[d:] == run_of[:-d]
            found.append(pack(members[:-d][same], members[d:][same]))
        capped = np.sort(members).astype(np.int64)
    # a pair is in one bucket of a band at most, and a capped bucket's window gives it once:
    # the pairs are distinct as they are (candidate_pairs sorts them with the other bands')
    return np.concatenate(found), capped, len(big)


def pack(a: npt.NDArray[Any], b: npt.NDArray[Any]) -> npt.NDArray[np.uint64]:
    lo, hi = np.minimum(a, b).astype(np.uint64), np.maximum(a, b).astype(np.uint64)
    out: npt.NDArray[np.uint64] = (lo << np.uint64(32)) | hi
    return out


def candidate_pairs(
    keys: npt.NDArray[np.uint64], rows: npt.NDArray[np.int64], threads: int = 1,
    cap: int = BUCKET_CAP, cap_window: int = BUCKET_WINDOW,
) -> tuple[npt.NDArray[np.uint64], int, int]:
    """Unique (rows[i] << 32 | rows[j]), i < j, of the rows that share a key in any band
    (within the cap of `band_pairs`), ascending, how many buckets were over the cap, and how
    many rows were in one; `rows` ascending. The bands are grouped on `threads` threads of
    this process, one band a job (their sorts and compiled loops let go of the GIL; as
    process-pool jobs each band's keys and pairs were pickled both ways), and all their
    pairs sorted at once (`kernels.merge_unique`)."""
    bands = keys.shape[1]

    def one(band: int) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64], int]:
        return band_pairs((np.ascontiguousarray(keys[:, band]),
                           np.ascontiguousarray(keys[:, (band + 1) % bands]), cap, cap_window))

    found: list[npt.NDArray[np.uint64]] = []
    capped_rows: list[npt.NDArray[np.int64]] = []
    capped_buckets = 0
    for pairs, capped, big in _threaded(one, range(bands), threads):
        found.append(pairs)
        if len(capped):
            capped_rows.append(capped)
        capped_buckets += big
    in_capped = len(sorted_unique(np.concatenate(capped_rows).astype(np.uint64))) \
        if capped_rows else 0
    if not found:
        return np.empty(0, dtype=np.uint64), 0, 0
    local = kernels.merge_unique(found, len(keys), threads)
    del found
    # rows ascend, so mapping positions to rows keeps i < j and the order
    lo = rows[(local >> np.uint64(32)).astype(np.int64)].astype(np.uint64)
    hi = rows[(local & np.uint64(0xFFFFFFFF)).astype(np.int64)].astype(np.uint64)
    out: npt.NDArray[np.uint64] = (lo << np.uint64(32)) | hi
    return out, capped_buckets, in_capped


def screen(
    candidates: npt.NDArray[np.uint64],
    sketch: npt.NDArray[np.uint8],
    own: npt.NDArray[np.uint8],
    threshold: float,
    threads: int = 1,
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.float64] | None]:
    """The candidates whose signatures do not rule them out (`curator.dedup.near`'s docstring,
    3), and the estimated Jaccard of each kept one (agreeing share of the own bins, what
    `limit_per_record` ranks by; None when nothing was screened).

    Over the m bins where either text has a shingle of its own, the agreeing share is close to
    a binomial estimate of the Jaccard with m trials (the kept low bytes agree by chance 1 time
    in 256 more, which only keeps more); a pair is dropped below threshold - 6 sd. The chunks
    are compared on `threads` threads (the compiled loop lets go of the GIL); the result does
    not depend on it.
    """
    if len(candidates) == 0 or threshold >= 1.0:
        return candidates, None
    sd_unit = _SCREEN_SIGMAS * np.sqrt(threshold * (1.0 - threshold))

    def one(start: int) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.float64]]:
        chunk = candidates[start : start + _SCREEN_CHUNK]
        agree, trials = kernels.agreement(chunk, sketch, own)
        cut = threshold - sd_unit / np.sqrt(trials)
        keep = agree >= cut * trials
        return keep, agree[keep] / trials[keep]

    parts = _threaded(one, range(0, len(candidates), _SCREEN_CHUNK), threads)
    keep = np.concatenate([k for k, _ in parts])
    est = np.concatenate([e for _, e in parts])
    out: npt.NDArray[np.uint64] = candidates[keep]
    return out, est


def _threaded(fn: Callable[[int], _U], starts: Iterable[int], threads: int) -> list[_U]:
    """fn over starts in order, on `threads` threads when more than one."""
    if threads <= 1:
        return [fn(start) for start in starts]
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(fn, starts))


def agreement(
    chunk: npt.NDArray[np.uint64], sketch: npt.NDArray[np.uint8], own: npt.NDArray[np.uint8],
    k: int,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """For candidate pairs (i << 32 | j): in how many bins either record fills itself the two
    signatures agree, and how many such bins there are (at least 1). The compiled loop
    (`kernels.agreement`) does in one pass what numpy did in five over (pairs, k) arrays."""
    del k  # the sketch's width
    return kernels.agreement(chunk, sketch, own)


def limit_per_record(
    candidates: npt.NDArray[np.uint64],
    sketch: npt.NDArray[np.uint8],
    own: npt.NDArray[np.uint8],
    limit: int,
    est: npt.NDArray[np.float64] | None = None,
    threads: int = 1,
) -> tuple[npt.NDArray[np.uint64], int]:
    """At most `limit` candidates (i, j) for each i, those with the highest estimated
    Jaccard (agreeing own bins, as in `screen`; `est`: those estimates, as `screen` gives
    them), and how many records lost some."""
    if len(candidates) <= limit:
        return candidates, 0
    first = (candidates >> np.uint64(32)).astype(np.int64)
    counts = np.bincount(first)
    if counts.max() <= limit:
        return candidates, 0
    # only the records over the limit lose candidates: only theirs are ranked (at 1M, 5,000
    # records of 780,000, a tenth of the candidates)
    over = np.flatnonzero(counts[first] > limit)
    ranked = candidates[over]
    if est is None:
        def one(start: int) -> npt.NDArray[np.float64]:
            agree, trials = kernels.agreement(ranked[start : start + _SCREEN_CHUNK], sketch, own)
            out: npt.NDArray[np.float64] = agree / trials
            return out

        ranked_est = np.concatenate(_threaded(one, range(0, len(ranked), _SCREEN_CHUNK),
                                              threads))
    else:
        ranked_est = est[over]
    ranked_first = first[over]
    order = np.lexsort((ranked, -ranked_est, ranked_first))  # by record, the most alike first
    by_record = ranked_first[order]
    starts = run_starts(len(order), by_record[1:] != by_record[:-1])
    position = np.arange(len(order)) - np.repeat(starts[:-1], np.diff(starts))
    keep = np.ones(len(candidates), dtype=bool)
    keep[over] = False
    keep[over[order[position < limit]]] = True
    out: npt.NDArray[np.uint64] = candidates[keep]  # candidates ascend: their order is kept
    return out, int((counts > limit).sum())
