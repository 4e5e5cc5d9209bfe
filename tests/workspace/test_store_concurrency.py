"""The review app and curator commands on one workspace at once (issue 11, item 1).

The review app runs in this process, driven by Pilot: it accepts, rejects, labels, resets and
opens its stats screen, as a reviewer would. Meanwhile threads run curator commands as separate
processes on the same file (`ls`, `log`, `report`, `show`, `accept`, `reject`, `label`) over and
over, and SIGKILL some of them at random moments. Then a fresh process reads the file, once
while the app is still open (what a kill of the app would leave) and once after it quit:
`PRAGMA integrity_check` must say ok, every change the app showed as done must be there, and
every change a command reported done must be there too.

What it guards: closing any descriptor of the database file drops every POSIX lock the process
holds on it, so a process that reads the file's header with open()/close() while it holds a
connection lets another process's last connection delete the WAL that still holds its commits
(SQLite, "How To Corrupt An SQLite Database File", section 2.2). The app opens extra
connections itself (the checkpoint timer, the stats screen, filter scans), so this test fails
while any of those paths opens the file outside SQLite.

It runs for CURATOR_STRESS_SECONDS of key presses (default 8); set it higher for a long run,
e.g. CURATOR_STRESS_SECONDS=600.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from tui_helpers import make_workspace

from curator.tui.app import ReviewApp
from curator.workspace import Workspace, is_sqlite_file
from curator.workspace.importer import ImportFailed, import_files
from curator.workspace.prepare import Preparer

pytestmark = [
    pytest.mark.stress,
    pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL and POSIX locks"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

STRESS_SECONDS = float(os.environ.get("CURATOR_STRESS_SECONDS", "8"))
#: however slow the machine, the test goes on (up to its cap) until the app has done this much
MIN_PRESSES = 10
APP_RECORDS = 40  # the app decides records 1..40
CLI_THREADS = 3
PER_THREAD = 10  # each command thread owns its own 10 records after those
LABELS = ("good", "bad")
MIN_RUNS = 12

#: read the file in a fresh interpreter, with nothing of curator loaded
READ_BACK = """
import json, sqlite3, sys
c = sqlite3.connect(sys.argv[1])
out = {"integrity": [r[0] for r in c.execute("PRAGMA integrity_check")],
       "records": {}}
for rid, status, reason in c.execute("SELECT id, status, reason FROM records"):
    out["records"][rid] = [status, reason, []]
for rid, label in c.execute("SELECT record_id, label FROM record_labels ORDER BY label"):
    out["records"][rid][2].append(label)
