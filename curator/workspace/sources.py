"""Import's side of the store: one `sources` row per imported file, its records inserted batch by
batch (each batch one commit, the row's totals with it, so after a kill it says how far the
import got). Called by curator.workspace.importer; imports are journaled but not undoable."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from itertools import groupby
from typing import TYPE_CHECKING, Any

from curator.workspace.journal import now
from curator.workspace.meta import read_meta, write_meta
from curator.workspace.migrations import UID_INDEX
from curator.workspace.records import KINDS, STATUSES, NewRecord

if TYPE_CHECKING:
    from curator.workspace.engine import Workspace


#: SQLite page cache while an import writes (KiB, as `PRAGMA cache_size` takes it when negative).
#: The default 2 MB cannot hold the uid index of a large workspace, whose leaves a batch of
#: new records (random content hashes) touches all over: each insert would re-read its page.
IMPORT_CACHE_KIB = 64 * 1024
#: SQLite page cache (KiB) while a deferred index is built (SQLite's default size). The sorter
#: of CREATE INDEX sorts its keys in runs the size of the page cache, but never smaller than 250
#: pages (4 MB with a workspace's 16 KB pages), merged from temporary files (SQLITE_TMPDIR or
#: TMPDIR, about the index's size): with the import's 64 MB cache (IMPORT_CACHE_KIB) the keys of
#: a million real-text records went into one run, and the two deferred indexes took 2.5-2.7 s;
#: in 4 MB runs 1.6 s, in 8 MB 1.8 s, in 16 MB 2.0 s (docs/benchmarks.md "Import, stop 17").
BUILD_CACHE_KIB = 2000
#: helper threads SQLite's sorter may sort those runs in (`PRAGMA threads`): an import builds its
#: deferred indexes when its worker processes are done, with their cores idle (1.6 s down to
#: 1.2-1.3 s on two cores). The cores this process may run on, less its own, at most 4.
BUILD_THREADS = max(1, min(4, (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                               else os.cpu_count() or 2) - 1))


@contextmanager
def import_cache(ws: Workspace) -> Iterator[None]:
    """A larger page cache on this connection while an import runs, restored after. Only
    memory: what is written, and when it is committed and synced, is unchanged."""
    with _page_cache(ws._conn, IMPORT_CACHE_KIB):
        yield


@contextmanager
def _page_cache(c: sqlite3.Connection, kib: int) -> Iterator[None]:
    """This connection's page cache set to `kib` KiB, and set back after, whatever happens."""
    before = int(c.execute("PRAGMA cache_size").fetchone()[0])
    c.execute(f"PRAGMA cache_size = {-kib}")
    try:
        yield
    finally:
        c.execute(f"PRAGMA cache_size = {before}")


#: meta key naming the indexes a bulk import into an empty workspace dropped while it writes:
#: a JSON list of [name, CREATE statement] as sqlite_master held them. Written in the commit that
#: drops them and deleted in the commit that builds them again, so the key is present exactly
#: while they are missing, whatever kills the import in between (`Workspace.open` builds them).
DEFERRED_INDEXES_KEY = "import.deferred_indexes"
#: meta key holding the token of the import that deferred the uid's UNIQUE index (`UidOwner`):
#: only that import, in its first file, may insert while the index is missing.
DEFERRED_OWNER_KEY = "import.deferred_by"
#: the indexes a bulk import defers: the ones whose keys come in random order as rows are
#: appended (token counts, and the uid's UNIQUE index `records_uid`: a content hash, in a
#: workspace created since schema v11; an older workspace's uid index is the column's own,
#: which cannot be dropped, and is kept; at 900,000 real-text rows deferring it took the
#: write from 20.0 to 15.4 CPU s and from 38 to 23 s wall, build included, docs/benchmarks.md
#: "Import, stop 14"). Every other secondary index of `records` and `issues` is kept: its keys
#: grow with the record id inside a few groups (status, kind, import, issue code, the record id
#: itself), so each insert lands on a page the batch touched already, while building
#: it at the end is a full scan of `records` (its raw and canonical JSON, overflow pages
#: included) with one core idle. At 300,000 real-text rows deferring all seven cost 2.0 s of
#: build at the end and 0.8 s more system CPU than deferring this one (0.45 s of build).
DEFERRED_INDEXES = ("records_tokens", UID_INDEX)
#: (No memory map for the build: one saved about 3 CPU s of copies at 1M records, but every page
#: it touched counted in the import's resident memory, 2.3 GB at 1M against about 260 MB without,
#: issue 3's "flat under 1 GB"; and an I/O error read through it kills the process with SIGBUS
#: instead of returning an error. docs/benchmarks.md, the fix/importw section.)


