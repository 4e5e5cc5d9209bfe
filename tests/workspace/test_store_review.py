"""The store paths behind the review app: one-record decisions, the search index, search~."""

from __future__ import annotations

from pathlib import Path

import pytest
from store_helpers import chat, write_jsonl

from curator.workspace import (
    FilterError,
    UnknownRecords,
    Workspace,
    WorkspaceError,
    compile_filters,
    fts_query,
)
from curator.workspace.importer import import_files
from curator.workspace.prepare import Preparer


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    rows = [chat(f"question {i} about shipping", f"answer {i}") for i in range(10)]
    rows.append(chat("Où est ma commande? café", "Elle arrive demain."))
    rows.append(chat("[bold]refund[/] please", "Refunds take 5 days."))
    w = Workspace.open(tmp_path / "w.db", create=True, actor="tester")
    import_files(w, [write_jsonl(tmp_path / "a.jsonl", rows)],
                 Preparer("openai", count_tokens=False))
    w.add_label_names(["refund", "tone"])
    return w


def test_status_one_is_journaled_and_undoable(ws: Workspace) -> None:
    change = ws.set_status_one(3, "rejected", "off-topic")
    assert change.entry_id is not None and change.changed == 1
    r = ws.get(3)
    assert (r.status, r.reason) == ("rejected", "off-topic")
    assert sorted(ws.changes(change.entry_id)) == [
        (3, "reason", None, "off-topic"), (3, "status", "pending", "rejected")]
    assert ws.set_status_one(3, "rejected", "off-topic").entry_id is None  # no-op, no entry
    ws.set_status_one(3, "accepted")
    assert (ws.get(3).status, ws.get(3).reason) == ("accepted", None)
    ws.undo()
    assert (ws.get(3).status, ws.get(3).reason) == ("rejected", "off-topic")
    ws.undo()
    assert ws.get(3).status == "pending"
    ws.redo(2)
    assert ws.get(3).status == "accepted"


def test_new_one_record_action_discards_redo_branch(ws: Workspace) -> None:
    ws.set_status_one(1, "accepted")
    ws.undo()
    ws.set_status_one(2, "accepted")
    assert ws.redo() == []
    assert ws.get(1).status == "pending"


def test_label_one_and_note_one(ws: Workspace) -> None:
    ws.set_label_one(4, "refund", True)
    assert ws.get(4).labels == ["refund"]
    assert ws.set_label_one(4, "refund", True).entry_id is None
    ws.set_label_one(4, "refund", False)
    assert ws.get(4).labels == []
    ws.undo()
    assert ws.get(4).labels == ["refund"]
    with pytest.raises(WorkspaceError, match="unknown label"):
        ws.set_label_one(4, "nope", True)
    ws.set_note_one(4, "check policy")
    assert ws.get(4).note == "check policy"
    ws.set_note_one(4, "")
    assert ws.get(4).note is None
    ws.undo()
    assert ws.get(4).note == "check policy"
    entries = len(ws.log(None))
    assert ws.set_note_one(4, "check policy").entry_id is None  # no-op, no entry
    assert len(ws.log(None)) == entries


def test_one_record_unknown_id(ws: Workspace) -> None:
    with pytest.raises(UnknownRecords):
        ws.set_status_one(999, "accepted")
    with pytest.raises(UnknownRecords):
        ws.set_label_one(999, "tone", True)


def test_search_builds_index_on_first_use_and_finds_words(ws: Workspace) -> None:
    assert ws.search_index_pending() == 12
    seen: list[tuple[int, int]] = []
    assert ws.build_search_index(lambda d, t: seen.append((d, t)), batch=5) == 12
    assert seen[0] == (0, 12) and seen[-1] == (12, 12)
    assert ws.search_index_pending() == 0
    assert ws.count(["search~shipping"]) == 10
    assert ws.count(["search~question 7"]) == 1
    assert ws.count(["search~cafe"]) == 1  # diacritics folded
    assert ws.count(["search~refun*"]) == 1
    assert ws.count(["search~bold"]) == 1  # markup-like text is just words
    assert ws.count(["search~shipping", "status=pending"]) == 10


def test_search_without_index_builds_it(ws: Workspace) -> None:
    assert ws.count(["search~shipping"]) == 10
    assert ws.search_index_pending() == 0


def test_search_index_follows_edits_undo_and_new_imports(ws: Workspace, tmp_path: Path) -> None:
    ws.build_search_index()
    ws.edit(2, chat("a question about invoices", "answer"))
    assert ws.count(["search~invoices"]) == 1
    assert [r.id for r in ws.page(["search~question"]).rows].count(2) == 1
    ws.undo()
    assert ws.count(["search~invoices"]) == 0
    assert ws.count(["search~shipping"]) == 10
    import_files(ws, [write_jsonl(tmp_path / "b.jsonl", [chat("shipping late", "sorry")])],
                 Preparer("openai", count_tokens=False))
    assert ws.search_index_pending() == 1
    assert ws.count(["search~shipping"]) == 11
    # FTS5 raises on a corrupt index; a wrong 'delete' on edit or undo would corrupt it.
    ws.connection.execute("INSERT INTO records_fts(records_fts) VALUES ('integrity-check')")


def test_search_cancel_resumes(ws: Workspace) -> None:
    calls = iter([False, True])
    assert ws.build_search_index(batch=5, cancelled=lambda: next(calls)) == 5
    assert ws.search_index_pending() == 7
    assert ws.build_search_index() == 7


def test_search_bulk_actions_use_the_index(ws: Workspace) -> None:
    change = ws.set_status(None, "accepted", where=["search~shipping"])
    assert change.changed == 10


def test_search_query_is_quoted() -> None:
    assert fts_query('refund OR "x" NEAR(a b) pol*') == '"refund" "OR" "x" "NEAR" "a" "b" "pol"*'
    assert fts_query("!!! ***") == ""
    with pytest.raises(FilterError, match="search takes"):
        compile_filters(["search~ ?? "])


def test_deferred_checkpoints_keep_every_commit(ws: Workspace, tmp_path: Path) -> None:
    ws.defer_checkpoints()
    for i in range(1, 11):
        ws.set_status_one(i, "accepted")
    busy, wal_pages, done = ws.checkpoint()
    assert busy == 0 and wal_pages >= done > 0
    with Workspace.open(tmp_path / "w.db") as other:  # another connection sees every decision
        assert other.count(["status=accepted"]) == 10