print(json.dumps(out))
"""

State = tuple[str, "str | None", tuple[str, ...]]  # status, reason, labels


def rows() -> list[dict[str, object]]:
    n = APP_RECORDS + CLI_THREADS * PER_THREAD
    return [{"messages": [{"role": "user", "content": f"question {i}: how do I fix gear {i}?"},
                          {"role": "assistant", "content": f"answer {i}: turn screw {i}."}]}
            for i in range(n)]


@dataclass
class Commands:
    """What the command threads did. Each thread is the only writer of its records; a write
    that exited 0 is definite, one killed since may or may not have committed."""

    #: (record, "status") or (record, label) -> (definite value, values of killed writes since)
    writes: dict[tuple[int, str], tuple[object, list[object]]] = field(default_factory=dict)
    runs: int = 0
    killed: int = 0
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def command_thread(k: int, path: Path, stop: threading.Event, seed: int, out: Commands) -> None:
    rng = random.Random(seed * 100 + k)
    first = APP_RECORDS + k * PER_THREAD + 1
    owned = range(first, first + PER_THREAD)
    labelled: set[tuple[int, str]] = set()  # what this thread believes; only picks add/remove
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    while not stop.is_set():
        rid = rng.choice(owned)
        kind = rng.choice(["ls", "log", "report", "show", "accept", "reject", "label"])
        write: tuple[str, object] | None = None
        args = [kind, "-w", str(path)]
        if kind == "show":
            args = [kind, str(rng.randint(1, APP_RECORDS + CLI_THREADS * PER_THREAD)),
                    "-w", str(path)]
        elif kind == "accept":
            args += [str(rid)]
            write = ("status", ("accepted", None))
        elif kind == "reject":
            args += [str(rid), "--reason", f"cli {k}"]
            write = ("status", ("rejected", f"cli {k}"))
        elif kind == "label":
            label = rng.choice(LABELS)
            on = (rid, label) not in labelled
            labelled ^= {(rid, label)}
            args += [str(rid), "--add" if on else "--remove", label]
            write = (label, on)
        proc = subprocess.Popen([sys.executable, "-m", "curator", *args], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if rng.random() < 0.3:
            time.sleep(rng.uniform(0.0, 1.0))
            proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate(timeout=120)
        with out.lock:
            out.runs += 1
            if proc.returncode == -signal.SIGKILL:
                out.killed += 1
                if write is not None:
                    key = (rid, write[0])
                    done, maybe = out.writes.get(key, (None, []))
                    out.writes[key] = (done, [*maybe, write[1]])
                continue
            ok = (0, 1) if kind == "report" else (0,)
            if proc.returncode not in ok or "Traceback" in err:
                out.failures.append(f"curator {' '.join(args)} -> {proc.returncode}: {err[-500:]}")
            elif write is not None:
                out.writes[(rid, write[0])] = (write[1], [])


def read_back(path: Path) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", READ_BACK, str(path)], capture_output=True,
                          text=True, timeout=120, check=True)
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def shown(app: ReviewApp, rid: int) -> State:
    """The record as the app's list shows it."""
    row = next(r.summary for r in app.main.window.rows if r.summary.id == rid)
    return row.status, row.reason, tuple(sorted(row.labels))


