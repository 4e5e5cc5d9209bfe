"""`curator import` into an empty workspace defers the secondary index whose keys come in random
order (token counts) and builds it at its end; a killed import leaves it for the next open to
build (issue 15)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from curator.workspace import Workspace
from curator.workspace.sources import DEFERRED_INDEXES, DEFERRED_INDEXES_KEY


def _rows(n: int) -> list[str]:
    """Chat rows with a mix of outcomes: pending, rejected (empty answer), warnings, a line
    that does not parse, repeats of one content."""
    out = []
    for i in range(n):
        if i % 97 == 0:
            out.append('{"messages": [')  # does not parse: rejected, json.* issue
            continue
        answer = "" if i % 11 == 0 else f"Answer number {i % 500} about topic {i % 37}."
        msgs = [{"role": "user", "content": f"Question {i % 700}: what is {i % 13} plus {i % 5}?"},
                {"role": "assistant", "content": answer}]
        if i % 7 == 0:
            msgs.insert(0, {"role": "system", "content": "You are terse. " * (i % 3 + 1)})
        out.append(json.dumps({"messages": msgs}))
    return out


def _write(path: Path, n: int) -> Path:
    path.write_text("\n".join(_rows(n)) + "\n", encoding="utf-8")
    return path


def _indexes(db: Path) -> dict[str, str]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return dict(conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"))
    finally:
        conn.close()


def _fresh_indexes(tmp: Path) -> dict[str, str]:
    db = tmp / "fresh.db"
    Workspace.open(db, create=True).close()
    return _indexes(db)


def _curator(*args: str, cwd: Path = Path("/")) -> subprocess.Popen[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.Popen([sys.executable, "-m", "curator", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _stored(db: Path) -> tuple[int, int, int]:
    """(records, the sources row's committed count, complete) as another reader sees them."""
    if not db.exists():
        return 0, 0, 0
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        n = conn.execute("SELECT count(*) FROM records").fetchone()[0]
        row = conn.execute("SELECT rows, complete FROM sources ORDER BY id LIMIT 1").fetchone()
        return (n, *row) if row else (n, 0, 0)
    except sqlite3.OperationalError:  # not created yet
        return 0, 0, 0
    finally:
        conn.close()


def test_import_into_an_empty_workspace_ends_with_every_index(tmp_path: Path) -> None:
    src = _write(tmp_path / "a.jsonl", 3000)
    db = tmp_path / "w.db"
    proc = _curator("import", str(src), "-w", str(db), "--workers", "1", "--json")
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 1, err  # some rows are rejected
    assert json.loads(out)["new"] == 3000
    assert _indexes(db) == _fresh_indexes(tmp_path)
    with Workspace.open(db) as ws:
        assert ws.meta(DEFERRED_INDEXES_KEY) is None
        assert ws.integrity_check() == "ok"


def test_the_build_sorts_in_small_runs_and_gives_the_connection_back_as_it_was(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The deferred indexes are built with SQLite's sorter in small runs and helper threads
    (the page cache `sources.BUILD_CACHE_KIB`, `BUILD_THREADS`, not the import's large one),
    both at the end and when a second file's first batch builds the uid index inside its own
    transaction; the connection gets its page cache and thread setting back each time, and the
    indexes are a new workspace's."""
    from curator.workspace import sources
    from curator.workspace.importer import import_files

    first, second = _write(tmp_path / "a.jsonl", 1500), tmp_path / "b.jsonl"
    second.write_text("\n".join(_rows(1600)[1500:]) + "\n", encoding="utf-8")
    db = tmp_path / "w.db"
    during: list[tuple[int, int]] = []
    after: list[int] = []
    sorting = sources._sorting

    @contextlib.contextmanager
    def watched(c: sqlite3.Connection) -> Iterator[None]:
        with sorting(c):  # what the connection is set to while SQLite builds an index
            during.append((c.execute("PRAGMA cache_size").fetchone()[0],
                           c.execute("PRAGMA threads").fetchone()[0]))
            yield
        after.append(c.execute("PRAGMA cache_size").fetchone()[0])  # the import's, again

    monkeypatch.setattr(sources, "_sorting", watched)
    # what `PRAGMA threads` gives for BUILD_THREADS (SQLite caps it at its compile-time limit)
    threads = sqlite3.connect(":memory:").execute(
        f"PRAGMA threads = {sources.BUILD_THREADS}").fetchone()[0]
    with Workspace.open(db, create=True) as ws:
        c = ws._conn
        c.execute("PRAGMA threads = 0")
        cache = c.execute("PRAGMA cache_size").fetchone()[0]
        report = import_files(ws, [first, second], defer_indexes=True)
        assert c.execute("PRAGMA cache_size").fetchone()[0] == cache
        assert c.execute("PRAGMA threads").fetchone()[0] == 0
        assert ws.meta(DEFERRED_INDEXES_KEY) is None
        assert ws.integrity_check() == "ok"
    assert report.rows == 1600 and report.files[1].new > 0
    # the uid index in the second file's first batch, the token index at the end
    assert during == [(-sources.BUILD_CACHE_KIB, threads)] * len(DEFERRED_INDEXES)
    assert after == [-sources.IMPORT_CACHE_KIB] * len(DEFERRED_INDEXES)
    assert sources.BUILD_CACHE_KIB < sources.IMPORT_CACHE_KIB
    assert _indexes(db) == _fresh_indexes(tmp_path)


def test_an_import_into_a_workspace_with_records_keeps_its_indexes(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    first = _curator("import", str(_write(tmp_path / "a.jsonl", 200)), "-w", str(db),
                     "--workers", "1")
    first.communicate(timeout=300)
    # the second import must not drop the indexes of the records the first one stored
    from curator.workspace.sources import defer_indexes
    with Workspace.open(db) as ws:
        assert defer_indexes(ws) is False
        assert ws.meta(DEFERRED_INDEXES_KEY) is None
    assert _indexes(db) == _fresh_indexes(tmp_path)


def test_a_killed_import_leaves_its_indexes_for_the_next_open(tmp_path: Path) -> None:
    src = _write(tmp_path / "big.jsonl", 60_000)
    db = tmp_path / "w.db"
    proc = _curator("import", str(src), "-w", str(db), "--workers", "1")
    deadline = time.monotonic() + 240
    try:
        while True:  # kill it once some batches are committed and before it completes
            records, rows, complete = _stored(db)
            assert not complete, "the import finished before it could be killed"
            if records >= 5000:
                break
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    records, rows, complete = _stored(db)
    assert 0 < records < 60_000 and not complete
    assert records == rows  # every committed batch is there, the sources row says how far

    fresh = _fresh_indexes(tmp_path)
    missing = set(fresh) - set(_indexes(db))
    # the import had dropped the indexes whose keys come in random order (token counts, the
    # uid's UNIQUE index), and named them; the others (keys that grow with the record id in a
    # few groups) it kept up to date
    assert missing == set(DEFERRED_INDEXES) == {"records_tokens", "records_uid"}
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    named = [n for n, _ in json.loads(conn.execute(
        "SELECT value FROM meta WHERE key = ?", (DEFERRED_INDEXES_KEY,)).fetchone()[0])]
    conn.close()
    assert set(named) == missing

    # the next command (any) builds them under the write lock and says so
    ls = _curator("ls", "-w", str(db), "--where", "status=rejected", "--limit", "1")
    _, err = ls.communicate(timeout=300)
    assert ls.returncode == 0, err
    assert "building" in err and "indexes" in err and "records_tokens" in err
    assert "records_uid" in err
    assert _indexes(db) == fresh

    with Workspace.open(db) as ws:
        assert ws.meta(DEFERRED_INDEXES_KEY) is None
        assert ws.integrity_check() == "ok"
        c = ws.connection
        assert c.execute("SELECT count(*) FROM records").fetchone()[0] == records
        # filters answer through the rebuilt indexes, as a scan does
        for where, scan in (
            (["status=rejected"], "SELECT count(*) FROM records NOT INDEXED "
                                  "WHERE status = 'rejected'"),
            (["status=pending"], "SELECT count(*) FROM records NOT INDEXED "
                                 "WHERE status = 'pending'"),
            (["tokens>20"], "SELECT count(*) FROM records NOT INDEXED WHERE tokens_total > 20"),
            (["issue=chat.content_empty"],
             "SELECT count(DISTINCT record_id) FROM issues NOT INDEXED "
             "WHERE code = 'chat.content_empty'"),
        ):
            expected = c.execute(scan).fetchone()[0]
            assert expected > 0, where
            assert ws.count(where) == expected, where
        plan = " ".join(str(r) for r in c.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM records WHERE status = 'rejected'"))
        assert "records_status" in plan
        plan = " ".join(str(r) for r in c.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM records WHERE tokens_total > 20"))
        assert "records_tokens" in plan
        plan = " ".join(str(r) for r in c.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM records WHERE uid = 'x'"))
        assert "records_uid" in plan
        # the uids went in unique without the index, and the index holds them
        assert c.execute("SELECT count(DISTINCT uid) FROM records").fetchone()[0] == records

    # importing the file again adds exactly the rows the kill lost
    again = _curator("import", str(src), "-w", str(db), "--workers", "1", "--json")
    out, err = again.communicate(timeout=300)
    assert again.returncode == 1, err
    report = json.loads(out)
    assert report["new"] == 60_000 - records and report["already_present"] == records
    assert _indexes(db) == fresh
    with Workspace.open(db) as ws:
        assert ws.integrity_check() == "ok"
        assert ws.meta(DEFERRED_INDEXES_KEY) is None
