"""Reading records: counts, streamed ids, keyset pages of light rows for a list view, and one
record's details. Never writes; a `search~` filter first brings the search index up to date."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import orjson

from curator.issues import Issue
from curator.workspace.errors import FilterError, UnknownRecords
from curator.workspace.filters import compile_filters
from curator.workspace.journal import dumps, issues_of
from curator.workspace.records import STATUSES, Page, RecordDetail, RecordSummary
from curator.workspace.search import ensure
from curator.workspace.selection import RECORDS_R_MARKED

if TYPE_CHECKING:
    from curator.workspace.engine import Workspace


def count(ws: Workspace, where: Sequence[str] = ()) -> int:
    sql, params = compile_filters(where)
    ensure(ws, where)
    return int(ws._conn.execute(
        f"SELECT count(*) FROM records r WHERE {sql}", params).fetchone()[0])


def status_counts(ws: Workspace) -> dict[str, int]:
    counts = dict.fromkeys(STATUSES, 0)
    counts.update(ws._conn.execute(
        "SELECT status, count(*) FROM records GROUP BY status").fetchall())
    return counts


def select_ids(ws: Workspace, where: Sequence[str] = ()) -> Iterator[int]:
    """Matching record ids in id order, streamed (the cursor is read lazily)."""
    sql, params = compile_filters(where)
    ensure(ws, where)
    for row in ws._conn.execute(f"SELECT r.id FROM records r WHERE {sql} ORDER BY r.id",
                                params):
        yield row[0]


_ORDERS = {"id": "r.id", "tokens": "coalesce(r.tokens_total, -1)",
           "cluster": "coalesce(rm.cluster_id, -1)"}


def page(
    ws: Workspace,
    where: Sequence[str] = (),
    order: str = "id",
    after: tuple[Any, int] | None = None,
    offset: int = 0,
    limit: int = 100,
) -> Page:
    """One page of light rows for a list view.

    `order` is id, tokens or cluster, with a leading '-' for descending. Page forward with
    `after=page.next_key` (keyset: as fast at row 900,000 as at row 0); `offset` is for
    jumping and costs a scan of the skipped rows.
    """
    desc = order.startswith("-")
    key_sql = _ORDERS.get(order.lstrip("-"))
    if key_sql is None:
        raise FilterError(f"unknown order {order!r}; choose id, tokens, cluster (- = desc)")
    sql, params = compile_filters(where)
    ensure(ws, where)
    cmp, direction = ("<", "DESC") if desc else (">", "ASC")
    if after is not None:
        sql += f" AND ({key_sql}, r.id) {cmp} (?, ?)"
        params = [*params, after[0], after[1]]
    rows = ws._conn.execute(
        f"SELECT {_SUMMARY_COLS}, {key_sql} "
        f"FROM {RECORDS_R_MARKED} WHERE {sql} ORDER BY {key_sql} {direction}, r.id {direction} "
        f"LIMIT ? OFFSET ?",
        [*params, limit + 1, offset],
    ).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    out = [_summary(r) for r in rows]
    next_key = (rows[-1][11], rows[-1][0]) if more and rows else None
    return Page(out, next_key)


def summaries(ws: Workspace, ids: Sequence[int]) -> list[RecordSummary]:
    """The list-view rows of these records, in the order given (unknown ids left out):
    for a list of matches found elsewhere (the review app's `text~` scan)."""
    if not ids:
        return []
    rows = ws._conn.execute(
        f"SELECT {_SUMMARY_COLS} FROM {RECORDS_R_MARKED} "
        f"WHERE r.id IN (SELECT value FROM json_each(?))",
        (dumps([int(i) for i in ids]),)).fetchall()
    by_id = {r[0]: _summary(r) for r in rows}
    return [by_id[i] for i in ids if i in by_id]


_SUMMARY_COLS = (
    "r.id, r.status, r.reason, rm.split, rm.cluster_id, rm.dup_of, r.tokens_total, "
    "r.current IS NOT NULL, "
    "(SELECT group_concat(label, ',') FROM record_labels WHERE record_id = r.id), "
    "(SELECT group_concat(code, ',') FROM issues WHERE record_id = r.id), "
    "CASE WHEN coalesce(r.current, r.canonical) IS NULL THEN substr(r.raw, 1, 200) ELSE "
    "coalesce((SELECT substr(CAST(json_extract(m.value, '$.content') AS TEXT), 1, 200) "
    "FROM json_each(coalesce(r.current, r.canonical), "
    "CASE r.kind WHEN 'chat' THEN '$.messages' ELSE '$.prompt' END) m "
    "WHERE json_extract(m.value, '$.role') NOT IN ('system', 'developer') LIMIT 1), "
    "substr(coalesce(r.current, r.canonical), 1, 200)) END"
)


def _summary(r: Sequence[Any]) -> RecordSummary:
    return RecordSummary(r[0], r[1], r[2], r[3], r[4], r[5], r[6], bool(r[7]),
                         tuple(r[8].split(",")) if r[8] else (),
                         tuple(dict.fromkeys(r[9].split(","))) if r[9] else (),
                         " ".join((r[10] or "").split()))


def get(ws: Workspace, record_id: int) -> RecordDetail:
    """Everything about one record."""
    row = ws._conn.execute(
        "SELECT id, uid, source_file, source_line, example_index, raw, format, canonical, "
        "current, status, reason, note, tokens_total, tokens_trained, cluster_id, dup_of, "
        "similarity, split, created, kind, tokens_sides FROM records LEFT JOIN record_marks "
        "ON record_marks.record_id = records.id WHERE id = ?", (record_id,)
    ).fetchone()
    if row is None:
        raise UnknownRecords([record_id])
    labels = [r[0] for r in ws._conn.execute(
        "SELECT label FROM record_labels WHERE record_id = ? ORDER BY label", (record_id,))]
    issues = [
        Issue(i["code"], i["severity"], i["message"], row[2], row[3], row[4],
              i["message_index"], i["path"], i["hint"])
        for i in issues_of(ws._conn, record_id)
    ]
    return RecordDetail(
        row[0], row[1], row[2], row[3], row[4], row[5], row[6],
        orjson.loads(row[7]) if row[7] is not None else None,
        orjson.loads(row[8]) if row[8] is not None else None,
        row[9], row[10], row[11], row[12], row[13], row[14], row[15], row[16], row[17],
        row[18], labels, issues, row[19],
        orjson.loads(row[20]) if row[20] is not None else None,
    )
