"""Near-duplicate clusters: MinHash LSH candidates, every pair verified, clusters with keepers.

The pipeline, in one pass over the records and one over the candidate pairs:

1. Batches of records go to a process pool; each batch comes back with the 128-bit hash of
   every normalised text, its length, its LSH band keys, and (unless `fetch` is given) its
   normalised text as one compact UTF-8 blob.
2. Records with identical hashes form exact groups; only each group's best record (by the
   keeper rule) takes part in the near-duplicate search, so an exact copy costs no pairs.
3. Two records sharing any band key are a candidate pair. Each candidate pair's shingle sets
   are rebuilt from its texts (only for candidates, a chunk at a time) and its true Jaccard
   similarity computed; pairs below the threshold are dropped.
4. Clusters form around keepers without transitive chaining (see `_cluster`).

Nothing is deleted or marked here: the result is data for the store to record.
"""

from __future__ import annotations

import collections
import itertools
import os
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import numpy as np
import numpy.typing as npt

from curator.dedup.exact import ExactGroup, as_text, content_hash
from curator.dedup.minhash import (
    DEFAULT_SHINGLING,
    Shingling,
    band_keys,
    choose_bands,
    collision_probability,
    shingle_hashes,
    signatures,
)

Item = Mapping[str, Any] | str | bytes  # bytes: the example as JSON
KeeperRule = Literal["longest", "earliest", "accepted_first"]
Fetch = Callable[[Sequence[int]], Sequence[Item]]
_T = TypeVar("_T")
_U = TypeVar("_U")

_STATUS_RANK = {"accepted": 0, "pending": 1, "rejected": 2}
_VERIFY_CHUNK = 2_000  # pairs: at most 4,000 texts, so a chunk's arrays stay near 100 MB
_LOW48 = np.uint64((1 << 48) - 1)


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


@dataclass(frozen=True)
class DedupStats:
    records: int
    distinct_texts: int
    candidate_pairs: int
    verified_pairs: int  # candidates whose true Jaccard reached the threshold


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


@dataclass(frozen=True)
class _BatchOut:
    digests: list[bytes]
    lengths: npt.NDArray[np.int64]
    keys: npt.NDArray[np.uint64]
    blob: bytes  # the normalised texts, UTF-8, back to back (empty unless keep_text)
    offsets: npt.NDArray[np.int64]


def _run_batch(job: _BatchJob) -> _BatchOut:
    texts = [as_text(item, include_system=job.include_system) for item in job.items]
    keys = band_keys(signatures(texts, job.num_perm, job.shingling), job.bands, job.rows)
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    if job.keep_text:
        encoded = [t.encode("utf-8") for t in texts]
        sizes = np.fromiter((len(e) for e in encoded), dtype=np.int64, count=len(encoded))
        blob, offsets = b"".join(encoded), np.concatenate([[0], np.cumsum(sizes)])
    else:
        blob, offsets = b"", np.zeros(1, dtype=np.int64)
    return _BatchOut([content_hash(t) for t in texts], lengths, keys, blob, offsets)


@dataclass(frozen=True)
class _VerifyJob:
    items: list[Item]  # normalised texts, or examples the worker normalises itself
    left: npt.NDArray[np.int64]  # pair ends as indices into items
    right: npt.NDArray[np.int64]
    shingling: Shingling
    include_system: bool


