"""One open write transaction and the journal primitives every mutating operation writes through.

`Workspace._transaction()` yields a `Tx`: the connection inside `BEGIN IMMEDIATE`, the actor
whose name goes into the journal, and the chunk size of the bulk paths (`Workspace.BULK_CHUNK`,
read each time a transaction opens). An operation opens one entry (`entry`), changes records
through the temp tables `_sel` (the chosen ids) and `_vals` (a value per id) so that every value
that differs is written to `journal_changes` first, and closes it (`finish`), which counts the
changes, drops an empty entry and cuts the redo branch. Undo and redo (history.py) read those
rows back.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

import orjson

from curator.issues import Issue
from curator.workspace.errors import UnknownRecords, WorkspaceError
from curator.workspace.filters import compile_filters, uses_search
from curator.workspace.meta import write_meta
from curator.workspace.records import MARK_FIELDS, SCALAR_FIELDS, Change
from curator.workspace.search import index_upto, max_id

_ISSUE_KEYS = ("code", "severity", "message_index", "path", "message", "hint")


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def dumps(obj: Any) -> str:
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS).decode()


def issue_dicts(issues: Iterable[Issue]) -> list[dict[str, Any]]:
    return [
        {"code": i.code, "severity": i.severity, "message_index": i.message_index,
         "path": i.path, "message": i.message, "hint": i.hint}
        for i in issues
    ]


def issues_of(conn: sqlite3.Connection, record_id: int) -> list[dict[str, Any]]:
    """A record's issues as dicts, in the order they were stored."""
    rows = conn.execute(
        "SELECT code, severity, message_index, path, message, hint FROM issues "
        "WHERE record_id = ? ORDER BY id", (record_id,)
    ).fetchall()
    return [dict(zip(_ISSUE_KEYS, row, strict=True)) for row in rows]


def write_marks(conn: sqlite3.Connection, entry: int, column: str, side: str) -> int:
    """Set mark `column` (one of MARK_FIELDS) of every record that journal entry `entry`
    changed it on to the change's `side` ('before' or 'after'): apply, undo and redo alike.
    An upsert into the narrow `record_marks` table, never a rewrite of the record's row."""
    if column not in MARK_FIELDS or side not in ("before", "after"):
        raise ValueError(f"not a mark field: {column}")
    return conn.execute(
        f"INSERT INTO record_marks(record_id, {column}) SELECT record_id, {side} "
        f"FROM journal_changes WHERE entry_id = ? AND field = ? "
        f"ON CONFLICT(record_id) DO UPDATE SET {column} = excluded.{column}",
        (entry, column),
    ).rowcount


