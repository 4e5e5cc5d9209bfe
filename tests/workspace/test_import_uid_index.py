"""The uid's UNIQUE index of a workspace created since schema v11 is a named one
(`records_uid`), which `curator import` into an empty workspace defers while it writes its first
file and builds at its end (issue 15: kept up to date row by row, random content hashes made each
commit rewrite nearly all of it). Without the index nothing in SQLite stops a second copy of a
uid, so these tests hold that every path stores each uid once, exactly as with the index: two
files in one import, the same file twice, another process writing meanwhile, an older workspace
(whose uid index is the column's own and is kept)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from curator.workspace import Workspace
from curator.workspace.importer import import_files
from curator.workspace.migrations import MIGRATIONS, UID_INDEX, UID_INDEX_SQL
from curator.workspace.prepare import Preparer
from curator.workspace.sources import (
    DEFERRED_INDEXES_KEY,
    DEFERRED_OWNER_KEY,
    UidOwner,
    build_deferred_indexes,
    defer_indexes,
    import_rows,
)


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _chat(i: int) -> str:
    return json.dumps({"messages": [{"role": "user", "content": f"Question {i}?"},
                                    {"role": "assistant", "content": f"Answer {i}."}]})


def _uid_indexes(conn: sqlite3.Connection) -> list[tuple[str, str | None]]:
    """The indexes on records(uid) alone: (name, SQL; None for the column's own)."""
    out = []
    for name, sql in conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'records'"):
        cols = [r[2] for r in conn.execute(f'PRAGMA index_info("{name}")')]
        unique = conn.execute("SELECT \"unique\" FROM pragma_index_list('records') "
                              "WHERE name = ?", (name,)).fetchone()[0]
        if cols == ["uid"] and unique:
            out.append((name, sql))
    return out


def _stored(db: Path) -> dict[str, object]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return {
            "records": conn.execute(
                "SELECT id, uid, source_file, source_line, example_index, status, import_id "
                "FROM records ORDER BY id").fetchall(),
            "sources": conn.execute(
                "SELECT path, rows, new, already_present, rejected, complete FROM sources "
                "ORDER BY id").fetchall(),
            "issues": conn.execute("SELECT record_id, code FROM issues ORDER BY 1, 2").fetchall(),
        }
    finally:
        conn.close()


def _v10(path: Path, *, records: bool) -> Path:
    """A workspace at schema v10 as curator wrote it before v11 (the uid's index the column's
    own), optionally with a record in it."""
    conn = sqlite3.connect(path, isolation_level=None)
    for migration in MIGRATIONS[:10]:
        for statement in migration:
            assert isinstance(statement, str)
            conn.execute(statement)
    conn.execute("PRAGMA user_version = 10")
    conn.execute("INSERT INTO meta VALUES ('application', 'curator')")
    if records:
        conn.execute("INSERT INTO journal(id, ts, actor, action, summary, undoable) "
                     "VALUES (1, 't0', 'old', 'import', 'import a.jsonl', 0)")
        conn.execute("INSERT INTO records(id, uid, source_file, source_line, raw, status, "
                     "import_id, created) VALUES (1, 'u1', 'a.jsonl', 1, '{}', 'pending', 1, 't0')")
    conn.close()
    return path


def test_a_new_workspace_has_a_named_uid_index_with_the_same_table(tmp_path: Path) -> None:
    old = _v10(tmp_path / "old.db", records=True)
    with Workspace.open(tmp_path / "new.db", create=True) as ws:
        c = ws.connection
        assert _uid_indexes(c) == [(UID_INDEX, UID_INDEX_SQL)]
        assert c.execute("SELECT count(*) FROM sqlite_master WHERE name LIKE "
                         "'sqlite_autoindex_records%'").fetchone()[0] == 0
        columns = c.execute("PRAGMA table_xinfo(records)").fetchall()
        objects = c.execute("SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'records' "
                            "AND name != ? ORDER BY name", (UID_INDEX,)).fetchall()
        keys = c.execute("PRAGMA foreign_key_list(records)").fetchall()
        order = c.execute("SELECT name FROM sqlite_master WHERE tbl_name = 'records' AND sql "
                          "IS NOT NULL AND name != ? ORDER BY rowid", (UID_INDEX,)).fetchall()
        assert ws.integrity_check() == "ok"
        assert c.execute("PRAGMA foreign_key_check").fetchall() == []
    conn = sqlite3.connect(old)
    try:  # the same columns, constraints, foreign keys, indexes and trigger as before v11
        assert conn.execute("PRAGMA table_xinfo(records)").fetchall() == columns
        assert conn.execute("PRAGMA foreign_key_list(records)").fetchall() == keys
        before = conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'records' "
            "AND name NOT LIKE 'sqlite_autoindex%' ORDER BY name").fetchall()
        # the table's SQL differs only in the uid's UNIQUE (and the name quoted by the rename)
        table = next(i for i, o in enumerate(before) if o[0] == "table")
        assert before[table][2].replace("uid TEXT NOT NULL UNIQUE,", "uid TEXT NOT NULL,").replace(
            "CREATE TABLE records (", 'CREATE TABLE "records" (') == objects[table][2]
        assert before[:table] + before[table + 1:] == objects[:table] + objects[table + 1:]
        # created in the same order (the query planner breaks ties between indexes by it)
        assert conn.execute("SELECT name FROM sqlite_master WHERE tbl_name = 'records' AND sql "
                            "IS NOT NULL ORDER BY rowid").fetchall() == order
    finally:
        conn.close()


