"""curator.workspace.selection: one definition of what an export writes, used by export, report
and the trainer (issue 14), and of what dedup and split compare."""

from __future__ import annotations

from pathlib import Path

from store_helpers import chat, write_jsonl

from curator.workspace import Workspace
from curator.workspace.export import export_workspace
from curator.workspace.importer import import_files
from curator.workspace.migrations import MIGRATIONS
from curator.workspace.prepare import Preparer
from curator.workspace.report import gather_facts
from curator.workspace.selection import (
    ELIGIBLE_SQL,
    EXCLUDED_SQL,
    REASONS,
    RECORDS_MARKED,
    included_sql,
)


def _workspace(tmp_path: Path) -> Path:
    """Ten chat records and, on line 4, one that does not parse (kept rejected, no content)."""
    rows = [chat(f"question {i}?", f"answer {i}") for i in range(10)]
    src = write_jsonl(tmp_path / "data.jsonl", rows, raw_lines={3: "{broken"})
    db = tmp_path / "w.db"
    with Workspace.open(db, create=True) as ws:
        import_files(ws, [src], prepare=Preparer("openai"))
    return db


def test_report_leaves_out_an_unparsed_record_as_export_does(tmp_path: Path) -> None:
    db = _workspace(tmp_path)
    with Workspace.open(db) as ws:
        broken = [r for r in ws.select_ids([]) if ws.get(r).canonical is None]
        assert len(broken) == 1
        ws.set_status(broken, "pending")  # reset: no longer rejected, still nothing to export
        ids = sorted(ws.select_ids([]))
        names = ["train"] * 7 + ["validation"] * 2 + ["holdout"] * 2
        ws.set_splits({i: names[k] for k, i in enumerate(ids)})
        res = export_workspace(ws, tmp_path / "out")
        assert res.manifest["counts"]["excluded_by_reason"] == {"unparsed": 1}
        facts = gather_facts(ws)
    assert sum(res.counts.values()) == 10
    assert facts.split_counts == res.counts


def test_included_is_the_complement_of_excluded(tmp_path: Path) -> None:
    db = _workspace(tmp_path)
    with Workspace.open(db) as ws:
        ws.set_status([1], "accepted")
        ws.set_status([2], "rejected")
        ws.set_status([4], "pending")  # the unparsed line
        c = ws.connection
        for only in (False, True):
            included = {r for (r,) in c.execute(
                f"SELECT id FROM {RECORDS_MARKED} WHERE {included_sql(only)}")}
            why = dict(c.execute(f"SELECT id, {EXCLUDED_SQL} FROM {RECORDS_MARKED}",
                                 (int(only),)))
            assert included == {r for r, w in why.items() if w is None}
            assert {w for w in why.values() if w is not None} <= set(REASONS)
        assert why[2] == "rejected" and why[4] == "unparsed" and why[3] == "not_accepted"
        assert included == {1}


def test_eligible_is_the_migrations_index_condition() -> None:
    # the shipped migration never changes; the query must keep its terms to use the index
    index = next(s for step in MIGRATIONS for s in step if "records_eligible" in s)
    assert index.endswith(f"WHERE {ELIGIBLE_SQL}")
