"""The workspace: one SQLite file holding every record, every decision and the journal behind undo.

Durability. The file runs in WAL mode with `synchronous=FULL`: every COMMIT fsyncs the WAL before
it returns, so a decision the user saw committed survives a kill -9 *and* a power cut. (NORMAL
would survive a kill but may lose the last commits on power loss; the cost of FULL is one fsync
per action, or per 5,000-row batch on import, which is noise.)

Writers. Each mutating call is one transaction that writes the change and its journal rows
together. Before `BEGIN IMMEDIATE` a writer takes an advisory `flock` on `<file>.lock` and writes
its pid and command line into it, so a second writer waits up to `lock_timeout` seconds and then
fails with a message naming the holder. The kernel drops the lock when a process dies, so a
killed writer never leaves a stale lock. SQLite's own `busy_timeout` stays as the second guard
against writers that are not curator. Readers never wait (WAL).

Undo. The journal is linear. `undo` reverts the newest entry in state `done`; `redo` re-applies
the oldest entry in state `undone`. A new change after an undo marks every `undone` entry
`discarded`: the redo branch is gone, but its entries stay in the log (nothing is deleted).
Imports are journaled for history but are not undoable (undo skips them); they only add records,
so they never conflict with the values that undo and redo restore.

Threads. A `Workspace` may be handed between threads but not used by two at once; a UI should
open one `Workspace` per worker thread (WAL lets them all read while one writes).

The file itself. Nothing here opens the database file, its -wal or -shm other than through
SQLite: on POSIX, closing any descriptor of a file drops every lock the process holds on it,
and another process's last connection may then delete the WAL that holds this process's
commits. "Is this a workspace" is asked of SQLite (`is_sqlite_file`, `Workspace.open`) and the
pre-upgrade copy is made with the backup API. SQLite errors about the file or the disk (read-only
file, a folder where -wal/-shm cannot be created, a full disk) become one-line WorkspaceErrors
(`file_error`); docs/workspace-files.md lists them.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import curator.workspace.history as _history
import curator.workspace.reads as _reads
import curator.workspace.search as _search
from curator import __version__
from curator.issues import Issue
from curator.workspace.errors import (
    SQLITE_NOTADB,
    SQLITE_PERM,
    SQLITE_READONLY,
    EditRefused,
    NotAWorkspace,
    SchemaTooNew,
    UnknownRecords,
    WorkspaceBusy,
    WorkspaceError,
    WorkspaceNotFound,
    WorkspaceReadOnly,
    file_error,
    sqlite_code,
)
from curator.workspace.filters import check_filter_names as _check_filter_names
from curator.workspace.journal import Tx, dumps, issue_dicts, now
from curator.workspace.lock import WriteLock
from curator.workspace.meta import read_meta, read_meta_json
from curator.workspace.migrations import MIGRATIONS, SCHEMA_VERSION
from curator.workspace.records import (
    HOLDOUT,
    STATUSES,
    Change,
    DuplicateCluster,
    NewRecord,
)

# --- the workspace ---------------------------------------------------------------------------


def is_sqlite_file(path: str | os.PathLike[str]) -> bool:
    """Whether `path` is a SQLite database (an empty file is not), asked of SQLite.

    The file is never opened outside SQLite: closing a descriptor of a database file drops
    every lock this process holds on it, which lets another process delete the WAL that holds
    this process's commits ("How To Corrupt An SQLite Database File", section 2.2)."""
    p = Path(path)
    try:
        if not p.is_file() or not p.stat().st_size:
            return False
        conn = sqlite3.connect(f"{p.resolve().as_uri()}?mode=ro", uri=True)
    except (OSError, ValueError, sqlite3.Error):
        return False
    try:
        conn.execute("PRAGMA schema_version").fetchone()
        return True
    except sqlite3.Error as exc:
        # a database SQLite cannot open now (busy, folder read-only) is still a database
        return sqlite_code(exc) not in (SQLITE_NOTADB, None)
    finally:
        conn.close()


