"""Dedup over a workspace: find exact and near duplicates (curator.dedup), mark them in the store.

Which records take part: every record with a chat form (its edit when it has one, else its
canonical form) that is not rejected. A rejected record is already out of every export, and it
must not become the keeper that a good record is marked a duplicate of.

Marking is one journal entry (`curator undo` takes it back whole) that replaces the last run's
marks: a record that is no longer in a cluster loses its mark in the same entry, and the
parameters go into meta `dedup.params`. Nothing is deleted and no status changes; export treats
a record marked duplicate-of as excluded, and the review app shows the cluster.

Memory: the worker processes read the records from the workspace themselves (their own
read-only connections), once to sign them and again for the texts of candidate pairs, so the
parent holds per-record arrays (a few hundred bytes a record), never the texts.

Consistency: the workers read at different moments, so a record edited or rejected while dedup
runs could be judged by a text it no longer has. `run_find` (behind dedup and split alike)
takes the fingerprint of what dedup compares (`content_key`) before and after everything is
found; when it moved, the result is refused, so nothing is marked, kept or split, and the
message says to run again.

Serial work in this process is kept off the workers' way: the `best` keeper's ranks are read
on a thread while the records are signed (`BestRanksLater`), started once the worker
processes are forked (a thread running while a process forks can leave the child waiting on
a lock for ever).
"""

from __future__ import annotations

import array
import hashlib
import math
import os
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from curator.dedup import Cluster, DedupResult, KeeperRule, find_duplicates
from curator.dedup.near import (
    BUCKET_CAP,
    BUCKET_WINDOW,
    RECORD_CAP,
    RanksFromFlags,
    collector_paused,
    in_thread,
)
from curator.dedup.normalize import TEXT_VERSION
from curator.dedup.normalize import padded as padded  # the workers' flag: moved there
from curator.dedup.settings import DedupSettings
from curator.workspace import Change, DuplicateCluster, Workspace, WorkspaceError
from curator.workspace.dedup_marks import mark_with_pairs

KEEPERS = ("best", "longest", "earliest", "accepted")
_FETCH_CHUNK = 900  # SQLite's default limit on bound parameters is 999

#: the records dedup (and the split's leakage check) looks at
from curator.workspace.selection import ELIGIBLE_SQL as ELIGIBLE_SQL  # noqa: E402 (moved there)


@dataclass(frozen=True)
class WorkspaceDedup:
    """What a dedup run found and, unless it was a dry run, marked."""

    params: dict[str, Any]
    records: int
    clusters: list[Cluster]
    exact_groups: int
    candidate_pairs: int
    verified_pairs: int
    dry_run: bool
    change: Change | None = None
    screened_out: int = 0
    pairs: list[tuple[int, int, float]] = field(default_factory=list, repr=False)
    capped_buckets: int = 0
    capped_records: int = 0
    limited_records: int = 0
    limited_pairs: int = 0
    #: the clusters' part of `to_dict` (`cluster_report`), built on a thread while the marks
    #: were written; None: built when asked
    report: Future[dict[str, Any]] | None = field(default=None, repr=False, compare=False)

    @property
    def duplicates(self) -> int:
        return sum(len(c.members) for c in self.clusters)

    @property
    def warnings(self) -> list[str]:
        out = []
        if self.capped_buckets:
            out.append(capped_warning(self.capped_buckets, self.capped_records))
        if self.limited_records:
            out.append(f"{self.limited_records} records had more than {RECORD_CAP} candidate "
                       f"pairs; only the {RECORD_CAP} their signatures rate most alike were "
                       f"verified ({self.limited_pairs} pairs left out), so some near "
                       f"duplicates of them may be missed (every pair reported is still "
                       f"verified). A higher --threshold makes this rarer.")
        return out

    def to_dict(self) -> dict[str, Any]:
        with collector_paused():  # a dict for each of the (many) members
            return self._to_dict()

    def _to_dict(self) -> dict[str, Any]:
        report = self.report.result() if self.report is not None \
            else cluster_report(self.clusters)
        return {
            "params": self.params,
            "records": self.records,
            "clusters": len(self.clusters),
            "duplicates": self.duplicates,
            "exact_duplicates": report["exact_duplicates"],
            "near_duplicates": report["near_duplicates"],
            "exact_groups": self.exact_groups,
            "candidate_pairs": self.candidate_pairs,
            "screened_out": self.screened_out,
            "verified_pairs": self.verified_pairs,
            "capped_buckets": self.capped_buckets,
            "capped_records": self.capped_records,
            "bucket_cap": BUCKET_CAP,
            "bucket_window": BUCKET_WINDOW,
            "limited_records": self.limited_records,
            "limited_pairs": self.limited_pairs,
            "record_cap": RECORD_CAP,
            "warnings": self.warnings,
            "dry_run": self.dry_run,
            "journal_entry": self.change.entry_id if self.change is not None else None,
            "cluster_list": report["cluster_list"],
        }


