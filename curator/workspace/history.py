"""Undo, redo and the journal's log.

The journal is linear. `undo` reverts the newest entry in state `done`; `redo` re-applies the
oldest entry in state `undone`. A new change after an undo marks every `undone` entry
`discarded` (Tx.finish): the redo branch is gone, but its entries stay in the log (nothing is
deleted). Imports are journaled for history but are not undoable (undo skips them); they only add
records, so they never conflict with the values that undo and redo restore.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import orjson

from curator.workspace.errors import WorkspaceError
from curator.workspace.journal import write_marks
from curator.workspace.records import MARK_FIELDS, SCALAR_FIELDS, JournalEntry

if TYPE_CHECKING:
    from curator.workspace.engine import Workspace
    from curator.workspace.journal import Tx


def undo(ws: Workspace, n: int = 1) -> list[JournalEntry]:
    """Revert the newest `n` done entries (each in its own transaction); returns them."""
    return _walk(ws, n, "done", "undone", "before", "DESC")


def next_undo(ws: Workspace) -> JournalEntry | None:
    """The entry `undo()` would revert now (None: nothing to undo)."""
    row = ws._conn.execute(
        f"SELECT {ENTRY_COLS} FROM journal WHERE undoable = 1 AND state = 'done' "
        f"ORDER BY id DESC LIMIT 1").fetchone()
    return to_entry(row) if row is not None else None


def next_redo(ws: Workspace) -> JournalEntry | None:
    """The entry `redo()` would re-apply now (None: nothing to redo)."""
    row = ws._conn.execute(
        f"SELECT {ENTRY_COLS} FROM journal WHERE undoable = 1 AND state = 'undone' "
        f"ORDER BY id ASC LIMIT 1").fetchone()
    return to_entry(row) if row is not None else None


def redo(ws: Workspace, n: int = 1) -> list[JournalEntry]:
    """Re-apply the `n` most recently undone entries, oldest first; returns them."""
    return _walk(ws, n, "undone", "done", "after", "ASC")


def _walk(ws: Workspace, n: int, from_state: str, to_state: str, side: str,
          order: str) -> list[JournalEntry]:
    done: list[JournalEntry] = []
    for _ in range(n):
        with ws._transaction() as tx:
            row = tx.conn.execute(
                f"SELECT id FROM journal WHERE undoable = 1 AND state = ? "
                f"ORDER BY id {order} LIMIT 1", (from_state,)
            ).fetchone()
            if row is None:
                break
            _restore(tx, row[0], side)
            tx.conn.execute("UPDATE journal SET state = ? WHERE id = ?", (to_state, row[0]))
        done.append(entry(ws, row[0]))
    return done


def _restore(tx: Tx, entry: int, side: str) -> None:
    """Put every value an entry changed back to its `side` ('before' or 'after')."""
    other = "after" if side == "before" else "before"
    c = tx.conn
    fields = [r[0] for r in c.execute(
        "SELECT DISTINCT field FROM journal_changes WHERE entry_id = ?", (entry,))]
    for f in fields:
        if f in MARK_FIELDS:
            write_marks(c, entry, f, side)
        elif f in SCALAR_FIELDS:
            c.execute(
                f"UPDATE records SET {f} = jc.{side} FROM journal_changes jc "
                f"WHERE jc.entry_id = ? AND jc.field = ? AND jc.record_id = records.id",
                (entry, f),
            )
    # Label names must exist before records use them, and go only after no record does.
    c.execute(f"INSERT OR IGNORE INTO label_set(name) SELECT {side} FROM journal_changes "
              f"WHERE entry_id = ? AND field = 'label_set' AND {side} IS NOT NULL", (entry,))
    c.execute(f"DELETE FROM record_labels WHERE (record_id, label) IN (SELECT record_id, "
              f"{other} FROM journal_changes WHERE entry_id = ? AND field = 'label' "
              f"AND {side} IS NULL)", (entry,))
    c.execute(f"INSERT OR IGNORE INTO record_labels(record_id, label) SELECT record_id, "
              f"{side} FROM journal_changes WHERE entry_id = ? AND field = 'label' "
              f"AND {side} IS NOT NULL", (entry,))
    c.execute(f"DELETE FROM label_set WHERE name IN (SELECT {other} FROM journal_changes "
              f"WHERE entry_id = ? AND field = 'label_set' AND {side} IS NULL)", (entry,))
    for record_id, value in c.execute(
        f"SELECT record_id, {side} FROM journal_changes WHERE entry_id = ? "
        f"AND field = 'issues'", (entry,)
    ).fetchall():
        tx.write_issues(record_id, orjson.loads(value))
    for f, value in c.execute(
        f"SELECT field, {side} FROM journal_changes WHERE entry_id = ? "
        f"AND field LIKE 'meta:%'", (entry,)
    ).fetchall():
        tx.write_meta(f[5:], value)


ENTRY_COLS = "id, ts, actor, action, summary, params, n_changes, undoable, state"


def to_entry(row: Sequence[Any]) -> JournalEntry:
    return JournalEntry(row[0], row[1], row[2], row[3], row[4],
                        orjson.loads(row[5]) if row[5] else None, row[6], bool(row[7]),
                        row[8])


def entry(ws: Workspace, entry_id: int) -> JournalEntry:
    row = ws._conn.execute(
        f"SELECT {ENTRY_COLS} FROM journal WHERE id = ?", (entry_id,)).fetchone()
    if row is None:
        raise WorkspaceError(f"no journal entry {entry_id}")
    return to_entry(row)


def log(ws: Workspace, limit: int | None = 20) -> list[JournalEntry]:
    """Journal entries, newest first."""
    return [to_entry(r) for r in ws._conn.execute(
        f"SELECT {ENTRY_COLS} FROM journal ORDER BY id DESC LIMIT ?",
        (-1 if limit is None else limit,))]


def changes(ws: Workspace, entry_id: int) -> list[tuple[int | None, str, Any, Any]]:
    """(record_id, field, before, after) for every value an entry changed."""
    return [(r[0], r[1], r[2], r[3]) for r in ws._conn.execute(
        "SELECT record_id, field, before, after FROM journal_changes WHERE entry_id = ? "
        "ORDER BY rowid", (entry_id,))]
