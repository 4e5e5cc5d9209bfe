"""Changing a preference pair in place: swap its chosen and rejected answers, or save an edit of
either side (the review app's `w` and `e` on a pair, `curator swap`).

Either way the new pair goes through the checks an import runs on a pair (`Preparer`: the
target's preference layout and its rules, then `pref.one_side_empty`, `pref.refusal_chosen`),
and the record's stored form (`current`; NULL when the pair is its canonical form again), its
issues, token counts (`tokens_total`, `tokens_trained`) and per-side counts (`tokens_sides`)
are rewritten in one transaction and one journal entry, so one undo takes the whole change back
(in any process: undo and redo read the journal).

The validator is loaded only when a pair is checked (it pulls in numpy and the schema); the
engine binds `swap_sides` as an alias without importing it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from curator.issues import Issue
from curator.workspace.errors import EditRefused, UnknownRecords, WorkspaceError
from curator.workspace.journal import dumps, issue_dicts
from curator.workspace.records import Change

if TYPE_CHECKING:
    from curator.workspace.engine import Workspace
    from curator.workspace.prepare import Prepare, PreparedRecord

#: the three parts of a stored pair (docs/preference.md)
PAIR_KEYS = ("prompt", "chosen", "rejected")


class NotAPair(WorkspaceError):
    """The record is not a preference pair: swapping (or a pair edit) changes nothing."""

    def __init__(self, record_id: int, kind: str) -> None:
        self.record_id, self.kind = record_id, kind
        super().__init__(
            f"record {record_id} is a {kind} record: swapping chosen and rejected applies only "
            f"to preference pairs; nothing changed")


def default_prepare(ws: Workspace) -> Prepare:
    """The checks the workspace's records were judged by (its target, tokenizer and limit)."""
    from curator.workspace.prepare import Preparer
    from curator.workspace.settings import settings_for

    s = settings_for(ws)
    return Preparer(s.target, model=s.model, max_tokens=s.max_tokens)


def swapped(pair: dict[str, Any]) -> dict[str, Any]:
    """The pair with its chosen and rejected answers exchanged (everything else as it was)."""
    out = dict(pair)
    out["chosen"], out["rejected"] = pair.get("rejected"), pair.get("chosen")
    return out


def _stored_pair(ws: Workspace, record_id: int) -> tuple[dict[str, Any], str]:
    """The record's pair as stored now (the edit if there is one) and its JSON text."""
    row = ws.connection.execute(
        "SELECT kind, coalesce(current, canonical) FROM records WHERE id = ?",
        (record_id,)).fetchone()
    if row is None:
        raise UnknownRecords([record_id])
    kind, text = row
    if kind != "preference":
        raise NotAPair(record_id, kind or "chat")
    pair = orjson.loads(text) if text is not None else None
    if not isinstance(pair, dict) or not all(isinstance(pair.get(k), list) for k in PAIR_KEYS):
        raise WorkspaceError(f"record {record_id} does not hold a readable pair; nothing changed")
    return pair, text


def _check(ws: Workspace, record_id: int, pair: dict[str, Any],
           prepare: Prepare | None) -> PreparedRecord:
    """The import's checks of `pair`, placed where the record came from."""
    from curator.io import Row

    src = ws.connection.execute(
        "SELECT source_file, source_line, example_index FROM records WHERE id = ?",
        (record_id,)).fetchone()
    row = Row(src[0] or "", src[1], src[2] if src[2] is not None else 0, dumps(pair), pair)
    return (prepare or default_prepare(ws))(row)


def _write(ws: Workspace, record_id: int, pair: dict[str, Any], was: str,
           prepared: PreparedRecord, action: str, summary: str) -> Change:
    """Store `pair` with what `prepared` says of it, in one journal entry, if the stored pair is
    still `was` (another process may have changed it since it was read)."""
    sides = None if prepared.tokens_sides is None else dumps(prepared.tokens_sides)
    with ws._transaction() as tx:
        before = tx.one(record_id, ("coalesce(current, canonical)", "canonical", "current",
                                    "tokens_total", "tokens_trained", "tokens_sides"))
        if before[0] != was:
            raise WorkspaceError(f"record {record_id} was changed by another process while it "
                                 f"was being checked; nothing changed, try again")
        text = dumps(pair)
        entry = tx.entry(action, "", {"record": record_id})
        n = tx.set_one(entry, record_id, {
            "current": None if text == before[1] else text,
            "tokens_total": prepared.tokens_total, "tokens_trained": prepared.tokens_trained,
            "tokens_sides": sides}, before[2:])
        issues_before = tx.issues_of(record_id)
        tx.replace_issues(entry, record_id, issue_dicts(prepared.issues))
        return tx.finish_one(entry, action, summary,
                             n > 0 or issues_before != tx.issues_of(record_id))


def _codes(issues: list[Issue]) -> str:
    return ", ".join(dict.fromkeys(i.code for i in issues)) or "no issues"


def swap_sides(ws: Workspace, record_id: int, prepare: Prepare | None = None) -> Change:
    """Exchange a pair's chosen and rejected answers and check the pair again (one undoable
    journal entry, action `swap`). A record that is not a pair raises NotAPair; a pair whose
    two answers are the same is left as it is (no entry). `prepare`: the checks to run (the
    review app passes its own; None: the workspace's target, tokenizer and limit)."""
    pair, was = _stored_pair(ws, record_id)
    new = swapped(pair)
    if dumps(new) == dumps(pair):
        return Change(None, "swap", 1, 0,
                      f"record {record_id}: chosen and rejected are the same; nothing to swap")
    prepared = _check(ws, record_id, new, prepare)
    return _write(ws, record_id, new, was, prepared, "swap",
                  f"swap: record {record_id} chosen and rejected exchanged "
                  f"({_codes(prepared.issues)})")


def edit_pair(ws: Workspace, record_id: int, pair: dict[str, Any],
              prepare: Prepare | None = None) -> Change:
    """Save an edited pair (journal action `edit`): checked as an import checks a pair, refused
    with EditRefused (nothing saved) when the check finds an error or the result is no longer a
    pair; otherwise its issues, token counts and per-side counts replace the record's."""
    _, was = _stored_pair(ws, record_id)
    pair = dict(pair)
    prepared = _check(ws, record_id, pair, prepare)
    issues = list(prepared.issues)
    if prepared.kind != "preference" or not all(isinstance(pair.get(k), list)
                                                 for k in PAIR_KEYS):
        issues.insert(0, Issue("format.needs_conversion", "error",
                               "the edit is no longer a preference pair (prompt, chosen and "
                               "rejected message lists)"))
    if any(i.severity == "error" for i in issues):
        raise EditRefused(record_id, issues)
    return _write(ws, record_id, pair, was, prepared, "edit", f"edit record {record_id}")
