"""mark_duplicates writes the three duplicate marks in one pass (one read of the old marks, one
upsert): what it journals and writes must be what journaling each column on its own gives, and
undo must restore every earlier mark exactly."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from store_helpers import chat, imported_workspace

from curator.workspace import DuplicateCluster, Workspace

_COLUMNS = ("cluster_id", "dup_of", "similarity")
Marks = dict[int, tuple[Any, Any, Any]]


def _workspace(tmp_path: Path, n: int) -> Path:
    rows = [chat(f"Question {k} about topic {k % 7}?", f"Answer {k}.") for k in range(n)]
    return imported_workspace(tmp_path, rows)


def _marks(ws: Workspace) -> Marks:
    return {i: (r.cluster_id, r.dup_of, r.similarity) for i in ws.select_ids([])
            for r in [ws.get(i)]}


def _splits(ws: Workspace) -> dict[int, Any]:
    return {i: ws.get(i).split for i in ws.select_ids([])}


def _random_clusters(rng: random.Random, ids: list[int]) -> list[DuplicateCluster]:
    chosen = rng.sample(ids, rng.randint(0, len(ids)))
    clusters = []
    while len(chosen) >= 2:
        size = min(len(chosen), rng.randint(2, 4))
        keeper, *dups = chosen[:size]
        chosen = chosen[size:]
        # similarities from a few values, so a rerun often leaves some marks as they were
        clusters.append(DuplicateCluster(keeper, {d: rng.choice((0.8, 0.9, 1.0)) for d in dups}))
    return clusters


def _expected(before: Marks, clusters: list[DuplicateCluster], clear_others: bool) -> Marks:
    after = dict(before) if not clear_others else dict.fromkeys(before, (None, None, None))
    for c in clusters:
        after[c.keeper] = (c.keeper, None, None)
        for d, s in c.duplicates.items():
            after[d] = (c.keeper, c.keeper, s)
    return after


def test_marks_and_journal_rows_are_those_of_one_column_at_a_time(tmp_path: Path) -> None:
    rng = random.Random(7)
    with Workspace.open(_workspace(tmp_path, 40)) as ws:
        ids = list(ws.select_ids([]))
        ws.set_splits({i: ("train" if i % 3 else "validation") for i in ids[:25]})
        splits = _splits(ws)
        history: list[Marks] = [_marks(ws)]
        for step in range(12):
            before = history[-1]
            clusters = _random_clusters(rng, ids)
            clear = step % 3 != 1
            change = ws.mark_duplicates(clusters, {"step": step}, clear_others=clear)
            after = _expected(before, clusters, clear)
            assert _marks(ws) == after
            # one journal row per changed column, holding the old and the new value
            want = sorted((rid, col, before[rid][k], after[rid][k])
                          for rid in after for k, col in enumerate(_COLUMNS)
                          if before[rid][k] != after[rid][k])
            got = sorted(ws.connection.execute(
                "SELECT record_id, field, before, after FROM journal_changes "
                "WHERE entry_id = ? AND record_id IS NOT NULL", (change.entry_id,)).fetchall())
            assert got == want
            assert change.changed == len({w[0] for w in want})
            assert (change.entry_id is None) == (not want)
            assert _splits(ws) == splits  # the split mark is never touched
            if change.entry_id is not None:  # else nothing changed: no entry to undo
                history.append(after)
        assert len(history) > 8
        for marks in reversed(history[:-1]):
            ws.undo()
            assert _marks(ws) == marks
            assert _splits(ws) == splits
        for marks in history[1:]:
            ws.redo()
            assert _marks(ws) == marks


def _checks_off_for_its_transaction_only(conn: sqlite3.Connection, action: Callable[[], object]) -> None:
    """`action` turns SQLite's foreign-key checks off before its transaction begins and on again
    after it commits (one read, one off, one on), and leaves them on."""
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    try:
        action()
    finally:
        conn.set_trace_callback(None)
    pragmas = [s for s in statements if "foreign_keys" in s]
    begin = next(k for k, s in enumerate(statements) if s.startswith("BEGIN"))
    commit = next(k for k, s in enumerate(statements) if s.strip() == "COMMIT")
    assert statements.index("PRAGMA foreign_keys = OFF") < begin
    assert statements.index("PRAGMA foreign_keys = ON") > commit
    assert len(pragmas) == 3  # read, off, on
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_the_marks_journal_without_sqlites_row_reads_and_foreign_keys_stay_on(
        tmp_path: Path) -> None:
    # mark_duplicates checks the ids itself (through an index); SQLite's foreign-key check
    # of each journal row read the record's wide row, so it is off for that one transaction
    # and on again after it, on success and on failure alike
    import pytest

    from curator.workspace import UnknownRecords, WorkspaceError

    db = _workspace(tmp_path, 8)
    with Workspace.open(db) as ws:
        conn = ws.connection
        _checks_off_for_its_transaction_only(conn, lambda: ws.mark_duplicates(
            [DuplicateCluster(1, {2: 0.9, 3: 0.85})], {}, clear_others=True))
        assert _marks(ws)[2] == (1, 1, 0.9)
        with pytest.raises(UnknownRecords):
            ws.mark_duplicates([DuplicateCluster(1, {999: 0.9})], {}, clear_others=True)
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        with pytest.raises(WorkspaceError):
            ws.mark_duplicates([DuplicateCluster(4, {4: 0.9})], {})
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        # nothing half-written by the failed calls; undo still restores the first
        assert _marks(ws)[2] == (1, 1, 0.9) and _marks(ws)[4] == (None, None, None)
        ws.undo()
        assert all(m == (None, None, None) for m in _marks(ws).values())


def test_splits_are_set_without_sqlites_row_reads_and_foreign_keys_stay_on(
        tmp_path: Path) -> None:
    import pytest

    from curator.workspace import UnknownRecords

    db = _workspace(tmp_path, 6)
    with Workspace.open(db) as ws:
        conn = ws.connection
        _checks_off_for_its_transaction_only(conn, lambda: ws.set_splits({1: "train", 2: "val", 3: "train"}))
        assert _splits(ws)[2] == "val"
        with pytest.raises(UnknownRecords):
            ws.set_splits({1: "val", 77: "train"})
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert _splits(ws)[1] == "train"
        ws.undo()
        assert set(_splits(ws).values()) == {None}


def test_the_changed_count_is_the_entrys_distinct_records_with_meta_as_one(
        tmp_path: Path) -> None:
    # mark_with_pairs counts the records it changed itself (finish no longer reads every
    # journal row back): the count must be what that read gives, the meta keys' rows (no
    # record) counting as one, and an entry that changed nothing is still dropped
    from curator.workspace.dedup_marks import mark_with_pairs

    rng = random.Random(11)
    with Workspace.open(_workspace(tmp_path, 30)) as ws:
        ids = list(ws.select_ids([]))
        seen_meta_only = seen_both = False
        for step in range(16):
            clusters = _random_clusters(rng, ids) if step % 4 != 3 else []
            meta = {"dedup.params": str(step % 3), "dedup.other": None if step % 2 else "x"}
            change = mark_with_pairs(ws, clusters, {"step": step}, clear_others=step % 5 != 2,
                                     meta=meta, records_known=step % 2 == 0)
            if change.entry_id is None:
                assert change.changed == 0
                continue
            rows = ws.connection.execute(
                "SELECT count(DISTINCT coalesce(record_id, -1)), count(record_id), "
                "count(*) - count(record_id) FROM journal_changes WHERE entry_id = ?",
                (change.entry_id,)).fetchone()
            assert change.changed == rows[0]
            n_changes = ws.connection.execute("SELECT n_changes FROM journal WHERE id = ?",
                                              (change.entry_id,)).fetchone()[0]
            assert n_changes == rows[0]
            seen_meta_only |= rows[1] == 0 and rows[2] > 0
            seen_both |= rows[1] > 0 and rows[2] > 0
        assert seen_both and seen_meta_only
        # the same marks and meta again: nothing changes, no entry is left
        again = mark_with_pairs(ws, clusters, {}, clear_others=True, meta=meta)
        assert again.entry_id is None and again.changed == 0


def test_the_marks_page_cache_is_larger_only_while_they_are_written(tmp_path: Path) -> None:
    import pytest

    from curator.workspace import UnknownRecords
    from curator.workspace.dedup_marks import _WRITE_CACHE_KIB, mark_with_pairs

    with Workspace.open(_workspace(tmp_path, 6)) as ws:
        conn = ws.connection
        before = conn.execute("PRAGMA cache_size").fetchone()[0]
        assert -before < _WRITE_CACHE_KIB  # SQLite's default (2 MB) or this workspace's
        sizes: list[int] = []
        conn.set_trace_callback(lambda s: sizes.append(s) if "cache_size =" in s else None)
        mark_with_pairs(ws, [DuplicateCluster(1, {2: 0.9})], {}, clear_others=True)
        conn.set_trace_callback(None)
        assert sizes == [f"PRAGMA cache_size = {-_WRITE_CACHE_KIB}",
                         f"PRAGMA cache_size = {before}"]
        assert conn.execute("PRAGMA cache_size").fetchone()[0] == before
        with pytest.raises(UnknownRecords):  # without records_known the ids are checked
            mark_with_pairs(ws, [DuplicateCluster(1, {99: 0.9})], {}, clear_others=True)
        assert conn.execute("PRAGMA cache_size").fetchone()[0] == before
        conn.execute("PRAGMA cache_size = -100000")  # larger already: left as it is
        mark_with_pairs(ws, [DuplicateCluster(1, {3: 0.9})], {}, clear_others=True)
        assert conn.execute("PRAGMA cache_size").fetchone()[0] == -100000
        assert _marks(ws)[3] == (1, 1, 0.9) and _marks(ws)[2] == (None, None, None)


def _held_checkpoints(monkeypatch: Any) -> tuple[Any, list[str]]:
    """The background checkpoints held until the returned event is set; the list gets the
    path of each one that ran."""
    import threading

    from curator.workspace import dedup_marks

    held = threading.Event()
    ran: list[str] = []
    real = dedup_marks._checkpoint

    def held_checkpoint(path: str) -> None:
        assert held.wait(60)
        real(path)
        ran.append(path)

    monkeypatch.setattr(dedup_marks, "_checkpoint", held_checkpoint)
    return held, ran


def test_the_marks_commit_leaves_the_wal_checkpoint_to_a_thread_of_its_own(
        tmp_path: Path, monkeypatch: Any) -> None:
    # SQLite's automatic checkpoint ran inside the marks' commit (copying every page into the
    # main file and syncing it: 0.6-1 s at 1M on the run's serial tail); the commit now
    # leaves it to a background thread while the command goes on

    from curator.workspace import dedup_marks

    real = dedup_marks._checkpoint
    held, ran = _held_checkpoints(monkeypatch)
    db = _workspace(tmp_path, 3_000)
    with Workspace.open(db) as ws:
        conn = ws.connection
        conn.execute("PRAGMA wal_autocheckpoint = 10")  # a small workspace crosses it too
        ws.checkpoint()
        size = db.stat().st_size
        clusters = [DuplicateCluster(k, {k + 1: 0.9, k + 2: 0.85}) for k in range(1, 2_990, 3)]
        change = dedup_marks.mark_with_pairs(
            ws, clusters, {}, clear_others=True,
            pairs=("key", [(k, k + 1, 0.9, False) for k in range(1, 2_990, 3)]))
        assert change.entry_id is not None
        # committed (the WAL holds it: another connection reads the marks), not copied yet
        other = sqlite3.connect(db)
        assert other.execute("SELECT count(*) FROM record_marks WHERE dup_of IS NOT NULL"
                             ).fetchone()[0] == 2 * len(clusters)
        other.close()
        assert db.stat().st_size == size
        assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 10  # back
        held.set()
        for thread in list(dedup_marks.CHECKPOINTS):
            thread.join(60)
        assert ran == [str(ws.path)]
        assert db.stat().st_size > size  # the checkpoint copied the new pages in
        # a connection whose automatic checkpoints are off (the review app's) is left alone
        ws.defer_checkpoints()
        dedup_marks.mark_with_pairs(ws, clusters[:5], {}, clear_others=True)
        assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
        assert ran == [str(ws.path)]
    real(str(tmp_path / "gone.db"))  # a workspace removed meanwhile is not made again
    assert not (tmp_path / "gone.db").exists()


def test_meanwhile_runs_once_the_marks_are_in_and_before_they_are_journaled(
        tmp_path: Path) -> None:
    # dedup builds its report on a thread from `meanwhile`, beside the statements that journal
    # and write the marks (SQLite runs those without Python's lock); the marks' rows, which
    # Python hands over one by one, are all in by then
    from curator.workspace.dedup_marks import mark_with_pairs

    with Workspace.open(_workspace(tmp_path, 9)) as ws:
        statements: list[str] = []
        ws.connection.set_trace_callback(statements.append)
        seen: list[list[str]] = []
        mark_with_pairs(ws, [DuplicateCluster(1, {2: 0.9, 3: 0.8})], {}, clear_others=True,
                        pairs=("key", [(1, 2, 0.9, False)]),
                        meanwhile=lambda: seen.append(list(statements)))
        ws.connection.set_trace_callback(None)
        assert len(seen) == 1
        before, after = seen[0], statements[len(seen[0]):]
        assert any(s.startswith("INSERT INTO _dup VALUES") for s in before)
        assert any("dedup_pairs" in s for s in before)
        assert not any("journal" in s for s in before)
        assert any("INSERT INTO journal_changes" in s for s in after)
        assert any("INSERT INTO record_marks" in s for s in after)
        assert any(s.strip().upper() == "COMMIT" for s in after)
        assert _marks(ws)[3] == (1, 1, 0.8)


def test_a_fork_waits_for_the_background_checkpoint(tmp_path: Path, monkeypatch: Any) -> None:
    # a worker forked while the checkpoint thread held SQLite's locks waited on them for ever
    # (split right after a dedup: test_record_marks hung); every fork waits for it first
    import os
    import threading

    from curator.workspace import dedup_marks

    held, ran = _held_checkpoints(monkeypatch)
    with Workspace.open(_workspace(tmp_path, 30)) as ws:
        dedup_marks.mark_with_pairs(ws, [DuplicateCluster(1, {2: 0.9})], {}, clear_others=True)
        assert ran == []  # held
        threading.Timer(0.3, held.set).start()
        pid = os.fork()
        if pid == 0:  # the child: nothing to do
            os._exit(0)
        assert ran == [str(ws.path)]  # the fork came only once the checkpoint was over
        assert os.waitpid(pid, 0)[1] == 0