async def test_review_app_and_killed_commands_lose_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = make_workspace(tmp_path, rows(), labels=LABELS, cluster=False)
    seed = int(os.environ.get("CURATOR_STRESS_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    stop = threading.Event()
    commands = Commands()
    threads = [threading.Thread(target=command_thread, args=(k, path, stop, seed, commands))
               for k in range(CLI_THREADS)]
    app_shows: dict[int, State] = {}
    presses = 0
    app = ReviewApp(path, actor="tester", cursor_blink=False)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            for t in threads:
                t.start()
            start = time.monotonic()
            # at least MIN_RUNS commands, however slow the machine; never past the cap
            while (time.monotonic() - start < STRESS_SECONDS or commands.runs < MIN_RUNS
                   or presses < MIN_PRESSES) \
                    and time.monotonic() - start < max(300.0, 2 * STRESS_SECONDS):
                rid = app.main.current_id()
                assert rid is not None
                if rid > APP_RECORDS:
                    await pilot.press("g")
                    continue
                key = rng.choice("aaaaXX12pS")
                if key == "S":  # the stats screen opens its own connection; look, go back
                    await pilot.press("S")
                    await pilot.pause(0.2)
                    await pilot.press("escape")
                    continue
                await pilot.press(key)
                presses += 1
                app_shows[rid] = shown(app, rid)
            # What another process reads while the app is still open is what a kill of the
            # app now would leave (every commit is in the WAL, fsynced): check it before the
            # app's own last checkpoint at exit can paper over a lost WAL.
            stop.set()
            for t in threads:
                t.join(timeout=180)
            while_open = read_back(path)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=180)

    print(f"seed {seed}: {presses} key presses, {commands.runs} commands, "
          f"{commands.killed} of them killed")  # shown with -s
    assert presses >= MIN_PRESSES and commands.runs >= MIN_RUNS, (presses, commands.runs)
    assert not commands.failures, "\n".join(commands.failures[:5])
    for when, found in (("while the app was open", while_open), ("after", read_back(path))):
        check_file(found, app_shows, commands, f"seed {seed}, {when}")
    # the file reopens and writes again
    with Workspace.open(path) as ws:
        assert ws.integrity_check() == "ok"
        ws.set_status([1], "accepted")


def check_file(found: dict[str, object], app_shows: dict[int, State], commands: Commands,
               when: str) -> None:
    assert found["integrity"] == ["ok"], f"{when}: {found['integrity']}"
    records = {int(k): (v[0], v[1], tuple(v[2]))
               for k, v in found["records"].items()}  # type: ignore[attr-defined]
    lost = {rid: (want, records[rid]) for rid, want in app_shows.items() if records[rid] != want}
    assert not lost, (f"{when}: {len(lost)} of {len(app_shows)} records the app showed as "
                      f"changed differ in the file (shown, stored): {dict(list(lost.items())[:5])}")
    for (rid, key), (done, maybe) in commands.writes.items():
        if key == "status":
            default: object = ("pending", None)
            stored: object = records[rid][:2]
        else:
            default, stored = False, key in records[rid][2]
        allowed = [default if v is None else v for v in [done, *maybe]]
        assert stored in allowed, (f"{when}: record {rid} {key} is {stored}, commands "
                                   f"left one of {allowed}")


OPEN_CLOSE = """
import sys
from curator.workspace import Workspace, is_sqlite_file
Workspace.open(sys.argv[1]).close()
"""


def test_opening_twice_in_one_process_keeps_the_first_connections_commits(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The mechanism of the stress test above, step by step: this process holds a workspace
    open and opens it a second time (as the app's timer and screens do); another process then
    opens and closes it. Nothing the first connection commits before or after may be lost."""
    monkeypatch.chdir(tmp_path)
    path = make_workspace(tmp_path, rows()[:5], labels=LABELS, cluster=False)
    with Workspace.open(path) as app:
        app.set_status_one(1, "accepted")
        Workspace.open(path).close()
        subprocess.run([sys.executable, "-c", OPEN_CLOSE, str(path)], check=True, timeout=120)
        app.set_status_one(2, "rejected", "off topic")
        app.set_label_one(3, "good", True)
        found = read_back(path)
    assert found["integrity"] == ["ok"]
    assert found["records"]["1"][0] == "accepted"  # type: ignore[index]
    assert found["records"]["2"][:2] == ["rejected", "off topic"]  # type: ignore[index]
    assert found["records"]["3"][2] == ["good"]  # type: ignore[index]


def test_import_refuses_the_workspaces_own_files(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading the workspace (or its -wal, -shm) as data would open it outside SQLite in the
    process that holds it: refused, and nothing is imported."""
    monkeypatch.chdir(tmp_path)
    path = make_workspace(tmp_path, rows()[:5], labels=LABELS, cluster=False)
    with Workspace.open(path) as ws:
        ws.set_status_one(1, "accepted")  # the WAL exists now
        for own in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            assert own.exists()
            with pytest.raises(ImportFailed, match="workspace's own file"):
                import_files(ws, [own], Preparer("openai"))
            assert ws.count() == 5
    done = subprocess.run([sys.executable, "-m", "curator", "import", str(path), "-w", str(path)],
                          capture_output=True, text=True, timeout=120)
    # The CLI's pre-check names it before the workspace is opened (an SQLite file is no data);
    # import_files refuses it by identity once the workspace is open (above).
    assert done.returncode == 2, done.stderr
    assert "workspace's own file" in done.stderr or "SQLite database" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert read_back(path)["records"]["1"][0] == "accepted"  # type: ignore[index]


def test_is_sqlite_file_answers_without_changing_the_file(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """`curator review PATH` decides workspace-or-data-file through SQLite (is_sqlite_file),
    not by reading the header with open()."""
    monkeypatch.chdir(tmp_path)
    path = make_workspace(tmp_path, rows()[:3], labels=LABELS, cluster=False)
    empty, text = tmp_path / "empty.db", tmp_path / "data.jsonl"
    empty.touch()
    assert is_sqlite_file(path)
    assert not any(is_sqlite_file(p) for p in (empty, text, tmp_path, tmp_path / "none.db"))
    assert empty.read_bytes() == b"" and text.read_text().startswith("{")
    with Workspace.open(path) as ws:  # held open (a WAL exists): still a database
        ws.set_status_one(1, "accepted")
        assert is_sqlite_file(path) and not is_sqlite_file(f"{path}-wal")