def test_an_older_workspace_keeps_its_uid_index_and_imports_as_before(tmp_path: Path) -> None:
    db = _v10(tmp_path / "old.db", records=True)
    src = _write(tmp_path / "a.jsonl", [_chat(i) for i in range(30)] + [_chat(3)])
    with Workspace.open(db) as ws:  # migrated to v11: the table holds records, left as it is
        c = ws.connection
        assert _uid_indexes(c) == [("sqlite_autoindex_records_1", None)]
        assert defer_indexes(ws, owner="t") is False  # not empty
        first = import_files(ws, [src], Preparer("openai", count_tokens=False),
                             defer_indexes=True)
        again = import_files(ws, [src, src], Preparer("openai", count_tokens=False),
                             defer_indexes=True)
        assert (first.new, first.already_present) == (31, 0)
        assert (again.new, again.already_present) == (0, 62)
        assert c.execute("SELECT count(*), count(DISTINCT uid) FROM records").fetchone() == (32, 32)
        assert ws.integrity_check() == "ok"
    # an EMPTY older workspace is rebuilt with the named index
    with Workspace.open(_v10(tmp_path / "empty.db", records=False)) as ws:
        assert _uid_indexes(ws.connection) == [(UID_INDEX, UID_INDEX_SQL)]
        assert ws.integrity_check() == "ok"


@pytest.mark.parametrize("order", ["a,b", "a,a", "b,a,b"])
def test_files_after_the_first_find_its_rows_present(tmp_path: Path, order: str) -> None:
    """The first file goes in without the uid index; the next ones must see its rows (the same
    rows, repeats of one content, a file that is the first's rows and more) as present."""
    a = _write(tmp_path / "a.jsonl", [_chat(i % 40) for i in range(120)] + ['{"messages": ['])
    b = _write(tmp_path / "b.jsonl", [_chat(i % 50) for i in range(150)] + ['{"messages": ['])
    files = [{"a": a, "b": b}[n] for n in order.split(",")]
    dumps = []
    for deferred in (False, True):
        db = tmp_path / f"w{deferred}.db"
        with Workspace.open(db, create=True) as ws:
            import_files(ws, files, Preparer("openai", count_tokens=False), batch_size=25,
                         defer_indexes=deferred)
            c = ws.connection
            assert c.execute("SELECT count(*) - count(DISTINCT uid) FROM records").fetchone() \
                == (0,)
            assert ws.meta(DEFERRED_INDEXES_KEY) is None and ws.meta(DEFERRED_OWNER_KEY) is None
            assert _uid_indexes(c) == [(UID_INDEX, UID_INDEX_SQL)]
            assert ws.integrity_check() == "ok"
        dumps.append(_stored(db))
    assert dumps[0] == dumps[1]


