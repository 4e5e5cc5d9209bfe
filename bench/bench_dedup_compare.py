"""Whether two workspaces hold the same dedup result: marks, cached pairs, journal rows.

    python bench/bench_dedup_compare.py OLD.db NEW.db

For two copies of one workspace, each deduplicated (by old and new code, say), compares every
record's duplicate marks (cluster_id = the keeper, dup_of, similarity), the cached pairs split
reuses (dedup_pairs: a, b, similarity, exact) and its key (meta `dedup.cache`), the journal
rows of each one's last dedup entry (record, field, before, after) and, when a split ran after
it, every record's split; prints what differs.
Opens both read-only. Exit code 0 when all are equal, 1 otherwise.
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path
from typing import Any

QUERIES = {
    "marks": "SELECT record_id, cluster_id, dup_of, similarity FROM record_marks "
             "WHERE cluster_id IS NOT NULL OR dup_of IS NOT NULL OR similarity IS NOT NULL "
             "ORDER BY record_id",
    "pairs": "SELECT a, b, similarity, exact FROM dedup_pairs ORDER BY a, b",
    "cache key": "SELECT value FROM meta WHERE key = 'dedup.cache'",
    "journal rows": "SELECT record_id, field, before, after FROM journal_changes WHERE "
                    "entry_id = (SELECT max(id) FROM journal WHERE action = 'dedup') "
                    "ORDER BY field, record_id",
    "dedup params": "SELECT value FROM meta WHERE key = 'dedup.params'",
    "splits (after a split)": "SELECT record_id, split FROM record_marks "
                              "WHERE split IS NOT NULL ORDER BY record_id",
}


def read(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return {name: conn.execute(sql).fetchall() for name, sql in QUERIES.items()}
    finally:
        conn.close()


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    old, new = read(Path(sys.argv[1])), read(Path(sys.argv[2]))
    same = True
    for name in QUERIES:
        a, b = old[name], new[name]
        if a == b:
            print(f"{name}: equal ({len(a)} rows)")
            continue
        same = False
        only_a, only_b = set(a) - set(b), set(b) - set(a)
        print(f"{name}: DIFFER ({len(a)} vs {len(b)} rows; {len(only_a)} only in the first, "
              f"{len(only_b)} only in the second); first differences:")
        for row in sorted(only_a, key=repr)[:5]:
            print(f"  - {row}")
        for row in sorted(only_b, key=repr)[:5]:
            print(f"  + {row}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
