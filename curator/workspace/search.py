"""The full-text search index (`search~WORDS`): an FTS5 table over each record's message text,
filled up to meta `search.indexed_upto` in committed batches. Derived data: building it is not
a decision and is not journaled."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from curator.workspace.filters import SEARCH_META, SEARCH_TEXT_SQL, uses_search
from curator.workspace.meta import read_meta, write_meta

if TYPE_CHECKING:
    from curator.workspace.engine import Workspace


def max_id(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT coalesce(max(id), 0) FROM records").fetchone()[0])


def indexed_upto(conn: sqlite3.Connection) -> int:
    value = read_meta(conn, SEARCH_META)
    return int(value) if value else 0


def search_index_pending(ws: Workspace) -> int:
    """How many records the search index does not cover yet (0: search is instant)."""
    upto = indexed_upto(ws._conn)
    return int(ws._conn.execute(
        "SELECT count(*) FROM records WHERE id > ?", (upto,)).fetchone()[0])


def index_upto(conn: sqlite3.Connection, last: int) -> None:
    """Index records (indexed_upto, last] inside the caller's transaction."""
    upto = indexed_upto(conn)
    if last <= upto:
        return
    conn.execute(
        f"INSERT INTO records_fts(rowid, body) SELECT r.id, {SEARCH_TEXT_SQL} "
        f"FROM records r WHERE r.id > ? AND r.id <= ?", (upto, last))
    write_meta(conn, SEARCH_META, str(last))


def build_search_index(ws: Workspace, progress: Callable[[int, int], None] | None = None, *,
                       batch: int = 20_000,
                       cancelled: Callable[[], bool] | None = None) -> int:
    """Bring the full-text index up to date, one committed batch at a time (so it resumes
    where it stopped after a cancel or a kill). Returns how many records it indexed.

    The index is derived data: building it is not a decision and is not journaled."""
    total = search_index_pending(ws)
    done = 0
    if progress:
        progress(0, total)
    while done < total:
        if cancelled is not None and cancelled():
            break
        with ws._transaction() as tx:
            upto = indexed_upto(tx.conn)
            row = tx.conn.execute(
                "SELECT max(id) FROM (SELECT id FROM records WHERE id > ? ORDER BY id "
                "LIMIT ?)", (upto, batch)).fetchone()
            if row[0] is None:
                break
            index_upto(tx.conn, int(row[0]))
        done = min(total, done + batch)
        if progress:
            progress(done, total)
    return done


def ensure(ws: Workspace, where: Sequence[str]) -> None:
    """Build the index first when `where` searches and the index is behind (a read's filter)."""
    if uses_search(where) and search_index_pending(ws):
        build_search_index(ws)
