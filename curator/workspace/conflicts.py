"""Conflicts to resolve: clusters of chat records that ask the same thing and answer it
differently, and chat records that ask what a preference pair asks (issues 12 and 16).

Clusters. `curator signals` labels every record of a conflict `conflict` (near-identical
prompts, materially different answers: curator.quality.answers). `clusters` groups the labelled
chat records again by that same finder, run over them alone (a cluster keeps its rejected
members, so a resolved cluster still shows how it was resolved). A cluster's id is its lowest
record id; clusters come in id order, members in id order. A cluster is `open` while two or
more of its records are not rejected, else `resolved`.

Resolving, each one journal entry (one undo takes it back), written by primary key inside one
write transaction like the review app's keys:

* `keep`: accept one record, reject the cluster's other records that are not rejected yet with
  the reason "conflict: kept #ID".
* `prefer`: from two chat records that ask the same thing, a new record of kind `preference`
  (the preferred record's prompt; chosen: its answer; rejected: the other's answer), prepared
  as an imported pair is (converted, checked by the workspace target's preference layout,
  token-counted per side), with the source "conflict #A over #B"; both chat records are
  rejected with the reason "conflict: turned into preference pair #NEW", so an export never
  trains both answers. The pair takes the preferred record's split (the holdout when either
  record is in it), so a split workspace exports it at once; dedup and split treat it as any
  pair. A pair refused by the checks is not made (`PreferRefused`, nothing changes).

  Undo takes the pair out: the journal cannot delete a record that its own rows (and any later
  undone entry) refer to, so undo rejects the new record (reason `UNDONE_REASON`) and restores
  both chat records; redo brings the pair back. Preferring the same answers again reuses that
  record (same content, same uid) rather than adding a second one.

Chat against preference. `pair_conflicts` lists each chat record (not rejected) whose prompt
(its user turns, spacing and case aside) is a preference pair's prompt, and says whether the
chat answer is the pair's chosen one, its rejected one or neither. They are shown, never
merged: nothing here changes either record.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from curator.formats.content import content_text
from curator.quality.answers import CONFLICT, PROMPT_NEAR, find_answer_signals
from curator.quality.text import item_of, jaccard, normalise, shingles
from curator.workspace.errors import WorkspaceError
from curator.workspace.journal import dumps, now
from curator.workspace.records import HOLDOUT, Change
from curator.workspace.selection import ELIGIBLE_SQL

if TYPE_CHECKING:
    from curator.workspace.engine import Workspace
    from curator.workspace.prepare import Preparer

#: the reason undo gives a pair that `prefer` made
UNDONE_REASON = "conflict: preference pair undone"
#: the source of a pair that `prefer` made starts with this
SOURCE_PREFIX = "conflict #"
KEEP_ACTION = "conflict-keep"
PREFER_ACTION = "conflict-prefer"

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


@dataclass(frozen=True, slots=True)
class Member:
    """One record of a conflict cluster."""

    id: int
    status: str
    reason: str | None
    prompt: str
    answer: str


@dataclass(frozen=True, slots=True)
class Cluster:
    """Records the conflict finder links; `id` is the lowest record id."""

    id: int
    members: tuple[Member, ...]

    @property
    def open(self) -> bool:
        return sum(m.status != "rejected" for m in self.members) >= 2

    @property
    def status(self) -> str:
        return "open" if self.open else "resolved"

    @property
    def prompt(self) -> str:
        return self.members[0].prompt

    def member(self, record_id: int) -> Member:
        for m in self.members:
            if m.id == record_id:
                return m
        raise KeyError(record_id)


@dataclass(frozen=True, slots=True)
class PairConflict:
    """A chat record asking what a preference pair asks; `matches`: whether the chat answer
    is the pair's `chosen` answer, its `rejected` one, or `neither`."""

    chat: int
    preference: int
    prompt: str
    answer: str
    chosen: str
    rejected: str
    matches: str