def cluster_report(clusters: Sequence[Cluster]) -> dict[str, Any]:
    """The members' part of `WorkspaceDedup.to_dict`: exact and near counts and the cluster
    list (a dict for each member: 0.4 s at 1M, so dedup_workspace builds it while the marks
    are written)."""
    return {
        "exact_duplicates": sum(m.exact for c in clusters for m in c.members),
        "near_duplicates": sum(not m.exact for c in clusters for m in c.members),
        "cluster_list": [
            {"keeper": c.keeper,
             "members": [{"id": m.id, "similarity": round(m.similarity, 4), "exact": m.exact}
                         for m in c.members]}
            for c in clusters
        ],
    }


def capped_warning(buckets: int, records: int) -> str:
    return (f"{buckets} LSH band buckets held more than {BUCKET_CAP} records ({records} records "
            f"in all, text shared by very many records); in them each record was compared only "
            f"with its {2 * BUCKET_WINDOW} nearest by signature, so some near duplicates among "
            f"them may be missed (every pair reported is still verified). A higher --threshold "
            f"makes such buckets rarer.")


def parse_keeper(value: str) -> tuple[KeeperRule, list[int]]:
    """`best`, `longest`, `earliest`, `accepted`, or record ids (`12` or `12,40`) kept first.

    `best` comes back as the accepted_first rule: `best_keeper_ranks` supplies its ranks."""
    if value in ("longest", "earliest"):
        return value, []  # type: ignore[return-value]
    if value == "best":
        return "accepted_first", []
    if value in ("accepted", "accepted_first"):
        return "accepted_first", []
    try:
        ids = [int(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise WorkspaceError(
            f"unknown keeper {value!r}: use best, longest, earliest, accepted or record ids "
            f"(12,40)"
        ) from None
    if not ids:
        raise WorkspaceError("--keeper needs a rule or at least one record id")
    return "longest", ids


#: issues that make a copy worse: what a reviewer would have to fix before training on it
_KEEPER_SEVERITIES = ("warning", "error")
#: a text padded with blanks: leading or trailing whitespace, a run of spaces, blank lines
_CONTENT = "json_extract(m.value, '$.content')"
_PADDED_SQL = (
    "EXISTS (SELECT 1 FROM json_each(coalesce(r.current, r.canonical), '$.messages') m "
    f"WHERE json_type(m.value, '$.content') = 'text' AND ("
    f"{_CONTENT} != trim({_CONTENT}, ' ' || char(9, 10, 13)) "
    f"OR instr({_CONTENT}, '   ') OR instr({_CONTENT}, char(10, 10, 10))))")


def best_keeper_ranks(ws: Workspace) -> tuple[dict[int, int], set[int]]:
    """The ranks of the `best` keeper rule, for find_duplicates' accepted_first ordering.

    A cluster keeps its best copy: an accepted record first (`prefer`), then the one with the
    fewest problems, then the better model score (the lower IFD of `curator score`: the answer
    that fits its prompt better; a record without a score, or whose text changed since it was
    scored, comes after the scored ones), then the earliest (ties go to the smaller id).
    Problems are the record's issues of severity warning or error, plus one when a text is
    padded with blanks (a padded copy loses to its clean original). Returns (record -> numeric
    rank, lower kept first; preferred ids).

    This reads every record's text for the padding (in SQL); dedup itself uses `BestRanks`,
    whose padding comes from the workers that read the texts anyway (`padded`)."""
    best = BestRanks.read(ws)
    padding = dict(ws.connection.execute(
        f"SELECT r.id, ({_PADDED_SQL}) FROM records r "
        f"WHERE {ELIGIBLE_SQL.replace('status', 'r.status')}"))
    return best(padding), best.prefer




@dataclass(frozen=True)
class BestRanks:
    """The `best` keeper rule's ranks in two steps: what the workspace says of each eligible
    record (issues of severity warning or error, score, accepted), read before dedup, and the
    padding of its text (`padded`), which the dedup workers report; calling it with
    {id: padded} gives best_keeper_ranks' ranks."""

    issues: dict[int, int]
    ifd: dict[int, float]
    prefer: set[int]

    @classmethod
    def read(cls, ws: Workspace) -> BestRanks:
        return cls.read_from(ws.connection)

    @classmethod
    def read_in_background(cls, ws: Workspace) -> Future[BestRanks]:
        """`read` on a thread with a read-only connection of its own, so that it runs
        while the workers sign the records (it is needed only after them). Start it only
        once the workers exist (find_duplicates' `pool_ready`, see `BestRanksLater`)."""
        path = Path(ws.path).resolve()

        def read() -> BestRanks:
            conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
            try:
                return cls.read_from(conn)
            finally:
                conn.close()

        return in_thread(read)

    @classmethod
    def read_from(cls, conn: sqlite3.Connection) -> BestRanks:
        from curator.workspace.scores import content_hash

        # the ids from the eligible records' partial index and the accepted ones from the
        # status index: reading each record's status with its id read every wide row of the
        # table (1.6 of 1.9 CPU s at 1M)
        issues: dict[int, int] = dict.fromkeys(
            (row[0] for row in conn.execute(f"SELECT id FROM records WHERE {ELIGIBLE_SQL}")), 0)
        prefer: set[int] = {row[0] for row in conn.execute(
            f"SELECT id FROM records WHERE status = 'accepted' AND {ELIGIBLE_SQL}")}
        # one pass over the issues, not a lookup in them for each of a million records
        for rid, count in conn.execute(
                f"SELECT record_id, count(*) FROM issues WHERE severity IN "
                f"({','.join('?' * len(_KEEPER_SEVERITIES))}) GROUP BY record_id",
                _KEEPER_SEVERITIES):
            if rid in issues:
                issues[rid] = int(count)
        ifd: dict[int, float] = {}
        for rid, stored, text, value in conn.execute(
                "SELECT s.record_id, s.content_hash, coalesce(r.current, r.canonical), s.ifd "
                "FROM scores s JOIN records r ON r.id = s.record_id WHERE s.ifd IS NOT NULL"):
            if rid in issues and text is not None and content_hash(text) == stored:
                ifd[rid] = float(value)
        return cls(issues, ifd, prefer)

    def __call__(self, padding: Mapping[int, int], *, prefer_first: bool = False) -> dict[int, int]:
        """Each eligible record's rank (lower kept first) by fewest problems (its issues plus
        `padding`), then the lower IFD. With `prefer_first`, the preferred (accepted) records come
        first: ordering by these ranks alone is then ordering by (preferred first, then the
        ranks), as find_duplicates does with `prefer`, so the preferred ids need not be known
        before the records are signed."""
        keys = {rid: (prefer_first and rid not in self.prefer, n + int(padding.get(rid, 0)),
                      self.ifd.get(rid, math.inf))
                for rid, n in self.issues.items()}
        position = {key: k for k, key in enumerate(sorted(set(keys.values())))}
        return {rid: position[key] for rid, key in keys.items()}

    def rank_array(self, ids: npt.NDArray[np.int64], padding: npt.NDArray[np.int64], *,
                   prefer_first: bool = False) -> npt.NDArray[np.int64]:
        """`self(dict(zip(ids, padding)))[i]` for each of `ids` (eligible records), as an
        array, computed with numpy (the dicts took 0.45 s at 1M records, serial)."""
        rids = np.fromiter(self.issues, dtype=np.int64, count=len(self.issues))
        problems = np.fromiter(self.issues.values(), dtype=np.int64, count=len(self.issues))
        ifd = np.full(len(rids), np.inf)
        sort = None if len(rids) < 2 or bool((rids[1:] > rids[:-1]).all()) \
            else np.argsort(rids)
        ordered = rids if sort is None else rids[sort]

        def where(of: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.bool_]]:
            """Positions in rids of the ids `of`, and which of them are there."""
            at = np.minimum(np.searchsorted(ordered, of), max(len(ordered) - 1, 0))
            found = ordered[at] == of if len(ordered) else np.zeros(len(of), dtype=bool)
            return (at if sort is None else sort[at]), found

        if self.ifd:
            scored = np.fromiter(self.ifd, dtype=np.int64, count=len(self.ifd))
            at, found = where(scored)
            ifd[at[found]] = np.fromiter(self.ifd.values(), dtype=np.float64,
                                         count=len(self.ifd))[found]
        if np.isnan(ifd).any():  # NaN keys: the tuples' own order
            ranks = self(dict(zip(ids.tolist(), padding.tolist(), strict=True)),
                         prefer_first=prefer_first)
            return np.fromiter((ranks[i] for i in ids.tolist()), dtype=np.int64,
                               count=len(ids))
        at, found = where(ids)
        if not found.all():
            raise KeyError(int(ids[~found][0]))
        problems[at] += padding.astype(np.int64, copy=False)
        later = np.zeros(len(rids), dtype=bool)
        if prefer_first:
            later = ~np.isin(rids, np.fromiter(self.prefer, dtype=np.int64,
                                               count=len(self.prefer)))
        # the dense rank of each record's key (later, problems, ifd) among all keys: its
        # position in the sorted distinct keys, as __call__ numbers them
        order = np.lexsort((ifd, problems, later))
        step = np.ones(len(order), dtype=bool)
        if len(order):
            step[1:] = ((later[order][1:] != later[order][:-1])
                        | (problems[order][1:] != problems[order][:-1])
                        | (ifd[order][1:] != ifd[order][:-1]))
            step[0] = False
        rank = np.empty(len(rids), dtype=np.int64)
        rank[order] = np.cumsum(step)
        return rank[at]


class BestRanksLater:
    """The `best` rule's ranks, read on a thread (BestRanks.read_in_background) from when
    `start` is called (find_duplicates' `pool_ready`: the workers are forked by then, so
    no fork copies a lock this thread holds) or, at the latest, when they are needed."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.job: Future[BestRanks] | None = None

    def start(self) -> None:
        if self.job is None:
            self.job = BestRanks.read_in_background(self.ws)

    def result(self) -> BestRanks:
        self.start()
        assert self.job is not None
        return self.job.result()

    def wait(self) -> None:
        """Until the read is over (on an error too: its connection closes when done)."""
        if self.job is not None:
            wait([self.job])


# The example's JSON goes to the workers as bytes and is parsed there: parsing a million
# examples in the parent would make it the bottleneck.
_EXAMPLE_SQL = "CAST(coalesce(current, canonical) AS BLOB)"


class WorkspaceFetch:
    """A fetch for find_duplicates: the examples of the given ids, in that order, read by the
    process that calls it through its own read-only connection (so verification workers read
    the workspace themselves instead of the parent reading and sending every text)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path).resolve()
        self._conn: sqlite3.Connection | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "_conn": None}

    def __call__(self, ids: Sequence[int]) -> list[bytes]:
        if self._conn is None:
            self._conn = sqlite3.connect(f"{self.path.as_uri()}?mode=ro", uri=True)
        found: dict[int, bytes] = {}
        if ids and max(ids) - min(ids) < 2 * len(ids):
            # a run of nearby ids (a signature batch): one range scan beats lookups by id
            found.update(self._conn.execute(
                f"SELECT id, {_EXAMPLE_SQL} FROM records WHERE id BETWEEN ? AND ?",
                (min(ids), max(ids))))
        else:
            unique = list(dict.fromkeys(ids))
            for start in range(0, len(unique), _FETCH_CHUNK):
                chunk = unique[start : start + _FETCH_CHUNK]
                marks = ",".join("?" * len(chunk))
                found.update(self._conn.execute(
                    f"SELECT id, {_EXAMPLE_SQL} FROM records WHERE id IN ({marks})", chunk))
        try:
            return [found[i] for i in ids]
        except KeyError as missing:
            raise WorkspaceError(
                f"record {missing} left the workspace while dedup was reading it") from None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def run_find(
    ws: Workspace,
    settings: DedupSettings,
    *,
    keeper: KeeperRule = "longest",
    prefer: Sequence[int] = (),
    processes: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    eligible: Eligible | None = None,
    screen: bool = True,
    ranks: tuple[dict[int, int], set[int]] | None = None,
    best: BestRanks | BestRanksLater | None = None,
    check_after: bool = True,
    key: str | None = None,
) -> DedupResult:
    """find_duplicates over the eligible records of a workspace (`eligible`: read already;
    `key`: the fingerprint the caller took of them, `content_key(ws, cache_settings(settings),
    eligible)`, taken here when None).

    `ranks`: the (statuses, preferred ids) of the `best` rule (best_keeper_ranks), used with
    keeper accepted_first instead of the records' statuses; `best` the same rule in two steps
    (BestRanks: the padding of each text comes from the workers that read it).
    Raises WorkspaceError when `settings` are not valid or what dedup compares
    (`content_key`) changed while it ran."""
    try:
        settings.validate()
    except ValueError as exc:
        raise WorkspaceError(str(exc)) from None
    statuses = None
    preferred = set(prefer)
    ranks_from_flags: RanksFromFlags | None = None
    if best is not None:
        pending = best

        def ranks_from_flags(ids: npt.NDArray[np.int64], padding: npt.NDArray[np.int64]
                             ) -> npt.NDArray[np.int64]:
            rule = pending.result() if isinstance(pending, BestRanksLater) else pending
            return rule.rank_array(ids, padding, prefer_first=True)  # preferred ones first
    elif ranks is not None:
        statuses = ranks[0]
        preferred |= ranks[1]
    elif keeper == "accepted_first":
        statuses = dict(ws.connection.execute(
            f"SELECT id, status FROM records WHERE {ELIGIBLE_SQL} AND status != 'pending'"))
    if prefer:
        found = {r[0] for r in ws.connection.execute(
            f"SELECT id FROM records WHERE {ELIGIBLE_SQL} AND id IN "
            f"({','.join('?' * len(prefer))})", list(prefer))}
        missing = [i for i in prefer if i not in found]
        if missing:
            raise WorkspaceError(
                f"--keeper names record {', '.join(map(str, missing))}, which is not in this "
                f"workspace or is rejected"
            )

    eligible = eligible if eligible is not None else Eligible.read(ws)
    key_settings = cache_settings(settings)
    before = key if key is not None else content_key(ws, key_settings, eligible)
    fetch = WorkspaceFetch(ws.path)
    try:
        result = find_duplicates(
            ids=eligible.ids, threshold=settings.threshold, num_perm=settings.num_perm,
            shingling=settings.shingles, include_system=settings.include_system, keeper=keeper,
            statuses=statuses, prefer=preferred,
            processes=processes if processes is not None else min(2, os.cpu_count() or 1),
            fetch=fetch, progress=progress, screen=screen,
            flag=padded if best is not None else None, ranks_from_flags=ranks_from_flags,
            pool_ready=best.start if isinstance(best, BestRanksLater) else None,
        )
    finally:
        fetch.close()
    # The workers read at different moments: a record edited, rejected or added meanwhile may
    # have been judged by a text it no longer has, so the result is refused, not used. Taken
    # once everything is found (not when the workers have read the records, which would save
    # about 0.8 s of one core at 1M): an edit during verification or clustering is caught too,
    # where it would otherwise be marked duplicate by a text it no longer has.
    # `check_after=False`: the caller takes it itself, later (dedup_workspace: inside the
    # transaction that writes the marks, so that nothing can land between check and write).
    if check_after and content_key(ws, key_settings) != before:
        raise WorkspaceError(MOVED)
    return result


