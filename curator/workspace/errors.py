"""The workspace's errors, and the one-line message for a SQLite error about the file or the disk.

Every error a workspace raises is a WorkspaceError whose message says what is wrong and what to
do; `file_error` turns SQLite's errors about the file or the disk (read-only file, a folder
where -wal/-shm cannot be created, a full disk) into such errors (docs/workspace-files.md).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from curator.issues import Issue


class WorkspaceError(Exception):
    """Anything wrong with a workspace or a request to it; the message says what to do."""


class WorkspaceNotFound(WorkspaceError):
    pass


class NotAWorkspace(WorkspaceError):
    pass


class SchemaTooNew(WorkspaceError):
    pass


class WorkspaceBusy(WorkspaceError):
    pass


class WorkspaceReadOnly(WorkspaceError):
    """The workspace (or what SQLite must create beside it) cannot be written; nothing changed."""


class WorkspaceWriteFailed(WorkspaceError):
    """The disk refused a write (full, I/O error); the step was rolled back, what was committed
    before is intact."""


class FilterError(WorkspaceError, ValueError):
    pass


class UnknownRecords(WorkspaceError):
    def __init__(self, ids: Sequence[int]) -> None:
        self.ids = list(ids)
        shown = ", ".join(str(i) for i in self.ids[:10])
        more = f" and {len(self.ids) - 10} more" if len(self.ids) > 10 else ""
        super().__init__(f"no record with id {shown}{more} in this workspace")


class EditRefused(WorkspaceError):
    """An edit whose validation found errors; nothing was saved."""

    def __init__(self, record_id: int, issues: Sequence[Issue]) -> None:
        self.record_id = record_id
        self.issues = list(issues)
        codes = ", ".join(sorted({i.code for i in self.issues if i.severity == "error"}))
        super().__init__(f"edit of record {record_id} refused, it does not validate: {codes}")


# SQLite primary result codes (sqlite3.h) that describe the file or the disk, not a bug.
SQLITE_BUSY, SQLITE_LOCKED, SQLITE_READONLY, SQLITE_IOERR = 5, 6, 8, 10
SQLITE_CORRUPT, SQLITE_FULL, SQLITE_CANTOPEN, SQLITE_NOTADB = 11, 13, 14, 26
SQLITE_PERM = 3
#: the same codes by message, for Pythons before 3.11 (no sqlite_errorcode)
SQLITE_MESSAGES = {
    "file is not a database": SQLITE_NOTADB,
    "attempt to write a readonly database": SQLITE_READONLY,
    "unable to open database file": SQLITE_CANTOPEN,
    "database or disk is full": SQLITE_FULL,
    "disk I/O error": SQLITE_IOERR,
    "database disk image is malformed": SQLITE_CORRUPT,
    "database is locked": SQLITE_BUSY,
}


def sqlite_code(exc: sqlite3.Error) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF
    text = str(exc)
    return next((c for m, c in SQLITE_MESSAGES.items() if m in text), None)


def _folder_unwritable(p: Path) -> bool:
    folder = p.parent if str(p.parent) else Path(".")
    return not os.access(folder, os.W_OK | os.X_OK)


def file_error(exc: sqlite3.Error, p: Path, writing: bool = True) -> WorkspaceError | None:
    """The WorkspaceError that explains a SQLite error about the file or the disk (one line,
    with what to do), or None for any other error (a bug: let it show)."""
    code = sqlite_code(exc)
    if code == SQLITE_NOTADB:
        return NotAWorkspace(f"{p} is not a curator workspace (not a SQLite file)")
    if code == SQLITE_CORRUPT:
        return NotAWorkspace(
            f"{p} is damaged (SQLite: {exc}); restore it from a copy (an upgrade leaves "
            f"{p.name}.v<N>.bak), or try `sqlite3 {p} .recover` to save what is left")
    if code == SQLITE_CANTOPEN or (code == SQLITE_READONLY and _folder_unwritable(p)):
        if _folder_unwritable(p) and not p.exists():
            return WorkspaceReadOnly(
                f"cannot create workspace {p}: its folder is not writable. Choose a folder "
                f"you can write to")
        if _folder_unwritable(p):
            return WorkspaceReadOnly(
                f"cannot open workspace {p}: its folder is not writable, and SQLite must create "
                f"{p.name}-wal and {p.name}-shm beside it. Make the folder writable, or copy "
                f"the workspace into one that is")
        return WorkspaceReadOnly(f"cannot open workspace {p} (SQLite: {exc}); check that the "
                                 f"file and its folder are readable and writable")
    if code in (SQLITE_READONLY, SQLITE_PERM):
        return WorkspaceReadOnly(
            f"workspace {p} is read-only, nothing was changed; commands that only read it "
            f"work. To change it, make it writable: chmod u+w {p}")
    if code == SQLITE_FULL:
        return WorkspaceWriteFailed(
            f"disk full while writing workspace {p}: this step was rolled back, everything "
            f"saved before it is intact. Free some space and run the command again")
    if code == SQLITE_IOERR:
        return WorkspaceWriteFailed(
            f"I/O error on workspace {p} (SQLite: {exc}): this step was rolled back, "
            f"everything saved before it is intact. Check the disk (space, quota, file size "
            f"limit) and run the command again")
    if code in (SQLITE_BUSY, SQLITE_LOCKED):
        return WorkspaceBusy(f"workspace {p} is locked by another program (SQLite: {exc}); "
                             f"wait for it to finish and try again")
    return None