@dataclass(frozen=True, slots=True)
class Preferred:
    """What `prefer` did: the journal entry and the preference record it made (or reused)."""

    change: Change
    record: int
    reused: bool


class PreferRefused(WorkspaceError):
    """The pair would not validate as a preference record; nothing changed."""


# -- reading ---------------------------------------------------------------------------------


def clusters(ws: Workspace) -> list[Cluster]:
    """Every conflict cluster among the chat records labelled `conflict`, in id order."""
    rows = ws.connection.execute(
        "SELECT r.id, r.status, r.reason, CAST(coalesce(r.current, r.canonical) AS BLOB) "
        "FROM record_labels l JOIN records r ON r.id = l.record_id "
        "WHERE l.label = ? AND r.kind = 'chat' AND coalesce(r.current, r.canonical) IS NOT NULL "
        "ORDER BY r.id", (CONFLICT,)).fetchall()
    items, info = [], {}
    for rid, status, reason, example in rows:
        it = item_of(rid, example)
        if it is not None:
            items.append(it)
            info[rid] = Member(rid, status, reason, it.prompt, it.answer)
    groups = {tuple(sorted((f.record, *f.others))) for f in find_answer_signals(items)
              if f.kind == CONFLICT}
    return sorted((Cluster(g[0], tuple(info[i] for i in g)) for g in groups),
                  key=lambda c: c.id)


def cluster_of(ws: Workspace, record_id: int) -> Cluster:
    """The conflict cluster a record belongs to (WorkspaceError when none)."""
    ws.get(record_id)  # UnknownRecords for an id that is not there
    for c in clusters(ws):
        if any(m.id == record_id for m in c.members):
            return c
    raise WorkspaceError(f"record {record_id} is in no conflict cluster; `curator signals` "
                         "labels conflicts, `curator conflicts` lists them")


def _prompt_of_pair(pair: dict[str, Any]) -> str:
    return "\n".join(content_text(m.get("content")) for m in pair.get("prompt") or []
                     if isinstance(m, dict) and m.get("role") == "user")


def _side(pair: dict[str, Any], side: str) -> str:
    return "\n".join(content_text(m.get("content")) for m in pair.get(side) or []
                     if isinstance(m, dict) and m.get("role") == "assistant")


def pair_conflicts(ws: Workspace) -> list[PairConflict]:
    """Chat records (not rejected) whose prompt is a preference pair's (not rejected) prompt,
    by chat id then pair id. Nothing is merged or changed."""
    c = ws.connection
    pairs: dict[str, list[tuple[int, str, str]]] = defaultdict(list)
    for rid, text in c.execute(
            f"SELECT id, coalesce(current, canonical) FROM records "
            f"WHERE kind = 'preference' AND {ELIGIBLE_SQL} ORDER BY id"):
        pair = orjson.loads(text)
        if isinstance(pair, dict):
            pairs[normalise(_prompt_of_pair(pair))].append(
                (rid, _side(pair, "chosen"), _side(pair, "rejected")))
    if not pairs:
        return []
    out = []
    for rid, example in c.execute(
            f"SELECT id, CAST(coalesce(current, canonical) AS BLOB) FROM records "
            f"WHERE kind = 'chat' AND {ELIGIBLE_SQL} ORDER BY id"):
        it = item_of(rid, example)
        if it is None:
            continue
        for pid, chosen, rejected in pairs.get(normalise(it.prompt), ()):
            answer = normalise(it.answer)
            matches = ("chosen" if answer == normalise(chosen)
                       else "rejected" if answer == normalise(rejected) else "neither")
            out.append(PairConflict(rid, pid, it.prompt, it.answer, chosen, rejected, matches))
    return out


# -- resolving -------------------------------------------------------------------------------


