"""Read-only queries for the trainer (`curator train -w`), so that no SQL lives in curator/train.

`split_records` gives every record with a split: the ones an export would write (the selection
of `curator.workspace.selection`, with their chat form) and, for the others, why they are left
out. The trainer adds its own checks (a split name it does not know, a record of another kind
than the method trains, the validation rules); `kind_counts` says what a workspace holds when a
method finds nothing to train. `trainer_notes` and `split_ids` serve the write-back of a run's review queue.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from curator.workspace.selection import EXCLUDED_SQL, RECORDS_MARKED

if TYPE_CHECKING:
    from curator.workspace import Workspace


@dataclass(frozen=True, slots=True)
class TrainRow:
    """A record an export would write, with its split and its chat form as stored (JSON text:
    the edit when there is one, else the canonical form)."""

    id: int
    split: str
    text: str
    source_file: str | None
    source_line: int | None
    example_index: int | None
    kind: str = "chat"  # chat, preference or feedback (the record's kind)


@dataclass(frozen=True, slots=True)
class LeftOut:
    """A record with a split that an export would not write; `why` is one of
    `selection.REASONS` (rejected, duplicate, unparsed)."""

    id: int
    split: str
    why: str


@dataclass(frozen=True, slots=True)
class SplitRecords:
    """Every record with a split, in id order: the included ones and the ones left out."""

    included: list[TrainRow]
    excluded: list[LeftOut]


def split_records(ws: Workspace) -> SplitRecords:
    """The records with a split (see the module docstring), by the default export's selection
    (not only the accepted ones)."""
    included: list[TrainRow] = []
    excluded: list[LeftOut] = []
    rows = ws.connection.execute(
        f"SELECT id, split, coalesce(current, canonical), source_file, source_line, "
        f"example_index, kind, {EXCLUDED_SQL} FROM {RECORDS_MARKED} WHERE split IS NOT NULL ORDER BY id", (0,))
    for rid, split, text, source, line, index, kind, why in rows:
        if why is None:
            included.append(TrainRow(rid, split, text, source, line, index, kind))
        else:
            excluded.append(LeftOut(rid, split, why))
    return SplitRecords(included, excluded)


def kind_counts(ws: Workspace) -> dict[str, tuple[int, int]]:
    """kind -> (records with a split, records without one), over the records an export would
    write (not rejected, not marked duplicate); kinds with none are left out."""
    out: dict[str, tuple[int, int]] = {}
    for kind, with_split, n in ws.connection.execute(
            f"SELECT kind, split IS NOT NULL, count(*) FROM {RECORDS_MARKED} WHERE ({EXCLUDED_SQL}) IS NULL "
            "GROUP BY 1, 2 ORDER BY 1", (0,)):
        have, lack = out.get(kind, (0, 0))
        out[kind] = (have + n, lack) if with_split else (have, lack + n)
    return out


def split_ids(ws: Workspace, split: str) -> set[int]:
    """The ids of the records in the split the workspace calls `split`."""
    return {rid for (rid,) in ws.connection.execute(
        "SELECT record_id FROM record_marks WHERE split = ?", (split,))}


def trainer_notes(ws: Workspace, label: str, prefix: str,
                  ids: Iterable[int]) -> dict[int, str | None]:
    """record id -> note of the records a write-back may change: those with `label`, those
    whose note holds a line starting `prefix`, and `ids` (ids with no record are left out)."""
    c = ws.connection
    notes: dict[int, str | None] = dict(c.execute(
        "SELECT r.id, r.note FROM records r WHERE r.id IN (SELECT record_id FROM record_labels "
        "WHERE label = ?) OR r.note LIKE ?", (label, f"%{prefix}%")).fetchall())
    for rid in ids:
        if rid not in notes:
            row = c.execute("SELECT note FROM records WHERE id = ?", (rid,)).fetchone()
            if row is not None:
                notes[rid] = row[0]
    return notes