#: why a dedup or split result was refused
MOVED = ("records were edited, rejected or added while dedup ran, so some were compared by "
         "text they no longer have; nothing was changed. Run it again.")


@dataclass(frozen=True)
class Eligible:
    """The records dedup looks at, read in one scan: ids in order and the edited ones' edits."""

    ids: list[int]
    edits: list[tuple[int, str]]

    @classmethod
    def read(cls, ws: Workspace) -> Eligible:
        return cls.read_from(ws.connection)

    @classmethod
    def with_ids(cls, ws: Workspace, ids: list[int]) -> Eligible:
        """The eligible records when their ids (in order) were read already: only the
        edits are read."""
        return cls(ids, ws.connection.execute(
            f"SELECT id, current FROM records WHERE {ELIGIBLE_SQL} AND current IS NOT NULL "
            "ORDER BY id").fetchall())

    @classmethod
    def read_from(cls, conn: sqlite3.Connection) -> Eligible:
        # two partial indexes (migration records_eligible / records_edited) answer these
        # without reading the records' text
        ids = [row[0] for row in conn.execute(
            f"SELECT id FROM records WHERE {ELIGIBLE_SQL} ORDER BY id")]
        edits = conn.execute(
            f"SELECT id, current FROM records WHERE {ELIGIBLE_SQL} AND current IS NOT NULL "
            "ORDER BY id").fetchall()
        return cls(ids, edits)


