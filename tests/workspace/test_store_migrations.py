"""Schema migrations: an old workspace is migrated in place with its data; a newer one is refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from curator.workspace import NotAWorkspace, SchemaTooNew, Workspace
from curator.workspace.migrations import MIGRATIONS, SCHEMA_VERSION


def build_v1(path: Path) -> None:
    """A workspace as curator's first schema wrote it, with data in every table that matters."""
    conn = sqlite3.connect(path, isolation_level=None)
    for statement in MIGRATIONS[0]:
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    conn.executemany("INSERT INTO meta VALUES (?, ?)", [("application", "curator"),
                                                         ("created", "2025-01-01T00:00:00Z")])
    conn.execute("INSERT INTO journal(id, ts, actor, action, summary, undoable) "
                 "VALUES (1, 't0', 'old', 'import', 'import a.jsonl', 0)")
    conn.execute("INSERT INTO journal(id, ts, actor, action, summary, n_changes) "
                 "VALUES (2, 't1', 'old', 'accept', 'accept 1', 1)")
    conn.execute(
        "INSERT INTO records(id, uid, source_file, source_line, raw, format, canonical, status, "
        "import_id, created) VALUES (1, 'u1', 'a.jsonl', 1, '{}', 'openai-chat', "
        "'{\"messages\":[{\"content\":\"hi\",\"role\":\"user\"}]}', 'accepted', 1, 't0')")
    conn.execute(
        "INSERT INTO records(id, uid, source_file, source_line, raw, status, reason, import_id, "
        "created) VALUES (2, 'u2', 'a.jsonl', 2, 'not json', 'rejected', 'json.invalid', 1, 't0')")
    conn.execute("INSERT INTO issues(record_id, code, severity, message) "
                 "VALUES (2, 'json.invalid', 'error', 'Expecting value')")
    conn.execute("INSERT INTO label_set VALUES ('good')")
    conn.execute("INSERT INTO record_labels VALUES (1, 'good')")
    conn.execute("INSERT INTO journal_changes VALUES (2, 1, 'status', 'pending', 'accepted')")
    conn.close()


def test_v1_workspace_is_migrated_in_place_with_data_intact(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    build_v1(path)
    with Workspace.open(path) as ws:
        assert ws.schema_version == SCHEMA_VERSION
        r1, r2 = ws.get(1), ws.get(2)
        assert (r1.status, r1.labels, r1.canonical) == (
            "accepted", ["good"], {"messages": [{"content": "hi", "role": "user"}]})
        assert (r2.status, r2.reason, [i.code for i in r2.issues]) == (
            "rejected", "json.invalid", ["json.invalid"])
        assert ws.meta("created") == "2025-01-01T00:00:00Z"
        assert ws.count(["status=accepted", "label=good"]) == 1
        # the old journal still drives undo
        ws.undo()
        assert ws.get(1).status == "pending"
        indexes = {r[0] for r in ws.connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert {"records_status", "issues_code", "record_labels_label"} <= indexes
        assert ws.integrity_check() == "ok"
    # the pre-migration copy is kept, still at v1
    backup = sqlite3.connect(tmp_path / "old.db.v1.bak")
    assert backup.execute("PRAGMA user_version").fetchone()[0] == 1
    assert backup.execute("SELECT count(*) FROM records").fetchone()[0] == 2
    backup.close()


def test_workspace_from_newer_curator_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    Workspace.open(path, create=True).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(SchemaTooNew, match="newer curator"):
        Workspace.open(path)
    assert path.read_bytes() == before


@pytest.mark.parametrize("content", [b"just text, not a database", b"SQLite format 3\x00junk"])
def test_non_workspace_files_are_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "x.db"
    path.write_bytes(content)
    with pytest.raises(NotAWorkspace):
        Workspace.open(path)
    assert path.read_bytes() == content


def test_other_sqlite_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (x)")
    conn.close()
    with pytest.raises(NotAWorkspace, match="not a curator workspace"):
        Workspace.open(path, create=True)


def test_fresh_workspace_has_current_schema_and_settings(tmp_path: Path) -> None:
    with Workspace.open(tmp_path / "w.db", create=True) as ws:
        c = ws.connection
        assert ws.schema_version == SCHEMA_VERSION == len(MIGRATIONS)
        assert c.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert c.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert c.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert ws.meta("application") == "curator"
