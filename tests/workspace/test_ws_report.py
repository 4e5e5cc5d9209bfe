"""gather_facts on real workspaces, and `curator report` as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from store_helpers import chat, write_jsonl

from curator.cli import cli
from curator.report import assess, verdict
from curator.workspace import DuplicateCluster, Workspace
from curator.workspace.importer import import_files
from curator.workspace.prepare import Preparer
from curator.workspace.report import baseline_loss, gather_facts

N = 100


def _ready(tmp_path: Path, n: int = N) -> Path:
    """A workspace that passes every line: reviewed, deduped, split, labelled, baseline run."""
    rows: list[Any] = [chat(f"question number {i}", f"answer number {i} " + "x " * (i % 7))
                       for i in range(n)]
    src = write_jsonl(tmp_path / "d.jsonl", rows)
    db = tmp_path / "w.db"
    with Workspace.open(db, create=True) as ws:
        import_files(ws, [src], prepare=Preparer("openai"))
        ws.set_meta("workspace.target", '"openai"')
        ids = list(ws.select_ids())
        names = ["train"] * 8 + ["validation", "holdout"]
        ws.set_splits({i: names[k % 10] for k, i in enumerate(ids)}, {"seed": 1})
        ws.add_label_names(["<b>billing</b>", "refund"])
        # blocks of ten, so each label reaches every split
        ws.add_labels([i for k, i in enumerate(ids) if (k // 10) % 2], ["<b>billing</b>"])
        ws.add_labels([i for k, i in enumerate(ids) if (k // 10) % 2 == 0], ["refund"])
        ws.set_status(None, "accepted", where=["status=pending"])
        ws.set_meta("dedup.params", json.dumps({"threshold": 0.8}))
        ws.set_meta("train.last_run", json.dumps(
            {"verdict": "PASS", "baseline": {"validation": {"loss": 2.25}}}))
    return db


def test_a_ready_workspace_passes(tmp_path: Path) -> None:
    with Workspace.open(_ready(tmp_path)) as ws:
        facts = gather_facts(ws)
    assert (facts.total, facts.rejected, facts.accepted, facts.pending) == (N, 0, N, 0)
    assert facts.split_counts == {"train": 80, "validation": 10, "holdout": 10}
    assert list(facts.split_counts) == ["train", "validation", "holdout"]
    assert facts.leakage_pairs == 0 and facts.exact_duplicates_included == 0
    assert len(facts.tokens) == N and min(facts.tokens) > 0
    assert facts.token_limit == 65536 and facts.target == "openai"
    assert facts.labels["refund"] == {"train": 40, "validation": 5, "holdout": 5}
    assert facts.baseline_loss == 2.25 and facts.dedup_run
    checks = assess(facts)
    assert verdict(checks) == "pass", [(c.name, c.status, c.detail) for c in checks]


def test_duplicates_leakage_and_errors_are_measured(tmp_path: Path) -> None:
    db = _ready(tmp_path)
    with Workspace.open(db) as ws:
        # record 2 (validation? no: train) gets record 9's content, which sits in validation
        nine = ws.get(9)
        assert nine.split == "validation" and ws.get(2).split == "train"
        ws.edit(2, {"messages": [dict(m, content=m["content"].upper() + "  ")
                                 for m in nine.canonical["messages"]]})  # type: ignore[index]
        facts = gather_facts(ws)
        assert facts.exact_duplicates_included == 1 and facts.leakage_pairs == 1
        checks = {c.name: c for c in assess(facts)}
        assert checks["duplicates resolved"].status == "fail"
        assert checks["holdout present, no leakage"].status == "fail"
        ws.mark_duplicates([DuplicateCluster(9, {2: 1.0})])
        facts = gather_facts(ws)
        assert facts.exact_duplicates_included == 0 and facts.leakage_pairs == 0
        assert (facts.rejected, facts.duplicates_marked, facts.accepted) == (1, 1, N - 1)
        assert facts.split_counts["train"] == 79
        # a record with an error for openai, set back to pending by hand
        ws.edit(3, {"messages": [{"role": "user", "content": "no answer here"}]})
        assert gather_facts(ws).with_errors == 0  # the edit did not store issues
    with Workspace.open(db) as ws:
        ws.connection.execute(
            "INSERT INTO issues(record_id, code, severity, message) "
            "VALUES (3, 'chat.no_assistant', 'error', 'no assistant message')")
        facts = gather_facts(ws)
        assert facts.with_errors == 1
        # asked for another target, every included record is checked again
        trl = gather_facts(ws, target="trl")
        assert trl.token_limit == 1024 and trl.target == "trl"
        assert trl.with_errors == 1  # rows with errors are not counted, as in `curator validate`
        assert len(trl.tokens) == N - 2


def test_an_empty_or_unsplit_workspace(tmp_path: Path) -> None:
    with Workspace.open(tmp_path / "e.db", create=True) as ws:
        facts = gather_facts(ws)
        assert facts.total == 0 and facts.split_counts == {} and facts.leakage_pairs is None
        assert verdict(assess(facts)) == "fail"
        import_files(ws, [write_jsonl(tmp_path / "d.jsonl", [chat("a", "b"), chat("c", "d")])],
                     Preparer("openai", count_tokens=False))
        ws.set_splits({1: "train"})
        facts = gather_facts(ws)
        assert facts.split_counts == {"train": 1, "unsplit": 1}


@pytest.mark.parametrize(("run", "loss"), [
    ({"baseline": {"validation": {"loss": 1.5}}}, 1.5),
    ({"baseline": {"validation": 1.25}}, 1.25),
    ({"baseline_loss": 3}, 3.0),
    ({"baseline_validation_loss": 0.5}, 0.5),
    ({"verdict": "FAIL"}, None),
    ("not a run", None),
])
def test_baseline_shapes(run: Any, loss: float | None) -> None:
    assert baseline_loss(run) == loss


def test_cli_report_table_json_html(tmp_path: Path) -> None:
    db = _ready(tmp_path)
    runner = CliRunner()
    r = runner.invoke(cli, ["report", "-w", str(db)])
    assert r.exit_code == 0, r.output
    assert "PASS  holdout present, no leakage: validation 10, holdout 10" in r.stdout
    assert r.stdout.strip().endswith("verdict: pass")
    page = tmp_path / "r.html"
    r = runner.invoke(cli, ["report", "-w", str(db), "--json", "--html", str(page),
                            "--max-tokens", "8"])
    assert r.exit_code == 0
    data = json.loads(r.stdout)
    assert data["verdict"] == "warn" and data["token_limit"] == 8
    length = next(c for c in data["checks"] if c["name"] == "length within limit")
    assert length["status"] == "warn" and length["numbers"]["over_limit"] > 0
    html = page.read_text()
    assert "<b>billing</b>" not in html and "&lt;b&gt;billing&lt;/b&gt;" in html
    assert "limit 8" in html and "<script" not in html and "http" not in html.replace(
        'xmlns="http', "").replace("http-equiv", "")
    for split in ("train", "validation", "holdout"):
        assert f">{split}<" in html


def test_cli_report_exits_1_on_a_failed_line(tmp_path: Path) -> None:
    db = _ready(tmp_path, 8)  # fewer than 10 training examples
    r = CliRunner().invoke(cli, ["report", "-w", str(db)])
    assert r.exit_code == 1
    assert "FAIL  enough examples" in r.stdout
    r = CliRunner().invoke(cli, ["report", "-w", str(tmp_path / "nope.db")])
    assert r.exit_code == 2 and "no workspace" in r.stderr


def test_every_duplicate_cluster_keeps_exactly_one_copy(tmp_path: Path) -> None:
    """keep_one (the duplicates screen's `2`) leaves exactly the chosen record for export, and
    report fails a cluster whose copies are all gone or that exports two (issue 11, item 6)."""
    from curator.workspace.export import export_workspace

    src = write_jsonl(tmp_path / "d.jsonl", [chat(f"q {i}", f"a {i}") for i in range(1, 9)])
    with Workspace.open(tmp_path / "w.db", create=True) as ws:
        import_files(ws, [src], Preparer("openai", count_tokens=False))
        ws.set_splits({i: "train" if i < 7 else ("validation", "holdout")[i % 2]
                       for i in ws.select_ids()})
        ws.mark_duplicates([DuplicateCluster(1, {2: 0.9, 3: 0.85}), DuplicateCluster(4, {5: 0.95})])
        ws.save_dedup_pairs("k", [(2, 3, 0.88, False), (1, 2, 0.9, False)])

        def check() -> Any:
            return {c.name: c for c in assess(gather_facts(ws))}["one copy per duplicate cluster"]

        assert check().status == "pass"
        ws.keep_one(1, 3)  # keep a member that was a duplicate
        assert [(ws.get(i).status, ws.get(i).dup_of, ws.get(i).similarity) for i in (1, 2, 3)] == [
            ("rejected", 3, 0.85), ("rejected", 3, 0.88), ("accepted", None, None)]
        res = export_workspace(ws, tmp_path / "out")
        exported = {e["id"] for e in res.manifest["excluded"]} ^ set(ws.select_ids())
        assert exported & {1, 2, 3} == {3}
        assert check().status == "pass"
        ws.keep_one(1, 1)  # and back: the first keeper again
        assert ws.get(1).dup_of is None and ws.get(3).dup_of == 1
        ws.undo(2)
        assert ws.get(3).dup_of == 1 and ws.get(3).status == "pending"
        ws.set_status([4], "rejected", "bad")  # the keeper rejected by hand: 5 is out as its dup
        lost = check()
        assert lost.status == "fail" and lost.numbers["without_copy"] == [4]
        ws.set_status([5], "rejected", "also bad")  # every member rejected: a decision
        assert check().status == "pass"
        ws.set_status([4, 5], "pending")
        ws.mark_duplicates([DuplicateCluster(1, {2: 0.9, 3: 0.85})], clear_others=True)
        # a stale mark
        ws.connection.execute("UPDATE record_marks SET dup_of = NULL WHERE record_id = 2")
        many = check()
        assert many.status == "fail" and many.numbers["with_copies"] == [1]


def test_labels_curator_adds_itself_never_count_in_label_balance(tmp_path: Path) -> None:
    """The trainer's review:high-loss queue sits in one split; label balance judges the user's
    labels only (issue 11, item 13). The rule is keyed on curator.labels.is_curator_label."""
    from curator.labels import is_curator_label
    from curator.train.workspace import REVIEW_LABEL, write_back

    assert is_curator_label(REVIEW_LABEL)
    src = write_jsonl(tmp_path / "d.jsonl", [chat(f"q {i}", f"a {i}") for i in range(30)])
    with Workspace.open(tmp_path / "w.db", create=True) as ws:
        import_files(ws, [src], Preparer("openai", count_tokens=False))
        ws.set_splits({i: ("train", "validation", "holdout")[i % 3] for i in ws.select_ids()})
        ws.add_label_names(["bikes"])
        ws.add_labels(list(range(1, 31, 2)), ["bikes"])  # in every split
        before = {c.name: c for c in assess(gather_facts(ws))}["label balance"]
        assert before.status == "pass"
        out = tmp_path / "run"
        out.mkdir()
        train_ids = list(ws.select_ids(["split=train"]))[:3]
        (out / "review_queue.jsonl").write_text("".join(
            json.dumps({"record_id": i, "loss": 3.0 - k, "rank": k + 1, "split": "train"}) + "\n"
            for k, i in enumerate(train_ids)))
        write_back(ws, {"review_queue": {"count": 3, "path": "review_queue.jsonl"},
                        "verdict": "pass"}, out, "now")
        assert ws.count([f"label={REVIEW_LABEL}"]) == 3
        after = {c.name: c for c in assess(gather_facts(ws))}["label balance"]
    assert after.status == "pass", after.detail
    assert after.numbers["not_counted"] == [REVIEW_LABEL]
    assert REVIEW_LABEL not in after.numbers["counts"]
