"""The workspace side of coverage (curator/quality/coverage.py): the prompts of the records an
export would write, the topics stored (tables `topics` and `record_topics`, migrations.py), and
whether they still describe the records.

The topics are a cache of facts about the prompts, not decisions: not journaled (undo does not
touch them), replaced whole by each run. They are computed over the included records (not
rejected, not marked duplicate, with a chat form: what `curator export` writes and
`curator report` measures). Each record's row keeps a hash of the prompt that was clustered, so
the table is known to be stale when a record is added, rejected or marked duplicate, or its
prompt edited; it is then recomputed, never patched (`curator coverage` again).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

import orjson

from curator.quality.coverage import (
    EXAMPLE_CHARS,
    CoverageSummary,
    TopicRow,
    find_topics,
    prompt_of,
)
from curator.workspace import Workspace
from curator.workspace.selection import RECORDS_MARKED, included_sql

PARAMS_KEY = "coverage.params"
_INCLUDED = included_sql(False)


def prompt_hash(prompt: str) -> str:
    return hashlib.blake2b(prompt.encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()


def prompts(ws: Workspace) -> list[tuple[int, str]]:
    """(record id, prompt) of every included record, in id order ("" for no prompt text)."""
    out = []
    for rid, text in ws.connection.execute(
            f"SELECT id, CAST(coalesce(current, canonical) AS BLOB) FROM {RECORDS_MARKED} "
            f"WHERE {_INCLUDED} ORDER BY id"):
        try:
            example = orjson.loads(text)
        except orjson.JSONDecodeError:
            example = None
        out.append((int(rid), prompt_of(example)))
    return out


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def compute(ws: Workspace, *, topics: int | None = None, seed: int = 0) -> CoverageSummary:
    """Cluster the included records' prompts into topics and store them (replacing the last
    run's), in one transaction. Raises curator.quality.embed.EmbeddingUnavailable without the
    embedding model."""
    with ws.snapshot():
        rows = prompts(ws)
    texts = [p for _, p in rows]
    cov = find_topics(texts, topics=topics, seed=seed)
    topic_rows = [(t.topic, t.size, t.share, rows[t.example][0],
                   t.example_text[:EXAMPLE_CHARS], orjson.dumps(list(t.words)).decode(),
                   t.cohesion, t.flag) for t in cov.topics]
    params = {"records": cov.clustered, "without_prompt": len(rows) - cov.clustered,
              "median": cov.median, "computed_at": _now(), "topics_asked": topics, "seed": seed}
    assignment = cov.assignment.tolist()
    with ws._transaction() as tx:
        tx.conn.execute("DELETE FROM topics")
        tx.conn.execute("DELETE FROM record_topics")
        tx.conn.executemany(
            "INSERT INTO topics(topic, size, share, example_record, example, words, cohesion, "
            "flag) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", topic_rows)
        tx.conn.executemany(
            "INSERT INTO record_topics(record_id, topic, prompt_hash) VALUES (?, ?, ?)",
            ((rid, topic, prompt_hash(p)) for (rid, p), topic in zip(rows, assignment,
                                                                      strict=True)))
        tx.write_meta(PARAMS_KEY, orjson.dumps(params).decode())
    summary = load(ws, check=False)
    assert summary is not None
    return summary


def load(ws: Workspace, *, check: bool = True) -> CoverageSummary | None:
    """The stored topics (None when coverage was never computed); with `check`, how the
    included records changed since (reads every included record's prompt)."""
    params = ws.meta_json(PARAMS_KEY)
    if not isinstance(params, dict):
        return None
    rows = [TopicRow(int(t), int(size), float(share), tuple(orjson.loads(words)),
                     float(cohesion or 0.0), flag, example_record, example or "")
            for t, size, share, example_record, example, words, cohesion, flag
            in ws.connection.execute(
                "SELECT topic, size, share, example_record, example, words, cohesion, flag "
                "FROM topics ORDER BY topic")]
    added = changed = removed = 0
    if check:
        stored = dict(ws.connection.execute("SELECT record_id, prompt_hash FROM record_topics"))
        for rid, prompt in prompts(ws):
            h = stored.pop(rid, None)
            if h is None:
                added += 1
            elif h != prompt_hash(prompt):
                changed += 1
        removed = len(stored)
    asked = params.get("topics_asked")
    return CoverageSummary(rows, int(params.get("records") or 0),
                           int(params.get("without_prompt") or 0),
                           float(params.get("median") or 0.0), str(params.get("computed_at")),
                           asked if isinstance(asked, int) else None, added, changed, removed)


def topic_of(ws: Workspace, record_ids: Sequence[int]) -> dict[int, int]:
    """The stored topic of each of these records that has one."""
    out: dict[int, int] = {}
    ids = list(record_ids)
    for i in range(0, len(ids), 900):
        part = ids[i:i + 900]
        out.update(ws.connection.execute(
            f"SELECT record_id, topic FROM record_topics WHERE record_id IN "
            f"({','.join('?' * len(part))})", part))
    return out


def filter_sql(op: str, topic: int) -> tuple[str, list[Any]]:
    """A condition over `records r` for `topic=N` / `topic!=N` (a record never clustered has no
    topic: it matches `topic!=N`)."""
    neg = "NOT " if op == "!=" else ""
    return f"r.id {neg}IN (SELECT record_id FROM record_topics WHERE topic = ?)", [topic]