def _row(uid: str, line: int) -> tuple[object, ...]:
    return (uid, "f.jsonl", line, line, "{}", "openai-chat", "{}", "pending", None, 1, 1, (),
            "chat", None)


def _totals() -> dict[str, int]:
    return {"rows": 0, "new": 0, "already_present": 0, "rejected": 0}


def test_another_writer_during_the_deferral_gets_the_index_built_first(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    Workspace.open(db, create=True).close()
    with Workspace.open(db) as ws, Workspace.open(db) as other:
        assert defer_indexes(ws, owner="tok")
        owner = UidOwner("tok")
        assert _uid_indexes(ws.connection) == []
        iid = ws.begin_import("f.jsonl")
        assert import_rows(ws, iid, [_row("a", 1), _row("b", 2)], _totals(), owner) == [True, True]
        assert _uid_indexes(ws.connection) == []  # still the owner's: no index yet
        # another import (the review app's job, or one whose open could not build the indexes)
        # builds the uid index before it inserts, so it finds "a" present
        assert import_rows(other, iid, [_row("a", 1), _row("c", 3)], _totals()) == [False, True]
        assert _uid_indexes(ws.connection) == [(UID_INDEX, UID_INDEX_SQL)]
        # the owner no longer owns it: its rows go through the index, "b" and "c" are present
        assert import_rows(ws, iid, [_row("b", 2), _row("c", 3), _row("d", 4)], _totals(),
                           owner) == [False, False, True]
        assert ws.meta(DEFERRED_OWNER_KEY) is None
        assert build_deferred_indexes(ws) == ["records_tokens"]
        assert ws.integrity_check() == "ok"


def test_a_record_stored_by_another_process_ends_the_owners_deferral(tmp_path: Path) -> None:
    """A writer that stores a record without going through import (a preference pair made by
    `conflicts prefer` checks the uid with a query first) moves the table's last id: the owner
    then builds the index before its next batch, so a row with that uid is found present."""
    db = tmp_path / "w.db"
    Workspace.open(db, create=True).close()
    with Workspace.open(db) as ws, Workspace.open(db) as other:
        assert defer_indexes(ws, owner="tok")
        owner = UidOwner("tok")
        iid = ws.begin_import("f.jsonl")
        assert import_rows(ws, iid, [_row("a", 1)], _totals(), owner) == [True]
        with other._transaction() as tx:
            tx.conn.execute("INSERT INTO records(uid, raw, created) VALUES ('x', '{}', 't')")
        assert import_rows(ws, iid, [_row("x", 2), _row("y", 3)], _totals(), owner) \
            == [False, True]
        c = ws.connection
        assert c.execute("SELECT count(*), count(DISTINCT uid) FROM records").fetchone() == (3, 3)
        assert _uid_indexes(c) == [(UID_INDEX, UID_INDEX_SQL)]


def test_a_workspace_opened_meanwhile_builds_the_index_and_the_owner_goes_on(
        tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    Workspace.open(db, create=True).close()
    with Workspace.open(db) as ws:
        assert defer_indexes(ws, owner="tok")
        owner = UidOwner("tok")
        iid = ws.begin_import("f.jsonl")
        assert import_rows(ws, iid, [_row("a", 1)], _totals(), owner) == [True]
        Workspace.open(db).close()  # any command builds what an import deferred
        assert _uid_indexes(ws.connection) == [(UID_INDEX, UID_INDEX_SQL)]
        assert import_rows(ws, iid, [_row("a", 1), _row("b", 2)], _totals(), owner) \
            == [False, True]
        assert ws.meta(DEFERRED_INDEXES_KEY) is None
        assert ws.integrity_check() == "ok"