def keep(ws: Workspace, record_id: int, cluster: Cluster | None = None) -> Change:
    """Accept `record_id` and reject the other records of its cluster (those not rejected yet)
    with the reason "conflict: kept #ID", in one journal entry. `cluster`: the cluster as the
    caller listed it (the review app), which saves finding the clusters again; each member's
    status is read afresh inside the write transaction either way."""
    if cluster is None:
        cluster = cluster_of(ws, record_id)
    elif record_id not in {m.id for m in cluster.members}:
        raise WorkspaceError(f"record {record_id} is not in conflict cluster {cluster.id}")
    reason = f"conflict: kept #{record_id}"
    with ws._transaction() as tx:
        entry = tx.entry(KEEP_ACTION, "", {"record": record_id, "cluster": cluster.id})
        rejected = 0
        for m in cluster.members:
            before = tx.one(m.id, ("status", "reason"))
            if m.id == record_id:
                tx.set_one(entry, m.id, {"status": "accepted", "reason": None}, before)
            elif before[0] != "rejected":
                rejected += tx.set_one(entry, m.id, {"status": "rejected", "reason": reason},
                                       before) > 0
        return tx.finish(entry, KEEP_ACTION, len(cluster.members),
                         f"conflict: kept record {record_id} of cluster {cluster.id}, "
                         f"rejected {rejected}")


def _split_answer(example: dict[str, Any], record_id: int) -> tuple[list[Any], list[Any]]:
    """(context, answer): the messages before the record's closing assistant turns, and those
    turns."""
    msgs = example.get("messages")
    if not isinstance(msgs, list):
        raise WorkspaceError(f"record {record_id} has no messages")
    k = len(msgs)
    while k and isinstance(msgs[k - 1], dict) and msgs[k - 1].get("role") == "assistant":
        k -= 1
    if k == len(msgs) or not any(isinstance(m, dict) and m.get("role") == "user"
                                 for m in msgs[:k]):
        raise WorkspaceError(f"record {record_id} does not end on an answer to a user turn")
    return list(msgs[:k]), list(msgs[k:])


def same_question(a: str, b: str) -> bool:
    """Whether two prompts ask the same thing as the conflict finder sees it: equal, or
    near-identical (character 5-gram similarity >= PROMPT_NEAR) with the same numbers."""
    na, nb = normalise(a), normalise(b)
    if na == nb:
        return True
    return (_NUMBER.findall(na) == _NUMBER.findall(nb)
            and jaccard(shingles(na), shingles(nb)) >= PROMPT_NEAR)


def preference_row(ws: Workspace, chosen_id: int, rejected_id: int) -> dict[str, Any]:
    """The TRL conversational row `prefer` makes of two chat records (nothing is written)."""
    if chosen_id == rejected_id:
        raise WorkspaceError("choose two different records")
    recs = [ws.get(chosen_id), ws.get(rejected_id)]
    for r in recs:
        if r.kind != "chat":
            raise WorkspaceError(f"record {r.id} is a {r.kind} record; prefer takes two chat "
                                 "records")
        if r.example is None:
            raise WorkspaceError(f"record {r.id} has no parsed content")
    (ctx, chosen), (_, rejected) = (_split_answer(r.example or {}, r.id) for r in recs)
    a, b = (item_of(r.id, dumps(r.example)) for r in recs)
    if a is None or b is None or not same_question(a.prompt, b.prompt):
        raise WorkspaceError(f"records {chosen_id} and {rejected_id} do not ask the same thing "
                             "(their prompts are not near-identical); a pair needs one prompt")
    row: dict[str, Any] = {"prompt": ctx, "chosen": chosen, "rejected": rejected}
    tools = (recs[0].example or {}).get("tools")
    if tools:
        row["tools"] = tools
    return row


