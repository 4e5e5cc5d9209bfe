"""Split and dedup marks in their own narrow table (issue 15): the migration moves a workspace's
existing marks there, every reader sees the values it saw before, split and dedup write no
record row, and undo / redo restore the marks (old journal entries too)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from store_helpers import chat, imported_workspace

from curator.workspace import DuplicateCluster, Workspace, WorkspaceError
from curator.workspace.export import export_workspace, split_sizes
from curator.workspace.migrations import MIGRATIONS, SCHEMA_VERSION
from curator.workspace.report import gather_facts
from curator.workspace.split import split_workspace
from curator.workspace.views.review import duplicate_clusters
from curator.workspace.views.train import split_ids, split_records


def _marks_migration() -> int:
    """The index of the migration that makes `record_marks` (the lead renumbers at merge)."""
    return next(i for i, m in enumerate(MIGRATIONS)
                if any("CREATE TABLE IF NOT EXISTS record_marks" in s for s in m))


# id: (split, cluster_id, dup_of, similarity), as the schema before the move held them
OLD_MARKS = {
    1: ("train", 1, None, None),
    2: ("train", 1, 1, 0.9),
    3: ("validation", None, None, None),
    4: ("holdout", 4, None, None),
    5: (None, 4, 4, 1.0),
    6: ("train", None, None, None),
}


def _build_before_the_move(path: Path) -> None:
    """A workspace as the schema before `record_marks` wrote it: marks on the record rows, and
    a journaled split (record 3 got `validation`) that can still be undone."""
    conn = sqlite3.connect(path, isolation_level=None)
    version = _marks_migration()
    for migration in MIGRATIONS[:version]:
        for statement in migration:
            conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {version}")
    conn.execute("INSERT INTO meta VALUES ('application', 'curator')")
    for rid, (split, cluster, dup_of, sim) in OLD_MARKS.items():
        body = json.dumps(chat(f"question {rid} about {'rivers' if rid < 4 else 'stars'}?",
                               f"answer {rid}."))
        conn.execute(
            "INSERT INTO records(id, uid, source_file, source_line, raw, format, canonical, "
            "split, cluster_id, dup_of, similarity, created) "
            "VALUES (?, ?, 'a.jsonl', ?, ?, 'openai-chat', ?, ?, ?, ?, ?, 't0')",
            (rid, f"u{rid}", rid, body, body, split, cluster, dup_of, sim))
    conn.execute("INSERT INTO journal(id, ts, actor, action, summary, n_changes) "
                 "VALUES (1, 't1', 'old', 'split', 'split: validation 1', 1)")
    conn.execute("INSERT INTO journal_changes VALUES (1, 3, 'split', NULL, 'validation')")
    conn.close()


def _marks_seen(ws: Workspace) -> dict[int, tuple[object, ...]]:
    return {i: (r.split, r.cluster_id, r.dup_of, r.similarity)
            for i in OLD_MARKS for r in [ws.get(i)]}


def test_the_move_keeps_every_mark_and_every_reader_sees_it(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    _build_before_the_move(db)
    with Workspace.open(db) as ws:
        assert ws.schema_version == SCHEMA_VERSION
        assert _marks_seen(ws) == OLD_MARKS
        # filters (ls --where, the review app, bulk actions)
        assert list(ws.select_ids(["split=train"])) == [1, 2, 6]
        assert list(ws.select_ids(["split!=train"])) == [3, 4, 5]
        assert list(ws.select_ids(["split=none"])) == [5]
        assert list(ws.select_ids(["split!=none"])) == [1, 2, 3, 4, 6]
        assert list(ws.select_ids(["cluster=4"])) == [4, 5]
        assert list(ws.select_ids(["cluster!=1"])) == [3, 4, 5, 6]
        assert list(ws.select_ids(["dup=yes"])) == [2, 5]
        assert list(ws.select_ids(["dup=no"])) == [1, 3, 4, 6]
        assert ws.count(["split=holdout", "dup=no"]) == 1
        # the list view, by cluster (keyset paging reads the mark too)
        page = ws.page([], order="cluster", limit=2)
        rows = list(page.rows)
        while page.next_key is not None:
            page = ws.page([], order="cluster", after=page.next_key, limit=2)
            rows += page.rows
        assert [r.id for r in ws.summaries([5, 1])] == [5, 1]
        assert ws.summaries([5])[0].dup_of == 4
        assert [r.id for r in rows] == [3, 6, 1, 2, 4, 5]
        assert {r.id: (r.split, r.cluster_id, r.dup_of) for r in rows} == {
            i: m[:3] for i, m in OLD_MARKS.items()}
        # counts per split (curator split / stats screen), the trainer's views, the review app
        assert split_sizes(ws) == ({"train": 2, "validation": 1, "holdout": 1},
                                   {"train": 1, "validation": 0, "holdout": 0}, 0)
        assert split_ids(ws, "train") == {1, 2, 6}
        both = split_records(ws)
        assert [(r.id, r.split) for r in both.included] == [(1, "train"), (3, "validation"),
                                                           (4, "holdout"), (6, "train")]
        assert duplicate_clusters(ws) == [1, 4]
        # the report's checklist
        facts = gather_facts(ws)
        assert facts.split_counts == {"train": 2, "validation": 1, "holdout": 1}
        assert (facts.duplicates_marked, facts.clusters, facts.dedup_run) == (2, 2, True)
        assert (facts.clusters_without_copy, facts.clusters_with_copies) == ([], [])
        # export: the splits' files and the duplicates left out with their similarity
        out = export_workspace(ws, tmp_path / "out")
        manifest = out.manifest
        assert {s: manifest["splits"][s]["examples"] for s in manifest["splits"]} == {
            "train": 2, "validation": 1, "holdout": 1}
        reasons = {e["id"]: e["reason"] for e in manifest["excluded"]}
        assert reasons == {2: "duplicate of 1 (similarity 0.900)",
                           5: "duplicate of 4 (similarity 1.000)"}

        # the split journaled before the move is undone and redone on the moved marks
        ws.undo()
        assert ws.get(3).split is None and list(ws.select_ids(["split=none"])) == [3, 5]
        ws.redo()
        assert _marks_seen(ws) == OLD_MARKS

        # the holdout seal reads the moved split
        with pytest.raises(WorkspaceError, match="sealed holdout"):
            ws.set_splits({4: "train"})
        # resolving a cluster reads the moved similarity: 1 is now 2's duplicate at 0.9
        ws.keep_one(1, 2)
        assert (ws.get(1).dup_of, ws.get(1).similarity) == (2, 0.9)
        assert (ws.get(2).dup_of, ws.get(2).similarity) == (None, None)


def _workspace(tmp_path: Path) -> Path:
    rows = [chat(f"How do I cook {w} number {k} at home?", f"Cook {w} slowly, step {k}.")
            for k in range(12) for w in ("rice", "beans")]
    rows += [rows[0], rows[1], rows[5]]  # exact copies: one cluster each
    return imported_workspace(tmp_path, rows)


def _record_updates(ws: Workspace) -> sqlite3.Connection:
    """Count every UPDATE of a record row from now on (temp table `_updates`)."""
    c = ws.connection
    c.execute("CREATE TEMP TABLE _updates (n INTEGER)")
    c.execute("CREATE TEMP TRIGGER _count_updates AFTER UPDATE ON main.records "
              "BEGIN INSERT INTO _updates VALUES (1); END")
    return c


def test_split_and_dedup_write_no_record_row_and_undo_restores(tmp_path: Path) -> None:
    with Workspace.open(_workspace(tmp_path)) as ws:
        c = _record_updates(ws)
        n = ws.count([])
        first = ws.mark_duplicates([DuplicateCluster(1, {25: 1.0}),
                                    DuplicateCluster(2, {26: 1.0, 4: 0.8})])
        assert first.changed == 5
        before_split = _all_marks(ws)
        outcome = split_workspace(ws, ratios=(0.5, 0.25, 0.25), force=True)
        assert outcome.written and ws.count(["split=none"]) == 0
        split_marks = _all_marks(ws)
        assert split_marks[25][0] == split_marks[1][0]  # a cluster sits in one split
        # a second dedup run replaces the first: cluster 2 goes, record 7 joins 1
        ws.mark_duplicates([DuplicateCluster(1, {25: 1.0, 7: 0.85})], clear_others=True)
        assert list(ws.select_ids(["dup=yes"])) == [7, 25]
        assert ws.count(["cluster=2"]) == 0
        assert c.execute("SELECT count(*) FROM _updates").fetchone()[0] == 0

        ws.undo()  # the second dedup run
        assert _all_marks(ws) == split_marks
        assert list(ws.select_ids(["dup=yes"])) == [4, 25, 26]
        ws.undo()  # the split
        assert _all_marks(ws) == before_split
        assert ws.count(["split=none"]) == n
        ws.redo()
        assert _all_marks(ws) == split_marks
        ws.clear_duplicates()
        assert ws.count(["dup=yes"]) == 0 and ws.count(["cluster=1"]) == 0
        ws.undo()
        assert _all_marks(ws) == split_marks
        assert c.execute("SELECT count(*) FROM _updates").fetchone()[0] == 0


def _all_marks(ws: Workspace) -> dict[int, tuple[object, ...]]:
    return {i: (r.split, r.cluster_id, r.dup_of, r.similarity)
            for i in ws.select_ids([]) for r in [ws.get(i)]}
