"""Near-duplicate clusters: MinHash LSH candidates, every pair verified, clusters with keepers.

The pipeline, in one pass over the records and one over the candidate pairs:

1. Batches of records go to a process pool; each batch comes back with the 128-bit hash of
   every normalised text, its length, its LSH band keys, the low byte of every signature bin
   and which bins hold a shingle of the text's own, its number of distinct shingles, and its
   shingle profile followed by its normalised text as UTF-8, the records the parent spills.
2. Records with identical hashes form exact groups; only each group's best record (by the
   keeper rule) takes part in the near-duplicate search, so an exact copy costs no pairs.
3. Two records sharing any band key are a candidate pair, unless their whole signatures say
   they are far apart: over the bins where at least one of the two has a shingle of its own,
   the share of agreeing bins estimates their Jaccard (one-permutation hashing's estimator),
   and a pair more than six standard deviations below the threshold is dropped (a pair at the
   threshold is dropped with a chance near one in a billion). Text shared by every example
   (role markers, stock phrases) makes unrelated pairs share a band now and then; on the 1M
   benchmark set this check removes nine candidates in ten (933,242 of 1,045,303).
4. Each remaining pair's profiles (its texts' distinct shingles counted by hash bucket) bound
   its Jaccard: a pair whose bound is below the threshold is dropped unread. The shingle sets
   of the pairs left are rebuilt from their texts (a chunk at a time) and each one's true
   Jaccard similarity computed; pairs below the threshold are dropped.
   A pair that reaches it must also reach it on the texts' own shingles, without those that a
   large share of the records hold (a shared tool preamble, curator/dedup/boilerplate.py):
   counted on a sample of the distinct texts before verification.
5. Clusters form around keepers without transitive chaining (see `cluster`).

Nothing is deleted or marked here: the result is data for the store to record.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import mmap
import os
import tempfile
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import orjson

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: a killed run's spill file stays behind
    fcntl = None  # type: ignore[assignment]

from curator.dedup import boilerplate, kernels
from curator.dedup.candidates import (
    BUCKET_CAP,
    BUCKET_WINDOW,
    RECORD_CAP,
    candidate_pairs,
    limit_per_record,
    ordered_map,
    run_starts,
)
from curator.dedup.candidates import (
    screen as screen_pairs,
)
from curator.dedup.cluster import Cluster, KeeperRule, Member, assemble, cluster, priority
from curator.dedup.exact import ExactGroup, as_text, content_hash_bytes
from curator.dedup.minhash import (
    DEFAULT_SHINGLING,
    band_keys,
    choose_bands,
    collision_probability,
)
from curator.dedup.normalize import normalize_text, padded
from curator.dedup.settings import DedupSettings, Shingling

__all__ = [
    "BUCKET_CAP", "BUCKET_WINDOW", "RECORD_CAP", "Cluster", "DedupParams", "DedupResult",
    "DedupStats", "Fetch", "Flag", "Item", "KeeperRule", "Member", "RanksFromFlags",
    "find_duplicates",
]

Item = Mapping[str, Any] | str | bytes  # bytes: the example as JSON
Fetch = Callable[[Sequence[int]], Sequence[Item]]
#: a number computed from each example where it is read (in the workers): find_duplicates
Flag = Callable[[Mapping[str, Any]], int]
#: the keeper ranks of the records (ids) from their flags, both arrays aligned with the ids
#: (find_duplicates)
RanksFromFlags = Callable[[npt.NDArray[np.int64], npt.NDArray[np.int64]],
                          npt.NDArray[np.int64]]
_T = TypeVar("_T")
_U = TypeVar("_U")

_SPILL_PREFIX = "curator-dedup-"
_SPILL_STALE_S = 60.0  # a spill file this old whose lock nobody holds belongs to a dead run
_VERIFY_CHUNK = 2_000  # pairs: at most 4,000 texts, so a chunk's arrays stay near 100 MB


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
    fetch: Fetch | None = None  # when set, items is empty and fetch(ids) gives them
    ids: list[int] = field(default_factory=list)
    flag: Flag | None = None  # run on each example (a dict) as it is read: find_duplicates


@dataclass
class _BatchOut:
    digests: npt.NDArray[np.uint64]  # (batch, 2): each text's 128-bit content hash
    lengths: npt.NDArray[np.int64]
    keys: npt.NDArray[np.uint64]
    sketch: npt.NDArray[np.uint8]  # the low byte of each signature bin
    own: npt.NDArray[np.uint8]  # packed bits: the bin holds a shingle of the text's own
    #: the records as the parent spills them, back to back: each text's profile
    #: (kernels.PROFILE bytes, `kernels.minhash_profiles`) then its normalised text as UTF-8
    blob: bytes
    offsets: npt.NDArray[np.int64]  # where each record starts in blob (and its end)
    flags: npt.NDArray[np.int64]  # job.flag of each example (0 for a text); empty without
    distinct: npt.NDArray[np.int32]  # each text's number of distinct shingles


_COLUMNS = ("digests", "lengths", "keys", "sketch", "own", "flags", "distinct")


class _Columns:
    """The per-record arrays of every batch (`_COLUMNS` of `_BatchOut`), gathered as the
    batches come back. With the number of records known, each column is allocated once and
    every batch copied into its rows while the workers sign the next ones (joining them all
    after the signing took the parent a serial second at 1M, mostly faulting in 0.4 GB);
    otherwise they are joined at the end. A batch lets go of its arrays once copied."""

    def __init__(self, total: int | None) -> None:
        self.total = total
        self.filled = 0
        self.columns: dict[str, npt.NDArray[Any]] = {}
        self.outs: list[_BatchOut] = []

    def add(self, out: _BatchOut) -> None:
        rows = len(out.lengths)
        if self.total is None or self.filled + rows > self.total:
            self.total = None  # more records than said: join them at the end
            self.outs.append(out)
            return
        for name in _COLUMNS:
            part = getattr(out, name)
            if len(part) != rows:  # no flags asked for: an empty array
                continue
            if name not in self.columns:
                if self.filled:  # a column that earlier batches did not have
                    continue
                self.columns[name] = np.empty((self.total, *part.shape[1:]), dtype=part.dtype)
            self.columns[name][self.filled : self.filled + rows] = part
            setattr(out, name, part[:0])
        self.filled += rows

    def take(self, name: str, empty: npt.NDArray[Any]) -> npt.NDArray[Any]:
        """One column for every record so far (`empty` when there is none), the column let go
        of here."""
        if self.outs:  # the joined way; the batches let go of theirs (keys alone: 170 MB)
            parts = [getattr(o, name) for o in self.outs]
            if self.filled and name in self.columns:
                parts.insert(0, self.columns.pop(name)[: self.filled])
            joined = np.concatenate(parts) if parts else empty
            for o in self.outs:
                setattr(o, name, empty)
            return joined
        column = self.columns.pop(name, None)
        return empty if column is None else column[: self.filled]


def _read_items(job: _BatchJob, items: Sequence[Item]
                ) -> tuple[list[bytes], npt.NDArray[np.int64]]:
    """Each example's comparison text as UTF-8 (raw when ASCII: `as_text`'s raw_ascii), and
    job.flag of each (empty without a flag)."""
    flag = job.flag
    flags = np.empty(0, dtype=np.int64)
    if (flag is None or flag is padded) and items and all(
            type(item) is bytes for item in items):
        return _read_json(job, items)  # type: ignore[arg-type]
    if flag is not None:
        items = [orjson.loads(item) if isinstance(item, bytes) else item for item in items]
        flags = np.fromiter((flag(item) if isinstance(item, Mapping) else 0 for item in items),
                            dtype=np.int64, count=len(items))
    # ASCII text comes back raw and is normalised in compiled code: the splitting and joining
    # of normalize_text were a third of a record's time
    return [as_text(item, include_system=job.include_system, raw_ascii=True).encode("utf-8")
            for item in items], flags


def _read_json(job: _BatchJob, items: Sequence[bytes]
               ) -> tuple[list[bytes], npt.NDArray[np.int64]]:
    """`_read_items` of examples given as JSON: those of the plain chat shape are read in
    compiled code (`kernels.plain_chat`: their text and `padded` without a Python object; the
    JSON parse, example_text and padded were 10 of a record's 22 us), the others as before;
    a text that is not ASCII is normalised by `normalize_text` as `as_text` does."""
    raw_bounds = np.zeros(len(items) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, items), dtype=np.int64, count=len(items)),
              out=raw_bounds[1:])
    out, bounds, kinds, pads = kernels.plain_chat(
        np.frombuffer(b"".join(items), dtype=np.uint8), raw_bounds, job.include_system)
    texts = out.tobytes()
    cuts = bounds.tolist()
    encoded = [texts[cuts[k] : cuts[k + 1]] for k in range(len(items))]
    flags = pads.astype(np.int64)
    for k in np.flatnonzero(kinds != 0).tolist():
        if kinds[k] == 1:
            try:
                encoded[k] = normalize_text(encoded[k].decode("utf-8")).encode("utf-8")
                continue
            except UnicodeDecodeError:  # not UTF-8: the parser says what is wrong
                pass
        example = orjson.loads(items[k])
        flags[k] = padded(example) if isinstance(example, Mapping) else 0
        encoded[k] = as_text(example, include_system=job.include_system,
                             raw_ascii=True).encode("utf-8")
    return encoded, flags if job.flag is not None else np.empty(0, dtype=np.int64)


def _run_batch(job: _BatchJob) -> _BatchOut:
    items: Sequence[Item] = job.fetch(job.ids) if job.fetch is not None else job.items
    # as UTF-8 (a copy for ASCII text), normalised and decoded in one compiled pass, which
    # also gives the normalised UTF-8 that is spilled and hashed
    encoded, flags = _read_items(job, items)
    count = len(encoded)
    raw_bounds = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)),
              out=raw_bounds[1:])
    codes, offsets, utf8, blob_offsets = kernels.normalise_utf8(
        np.frombuffer(b"".join(encoded), dtype=np.uint8), raw_bounds)
    del encoded
    sig, own, distinct, profiles = kernels.minhash_profiles(
        codes, offsets, job.shingling.unit == "word", job.shingling.n, job.num_perm)
    keys = band_keys(sig, job.bands, job.rows)
    lengths = np.diff(offsets)
    view = utf8.data
    cuts = blob_offsets.tolist()
    sketch = sig.astype(np.uint8)  # the low byte: a bin agrees by chance 1 time in 256 more
    digests = np.frombuffer(b"".join(content_hash_bytes(view[cuts[k] : cuts[k + 1]])
                                     for k in range(count)), dtype=np.uint64)
    del view
    records, record_offsets = kernels.profiled_records(utf8, blob_offsets, profiles)
    return _BatchOut(digests.reshape(count, 2), lengths, keys, sketch,
                     np.packbits(own, axis=1), records.tobytes(), record_offsets, flags,
                     distinct.astype(np.int32))


@dataclass(frozen=True)
class _VerifyJob:
    spill: str  # the file of records (profile, then the text as UTF-8) written while signing
    starts: npt.NDArray[np.int64]  # where in it each record the chunk needs starts
    ends: npt.NDArray[np.int64]  # and ends
    left: npt.NDArray[np.int64]  # pair ends as indices into starts / ends
    right: npt.NDArray[np.int64]
    shingling: Shingling
    threshold: float = 1.0
    #: each text's number of distinct shingles (counted while signing), as starts / ends
    distinct: npt.NDArray[np.int32] | None = None
    #: sorted hashes of the shingles a large share of records hold (curator/dedup/boilerplate.py)
    frequent: npt.NDArray[np.uint64] = field(default_factory=lambda: np.empty(0, np.uint64))


#: the spill file mapped once per process (path -> map and a byte view of it), not mapped and
#: unmapped whole for every chunk (each new map faulted every page in again)
_SPILL_MAPS: dict[str, tuple[mmap.mmap, npt.NDArray[np.uint8]]] = {}


def _spill_view(spill: str) -> npt.NDArray[np.uint8] | None:
    """The spill file's bytes (None when it is empty: mmap refuses an empty file), mapped the
    first time this process asks; the file is complete before anything reads it."""
    if spill not in _SPILL_MAPS:
        for other in list(_SPILL_MAPS):  # a pool lives for one run: an older map is stale
            _release_spill(other)
        with open(spill, "rb") as f:
            if os.fstat(f.fileno()).st_size == 0:  # every text empty
                return None
            mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        _SPILL_MAPS[spill] = (mm, np.frombuffer(mm, dtype=np.uint8))
    return _SPILL_MAPS[spill][1]


def _release_spill(spill: str) -> None:
    mapped = _SPILL_MAPS.pop(spill, None)
    if mapped is not None:
        mm, view = mapped
        del view, mapped  # the map cannot close while an array still points into it
        mm.close()


def _spilled_codes(spill: str, starts: npt.NDArray[np.int64], ends: npt.NDArray[np.int64]
                   ) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.int64]]:
    """The texts at these byte ranges of the spill file as code points and offsets."""
    view = _spill_view(spill)
    if view is None:
        return np.zeros(0, dtype=np.uint32), np.zeros(len(starts) + 1, dtype=np.int64)
    # The pages read stay mapped until the run ends: they are the page cache's (the parent
    # wrote the file), shared by every process, so a worker's resident size grows towards the
    # file's size (0.86 GB at 1M) without taking that much memory. Letting them go after each
    # chunk (madvise DONTNEED, as before) faulted the same pages in again chunk after chunk:
    # millions of page faults, 4-5 s of system time at 1M.
    return kernels.gather_utf8(view, starts, ends)


def _run_verify(job: _VerifyJob) -> npt.NDArray[np.float64]:
    view = _spill_view(job.spill)
    assert view is not None  # every record has its profile: the file is never empty
    # the profiles first: a pair whose texts' profiles cannot share enough shingles for the
    # threshold is below it without a shingle of either being looked at (86 % of the pairs
    # of the 1M real-text run, each in a tenth of the time), its figure that bound
    upper: npt.NDArray[np.float64] = (
        np.full(len(job.left), np.nan) if job.distinct is None else
        kernels.profile_bounds(view, job.starts, job.left, job.right, job.distinct))
    sims: npt.NDArray[np.float64] = upper.copy()
    keep = np.flatnonzero(~(upper < job.threshold))  # NaN: no bound, verified
    if len(keep) == 0:
        return sims
    # only the texts of the pairs left are read (a tenth of the chunk's, at 1M)
    texts, local = np.unique(np.concatenate([job.left[keep], job.right[keep]]),
                             return_inverse=True)
    codes, offsets = _spilled_codes(job.spill, job.starts[texts] + kernels.PROFILE,
                                    job.ends[texts])
    # a pair that reaches the threshold must also reach it without the boilerplate shingles,
    # counted in the same compiled pass (boilerplate.own_similarity is the reference)
    kept, own = kernels.pair_similarities(
        codes, offsets, job.shingling.unit == "word", job.shingling.n, local[: len(keep)],
        local[len(keep) :], job.frequent, job.threshold, boilerplate.MIN_OWN,
        None if job.distinct is None else job.distinct[texts], stop=True)
    # below it there, the pair goes (its figure is what drops it); above it or NaN (too
    # little of their own), it stays with its whole-text Jaccard, the similarity reported
    below = own < job.threshold
    kept[below] = own[below]
    sims[keep] = kept
    return sims


def _frequent_shingles(spill: str, bounds: npt.NDArray[np.int64], reps: npt.NDArray[np.intp],
                       shingling: Shingling) -> npt.NDArray[np.uint64]:
    """The boilerplate shingles of the distinct texts (a sample of them), from the spill file
    (`bounds`: where each record starts, its profile before its text)."""
    sample = reps[boilerplate.sample_positions(len(reps))]
    codes, offsets = _spilled_codes(spill, bounds[sample] + kernels.PROFILE, bounds[sample + 1])
    # this runs in the parent, which keeps the sample's pages mapped no longer (a sample
    # spread over the whole file: 0.6-0.86 GB more resident at 1M, the run's peak)
    _release_spill(spill)
    return boilerplate.frequent_shingles(codes, offsets, shingling.unit == "word", shingling.n)


def _possible(candidates: npt.NDArray[np.uint64], distinct: npt.NDArray[np.int32],
              threshold: float) -> npt.NDArray[np.uint64]:
    """The candidates whose Jaccard can reach the threshold by their sizes alone: |A & B| /
    |A | B| <= min(|A|, |B|) / max(|A|, |B|), so a pair whose smaller shingle set is below
    `threshold` times the larger cannot pass and is not verified (its result is known). The
    slack keeps a pair that rounding might put at the bound; nothing reported changes."""
    if len(candidates) == 0 or len(distinct) == 0:
        return candidates
    a = distinct[(candidates >> np.uint64(32)).astype(np.int64)].astype(np.float64)
    b = distinct[(candidates & np.uint64(0xFFFFFFFF)).astype(np.int64)].astype(np.float64)
    out: npt.NDArray[np.uint64] = candidates[
        np.minimum(a, b) >= threshold * np.maximum(a, b) * (1.0 - 1e-9)]
    return out


def _exact_groups(digests: npt.NDArray[np.uint64]) -> list[list[int]]:
    """Indices of rows with equal 128-bit digests, groups of two or more, each in index order,
    the groups in order of their first index."""
    # sorted by the first half alone (a stable argsort: 0.10 s at 1M against lexsort's 0.23);
    # only when two digests share a first half but not the second are both halves sorted
    order = np.argsort(digests[:, 0], kind="stable")
    ordered = digests[order]
    differs_first = ordered[1:, 0] != ordered[:-1, 0]
    differs = differs_first | (ordered[1:, 1] != ordered[:-1, 1])
    if (differs != differs_first).any():
        order = np.lexsort((digests[:, 1], digests[:, 0]))
        ordered = digests[order]
        differs = (ordered[1:] != ordered[:-1]).any(axis=1)
    starts = run_starts(len(order), differs)
    sizes = np.diff(starts)
    groups = [sorted(order[starts[k] : starts[k + 1]].tolist())
              for k in np.flatnonzero(sizes > 1).tolist()]
    groups.sort(key=lambda g: g[0])
    return groups


def in_thread(fn: Callable[..., _U], *args: Any) -> Future[_U]:
    """fn(*args) on a thread of its own (a compiled loop that lets go of the GIL runs on
    another core meanwhile)."""
    pool = ThreadPoolExecutor(1)
    try:
        return pool.submit(fn, *args)
    finally:
        pool.shutdown(wait=False)


def _representatives(n: int, groups: list[list[int]], rank: npt.NDArray[np.int64]
                     ) -> npt.NDArray[np.int64]:
    """rep_of[i]: the best-ranked member of i's exact group (i itself outside a group)."""
    rep_of = np.arange(n)
    if not groups:
        return rep_of
    members = np.fromiter(itertools.chain.from_iterable(groups), dtype=np.int64)
    sizes = np.fromiter(map(len, groups), dtype=np.int64, count=len(groups))
    group_of = np.repeat(np.arange(len(groups)), sizes)
    order = np.lexsort((rank[members], group_of))  # by group, the best rank first
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    best = members[order[starts]]  # ranks are distinct: one best per group
    rep_of[members] = best[group_of]
    return rep_of


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
    flag: Flag | None = None,
    ranks_from_flags: RanksFromFlags | None = None,
    read_done: Callable[[], None] | None = None,
    pool_ready: Callable[[], None] | None = None,
) -> DedupResult:
    """Exact and near-duplicate clusters of `records`, each with a keeper and similarities.

    `records` yields (record_id, chat example dict) or (record_id, already normalised text);
    it is read once. With `ids` and `fetch(ids) -> items` instead of `records`, the worker
    processes read every record through `fetch`, a batch of consecutive ids at a time, and this
    process never sees a text: `fetch` must be picklable and open what it reads in the process
    that calls it. Either way the normalised texts go to a temporary spill file as they are
    signed, each after its shingle profile (their UTF-8 size and 256 bytes a record: 0.86 GB
    for 1M real-text examples), from which the workers read the profiles and texts of
    candidate pairs to verify them; it is removed before this returns.
    `progress(done, total)` follows the records signed (with `ids`), then the candidate pairs
    verified, counted on from the records (total = records + pairs).
    `keeper` orders records for keeping; ids in `prefer` always come first; `statuses` maps id to
    accepted / pending / rejected for the accepted_first rule (or to a numeric rank, lower kept first). `processes` defaults to the CPU
    count; the result does not depend on it. `screen=False` verifies every pair that shares a
    band, skipping the signature screen (module docstring, 3): slower, and in practice the same
    pairs. `bucket_cap` and `bucket_window` bound the candidates a band bucket gives
    (`BUCKET_CAP`) and `record_cap` the candidates one record keeps (`RECORD_CAP`); the stats
    say how often either cap was hit.
    `flag(example)` (a module-level function: it goes to the workers) runs on every example
    dict as it is read, and `ranks_from_flags(ids, flags)` (arrays) then gives each record's
    numeric rank (an array aligned with the ids, lower kept first) for accepted_first in
    place of `statuses`: a keeper rule that needs something of
    each text gets it without a second read of every record. `read_done()` is called once
    every record has been read (signed): nothing reads `records` or `fetch` after it.
    `pool_ready()` is called once the worker processes exist: a caller's thread started from
    it is never running while a worker is forked (a fork copies a lock that thread holds, and
    the worker can wait on it for ever).
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
    with collector_paused():
        if pool is not None:
            # numba readied here, once, before the workers fork: they inherit it
            _ready_kernels(params, shingling)
            # with fork, the first job starts every worker: from here no fork happens
            pool.submit(int).result()
        if pool_ready is not None:
            pool_ready()
        handle, spill = _open_spill()
        try:
            return _find(
                records, ids, params, shingling, statuses, prefer, batch_size, fetch, pool,
                2 * workers, progress, bucket_cap, bucket_window, record_cap, spill, flag,
                ranks_from_flags, read_done,
            )
        finally:
            # (the pool shut down before the collector is back: a collection that shutting
            # down set off walked every object built here, 0.4 s at 1M)
            if pool is not None:
                pool.shutdown()
            _release_spill(spill)  # mapped here when verification ran in this process
            os.unlink(spill)
            os.close(handle)


#: a plain chat example: signing it takes the path the workspace's JSON rows take
_READY_EXAMPLE = b'{"messages": [{"role": "user", "content": "a"}]}'


def _ready_kernels(params: DedupParams, shingling: Shingling) -> None:
    """Sign one tiny example here, before the worker processes fork, so that they inherit
    numba readied and the signing kernels loaded. numba's first compiled call in a process
    sets up its CPU target (0.28 s: it imports its typing and lowering registries, scipy's
    BLAS check among them); a kernel from the cache then takes milliseconds. Each worker
    paid that setup again on its first batch and this process on its first candidate
    grouping: three times, where once is enough."""
    _run_batch(_BatchJob([_READY_EXAMPLE], params.include_system, params.num_perm, shingling,
                         params.bands, params.rows, flag=padded))


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off for the block. It would walk the hundreds of
    thousands of pair, member and cluster objects a run builds again and again (measured:
    1.5 of 28 s at 1M; once back on, the first collections walk them all), and nothing
    dedup builds is cyclic. Only on the main thread: the switch is process-wide, and a
    caller running dedup in a thread (the review app) keeps creating objects of its own
    meanwhile. Nested blocks leave it to the outermost."""
    collecting = gc.isenabled() and threading.current_thread() is threading.main_thread()
    if collecting:
        gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def _open_spill() -> tuple[int, str]:
    """A new spill file (descriptor and path), locked (flock) for as long as this run holds
    the descriptor, after removing spill files that runs killed before their cleanup left
    behind (SIGKILL runs no `finally`): those are unlocked, and older than a minute."""
    folder = Path(tempfile.gettempdir())
    for path in folder.glob(f"{_SPILL_PREFIX}*.txt"):
        _remove_if_abandoned(path)
    handle, spill = tempfile.mkstemp(prefix=_SPILL_PREFIX, suffix=".txt")
    if fcntl is not None:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return handle, spill


