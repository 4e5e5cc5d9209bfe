"""Marks: the review app's selection for bulk actions. Selection state, not data: committed at
once so it survives a restart, but never journaled (undo and redo do not touch marks, and marking
makes no journal entry)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from curator.workspace.errors import UnknownRecords

if TYPE_CHECKING:
    from curator.workspace.engine import Workspace


def marks(ws: Workspace) -> set[int]:
    """The ids of the marked records."""
    return {r[0] for r in ws._conn.execute("SELECT record_id FROM marks")}


def set_marks(ws: Workspace, ids: Iterable[int], on: bool = True) -> int:
    """Mark (on) or unmark records; returns how many changed. Marking an unknown id is
    refused; unmarking one is not an error (there is nothing to take away)."""
    wanted = [int(i) for i in ids]
    with ws._transaction() as tx:
        c = tx.conn
        if on:
            missing = [i for i in wanted if c.execute(
                "SELECT 1 FROM records WHERE id = ?", (i,)).fetchone() is None]
            if missing:
                raise UnknownRecords(missing)
            before = c.total_changes
            c.executemany("INSERT OR IGNORE INTO marks(record_id) VALUES (?)",
                          ((i,) for i in wanted))
        else:
            before = c.total_changes
            c.executemany("DELETE FROM marks WHERE record_id = ?", ((i,) for i in wanted))
        return c.total_changes - before


def clear_marks(ws: Workspace) -> int:
    """Unmark every record; returns how many were marked."""
    with ws._transaction() as tx:
        return tx.conn.execute("DELETE FROM marks").rowcount
