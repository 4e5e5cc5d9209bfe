"""Duplicate marks (cluster_id, dup_of, similarity) as dedup writes them, resolving a cluster
(`keep_one`), and the cache of duplicate pairs dedup reuses. Nothing is deleted; marks are
journaled, the pair cache is not."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from curator.workspace.errors import UnknownRecords, WorkspaceError
from curator.workspace.records import Change, DuplicateCluster

if TYPE_CHECKING:
    from curator.workspace.engine import Workspace
    from curator.workspace.journal import Tx


def mark_duplicates(ws: Workspace, clusters: Iterable[DuplicateCluster],
                    params: Mapping[str, Any] | None = None, *,
                    clear_others: bool = False,
                    meta: Mapping[str, str | None] | None = None) -> Change:
    """Record duplicate clusters: cluster_id = keeper id on all members, dup_of + similarity
    on the non-keepers. Nothing is deleted; statuses are untouched.

    `clear_others` also clears the marks of every record outside these clusters (a fresh
    dedup run replaces the last one); `meta` keys are set. All in one journal entry."""
    return mark_with_pairs(ws, clusters, params, clear_others=clear_others, meta=meta)


def mark_with_pairs(ws: Workspace, clusters: Iterable[DuplicateCluster],
                    params: Mapping[str, Any] | None = None, *,
                    clear_others: bool = False,
                    meta: Mapping[str, str | None] | None = None,
                    pairs: tuple[str, Iterable[tuple[int, int, float, bool]]] | None = None,
                    unchanged: Callable[[], bool] | None = None, refused: str = "",
                    records_known: bool = False,
                    meanwhile: Callable[[], object] | None = None) -> Change:
    """mark_duplicates, and with `pairs` = (key, pairs) the pair cache replaced too (as
    save_dedup_pairs does, not journaled) in the same transaction: one commit for a dedup
    run's marks and pairs, and either both are written or neither. `unchanged()` is asked
    first, inside the transaction (under the write lock): False writes nothing and raises
    WorkspaceError(`refused`). `records_known`: the caller vouches that every id in the
    clusters is a record (dedup: they are the eligible ids it read, and `unchanged` confirms
    under the lock that those are still the eligible records), so they are not looked up
    again (0.2 s at 1M: the lookup builds a table of every record id). `meanwhile()` is
    called once the marks are in SQLite's hands, before the statements that journal and
    write them (and the commit): those run in SQLite without Python's lock (1.5-2 s at 1M),
    so Python work that `meanwhile` starts on a thread (dedup's report) runs beside them."""
    with ws._mutex, checkpoint_after(ws), foreign_keys_unchecked(ws._conn), \
            larger_cache(ws._conn), ws._transaction() as tx:
        if unchanged is not None and not unchanged():
            raise WorkspaceError(refused)
        if pairs is not None:
            _write_pairs(tx, *pairs)
        c = tx.conn
        c.execute("CREATE TEMP TABLE IF NOT EXISTS _dup "
                  "(id INTEGER PRIMARY KEY, cluster INTEGER, dup_of INTEGER, sim REAL)")
        c.execute("DELETE FROM _dup")

        def rows() -> Iterator[tuple[int, int, int | None, float | None]]:
            for cl in clusters:
                yield (cl.keeper, cl.keeper, None, None)
                for dup, sim in cl.duplicates.items():
                    if dup == cl.keeper:
                        raise WorkspaceError(f"record {dup} is its own duplicate")
                    yield (dup, cl.keeper, dup, float(sim))

        try:
            c.executemany("INSERT INTO _dup VALUES (?, ?, ?, ?)",
                          ((r[0], r[1], r[1] if r[2] is not None else None, r[3])
                           for r in rows()))
        except sqlite3.IntegrityError:
            raise WorkspaceError("a record appears in two duplicate clusters") from None
        if not records_known:
            missing = [r[0] for r in c.execute(
                "SELECT id FROM _dup WHERE id NOT IN (SELECT +id FROM records) ORDER BY id")]
            if missing:
                raise UnknownRecords(missing)
        selected = c.execute("SELECT count(*) FROM _dup").fetchone()[0]
        if meanwhile is not None:
            meanwhile()
        entry = tx.entry("dedup", "", params)
        changed = _write_marks(c, entry, clear_others)
        for key, value in (meta or {}).items():
            tx.set_meta(entry, key, value)
        # the records changed are the rows of _dup_chg; the meta keys' rows (no record) count
        # as one more, as finish's count of distinct record ids (NULL as one) would count them
        # (that count read back every journal row: 0.2 s at 1M)
        changed += c.execute(
            "SELECT EXISTS (SELECT 1 FROM journal_changes WHERE entry_id = ? "
            "AND field >= 'meta:' AND field < 'meta;')", (entry,)).fetchone()[0]
        n_dups = c.execute("SELECT count(*) FROM _dup WHERE dup_of IS NOT NULL").fetchone()[0]
        n_clusters = selected - n_dups
        return tx.finish(entry, "dedup", selected,
                         f"dedup: {n_clusters} clusters, {n_dups} duplicates marked",
                         changed=changed)


@contextmanager
def foreign_keys_unchecked(conn: sqlite3.Connection) -> Iterator[None]:
    """SQLite's foreign-key checks off for a transaction (hold the workspace's mutex around
    both: the switch is the connection's, and SQLite takes it only outside a transaction),
    on again after it, whatever happens. For mark_duplicates, which checks every record id it
    journals against the records itself, through an index: SQLite's own check of each
    journal row's record_id reads that record's wide row (a page of the 2.3 GB table for
    each of 1M journal rows at 1M records, about a CPU second; set_splits alike)."""
    checking = bool(conn.execute("PRAGMA foreign_keys").fetchone()[0])
    if checking:
        conn.execute("PRAGMA foreign_keys = OFF")
    try:
        yield
    finally:
        if checking:
            conn.execute("PRAGMA foreign_keys = ON")


#: the background checkpoints `checkpoint_after` started (a test or a caller may wait for them)
CHECKPOINTS: list[threading.Thread] = []


@contextmanager
def checkpoint_after(ws: Workspace) -> Iterator[None]:
    """The WAL checkpointed after the block on a thread of its own, not inside the block's
    commit. SQLite's automatic checkpoint runs in the commit that crosses 1,000 WAL pages:
    for a dedup's marks and pairs at 1M records (5,400 pages) it copied them into the main
    file and fsynced it before the commit returned, 0.6-1 s, mostly waiting on the disk, on
    the run's serial tail. Here the connection's automatic checkpoints are off for the block
    (its setting back afterwards) and a PASSIVE checkpoint (it never blocks readers or
    writers) runs meanwhile on a thread with its own connection, while the caller goes on
    (the command prints its report). Durability is the same: the commit fsyncs the WAL
    before it returns. A connection whose automatic checkpoints are off already (the review
    app checkpoints on its own) is left as it is. The thread is not a daemon: a process
    waits for it before it exits."""
    conn = ws._conn
    every = int(conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0])
    if every <= 0:
        yield
        return
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    try:
        yield
    finally:
        conn.execute(f"PRAGMA wal_autocheckpoint = {every}")
    for done in [t for t in CHECKPOINTS if not t.is_alive()]:
        CHECKPOINTS.remove(done)
    thread = threading.Thread(target=_checkpoint, args=(str(ws.path),),
                              name="curator-checkpoint")
    thread.start()
    CHECKPOINTS.append(thread)


