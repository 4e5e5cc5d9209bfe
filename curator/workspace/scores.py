"""Model scores per record (`curator score`): read, write, and which records need scoring.

A score is a fact about a record's content under one model, not a decision: it is not journaled
(undo does not touch it), and it is valid for the text it was computed on. `content_hash` is that
text's hash, so a record is scored again when it is new, when it was edited (or an edit undone)
since, or when it was scored under another model. Each batch is committed on its own, so a killed
run keeps what it finished and the next run goes on from there.

No torch here: the scorer (curator/train/score.py) computes, this module stores.

For the front ends: `get` for one record's detail pane (`ScoreRow.stale` says
whether the record changed since), `FIELDS` and `filter_sql` for a `score.FIELD>N` filter, and
`order_sql` for "most suspicious first" (highest IFD, or lowest end probability).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from curator.quality.score_signals import SIGNAL_CODES, SIGNAL_RULES, score_signals
from curator.workspace import Workspace
from curator.workspace.journal import Tx
from curator.workspace.meta import read_meta, write_meta

#: the records scored: not rejected, with a chat form (the same rows dedup compares; duplicates
#: are scored too, so a duplicate cluster's keeper can be chosen by its score).
ELIGIBLE_SQL = "r.status != 'rejected' AND coalesce(r.current, r.canonical) IS NOT NULL"
#: field name (as a filter would spell it, `score.ifd`) -> column
FIELDS = {"ifd": "ifd", "loss": "loss_prompted", "loss_alone": "loss_alone", "end_prob": "end_prob"}
_CHUNK = 900  # SQLite's default limit on bound parameters is 999
#: meta key: the rules (score_signals.SIGNAL_RULES) the stored signals were written under
RULES_KEY = "score.signal_rules"


@dataclass(frozen=True, slots=True)
class ScoreRow:
    """One record's scores. The numbers are None when the record could not be scored (`note`
    says why: not a chat example, no answer, longer than the model's context, ...)."""

    record_id: int
    model: str
    content_hash: str
    loss_prompted: float | None  # mean nats per answer token, given the prompt
    loss_alone: float | None  # mean nats per answer token, without the prompt
    ifd: float | None  # loss_prompted / loss_alone (instruction-following difficulty)
    end_prob: float | None  # P(end-of-turn token right after the last answer token | prompt)
    answer_tokens: int
    note: str | None = None
    scored_at: str | None = None
    stale: bool = False  # the record's text changed since it was scored (set by `get`)

    def to_dict(self) -> dict[str, Any]:
        return {"record_id": self.record_id, "model": self.model, "loss_prompted": self.loss_prompted,
                "loss_alone": self.loss_alone, "ifd": self.ifd, "end_prob": self.end_prob,
                "answer_tokens": self.answer_tokens, "note": self.note, "scored_at": self.scored_at,
                "stale": self.stale}


@dataclass(frozen=True, slots=True)
class Pending:
    """What a run would do: the eligible records, and those of them that need scoring."""

    eligible: int  # eligible records (matching the filters)
    ids: list[int]  # to score, in id order (after --limit)
    up_to_date: int  # eligible records whose stored score is for this text and model
    more: int  # records that need scoring beyond --limit


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def pending(ws: Workspace, model: str, where: Sequence[str] | None = None,
            limit: int | None = None) -> Pending:
    """The eligible records (matching `where`, the `--where` filter language) that have no score
    for their current text under `model`, in id order, at most `limit` of them."""
    wanted: set[int] | None = set(ws.select_ids(list(where))) if where else None
    eligible = up_to_date = more = 0
    ids: list[int] = []
    rows = ws.connection.execute(
        f"SELECT r.id, coalesce(r.current, r.canonical), s.content_hash, s.model FROM records r "
        f"LEFT JOIN scores s ON s.record_id = r.id WHERE {ELIGIBLE_SQL} ORDER BY r.id")
    for rid, text, stored, stored_model in rows:
        if wanted is not None and rid not in wanted:
            continue
        eligible += 1
        if stored == content_hash(text) and stored_model == model:
            up_to_date += 1
        elif limit is None or len(ids) < limit:
            ids.append(rid)
        else:
            more += 1
    return Pending(eligible, ids, up_to_date, more)


