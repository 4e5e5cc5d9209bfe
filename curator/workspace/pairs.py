"""Checks over a workspace's preference pairs as a set (one pair's own checks run on import).

* Length bias: the share of pairs whose chosen answer is longer than the rejected one. A model
  tuned on a set where the longer answer nearly always wins learns "longer is better"; `curator
  report` warns above `LENGTH_BIAS_WARN`.
* Contradicting pairs: the same prompt with A preferred to B in one pair and B to A in
  another. `flag_contradictions` labels every such pair `review:contradiction` (one undoable
  journal entry), for a reviewer to decide which one holds.

Both look at the pairs an export would write (not rejected, not marked duplicate).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from curator.workspace.records import Change
from curator.workspace.selection import RECORDS_MARKED, included_sql

if TYPE_CHECKING:
    from curator.workspace.engine import Workspace

LENGTH_BIAS_WARN = 0.8
CONTRADICTION_LABEL = "review:contradiction"

_PAIR = "coalesce(current, canonical)"


@dataclass(frozen=True, slots=True)
class LengthBias:
    pairs: int
    chosen_longer: int

    @property
    def share(self) -> float:
        return self.chosen_longer / self.pairs if self.pairs else 0.0


def length_bias(ws: Workspace) -> LengthBias:
    """How many included pairs there are and in how many the chosen side is the longer one
    (the sides' message text, in characters)."""
    pairs, longer = ws.connection.execute(
        "SELECT count(*), coalesce(sum(c > r), 0) FROM (SELECT "
        f"(SELECT sum(length(CAST(json_extract(m.value, '$.content') AS TEXT))) "
        f" FROM json_each({_PAIR}, '$.chosen') m) AS c, "
        f"(SELECT sum(length(CAST(json_extract(m.value, '$.content') AS TEXT))) "
        f" FROM json_each({_PAIR}, '$.rejected') m) AS r "
        f"FROM {RECORDS_MARKED} WHERE kind = 'preference' AND {included_sql(False)})").fetchone()
    return LengthBias(int(pairs), int(longer))


def contradictions(ws: Workspace) -> list[list[int]]:
    """Groups of included pairs on one prompt that prefer opposite answers (each group: the
    record ids, ascending; groups in the order of their first id)."""
    seen: dict[tuple[str, str, str], list[int]] = {}
    for rid, prompt, chosen, rejected in ws.connection.execute(
            f"SELECT id, json_extract({_PAIR}, '$.prompt'), json_extract({_PAIR}, '$.chosen'), "
            f"json_extract({_PAIR}, '$.rejected') FROM {RECORDS_MARKED} "
            f"WHERE kind = 'preference' AND {included_sql(False)} ORDER BY id"):
        seen.setdefault((str(prompt), str(chosen), str(rejected)), []).append(rid)
    groups: dict[tuple[str, frozenset[str]], set[int]] = {}
    for (prompt, chosen, rejected), ids in seen.items():
        opposite = seen.get((prompt, rejected, chosen))
        if opposite and chosen != rejected:
            groups.setdefault((prompt, frozenset((chosen, rejected))), set()).update(ids, opposite)
    return sorted((sorted(g) for g in groups.values()), key=lambda g: g[0])


def flag_contradictions(ws: Workspace) -> Change | None:
    """Label the pairs of every contradiction `review:contradiction` (and take the label off
    pairs that no longer contradict), in one undoable entry; None when there is nothing to do."""
    flagged = [i for group in contradictions(ws) for i in group]
    had = ws.connection.execute("SELECT EXISTS (SELECT 1 FROM record_labels WHERE label = ?)",
                                (CONTRADICTION_LABEL,)).fetchone()[0]
    if not flagged and not had:
        return None
    return ws.flag_records(CONTRADICTION_LABEL, flagged, exclusive=True, action="pairs",
                           summary=f"pairs: {len(flagged)} pairs contradict another pair on "
                                   f"their prompt ({CONTRADICTION_LABEL})")