def finish_checkpoints() -> None:
    """Wait for the background checkpoints still running. Every fork of this process waits
    for them first (os.register_at_fork): a child forked while one runs inherits SQLite's
    locks as that thread holds them, and a child that then opens a connection (dedup's and
    split's workers read the workspace) can wait on them for ever."""
    for thread in list(CHECKPOINTS):
        if thread is not threading.current_thread():
            thread.join()


if hasattr(os, "register_at_fork"):  # (not on Windows, which does not fork)
    os.register_at_fork(before=finish_checkpoints)


def _checkpoint(path: str) -> None:
    """A PASSIVE checkpoint of the workspace at `path` through a connection of its own.
    Nothing to report when it cannot run (busy, read-only, gone): the next commit that
    crosses the limit, or the last connection to close, checkpoints instead."""
    try:  # (mode=rw: a workspace removed meanwhile is not made again, empty)
        conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=rw", uri=True,
                               timeout=0.0)
    except sqlite3.Error:
        return
    try:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
    except sqlite3.Error:
        pass
    finally:
        conn.close()


#: the page cache (KiB) while marks are written: SQLite's default 2 MB let the random inserts
#: into the marks' cluster and dup_of indexes (one a record, in id order) miss and spill
#: pages; 32 MB took the marks' upsert from 1.2-1.5 to 0.7 s at 1M (425k marks)
_WRITE_CACHE_KIB = 65_536


