"""A workspace that cannot be written: a read-only file, a folder SQLite cannot create its
-wal/-shm in, a disk that fills up during an import (issue 11, item 11). Each is one line on
stderr, exit 2, no traceback, and nothing in the file changed except what was committed before.

Decided: on a read-only workspace file (chmod 444) in a writable folder, commands that only
read (ls, show, log, report) work; every command that writes says the file is read-only. In a
folder that is not writable SQLite cannot create the workspace's -wal and -shm files, so no
command can open it (reading included) and each says so.

File permissions do not stop root; when the tests run as root, the commands run under
`setpriv` without root's power to override them (skipped where setpriv is missing).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from store_helpers import chat, write_jsonl

from curator.workspace import Workspace
from curator.workspace.importer import import_files
from curator.workspace.prepare import Preparer

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions and limits")

ENV = {**os.environ, "HF_HUB_OFFLINE": "1"}


def as_user() -> list[str]:
    """A command prefix under which file permissions apply, even to root."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: file permissions would not apply")
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"]


def curator(*args: str | Path, prefix: Sequence[str] = (),
            **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*prefix, sys.executable, "-m", "curator", *map(str, args)],
                          capture_output=True, text=True, timeout=600, env=ENV,
                          **kw)  # type: ignore[call-overload, no-any-return]


def one_line_error(done: subprocess.CompletedProcess[str], *words: str) -> str:
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def dump(db: Path) -> list[str]:
    """Everything in the workspace, as SQL text (the test holds no other connection to it)."""
    conn = sqlite3.connect(db)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    """A workspace with 6 records, a label set, one accept (something to undo), closed."""
    src = write_jsonl(tmp_path / "data.jsonl", [chat(f"question {i}", f"answer {i}")
                                                for i in range(6)])
    folder = tmp_path / "ws"
    folder.mkdir()
    db = folder / "w.db"
    with Workspace.open(db, create=True) as w:
        import_files(w, [src], Preparer("openai"))
        w.add_label_names(["good"])
        w.set_status([1], "accepted")
    return db


@pytest.fixture
def read_only(ws: Path) -> Iterator[Path]:
    ws.chmod(0o444)
    try:
        yield ws
    finally:
        ws.chmod(0o644)


#: a command of each kind that writes: one record, labels, the label set, undo, import, split
WRITES = [["accept", "2"], ["label", "2", "--add", "good"], ["labels", "--add", "bad"],
          ["note", "2", "hi"], ["undo"], ["import", "../data.jsonl"], ["split"]]


def test_read_only_workspace_refuses_each_write_in_one_line(read_only: Path) -> None:
    before = dump(read_only)
    for args in WRITES:
        done = curator(*args, "-w", read_only, prefix=as_user(), cwd=read_only.parent)
        one_line_error(done, "read-only", "chmod u+w")
    read_only.chmod(0o644)
    assert dump(read_only) == before


def test_read_only_workspace_still_reads(read_only: Path) -> None:
    for args, codes in ((["ls"], (0,)), (["show", "1"], (0,)), (["log"], (0,)),
                        (["report"], (0, 1)), (["ls", "--json"], (0,))):
        done = curator(*args, "-w", read_only, prefix=as_user())
        assert done.returncode in codes and "Traceback" not in done.stderr, (args, done.stderr)
        assert done.stdout.strip(), args
    shown = json.loads(curator("show", "1", "--json", "-w", read_only, prefix=as_user()).stdout)
    assert shown["status"] == "accepted"


def test_read_only_workspace_of_an_older_schema_says_so(tmp_path: Path) -> None:
    from test_store_migrations import build_v1

    old = tmp_path / "old.db"
    build_v1(old)
    before = dump(old)
    old.chmod(0o444)
    try:
        done = curator("ls", "-w", old, prefix=as_user())
        one_line_error(done, "read-only", "older format", "chmod u+w")
    finally:
        old.chmod(0o644)
    assert dump(old) == before
    assert not Path(f"{old}.v1.bak").exists()


@pytest.fixture
def unwritable_folder(ws: Path) -> Iterator[Path]:
    assert not Path(f"{ws}-wal").exists()  # closed cleanly: SQLite must create -wal again
    ws.parent.chmod(0o555)
    try:
        yield ws
    finally:
        ws.parent.chmod(0o755)


