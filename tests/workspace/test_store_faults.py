"""Faults for real: SIGKILL in the middle of an import and of bulk changes; two writers at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from store_helpers import chat, write_jsonl

from curator.workspace import Workspace, WorkspaceBusy
from curator.workspace.importer import import_files
from curator.workspace.prepare import Preparer

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).resolve().parent / "store_fault_worker.py"

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL and flock")


def start(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, str(WORKER), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)


def kill_after(proc: subprocess.Popen[str], commits: int) -> int:
    """Read `committed N` lines; SIGKILL after `commits` of them; return the last N seen."""
    assert proc.stdout is not None
    last = 0
    for _ in range(commits):
        line = proc.stdout.readline()
        assert line.startswith("committed"), (line, proc.stderr.read() if proc.stderr else "")
        last = int(line.split()[1])
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the worker finished before it could be killed"
    return last


def big_file(tmp_path: Path, n: int) -> Path:
    return write_jsonl(tmp_path / "big.jsonl",
                       [chat(f"question number {i}", f"answer {i}") for i in range(n)],
                       raw_lines={10: "{broken"})


def test_sigkill_mid_import_keeps_every_committed_batch(tmp_path: Path) -> None:
    n = 60_000
    src = big_file(tmp_path, n)
    db = tmp_path / "w.db"
    committed = kill_after(start("import", str(db), str(src), "500"), 4)

    with Workspace.open(db) as ws:
        assert ws.integrity_check() == "ok"
        stored = ws.count()
        assert committed <= stored < n + 1
        lines = {r[0] for r in ws.connection.execute("SELECT source_line FROM records")}
        assert set(range(1, committed + 1)) <= lines
        assert ws.get(11).status == "rejected"  # the broken line, stored not lost
        assert ws.sources()[0]["complete"] == 0 and ws.sources()[0]["rows"] == stored
        # importing again completes the file without adding anything twice
        report = import_files(ws, [src], Preparer("openai", count_tokens=False))
        assert report.already_present == stored and report.new == n + 1 - stored
        assert ws.count() == n + 1
        assert ws.integrity_check() == "ok"


def test_sigkill_mid_bulk_change_keeps_committed_and_never_half_applies(tmp_path: Path) -> None:
    n, chunk = 40_000, 4_000
    db = tmp_path / "w.db"
    with Workspace.open(db, create=True) as ws:
        import_files(ws, [big_file(tmp_path, n)], Preparer("openai", count_tokens=False))
    committed = kill_after(start("accept", str(db), str(chunk)), 2)

    with Workspace.open(db) as ws:
        assert ws.integrity_check() == "ok"
        accepted = set(ws.select_ids(["status=accepted"]))
        assert set(range(1, committed + 1)) <= accepted
        # every accepted record has its journal row and vice versa: the kill split no transaction
        journaled = {r[0] for r in ws.connection.execute(
            "SELECT jc.record_id FROM journal_changes jc JOIN journal j ON j.id = jc.entry_id "
            "WHERE j.action = 'accept' AND jc.field = 'status'")}
        assert accepted == journaled
        assert len(accepted) % chunk == 0
        # and the committed work can still be undone
        before = len(accepted)
        ws.undo()
        assert ws.count(["status=accepted"]) == before - chunk


def test_second_writer_waits_then_fails_naming_the_holder(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    Workspace.open(db, create=True).close()
    holder = start("hold", str(db), "60")
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with Workspace.open(db, lock_timeout=0.5) as ws:
            assert ws.count() == 0  # readers are not blocked
            with pytest.raises(WorkspaceBusy, match=f"pid {holder.pid}"):
                ws.add_label_names(["x"])
            assert ws.labels() == []
    finally:
        holder.kill()
        holder.wait()
    # the kernel released the dead holder's lock: writing works at once
    with Workspace.open(db, lock_timeout=5) as ws:
        ws.add_label_names(["x"])
        assert ws.labels() == [("x", 0)]
        assert ws.integrity_check() == "ok"


def test_second_writer_waits_for_a_short_holder(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    Workspace.open(db, create=True).close()
    holder = start("hold", str(db), "1")
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    assert holder.poll() is None  # still holding the lock when we start to write
    with Workspace.open(db, lock_timeout=30) as ws:
        ws.add_label_names(["y"])
        assert ws.labels() == [("y", 0)]
    assert holder.wait(timeout=30) == 0
