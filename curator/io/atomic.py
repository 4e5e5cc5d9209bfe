"""Writing files atomically: a temporary file beside the target, fsynced, then renamed."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


def _process_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _process_umask()  # read once, at import: setting it back and forth is not thread-safe


def _not_a_plain_file(p: Path) -> bool:
    """Whether `p` names something other than a regular file a rename may replace: a device,
    FIFO or socket, or any name under /dev or /proc (`/dev/stdout` is a link to whatever fd 1
    is, a regular file when the shell redirects it)."""
    if str(p.absolute()).startswith(("/dev/", "/proc/")):
        return True
    try:
        return not stat.S_ISREG(os.stat(p).st_mode)
    except OSError:
        return False  # not there yet (or unreadable): the atomic path creates or reports it


@contextmanager
def atomic_writer(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """A binary file that replaces `path` only when the block ends without an exception.

    The data goes to a temp file beside `path`, is fsynced and renamed over it, so a reader (or
    a crash at any moment) sees either the old file or the whole new one; then the folder is
    fsynced where the system allows it (Windows does not), to make the rename durable. An
    exception inside the block removes the temp file and leaves `path` as it was. The new file
    gets the permissions a plain open() would give it, not the temp file's owner-only ones.
    """
    p = Path(path)
    if _not_a_plain_file(p):
        # /dev/stdout, /dev/null, a FIFO or a terminal: written to as it is. Renaming a temp
        # file over it would replace the device node (as root) or fail (as anyone else).
        with open(p, "wb") as fh:
            yield fh
        return
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
    if hasattr(os, "fchmod"):
        os.fchmod(fd, 0o666 & ~_UMASK)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    with contextlib.suppress(OSError):  # the file is in place; only durability is best effort
        fsync_dir(p.parent)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write a file so that a reader sees either the old file or the whole new one."""
    with atomic_writer(path) as fh:
        fh.write(data)


def fsync_dir(path: str | os.PathLike[str]) -> None:
    """Make a folder's entries (a rename into it) durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