class Tx:
    """One open write transaction (see the module's docstring); made by Workspace._transaction."""

    __slots__ = ("actor", "chunk", "conn")

    def __init__(self, conn: sqlite3.Connection, actor: str, chunk: int) -> None:
        self.conn = conn
        self.actor = actor
        #: records changed per step by the bulk paths that report progress
        self.chunk = chunk

    def entry(self, action: str, summary: str, params: Mapping[str, Any] | None,
              undoable: bool = True) -> int:
        """Open a journal entry; returns its id."""
        cur = self.conn.execute(
            "INSERT INTO journal(ts, actor, action, summary, params, undoable) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (now(), self.actor, action, summary,
             dumps(dict(params)) if params is not None else None, int(undoable)),
        )
        assert cur.lastrowid is not None
        return cur.lastrowid

    def finish(self, entry: int, action: str, selected: int, summary: str,
               changed: int | None = None) -> Change:
        """Close a journal entry: count its changes, drop it if empty, cut the redo branch.
        `changed`: the count when the caller knows it (the distinct record ids of the entry's
        rows, the rows of no record counting as one), instead of reading every row back."""
        if changed is None:
            changed = self.conn.execute(
                "SELECT count(DISTINCT coalesce(record_id, -1)) FROM journal_changes "
                "WHERE entry_id = ?", (entry,)
            ).fetchone()[0]
        summary = summary.replace("{n}", str(changed))
        if not changed:
            self.conn.execute("DELETE FROM journal WHERE id = ?", (entry,))
            return Change(None, action, selected, 0, summary)
        self.conn.execute(
            "UPDATE journal SET n_changes = ?, summary = ? WHERE id = ?", (changed, summary, entry)
        )
        self.conn.execute("UPDATE journal SET state = 'discarded' WHERE state = 'undone'")
        return Change(entry, action, selected, changed, summary)

    def select(self, ids: Iterable[int] | None, where: Sequence[str] | None) -> int:
        """Fill temp table _sel with the chosen record ids; return how many."""
        if ids is None and where is None:
            raise WorkspaceError("nothing selected: give record ids or filters (where=[] = all)")
        c = self.conn
        if where and uses_search(where):
            index_upto(self.conn, max_id(self.conn))
        c.execute("DELETE FROM _sel")
        if ids is not None:
            c.executemany("INSERT OR IGNORE INTO _sel(id) VALUES (?)", ((int(i),) for i in ids))
            missing = [r[0] for r in c.execute(
                "SELECT id FROM _sel WHERE id NOT IN (SELECT id FROM records) ORDER BY id"
            )]
            if missing:
                raise UnknownRecords(missing)
            if where:
                sql, params = compile_filters(where)
                c.execute(
                    f"DELETE FROM _sel WHERE id NOT IN (SELECT r.id FROM records r WHERE {sql})",
                    params,
                )
        else:
            sql, params = compile_filters(where or [])
            c.execute(f"INSERT INTO _sel(id) SELECT r.id FROM records r WHERE {sql}", params)
        return int(c.execute("SELECT count(*) FROM _sel").fetchone()[0])

    def apply_vals(self, entry: int, column: str) -> int:
        """Set records.<column> from temp table _vals, journaling each value that differs."""
        if column not in SCALAR_FIELDS:
            raise ValueError(f"not a changeable field: {column}")
        c = self.conn
        if column in MARK_FIELDS:
            # a mark lives in the narrow table (no row: NULL); ids that are no record are
            # left out, as the join with records does below (`+id`: read from an index of
            # records, never each wide row's page)
            c.execute(
                f"INSERT INTO journal_changes(entry_id, record_id, field, before, after) "
                f"SELECT ?, v.id, ?, m.{column}, v.value FROM _vals v "
                f"LEFT JOIN record_marks m ON m.record_id = v.id "
                f"WHERE m.{column} IS NOT v.value AND v.id IN (SELECT +id FROM records)",
                (entry, column),
            )
            return write_marks(c, entry, column, "after")
        c.execute(
            f"INSERT INTO journal_changes(entry_id, record_id, field, before, after) "
            f"SELECT ?, r.id, ?, r.{column}, v.value FROM _vals v JOIN records r ON r.id = v.id "
            f"WHERE r.{column} IS NOT v.value",
            (entry, column),
        )
        return c.execute(
            f"UPDATE records SET {column} = jc.after FROM journal_changes jc "
            f"WHERE jc.entry_id = ? AND jc.field = ? AND jc.record_id = records.id",
            (entry, column),
        ).rowcount

    def set_selected(self, entry: int, column: str, value: Any) -> int:
        self.conn.execute("DELETE FROM _vals")
        self.conn.execute("INSERT INTO _vals(id, value) SELECT id, ? FROM _sel", (value,))
        return self.apply_vals(entry, column)

    def sel_chunks(self) -> Iterator[tuple[int, int, int]]:
        """(after, upto, count): consecutive id ranges of _sel, `chunk` ids each."""
        after = -(2**63)
        while True:
            upto, count = self.conn.execute(
                "SELECT max(id), count(*) FROM (SELECT id FROM _sel WHERE id > ? ORDER BY id "
                "LIMIT ?)", (after, self.chunk)).fetchone()
            if not count:
                return
            yield after, upto, count
            after = upto

    def set_selected_chunked(self, entry: int, values: Mapping[str, Any], selected: int,
                             progress: Callable[[int, int], None]) -> dict[str, int]:
        """Set columns of the selected records chunk by chunk, journaled as apply_vals does
        (every record and primary-key range reads, so each chunk costs what it changes)."""
        c = self.conn
        changed = dict.fromkeys(values, 0)
        done = 0
        progress(0, selected)
        for after, upto, count in self.sel_chunks():
            for column, value in values.items():
                if column not in SCALAR_FIELDS:
                    raise ValueError(f"not a changeable field: {column}")
                c.execute(
                    f"INSERT INTO journal_changes(entry_id, record_id, field, before, after) "
                    f"SELECT ?, r.id, ?, r.{column}, ? FROM _sel s JOIN records r ON r.id = s.id "
                    f"WHERE s.id > ? AND s.id <= ? AND r.{column} IS NOT ?",
                    (entry, column, value, after, upto, value))
                changed[column] += c.execute(
                    f"UPDATE records SET {column} = ? WHERE id IN "
                    f"(SELECT id FROM _sel WHERE id > ? AND id <= ?) AND {column} IS NOT ?",
                    (value, after, upto, value)).rowcount
            done += count
            progress(done, selected)
        return changed

    # -- one record at a time (the review app's keys) ----------------------------------------
    #
    # The generic paths above select through a temp table and UPDATE ... FROM journal_changes,
    # which the planner answers with a scan of `records` (~90 ms at 1M records). A key press in
    # the review app touches one record: these write it by primary key, journaled the same way,
    # so undo / redo / log treat them exactly like the bulk actions.

    def one(self, record_id: int, columns: Sequence[str]) -> tuple[Any, ...]:
        # the marks (split, cluster_id, dup_of, similarity) resolve from record_marks
        row = self.conn.execute(
            f"SELECT {', '.join(columns)} FROM records LEFT JOIN record_marks "
            f"ON record_marks.record_id = records.id WHERE id = ?", (record_id,)).fetchone()
        if row is None:
            raise UnknownRecords([record_id])
        return tuple(row)

    def set_one(self, entry: int, record_id: int, values: Mapping[str, Any],
                before: Sequence[Any]) -> int:
        changed = [(k, b, v) for (k, v), b in zip(values.items(), before, strict=True)
                   if b != v]
        for k, b, v in changed:
            if k not in SCALAR_FIELDS:
                raise ValueError(f"not a changeable field: {k}")
            self.conn.execute(
                "INSERT INTO journal_changes(entry_id, record_id, field, before, after) "
                "VALUES (?, ?, ?, ?, ?)", (entry, record_id, k, b, v))
        row = [(k, v) for k, _, v in changed if k not in MARK_FIELDS]
        if row:
            self.conn.execute(
                f"UPDATE records SET {', '.join(f'{k} = ?' for k, _ in row)} "
                f"WHERE id = ?", [*(v for _, v in row), record_id])
        for k, v in ((k, v) for k, _, v in changed if k in MARK_FIELDS):
            self.conn.execute(
                f"INSERT INTO record_marks(record_id, {k}) VALUES (?, ?) "
                f"ON CONFLICT(record_id) DO UPDATE SET {k} = excluded.{k}", (record_id, v))
        return len(changed)

    def finish_one(self, entry: int, action: str, summary: str, changed: bool) -> Change:
        if not changed:
            self.conn.execute("DELETE FROM journal WHERE id = ?", (entry,))
            return Change(None, action, 1, 0, summary)
        self.conn.execute("UPDATE journal SET n_changes = 1, summary = ? WHERE id = ?",
                          (summary, entry))
        self.conn.execute("UPDATE journal SET state = 'discarded' WHERE state = 'undone'")
        return Change(entry, action, 1, 1, summary)

    def replace_issues(self, entry: int, record_id: int, after: list[dict[str, Any]]) -> None:
        before = self.issues_of(record_id)
        if before == after:
            return
        self.conn.execute(
            "INSERT INTO journal_changes(entry_id, record_id, field, before, after) "
            "VALUES (?, ?, 'issues', ?, ?)", (entry, record_id, dumps(before), dumps(after))
        )
        self.write_issues(record_id, after)

    def issues_of(self, record_id: int) -> list[dict[str, Any]]:
        return issues_of(self.conn, record_id)

    def write_issues(self, record_id: int, issues: list[dict[str, Any]]) -> None:
        self.conn.execute("DELETE FROM issues WHERE record_id = ?", (record_id,))
        self.conn.executemany(
            "INSERT INTO issues(record_id, code, severity, message_index, path, message, hint) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(record_id, i["code"], i["severity"], i["message_index"], i["path"], i["message"],
              i["hint"]) for i in issues],
        )

    def set_meta(self, entry: int, key: str, value: str | None) -> None:
        """Set (None: delete) a meta key as part of journal entry `entry` (undo restores it)."""
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        before = row[0] if row else None
        if before == value:
            return
        self.conn.execute(
            "INSERT INTO journal_changes(entry_id, record_id, field, before, after) "
            "VALUES (?, NULL, ?, ?, ?)", (entry, f"meta:{key}", before, value)
        )
        self.write_meta(key, value)

    def write_meta(self, key: str, value: str | None) -> None:
        """Set (None: delete) a meta key without journaling it (derived state, or a restore)."""
        write_meta(self.conn, key, value)
