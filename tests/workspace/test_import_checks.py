"""Import inserts records with SQLite's CHECK constraints evaluated in Python (`status IN
(...)`, `kind IN (...)`: SQLite 3.40 builds a temporary b-tree per row for each, a quarter of
the insert's CPU, docs/benchmarks.md "Import, stop 15"). The constraints still hold: a record
with another status or kind is refused with the IntegrityError SQLite raises, nothing of its
batch is stored, on the deferred-index owner's path and the checked one alike, and the
connection enforces the constraints again afterwards. A record without a status is refused too
(SQLite's NOT NULL under INSERT OR IGNORE skipped such a row without a word)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from curator.workspace import Workspace
from curator.workspace.sources import UidOwner, defer_indexes, import_rows


def _row(uid: str, line: int, status: str = "pending", kind: str = "chat") -> tuple[object, ...]:
    return (uid, "f.jsonl", line, line, "{}", "openai-chat", "{}", status, None, 1, 1, (), kind,
            None)


def _totals() -> dict[str, int]:
    return {"rows": 0, "new": 0, "already_present": 0, "rejected": 0}


def _ids(ws: Workspace) -> list[str]:
    return [r[0] for r in ws.connection.execute("SELECT uid FROM records ORDER BY id")]


@pytest.mark.parametrize("owned", [True, False], ids=["owner", "checked"])
@pytest.mark.parametrize("bad", [{"status": "bogus"}, {"kind": "bogus"}, {"status": None}],
                         ids=["status", "kind", "no-status"])
def test_a_record_out_of_the_check_is_refused_with_its_batch(tmp_path: Path, owned: bool,
                                                             bad: dict[str, str]) -> None:
    with Workspace.open(tmp_path / "w.db", create=True) as ws:
        owner = None
        if owned:
            assert defer_indexes(ws, owner="tok")
            owner = UidOwner("tok")
        iid = ws.begin_import("f.jsonl")
        assert import_rows(ws, iid, [_row("a", 1)], _totals(), owner) == [True]
        with pytest.raises(sqlite3.IntegrityError, match="constraint failed"):
            import_rows(ws, iid, [_row("b", 2), _row("c", 3, **bad), _row("d", 4)], _totals(),
                        owner)
        assert _ids(ws) == ["a"]
        # the connection checks again: SQLite itself refuses the same value now
        with pytest.raises(sqlite3.IntegrityError, match="CHECK constraint failed"):
            ws.connection.execute("UPDATE records SET status = 'bogus'")
        assert ws.connection.execute("PRAGMA ignore_check_constraints").fetchone() == (0,)
        assert import_rows(ws, iid, [_row("b", 2), _row("c", 3, "rejected", "preference")],
                           _totals(), owner) == [True, True]
        assert _ids(ws) == ["a", "b", "c"]
        assert ws.integrity_check() == "ok"