def texts(ws: Workspace, ids: Sequence[int]) -> list[tuple[int, str, str]]:
    """(id, current text, its content hash) for the given records that are still eligible, in
    the order given."""
    found: dict[int, str] = {}
    for i in range(0, len(ids), _CHUNK):
        part = list(ids[i : i + _CHUNK])
        found.update(ws.connection.execute(
            f"SELECT r.id, coalesce(r.current, r.canonical) FROM records r "
            f"WHERE {ELIGIBLE_SQL} AND r.id IN ({','.join('?' * len(part))})", part).fetchall())
    return [(rid, found[rid], content_hash(found[rid])) for rid in ids if rid in found]


def save(ws: Workspace, rows: Iterable[ScoreRow]) -> int:
    """Store scores (replacing a record's earlier one) in one transaction; returns how many.

    Each record whose text is still the one scored also gets its score's signals as issues
    (SIGNAL_CODES, replacing the ones an earlier score wrote): like the score, they are facts
    about the text, not journaled; an edit revalidates the record and so drops them (its undo
    brings them back with the text they were computed on)."""
    now = _now()
    rows = list(rows)
    values = [(r.record_id, r.model, r.content_hash, r.loss_prompted, r.loss_alone, r.ifd, r.end_prob,
               r.answer_tokens, r.note, r.scored_at or now) for r in rows]
    with ws._transaction() as tx:
        tx.conn.executemany(
            "INSERT OR REPLACE INTO scores(record_id, model, content_hash, loss_prompted, loss_alone, ifd, "
            "end_prob, answer_tokens, note, scored_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", values)
        _write_signals(tx, rows)
        if read_meta(tx.conn, RULES_KEY) is None and not _scored_before(tx, rows):
            write_meta(tx.conn, RULES_KEY, SIGNAL_RULES)  # the first scores: written under today's rules
    return len(values)


def _scored_before(tx: Tx, rows: Sequence[ScoreRow]) -> bool:
    """Whether the workspace holds scores besides `rows` (scores written before the rules were
    recorded, whose signals may follow older rules)."""
    others = tx.conn.execute("SELECT count(*) FROM scores").fetchone()[0]
    return int(others) > len({r.record_id for r in rows})


def refresh_signals(ws: Workspace) -> int | None:
    """Rewrite the signals of every scored record from its stored numbers when they were written
    under other rules than today's (score_signals.SIGNAL_RULES: a threshold or a shape changed in
    an update of curator), so a workspace scored before the change is judged as a new one would be;
    no model runs. Returns how many records' issues changed, or None when the rules are today's
    (nothing read). One transaction: a kill leaves the old signals and the old rules' name."""
    if read_meta(ws.connection, RULES_KEY) == SIGNAL_RULES:
        return None
    changed = 0
    with ws._transaction() as tx:
        batch: list[ScoreRow] = []
        for row in tx.conn.execute(f"SELECT {_COLS} FROM scores s ORDER BY s.record_id"):
            batch.append(_row(row))
            if len(batch) == _CHUNK:
                changed += _write_signals(tx, batch)
                batch = []
        changed += _write_signals(tx, batch)
        write_meta(tx.conn, RULES_KEY, SIGNAL_RULES)
    return changed


def _last_answer(text: str) -> tuple[int, str] | None:
    """The index and text of a chat example's last assistant message."""
    import orjson

    from curator.formats.content import content_text

    try:
        msgs = orjson.loads(text).get("messages")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    if not isinstance(msgs, list):
        return None
    for i in range(len(msgs) - 1, -1, -1):
        m = msgs[i]
        if isinstance(m, dict) and m.get("role") == "assistant":
            return i, content_text(m.get("content"))
    return None


#: the model whose scores never become issues (curator.train.models' random test model)
NO_SIGNAL_MODEL = "tiny"


def _write_signals(tx: Tx, rows: Sequence[ScoreRow]) -> int:
    """Write each row's signals as issues of its record (when the record's text is still the one
    scored); returns how many records' issues changed."""
    from curator.validate.codes import lookup

    changed = 0

    by_id = {r.record_id: r for r in rows}
    ids = list(by_id)
    for i in range(0, len(ids), _CHUNK):
        part = ids[i : i + _CHUNK]
        current = tx.conn.execute(
            f"SELECT id, coalesce(current, canonical) FROM records WHERE id IN ({','.join('?' * len(part))})",
            part).fetchall()
        for rid, text in current:
            r = by_id[rid]
            if text is None or content_hash(text) != r.content_hash:
                continue  # edited since it was scored: the edit's validation owns its issues now
            found = _last_answer(text)
            # The `tiny` model is random weights for pipeline checks: its numbers are stored (the
            # pipeline ran) but say nothing about the answer, so they raise no warnings.
            meaningful = found is not None and r.model != NO_SIGNAL_MODEL
            before = tx.issues_of(rid)
            kept = [d for d in before if d["code"] not in SIGNAL_CODES]
            signals = (score_signals(found[1], r.ifd, r.loss_prompted, r.loss_alone, r.end_prob,
                                     other_codes={d["code"] for d in kept})
                       if found is not None and meaningful else [])
            added = [{"code": code, "severity": lookup(code).severity, "message_index": found[0] if found else None,
                      "path": f"/messages/{found[0]}/content" if found else None, "message": why,
                      "hint": lookup(code).hint} for code, why in signals]
            if kept + added != before:
                tx.write_issues(rid, kept + added)
                changed += 1
    return changed