def content_key(ws: Workspace, settings: dict[str, Any], eligible: Eligible | None = None) -> str:
    """A fingerprint of what dedup compares: the settings, which records are eligible, and
    every edit. A record's canonical form never changes (records are only ever added, and a
    record's uid is the hash of its canonical form), so ids and edits pin the content."""
    return _content_key(ws.connection, settings, eligible)


def _content_key(conn: sqlite3.Connection, settings: dict[str, Any],
                 eligible: Eligible | None) -> str:
    found = eligible if eligible is not None else Eligible.read_from(conn)
    h = hashlib.blake2b(orjson.dumps(settings, option=orjson.OPT_SORT_KEYS), digest_size=16)
    h.update(array.array("q", found.ids).tobytes())
    for record_id, current in found.edits:
        h.update(b"%d\x00" % record_id)
        h.update(current.encode("utf-8", "surrogatepass") + b"\x01")
    return h.hexdigest()


def write_stamp(ws: Workspace) -> tuple[int, int]:
    """What changes whenever anything is committed to the workspace: SQLite's data_version
    (moves when another connection, in this process or another, commits) and this
    connection's own count of rows written (`total_changes`: a write through this same
    connection, from another thread, say, does not move data_version). Equal stamps mean
    the same content; different ones, maybe not (compare `content_key`)."""
    conn = ws.connection
    return int(conn.execute("PRAGMA data_version").fetchone()[0]), conn.total_changes