def defer_indexes(ws: Workspace, owner: str | None = None) -> bool:
    """Before a bulk import into an EMPTY workspace: drop the indexes whose keys come in random
    order (`DEFERRED_INDEXES`, the uid's UNIQUE index among them where it is a named one) and
    name them in meta, in one commit. The uid's index is dropped only for an `owner` (a token
    the import makes, `UidOwner`), written beside them: without the index nothing stops a
    second copy of a uid, so only that import may then insert, and only rows it knows to be
    unique (`import_rows`). Kept up to date row by row, such an index makes each
    commit write pages all over it; built once at the end (`build_deferred_indexes`, a sort) it
    costs one scan of the table. Returns whether they are deferred
    (False: the workspace holds records, which would make the rebuild cost more than it saves).
    Only the indexes change: every row is written and committed batch by batch as before."""
    with ws._transaction() as tx:
        c = tx.conn
        if read_meta(c, DEFERRED_INDEXES_KEY) is not None:
            return True  # a killed import's, not built yet: the import's end builds them
        if c.execute("SELECT 1 FROM records LIMIT 1").fetchone() is not None:
            return False
        names = [n for n in DEFERRED_INDEXES if owner is not None or n != UID_INDEX]
        marks = ", ".join("?" for _ in names)
        indexes = c.execute(
            f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            f"AND name IN ({marks}) ORDER BY name", names).fetchall()
        if not indexes:
            return False
        tx.write_meta(DEFERRED_INDEXES_KEY, json.dumps([list(i) for i in indexes]))
        if any(name == UID_INDEX for name, _ in indexes):
            tx.write_meta(DEFERRED_OWNER_KEY, owner)
        for name, _ in indexes:
            c.execute(f'DROP INDEX "{name}"')
    return True


def deferred_indexes(conn: sqlite3.Connection) -> list[str]:
    """The names of the indexes an import deferred and nobody has built yet (none: [])."""
    raw = read_meta(conn, DEFERRED_INDEXES_KEY)
    return [] if raw is None else [str(name) for name, _ in json.loads(raw)]


def build_deferred_indexes(ws: Workspace) -> list[str]:
    """Build the indexes `defer_indexes` dropped, in one commit under the write lock that also
    deletes their meta key; returns their names ([]: none were deferred, or another process
    built them first). An index that exists already (same name) is left as it is."""
    with ws._transaction() as tx:
        return _build(tx.conn, None)


def _build(c: sqlite3.Connection, only: str | None) -> list[str]:
    """Inside a write transaction: build the deferred indexes (`only`: that one, if deferred)
    and take them off the meta key (deleted, with the owner's, once none is left)."""
    raw = read_meta(c, DEFERRED_INDEXES_KEY)
    if raw is None:
        return []
    built, left = [], []
    for name, sql in json.loads(raw):
        if only is not None and name != only:
            left.append([name, sql])
            continue
        if c.execute("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?",
                     (name,)).fetchone() is None:
            with _sorting(c):
                c.execute(sql)
        built.append(str(name))
    if built:
        write_meta(c, DEFERRED_INDEXES_KEY, json.dumps(left) if left else None)
        if not any(name == UID_INDEX for name, _ in left):
            write_meta(c, DEFERRED_OWNER_KEY, None)
    return built