class Workspace:
    """One open workspace file. Open with `Workspace.open`; close with `close()` or `with`."""

    def __init__(self, path: Path, conn: sqlite3.Connection, actor: str, lock_timeout: float):
        self.path = path
        self.actor = actor
        self.lock_timeout = lock_timeout
        self._conn = conn
        self._lock = WriteLock(Path(f"{path}.lock"))
        self._mutex = threading.RLock()
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS _sel (id INTEGER PRIMARY KEY)")
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS _vals (id INTEGER PRIMARY KEY, value)")

    # -- opening -------------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        create: bool = False,
        actor: str | None = None,
        lock_timeout: float = 10.0,
    ) -> Workspace:
        """Open (and with `create=True`, create) a workspace, migrating an older schema in place.

        Before migrating a workspace that holds data, a copy is written to `<file>.v<N>.bak`.
        Raises WorkspaceNotFound, NotAWorkspace, SchemaTooNew or WorkspaceBusy.
        """
        p = Path(path)
        if p.is_dir():
            raise NotAWorkspace(f"{p} is a directory; a workspace is one file, e.g. {p}/work.db")
        if not p.exists():
            if not create:
                raise WorkspaceNotFound(
                    f"no workspace at {p}; create one with: curator import FILE -w {p}"
                )
            try:
                p.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise WorkspaceReadOnly(
                    f"cannot create workspace {p}: cannot create its folder "
                    f"({exc.strerror or exc})") from None
        # Never open() the file (or its -wal, -shm) to look at it: closing that descriptor
        # would drop this process's SQLite locks on it (see is_sqlite_file). SQLite itself
        # says "not a database" below.
        try:
            conn = sqlite3.connect(
                p, isolation_level=None, timeout=lock_timeout, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise file_error(exc, p) or NotAWorkspace(
                f"{p} cannot be opened as a workspace: {exc}") from None
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(lock_timeout * 1000)}")
            conn.execute("PRAGMA foreign_keys = ON")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise SchemaTooNew(
                    f"{p} was written by a newer curator (workspace schema v{version}; this "
                    f"curator {__version__} knows up to v{SCHEMA_VERSION}). Upgrade curator; "
                    f"the file was not touched."
                )
            if version == 0 and conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                raise NotAWorkspace(f"{p} is a SQLite file but not a curator workspace")
            if version and conn.execute(
                "SELECT value FROM meta WHERE key = 'application'"
            ).fetchone() != ("curator",):
                raise NotAWorkspace(f"{p} is a SQLite file but not a curator workspace")
            if 0 < version < SCHEMA_VERSION and not os.access(p, os.W_OK):
                raise WorkspaceReadOnly(
                    f"workspace {p} is read-only and in an older format (schema v{version}) "
                    f"that this curator must upgrade first: make it writable once (chmod u+w "
                    f"{p}); the old file is kept as {p.name}.v{version}.bak. Nothing was changed")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            ws = cls(p, conn, actor or _default_actor(), lock_timeout)
            if version < SCHEMA_VERSION:
                ws._migrate(version)
            return ws
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise file_error(exc, p) or NotAWorkspace(
                f"{p} cannot be opened as a workspace: {exc}") from exc
        except BaseException:
            conn.close()
            raise

    def _migrate(self, version: int) -> None:
        if version:
            backup = Path(f"{self.path}.v{version}.bak")
            if not backup.exists():
                # SQLite's backup API (never a file copy: see is_sqlite_file), into a temporary
                # name renamed at the end, so that a killed upgrade leaves no half backup.
                tmp = Path(f"{backup}.tmp")
                try:
                    tmp.unlink(missing_ok=True)
                    dst = sqlite3.connect(tmp)
                    try:
                        self._conn.backup(dst)
                    finally:
                        dst.close()
                    os.replace(tmp, backup)
                except sqlite3.Error as exc:
                    tmp.unlink(missing_ok=True)
                    raise file_error(exc, backup) or WorkspaceError(
                        f"cannot write the backup {backup} before upgrading {self.path}: {exc}"
                    ) from None
                except OSError as exc:
                    tmp.unlink(missing_ok=True)
                    raise WorkspaceReadOnly(
                        f"cannot write the backup {backup} before upgrading {self.path} "
                        f"({exc.strerror or exc}); nothing was changed") from None
        with self._transaction():
            # Another process may have migrated while we waited for the lock.
            version = self._conn.execute("PRAGMA user_version").fetchone()[0]
            for number in range(version + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[number - 1]:
                    self._conn.execute(statement)
                self._conn.execute(f"PRAGMA user_version = {number}")
            stamp = now()
            self._conn.executemany(
                "INSERT INTO meta(key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [("application", "curator"), ("schema_version", str(SCHEMA_VERSION)),
                 ("migrated_by", __version__), ("migrated_at", stamp)],
            )
            self._conn.execute(
                "INSERT OR IGNORE INTO meta(key, value) VALUES ('created', ?)", (stamp,)
            )

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    @property
    def connection(self) -> sqlite3.Connection:
        """The raw connection, for read-only queries (reports, export). Never write through it."""
        return self._conn

    # -- transactions --------------------------------------------------------------------------

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Tx]:
        """One write transaction (BEGIN IMMEDIATE under the write lock), committed when the block
        ends, rolled back on any exception; yields the `Tx` the operations write through."""
        with self._mutex:
            self._lock.acquire(self.lock_timeout)
            try:
                try:
                    self._conn.execute("BEGIN IMMEDIATE")
                except sqlite3.OperationalError as exc:
                    raise file_error(exc, self.path) or WorkspaceBusy(
                        f"workspace {self.path} is locked by another program ({exc})"
                    ) from exc
                try:
                    yield Tx(self._conn, self.actor, self.BULK_CHUNK)
                    self._conn.execute("COMMIT")
                except BaseException as exc:
                    self._rollback()
                    if isinstance(exc, sqlite3.Error):
                        mapped = file_error(exc, self.path)
                        if mapped is not None:
                            raise mapped from exc
                    raise
            finally:
                self._lock.release()

    def _rollback(self) -> None:
        """Roll back the open transaction, if SQLite has not already (it does on a full disk
        or an I/O error); the error that led here is the one to report, never this one."""
        if self._conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("ROLLBACK")

    #: records changed per step by the bulk paths that report progress
    BULK_CHUNK: ClassVar[int] = 20_000

    # -- decisions -----------------------------------------------------------------------------

    def set_status(
        self,
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
        with self._transaction() as tx:
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

    def set_note(self, record_id: int, note: str | None) -> Change:
        """Set (or with None, clear) a record's free-text note."""
        with self._transaction() as tx:
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

    def set_status_one(self, record_id: int, status: str, reason: str | None = None) -> Change:
        """Accept, reject or reset one record (the review app's keys); journaled, undoable."""
        if status not in STATUSES:
            raise WorkspaceError(f"unknown status {status!r}; choose {', '.join(STATUSES)}")
        action = {"accepted": "accept", "rejected": "reject", "pending": "reset"}[status]
        with self._transaction() as tx:
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

    def set_note_one(self, record_id: int, note: str | None) -> Change:
        """Set (None or "": clear) one record's note by primary key."""
        with self._transaction() as tx:
            before = tx.one(record_id, ("note",))
            summary = f"note on record {record_id}" + (" cleared" if not note else " set")
            if before[0] == (note or None):
                return Change(None, "note", 1, 0, summary)
            entry = tx.entry("note", "", {"record": record_id})
            n = tx.set_one(entry, record_id, {"note": note or None}, before)
            return tx.finish_one(entry, "note", summary, n > 0)

    def set_label_one(self, record_id: int, label: str, on: bool) -> Change:
        """Put a label (from the label set) on one record, or take it off."""
        action = "label" if on else "unlabel"
        with self._transaction() as tx:
            self._require_labels([label])
            tx.one(record_id, ("id",))
            has = self._conn.execute(
                "SELECT 1 FROM record_labels WHERE record_id = ? AND label = ?",
                (record_id, label)).fetchone() is not None
            verb = "added" if on else "removed"
            if on == has:
                return Change(None, action, 1, 0,
                              f"{action}: {verb} {label} on record {record_id}")
            entry = tx.entry(action, "", {"labels": [label], "record": record_id})
            if on and not has:
                self._conn.execute(
                    "INSERT INTO journal_changes(entry_id, record_id, field, before, after) "
                    "VALUES (?, ?, 'label', NULL, ?)", (entry, record_id, label))
                self._conn.execute("INSERT INTO record_labels(record_id, label) VALUES (?, ?)",
                                   (record_id, label))
            elif not on and has:
                self._conn.execute(
                    "INSERT INTO journal_changes(entry_id, record_id, field, before, after) "
                    "VALUES (?, ?, 'label', ?, NULL)", (entry, record_id, label))
                self._conn.execute(
                    "DELETE FROM record_labels WHERE record_id = ? AND label = ?",
                    (record_id, label))
            return tx.finish_one(entry, action, f"{action}: {verb} {label} on record "
                                    f"{record_id}", on != has)

    # -- marks (the review app's selection for bulk actions) -----------------------------------
    #
    # Selection state, not data: committed at once so it survives a restart, but never
    # journaled (undo and redo do not touch marks, and marking makes no journal entry).

    def marks(self) -> set[int]:
        """The ids of the marked records."""
        return {r[0] for r in self._conn.execute("SELECT record_id FROM marks")}

    def set_marks(self, ids: Iterable[int], on: bool = True) -> int:
        """Mark (on) or unmark records; returns how many changed. Marking an unknown id is
        refused; unmarking one is not an error (there is nothing to take away)."""
        wanted = [int(i) for i in ids]
        with self._transaction():
            c = self._conn
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

    def clear_marks(self) -> int:
        """Unmark every record; returns how many were marked."""
        with self._transaction():
            return self._conn.execute("DELETE FROM marks").rowcount

    # -- the search index (search.py) ----------------------------------------------------------

    search_index_pending = _search.search_index_pending
    build_search_index = _search.build_search_index

    # -- checkpoints (an interactive writer moves them off the key path) -----------------------

    def defer_checkpoints(self) -> None:
        """Stop this connection from checkpointing the WAL inside its own commits.

        SQLite's automatic checkpoint runs in whichever commit crosses 1,000 WAL pages and
        copies those pages into the main file and fsyncs it: on a big workspace on a busy disk
        that one key press can take seconds. The review app calls this and runs `checkpoint`
        from a background thread instead. Durability is the same: every commit still fsyncs
        the WAL before it returns."""
        self._conn.execute("PRAGMA wal_autocheckpoint = 0")

    def checkpoint(self) -> tuple[int, int, int]:
        """A PASSIVE checkpoint (never waits for, never blocks readers or the writer);
        returns SQLite's (busy, WAL pages, pages checkpointed). On a read-only workspace
        there is nothing this process may checkpoint: (0, 0, 0), not an error (the review app
        checkpoints as it closes, and opens a read-only workspace to read it)."""
        try:
            row = self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.OperationalError as exc:
            if sqlite_code(exc) in (SQLITE_READONLY, SQLITE_PERM):
                return 0, 0, 0
            raise
        return int(row[0]), int(row[1]), int(row[2])

    # -- the search index --------------------------------------------------------------------

    def edit(
        self,
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
        with self._transaction() as tx:
            tx.select([record_id], None)
            canonical = self._conn.execute(
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
            return tx.finish(entry, "edit", 1, f"edit record {record_id}")

    # -- labels --------------------------------------------------------------------------------

    #: meta key: the label set's order as the user last gave it (a JSON list of names)
    LABEL_ORDER: ClassVar[str] = "labels.order"

    check_filter_names = _check_filter_names
    def labels(self) -> list[tuple[str, int]]:
        """The label set with how many records carry each label, in the order the user gave
        (the review app's keys 1-9 follow it): the order last set (`set_label_set`), then
        names added since, in the order they were added."""
        rows = [(r[0], r[1]) for r in self._conn.execute(
            "SELECT s.name, (SELECT count(*) FROM record_labels l WHERE l.label = s.name) "
            "FROM label_set s ORDER BY s.rowid"
        )]
        rank = {name: i for i, name in enumerate(self._label_order())}
        return sorted(rows, key=lambda r: rank.get(r[0], len(rank)))

    def _label_order(self) -> list[str]:
        order = self.meta_json(self.LABEL_ORDER)
        if not isinstance(order, list):
            return []
        return [n for n in order if isinstance(n, str)]

    def _pin_label_order(self, tx: Tx) -> list[str]:
        """Write down the order shown now, before the label set changes (not journaled: it
        changes nothing shown), so that undo of the change puts back exactly this order, not
        the order names happen to be added back in. Returns it."""
        order = [n for n, _ in self.labels()]
        tx.write_meta(self.LABEL_ORDER, dumps(order))
        return order

    def set_label_set(self, names: Sequence[str]) -> Change:
        """Make the label set exactly `names`, in that order (one journal entry, one undo):
        names not in the set are added, names left out are removed from the set and from every
        record."""
        wanted = list(dict.fromkeys(n.strip() for n in names))
        for n in wanted:
            if not n or "," in n:
                raise WorkspaceError(f"bad label name {n!r}: non-empty, no commas")
        with self._transaction() as tx:
            current = self._pin_label_order(tx)
            entry = tx.entry("labels", "", {"set": wanted})
            added = [n for n in wanted if n not in current]
            removed = [n for n in current if n not in wanted]
            for n in added:
                self._conn.execute(
                    "INSERT INTO journal_changes(entry_id, record_id, field, before, after) "
                    "VALUES (?, NULL, 'label_set', NULL, ?)", (entry, n))
                self._conn.execute("INSERT INTO label_set(name) VALUES (?)", (n,))
            for n in removed:
                self._remove_label_name(tx, entry, n)
            tx.set_meta(entry, self.LABEL_ORDER, dumps(wanted))
            what = [f"added {', '.join(added)}"] if added else []
            what += [f"removed {', '.join(removed)}"] if removed else []
            return tx.finish(entry, "labels", 0, f"label set: {', '.join(wanted) or '(empty)'}"
                                + (f" ({'; '.join(what)})" if what else ""))

    def add_label_names(self, names: Iterable[str]) -> Change:
        """Add names to the workspace's label set."""
        names = [n.strip() for n in names]
        for n in names:
            if not n or "," in n:
                raise WorkspaceError(f"bad label name {n!r}: non-empty, no commas")
        with self._transaction() as tx:
            entry = tx.entry("labels", "", {"add": names})
            self._conn.executemany(
                "INSERT INTO journal_changes(entry_id, record_id, field, before, after) "
                "SELECT ?, NULL, 'label_set', NULL, ? "
                "WHERE NOT EXISTS (SELECT 1 FROM label_set WHERE name = ?)",
                [(entry, n, n) for n in dict.fromkeys(names)],
            )
            self._conn.execute(
                "INSERT INTO label_set(name) SELECT after FROM journal_changes "
                "WHERE entry_id = ? AND field = 'label_set'", (entry,)
            )
            return tx.finish(entry, "labels", 0, f"label set: added {', '.join(names)}")

    def remove_label_names(self, names: Iterable[str]) -> Change:
        """Remove names from the label set, and those labels from every record (undoable)."""
        names = list(dict.fromkeys(names))
        with self._transaction() as tx:
            self._require_labels(names)
            entry = tx.entry("labels", "", {"remove": names})
            order = self._pin_label_order(tx)
            for n in names:
                self._remove_label_name(tx, entry, n)
            # The names left keep their order, and undo puts the removed ones back in theirs.
            tx.set_meta(entry, self.LABEL_ORDER, dumps([n for n in order if n not in names]))
            return tx.finish(entry, "labels", 0, f"label set: removed {', '.join(names)}")

    def _remove_label_name(self, tx: Tx, entry: int, name: str) -> None:
        self._conn.execute(
            "INSERT INTO journal_changes(entry_id, record_id, field, before, after) "
            "SELECT ?, record_id, 'label', label, NULL FROM record_labels WHERE label = ?",
            (entry, name),
        )
        self._conn.execute("DELETE FROM record_labels WHERE label = ?", (name,))
        self._conn.execute(
            "INSERT INTO journal_changes(entry_id, record_id, field, before, after) "
            "VALUES (?, NULL, 'label_set', ?, NULL)", (entry, name)
        )
        self._conn.execute("DELETE FROM label_set WHERE name = ?", (name,))

    def _require_labels(self, names: Sequence[str]) -> None:
        known = {r[0] for r in self._conn.execute("SELECT name FROM label_set")}
        unknown = [n for n in names if n not in known]
        if unknown:
            from curator.textsafe import literal

            def shown(names: Iterable[str]) -> str:  # one line, whatever a name holds
                return ", ".join(literal(n, one_line=True) for n in names)

            raise WorkspaceError(
                f"unknown label {shown(unknown)}; the label set is "
                f"{shown(sorted(known)) or 'empty'}. Add it with: curator labels --add "
                f"{shown(unknown[:1])}"
            )

    def add_labels(self, ids: Iterable[int] | None, labels: Sequence[str], *,
                   where: Sequence[str] | None = None,
                   progress: Callable[[int, int], None] | None = None) -> Change:
        """Put labels (which must be in the label set) on the chosen records.

        `progress` as in set_status: chunks, one transaction, one journal entry."""
        return self._change_labels(ids, labels, where, add=True, progress=progress)

    def remove_labels(self, ids: Iterable[int] | None, labels: Sequence[str], *,
                      where: Sequence[str] | None = None,
                      progress: Callable[[int, int], None] | None = None) -> Change:
        return self._change_labels(ids, labels, where, add=False, progress=progress)

    def _labels_chunked(self, tx: Tx, entry: int, labels: Sequence[str], add: bool, selected: int,
                        progress: Callable[[int, int], None]) -> None:
        c = self._conn
        done = 0
        progress(0, selected)
        for after, upto, count in tx.sel_chunks():
            for label in labels:
                if add:
                    c.execute(
                        "INSERT INTO journal_changes(entry_id, record_id, field, before, after) "
                        "SELECT ?, s.id, 'label', NULL, ? FROM _sel s WHERE s.id > ? AND "
                        "s.id <= ? AND NOT EXISTS (SELECT 1 FROM record_labels l "
                        "WHERE l.record_id = s.id AND l.label = ?)",
                        (entry, label, after, upto, label))
                    c.execute(
                        "INSERT OR IGNORE INTO record_labels(record_id, label) "
                        "SELECT id, ? FROM _sel WHERE id > ? AND id <= ?", (label, after, upto))
                else:
                    c.execute(
                        "INSERT INTO journal_changes(entry_id, record_id, field, before, after) "
                        "SELECT ?, l.record_id, 'label', l.label, NULL FROM record_labels l "
                        "WHERE l.label = ? AND l.record_id IN "
                        "(SELECT id FROM _sel WHERE id > ? AND id <= ?)",
                        (entry, label, after, upto))
                    c.execute(
                        "DELETE FROM record_labels WHERE label = ? AND record_id IN "
                        "(SELECT id FROM _sel WHERE id > ? AND id <= ?)", (label, after, upto))
            done += count
            progress(done, selected)

    def _change_labels(self, ids: Iterable[int] | None, labels: Sequence[str],
                       where: Sequence[str] | None, add: bool,
                       progress: Callable[[int, int], None] | None = None) -> Change:
        labels = list(dict.fromkeys(labels))
        action = "label" if add else "unlabel"
        with self._transaction() as tx:
            self._require_labels(labels)
            selected = tx.select(ids, where)
            entry = tx.entry(action, "", {"labels": labels, "where": list(where or [])})
            c = self._conn
            if progress is not None:
                self._labels_chunked(tx, entry, labels, add, selected, progress)
            for label in labels if progress is None else ():
                if add:
                    c.execute(
                        "INSERT INTO journal_changes(entry_id, record_id, field, before, after) "
                        "SELECT ?, s.id, 'label', NULL, ? FROM _sel s WHERE NOT EXISTS "
                        "(SELECT 1 FROM record_labels l WHERE l.record_id = s.id AND l.label = ?)",
                        (entry, label, label),
                    )
                    c.execute(
                        "INSERT INTO record_labels(record_id, label) SELECT record_id, after "
                        "FROM journal_changes WHERE entry_id = ? AND field = 'label' AND after = ?",
                        (entry, label),
                    )
                else:
                    c.execute(
                        "INSERT INTO journal_changes(entry_id, record_id, field, before, after) "
                        "SELECT ?, l.record_id, 'label', l.label, NULL FROM record_labels l "
                        "WHERE l.label = ? AND l.record_id IN (SELECT id FROM _sel)",
                        (entry, label),
                    )
                    c.execute(
                        "DELETE FROM record_labels WHERE label = ? AND record_id IN "
                        "(SELECT id FROM _sel)", (label,)
                    )
            verb = "added" if add else "removed"
            summary = f"{action}: {verb} {', '.join(labels)} on {{n}} of {selected} records"
            return tx.finish(entry, action, selected, summary)

    def flag_records(
        self,
        label: str,
        flagged: Iterable[int],
        *,
        notes: Mapping[int, str | None] | None = None,
        exclusive: bool = False,
        meta: Mapping[str, str | None] | None = None,
        action: str = "flag",
        summary: str | None = None,
    ) -> Change:
        """Put `label` on the `flagged` records in one undoable journal entry, adding it to the
        label set when new; with `exclusive`, take it off every other record. In the same entry,
        set `notes` (record id -> note, None clears) and workspace `meta` keys.

        For a tool that writes one result back as a whole (the trainer's review queue and its
        `train.last_run`), so that one undo takes all of it back.
        """
        label = label.strip()
        if not label or "," in label:
            raise WorkspaceError(f"bad label name {label!r}: non-empty, no commas")
        c = self._conn
        with self._transaction() as tx:
            selected = tx.select(list(flagged), None)
            entry = tx.entry(action, "", {"label": label, "exclusive": exclusive,
                                             "meta": sorted(meta or {})})
            c.execute(
                "INSERT INTO journal_changes(entry_id, record_id, field, before, after) "
                "SELECT ?, NULL, 'label_set', NULL, ? "
                "WHERE NOT EXISTS (SELECT 1 FROM label_set WHERE name = ?)", (entry, label, label))
            c.execute("INSERT OR IGNORE INTO label_set(name) VALUES (?)", (label,))
            if exclusive:
                c.execute(
                    "INSERT INTO journal_changes(entry_id, record_id, field, before, after) "
                    "SELECT ?, l.record_id, 'label', l.label, NULL FROM record_labels l "
                    "WHERE l.label = ? AND l.record_id NOT IN (SELECT id FROM _sel)",
                    (entry, label))
                c.execute("DELETE FROM record_labels WHERE label = ? AND record_id NOT IN "
                          "(SELECT id FROM _sel)", (label,))
            c.execute(
                "INSERT INTO journal_changes(entry_id, record_id, field, before, after) "
                "SELECT ?, s.id, 'label', NULL, ? FROM _sel s WHERE NOT EXISTS "
                "(SELECT 1 FROM record_labels l WHERE l.record_id = s.id AND l.label = ?)",
                (entry, label, label))
            c.execute("INSERT OR IGNORE INTO record_labels(record_id, label) SELECT id, ? "
                      "FROM _sel", (label,))
            if notes:
                c.execute("DELETE FROM _vals")
                c.executemany("INSERT OR REPLACE INTO _vals(id, value) VALUES (?, ?)",
                              ((int(i), n or None) for i, n in notes.items()))
                missing = [r[0] for r in c.execute(
                    "SELECT id FROM _vals WHERE id NOT IN (SELECT id FROM records) ORDER BY id")]
                if missing:
                    raise UnknownRecords(missing)
                tx.apply_vals(entry, "note")
            for key, value in (meta or {}).items():
                tx.set_meta(entry, key, value)
            return tx.finish(entry, action, selected,
                                summary or f"{action}: {label} on {selected} records")

    # -- dedup and split -----------------------------------------------------------------------

    def mark_duplicates(self, clusters: Iterable[DuplicateCluster],
                        params: Mapping[str, Any] | None = None, *,
                        clear_others: bool = False,
                        meta: Mapping[str, str | None] | None = None) -> Change:
        """Record duplicate clusters: cluster_id = keeper id on all members, dup_of + similarity
        on the non-keepers. Nothing is deleted; statuses are untouched.

        `clear_others` also clears the marks of every record outside these clusters (a fresh
        dedup run replaces the last one); `meta` keys are set. All in one journal entry."""
        c = self._conn
        with self._transaction() as tx:
            c.execute("CREATE TEMP TABLE IF NOT EXISTS _dup "
                      "(id INTEGER PRIMARY KEY, cluster INTEGER, dup_of INTEGER, sim REAL)")
            c.execute("DELETE FROM _dup")

            def rows() -> Iterator[tuple[int, int, int | None, float | None]]:
                for cl in clusters:
                    yield (cl.keeper, cl.keeper, None, None)
                    for dup, sim in cl.duplicates.items():
                        if dup == cl.keeper:
                            raise WorkspaceError(f"record {dup} is its own duplicate")
                        yield (dup, cl.keeper, dup, float(sim))

            try:
                c.executemany("INSERT INTO _dup VALUES (?, ?, ?, ?)",
                              ((r[0], r[1], r[1] if r[2] is not None else None, r[3])
                               for r in rows()))
            except sqlite3.IntegrityError:
                raise WorkspaceError("a record appears in two duplicate clusters") from None
            missing = [r[0] for r in c.execute(
                "SELECT id FROM _dup WHERE id NOT IN (SELECT id FROM records) ORDER BY id")]
            if missing:
                raise UnknownRecords(missing)
            selected = c.execute("SELECT count(*) FROM _dup").fetchone()[0]
            entry = tx.entry("dedup", "", params)
            for column, source in (("cluster_id", "cluster"), ("dup_of", "dup_of"),
                                   ("similarity", "sim")):
                c.execute("DELETE FROM _vals")
                c.execute(f"INSERT INTO _vals(id, value) SELECT id, {source} FROM _dup")
                if clear_others:
                    c.execute(f"INSERT INTO _vals(id, value) SELECT id, NULL FROM records "
                              f"WHERE {column} IS NOT NULL AND id NOT IN (SELECT id FROM _dup)")
                tx.apply_vals(entry, column)
            for key, value in (meta or {}).items():
                tx.set_meta(entry, key, value)
            n_dups = c.execute("SELECT count(*) FROM _dup WHERE dup_of IS NOT NULL").fetchone()[0]
            n_clusters = selected - n_dups
            return tx.finish(entry, "dedup", selected,
                                f"dedup: {n_clusters} clusters, {n_dups} duplicates marked")

    def keep_one(self, cluster_id: int, keeper: int) -> Change:
        """Resolve a duplicate cluster in one undoable step: accept `keeper`, reject every other
        member with the reason "duplicate of <keeper>", and make `keeper` the cluster's keeper
        (no `dup_of`; the others `dup_of` it, with their similarity to it when dedup's cached
        pairs know it). The cluster keeps its id. Afterwards exactly `keeper` is exported."""
        with self._transaction() as tx:
            selected = tx.select(None, [f"cluster={cluster_id}"])
            if not self._conn.execute("SELECT 1 FROM _sel WHERE id = ?", (keeper,)).fetchone():
                raise WorkspaceError(f"record {keeper} is not in duplicate cluster {cluster_id}")
            entry = tx.entry("keep", "", {"cluster": cluster_id, "keeper": keeper})
            c = self._conn
            for column, keep_value, other_value in (
                ("status", "accepted", "rejected"),
                ("reason", None, f"duplicate of {keeper}"),
            ):
                c.execute("DELETE FROM _vals")
                c.execute("INSERT INTO _vals(id, value) SELECT id, CASE WHEN id = ? THEN ? "
                          "ELSE ? END FROM _sel", (keeper, keep_value, other_value))
                tx.apply_vals(entry, column)
            # similarity to the new keeper first (it reads the old dup_of): kept where the
            # record already was its duplicate, else from the cached pair, else the old
            # keeper's similarity to the new one, else unknown
            c.execute("DELETE FROM _vals")
            c.execute(
                "INSERT INTO _vals(id, value) SELECT r.id, CASE WHEN r.id = :k THEN NULL "
                "WHEN r.similarity IS NOT NULL AND r.dup_of = :k THEN r.similarity ELSE coalesce("
                "(SELECT p.similarity FROM dedup_pairs p WHERE p.a = min(r.id, :k) "
                "AND p.b = max(r.id, :k)), "
                "(SELECT k.similarity FROM records k WHERE k.id = :k AND k.dup_of = r.id)) END "
                "FROM _sel s JOIN records r ON r.id = s.id", {"k": keeper})
            tx.apply_vals(entry, "similarity")
            # then the chosen record stops being a duplicate; the others are duplicates of it
            c.execute("DELETE FROM _vals")
            c.execute("INSERT INTO _vals(id, value) SELECT id, CASE WHEN id = ? THEN NULL "
                      "ELSE ? END FROM _sel", (keeper, keeper))
            tx.apply_vals(entry, "dup_of")
            return tx.finish(entry, "keep", selected,
                                f"keep record {keeper} of cluster {cluster_id}, reject "
                                f"{selected - 1} duplicates")

    def save_dedup_pairs(self, key: str, pairs: Iterable[tuple[int, int, float, bool]]) -> None:
        """Replace the cached duplicate pairs (a, b, similarity, exact) and the key (meta
        `dedup.cache`) saying which content and settings they hold for. Not journaled."""
        with self._transaction() as tx:
            self._conn.execute("DELETE FROM dedup_pairs")
            self._conn.executemany(
                "INSERT OR REPLACE INTO dedup_pairs(a, b, similarity, exact) VALUES (?, ?, ?, ?)",
                ((min(a, b), max(a, b), float(s), int(e)) for a, b, s, e in pairs))
            tx.write_meta("dedup.cache", key)

    def dedup_pairs(self) -> list[tuple[int, int, float, bool]]:
        """The cached pairs (see save_dedup_pairs), a < b."""
        return [(a, b, s, bool(e)) for a, b, s, e in self._conn.execute(
            "SELECT a, b, similarity, exact FROM dedup_pairs ORDER BY a, b")]

    def clear_duplicates(self, ids: Iterable[int] | None = None, *,
                         where: Sequence[str] | None = None) -> Change:
        """Clear cluster / dup_of / similarity on the chosen records (all records by default)."""
        with self._transaction() as tx:
            selected = tx.select(ids, where if (ids is not None or where is not None) else [])
            entry = tx.entry("undedup", "", {"where": list(where or [])})
            for column in ("cluster_id", "dup_of", "similarity"):
                tx.set_selected(entry, column, None)
            return tx.finish(entry, "undedup", selected, "duplicate marks cleared")

    def set_splits(self, assignment: Mapping[int, str | None] | Iterable[tuple[int, str | None]],
                   params: Mapping[str, Any] | None = None, *,
                   allow_holdout_move: bool = False,
                   meta: Mapping[str, str | None] | None = None,
                   summary: str | None = None) -> Change:
        """Assign splits (None = no split). The split parameters are kept in meta
        `split_params`; `meta` keys are set in the same entry. Moving a record out of the
        holdout is refused unless allowed. `summary` replaces the journal line (default: the
        records given, by split)."""
        items = assignment.items() if isinstance(assignment, Mapping) else assignment
        c = self._conn
        with self._transaction() as tx:
            c.execute("DELETE FROM _vals")
            c.executemany("INSERT OR REPLACE INTO _vals(id, value) VALUES (?, ?)",
                          ((int(i), s) for i, s in items))
            missing = [r[0] for r in c.execute(
                "SELECT id FROM _vals WHERE id NOT IN (SELECT id FROM records) ORDER BY id")]
            if missing:
                raise UnknownRecords(missing)
            if not allow_holdout_move:
                moved = c.execute(
                    "SELECT count(*) FROM _vals v JOIN records r ON r.id = v.id "
                    "WHERE r.split = ? AND v.value IS NOT ?", (HOLDOUT, HOLDOUT)
                ).fetchone()[0]
                if moved:
                    raise WorkspaceError(
                        f"refused: {moved} records would leave the sealed holdout; "
                        "pass allow_holdout_move=True only if you mean to unseal it"
                    )
            selected = c.execute("SELECT count(*) FROM _vals").fetchone()[0]
            entry = tx.entry("split", "", params)
            tx.apply_vals(entry, "split")
            if params is not None:
                tx.set_meta(entry, "split_params", dumps(dict(params)))
            for key, value in (meta or {}).items():
                tx.set_meta(entry, key, value)
            counts = dict(c.execute(
                "SELECT coalesce(value, 'none'), count(*) FROM _vals GROUP BY 1").fetchall())
            summary = summary or "split: " + ", ".join(
                f"{k} {v}" for k, v in sorted(counts.items()))
            return tx.finish(entry, "split", selected, summary)

    def set_meta(self, key: str, value: str | None, *, summary: str | None = None) -> Change:
        """Set (None: delete) a workspace-level value, journaled so undo restores it.

        Used for facts about the whole workspace: the last split's parameters, the last
        smoke-test run. Keys are dotted names owned by one command each.
        """
        with self._transaction() as tx:
            entry = tx.entry("meta", "", {"key": key})
            tx.set_meta(entry, key, value)
            return tx.finish(entry, "meta", 0, summary or f"set {key}")

    def meta(self, key: str) -> str | None:
        return read_meta(self._conn, key)

    def meta_json(self, *keys: str) -> Any:
        """The first of `keys` present in meta, parsed as JSON (a value that is not JSON is
        returned as the string it is); None when none is present."""
        return read_meta_json(self._conn, *keys)

    # -- import (called by curator.workspace.importer) -------------------------------------------

    def begin_import(self, path: str, *, meta: Mapping[str, str | None] | None = None) -> int:
        """Journal an import of one file and open its `sources` row; returns the import id.

        `meta` (workspace keys such as `workspace.target`) is written in the same commit, as
        part of the import's entry, which undo skips: an import's settings are not undone."""
        with self._transaction() as tx:
            entry = tx.entry("import", f"import {path}: started", {"path": path},
                                undoable=False)
            for key, value in (meta or {}).items():
                tx.set_meta(entry, key, value)
            self._conn.execute(
                "INSERT INTO sources(path, rows, new, already_present, rejected, import_id, "
                "imported_at) VALUES (?, 0, 0, 0, 0, ?, ?)", (path, entry, now()))
            return entry

    def import_batch(self, import_id: int, records: Sequence[NewRecord],
                     totals: Mapping[str, int]) -> list[bool]:
        """Insert one batch in one transaction; True for each record that was new (a record
        whose uid is already present is left as it is). `totals` (rows, new, already_present,
        rejected so far, this batch included) go into the `sources` row in the same commit, so
        after a kill it says exactly how far the import got."""
        c = self._conn
        stamp = now()
        is_new: list[bool] = []
        with self._transaction():
            for r in records:
                cur = c.execute(
                    "INSERT OR IGNORE INTO records(uid, source_file, source_line, example_index, "
                    "raw, format, canonical, status, reason, tokens_total, tokens_trained, "
                    "import_id, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (r.uid, r.source_file, r.source_line, r.example_index, r.raw, r.format,
                     r.canonical, r.status, r.reason, r.tokens_total, r.tokens_trained,
                     import_id, stamp),
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

    def finish_import(self, import_id: int, sha256: str | None, size: int | None,
                      summary: str, new: int) -> None:
        with self._transaction():
            self._conn.execute(
                "UPDATE sources SET sha256 = ?, size = ?, complete = 1 WHERE import_id = ?",
                (sha256, size, import_id))
            self._conn.execute("UPDATE journal SET summary = ?, n_changes = ? WHERE id = ?",
                               (summary, new, import_id))

    def sources(self) -> list[dict[str, Any]]:
        cols = ("path", "sha256", "size", "rows", "new", "already_present", "rejected",
                "complete", "import_id", "imported_at")
        return [dict(zip(cols, r, strict=True)) for r in self._conn.execute(
            f"SELECT {', '.join(cols)} FROM sources ORDER BY id")]

    # -- undo, redo, the journal (history.py) -------------------------------------------------

    undo = _history.undo
    redo = _history.redo
    next_undo = _history.next_undo
    next_redo = _history.next_redo
    entry = _history.entry
    log = _history.log
    changes = _history.changes

    # -- reading (reads.py) --------------------------------------------------------------------

    count = _reads.count
    status_counts = _reads.status_counts
    select_ids = _reads.select_ids
    page = _reads.page
    summaries = _reads.summaries
    get = _reads.get

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[None]:
        """Read-only: every query inside sees one state of the file (a WAL read transaction),
        even while another process commits, so a report or an export is internally consistent.
        Do not call a mutating method inside."""
        with self._mutex:
            self._conn.execute("BEGIN DEFERRED")
            try:
                self._conn.execute("SELECT count(*) FROM meta").fetchone()  # take the snapshot now
                yield
            finally:
                self._conn.execute("ROLLBACK")

    def integrity_check(self) -> str:
        return str(self._conn.execute("PRAGMA integrity_check").fetchone()[0])


def _default_actor() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"
