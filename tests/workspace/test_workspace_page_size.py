"""A workspace this curator creates has 16 KB pages (fewer pages and b-tree splits per
imported record: docs/benchmarks.md, "Import, stop 15"); one made with another page size keeps
it (SQLite cannot change it in WAL mode) and works as before: imports, reads, checks."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

import curator.workspace.engine as engine
from curator.workspace import Workspace
from curator.workspace.importer import import_files
from curator.workspace.prepare import Preparer


def _page_size(db: Path) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return int(conn.execute("PRAGMA page_size").fetchone()[0])
    finally:
        conn.close()


def _file(path: Path, start: int, n: int) -> Path:
    path.write_text("".join(json.dumps({"messages": [
        {"role": "user", "content": f"Question {i}?"},
        {"role": "assistant", "content": f"Answer {i}. " * (i % 7 + 1)}]}) + "\n"
        for i in range(start, start + n)), encoding="utf-8")
    return path


def _contents(db: Path) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT uid, raw, canonical, status, tokens_total, source_line "
                            "FROM records ORDER BY id").fetchall()
    finally:
        conn.close()


def test_a_new_workspace_has_16k_pages(tmp_path: Path) -> None:
    db = tmp_path / "new.db"
    with Workspace.open(db, create=True) as ws:
        import_files(ws, [_file(tmp_path / "a.jsonl", 0, 50)], Preparer("openai"),
                     defer_indexes=True)
    assert _page_size(db) == 16384


def test_an_existing_workspace_keeps_its_page_size(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = _file(tmp_path / "a.jsonl", 0, 300), _file(tmp_path / "b.jsonl", 200, 300)
    old = tmp_path / "old.db"
    with monkeypatch.context() as m:
        m.setattr(engine, "NEW_PAGE_SIZE", 4096)  # a workspace made by an older curator
        with Workspace.open(old, create=True) as ws:
            import_files(ws, [a], Preparer("openai"), defer_indexes=True)
    assert _page_size(old) == 4096
    with Workspace.open(old) as ws:  # reopened (and imported into) by this one
        import_files(ws, [b], Preparer("openai"), defer_indexes=True, workers=2)
        assert ws.integrity_check() == "ok"
    assert _page_size(old) == 4096
    new = tmp_path / "new.db"
    with Workspace.open(new, create=True) as ws:
        import_files(ws, [a], Preparer("openai"), defer_indexes=True)
    with Workspace.open(new) as ws:
        import_files(ws, [b], Preparer("openai"), defer_indexes=True, workers=2)
    assert _page_size(new) == 16384
    assert _contents(old) == _contents(new)
    assert len(_contents(new)) == 500  # 100 of b's rows were a's