def _sorted_unique(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    # np.unique hashes 64-bit values before sorting (numpy 2.3+), 6x slower here than a sort
    x = np.sort(x)
    keep = np.ones(len(x), dtype=bool)
    keep[1:] = x[1:] != x[:-1]
    out: npt.NDArray[np.uint64] = x[keep]
    return out


def _run_verify(job: _VerifyJob) -> npt.NDArray[np.float64]:
    texts = [as_text(item, include_system=job.include_system) for item in job.items]
    hashes, text_of = shingle_hashes(texts, job.shingling)
    # Text index in the top 16 bits and 48 bits of shingle hash below, so one sort groups each
    # text's shingles; two shingles of one pair collide in 48 bits with chance about
    # (1,000 shingles)^2 / 2^48, far below what moves a Jaccard similarity.
    if len(texts) > 1 << 16:
        raise ValueError("a verification chunk holds at most 65,536 texts")
    keys = _sorted_unique((text_of.astype(np.uint64) << np.uint64(48)) | (hashes >> np.uint64(16)))
    bounds = np.searchsorted(keys >> np.uint64(48), np.arange(len(texts) + 1, dtype=np.uint64))
    sims = np.empty(len(job.left), dtype=np.float64)
    for k, (i, j) in enumerate(zip(job.left.tolist(), job.right.tolist(), strict=True)):
        a, b = keys[bounds[i] : bounds[i + 1]], keys[bounds[j] : bounds[j + 1]]
        # the text index differs in the top bits, so compare the 48 hash bits only
        inter = len(np.intersect1d(a & _LOW48, b & _LOW48, assume_unique=True))
        sims[k] = inter / (len(a) + len(b) - inter)
    return sims


def _priority(
    ids: npt.NDArray[np.int64],
    lengths: npt.NDArray[np.int64],
    rule: KeeperRule,
    statuses: Mapping[int, str] | None,
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
            (_STATUS_RANK.get(status.get(i, "pending"), 1) for i in ids.tolist()),
            dtype=np.int64,
            count=len(ids),
        )
        order = np.lexsort((ids, rank, ~preferred))
    else:
        raise ValueError(f"unknown keeper rule {rule!r}; use longest, earliest or accepted_first")
    rank_of = np.empty(len(ids), dtype=np.int64)
    rank_of[order] = np.arange(len(ids))
    return rank_of


def _candidate_pairs(
    keys: npt.NDArray[np.uint64], rows: npt.NDArray[np.int64]
) -> npt.NDArray[np.uint64]:
    """Unique (i << 32 | j), i < j, of the given rows that share a key in any band."""
    found: list[npt.NDArray[np.uint64]] = []
    for band in range(keys.shape[1]):
        order = np.argsort(keys[:, band], kind="stable")
        sorted_keys = keys[order, band]
        new_run = np.ones(len(order) + 1, dtype=bool)
        new_run[1:-1] = sorted_keys[1:] != sorted_keys[:-1]
        starts = np.flatnonzero(new_run)
        run_start, sizes = starts[:-1], np.diff(starts)
        for size in np.unique(sizes[sizes > 1]).tolist():
            first = run_start[sizes == size]
            left, right = np.triu_indices(size, 1)
            a = rows[order[first[:, None] + left]].ravel()
            b = rows[order[first[:, None] + right]].ravel()
            lo, hi = np.minimum(a, b).astype(np.uint64), np.maximum(a, b).astype(np.uint64)
            found.append((lo << np.uint64(32)) | hi)
    if not found:
        return np.empty(0, dtype=np.uint64)
    return _sorted_unique(np.concatenate(found))


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
    taken = np.zeros(n, dtype=bool)
    clusters = []
    for centre in sorted(neighbours, key=lambda i: int(rank[i])):
        if taken[centre]:
            continue
        joined = [(j, s) for j, s in neighbours[centre] if not taken[j]]
        if joined:
            taken[centre] = True
            for j, _ in joined:
                taken[j] = True
            clusters.append((centre, joined))
    return clusters


def find_duplicates(
    records: Iterable[tuple[int, Item]],
    *,
    threshold: float = 0.8,
    num_perm: int = 128,
    shingling: Shingling = DEFAULT_SHINGLING,
    include_system: bool = False,
    keeper: KeeperRule = "longest",
    statuses: Mapping[int, str] | None = None,
    prefer: Collection[int] = (),
    processes: int | None = None,
    batch_size: int = 2_000,
    fetch: Fetch | None = None,
    min_recall: float = 0.99,
) -> DedupResult:
    """Exact and near-duplicate clusters of `records`, each with a keeper and similarities.

    `records` yields (record_id, chat example dict) or (record_id, already normalised text);
    it is read once. Without `fetch` the normalised texts are kept (compact UTF-8) to verify
    candidate pairs; with `fetch(ids) -> items` they are asked for again, only for candidates.
    `keeper` orders records for keeping; ids in `prefer` always come first; `statuses` maps id to
    accepted / pending / rejected for the accepted_first rule. `processes` defaults to the CPU
    count; the result does not depend on it.
    """
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
    )
    workers = processes if processes is not None else (os.cpu_count() or 1)
    pool: Executor | None = ProcessPoolExecutor(workers) if workers > 1 else None
    try:
        return _find(
            records, params, shingling, statuses, prefer, batch_size, fetch, pool, 2 * workers
        )
    finally:
        if pool is not None:
            pool.shutdown()


