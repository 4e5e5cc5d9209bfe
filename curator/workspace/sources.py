"""Import's side of the store: one `sources` row per imported file, its records inserted batch by
batch (each batch one commit, the row's totals with it, so after a kill it says how far the
import got). Called by curator.workspace.importer; imports are journaled but not undoable."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from curator.workspace.journal import now
from curator.workspace.records import NewRecord

if TYPE_CHECKING:
    from curator.workspace.engine import Workspace


def begin_import(ws: Workspace, path: str, *, meta: Mapping[str, str | None] | None = None) -> int:
    """Journal an import of one file and open its `sources` row; returns the import id.

    `meta` (workspace keys such as `workspace.target`) is written in the same commit, as
    part of the import's entry, which undo skips: an import's settings are not undone."""
    with ws._transaction() as tx:
        entry = tx.entry("import", f"import {path}: started", {"path": path},
                         undoable=False)
        for key, value in (meta or {}).items():
            tx.set_meta(entry, key, value)
        tx.conn.execute(
            "INSERT INTO sources(path, rows, new, already_present, rejected, import_id, "
            "imported_at) VALUES (?, 0, 0, 0, 0, ?, ?)", (path, entry, now()))
        return entry


def import_batch(ws: Workspace, import_id: int, records: Sequence[NewRecord],
                 totals: Mapping[str, int]) -> list[bool]:
    """Insert one batch in one transaction; True for each record that was new (a record
    whose uid is already present is left as it is). `totals` (rows, new, already_present,
    rejected so far, this batch included) go into the `sources` row in the same commit, so
    after a kill it says exactly how far the import got."""
    stamp = now()
    is_new: list[bool] = []
    with ws._transaction() as tx:
        c = tx.conn
        for r in records:
            cur = c.execute(
                "INSERT OR IGNORE INTO records(uid, source_file, source_line, example_index, "
                "raw, format, canonical, status, reason, tokens_total, tokens_trained, "
                "import_id, created, kind, tokens_sides) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (r.uid, r.source_file, r.source_line, r.example_index, r.raw, r.format,
                 r.canonical, r.status, r.reason, r.tokens_total, r.tokens_trained,
                 import_id, stamp, r.kind, r.tokens_sides),
            )
            new = cur.rowcount == 1
            is_new.append(new)
            if new and r.issues:
                c.executemany(
                    "INSERT INTO issues(record_id, code, severity, message_index, path, "
                    "message, hint) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [(cur.lastrowid, i.code, i.severity, i.message_index, i.path,
                      i.message, i.hint) for i in r.issues],
                )
        c.execute(
            "UPDATE sources SET rows = ?, new = ?, already_present = ?, rejected = ? "
            "WHERE import_id = ?",
            (totals["rows"], totals["new"] + sum(is_new),
             totals["already_present"] + len(is_new) - sum(is_new),
             totals["rejected"] + sum(1 for r, n in zip(records, is_new, strict=True)
                                      if n and r.status == "rejected"),
             import_id),
        )
    return is_new


def finish_import(ws: Workspace, import_id: int, sha256: str | None, size: int | None,
                  summary: str, new: int) -> None:
    with ws._transaction() as tx:
        tx.conn.execute(
            "UPDATE sources SET sha256 = ?, size = ?, complete = 1 WHERE import_id = ?",
            (sha256, size, import_id))
        tx.conn.execute("UPDATE journal SET summary = ?, n_changes = ? WHERE id = ?",
                        (summary, new, import_id))


def sources(ws: Workspace) -> list[dict[str, Any]]:
    cols = ("path", "sha256", "size", "rows", "new", "already_present", "rejected",
            "complete", "import_id", "imported_at")
    return [dict(zip(cols, r, strict=True)) for r in ws._conn.execute(
        f"SELECT {', '.join(cols)} FROM sources ORDER BY id")]
