"""Near-duplicate clusters: MinHash LSH candidates, every pair verified, clusters with keepers.

The pipeline, in one pass over the records and one over the candidate pairs:

1. Batches of records go to a process pool; each batch comes back with the 128-bit hash of
   every normalised text, its length, its LSH band keys, the low byte of every signature bin
   and which bins hold a shingle of the text's own, and (unless `fetch` is given) its
   normalised text as one compact UTF-8 blob.
2. Records with identical hashes form exact groups; only each group's best record (by the
   keeper rule) takes part in the near-duplicate search, so an exact copy costs no pairs.
3. Two records sharing any band key are a candidate pair, unless their whole signatures say
   they are far apart: over the bins where at least one of the two has a shingle of its own,
   the share of agreeing bins estimates their Jaccard (one-permutation hashing's estimator),
   and a pair more than six standard deviations below the threshold is dropped (a pair at the
   threshold is dropped with a chance near one in a billion). Text shared by every example
   (role markers, stock phrases) makes unrelated pairs share a band now and then; on the 1M
   benchmark set this check removes nine candidates in ten (933,242 of 1,045,303).
4. Each remaining pair's shingle sets are rebuilt from its texts (only for candidates, a chunk
   at a time) and its true Jaccard similarity computed; pairs below the threshold are dropped.
5. Clusters form around keepers without transitive chaining (see `_cluster`).

Nothing is deleted or marked here: the result is data for the store to record.
"""

from __future__ import annotations

import collections
import gc
import itertools
import os
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import numpy as np
import numpy.typing as npt

from curator.dedup import kernels
from curator.dedup.exact import ExactGroup, as_text, content_hash_bytes
from curator.dedup.minhash import (
    DEFAULT_SHINGLING,
    band_keys,
    choose_bands,
    collision_probability,
)
from curator.dedup.settings import DedupSettings, Shingling

Item = Mapping[str, Any] | str | bytes  # bytes: the example as JSON
KeeperRule = Literal["longest", "earliest", "accepted_first"]
Fetch = Callable[[Sequence[int]], Sequence[Item]]
_T = TypeVar("_T")
_U = TypeVar("_U")

_STATUS_RANK = {"accepted": 0, "pending": 1, "rejected": 2}
_VERIFY_CHUNK = 2_000  # pairs: at most 4,000 texts, so a chunk's arrays stay near 100 MB
_SCREEN_SIGMAS = 6.0
_SCREEN_CHUNK = 100_000  # pairs compared at once: two 128-byte sketch rows each
#: A band bucket (records with equal keys in one band) of more records than this is not
#: expanded into all its pairs; each of its records is paired with the next BUCKET_WINDOW
#: records in the order of their key in another band (`_band_pairs`). So one record takes
#: part in at most bands * (BUCKET_CAP - 1) candidate pairs, and no threshold or input makes
#: the candidate work quadratic.
BUCKET_CAP = 128
BUCKET_WINDOW = 32
#: After screening, a record keeps at most this many candidates with records after it, the
#: ones its signature says are most alike (`_limit_per_record`): verification and clustering
#: then stay linear in the records too.
RECORD_CAP = 256


@dataclass(frozen=True)
class Member:
    """A non-keeper record of a cluster and its verified Jaccard similarity to the keeper."""

    id: int
    similarity: float
    exact: bool  # identical normalised content to the keeper


@dataclass(frozen=True)
class Cluster:
    keeper: int
    members: tuple[Member, ...]  # sorted by id; the keeper is not among them

    @property
    def ids(self) -> tuple[int, ...]:
        return (self.keeper, *(m.id for m in self.members))


@dataclass(frozen=True)
class DedupParams:
    threshold: float
    num_perm: int
    bands: int
    rows: int
    shingling: str
    include_system: bool
    keeper: KeeperRule
    recall_at_threshold: float  # the S-curve at the threshold: P(a pair there is a candidate)
    screen: bool = True  # candidates far below the threshold by their signatures are dropped


@dataclass(frozen=True)
class DedupStats:
    records: int
    distinct_texts: int
    candidate_pairs: int  # pairs that share a band
    verified_pairs: int  # candidates whose true Jaccard reached the threshold
    screened_out: int = 0  # candidates whose signatures put them far below the threshold
    capped_buckets: int = 0  # band buckets over BUCKET_CAP records, not fully expanded
    capped_records: int = 0  # distinct records in at least one such bucket
    limited_records: int = 0  # records whose candidates were cut to RECORD_CAP
    limited_pairs: int = 0  # candidates dropped by that cut