def _find(
    records: Iterable[tuple[int, Item]],
    params: DedupParams,
    shingling: Shingling,
    statuses: Mapping[int, str] | None,
    prefer: Collection[int],
    batch_size: int,
    fetch: Fetch | None,
    pool: Executor | None,
    window: int,
) -> DedupResult:
    ids: list[int] = []

    def jobs() -> Iterator[_BatchJob]:
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

    outs = list(_ordered_map(pool, _run_batch, jobs(), window))
    id_arr = np.asarray(ids, dtype=np.int64)
    n = len(id_arr)
    if len(set(ids)) != n:
        raise ValueError("record ids must be unique")
    lengths = np.concatenate([o.lengths for o in outs]) if outs else np.empty(0, np.int64)
    rank = _priority(id_arr, lengths, params.keeper, statuses, prefer)

    # exact groups; the best-ranked record of each stands for it in the near search
    by_digest: dict[bytes, list[int]] = {}
    for i, digest in enumerate(d for o in outs for d in o.digests):
        by_digest.setdefault(digest, []).append(i)
    groups = [g for g in by_digest.values() if len(g) > 1]
    rep_of = np.arange(n)
    for g in groups:
        best = min(g, key=lambda i: int(rank[i]))
        rep_of[g] = best
    reps = np.flatnonzero(rep_of == np.arange(n))
    keys = np.concatenate([o.keys for o in outs]) if outs else np.empty((0, 1), np.uint64)
    candidates = _candidate_pairs(keys[reps], reps)
    del keys

    def texts_for(indices: npt.NDArray[np.int64]) -> list[Item]:
        if fetch is not None:
            # fetched examples are normalised in the verify workers: done here, for the
            # three quarters of a million texts a 1M set's candidates involve, it made this
            # process the bottleneck (measured: 32 of 114 s)
            return list(fetch([ids[i] for i in indices.tolist()]))
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
            yield _VerifyJob(texts_for(involved), local[: len(a)], local[len(a) :], shingling,
                             params.include_system)

    pairs: list[tuple[int, int, float]] = []
    sims_iter = _ordered_map(pool, _run_verify, verify_jobs(), window)
    for start, sims in zip(range(0, len(candidates), _VERIFY_CHUNK), sims_iter, strict=True):
        chunk = candidates[start : start + _VERIFY_CHUNK]
        for pair, s in zip(chunk.tolist(), sims.tolist(), strict=True):
            if s >= params.threshold:
                pairs.append((pair >> 32, pair & 0xFFFFFFFF, s))

    clusters = _assemble(n, rank, rep_of, groups, _cluster(n, rank, pairs), id_arr)
    exact = [
        ExactGroup(d.hex(), tuple(ids[i] for i in g)) for d, g in by_digest.items() if len(g) > 1
    ]
    stats = DedupStats(n, len(reps), len(candidates), len(pairs))
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
    copies = {int(rep_of[g[0]]): [i for i in g if i != rep_of[g[0]]] for g in groups}
    in_near: set[int] = set()
    built: list[tuple[int, list[Member]]] = []
    for centre, joined in near:
        members = [Member(int(id_arr[i]), 1.0, True) for i in copies.get(centre, [])]
        for j, s in joined:
            members.append(Member(int(id_arr[j]), s, False))
            members += [Member(int(id_arr[i]), s, False) for i in copies.get(j, [])]
        in_near.add(centre)
        in_near.update(j for j, _ in joined)
        built.append((centre, members))
    for rep, others in copies.items():
        if rep not in in_near:
            built.append((rep, [Member(int(id_arr[i]), 1.0, True) for i in others]))
    built.sort(key=lambda c: int(rank[c[0]]))
    return [
        Cluster(int(id_arr[c]), tuple(sorted(members, key=lambda m: m.id))) for c, members in built
    ]