def test_workspace_in_unwritable_folder_is_one_line(unwritable_folder: Path) -> None:
    before = sorted(p.name for p in unwritable_folder.parent.iterdir())
    for args in (["ls"], ["show", "1"], ["accept", "2"], ["import", "../data.jsonl"]):
        done = curator(*args, "-w", unwritable_folder, prefix=as_user(),
                       cwd=unwritable_folder.parent)
        one_line_error(done, "folder is not writable", "-wal")
    assert sorted(p.name for p in unwritable_folder.parent.iterdir()) == before


def test_new_workspace_in_unwritable_folder_is_one_line(unwritable_folder: Path) -> None:
    new = unwritable_folder.parent / "new.db"
    done = curator("import", "../data.jsonl", "-w", new, prefix=as_user(),
                   cwd=unwritable_folder.parent)
    one_line_error(done, "cannot create workspace", "not writable")
    assert not new.exists()


# --- a full disk during import ------------------------------------------------------------

BIG_ROWS = 12_000  # three batches of 5,000 and a bit


def big_file(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "big.jsonl",
                       [chat(f"question number {i} about gears", f"answer {i}: turn screw {i}")
                        for i in range(BIG_ROWS)])


def stored(db: Path) -> tuple[str, int, dict[str, int]]:
    """(integrity, records, rows each source's `sources` row says were stored)."""
    conn = sqlite3.connect(db)
    try:
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        records = conn.execute("SELECT count(*) FROM records").fetchone()[0]
        sources = {Path(p).name: n for p, n in conn.execute(
            "SELECT path, new + already_present FROM sources")}
        return integrity, records, sources
    finally:
        conn.close()


def test_file_size_limit_during_import_is_one_line_and_keeps_what_was_committed(
        ws: Path, tmp_path: Path) -> None:
    """The disk refuses a write mid-import (RLIMIT_FSIZE: write() fails with EFBIG, as it fails
    with ENOSPC on a full disk): what earlier batches committed stays, the workspace is whole,
    and the same import run again (space back) adds exactly the rest."""
    src = big_file(tmp_path)
    _, before, _ = stored(ws)
    limit = ws.stat().st_size + 4_500_000  # the first batch's WAL (3.2 MB) fits, not two

    def limited() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # fail the write instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    done = curator("import", src, "-w", ws, preexec_fn=limited)
    line = one_line_error(done, "I/O error", "rolled back", "run it again")
    integrity, records, sources = stored(ws)
    assert integrity == "ok"
    kept = sources["big.jsonl"]
    assert f"after storing {kept} of its rows" in line
    assert 0 < kept < BIG_ROWS and kept % 5000 == 0  # whole batches, the first at least
    assert records == before + kept

    again = curator("import", src, "-w", ws)
    assert again.returncode == 0, again.stderr
    integrity, records, sources = stored(ws)
    assert (integrity, records, sources["big.jsonl"]) == ("ok", before + BIG_ROWS, BIG_ROWS)


FULL_DISK = """
set -e
mount -t tmpfs -o size=4m tmpfs "$1"
cp "$2" "$1/w.db"
set +e
"$3" -m curator import "$4" -w "$1/w.db" 2> "$5"
echo $? >> "$5.rc"
"$3" -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); \
print(c.execute("PRAGMA integrity_check").fetchone()[0], \
      c.execute("SELECT count(*) FROM records").fetchone()[0])' "$1/w.db" > "$6"
"""


def test_full_disk_during_import_is_one_line_and_keeps_the_workspace(
        ws: Path, tmp_path: Path) -> None:
    """A real full disk (ENOSPC): a 4 MB tmpfs, mounted in a user namespace of our own."""
    if shutil.which("unshare") is None or subprocess.run(
            ["unshare", "-rm", "sh", "-c", f"mount -t tmpfs -o size=1m tmpfs {tmp_path}"],
            capture_output=True).returncode:
        pytest.skip("no unprivileged user namespace with tmpfs here")
    src = big_file(tmp_path)
    _, before, _ = stored(ws)
    mnt, err, out = tmp_path / "mnt", tmp_path / "err.txt", tmp_path / "out.txt"
    mnt.mkdir()
    subprocess.run(["unshare", "-rm", "sh", "-c", FULL_DISK, "sh", mnt, ws, sys.executable,
                    src, err, out], check=True, timeout=600, env=ENV)
    rc = int(Path(f"{err}.rc").read_text())
    one_line_error(subprocess.CompletedProcess([], rc, "", err.read_text()), "disk full",
                   "rolled back", "run it again")
    integrity, records = out.read_text().split()
    assert integrity == "ok" and int(records) > before  # the first batch (3.2 MB) fit