_COLS = ("s.record_id, s.model, s.content_hash, s.loss_prompted, s.loss_alone, s.ifd, s.end_prob, "
         "s.answer_tokens, s.note, s.scored_at")


def _row(r: Sequence[Any], stale: bool = False) -> ScoreRow:
    return ScoreRow(int(r[0]), r[1], r[2], r[3], r[4], r[5], r[6], int(r[7]), r[8], r[9], stale)


def get(ws: Workspace, record_id: int) -> ScoreRow | None:
    """One record's score, with `stale` set when its text changed since it was scored."""
    r = ws.connection.execute(
        f"SELECT {_COLS}, coalesce(r.current, r.canonical) FROM scores s JOIN records r ON r.id = s.record_id "
        f"WHERE s.record_id = ?", (record_id,)).fetchone()
    if r is None:
        return None
    return _row(r, stale=r[10] is None or content_hash(r[10]) != r[2])


def read(ws: Workspace, ids: Sequence[int] | None = None) -> Iterator[ScoreRow]:
    """Stored scores in record id order (all, or those of `ids`); `stale` is not computed here."""
    if ids is None:
        for r in ws.connection.execute(f"SELECT {_COLS} FROM scores s ORDER BY s.record_id"):
            yield _row(r)
        return
    for i in range(0, len(ids), _CHUNK):
        part = list(ids[i : i + _CHUNK])
        for r in ws.connection.execute(
                f"SELECT {_COLS} FROM scores s WHERE s.record_id IN ({','.join('?' * len(part))}) "
                f"ORDER BY s.record_id", part):
            yield _row(r)


def count(ws: Workspace) -> int:
    return int(ws.connection.execute("SELECT count(*) FROM scores").fetchone()[0])


def filter_sql(field: str, op: str, value: float) -> tuple[str, list[Any]]:
    """A condition over `records r` for a filter such as `score.ifd>1.0` :
    records with that score (a record without the number never matches, `!=` included).
    op one of > < >= <= = !=. Raises KeyError for an unknown field, ValueError for an unknown op."""
    column = FIELDS[field]
    if op not in (">", "<", ">=", "<=", "=", "!="):
        raise ValueError(f"score filters take >, <, >=, <=, = or !=, not {op!r}")
    return f"r.id IN (SELECT record_id FROM scores WHERE {column} {op} ?)", [value]


def order_sql(field: str) -> str:
    """A sort key over `records r`: the record's score (records without one sort as NULL: first
    ascending, last descending in SQLite). "Most suspicious first" is `-ifd` or `end_prob`."""
    return f"(SELECT {FIELDS[field]} FROM scores s WHERE s.record_id = r.id)"


def suspicious_ids(ws: Workspace, where: Sequence[str] = ()) -> list[int]:
    """The ids matching `where`, most suspicious first: highest IFD first, then the records
    without one (never scored, or scored with a note), each part in id order (the review app's
    sort order). A score of text edited since still counts: the detail pane says it is stale."""
    from curator.workspace.filters import compile_filters
    from curator.workspace.search import ensure

    sql, params = compile_filters(where)
    ensure(ws, where)
    return [rid for (rid,) in ws.connection.execute(
        f"SELECT r.id FROM records r LEFT JOIN scores s ON s.record_id = r.id WHERE {sql} "
        f"ORDER BY s.ifd IS NULL, s.ifd DESC, r.id", params)]


def most_suspicious_first(ws: Workspace, ids: Sequence[int]) -> list[int]:
    """These ids in the order of `suspicious_ids` (for matches found elsewhere)."""
    ifd = dict(ws.connection.execute("SELECT record_id, ifd FROM scores WHERE ifd IS NOT NULL"))
    return sorted(ids, key=lambda rid: (rid not in ifd, -ifd.get(rid, 0.0), rid))
