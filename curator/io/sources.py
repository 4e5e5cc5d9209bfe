"""Sources that are not plain files: stdin, pipes, FIFOs, gzip; spooled to a temporary file."""

from __future__ import annotations

import contextlib
import gzip
import os
import shutil
import stat
import sys
import tempfile
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from curator.io.probe import GZIP_MAGIC, probe
from curator.io.rows import ReadError
from curator.issues import Issue

# --- sources that are not plain files: stdin, pipes, FIFOs, gzip ------------------------------

STDIN = "-"
STDIN_NAME = "<stdin>"
#: seconds to wait for a writer to open a FIFO before giving up (env CURATOR_FIFO_WAIT)
FIFO_WAIT = 30.0


@dataclass(frozen=True, slots=True)
class Source:
    """A file the readers can seek in (`path`) and what messages call it (`name`).

    `spooled` is True when `path` is a temporary copy (of stdin, a pipe, or a gzip file's
    contents); it is removed when the `open_source` block ends."""

    path: Path
    name: str
    spooled: bool = False


def is_stream(path: str | os.PathLike[str]) -> bool:
    """True for `-` and for paths that are neither regular files nor folders (pipes, FIFOs)."""
    if str(path) == STDIN:
        return True
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def _stream_error(name: str, message: str, hint: str) -> ReadError:
    return ReadError(Issue("file.unreadable", "error", f"{name}: {message}", name, hint=hint))


def _open_fifo(path: str | os.PathLike[str], name: str) -> int:
    """Open a FIFO for reading, waiting at most CURATOR_FIFO_WAIT seconds for a writer to open
    it. Only the open waits: a writer that is slow to send its data is waited for as long as it
    takes. (An anonymous pipe, such as /dev/stdin or <(cmd), opens at once.)"""
    try:
        limit = float(os.environ.get("CURATOR_FIFO_WAIT", FIFO_WAIT))
    except ValueError:
        limit = FIFO_WAIT
    opened: list[int | OSError] = []

    def blocking_open() -> None:
        try:
            opened.append(os.open(path, os.O_RDONLY))
        except OSError as exc:
            opened.append(exc)

    opener = threading.Thread(target=blocking_open, name="curator-fifo-open", daemon=True)
    opener.start()
    opener.join(min(limit, 1.0))
    if not opened and limit > 1.0:
        if sys.stderr is not None and sys.stderr.isatty():
            sys.stderr.write(f"waiting for a writer on FIFO {name} (up to {limit:g} s)...\n")
        opener.join(limit - 1.0)
    if not opened:
        with contextlib.suppress(OSError):  # be the writer ourselves, so the waiting open returns
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        opener.join(5.0)
        if opened and isinstance(opened[0], int):
            os.close(opened[0])
        raise _stream_error(name, f"no program opened this FIFO for writing within {limit:g} s",
                            "start the writer (e.g. cat data.jsonl > FIFO), or set CURATOR_FIFO_WAIT "
                            "to wait longer")
    result = opened[0]
    if isinstance(result, OSError):
        raise result
    return result