def cache_settings(settings: DedupSettings) -> dict[str, Any]:
    """What the pair cache's key (`content_key`) hashes of the settings, with the version of
    the text dedup compares (`TEXT_VERSION`): pairs found by another version are found again."""
    return {**settings.to_dict(), "text": TEXT_VERSION}


def cached_pairs(result: DedupResult) -> list[tuple[int, int, float, bool]]:
    """The pairs split reuses: the verified pairs and the exact groups as pairs with their
    first member."""
    pairs = [(a, b, s, False) for a, b, s in result.pairs]
    pairs += [(g.ids[0], other, 1.0, True) for g in result.exact_groups for other in g.ids[1:]]
    return pairs


def save_pairs(ws: Workspace, key: str, result: DedupResult) -> None:
    """Keep the verified pairs (exact groups as pairs with their first member) for split."""
    ws.save_dedup_pairs(key, cached_pairs(result))


def dedup_workspace(
    ws: Workspace,
    *,
    threshold: float = DedupSettings().threshold,
    num_perm: int = DedupSettings().num_perm,
    shingling: str = DedupSettings().shingling,
    include_system: bool = DedupSettings().include_system,
    keeper: str = "best",
    dry_run: bool = False,
    processes: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    screen: bool = True,
) -> WorkspaceDedup:
    """Find exact and near duplicates among the eligible records and (unless `dry_run`) mark
    them, replacing the last run's marks, in one undoable journal entry."""
    # the collector stays off until the marks are written too (near.collector_paused)
    with collector_paused():
        return _dedup_workspace(ws, threshold, num_perm, shingling, include_system, keeper,
                                dry_run, processes, progress, screen)


