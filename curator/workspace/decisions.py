"""Decisions on records: accept, reject or reset (by id and/or filter, or one record by primary
key for the review app's keys), notes, and edits. Each call is one transaction and one journal
entry, so one undo takes it back."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from curator.issues import Issue
from curator.quality.score_signals import SIGNAL_CODES
from curator.workspace.errors import EditRefused, WorkspaceError
from curator.workspace.journal import dumps, issue_dicts
from curator.workspace.records import STATUSES, Change

if TYPE_CHECKING:
    from curator.workspace.engine import Workspace


def set_status(
    ws: Workspace,
    ids: Iterable[int] | None,
    status: str,
    reason: str | None = None,
    *,
    where: Sequence[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Change:
    """Accept, reject or reset records chosen by id and/or filters (both given: both hold).

    With `progress`, the records are changed in chunks of BULK_CHUNK ids and
    progress(done, selected) is called after each, still in one transaction and one
    journal entry; an exception raised by `progress` rolls everything back.
    """
    if status not in STATUSES:
        raise WorkspaceError(f"unknown status {status!r}; choose {', '.join(STATUSES)}")
    action = {"accepted": "accept", "rejected": "reject", "pending": "reset"}[status]
    with ws._transaction() as tx:
        selected = tx.select(ids, where)
        entry = tx.entry(action, "", {"status": status, "reason": reason,
                                      "where": list(where or [])})
        if progress is None:
            changed_status = tx.set_selected(entry, "status", status)
            tx.set_selected(entry, "reason", reason)
        else:
            changed_status = tx.set_selected_chunked(
                entry, {"status": status, "reason": reason}, selected, progress)["status"]
        summary = f"{action}: {changed_status} of {selected} selected records set {status}"
        if reason:
            summary += f" ({reason})"
        return tx.finish(entry, action, selected, summary)


def set_note(ws: Workspace, record_id: int, note: str | None) -> Change:
    """Set (or with None, clear) a record's free-text note."""
    with ws._transaction() as tx:
        tx.select([record_id], None)
        entry = tx.entry("note", "", {"record": record_id})
        tx.set_selected(entry, "note", note or None)
        return tx.finish(entry, "note", 1, f"note on record {record_id}"
                         + (" cleared" if not note else " set"))

# -- one record at a time (the review app's keys) ----------------------------------------
#
# The generic paths above select through a temp table and UPDATE ... FROM journal_changes,
# which the planner answers with a scan of `records` (~90 ms at 1M records). A key press in
# the review app touches one record: these write it by primary key, journaled the same way,
# so undo / redo / log treat them exactly like the bulk actions.


def set_status_one(ws: Workspace, record_id: int, status: str, reason: str | None = None) -> Change:
    """Accept, reject or reset one record (the review app's keys); journaled, undoable."""
    if status not in STATUSES:
        raise WorkspaceError(f"unknown status {status!r}; choose {', '.join(STATUSES)}")
    action = {"accepted": "accept", "rejected": "reject", "pending": "reset"}[status]
    with ws._transaction() as tx:
        before = tx.one(record_id, ("status", "reason"))
        summary = f"{action}: record {record_id} set {status}" + (
            f" ({reason})" if reason else "")
        if list(before) == [status, reason]:
            # Nothing to do, and no journal entry to make and then delete: deleting a
            # journal row makes SQLite check `records.import_id` against it, a full scan.
            return Change(None, action, 1, 0, summary)
        entry = tx.entry(action, "", {"status": status, "reason": reason,
                                      "record": record_id})
        n = tx.set_one(entry, record_id, {"status": status, "reason": reason}, before)
        return tx.finish_one(entry, action, summary, n > 0)


def set_note_one(ws: Workspace, record_id: int, note: str | None) -> Change:
    """Set (None or "": clear) one record's note by primary key."""
    with ws._transaction() as tx:
        before = tx.one(record_id, ("note",))
        summary = f"note on record {record_id}" + (" cleared" if not note else " set")
        if before[0] == (note or None):
            return Change(None, "note", 1, 0, summary)
        entry = tx.entry("note", "", {"record": record_id})
        n = tx.set_one(entry, record_id, {"note": note or None}, before)
        return tx.finish_one(entry, "note", summary, n > 0)



def edit(
    ws: Workspace,
    record_id: int,
    example: Mapping[str, Any],
    validate: Callable[[dict[str, Any]], Sequence[Issue]] | None = None,
    tokens: tuple[int, int] | None = None,
) -> Change:
    """Save an edited form of a record.

    `validate` returns the issues of the new form; any error refuses the edit (EditRefused,
    nothing saved), otherwise its issues replace the record's. `tokens` = (total, trained).
    Editing back to the canonical form stores NULL (= unchanged).
    """
    example = dict(example)
    new_issues = list(validate(example)) if validate is not None else None
    if new_issues is not None and any(i.severity == "error" for i in new_issues):
        raise EditRefused(record_id, new_issues)
    with ws._transaction() as tx:
        tx.select([record_id], None)
        canonical = tx.conn.execute(
            "SELECT canonical FROM records WHERE id = ?", (record_id,)
        ).fetchone()[0]
        text = dumps(example)
        entry = tx.entry("edit", "", {"record": record_id})
        tx.set_selected(entry, "current", None if text == canonical else text)
        if tokens is not None:
            tx.set_selected(entry, "tokens_total", tokens[0])
            tx.set_selected(entry, "tokens_trained", tokens[1])
        if new_issues is not None:
            tx.replace_issues(entry, record_id, issue_dicts(new_issues))
        else:  # the model-score signals were about the old text (undo brings them back with it)
            tx.replace_issues(entry, record_id, [
                d for d in tx.issues_of(record_id) if d["code"] not in SIGNAL_CODES])
        return tx.finish(entry, "edit", 1, f"edit record {record_id}")
