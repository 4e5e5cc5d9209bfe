"""The workspace: one SQLite file holding every record, every decision and the journal behind undo.

Durability. The file runs in WAL mode with `synchronous=FULL`: every COMMIT fsyncs the WAL before
it returns, so a decision the user saw committed survives a kill -9 *and* a power cut. (NORMAL
would survive a kill but may lose the last commits on power loss; the cost of FULL is one fsync
per action, or per batch of 5,000 to 20,000 rows on import, which is noise.)

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

The code. This module is the engine: open, migrate, close, the write transaction, snapshots,
checkpoints and meta. The operations live one kind per module beside it (decisions, labels,
marks, dedup_marks, split_marks, sources, history, reads, search) as functions whose first
parameter is the workspace; they write through the `Tx` (journal.py) that `_transaction()`
yields, and the class body binds them as methods (`set_status = _decisions.set_status`). They
import `Workspace` only for type checking, so the imports run one way. The engine imports
nothing heavy (no importer, prepare, dedup, split, export or report): `curator accept` starts
fast.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import sqlite3
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import curator.workspace.decisions as _decisions
import curator.workspace.dedup_marks as _dedup_marks
import curator.workspace.filters as _filters
import curator.workspace.history as _history
import curator.workspace.labels as _labels
import curator.workspace.marks as _marks
import curator.workspace.pair_edit as _pair_edit
import curator.workspace.reads as _reads
import curator.workspace.search as _search
import curator.workspace.sources as _sources
import curator.workspace.split_marks as _split_marks
from curator import __version__
from curator.workspace.errors import (
    SQLITE_NOTADB,
    SQLITE_PERM,
    SQLITE_READONLY,
    NotAWorkspace,
    SchemaTooNew,
    WorkspaceBusy,
    WorkspaceError,
    WorkspaceNotFound,
    WorkspaceReadOnly,
    file_error,
    sqlite_code,
)
from curator.workspace.journal import Tx, now
from curator.workspace.lock import WriteLock
from curator.workspace.meta import read_meta, read_meta_json
from curator.workspace.migrations import MIGRATIONS, SCHEMA_VERSION
from curator.workspace.records import Change

#: SQLite page size of a workspace this curator creates (SQLite's default is 4096; set before
#: the first table is written, and SQLite cannot change it later in WAL mode, so a workspace
#: keeps the size it was made with). A record of real text is 1.5-2 KB, two to a 4 KB page:
#: with 16 KB pages an import writes fewer pages and b-tree splits, and the file is smaller
#: (real text, 300,000 records: 598 MB against 699 MB; the import's own CPU 15 % less).
#: Dedup, split and the review app's first screen were measured on both
#: (docs/benchmarks.md, "Import, stop 15").
NEW_PAGE_SIZE = 16384


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
            if version == 0:  # a new workspace (an existing one keeps its page size)
                conn.execute(f"PRAGMA page_size = {NEW_PAGE_SIZE}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            ws = cls(p, conn, actor or _default_actor(), lock_timeout)
            if version:
                ws._build_deferred_indexes()
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
                    if callable(statement):
                        statement(self._conn)
                    else:
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

    def _build_deferred_indexes(self) -> None:
        """Build the indexes a bulk import into an empty workspace dropped while it wrote
        (`sources.defer_indexes`) and did not build again: it was killed, or is still running
        in another process. Under the write lock, one commit, with a line on stderr saying so.
        Where they cannot be built now (a read-only file, a busy or full disk) every query
        still answers the same, only slower, and the next open tries again."""
        names = _sources.deferred_indexes(self._conn)
        if not names:
            return
        print(f"curator: {self.path}: building {len(names)} indexes that an import deferred "
              f"and did not build (it was interrupted, or is still running): "
              f"{', '.join(names)}", file=sys.stderr, flush=True)
        try:
            _sources.build_deferred_indexes(self)
        except (WorkspaceError, sqlite3.Error) as exc:
            print(f"curator: {self.path}: the indexes were not built ({exc}); queries answer "
                  f"the same without them, only slower, until a command that can write "
                  f"builds them", file=sys.stderr, flush=True)

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

    # -- the operations: module functions taking the workspace first, bound here as methods ---
    #
    # Each module below holds one kind of operation (see its docstring); the names are
    # imported under underscore aliases because `labels = labels.labels` would rebind the
    # module name in this class body.

    set_status = _decisions.set_status
    set_note = _decisions.set_note
    set_status_one = _decisions.set_status_one
    set_note_one = _decisions.set_note_one
    edit = _decisions.edit
    swap_sides = _pair_edit.swap_sides

    LABEL_ORDER: ClassVar[str] = _labels.LABEL_ORDER
    check_filter_names = _filters.check_filter_names
    labels = _labels.labels
    set_label_set = _labels.set_label_set
    add_label_names = _labels.add_label_names
    remove_label_names = _labels.remove_label_names
    add_labels = _labels.add_labels
    remove_labels = _labels.remove_labels
    set_label_one = _labels.set_label_one
    flag_records = _labels.flag_records

    marks = _marks.marks
    set_marks = _marks.set_marks
    clear_marks = _marks.clear_marks

    search_index_pending = _search.search_index_pending
    build_search_index = _search.build_search_index

    mark_duplicates = _dedup_marks.mark_duplicates
    keep_one = _dedup_marks.keep_one
    save_dedup_pairs = _dedup_marks.save_dedup_pairs
    dedup_pairs = _dedup_marks.dedup_pairs
    clear_duplicates = _dedup_marks.clear_duplicates

    set_splits = _split_marks.set_splits

    begin_import = _sources.begin_import
    import_batch = _sources.import_batch
    finish_import = _sources.finish_import
    sources = _sources.sources

    undo = _history.undo
    redo = _history.redo
    next_undo = _history.next_undo
    next_redo = _history.next_redo
    entry = _history.entry
    log = _history.log
    changes = _history.changes

    count = _reads.count
    status_counts = _reads.status_counts
    select_ids = _reads.select_ids
    page = _reads.page
    summaries = _reads.summaries
    get = _reads.get


def _default_actor() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"
