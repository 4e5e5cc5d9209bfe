"""Whether two workspaces hold the same import: every table, row by row, value by value and type.

    python bench/bench_import_compare.py OLD.db NEW.db

For the same file(s) imported into two new workspaces (by old and new code, say), compares
every row of every table both have (records, issues, sources, journal, journal_changes, meta,
record_labels, record_marks, ...), in rowid order, column by column, except the clock's columns
(records.created, sources.imported_at, journal.ts) and the meta keys that hold a time or a
file's stamp. Values compare by Python type too, so TEXT stored as a BLOB is a difference. Also
compares the schema (tables and indexes with their SQL) and says each file's page size (a
difference there is reported, not counted: the page size is how the file is laid out, not
what it holds). Reads both read-only, streaming. Exit code 0 when all are equal, 1 otherwise.
"""

from __future__ import annotations

import sqlite3
import sys
from itertools import zip_longest
from pathlib import Path

TIMES = {("records", "created"), ("sources", "imported_at"), ("journal", "ts")}
META_SKIP = ("created", "migrated_at")


def _open(path: str) -> sqlite3.Connection:
    return sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)


def _schema(conn: sqlite3.Connection) -> list[tuple[str, str, str]]:
    return sorted(conn.execute("SELECT type, name, coalesce(sql, '') FROM sqlite_master "
                               "WHERE name NOT LIKE 'sqlite_%'"))


def _tables(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "AND sql NOT LIKE 'CREATE VIRTUAL%' AND name NOT LIKE 'records_fts_%' ORDER BY name")]


def _rows(conn: sqlite3.Connection, table: str) -> tuple[list[str], sqlite3.Cursor]:
    cols = [r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')
            if (table, r[1]) not in TIMES]
    without_rowid = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?",
                                 (table,)).fetchone()[0].upper().rstrip().endswith("WITHOUT ROWID")
    order = ", ".join(str(i + 1) for i in range(len(cols))) if without_rowid else "rowid"
    where = ""
    if table == "meta":
        where = (f" WHERE key NOT IN ({', '.join(repr(k) for k in META_SKIP)}) "
                 "AND key NOT LIKE '%file_stamp'")
    sql = f"SELECT {', '.join(cols)} FROM \"{table}\"{where} ORDER BY {order}"
    return cols, conn.execute(sql)


def _same(a: object, b: object) -> bool:
    return type(a) is type(b) and a == b


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__.split("\n\n")[1].strip(), file=sys.stderr)
        return 2
    old, new = _open(sys.argv[1]), _open(sys.argv[2])
    differ = 0
    for label, conn in (("old", old), ("new", new)):
        size = conn.execute("PRAGMA page_size").fetchone()[0]
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        print(f"{label}: page size {size}, {size * pages / 1e6:.0f} MB")
    if _schema(old) != _schema(new):
        differ += 1
        print("schema differs:", sorted(set(_schema(old)) ^ set(_schema(new))))
    tables = sorted(set(_tables(old)) | set(_tables(new)))
    for table in tables:
        if table not in _tables(old) or table not in _tables(new):
            differ += 1
            print(f"{table}: only in one workspace")
            continue
        cols, a = _rows(old, table)
        _, b = _rows(new, table)
        n = bad = 0
        for ra, rb in zip_longest(a, b):
            n += 1
            if ra is None or rb is None:
                bad += 1
                if bad <= 3:
                    print(f"{table}: row {n} only in {'new' if ra is None else 'old'}")
                continue
            if len(ra) != len(rb) or not all(_same(x, y) for x, y in zip(ra, rb, strict=True)):
                bad += 1
                if bad <= 3:
                    diff = [(c, x, y) for c, x, y in zip(cols, ra, rb, strict=True)
                            if not _same(x, y)]
                    print(f"{table}: row {n} differs: " + "; ".join(
                        f"{c}: {str(x)[:60]!r} ({type(x).__name__}) != {str(y)[:60]!r} "
                        f"({type(y).__name__})" for c, x, y in diff))
        print(f"{table}: {n} rows, {'same' if not bad else f'{bad} differ'}")
        differ += bool(bad)
    old.close()
    new.close()
    print("same" if not differ else f"{differ} tables differ")
    return 0 if not differ else 1


if __name__ == "__main__":
    sys.exit(main())