@contextmanager
def _sorting(c: sqlite3.Connection) -> Iterator[None]:
    """This connection's page cache and sorter threads set for building an index
    (`BUILD_CACHE_KIB`, `BUILD_THREADS`), and each set back after, whatever happens. (Inside a
    write transaction a smaller cache only writes the pages it cannot hold to the WAL early,
    uncommitted.)"""
    row = c.execute("PRAGMA threads").fetchone()  # (None where SQLite has no such pragma)
    with ExitStack() as restore:
        restore.enter_context(_page_cache(c, BUILD_CACHE_KIB))
        if row is not None:
            restore.callback(c.execute, f"PRAGMA threads = {int(row[0])}")
            c.execute(f"PRAGMA threads = {BUILD_THREADS}")
        yield


class UidOwner:
    """The import that deferred the uid's UNIQUE index (`defer_indexes(ws, owner=token)`) and
    may insert without it: rows of ONE file into what was an empty workspace, whose uids the
    importer makes unique itself (a content hash plus `#k` for the k-th repeat inside the file,
    importer._numbered_row). Before each batch, in its transaction, `import_rows` checks that
    this is still so: the owner key is still this token, the index is still deferred, and the
    table's last record id is the one this import's last batch left (no other process stored
    a record since). Otherwise (another process opened the workspace and built the index, or
    imported, or the next file begins) the index is built there and then, and the batch is
    inserted with it, as without deferral."""

    __slots__ = ("last_id", "token")

    def __init__(self, token: str) -> None:
        self.token = token
        self.last_id = 0

    def owns(self, c: sqlite3.Connection) -> bool:
        raw = read_meta(c, DEFERRED_INDEXES_KEY)
        return (raw is not None and any(n == UID_INDEX for n, _ in json.loads(raw))
                and read_meta(c, DEFERRED_OWNER_KEY) == self.token
                and self.last_id == _last_id(c))


def _last_id(c: sqlite3.Connection) -> int:
    return int(c.execute("SELECT coalesce(max(id), 0) FROM records").fetchone()[0])


def uid_deferred_by(ws: Workspace, token: str) -> bool:
    """Whether the uid's UNIQUE index is deferred and `token` deferred it."""
    return UidOwner(token).owns(ws._conn)


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


#: one record as import writes it: NewRecord's fields in order (issues at 11 as tuples of
#: (code, severity, message_index, path, message, hint), then kind and tokens_sides; raw and
#: canonical as str or as UTF-8 bytes, stored as the same TEXT by `_INSERT_RECORD`). Import's
#: workers send these rather than NewRecords: a plain tuple pickles in a third of the time of a frozen dataclass and unpickles
#: in two thirds, and the parent builds nothing per row.
RecordRow = tuple[Any, ...]
#: the length of a CLEAN record's `RecordRow` (importer._clean_row, most rows of a real file): uid,
#: source_file, source_line, example_index, raw, canonical, tokens_total, tokens_trained, the
#: statement's parameters in order. Every other field is the same for each such record (format
#: openai-chat, status pending, no reason, kind chat, no token sides, no issue) and is written
#: by the statement itself (`_clean_insert`): fewer fields to pickle in the worker and to bind
#: here, no None to adapt, and no tuple built again per row.
CLEAN_ROW_LEN = 8


def is_rejected(r: RecordRow) -> bool:
    """Whether a `RecordRow` is stored as rejected (a clean one never is)."""
    return len(r) != CLEAN_ROW_LEN and r[7] == "rejected"


def _is_clean(r: RecordRow) -> bool:
    return len(r) == CLEAN_ROW_LEN


def record_row(r: NewRecord) -> RecordRow:
    return (r.uid, r.source_file, r.source_line, r.example_index, r.raw, r.format, r.canonical,
            r.status, r.reason, r.tokens_total, r.tokens_trained,
            tuple((i.code, i.severity, i.message_index, i.path, i.message, i.hint)
                  for i in r.issues), r.kind, r.tokens_sides)