def _spool_reserve(folder: str) -> int:
    """Bytes a spool leaves free in its folder: CURATOR_SPOOL_RESERVE, else 5 % of the disk and
    at least 1 GiB (a gzip bomb or an endless stream must not fill the machine's disk)."""
    env = os.environ.get("CURATOR_SPOOL_RESERVE")
    if env is not None and env.strip().isdigit():
        return int(env)
    return max(1 << 30, shutil.disk_usage(folder).total // 20)


def _spool(name: str, src: BinaryIO, dest: BinaryIO) -> None:
    """Copy a stream (stdin, a pipe, decompressed gzip) into its temporary file, stopping with a
    ReadError, not a full disk, when the copy would leave less than the reserve free."""
    folder = os.path.dirname(getattr(dest, "name", "") or tempfile.gettempdir()) or "."
    reserve = _spool_reserve(folder)
    written = 0
    while chunk := src.read(1 << 20):
        if shutil.disk_usage(folder).free - len(chunk) < reserve:
            raise _stream_error(
                name, f"reading it into a temporary file in {folder} would leave less than "
                f"{reserve >> 20:,} MiB free ({written >> 20:,} MiB written; a stream or a "
                f"decompressed gzip file is spooled there)",
                "set TMPDIR to a folder with room, or decompress it yourself and name the file")
        try:
            dest.write(chunk)
        except OSError as exc:  # the disk filled all the same (another writer): say so
            raise _stream_error(name, f"cannot write its temporary copy in {folder}: "
                                f"{exc.strerror or exc}", "set TMPDIR to a folder with room") from exc
        written += len(chunk)


def _copy_stream(name: str, dest: BinaryIO, path: str | os.PathLike[str]) -> None:
    if str(path) == STDIN:
        if sys.stdin is None or sys.stdin.isatty():
            raise _stream_error(name, "stdin is a terminal, not data",
                                "pipe the data in: cat data.jsonl | curator validate -")
        _spool(name, sys.stdin.buffer, dest)
        return
    if stat.S_ISFIFO(os.stat(path).st_mode):
        with os.fdopen(_open_fifo(path, name), "rb") as fh:
            _spool(name, fh, dest)
        return
    with open(path, "rb") as fh:  # a character device or socket: read it as it comes
        _spool(name, fh, dest)


def _gunzip(src: Path, dest: BinaryIO, name: str) -> None:
    try:
        with gzip.open(src, "rb") as fh:
            _spool(name, fh, dest)  # type: ignore[arg-type]
    except ReadError:
        raise
    except (OSError, EOFError, zlib.error) as exc:
        raise _stream_error(name, f"damaged or truncated gzip data ({exc})",
                            "check the file is complete (gzip -t FILE)") from exc


def _is_gzip(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(2) == GZIP_MAGIC
    except OSError:
        return False


@contextmanager
def open_source(path: str | os.PathLike[str], name: str | None = None) -> Iterator[Source]:
    """A seekable regular file for any input the readers take, removed again afterwards.

    `-` is stdin; a pipe, FIFO (`<(cmd)`, `/dev/stdin`) or device is read to its end as a
    stream into a temporary file (a FIFO nobody opens for writing is given up on after
    CURATOR_FIFO_WAIT seconds, default 30); a gzip file (by its magic bytes, whatever its
    name) is decompressed as a stream into a temporary file named with its inner suffix
    (`train.jsonl.gz` reads as JSONL). A plain file or folder is passed through untouched.
    Raises ReadError when a stream or gzip file cannot be read.
    """
    shown = (STDIN_NAME if str(path) == STDIN else str(path)) if name is None else name
    # a file name with bytes that are not UTF-8 holds lone surrogates, which SQLite and the
    # journal cannot store: name it with those bytes escaped (`h\x9d.jsonl`)
    shown = shown.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    tmpdir: str | None = None
    try:
        current = Path(path)
        if is_stream(path):
            tmpdir = tempfile.mkdtemp(prefix="curator-stream-")
            current = Path(tmpdir) / "stream"
            try:
                with current.open("wb") as out:
                    _copy_stream(shown, out, path)
            except OSError as exc:
                if isinstance(exc, ReadError):
                    raise
                raise _stream_error(shown, f"cannot read the stream: {exc.strerror or exc}",
                                    "check the program writing it") from exc
        if current.is_file() and _is_gzip(current):
            tmpdir = tmpdir or tempfile.mkdtemp(prefix="curator-stream-")
            inner = Path(shown).name
            inner = inner[:-3] if inner.lower().endswith(".gz") else inner
            target = Path(tmpdir) / ("data" + Path(inner).suffix.lower())
            with target.open("wb") as out:
                _gunzip(current, out, shown)
            if current.parent == Path(tmpdir):
                current.unlink()
            current = target
        yield Source(current, shown, tmpdir is not None)
    finally:
        if tmpdir is not None:
            shutil.rmtree(tmpdir, ignore_errors=True)


def precheck(path: str | os.PathLike[str]) -> Issue | None:
    """The error that would stop reading `path` before its first row (missing, unreadable,
    binary, UTF-16, damaged Parquet), or None. Streams are not opened: they read only once."""
    p = Path(path)
    if is_stream(path):
        return None
    if not p.exists():
        return Issue("file.not_found", "error", f"{p}: no such file", str(p), hint="check the path")
    if not os.access(p, os.R_OK):
        return Issue("file.unreadable", "error", f"{p}: not readable (permission denied)", str(p),
                     hint="check the file's permissions")
    if p.is_file() and _is_gzip(p):
        return None
    pr = probe(p)
    if pr.fatal:
        fatal = next(i for i in pr.issues if i.severity == "error")
        return None if fatal.code == "file.empty" else fatal
    return None


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """True when two paths name one file: equal once resolved (symlinks), or the same inode
    (hard links). `-` (stdin) is never the same as a file."""
    if STDIN in (str(a), str(b)):
        return False
    pa, pb = Path(a), Path(b)
    try:
        if pa.resolve() == pb.resolve():
            return True
    except (OSError, RuntimeError):
        pass
    try:
        return pa.exists() and pb.exists() and os.path.samefile(pa, pb)
    except OSError:
        return False