def _dedup_workspace(ws: Workspace, threshold: float, num_perm: int, shingling: str,
                     include_system: bool, keeper: str, dry_run: bool, processes: int | None,
                     progress: Callable[[int, int], None] | None, screen: bool
                     ) -> WorkspaceDedup:
    rule, prefer = parse_keeper(keeper)
    settings = DedupSettings(threshold, num_perm, shingling, include_system)
    # the `best` rule's ranks are needed once the records are signed: read meanwhile
    best = BestRanksLater(ws) if keeper == "best" else None
    stamp = write_stamp(ws)  # before the records are read: a commit after it shows
    eligible = Eligible.read(ws)
    key = content_key(ws, cache_settings(settings), eligible)
    try:
        result = run_find(ws, settings, keeper=rule, prefer=prefer,
                          processes=processes, progress=progress, eligible=eligible,
                          screen=screen, best=best, check_after=dry_run, key=key)
    finally:
        if best is not None:
            best.wait()
    p = result.params
    params: dict[str, Any] = {
        "threshold": threshold, "num_perm": num_perm, "bands": p.bands, "rows": p.rows,
        "shingling": shingling, "include_system": include_system, "keeper": keeper,
        "recall_at_threshold": round(p.recall_at_threshold, 6), "screen": screen,
    }
    change = None
    report: Future[dict[str, Any]] | None = None
    if dry_run:
        save_pairs(ws, key, result)
    else:
        clusters = [DuplicateCluster(c.keeper, {m.id: m.similarity for m in c.members})
                    for c in result.clusters]
        summary = dict(params, clusters=len(clusters),
                       duplicates=sum(len(c.members) for c in result.clusters))

        def build_report() -> None:
            nonlocal report
            report = in_thread(cluster_report, result.clusters)

        change = mark_with_pairs(
            ws, clusters, params, clear_others=True,
            meta={"dedup.params": orjson.dumps(summary, option=orjson.OPT_SORT_KEYS).decode()},
            pairs=(key, cached_pairs(result)),  # one transaction, one commit for both
            # the fingerprint taken again under the write lock, before anything is written: an
            # edit that landed after the records were read, even after everything was found,
            # refuses the run (run_find's own check would leave a moment before the write)
            # (nothing committed since the records were read, by any connection: the same
            # records, without reading them all again, 0.3 s at 1M)
            unchanged=lambda: write_stamp(ws) == stamp
            or content_key(ws, cache_settings(settings)) == key,
            refused=MOVED,
            records_known=True,  # the eligible ids read above; `unchanged` holds them so
            meanwhile=build_report,  # the report's Python beside the marks' SQL
        )
        if report is not None:  # done with the marks as a rule; no thread outlives the run
            wait([report])
    s = result.stats
    return WorkspaceDedup(params, s.records, result.clusters, len(result.exact_groups),
                          s.candidate_pairs, s.verified_pairs, dry_run, change,
                          screened_out=s.screened_out, pairs=result.pairs,
                          capped_buckets=s.capped_buckets, capped_records=s.capped_records,
                          limited_records=s.limited_records, limited_pairs=s.limited_pairs,
                          report=report)