def import_batch(ws: Workspace, import_id: int, records: Sequence[NewRecord],
                 totals: Mapping[str, int]) -> list[bool]:
    """Insert one batch in one transaction; True for each record that was new (a record
    whose uid is already present is left as it is). `totals` (rows, new, already_present,
    rejected so far, this batch included) go into the `sources` row in the same commit, so
    after a kill it says exactly how far the import got."""
    return import_rows(ws, import_id, [record_row(r) for r in records], totals)


#: raw and canonical may come as UTF-8 bytes (importer._clean_row: a worker sends the line and
#: the canonical JSON it has as bytes, saving a decode there and strings across the pipe); the
#: CAST (here and in `_clean_insert`) stores such bytes as TEXT, byte for byte what binding the
#: decoded str stores (a TEXT column would otherwise keep them as a BLOB). A str is unchanged
#: by it; NULL stays NULL.
_INSERT_RECORD = (
    "INSERT OR IGNORE INTO records(uid, source_file, source_line, example_index, raw, format, "
    "canonical, status, reason, tokens_total, tokens_trained, import_id, created, kind, "
    "tokens_sides) VALUES (?, ?, ?, ?, CAST(? AS TEXT), ?, CAST(? AS TEXT), ?, ?, ?, ?, ?, ?, "
    "?, ?)")


def _clean_insert(import_id: int, stamp: str) -> str:
    """The insert of a clean `RecordRow` (`CLEAN_ROW_LEN`) of import `import_id` at `stamp`, the
    fields every clean record shares written in (one statement per batch: SQLite prepares it
    once, the driver caches it)."""
    return ("INSERT OR IGNORE INTO records(uid, source_file, source_line, example_index, raw, "
            "canonical, tokens_total, tokens_trained, format, status, reason, import_id, created, "
            "kind, tokens_sides) VALUES (?, ?, ?, ?, CAST(? AS TEXT), CAST(? AS TEXT), ?, ?, "
            f"'openai-chat', 'pending', NULL, {int(import_id)}, '{stamp.replace(chr(39), chr(39) * 2)}', "
            "'chat', NULL)")


_INSERT_ISSUE = ("INSERT INTO issues(record_id, code, severity, message_index, path, message, "
                 "hint) VALUES (?, ?, ?, ?, ?, ?, ?)")


_STATUSES, _KINDS = frozenset(STATUSES), frozenset(KINDS)


@contextmanager
def _checked_here(c: sqlite3.Connection, records: Sequence[RecordRow]) -> Iterator[None]:
    """Insert `records` with the table's CHECK constraints checked here, once per record in
    Python, instead of by SQLite: the only ones `records` has are `status IN (...)` and `kind IN
    (...)`, which SQLite 3.40 evaluates by building a temporary b-tree of the three values for
    every row inserted (about a quarter of the insert's CPU at a million real-text records,
    docs/benchmarks.md "Import, stop 15"). A record with another status or kind is refused
    before anything is inserted, with the IntegrityError SQLite would raise. The pragma is this
    connection's only, inside the caller's transaction, and set back whatever happens."""
    for r in records:
        if len(r) == CLEAN_ROW_LEN:  # pending, chat: written by the statement (_clean_insert)
            continue
        if r[7] not in _STATUSES:
            raise sqlite3.IntegrityError(f"CHECK constraint failed: status IN {STATUSES} "
                                         f"(record {r[0]}: {r[7]!r})")
        if r[12] not in _KINDS:
            raise sqlite3.IntegrityError(f"CHECK constraint failed: kind IN {KINDS} "
                                         f"(record {r[0]}: {r[12]!r})")
    c.execute("PRAGMA ignore_check_constraints = ON")
    try:
        yield
    finally:
        c.execute("PRAGMA ignore_check_constraints = OFF")


