"""The workspace side of the quality signals (curator/quality/): reading the records a signal
looks at, and writing its findings back as labels.

A finding goes on its record as a label (one per signal: `same-answer`, `conflict`,
`paraphrase`, `contaminated`), in one undoable journal entry per label, replacing the label's
last run (a record no longer found loses it). The reason goes into the record's note, but only
where the note is empty or was written by a signal (it starts with NOTE_PREFIX): a reviewer's own
note is never overwritten.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

from curator.quality.text import Item, item_of
from curator.workspace import Change, Workspace
from curator.workspace.selection import ELIGIBLE_SQL  # the records a signal looks at, as dedup

NOTE_PREFIX = "[signal] "


_SEP = " | "


def _other_parts(note: str, tags: tuple[str, ...]) -> list[str]:
    """The parts of a signal's note that other signal commands wrote (not starting with
    `tags`)."""
    return [part for part in note[len(NOTE_PREFIX):].split(_SEP) if not part.startswith(tags)]


def eligible_items(ws: Workspace) -> list[Item]:
    """The prompt and answer of every eligible record, in id order."""
    out = []
    for rid, example in ws.connection.execute(
            f"SELECT id, CAST(coalesce(current, canonical) AS BLOB) FROM records "
            f"WHERE {ELIGIBLE_SQL} ORDER BY id"):
        it = item_of(rid, example)
        if it is not None:
            out.append(it)
    return out


def splits_by_id(ws: Workspace) -> dict[int, str]:
    """Each split record's split name."""
    return dict(ws.connection.execute(
        "SELECT record_id, split FROM record_marks WHERE split IS NOT NULL"))


def write_flags(ws: Workspace, labels: Sequence[str], flagged: Mapping[str, Mapping[int, str]],
                *, owned: Iterable[str] = ()) -> list[Change]:
    """Put each label in `labels` on exactly the records `flagged[label]` names (id -> reason),
    one journal entry per label, and write the reasons into notes that are empty or a signal's.

    `owned`: the labels whose stale notes this run may clear (every label a signal command
    owns); a signal note that names none of them is left for the command that wrote it."""
    reasons: dict[int, list[str]] = defaultdict(list)
    for label in labels:
        for rid, why in flagged.get(label, {}).items():
            reasons[rid].append(f"{label}: {why}".replace(_SEP, " / "))
    notes: dict[int, str | None] = {}
    tags = tuple(f"{label}: " for label in (*labels, *owned))
    for rid, note in ws.connection.execute(
            f"SELECT id, note FROM records WHERE note LIKE '{NOTE_PREFIX}%'"):
        others = _other_parts(note, tags)
        if rid not in reasons and others != note[len(NOTE_PREFIX):].split(_SEP):
            # no longer found: this command's part of the note goes, another signal's stays
            notes[rid] = NOTE_PREFIX + _SEP.join(others) if others else None
    if reasons:
        ids = sorted(reasons)
        for start in range(0, len(ids), 900):
            chunk = ids[start:start + 900]
            for rid, note in ws.connection.execute(
                    f"SELECT id, note FROM records WHERE id IN ({','.join('?' * len(chunk))})",
                    chunk):
                if note is None or note.startswith(NOTE_PREFIX):
                    kept = _other_parts(note, tags) if note else []
                    notes[rid] = NOTE_PREFIX + _SEP.join([*kept, *reasons[rid]])
    changes = []
    for k, label in enumerate(labels):
        ids = sorted(flagged.get(label, {}))
        # a record's note goes with the first label that flags it (stale notes with the first)
        mine = {rid: n for rid, n in notes.items()
                if (rid in flagged.get(label, {})
                    and not any(rid in flagged.get(x, {}) for x in labels[:k]))
                or (k == 0 and rid not in reasons)}
        changes.append(ws.flag_records(label, ids, exclusive=True, notes=mine, action="signal",
                                       summary=f"signal: {label} on {len(ids)} records"))
    return changes