@contextmanager
def larger_cache(conn: sqlite3.Connection, kib: int = _WRITE_CACHE_KIB) -> Iterator[None]:
    """The connection's page cache at least `kib` KiB for the block, as it was after it."""
    before = int(conn.execute("PRAGMA cache_size").fetchone()[0])
    # (negative: KiB; positive: pages of page_size bytes)
    size = -before if before < 0 else before * int(
        conn.execute("PRAGMA page_size").fetchone()[0]) // 1024
    if size < kib:
        conn.execute(f"PRAGMA cache_size = {-int(kib)}")
    try:
        yield
    finally:
        if size < kib:
            conn.execute(f"PRAGMA cache_size = {before}")


#: (column, its old value, its new value in _dup_chg) of the three duplicate marks
_MARKS = (("cluster_id", "c0", "c1"), ("dup_of", "d0", "d1"), ("similarity", "s0", "s1"))


def _write_marks(c: sqlite3.Connection, entry: int, clear_others: bool) -> int:
    """Journal and write the marks in temp table _dup (every id a record), as apply_vals
    would one column at a time, but with one read of the old marks and one upsert: each
    record whose marks change gets a journal row per changed column (old and new value, so
    undo restores them) and its three marks written at once (an unchanged one rewritten
    with its own value). `clear_others`: records marked outside _dup lose their marks.
    Returns how many records changed."""
    c.execute("CREATE TEMP TABLE IF NOT EXISTS _dup_chg "
              "(id INTEGER PRIMARY KEY, c0, d0, s0, c1, d1, s1)")
    c.execute("DELETE FROM _dup_chg")
    c.execute("INSERT INTO _dup_chg SELECT v.id, m.cluster_id, m.dup_of, m.similarity, "
              "v.cluster, v.dup_of, v.sim FROM _dup v "
              "LEFT JOIN record_marks m ON m.record_id = v.id "
              "WHERE m.cluster_id IS NOT v.cluster OR m.dup_of IS NOT v.dup_of "
              "OR m.similarity IS NOT v.sim")
    if clear_others:
        c.execute("INSERT INTO _dup_chg SELECT record_id, cluster_id, dup_of, similarity, "
                  "NULL, NULL, NULL FROM record_marks "
                  "WHERE (cluster_id IS NOT NULL OR dup_of IS NOT NULL "
                  "OR similarity IS NOT NULL) AND record_id NOT IN (SELECT id FROM _dup) "
                  "AND record_id IN (SELECT +id FROM records)")
    for column, before, after in _MARKS:
        c.execute(f"INSERT INTO journal_changes(entry_id, record_id, field, before, after) "
                  f"SELECT ?, id, ?, {before}, {after} FROM _dup_chg "
                  f"WHERE {before} IS NOT {after}", (entry, column))
    c.execute("INSERT INTO record_marks(record_id, cluster_id, dup_of, similarity) "
              "SELECT id, c1, d1, s1 FROM _dup_chg WHERE true "
              "ON CONFLICT(record_id) DO UPDATE SET cluster_id = excluded.cluster_id, "
              "dup_of = excluded.dup_of, similarity = excluded.similarity")
    changed = int(c.execute("SELECT count(*) FROM _dup_chg").fetchone()[0])
    c.execute("DELETE FROM _dup_chg")
    return changed


