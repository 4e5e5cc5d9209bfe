"""The scores store (curator/workspace/scores.py): what needs scoring, saving, reading, and the
SQL pieces a filter and a sort order will use. No model here: rows are written by hand."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from curator.workspace import Workspace
from curator.workspace import scores as store
from curator.workspace.importer import import_files
from curator.workspace.migrations import MIGRATIONS
from curator.workspace.scores import ScoreRow


def make_workspace(tmp_path: Path, n: int = 5) -> Path:
    src = tmp_path / "rows.jsonl"
    src.write_text("".join(json.dumps({"messages": [{"role": "user", "content": f"q{i}?"},
                                                    {"role": "assistant", "content": f"a{i}."}]}) + "\n"
                           for i in range(n)), encoding="utf-8")
    db = tmp_path / "work.db"
    with Workspace.open(db, create=True) as ws:
        import_files(ws, [src])
    return db


def row(ws: Workspace, rid: int, ifd: float | None, end: float | None = 0.5, model: str = "m") -> ScoreRow:
    text = store.texts(ws, [rid])[0]
    return ScoreRow(rid, model, text[2], None if ifd is None else ifd * 2, 2.0, ifd, end, 3,
                    None if ifd is not None else "the answer is empty")


def test_pending_takes_new_changed_and_other_model_records_only(tmp_path: Path) -> None:
    db = make_workspace(tmp_path)
    with Workspace.open(db) as ws:
        assert store.pending(ws, "m").ids == [1, 2, 3, 4, 5]
        store.save(ws, [row(ws, 1, 0.5), row(ws, 2, 1.2), row(ws, 3, None)])
        p = store.pending(ws, "m")
        assert (p.eligible, p.up_to_date, p.ids, p.more) == (5, 3, [4, 5], 0)
        assert store.pending(ws, "other").ids == [1, 2, 3, 4, 5]
        ws.edit(2, {"messages": [{"role": "user", "content": "q?"}, {"role": "assistant", "content": "new"}]})
        assert store.pending(ws, "m").ids == [2, 4, 5]
        ws.set_status([5], "rejected", "no")
        limited = store.pending(ws, "m", limit=1)
        assert (limited.eligible, limited.ids, limited.more) == (4, [2], 1)
        assert store.pending(ws, "m", where=["status=pending"], limit=5).ids == [2, 4]


def test_get_says_when_a_score_is_stale_and_read_returns_rows_in_id_order(tmp_path: Path) -> None:
    db = make_workspace(tmp_path)
    with Workspace.open(db) as ws:
        store.save(ws, [row(ws, 3, 0.9), row(ws, 1, 0.4)])
        assert [r.record_id for r in store.read(ws)] == [1, 3]
        assert [r.record_id for r in store.read(ws, [3, 2])] == [3]
        got = store.get(ws, 1)
        assert got is not None and not got.stale and got.ifd == 0.4 and got.scored_at
        ws.edit(1, {"messages": [{"role": "user", "content": "q?"}, {"role": "assistant", "content": "other"}]})
        assert store.get(ws, 1).stale  # type: ignore[union-attr]
        assert store.get(ws, 2) is None and store.count(ws) == 2


def test_filter_and_order_pieces_select_and_sort_by_score(tmp_path: Path) -> None:
    db = make_workspace(tmp_path)
    with Workspace.open(db) as ws:
        store.save(ws, [row(ws, 1, 0.4, 0.9), row(ws, 2, 1.3, 0.1), row(ws, 3, 1.1, 0.6), row(ws, 4, None, None)])
        sql, params = store.filter_sql("ifd", ">", 1.0)
        assert [r for (r,) in ws.connection.execute(f"SELECT r.id FROM records r WHERE {sql} ORDER BY r.id",
                                                     params)] == [2, 3]
        key = store.order_sql("ifd")
        assert [r for (r,) in ws.connection.execute(
            f"SELECT r.id FROM records r WHERE {key} IS NOT NULL ORDER BY {key} DESC")] == [2, 3, 1]
        key = store.order_sql("end_prob")
        assert [r for (r,) in ws.connection.execute(
            f"SELECT r.id FROM records r WHERE {key} IS NOT NULL ORDER BY {key}")] == [2, 3, 1]


def test_a_v6_workspace_gains_the_scores_table_and_keeps_its_records(tmp_path: Path) -> None:
    db = make_workspace(tmp_path, n=2)
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("DROP TABLE scores")
    # back to v6: the later migrations (v8, record kinds; the marks' own table) taken off too
    conn.execute("DROP TABLE record_marks")
    for name in ("split", "cluster_id", "dup_of", "similarity"):
        conn.execute(f"ALTER TABLE records RENAME COLUMN moved_{name} TO {name}")
    conn.execute("DROP INDEX records_kind")
    conn.execute("ALTER TABLE records DROP COLUMN tokens_sides")
    conn.execute("ALTER TABLE records DROP COLUMN kind")
    conn.execute("PRAGMA user_version = 6")
    conn.close()
    with Workspace.open(db) as ws:
        assert ws.schema_version == len(MIGRATIONS)
        assert store.pending(ws, "m").ids == [1, 2]
        store.save(ws, [row(ws, 1, 0.5)])
        assert store.count(ws) == 1