@dataclass(frozen=True)
class DedupResult:
    clusters: list[Cluster]  # exact and near duplicates together, keepers in priority order
    exact_groups: list[ExactGroup]
    params: DedupParams
    stats: DedupStats
    pairs: list[tuple[int, int, float]] = field(repr=False)  # every verified pair (a < b)

    def duplicate_of(self) -> dict[int, tuple[int, float]]:
        """member id -> (keeper id, similarity): what the store marks."""
        return {m.id: (c.keeper, m.similarity) for c in self.clusters for m in c.members}


def _ordered_map(
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


def _batched(items: Iterable[_T], size: int) -> Iterator[list[_T]]:
    it = iter(items)
    while batch := list(itertools.islice(it, size)):
        yield batch


@dataclass(frozen=True)
class _BatchJob:
    items: list[Item]
    include_system: bool
    num_perm: int
    shingling: Shingling
    bands: int
    rows: int
    keep_text: bool
    fetch: Fetch | None = None  # when set, items is empty and fetch(ids) gives them
    ids: list[int] = field(default_factory=list)


@dataclass
class _BatchOut:
    digests: npt.NDArray[np.uint64]  # (batch, 2): each text's 128-bit content hash
    lengths: npt.NDArray[np.int64]
    keys: npt.NDArray[np.uint64]
    sketch: npt.NDArray[np.uint8]  # the low byte of each signature bin
    own: npt.NDArray[np.uint8]  # packed bits: the bin holds a shingle of the text's own
    blob: bytes  # the normalised texts, UTF-8, back to back (empty unless keep_text)
    offsets: npt.NDArray[np.int64]


def _take(outs: list[_BatchOut], name: str, empty: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """One field of every batch, concatenated; the batches let go of theirs (at 1M the band
    keys alone are 170 MB, and holding both copies set the parent's peak)."""
    if not outs:
        return empty
    joined = np.concatenate([getattr(o, name) for o in outs])
    for o in outs:
        setattr(o, name, empty)
    return joined


def _run_batch(job: _BatchJob) -> _BatchOut:
    items = job.fetch(job.ids) if job.fetch is not None else job.items
    # ASCII text comes back raw and is normalised in compiled code: the splitting and joining
    # of normalize_text were a third of a record's time
    texts = [as_text(item, include_system=job.include_system, raw_ascii=True) for item in items]
    codes, offsets = kernels.normalise_ascii(*kernels.encode(texts))
    sig, own = kernels.minhash(codes, offsets, job.shingling.unit == "word", job.shingling.n,
                               job.num_perm)
    keys = band_keys(sig, job.bands, job.rows)
    lengths = np.diff(offsets)
    # the normalised UTF-8 of each text: its code points as bytes when ASCII
    ascii_bytes = codes.astype(np.uint8).data
    bounds = offsets.tolist()
    encoded = [ascii_bytes[bounds[k] : bounds[k + 1]] if t.isascii() else t.encode("utf-8")
               for k, t in enumerate(texts)]
    if job.keep_text:
        sizes = np.fromiter((len(e) for e in encoded), dtype=np.int64, count=len(encoded))
        blob, blob_offsets = b"".join(encoded), np.concatenate([[0], np.cumsum(sizes)])
    else:
        blob, blob_offsets = b"", np.zeros(1, dtype=np.int64)
    sketch = sig.astype(np.uint8)  # the low byte: a bin agrees by chance 1 time in 256 more
    digests = np.frombuffer(b"".join(content_hash_bytes(e) for e in encoded), dtype=np.uint64)
    return _BatchOut(digests.reshape(len(texts), 2), lengths, keys, sketch,
                     np.packbits(own, axis=1), blob, blob_offsets)


@dataclass(frozen=True)
class _VerifyJob:
    items: list[Item]  # normalised texts, or examples the worker normalises itself
    left: npt.NDArray[np.int64]  # pair ends as indices into items
    right: npt.NDArray[np.int64]
    shingling: Shingling
    include_system: bool
    fetch: Fetch | None = None  # when set, items is empty and fetch(ids) gives them
    ids: list[int] = field(default_factory=list)


def _sorted_unique(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    # np.unique hashes 64-bit values before sorting (numpy 2.3+), 6x slower here than a sort
    x = np.sort(x)
    keep = np.ones(len(x), dtype=bool)
    keep[1:] = x[1:] != x[:-1]
    out: npt.NDArray[np.uint64] = x[keep]
    return out


def _run_verify(job: _VerifyJob) -> npt.NDArray[np.float64]:
    items = job.fetch(job.ids) if job.fetch is not None else job.items
    texts = [as_text(item, include_system=job.include_system) for item in items]
    codes, offsets = kernels.encode(texts)
    return kernels.pair_jaccard(
        codes, offsets, job.shingling.unit == "word", job.shingling.n, job.left, job.right
    )


def _status_rank(value: str | int) -> int:
    """A status's rank for accepted_first, or a rank given as a number (the `best` keeper's,
    workspace/dedup.py best_keeper_ranks: fewest problems, then the better score)."""
    return value if isinstance(value, int) else _STATUS_RANK.get(value, 1)


def _priority(
    ids: npt.NDArray[np.int64],
    lengths: npt.NDArray[np.int64],
    rule: KeeperRule,
    statuses: Mapping[int, str] | Mapping[int, int] | None,
    prefer: Collection[int],
) -> npt.NDArray[np.int64]:
    """rank[i]: 0 for the record that most deserves to be kept; ties go to the smaller id."""
    preferred = np.fromiter((i in prefer for i in ids.tolist()), dtype=bool, count=len(ids))
    if rule == "longest":
        order = np.lexsort((ids, -lengths, ~preferred))
    elif rule == "earliest":
        order = np.lexsort((ids, ~preferred))
    elif rule == "accepted_first":
        status = statuses or {}
        rank = np.fromiter(
            (_status_rank(status.get(i, "pending")) for i in ids.tolist()),
            dtype=np.int64,
            count=len(ids),
        )
        order = np.lexsort((ids, rank, ~preferred))
    else:
        raise ValueError(f"unknown keeper rule {rule!r}; use longest, earliest or accepted_first")
    rank_of = np.empty(len(ids), dtype=np.int64)
    rank_of[order] = np.arange(len(ids))
    return rank_of


def _run_starts(n: int, differs: npt.NDArray[np.bool_]) -> npt.NDArray[np.intp]:
    """Where each run of equal values of a sorted array of n values starts, and n at the end;
    `differs[i]` says whether sorted value i + 1 differs from value i."""
    new_run = np.ones(n + 1, dtype=bool)
    new_run[1:-1] = differs
    return np.flatnonzero(new_run)


def _exact_groups(digests: npt.NDArray[np.uint64]) -> list[list[int]]:
    """Indices of rows with equal 128-bit digests, groups of two or more, each in index order,
    the groups in order of their first index."""
    order = np.lexsort((digests[:, 1], digests[:, 0]))
    ordered = digests[order]
    starts = _run_starts(len(order), (ordered[1:] != ordered[:-1]).any(axis=1))
    sizes = np.diff(starts)
    groups = [sorted(order[starts[k] : starts[k + 1]].tolist())
              for k in np.flatnonzero(sizes > 1).tolist()]
    groups.sort(key=lambda g: g[0])
    return groups


def _band_pairs(job: tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64], int, int]
                ) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64], int]:
    """Unique (i << 32 | j), i < j, of the positions in one band's keys that hold equal keys,
    the positions in buckets over the cap, and how many buckets were over it.

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
    starts = _run_starts(len(order), sorted_keys[1:] != sorted_keys[:-1])
    run_start, sizes = starts[:-1], np.diff(starts)
    found: list[npt.NDArray[np.uint64]] = []
    for size in np.unique(sizes[(sizes > 1) & (sizes <= cap)]).tolist():
        first = run_start[sizes == size]
        left, right = np.triu_indices(size, 1)
        a = order[first[:, None] + left].ravel()
        b = order[first[:, None] + right].ravel()
        found.append(_pack(a, b))
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
            found.append(_pack(members[:-d][same], members[d:][same]))
        capped = np.sort(members).astype(np.int64)
    if not found:
        return np.empty(0, dtype=np.uint64), capped, len(big)
    return _sorted_unique(np.concatenate(found)), capped, len(big)


def _pack(a: npt.NDArray[Any], b: npt.NDArray[Any]) -> npt.NDArray[np.uint64]:
    lo, hi = np.minimum(a, b).astype(np.uint64), np.maximum(a, b).astype(np.uint64)
    out: npt.NDArray[np.uint64] = (lo << np.uint64(32)) | hi
    return out


def _candidate_pairs(
    keys: npt.NDArray[np.uint64], rows: npt.NDArray[np.int64], pool: Executor | None,
    window: int, cap: int = BUCKET_CAP, cap_window: int = BUCKET_WINDOW,
) -> tuple[npt.NDArray[np.uint64], int, int]:
    """Unique (rows[i] << 32 | rows[j]), i < j, of the rows that share a key in any band
    (within the cap of `_band_pairs`), how many buckets were over the cap, and how many rows
    were in one; `rows` ascending. The bands are grouped in the worker processes, one band a
    job."""
    bands = keys.shape[1]
    jobs = ((np.ascontiguousarray(keys[:, band]),
             np.ascontiguousarray(keys[:, (band + 1) % bands]), cap, cap_window)
            for band in range(bands))
    found: list[npt.NDArray[np.uint64]] = []
    capped_rows: list[npt.NDArray[np.int64]] = []
    capped_buckets = 0
    for pairs, capped, big in _ordered_map(pool, _band_pairs, jobs, window):
        found.append(pairs)
        if len(capped):
            capped_rows.append(capped)
        capped_buckets += big
    in_capped = len(_sorted_unique(np.concatenate(capped_rows).astype(np.uint64))) \
        if capped_rows else 0
    if not found:
        return np.empty(0, dtype=np.uint64), 0, 0
    local = _sorted_unique(np.concatenate(found))
    # rows ascend, so mapping positions to rows keeps i < j and the order
    lo = rows[(local >> np.uint64(32)).astype(np.int64)].astype(np.uint64)
    hi = rows[(local & np.uint64(0xFFFFFFFF)).astype(np.int64)].astype(np.uint64)
    out: npt.NDArray[np.uint64] = (lo << np.uint64(32)) | hi
    return out, capped_buckets, in_capped


def _screen(
    candidates: npt.NDArray[np.uint64],
    sketch: npt.NDArray[np.uint8],
    own: npt.NDArray[np.uint8],
    threshold: float,
) -> npt.NDArray[np.uint64]:
    """The candidates whose signatures do not rule them out (see the module docstring, 3).

    Over the m bins where either text has a shingle of its own, the agreeing share is close to
    a binomial estimate of the Jaccard with m trials (the kept low bytes agree by chance 1 time
    in 256 more, which only keeps more); a pair is dropped below threshold - 6 sd.
    """
    k = sketch.shape[1]
    if len(candidates) == 0 or threshold >= 1.0:
        return candidates
    keep = np.empty(len(candidates), dtype=bool)
    sd_unit = _SCREEN_SIGMAS * np.sqrt(threshold * (1.0 - threshold))
    for start in range(0, len(candidates), _SCREEN_CHUNK):
        chunk = candidates[start : start + _SCREEN_CHUNK]
        agree, trials = _agreement(chunk, sketch, own, k)
        cut = threshold - sd_unit / np.sqrt(trials)
        keep[start : start + len(chunk)] = agree >= cut * trials
    out: npt.NDArray[np.uint64] = candidates[keep]
    return out


def _agreement(
    chunk: npt.NDArray[np.uint64], sketch: npt.NDArray[np.uint8], own: npt.NDArray[np.uint8],
    k: int,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """For candidate pairs (i << 32 | j): in how many bins either record fills itself the two
    signatures agree, and how many such bins there are (at least 1)."""
    a = (chunk >> np.uint64(32)).astype(np.int64)
    b = (chunk & np.uint64(0xFFFFFFFF)).astype(np.int64)
    either = np.unpackbits(own[a] | own[b], axis=1, count=k).astype(bool)
    agree = ((sketch[a] == sketch[b]) & either).sum(axis=1)
    return agree, np.maximum(either.sum(axis=1), 1)


def _limit_per_record(
    candidates: npt.NDArray[np.uint64],
    sketch: npt.NDArray[np.uint8],
    own: npt.NDArray[np.uint8],
    limit: int,
) -> tuple[npt.NDArray[np.uint64], int]:
    """At most `limit` candidates (i, j) for each i, those with the highest estimated
    Jaccard (agreeing own bins, as in `_screen`), and how many records lost some."""
    if len(candidates) <= limit:
        return candidates, 0
    first = (candidates >> np.uint64(32)).astype(np.int64)
    counts = np.bincount(first)
    if counts.max() <= limit:
        return candidates, 0
    k = sketch.shape[1]
    est = np.empty(len(candidates), dtype=np.float64)
    for start in range(0, len(candidates), _SCREEN_CHUNK):
        chunk = candidates[start : start + _SCREEN_CHUNK]
        agree, trials = _agreement(chunk, sketch, own, k)
        est[start : start + len(chunk)] = agree / trials
    order = np.lexsort((candidates, -est, first))  # by record, the most alike first
    starts = np.concatenate([[0], np.cumsum(counts)])
    position = np.arange(len(order)) - starts[first[order]]
    keep = np.sort(order[position < limit])  # candidates ascend, so their order is kept
    out: npt.NDArray[np.uint64] = candidates[keep]
    return out, int((counts > limit).sum())


def _cluster(
    n: int, rank: npt.NDArray[np.int64], pairs: list[tuple[int, int, float]]
) -> list[tuple[int, list[tuple[int, float]]]]:
    """Greedy clustering around keepers, never by transitive chaining.

    Records are visited from the highest keeper priority down. A record not yet in a cluster
    becomes a keeper, and every verified neighbour of it not yet in a cluster joins it. So each
    member's similarity to its keeper is itself verified >= threshold: a chain A~B~C with A!~C
    makes {A, B} and leaves C alone (when A ranks first), never {A, B, C}.
    """
    neighbours: dict[int, list[tuple[int, float]]] = {}
    for i, j, s in pairs:
        neighbours.setdefault(i, []).append((j, s))
        neighbours.setdefault(j, []).append((i, s))
    taken = bytearray(n)  # a list-like of flags: numpy scalar indexing is slow in a loop
    rank_of: list[int] = rank.tolist()
    clusters = []
    for centre in sorted(neighbours, key=rank_of.__getitem__):
        if taken[centre]:
            continue
        joined = [(j, s) for j, s in neighbours[centre] if not taken[j]]
        if joined:
            taken[centre] = 1
            for j, _ in joined:
                taken[j] = 1
            clusters.append((centre, joined))
    return clusters


def find_duplicates(
    records: Iterable[tuple[int, Item]] = (),
    *,
    ids: Sequence[int] | None = None,
    threshold: float = DedupSettings().threshold,
    num_perm: int = DedupSettings().num_perm,
    shingling: Shingling = DEFAULT_SHINGLING,
    include_system: bool = DedupSettings().include_system,
    keeper: KeeperRule = "longest",
    statuses: Mapping[int, str] | Mapping[int, int] | None = None,
    prefer: Collection[int] = (),
    processes: int | None = None,
    batch_size: int = 2_000,
    fetch: Fetch | None = None,
    min_recall: float = 0.99,
    progress: Callable[[int, int], None] | None = None,
    screen: bool = True,
    bucket_cap: int = BUCKET_CAP,
    bucket_window: int = BUCKET_WINDOW,
    record_cap: int = RECORD_CAP,
) -> DedupResult:
    """Exact and near-duplicate clusters of `records`, each with a keeper and similarities.

    `records` yields (record_id, chat example dict) or (record_id, already normalised text);
    it is read once. Without `fetch` the normalised texts are kept (compact UTF-8) to verify
    candidate pairs; with `fetch(ids) -> items` they are asked for again, only for candidates,
    by the worker processes: `fetch` must be picklable and open what it reads in the process
    that calls it. With `ids` (and `fetch`) instead of `records`, the workers read every record
    through `fetch`, a batch of consecutive ids at a time, and this process never sees a text.
    `progress(done, total)` follows the records signed (with `ids`), then the candidate pairs
    verified, counted on from the records (total = records + pairs).
    `keeper` orders records for keeping; ids in `prefer` always come first; `statuses` maps id to
    accepted / pending / rejected for the accepted_first rule (or to a numeric rank, lower kept first). `processes` defaults to the CPU
    count; the result does not depend on it. `screen=False` verifies every pair that shares a
    band, skipping the signature screen (module docstring, 3): slower, and in practice the same
    pairs. `bucket_cap` and `bucket_window` bound the candidates a band bucket gives
    (`BUCKET_CAP`) and `record_cap` the candidates one record keeps (`RECORD_CAP`); the stats
    say how often either cap was hit.
    """
    if bucket_cap < 2 or bucket_window < 1 or record_cap < 1:
        raise ValueError("bucket_cap must be at least 2, bucket_window and record_cap at least 1")
    bands, rows = choose_bands(threshold, num_perm, min_recall)
    params = DedupParams(
        threshold,
        num_perm,
        bands,
        rows,
        str(shingling),
        include_system,
        keeper,
        collision_probability(threshold, bands, rows),
        screen,
    )
    if ids is not None and fetch is None:
        raise ValueError("ids without fetch: nothing to read the records with")
    workers = processes if processes is not None else (os.cpu_count() or 1)
    # (workers fork from this process when first used, with the collector paused below: they
    # turn it back on)
    pool: Executor | None = (
        ProcessPoolExecutor(workers, initializer=gc.enable) if workers > 1 else None
    )
    # The cyclic garbage collector would walk the hundreds of thousands of pair and member
    # objects built here again and again (measured: 1.5 of 28 s at 1M); nothing here is cyclic.
    # Only from the main thread: the switch is process-wide, and a caller running dedup in a
    # thread (the review app) keeps creating objects of its own meanwhile.
    collecting = gc.isenabled() and threading.current_thread() is threading.main_thread()
    if collecting:
        gc.disable()
    try:
        return _find(
            records, ids, params, shingling, statuses, prefer, batch_size, fetch, pool,
            2 * workers, progress, bucket_cap, bucket_window, record_cap,
        )
    finally:
        if collecting:
            gc.enable()
        if pool is not None:
            pool.shutdown()


def _find(
    records: Iterable[tuple[int, Item]],
    only: Sequence[int] | None,
    params: DedupParams,
    shingling: Shingling,
    statuses: Mapping[int, str] | Mapping[int, int] | None,
    prefer: Collection[int],
    batch_size: int,
    fetch: Fetch | None,
    pool: Executor | None,
    window: int,
    progress: Callable[[int, int], None] | None,
    bucket_cap: int,
    bucket_window: int,
    record_cap: int,
) -> DedupResult:
    ids: list[int] = []

    def jobs() -> Iterator[_BatchJob]:
        if only is not None:
            for start in range(0, len(only), batch_size):
                chunk = list(only[start : start + batch_size])
                ids.extend(chunk)
                yield _BatchJob([], params.include_system, params.num_perm, shingling,
                                params.bands, params.rows, False, fetch, chunk)
            return
        for batch in _batched(records, batch_size):
            ids.extend(record_id for record_id, _ in batch)
            yield _BatchJob(
                [item for _, item in batch],
                params.include_system,
                params.num_perm,
                shingling,
                params.bands,
                params.rows,
                fetch is None,
            )

    outs: list[_BatchOut] = []
    for out in _ordered_map(pool, _run_batch, jobs(), window):
        outs.append(out)
        if progress is not None and only is not None:
            progress(min(len(outs) * batch_size, len(only)), len(only))
    id_arr = np.asarray(ids, dtype=np.int64)
    n = len(id_arr)
    if len(set(ids)) != n:
        raise ValueError("record ids must be unique")
    lengths = _take(outs, "lengths", np.empty(0, np.int64))
    rank = _priority(id_arr, lengths, params.keeper, statuses, prefer)

    # exact groups; the best-ranked record of each stands for it in the near search
    digests = _take(outs, "digests", np.empty((0, 2), np.uint64))
    groups = _exact_groups(digests)
    rep_of = np.arange(n)
    for g in groups:
        best = min(g, key=lambda i: int(rank[i]))
        rep_of[g] = best
    reps = np.flatnonzero(rep_of == np.arange(n))
    keys = _take(outs, "keys", np.empty((0, 1), np.uint64))
    if len(reps) < n:
        keys = keys[reps]
    candidates, capped_buckets, capped_records = _candidate_pairs(
        keys, reps, pool, window, bucket_cap, bucket_window)
    del keys
    lsh_pairs = len(candidates)
    sketch = _take(outs, "sketch", np.empty((0, 1), np.uint8))
    own = _take(outs, "own", np.empty((0, 1), np.uint8))
    if params.screen:
        candidates = _screen(candidates, sketch, own, params.threshold)
    screened = len(candidates)
    candidates, limited_records = _limit_per_record(candidates, sketch, own, record_cap)
    del sketch, own

    def texts_for(indices: npt.NDArray[np.int64]) -> list[Item]:
        texts: list[Item] = []
        for i in indices.tolist():
            out = outs[i // batch_size]
            k = i % batch_size
            texts.append(out.blob[out.offsets[k] : out.offsets[k + 1]].decode("utf-8"))
        return texts

    def verify_jobs() -> Iterator[_VerifyJob]:
        for start in range(0, len(candidates), _VERIFY_CHUNK):
            chunk = candidates[start : start + _VERIFY_CHUNK]
            a = (chunk >> np.uint64(32)).astype(np.int64)
            b = (chunk & np.uint64(0xFFFFFFFF)).astype(np.int64)
            involved, local = np.unique(np.concatenate([a, b]), return_inverse=True)
            left, right = local[: len(a)], local[len(a) :]
            if fetch is None:
                yield _VerifyJob(texts_for(involved), left, right, shingling,
                                 params.include_system)
            else:
                # the worker fetches and normalises: done here, for the three quarters of a
                # million texts a 1M set's candidates involve, it made this process the
                # bottleneck
                yield _VerifyJob([], left, right, shingling, params.include_system, fetch,
                                 [ids[i] for i in involved.tolist()])

    pairs: list[tuple[int, int, float]] = []
    sims_iter = _ordered_map(pool, _run_verify, verify_jobs(), window)
    for start, sims in zip(range(0, len(candidates), _VERIFY_CHUNK), sims_iter, strict=True):
        chunk = candidates[start : start + _VERIFY_CHUNK]
        for pair, s in zip(chunk.tolist(), sims.tolist(), strict=True):
            if s >= params.threshold:
                pairs.append((pair >> 32, pair & 0xFFFFFFFF, s))
        if progress is not None:  # the bar grows by the pairs to verify once they are known
            progress(n + start + len(chunk), n + len(candidates))

    clusters = _assemble(n, rank, rep_of, groups, _cluster(n, rank, pairs), id_arr)
    exact = [ExactGroup(digests[g[0]].tobytes().hex(), tuple(ids[i] for i in g)) for g in groups]
    stats = DedupStats(n, len(reps), lsh_pairs, len(pairs), lsh_pairs - screened,
                       capped_buckets, capped_records, limited_records,
                       screened - len(candidates))
    id_pairs = [(min(ids[i], ids[j]), max(ids[i], ids[j]), s) for i, j, s in pairs]
    return DedupResult(clusters, exact, params, stats, id_pairs)


def _assemble(
    n: int,
    rank: npt.NDArray[np.int64],
    rep_of: npt.NDArray[np.int64],
    groups: list[list[int]],
    near: list[tuple[int, list[tuple[int, float]]]],
    id_arr: npt.NDArray[np.int64],
) -> list[Cluster]:
    """Near clusters over representatives, widened by each representative's exact copies."""
    id_of: list[int] = id_arr.tolist()
    rank_of: list[int] = rank.tolist()
    copies: dict[int, list[int]] = {}
    for g in groups:
        rep = int(rep_of[g[0]])
        copies[rep] = [i for i in g if i != rep]
    in_near: set[int] = set()
    built: list[tuple[int, list[Member]]] = []
    for centre, joined in near:
        members = [Member(id_of[i], 1.0, True) for i in copies.get(centre, ())]
        for j, s in joined:
            members.append(Member(id_of[j], s, False))
            members += [Member(id_of[i], s, False) for i in copies.get(j, ())]
        in_near.add(centre)
        in_near.update(j for j, _ in joined)
        built.append((centre, members))
    for rep, others in copies.items():
        if rep not in in_near:
            built.append((rep, [Member(id_of[i], 1.0, True) for i in others]))
    built.sort(key=lambda c: rank_of[c[0]])
    return [
        Cluster(id_of[c], tuple(sorted(members, key=lambda m: m.id))) for c, members in built
    ]
