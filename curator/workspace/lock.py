"""The write lock: an advisory flock on `<workspace>.lock` that names its holder.

A writer takes it before `BEGIN IMMEDIATE` and writes its pid and command line into the lock
file, so a second writer waits up to `lock_timeout` seconds and then fails with a message naming
the holder. The kernel drops the lock when a process dies, so a killed writer never leaves a
stale lock. Only the lock file is ever opened here, never the database file or its -wal/-shm.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path

from curator.workspace.errors import WorkspaceBusy, WorkspaceReadOnly

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: SQLite's busy_timeout is the only guard there
    fcntl = None  # type: ignore[assignment]


class WriteLock:
    """An advisory flock on `<workspace>.lock` that names its holder."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._depth = 0

    def acquire(self, timeout: float) -> None:
        if self._depth:
            self._depth += 1
            return
        if fcntl is None:  # pragma: no cover
            self._depth = 1
            return
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise WorkspaceReadOnly(
                f"cannot write to workspace {self.path.with_suffix('')}: cannot open its lock "
                f"file {self.path} ({exc.strerror or exc}); the workspace's folder must be "
                f"writable. Nothing was changed"
            ) from None
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = self.holder()
                    os.close(fd)
                    raise WorkspaceBusy(
                        f"workspace {self.path.with_suffix('')} is busy: another process is "
                        f"writing to it ({holder}); waited {timeout:g} s. Wait for it to finish "
                        f"or stop it, then try again."
                    ) from None
                time.sleep(0.05)
        # who holds it, for the message of a writer that waits (on a full disk: not said)
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()} {' '.join(sys.argv)[:500]}\n".encode(errors="backslashreplace"), 0)
        self._fd = fd
        self._depth = 1

    def release(self) -> None:
        self._depth -= 1
        if self._depth or self._fd is None:
            return
        fd, self._fd = self._fd, None
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    def holder(self) -> str:
        try:
            text = self.path.read_text(errors="replace").strip()
        except OSError:
            text = ""
        if not text:
            return "holder unknown"
        pid, _, cmd = text.partition(" ")
        return f"pid {pid}: {cmd}" if cmd else f"pid {pid}"