def _remove_if_abandoned(path: Path) -> None:
    if fcntl is None:  # pragma: no cover - Windows
        return
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        if time.time() - os.fstat(fd).st_mtime < _SPILL_STALE_S:
            return  # maybe a run that has not locked its new file yet
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return  # a running dedup holds it
    finally:
        os.close(fd)
    path.unlink(missing_ok=True)


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
    spill: str,
    flag: Flag | None = None,
    ranks_from_flags: RanksFromFlags | None = None,
    read_done: Callable[[], None] | None = None,
) -> DedupResult:
    ids: list[int] = []

    def jobs() -> Iterator[_BatchJob]:
        if only is not None:
            for start in range(0, len(only), batch_size):
                chunk = list(only[start : start + batch_size])
                ids.extend(chunk)
                yield _BatchJob([], params.include_system, params.num_perm, shingling,
                                params.bands, params.rows, fetch, chunk, flag)
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
                flag=flag,
            )

    outs = _Columns(len(only) if only is not None else None)
    batches = 0
    # each batch's normalised texts go to the spill file as they come: verification reads
    # them back by byte range, so no text is parsed or normalised twice and none stays here
    text_bounds: list[npt.NDArray[np.int64]] = [np.zeros(1, dtype=np.int64)]
    written = 0
    with open(spill, "wb") as spill_file:
        for out in ordered_map(pool, _run_batch, jobs(), window):
            spill_file.write(out.blob)
            text_bounds.append(written + out.offsets[1:])
            written += len(out.blob)
            out.blob, out.offsets = b"", text_bounds[0]
            outs.add(out)
            batches += 1
            if progress is not None and only is not None:
                progress(min(batches * batch_size, len(only)), len(only))
    if read_done is not None:
        read_done()
    bounds = np.concatenate(text_bounds)
    del text_bounds
    id_arr = np.asarray(ids, dtype=np.int64)
    n = len(id_arr)
    if len(set(ids)) != n:
        raise ValueError("record ids must be unique")
    lengths = outs.take("lengths", np.empty(0, np.int64))
    if ranks_from_flags is not None:
        flags = outs.take("flags", np.empty(0, np.int64))
        if len(flags) != n:  # no flag given
            flags = np.zeros(n, dtype=np.int64)
        # arrays, not a dict a record both ways: 0.7 s at 1M as dicts
        rank = priority(id_arr, lengths, params.keeper, ranks_from_flags(id_arr, flags),
                        prefer)
    else:
        rank = priority(id_arr, lengths, params.keeper, statuses, prefer)

    # exact groups; the best-ranked record of each stands for it in the near search
    digests = outs.take("digests", np.empty((0, 2), np.uint64))
    groups = _exact_groups(digests)
    rep_of = _representatives(n, groups, rank)
    reps = np.flatnonzero(rep_of == np.arange(n))
    # the boilerplate shingles need only the distinct texts: counted on a thread (its
    # compiled loops let go of the GIL) while the bands are grouped and the pairs screened
    frequent_job = in_thread(_frequent_shingles, spill, bounds, reps, shingling) \
        if len(reps) >= 2 else None
    try:
        keys = outs.take("keys", np.empty((0, 1), np.uint64))
        if len(reps) < n:
            keys = keys[reps]
        threads = max(1, window // 2)  # the workers idle meanwhile: their cores run these
        candidates, capped_buckets, capped_records = candidate_pairs(
            keys, reps, threads, bucket_cap, bucket_window)
        del keys
        lsh_pairs = len(candidates)
        sketch = outs.take("sketch", np.empty((0, 1), np.uint8))
        own = outs.take("own", np.empty((0, 1), np.uint8))
        est = None
        if params.screen:
            candidates, est = screen_pairs(candidates, sketch, own, params.threshold, threads)
        screened = len(candidates)
        candidates, limited_records = limit_per_record(candidates, sketch, own, record_cap, est,
                                                       threads)
        del est
        del sketch, own
        distinct = outs.take("distinct", np.empty(0, np.int32))
        limited = len(candidates)
        candidates = _possible(candidates, distinct, params.threshold)
    except BaseException:
        if frequent_job is not None:  # it reads the spill file, removed once this returns
            wait([frequent_job])
        raise
    frequent = frequent_job.result() if frequent_job is not None \
        else np.empty(0, dtype=np.uint64)

    def verify_jobs() -> Iterator[_VerifyJob]:
        for start in range(0, len(candidates), _VERIFY_CHUNK):
            chunk = candidates[start : start + _VERIFY_CHUNK]
            a = (chunk >> np.uint64(32)).astype(np.int64)
            b = (chunk & np.uint64(0xFFFFFFFF)).astype(np.int64)
            involved, local = np.unique(np.concatenate([a, b]), return_inverse=True)
            left, right = local[: len(a)], local[len(a) :]
            yield _VerifyJob(spill, bounds[involved], bounds[involved + 1], left, right,
                             shingling, params.threshold, distinct[involved], frequent)

    pairs: list[tuple[int, int, float]] = []
    sims_iter = ordered_map(pool, _run_verify, verify_jobs(), window)
    for start, sims in zip(range(0, len(candidates), _VERIFY_CHUNK), sims_iter, strict=True):
        chunk = candidates[start : start + _VERIFY_CHUNK]
        found = np.flatnonzero(sims >= params.threshold)  # most candidates fall below
        pairs.extend((pair >> 32, pair & 0xFFFFFFFF, s) for pair, s in
                     zip(chunk[found].tolist(), sims[found].tolist(), strict=True))
        if progress is not None:  # the bar grows by the pairs to verify once they are known
            progress(n + start + len(chunk), n + len(candidates))

    clusters = assemble(n, rank, rep_of, groups, cluster(n, rank, pairs), id_arr)
    exact = [ExactGroup(digests[g[0]].tobytes().hex(), tuple(ids[i] for i in g)) for g in groups]
    stats = DedupStats(n, len(reps), lsh_pairs, len(pairs), lsh_pairs - screened,
                       capped_buckets, capped_records, limited_records,
                       screened - limited)
    id_pairs = [(min(ids[i], ids[j]), max(ids[i], ids[j]), s) for i, j, s in pairs]
    return DedupResult(clusters, exact, params, stats, id_pairs)
