"""Dedup over a workspace: planted duplicates found and marked, one undoable entry, keeper rules."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from store_helpers import chat, imported_workspace

from curator.cli import cli
from curator.workspace import Workspace, WorkspaceError
from curator.workspace.dedup import dedup_workspace

ROOT = Path(__file__).resolve().parents[2]


def _generate(n: int, seed: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    spec = importlib.util.spec_from_file_location("gen_dedup", ROOT / "bench" / "gen_dedup.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    records, truth = module.generate(n, seed)
    return records, truth


def _workspace(tmp_path: Path, rows: list[Any]) -> Path:
    return imported_workspace(tmp_path, rows)


def _marks(ws: Workspace) -> dict[int, tuple[Any, Any, Any]]:
    return {r[0]: (r[1], r[2], r[3]) for r in ws.connection.execute(
        "SELECT id, cluster_id, dup_of, similarity FROM records "
        "LEFT JOIN record_marks ON record_marks.record_id = records.id")}


def test_planted_duplicates_are_found_and_marked(tmp_path: Path) -> None:
    records, truth = _generate(800, seed=3)
    db = _workspace(tmp_path, records)
    with Workspace.open(db) as ws:
        result = dedup_workspace(ws, processes=1)
        marks = _marks(ws)
    # record id = line number = generator index + 1
    together = sum(marks[t["a"] + 1][0] is not None and
                   marks[t["a"] + 1][0] == marks[t["b"] + 1][0] for t in truth)
    assert together / len(truth) >= 0.95
    exact = [t for t in truth if t["kind"] == "exact"]
    assert all(marks[t["b"] + 1][0] == marks[t["a"] + 1][0] for t in exact)
    dups = {i for i, m in marks.items() if m[1] is not None}
    assert len(dups) == result.duplicates
    for record_id in dups:
        cluster, dup_of, sim = marks[record_id]
        assert dup_of == cluster and marks[dup_of][1] is None and 0.8 <= sim <= 1.0
    planted = {t["b"] + 1 for t in truth} | {t["a"] + 1 for t in truth}
    # a marked record is in a planted pair: no unrelated text is called a duplicate
    assert all(i in planted for i in dups)


def test_one_undoable_entry_and_a_rerun_replaces_marks(tmp_path: Path) -> None:
    records, _ = _generate(300, seed=5)
    db = _workspace(tmp_path, records)
    with Workspace.open(db) as ws:
        before = _marks(ws)
        n_entries = len(ws.log(None))
        loose = dedup_workspace(ws, threshold=0.5, processes=1)
        assert loose.change is not None and loose.change.entry_id is not None
        assert len(ws.log(None)) == n_entries + 1
        after_loose = _marks(ws)
        assert json.loads(ws.meta("dedup.params") or "")["threshold"] == 0.5
        strict = dedup_workspace(ws, threshold=0.99, processes=1)
        after_strict = _marks(ws)
        assert strict.duplicates < loose.duplicates
        # every mark now comes from the strict run: no leftover from the loose one
        strict_ids = {i for c in strict.clusters for i in c.ids}
        assert all(m == (None, None, None) for i, m in after_strict.items() if i not in strict_ids)
        ws.undo()
        assert _marks(ws) == after_loose
        assert json.loads(ws.meta("dedup.params") or "")["threshold"] == 0.5
        ws.undo()
        assert _marks(ws) == before and ws.meta("dedup.params") is None
        ws.redo()
        assert _marks(ws) == after_loose


def test_dry_run_marks_nothing(tmp_path: Path) -> None:
    db = _workspace(tmp_path, [chat("same question", "same answer")] * 2 + [chat("x", "y")])
    with Workspace.open(db) as ws:
        entries = len(ws.log(None))
        result = dedup_workspace(ws, dry_run=True, processes=1)
        assert result.duplicates == 1 and result.change is None
        assert all(m == (None, None, None) for m in _marks(ws).values())
        assert len(ws.log(None)) == entries and ws.meta("dedup.params") is None


def _long(i: int) -> str:
    return f"the quick brown fox number {i} jumps over the lazy dog near the river bank today"


def test_keeper_rules(tmp_path: Path) -> None:
    base = _long(1)
    rows = [chat("question", base), chat("question", base + " yes"), chat("question", base + "!")]
    db = _workspace(tmp_path, rows)
    with Workspace.open(db) as ws:
        assert dedup_workspace(ws, threshold=0.7, keeper="longest",
                               processes=1).clusters[0].keeper == 2
        assert dedup_workspace(ws, threshold=0.7, keeper="earliest",
                               processes=1).clusters[0].keeper == 1
        ws.set_status([3], "accepted")
        assert dedup_workspace(ws, threshold=0.7, keeper="accepted",
                               processes=1).clusters[0].keeper == 3
        assert dedup_workspace(ws, threshold=0.7, keeper="1", processes=1).clusters[0].keeper == 1
        with pytest.raises(WorkspaceError, match="99"):
            dedup_workspace(ws, keeper="99", processes=1)
        with pytest.raises(WorkspaceError, match="unknown keeper"):
            dedup_workspace(ws, keeper="shortest", processes=1)


def test_system_prompt_rejected_records_and_edits(tmp_path: Path) -> None:
    rows = [chat("hello there", "general kenobi", system="be terse"),
            chat("hello there", "general kenobi", system="be verbose"),
            chat("a different question entirely", "with its own answer"),
            chat("a different question entirely", "with its own answer")]
    db = _workspace(tmp_path, rows)
    with Workspace.open(db) as ws:
        assert dedup_workspace(ws, processes=1).duplicates == 2
        assert dedup_workspace(ws, include_system=True, processes=1).duplicates == 1
        ws.set_status([4], "rejected")
        assert dedup_workspace(ws, include_system=True, processes=1).duplicates == 0
        # the edited form is what is compared
        ws.edit(3, chat("hello there", "general kenobi", system="be terse"))
        result = dedup_workspace(ws, include_system=True, processes=1)
        assert [c.ids for c in result.clusters] == [(1, 3)]


def test_cli_prints_clusters_and_json(tmp_path: Path) -> None:
    db = _workspace(tmp_path, [chat("same question", "same answer")] * 3 + [chat("x", "y")])
    r = CliRunner().invoke(cli, ["dedup", "-w", str(db), "--dry-run"])
    assert r.exit_code == 0, r.output
    assert "cluster 1: keep 1" in r.stdout and "dup 2 (exact)" in r.stdout
    assert "dry run: nothing marked" in r.stdout
    r = CliRunner().invoke(cli, ["dedup", "-w", str(db), "--json", "--workers", "1"])
    out = json.loads(r.stdout)
    assert (out["clusters"], out["duplicates"], out["exact_duplicates"]) == (1, 2, 2)
    assert out["cluster_list"][0]["members"][0] == {"id": 2, "similarity": 1.0, "exact": True}
    assert out["journal_entry"] is not None
    r = CliRunner().invoke(cli, ["dedup", "-w", str(db), "--keeper", "nope"])
    assert r.exit_code == 2 and "unknown keeper" in r.stderr


def test_examples_as_json_bytes_give_the_same_clusters_as_dicts() -> None:
    from curator.dedup import find_duplicates

    records, _ = _generate(400, seed=9)
    as_dicts = find_duplicates(enumerate(records), processes=1)
    as_bytes = find_duplicates(((i, json.dumps(r).encode()) for i, r in enumerate(records)),
                               processes=1)
    assert as_bytes.clusters == as_dicts.clusters and len(as_dicts.clusters) > 10
    assert as_bytes.pairs == as_dicts.pairs


def test_workers_read_the_workspace_themselves(tmp_path: Path) -> None:
    import pickle

    from curator.workspace.dedup import WorkspaceFetch

    records, _ = _generate(300, seed=5)
    db = _workspace(tmp_path, records)
    fetch = pickle.loads(pickle.dumps(WorkspaceFetch(db)))  # as a worker process receives it
    try:
        with Workspace.open(db) as ws:
            stored = dict(ws.connection.execute(
                "SELECT id, CAST(coalesce(current, canonical) AS BLOB) FROM records"))
        run = list(range(40, 90))  # consecutive ids: read with one range scan
        spread = [299, 3, 150, 3]  # scattered and repeated: read by id
        assert fetch(run) == [stored[i] for i in run]
        assert fetch(spread) == [stored[i] for i in spread]
        with pytest.raises(WorkspaceError, match="record 5000"):
            fetch([1, 5000])
    finally:
        fetch.close()
    with Workspace.open(db) as ws:  # two worker processes reading: the same clusters
        one = dedup_workspace(ws, processes=1, dry_run=True)
        two = dedup_workspace(ws, processes=2, dry_run=True)
    assert one.clusters == two.clusters and len(one.clusters) > 5


def test_eligible_records_are_read_from_the_partial_indexes(tmp_path: Path) -> None:
    from curator.workspace.dedup import Eligible
    from curator.workspace.selection import ELIGIBLE_SQL

    db = _workspace(tmp_path, [chat("a", "b"), chat("c", "d"), chat("e", "f")])
    with Workspace.open(db) as ws:
        ws.set_status([2], "rejected")
        ws.edit(3, chat("e", "edited"))
        found = Eligible.read(ws)
        assert found.ids == [1, 3] and [i for i, _ in found.edits] == [3]
        plans = [" ".join(str(step[-1]) for step in ws.connection.execute(
            f"EXPLAIN QUERY PLAN SELECT id FROM records WHERE {ELIGIBLE_SQL}{extra} ORDER BY id"))
            for extra in ("", " AND current IS NOT NULL")]
    assert "records_eligible" in plans[0] and "records_edited" in plans[1]


def test_an_edit_while_dedup_runs_marks_nothing(tmp_path: Path) -> None:
    records, _ = _generate(300, seed=6)
    db = _workspace(tmp_path, records)

    def edit_meanwhile(done: int, total: int) -> None:
        # as the review app would: another connection commits an edit mid-run
        with Workspace.open(db) as other:
            other.edit(7, chat("a", "a different answer"))

    with Workspace.open(db) as ws:
        with pytest.raises(WorkspaceError, match="while dedup ran"):
            dedup_workspace(ws, processes=1, progress=edit_meanwhile)
        assert all(m == (None, None, None) for m in _marks(ws).values())
        assert ws.meta("dedup.cache") is None
        again = dedup_workspace(ws, processes=1)  # nothing moves now: it runs and marks
        assert again.change is not None and again.duplicates > 0


def test_no_screen_verifies_every_band_pair(tmp_path: Path) -> None:
    records, _ = _generate(400, seed=8)
    db = _workspace(tmp_path, records)
    code_a, out_a = _run_json(["dedup", "-w", str(db), "--dry-run", "--json"])
    code_b, out_b = _run_json(["dedup", "-w", str(db), "--dry-run", "--json", "--no-screen"])
    assert code_a == code_b == 0
    assert out_b["screened_out"] == 0 and out_b["params"]["screen"] is False
    assert out_a["params"]["screen"] is True  # (tests/unit/test_dedup.py shows screening at work)
    assert out_a["candidate_pairs"] == out_b["candidate_pairs"]
    assert out_a["cluster_list"] == out_b["cluster_list"]


def _run_json(args: list[str]) -> tuple[int, Any]:
    r = CliRunner().invoke(cli, args)
    return r.exit_code, json.loads(r.stdout) if r.exit_code == 0 else r.stderr


def test_a_capped_run_warns_and_reports_it_in_json(tmp_path: Path) -> None:
    # issue 15: rows sharing a long preamble at --threshold 0.5 fill whole LSH buckets; the
    # cap on them is said on stderr, in the text and in --json (new fields)
    spec = importlib.util.spec_from_file_location("bench_dedup_cap",
                                                  ROOT / "bench" / "bench_dedup_cap.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows, _ = module.similar_rows(600)
    db = _workspace(tmp_path, rows)
    args = ["dedup", "-w", str(db), "--threshold", "0.5", "--dry-run", "--workers", "1"]
    r = CliRunner().invoke(cli, [*args, "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["capped_buckets"] > 0 and 0 < out["capped_records"] <= 600
    assert out["bucket_cap"] > 1 and out["bucket_window"] > 0 and out["record_cap"] > 0
    assert out["limited_records"] >= 0 and out["limited_pairs"] >= 0
    assert out["warnings"] and "may be missed" in out["warnings"][0]
    assert "warning:" in r.stderr and "may be missed" in r.stderr
    for c in out["cluster_list"]:
        assert all(m["similarity"] >= 0.5 for m in c["members"])
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0 and "candidates capped:" in r.stdout


def test_an_edit_while_the_pairs_are_verified_marks_nothing(tmp_path: Path) -> None:
    # the workers have read every record by then; an edit landing while the candidate pairs are
    # verified must still refuse the result, or the record would be marked (and left out of the
    # export) as a duplicate by a text it no longer has
    records, _ = _generate(300, seed=6)
    db = _workspace(tmp_path, records)
    edited: list[int] = []

    def edit_while_verifying(done: int, total: int) -> None:
        if total > len(records) and not edited:  # past the signing: the pairs' progress
            with Workspace.open(db) as other:
                other.edit(7, chat("a", "a different answer"))
            edited.append(done)

    with Workspace.open(db) as ws:
        with pytest.raises(WorkspaceError, match="while dedup ran"):
            dedup_workspace(ws, processes=1, progress=edit_while_verifying)
        assert edited, "the run never reached the verification of pairs"
        assert all(m == (None, None, None) for m in _marks(ws).values())


def test_an_edit_after_everything_is_found_but_before_the_marks_marks_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the last moment: the result is complete and checked, the marks not yet written (the
    # pairs are being listed for the cache). The fingerprint is taken again under the write
    # lock, so this edit too refuses the run instead of a mark by a text the record lost.
    from curator.workspace import dedup as dedup_module

    records, _ = _generate(300, seed=6)
    db = _workspace(tmp_path, records)
    listed = dedup_module.cached_pairs
    edited: list[bool] = []

    def list_and_edit(result: Any) -> list[tuple[int, int, float, bool]]:
        with Workspace.open(db) as other:
            other.edit(7, chat("a", "a different answer"))
        edited.append(True)
        return listed(result)

    monkeypatch.setattr(dedup_module, "cached_pairs", list_and_edit)
    with Workspace.open(db) as ws:
        with pytest.raises(WorkspaceError, match="while dedup ran"):
            dedup_workspace(ws, processes=1)
        assert edited
        assert all(m == (None, None, None) for m in _marks(ws).values())
        assert ws.meta("dedup.cache") is None
        assert ws.connection.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        # and the last check of a run that marks is taken inside the write transaction: the
        # write stamp (nothing committed since the records were read), and the fingerprint
        # again only when the stamp moved
        monkeypatch.setattr(dedup_module, "cached_pairs", listed)
        taken, stamped = dedup_module.content_key, dedup_module.write_stamp
        inside: list[tuple[str, bool]] = []

        def key_noting_transaction(*args: Any, **kwargs: Any) -> str:
            inside.append(("key", ws.connection.in_transaction))
            return taken(*args, **kwargs)

        def stamp_noting_transaction(*args: Any) -> tuple[int, int]:
            inside.append(("stamp", ws.connection.in_transaction))
            return stamped(*args)

        monkeypatch.setattr(dedup_module, "content_key", key_noting_transaction)
        monkeypatch.setattr(dedup_module, "write_stamp", stamp_noting_transaction)
        assert dedup_workspace(ws, processes=1).change is not None
        assert inside == [("stamp", False), ("key", False), ("stamp", True)]


def test_marks_and_the_pair_cache_are_written_in_one_commit(tmp_path: Path) -> None:
    # one transaction for both: one commit (and one pass over the WAL) instead of two, and a
    # run leaves either its marks and its pairs or neither
    records, _ = _generate(300, seed=7)
    db = _workspace(tmp_path, records)
    with Workspace.open(db) as ws:
        statements: list[str] = []
        ws.connection.set_trace_callback(statements.append)
        result = dedup_workspace(ws, processes=1)
        ws.connection.set_trace_callback(None)
        assert result.duplicates > 0
        assert sum(s.strip().upper() == "COMMIT" for s in statements) == 1
        cached = ws.dedup_pairs()
        assert {(a, b) for a, b, _, exact in cached if not exact} == \
            {(a, b) for a, b, _ in result.pairs}
        assert all(m[0] is not None for i, m in _marks(ws).items()
                   if any(i in c.ids for c in result.clusters))


def test_a_marking_that_fails_leaves_the_pair_cache_as_it_was(tmp_path: Path) -> None:
    from curator.workspace import DuplicateCluster
    from curator.workspace.dedup_marks import mark_with_pairs

    db = _workspace(tmp_path, [chat(f"q{k}", f"a{k}") for k in range(6)])
    with Workspace.open(db) as ws:
        ws.save_dedup_pairs("old-key", [(1, 2, 0.9, False)])
        bad = [DuplicateCluster(1, {2: 0.9}), DuplicateCluster(3, {2: 0.85})]  # 2 twice
        with pytest.raises(WorkspaceError, match="two duplicate clusters"):
            mark_with_pairs(ws, bad, {}, clear_others=True,
                            pairs=("new-key", [(1, 2, 0.9, False), (2, 3, 0.85, False)]))
        assert ws.dedup_pairs() == [(1, 2, 0.9, False)]
        assert ws.meta("dedup.cache") == "old-key"
        assert all(m == (None, None, None) for m in _marks(ws).values())
        mark_with_pairs(ws, [DuplicateCluster(1, {2: 0.9})], {}, clear_others=True,
                        pairs=("new-key", [(2, 1, 0.9, False)]))
        assert ws.dedup_pairs() == [(1, 2, 0.9, False)] and ws.meta("dedup.cache") == "new-key"
        assert _marks(ws)[2] == (1, 1, 0.9)


def test_the_collector_is_off_while_the_marks_are_written_and_back_on_after(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # once back on, the collector's first collections walked every object the run built
    # (1M: about a second, serial); it comes back when the command is done, on errors too
    import gc

    records, _ = _generate(200, seed=8)
    db = _workspace(tmp_path, records)
    import curator.workspace.dedup as ws_dedup

    seen: list[bool] = []
    mark = ws_dedup.mark_with_pairs

    def spying(ws: Workspace, *args: Any, **kwargs: Any) -> Any:
        seen.append(gc.isenabled())
        return mark(ws, *args, **kwargs)

    monkeypatch.setattr(ws_dedup, "mark_with_pairs", spying)
    assert gc.isenabled()
    with Workspace.open(db) as ws:
        dedup_workspace(ws, processes=1)
        assert seen == [False] and gc.isenabled()
        with pytest.raises(WorkspaceError):
            dedup_workspace(ws, keeper="999999", processes=1)
        assert gc.isenabled()


def test_an_edit_through_the_same_connection_while_dedup_runs_marks_nothing(
        tmp_path: Path) -> None:
    # the last check skips reading every record again when nothing was committed since they
    # were read; a commit through the dedup's own connection (another thread of the review
    # app, say) does not move SQLite's data_version, so the stamp counts its rows too
    from curator.workspace import dedup as dedup_module

    records, _ = _generate(300, seed=6)
    db = _workspace(tmp_path, records)
    with Workspace.open(db) as ws:
        stamp = dedup_module.write_stamp(ws)
        edited: list[int] = []

        def edit_here(done: int, total: int) -> None:
            if not edited:
                ws.edit(7, chat("a", "a different answer"))
                edited.append(done)

        with pytest.raises(WorkspaceError, match="while dedup ran"):
            dedup_workspace(ws, processes=1, progress=edit_here)
        assert edited and dedup_module.write_stamp(ws) != stamp
        assert all(m == (None, None, None) for m in _marks(ws).values())
        # and a commit by another connection moves it too
        stamp = dedup_module.write_stamp(ws)
        with Workspace.open(db) as other:
            other.edit(8, chat("b", "another answer"))
        assert dedup_module.write_stamp(ws) != stamp
        stamp = dedup_module.write_stamp(ws)
        assert dedup_module.write_stamp(ws) == stamp  # reads alone leave it


def test_the_report_built_while_the_marks_are_written_is_the_report(tmp_path: Path) -> None:
    from curator.workspace.dedup import WorkspaceDedup, cluster_report

    records, _ = _generate(300, seed=9)
    db = _workspace(tmp_path, records)
    with Workspace.open(db) as ws:
        result = dedup_workspace(ws, processes=1)
        assert result.report is not None and result.duplicates > 0  # built beside the marks
        built = result.to_dict()
        inline = WorkspaceDedup(**{**result.__dict__, "report": None}).to_dict()
        assert built == inline
        assert built["cluster_list"] == cluster_report(result.clusters)["cluster_list"]
        assert built["duplicates"] == result.duplicates == \
            built["exact_duplicates"] + built["near_duplicates"]
        dry = dedup_workspace(ws, processes=1, dry_run=True)  # nothing written: built when asked
        assert dry.report is None
        assert {k: v for k, v in dry.to_dict().items() if k not in ("dry_run", "journal_entry")} \
            == {k: v for k, v in built.items() if k not in ("dry_run", "journal_entry")}