def keep_one(ws: Workspace, cluster_id: int, keeper: int) -> Change:
    """Resolve a duplicate cluster in one undoable step: accept `keeper`, reject every other
    member with the reason "duplicate of <keeper>", and make `keeper` the cluster's keeper
    (no `dup_of`; the others `dup_of` it, with their similarity to it when dedup's cached
    pairs know it). The cluster keeps its id. Afterwards exactly `keeper` is exported."""
    with ws._transaction() as tx:
        selected = tx.select(None, [f"cluster={cluster_id}"])
        if not tx.conn.execute("SELECT 1 FROM _sel WHERE id = ?", (keeper,)).fetchone():
            raise WorkspaceError(f"record {keeper} is not in duplicate cluster {cluster_id}")
        entry = tx.entry("keep", "", {"cluster": cluster_id, "keeper": keeper})
        c = tx.conn
        for column, keep_value, other_value in (
            ("status", "accepted", "rejected"),
            ("reason", None, f"duplicate of {keeper}"),
        ):
            c.execute("DELETE FROM _vals")
            c.execute("INSERT INTO _vals(id, value) SELECT id, CASE WHEN id = ? THEN ? "
                      "ELSE ? END FROM _sel", (keeper, keep_value, other_value))
            tx.apply_vals(entry, column)
        # similarity to the new keeper first (it reads the old dup_of): kept where the
        # record already was its duplicate, else from the cached pair, else the old
        # keeper's similarity to the new one, else unknown
        c.execute("DELETE FROM _vals")
        c.execute(
            "INSERT INTO _vals(id, value) SELECT s.id, CASE WHEN s.id = :k THEN NULL "
            "WHEN m.similarity IS NOT NULL AND m.dup_of = :k THEN m.similarity ELSE coalesce("
            "(SELECT p.similarity FROM dedup_pairs p WHERE p.a = min(s.id, :k) "
            "AND p.b = max(s.id, :k)), "
            "(SELECT k.similarity FROM record_marks k WHERE k.record_id = :k "
            "AND k.dup_of = s.id)) END "
            "FROM _sel s LEFT JOIN record_marks m ON m.record_id = s.id", {"k": keeper})
        tx.apply_vals(entry, "similarity")
        # then the chosen record stops being a duplicate; the others are duplicates of it
        c.execute("DELETE FROM _vals")
        c.execute("INSERT INTO _vals(id, value) SELECT id, CASE WHEN id = ? THEN NULL "
                  "ELSE ? END FROM _sel", (keeper, keeper))
        tx.apply_vals(entry, "dup_of")
        return tx.finish(entry, "keep", selected,
                         f"keep record {keeper} of cluster {cluster_id}, reject "
                         f"{selected - 1} duplicates")


def save_dedup_pairs(ws: Workspace, key: str, pairs: Iterable[tuple[int, int, float, bool]]) -> None:
    """Replace the cached duplicate pairs (a, b, similarity, exact) and the key (meta
    `dedup.cache`) saying which content and settings they hold for. Not journaled."""
    with ws._transaction() as tx:
        _write_pairs(tx, key, pairs)


def _write_pairs(tx: Tx, key: str, pairs: Iterable[tuple[int, int, float, bool]]) -> None:
    tx.conn.execute("DELETE FROM dedup_pairs")
    tx.conn.executemany(
        "INSERT OR REPLACE INTO dedup_pairs(a, b, similarity, exact) VALUES (?, ?, ?, ?)",
        ((min(a, b), max(a, b), float(s), int(e)) for a, b, s, e in pairs))
    tx.write_meta("dedup.cache", key)


def dedup_pairs(ws: Workspace) -> list[tuple[int, int, float, bool]]:
    """The cached pairs (see save_dedup_pairs), a < b."""
    return [(a, b, s, bool(e)) for a, b, s, e in ws._conn.execute(
        "SELECT a, b, similarity, exact FROM dedup_pairs ORDER BY a, b")]


def clear_duplicates(ws: Workspace, ids: Iterable[int] | None = None, *,
                     where: Sequence[str] | None = None) -> Change:
    """Clear cluster / dup_of / similarity on the chosen records (all records by default)."""
    with ws._transaction() as tx:
        selected = tx.select(ids, where if (ids is not None or where is not None) else [])
        entry = tx.entry("undedup", "", {"where": list(where or [])})
        for column in ("cluster_id", "dup_of", "similarity"):
            tx.set_selected(entry, column, None)
        return tx.finish(entry, "undedup", selected, "duplicate marks cleared")
