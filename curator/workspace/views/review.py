"""Read-only queries for the review app (curator/tui): the stats screen's counts, the record
list's turn counts and id range, the duplicates screen's clusters. The app itself speaks no SQL;
these read through the workspace's connection and never write."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from curator.workspace.engine import Workspace

#: bars in the token histogram
BUCKETS = 16


@dataclass
class Stats:
    """What the stats screen shows (it renders; this is only the counting)."""

    total: int = 0
    status: dict[str, int] = field(default_factory=dict)
    labels: list[tuple[str, int]] = field(default_factory=list)
    splits: list[tuple[str, int]] = field(default_factory=list)  # records an export writes
    split_duplicates: dict[str, int] = field(default_factory=dict)  # marked duplicate, apart
    issues: list[tuple[str, str, int]] = field(default_factory=list)  # code, severity, records
    histogram: list[tuple[int, int, int]] = field(default_factory=list)  # (lo, hi, count)
    over_limit: int = 0
    uncounted: int = 0


def data_version(ws: Workspace) -> tuple[int, int, int]:
    """Changes whenever a decision, an undo or an import lands: (last journal id, journal
    entries not in state 'done', last record id)."""
    c = ws.connection
    j = c.execute("SELECT coalesce(max(id), 0), "
                  "(SELECT count(*) FROM journal WHERE state != 'done') FROM journal").fetchone()
    n = c.execute("SELECT coalesce(max(id), 0) FROM records").fetchone()[0]
    return int(j[0]), int(j[1]), int(n)


def stats(ws: Workspace, limit: int | None) -> Stats:
    """Counts by status, label and split, issues by code, and the token histogram (BUCKETS
    bars, widened to reach `limit` when records go past it)."""
    # here, not at the top: the export module's chain (numpy) is not needed to open the app
    from curator.workspace.export import split_sizes

    c = ws.connection
    s = Stats()
    s.status = ws.status_counts()
    s.total = sum(s.status.values())
    s.labels = ws.labels()
    # one count per split, as `curator split` and export count it; duplicates apart
    sizes, s.split_duplicates, unsplit = split_sizes(ws)
    s.splits = [*sizes.items(), *([("none", unsplit)] if unsplit else [])]
    s.issues = [(r[0], r[1], r[2]) for r in c.execute(
        "SELECT code, min(severity), count(DISTINCT record_id) FROM issues GROUP BY code "
        "ORDER BY 3 DESC, 1")]
    lo, hi = c.execute("SELECT min(tokens_total), max(tokens_total) FROM records").fetchone()
    s.uncounted = c.execute(
        "SELECT count(*) FROM records WHERE tokens_total IS NULL").fetchone()[0]
    if lo is not None:
        top = max(hi, limit or 0) if limit and hi > limit else hi
        width = max(1, -(-(top - lo + 1) // BUCKETS))
        counts = dict(c.execute(
            "SELECT (tokens_total - ?) / ?, count(*) FROM records WHERE tokens_total IS NOT NULL "
            "GROUP BY 1", (lo, width)).fetchall())
        s.histogram = [(lo + b * width, lo + (b + 1) * width - 1, counts.get(b, 0))
                       for b in range(BUCKETS) if lo + b * width <= hi]
        if limit:
            s.over_limit = c.execute("SELECT count(*) FROM records WHERE tokens_total > ?",
                                     (limit,)).fetchone()[0]
    return s


def turn_counts(ws: Workspace, ids: Sequence[int]) -> dict[int, int]:
    """Messages per record (of its current text, else as imported), for these ids; records
    whose text is not valid JSON are left out."""
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    return {int(rid): int(n) for rid, n in ws.connection.execute(
        f"SELECT id, json_array_length(coalesce(current, canonical), '$.messages') "
        f"FROM records WHERE id IN ({marks}) AND json_valid(coalesce(current, canonical))",
        list(ids)).fetchall() if n is not None}


def id_range(ws: Workspace) -> tuple[int, int] | None:
    """The lowest and highest record id; None for an empty workspace."""
    low, high = ws.connection.execute("SELECT min(id), max(id) FROM records").fetchone()
    return None if low is None else (int(low), int(high))


def duplicate_clusters(ws: Workspace) -> list[int]:
    """The ids of the duplicate clusters with more than one member, in order."""
    return [int(r[0]) for r in ws.connection.execute(
        "SELECT cluster_id FROM record_marks WHERE cluster_id IS NOT NULL "
        "GROUP BY cluster_id HAVING count(*) > 1 ORDER BY cluster_id")]