def _insert_owned(c: sqlite3.Connection, import_id: int, stamp: str,
                  records: Sequence[RecordRow], last_id: int) -> None:
    """The owner's batch (`UidOwner`): every record is new (unique uids, none present), so all
    go in with one `executemany`, and each takes the id after the table's last one
    (`last_id`, checked by `owns`), as SQLite gives a row inserted without one: its issues are
    written with those ids, and the table's last id is checked after."""
    clean = _clean_insert(import_id, stamp)
    for is_clean, run in groupby(records, _is_clean):  # in order: each run in one executemany
        if is_clean:
            c.executemany(clean, run)
        else:
            c.executemany(_INSERT_RECORD, ((*r[:11], import_id, stamp, r[12], r[13]) for r in run))
    c.executemany(_INSERT_ISSUE, [(rid, *i) for rid, r in enumerate(records, last_id + 1)
                                  if len(r) != CLEAN_ROW_LEN for i in r[11]])
    if _last_id(c) != last_id + len(records):  # rolled back by the caller's transaction
        raise sqlite3.IntegrityError(
            f"records {last_id + 1}-{last_id + len(records)} did not get the ids expected")


def _insert_checked(c: sqlite3.Connection, import_id: int, stamp: str,
                    records: Sequence[RecordRow]) -> list[bool]:
    """Insert each record unless its uid is present (the UNIQUE index says); True for each new
    one, whose issues follow it."""
    is_new = []
    clean = _clean_insert(import_id, stamp)
    for r in records:
        if len(r) == CLEAN_ROW_LEN:
            is_new.append(c.execute(clean, r).rowcount == 1)
            continue
        cur = c.execute(_INSERT_RECORD, (*r[:11], import_id, stamp, r[12], r[13]))
        new = cur.rowcount == 1
        is_new.append(new)
        if new and r[11]:
            c.executemany(_INSERT_ISSUE, [(cur.lastrowid, *i) for i in r[11]])
    return is_new


def import_rows(ws: Workspace, import_id: int, records: Sequence[RecordRow],
                totals: Mapping[str, int], owner: UidOwner | None = None) -> list[bool]:
    """`import_batch` for records already in `RecordRow` form. Every record is inserted through
    the uid's UNIQUE index (a deferred one is built first, in the same transaction), except for
    the `owner` of a deferred uid index while it still owns it (`UidOwner`): its records' uids
    are unique among themselves and the table holds no other."""
    stamp = now()
    with ws._transaction() as tx:
        c = tx.conn
        if owner is not None and owner.owns(c):
            with _checked_here(c, records):
                _insert_owned(c, import_id, stamp, records, owner.last_id)
            is_new = [True] * len(records)
        else:
            _build(c, UID_INDEX)  # nothing when the index is there
            with _checked_here(c, records):
                is_new = _insert_checked(c, import_id, stamp, records)
        c.execute(
            "UPDATE sources SET rows = ?, new = ?, already_present = ?, rejected = ? "
            "WHERE import_id = ?",
            (totals["rows"], totals["new"] + sum(is_new),
             totals["already_present"] + len(is_new) - sum(is_new),
             totals["rejected"] + sum(1 for r, n in zip(records, is_new, strict=True)
                                      if n and is_rejected(r)),
             import_id),
        )
        if owner is not None:
            owner.last_id = _last_id(c)
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


#: meta key of an imported file's stamp (`file_stamp`), per import id
STAMP_KEY = "import.{}.file_stamp"


def file_stamp(path: str | os.PathLike[str]) -> str | None:
    """A regular file's size, modification and change times (ns), inode and device, as text;
    None when it is not a regular file. Rewriting the file changes the stamp (the change time
    cannot be set back by a user); reading it does not."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    return json.dumps([st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev])


def set_file_stamp(ws: Workspace, import_id: int, stamp: str) -> None:
    """Remember the stamp of the file that import `import_id` read and hashed, unchanged
    while it did, so a later look can tell it is still that file without hashing it again.
    Derived state (not journaled): losing it only costs a hash."""
    with ws._transaction() as tx:
        tx.write_meta(STAMP_KEY.format(import_id), stamp)


def stamped_imports(ws: Workspace, path: str, stamp: str) -> list[int]:
    """The complete imports of `path` whose file had exactly `stamp` when it was hashed."""
    return [int(s["import_id"]) for s in sources(ws) if s["complete"] and s["path"] == path
            and read_meta(ws._conn, STAMP_KEY.format(s["import_id"])) == stamp]
