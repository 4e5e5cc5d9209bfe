"""Workspace-level values (table `meta`): dotted keys, each owned by one command, with text
values (JSON where the owner says so). Reading and writing them on a connection; the journaled
write is `Tx.set_meta` (journal.py)."""

from __future__ import annotations

import sqlite3
from typing import Any

import orjson


def read_meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def read_meta_json(conn: sqlite3.Connection, *keys: str) -> Any:
    """The first of `keys` present in meta, parsed as JSON (a value that is not JSON is
    returned as the string it is); None when none is present."""
    for key in keys:
        text = read_meta(conn, key)
        if text is not None:
            try:
                return orjson.loads(text)
            except orjson.JSONDecodeError:
                return text
    return None


def write_meta(conn: sqlite3.Connection, key: str, value: str | None) -> None:
    """Set (None: delete) a key, not journaled: inside the caller's transaction."""
    if value is None:
        conn.execute("DELETE FROM meta WHERE key = ?", (key,))
    else:
        conn.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value)
        )
