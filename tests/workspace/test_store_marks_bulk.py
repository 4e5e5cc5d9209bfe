"""Marks kept in the workspace (not journaled), bulk changes in chunks with progress (one journal
entry, rolled back when cancelled), and the v5 migration (marks table, records.import_id index)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from store_helpers import chat, write_jsonl

from curator.workspace import UnknownRecords, Workspace
from curator.workspace.importer import import_files
from curator.workspace.migrations import MIGRATIONS, SCHEMA_VERSION
from curator.workspace.prepare import Preparer


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    rows = [chat(f"question {i} about shipping", f"answer {i}") for i in range(10)]
    w = Workspace.open(tmp_path / "w.db", create=True, actor="tester")
    import_files(w, [write_jsonl(tmp_path / "a.jsonl", rows)],
                 Preparer("openai", count_tokens=False))
    w.add_label_names(["refund", "tone"])
    return w


def journal_ids(ws: Workspace) -> list[int]:
    return [e.id for e in ws.log(None)]


def test_marks_are_kept_across_opens_and_never_journaled(ws: Workspace, tmp_path: Path) -> None:
    before = journal_ids(ws)
    assert ws.marks() == set()
    assert ws.set_marks([2, 5, 5, 7]) == 3
    assert ws.set_marks([5]) == 0  # already marked
    assert ws.set_marks([7], on=False) == 1
    with pytest.raises(UnknownRecords):
        ws.set_marks([99])
    assert ws.marks() == {2, 5}
    ws.close()
    with Workspace.open(tmp_path / "w.db") as again:
        assert again.marks() == {2, 5}
        assert journal_ids(again) == before  # marking made no journal entry
        again.set_status_one(2, "accepted")
        again.undo()  # undo does not touch marks
        assert again.marks() == {2, 5}
        assert again.clear_marks() == 2
        assert again.marks() == set()


@pytest.mark.parametrize("chunk", [3, 20_000])
def test_bulk_status_in_chunks_reports_progress_and_is_one_entry(
        ws: Workspace, chunk: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Workspace, "BULK_CHUNK", chunk)
    ws.set_status_one(4, "rejected", "bulk reject in review")  # already as the bulk sets it
    seen: list[tuple[int, int]] = []
    change = ws.set_status(None, "rejected", "bulk reject in review", where=["id<=8"],
                           progress=lambda done, total: seen.append((done, total)))
    assert seen[0] == (0, 8) and seen[-1] == (8, 8)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert len(seen) == 1 + -(-8 // chunk)
    assert change.changed == 7 and change.entry_id is not None
    assert ws.count(["status=rejected"]) == 8 and ws.count(["status=pending"]) == 2
    assert ws.log(1)[0].id == change.entry_id
    ws.undo()  # one undo takes the whole bulk change back
    assert ws.count(["status=rejected"]) == 1 and ws.get(4).reason == "bulk reject in review"
    ws.redo()
    assert ws.count(["status=rejected"]) == 8


def test_bulk_change_cancelled_by_progress_changes_nothing(
        ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Workspace, "BULK_CHUNK", 2)
    before = journal_ids(ws)

    def stop(done: int, total: int) -> None:
        if done >= 4:
            raise KeyboardInterrupt  # anything raised rolls the transaction back

    with pytest.raises(KeyboardInterrupt):
        ws.set_status(None, "accepted", where=[], progress=stop)
    with pytest.raises(KeyboardInterrupt):
        ws.add_labels(None, ["tone"], where=[], progress=stop)
    assert ws.count(["status=accepted"]) == 0 and ws.count(["label=tone"]) == 0
    assert journal_ids(ws) == before


def test_bulk_labels_in_chunks_match_the_one_statement_path(
        ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    ws.set_label_one(3, "refund", True)
    monkeypatch.setattr(Workspace, "BULK_CHUNK", 4)
    seen: list[int] = []
    change = ws.add_labels([1, 2, 3, 9], ["refund", "tone"],
                           progress=lambda done, total: seen.append(done))
    assert seen == [0, 4]
    assert change.changed == 4  # records changed (3 only gets tone)
    assert {(rid, f, b, a) for rid, f, b, a in ws.changes(change.entry_id or 0)} == {
        (1, "label", None, "refund"), (2, "label", None, "refund"), (9, "label", None, "refund"),
        (1, "label", None, "tone"), (2, "label", None, "tone"), (3, "label", None, "tone"),
        (9, "label", None, "tone")}
    removed = ws.remove_labels(None, ["refund"], where=["id<=2"],
                               progress=lambda done, total: None)
    assert removed.changed == 2
    assert ws.count(["label=refund"]) == 2 and ws.count(["label=tone"]) == 4
    ws.undo()
    ws.undo()
    assert ws.count(["label=refund"]) == 1 and ws.count(["label=tone"]) == 0


def test_bulk_change_that_changes_nothing_leaves_no_entry(ws: Workspace) -> None:
    before = journal_ids(ws)
    assert ws.set_status(None, "pending", where=[]).entry_id is None
    assert ws.set_status(None, "pending", where=[], progress=lambda d, t: None).entry_id is None
    assert journal_ids(ws) == before


def build_v4(path: Path) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    for migration in MIGRATIONS[:4]:
        for statement in migration:
            conn.execute(statement)
    conn.execute("PRAGMA user_version = 4")
    conn.execute("INSERT INTO meta VALUES ('application', 'curator')")
    conn.execute("INSERT INTO journal(id, ts, actor, action, summary, undoable) "
                 "VALUES (1, 't0', 'old', 'import', 'import a.jsonl', 0)")
    conn.execute("INSERT INTO records(id, uid, raw, status, import_id, created) "
                 "VALUES (1, 'u1', '{}', 'pending', 1, 't0')")
    conn.close()


def test_v4_workspace_gets_marks_and_the_import_id_index(tmp_path: Path) -> None:
    path = tmp_path / "v4.db"
    build_v4(path)
    with Workspace.open(path) as ws:
        assert ws.schema_version == SCHEMA_VERSION
        names = {r[0] for r in ws.connection.execute("SELECT name FROM sqlite_master")}
        assert {"marks", "records_import_id"} <= names
        plan = " ".join(str(r[-1]) for r in ws.connection.execute(
            "EXPLAIN QUERY PLAN SELECT 1 FROM records WHERE import_id = 1"))
        assert "records_import_id" in plan
        ws.set_marks([1])
        assert ws.marks() == {1}
        assert ws.integrity_check() == "ok"