def prefer(ws: Workspace, chosen_id: int, rejected_id: int,
           preparer: Preparer | None = None) -> Preferred:
    """Turn two chat records that ask the same thing into one preference record (chosen: the
    answer of `chosen_id`) and reject both, in one journal entry; see the module docstring.
    `preparer`: the checks to run (default: the workspace's target, tokenizer and limit)."""
    from curator.io import Row
    from curator.workspace.prepare import Preparer
    from curator.workspace.settings import workspace_settings

    row = preference_row(ws, chosen_id, rejected_id)
    if preparer is None:
        s = workspace_settings(ws)
        preparer = Preparer(s.target or "openai", model=s.model, max_tokens=s.max_tokens)
    source = f"{SOURCE_PREFIX}{chosen_id} over #{rejected_id}"
    raw = dumps(row)
    prepared = preparer(Row(source, None, 0, raw, row))
    errors = [i for i in prepared.issues if i.severity == "error"]
    if prepared.kind != "preference" or errors:
        codes = ", ".join(sorted({i.code for i in errors})) or "not a preference pair"
        raise PreferRefused(f"the pair of records {chosen_id} over {rejected_id} does not "
                            f"validate as a preference record: {codes}"
                            + (f" ({errors[0].message})" if errors else ""))
    canonical = dumps(prepared.canonical)
    # a record's identity, as import gives it (curator/workspace/importer.py): the SHA-256 of
    # its canonical JSON with sorted keys, so an import of the same pair finds it present
    uid = hashlib.sha256(canonical.encode()).hexdigest()[:40]
    sides = None if prepared.tokens_sides is None else dumps(prepared.tokens_sides)
    with ws._transaction() as tx:
        c = tx.conn
        befores = {i: tx.one(i, ("status", "reason", "split")) for i in (chosen_id, rejected_id)}
        entry = tx.entry(PREFER_ACTION, "", {"chosen": chosen_id, "rejected": rejected_id})
        found = c.execute("SELECT id, status, reason FROM records WHERE uid = ?",
                          (uid,)).fetchone()
        if found is not None:
            new, reused = int(found[0]), True
            tx.set_one(entry, new, {"status": "pending", "reason": None}
                       if found[1] == "rejected" else {"status": found[1], "reason": found[2]},
                       (found[1], found[2]))
        else:
            splits = {b[2] for b in befores.values()}
            split = HOLDOUT if HOLDOUT in splits else befores[chosen_id][2]
            cur = c.execute(
                "INSERT INTO records(uid, source_file, source_line, example_index, raw, format, "
                "canonical, status, reason, tokens_total, tokens_trained, import_id, "
                "created, kind, tokens_sides) "
                "VALUES (?, ?, NULL, 0, ?, ?, ?, 'pending', NULL, ?, ?, ?, ?, 'preference', ?)",
                (uid, source, raw, prepared.format, canonical, prepared.tokens_total,
                 prepared.tokens_trained, entry, now(), sides))
            assert cur.lastrowid is not None
            new, reused = cur.lastrowid, False
            if split is not None:  # a record's split lives in record_marks (selection.py)
                c.execute("INSERT INTO record_marks(record_id, split) VALUES (?, ?)",
                          (new, split))
            tx.write_issues(new, [
                {"code": i.code, "severity": i.severity, "message_index": i.message_index,
                 "path": i.path, "message": i.message, "hint": i.hint}
                for i in prepared.issues])
            # undo (history._restore) puts `before` back: the pair is rejected, not deleted
            c.executemany(
                "INSERT INTO journal_changes(entry_id, record_id, field, before, after) "
                "VALUES (?, ?, ?, ?, ?)",
                [(entry, new, "status", "rejected", "pending"),
                 (entry, new, "reason", UNDONE_REASON, None)])
        reason = f"conflict: turned into preference pair #{new}"
        for i, before in befores.items():
            tx.set_one(entry, i, {"status": "rejected", "reason": reason}, before[:2])
        change = tx.finish(entry, PREFER_ACTION, 2,
                           f"conflict: records {chosen_id} over {rejected_id} made preference "
                           f"pair {new}" + (" (present already)" if reused else ""))
    return Preferred(change, new, reused)


__all__ = [
    "KEEP_ACTION",
    "PREFER_ACTION",
    "UNDONE_REASON",
    "Cluster",
    "Member",
    "PairConflict",
    "PreferRefused",
    "Preferred",
    "cluster_of",
    "clusters",
    "keep",
    "pair_conflicts",
    "prefer",
    "preference_row",
    "same_question",
]
