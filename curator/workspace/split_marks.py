"""Split assignments, and the holdout seal: a record in the holdout never leaves it unless the
caller says so. The split's parameters and report are meta keys that workspace/split.py writes
(`split.params`, `split.report`) in the same journal entry."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from curator.workspace.dedup_marks import foreign_keys_unchecked
from curator.workspace.errors import UnknownRecords, WorkspaceError
from curator.workspace.records import HOLDOUT, Change

if TYPE_CHECKING:
    from curator.workspace.engine import Workspace


def set_splits(ws: Workspace,
               assignment: Mapping[int, str | None] | Iterable[tuple[int, str | None]],
               params: Mapping[str, Any] | None = None, *,
               allow_holdout_move: bool = False,
               meta: Mapping[str, str | None] | None = None,
               summary: str | None = None) -> Change:
    """Assign splits (None = no split). `params` go into the journal entry; `meta` keys are
    set in the same entry (workspace/split.py keeps the split's parameters there, under
    `split.params`; the legacy key `split_params` is no longer written). Moving a record out
    of the holdout is refused unless allowed. `summary` replaces the journal line (default:
    the records given, by split)."""
    items = assignment.items() if isinstance(assignment, Mapping) else assignment
    # every id is checked against the records below (through an index), so SQLite's own
    # foreign-key check of each journal row (a read of the record's wide row) is left out
    with ws._mutex, foreign_keys_unchecked(ws._conn), ws._transaction() as tx:
        c = tx.conn
        c.execute("DELETE FROM _vals")
        c.executemany("INSERT OR REPLACE INTO _vals(id, value) VALUES (?, ?)",
                      ((int(i), s) for i, s in items))
        # `+id`: the ids come from an index of records, not a lookup of each wide row's page
        missing = [r[0] for r in c.execute(
            "SELECT id FROM _vals WHERE id NOT IN (SELECT +id FROM records) ORDER BY id")]
        if missing:
            raise UnknownRecords(missing)
        if not allow_holdout_move:
            moved = c.execute(
                "SELECT count(*) FROM _vals v JOIN record_marks m ON m.record_id = v.id "
                "WHERE m.split = ? AND v.value IS NOT ?", (HOLDOUT, HOLDOUT)
            ).fetchone()[0]
            if moved:
                raise WorkspaceError(
                    f"refused: {moved} records would leave the sealed holdout; "
                    "pass allow_holdout_move=True only if you mean to unseal it"
                )
        selected = c.execute("SELECT count(*) FROM _vals").fetchone()[0]
        entry = tx.entry("split", "", params)
        tx.apply_vals(entry, "split")
        for key, value in (meta or {}).items():
            tx.set_meta(entry, key, value)
        counts = dict(c.execute(
            "SELECT coalesce(value, 'none'), count(*) FROM _vals GROUP BY 1").fetchall())
        summary = summary or "split: " + ", ".join(
            f"{k} {v}" for k, v in sorted(counts.items()))
        return tx.finish(entry, "split", selected, summary)
