"""`curator train -w WS`: the workspace as the data source, and the run written back to it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from train_helpers import chat, write_split

from curator.cli import cli
from curator.train.errors import UsageError
from curator.train.workspace import LAST_RUN_KEY, NOTE_PREFIX, REVIEW_LABEL, load_workspace
from curator.workspace import DuplicateCluster, Workspace
from curator.workspace.importer import import_files
from curator.workspace.prepare import Preparer

ANSWER = "Arr, matey! Ye be askin' a fine question."


def make_workspace(tmp_path: Path, n: int = 16, split: bool = True) -> Path:
    """n memorisable records: ids 1..n, first half train, then a quarter each validation/holdout."""
    src = tmp_path / "rows.jsonl"
    write_split(src, [chat(f"question {i}?", ANSWER) for i in range(n)])
    db = tmp_path / "work.db"
    with Workspace.open(db, create=True) as ws:
        import_files(ws, [src], Preparer("openai", count_tokens=False))
        if split:
            names = ["train"] * (n // 2) + ["validation"] * (n // 4) + ["holdout"] * (n - n // 2 - n // 4)
            ws.set_splits({i + 1: s for i, s in enumerate(names)}, {"names": ["train", "validation", "holdout"]})
    return db


def test_a_workspace_without_splits_says_to_run_split(tmp_path: Path) -> None:
    db = make_workspace(tmp_path, split=False)
    result = CliRunner().invoke(cli, ["train", "-w", str(db), "--model", "tiny"])
    assert result.exit_code == 2
    assert "no record has a split" in result.output and f"curator split -w {db}" in result.output


def test_both_a_workspace_and_a_data_folder_is_a_usage_error(tmp_path: Path) -> None:
    db = make_workspace(tmp_path)
    result = CliRunner().invoke(cli, ["train", "-w", str(db), "--data", str(tmp_path)])
    assert result.exit_code == 2 and "both a workspace and a data folder" in result.output


def test_the_current_form_is_read_and_rejected_and_duplicates_are_left_out(tmp_path: Path) -> None:
    db = make_workspace(tmp_path)
    with Workspace.open(db) as ws:
        ws.edit(1, chat("edited question?", "edited answer"))
        ws.set_status([2], "rejected", "off topic")
        ws.mark_duplicates([DuplicateCluster(keeper=3, duplicates={4: 1.0})])
        data = load_workspace(ws)
    train = {e.record_id: e for e in data.splits.train}
    assert sorted(train) == [1, 3, 5, 6, 7, 8]
    assert train[1].chat.messages[1].content == "edited answer"  # type: ignore[union-attr]
    assert train[1].where == "record 1"
    assert [e.record_id for e in data.splits.validation] == [9, 10, 11, 12]
    assert [e.record_id for e in data.splits.holdout] == [13, 14, 15, 16]
    assert data.skipped == {"rejected": [2], "marked duplicate": [4]}
    assert any("1 record(s) with a split left out (rejected): 2" in n for n in data.notes())


def test_custom_split_names_map_in_order(tmp_path: Path) -> None:
    db = make_workspace(tmp_path, split=False)
    with Workspace.open(db) as ws:
        ws.set_splits({i: ("tr" if i <= 8 else "dev" if i <= 12 else "test") for i in range(1, 17)},
                      {"names": ["tr", "dev", "test"]})
        ws.set_meta("split.params", json.dumps({"names": ["tr", "dev", "test"]}))
        data = load_workspace(ws)
    assert (len(data.splits.train), len(data.splits.validation), len(data.splits.holdout)) == (8, 4, 4)


def test_split_names_of_an_older_workspace_map_too(tmp_path: Path) -> None:
    # an older curator kept the split's parameters only under meta `split_params`; export and
    # report read them there, and the trainer now reads them the same way (one reader)
    db = make_workspace(tmp_path, split=False)
    with Workspace.open(db) as ws:
        ws.set_splits({i: ("tr" if i <= 8 else "dev" if i <= 12 else "test") for i in range(1, 17)})
        ws.set_meta("split_params", json.dumps({"names": ["tr", "dev", "test"]}))
        assert ws.meta("split.params") is None
        data = load_workspace(ws)
    assert (len(data.splits.train), len(data.splits.validation), len(data.splits.holdout)) == (8, 4, 4)
    assert data.names == {"train": "tr", "validation": "dev", "holdout": "test"}


def test_every_reason_to_leave_a_record_out_is_noted_in_id_order(tmp_path: Path) -> None:
    # the trainer's notes name each record left out under the same words, in the same order,
    # whether the reason comes from the export selection or from the trainer's own checks
    src = tmp_path / "rows.jsonl"
    lines = [json.dumps(chat(f"question {i}?", ANSWER)) for i in range(16)]
    lines[5] = "{broken"  # record 6: no chat form
    lines[9] = "{also broken"  # record 10: no chat form, and a split the trainer does not know
    lines[11] = json.dumps({"prompt": "p", "chosen": "a", "rejected": "b"})  # 12: a preference pair
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with Workspace.open(tmp_path / "w.db", create=True) as ws:
        import_files(ws, [src])
        ws.set_status([6, 10], "pending")  # reset: not rejected, still nothing to train on
        names = ["train"] * 8 + ["validation"] * 4 + ["holdout"] * 4
        placed = {i + 1: s for i, s in enumerate(names)}
        placed[10] = placed[14] = "extra"
        ws.set_splits(placed)
        ws.set_status([3, 16], "rejected", "off topic")
        ws.mark_duplicates([DuplicateCluster(keeper=1, duplicates={2: 1.0, 15: 0.9})])
        data = load_workspace(ws)
    unknown = "split 'extra' is not one of train, validation, holdout"
    # record 12 imports as a preference record (issue 16), which supervised training leaves out
    pair = "not a chat example (a preference row, or invalid)"
    assert data.skipped == {"marked duplicate": [2, 15], "rejected": [3, 16],
                            "no chat form": [6], unknown: [10, 14], pair: [12]}
    assert list(data.skipped) == ["marked duplicate", "rejected", "no chat form", unknown, pair]
    head = "workspace: {} record(s) with a split left out ({}): {}"
    assert list(data.notes()) == [head.format(2, "marked duplicate", "2, 15"),
                                  head.format(2, "rejected", "3, 16"),
                                  head.format(1, "no chat form", "6"),
                                  head.format(2, unknown, "10, 14"),
                                  head.format(1, pair, "12")]
    assert [e.record_id for e in data.splits.train] == [1, 4, 5, 7, 8]


def test_an_empty_split_is_named(tmp_path: Path) -> None:
    db = make_workspace(tmp_path)
    with Workspace.open(db) as ws:
        ws.set_status(None, "rejected", where=["split=validation"])
        with pytest.raises(UsageError, match=r"the validation split \('validation'\) has no usable record"):
            load_workspace(ws)


def test_flag_records_is_one_undoable_entry(tmp_path: Path) -> None:
    db = make_workspace(tmp_path)
    with Workspace.open(db) as ws:
        ws.set_note(5, "my own note")
        first = ws.flag_records("queue", [1, 2], notes={1: "a"}, meta={"k": "1"})
        second = ws.flag_records("queue", [2, 3], notes={5: None}, exclusive=True, meta={"k": "2"})
        labelled = lambda: sorted(ws.select_ids(["label=queue"]))  # noqa: E731
        assert labelled() == [2, 3] and ws.meta("k") == "2" and ws.get(5).note is None
        assert first.entry_id is not None and second.entry_id == first.entry_id + 1
        ws.undo()
        assert labelled() == [1, 2] and ws.meta("k") == "1" and ws.get(5).note == "my own note"
        ws.undo()
        assert labelled() == [] and ws.meta("k") is None and ws.get(1).note is None
        assert "queue" not in dict(ws.labels())
        ws.redo(2)
        assert labelled() == [2, 3] and ws.meta("k") == "2"


def test_train_on_a_workspace_writes_the_review_queue_and_undo_takes_it_back(tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("torch")
    db = make_workspace(tmp_path, n=40)  # 20 train, 10 validation (21-30), 10 holdout (31-40)
    with Workspace.open(db) as ws:
        ws.set_note(22, "checked by hand")
        before_log = len(ws.log(None))
    out = tmp_path / "run"
    monkeypatch.setenv("CURATOR_WORKSPACE", str(db))  # the env variable names the workspace
    result = CliRunner().invoke(cli, ["train", "--model", "tiny", "--out", str(out), "--steps", "25",
                                      "--lr", "1e-2", "--quant", "none", "--generate", "1",
                                      "--review-top-k", "5", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    assert json.loads(result.stdout) == report  # --json: the report on stdout, nothing else
    assert "VERDICT" not in result.stdout
    assert "no GPU: training on the CPU" in result.output and report["model"]["compute_dtype"] == "float32"
    queue = [json.loads(x) for x in (out / "review_queue.jsonl").read_text().splitlines()]
    assert report["verdict"] == "PASS" and len(queue) == 5
    assert {r["split"] for r in queue} <= {"train", "validation", "holdout"}

    with Workspace.open(db) as ws:
        assert REVIEW_LABEL in dict(ws.labels())
        assert sorted(ws.select_ids([f"label={REVIEW_LABEL}"])) == sorted(r["record_id"] for r in queue)
        for r in queue:
            note = ws.get(r["record_id"]).note or ""
            assert f"{NOTE_PREFIX}loss {r['loss']:.3f} nats/token" in note and f"rank {r['rank']} of 5" in note
        if 22 in {r["record_id"] for r in queue}:
            assert (ws.get(22).note or "").startswith("checked by hand\n")
        last = json.loads(ws.meta(LAST_RUN_KEY) or "{}")
        assert last["run_dir"] == str(out) and last["verdict"] == "PASS"
        for split in ("validation", "holdout"):
            for stage in ("baseline", "tuned"):
                assert last[stage][split] == {k: report[stage][split][k] for k in ("loss", "perplexity", "token_accuracy")}
        log = ws.log(None)
        assert len(log) == before_log + 1 and log[0].action == "train"  # one entry for all of it

    undone = CliRunner().invoke(cli, ["undo", "-w", str(db)])
    assert undone.exit_code == 0, undone.output
    with Workspace.open(db) as ws:
        assert REVIEW_LABEL not in dict(ws.labels())
        assert list(ws.select_ids([f"label={REVIEW_LABEL}"])) == []
        assert ws.meta(LAST_RUN_KEY) is None
        assert ws.get(22).note == "checked by hand"
        assert all(NOTE_PREFIX not in (ws.get(r["record_id"]).note or "") for r in queue)


def _labels(ws: Workspace, rid: int) -> set[str]:
    return {x for (x,) in ws.connection.execute("SELECT label FROM record_labels WHERE record_id = ?", (rid,))}


def test_the_holdout_stays_sealed(tmp_path: Path) -> None:
    """Issue 13: the trainer labelled holdout records for review on the tuned model's loss. Now the
    queue ranks train (with --rank-train) and validation only, and no holdout record is labelled
    or noted, even when every other record is."""
    pytest.importorskip("torch")
    db = make_workspace(tmp_path, n=40)
    with Workspace.open(db) as ws:
        ws.set_note(35, "holdout note")
        holdout = sorted(ws.select_ids(["split=holdout"]))
    assert holdout == list(range(31, 41))
    out = tmp_path / "run"
    result = CliRunner().invoke(cli, ["train", "-w", str(db), "--model", "tiny", "--out", str(out), "--steps", "2",
                                      "--quant", "none", "--generate", "0", "--rank-train", "--review-top-k", "100"])
    assert result.exit_code in (0, 1, 3), result.output
    queue = [json.loads(x) for x in (out / "review_queue.jsonl").read_text().splitlines()]
    assert len(queue) == 30 and {r["split"] for r in queue} == {"train", "validation"}
    with Workspace.open(db) as ws:
        assert sorted(ws.select_ids([f"label={REVIEW_LABEL}"])) == list(range(1, 31))
        for rid in holdout:
            assert _labels(ws, rid) == set()
            assert ws.get(rid).note == ("holdout note" if rid == 35 else None)

    # A queue file that names holdout records (an older run, a hand edit) still labels none of them.
    from curator.train.workspace import write_back

    forged = [{"rank": 1, "split": "holdout", "record_id": 33, "loss": 9.0},
              {"rank": 2, "split": "train", "record_id": 34, "loss": 8.0},  # its split says train; the workspace says holdout
              {"rank": 3, "split": "validation", "record_id": 21, "loss": 7.0}]
    (out / "review_queue.jsonl").write_text("".join(json.dumps(r) + "\n" for r in forged))
    with Workspace.open(db) as ws:
        write_back(ws, {"verdict": "PASS", "review_queue": {"count": 3}}, out, "now")
        assert sorted(ws.select_ids([f"label={REVIEW_LABEL}"])) == [21]
        assert all(_labels(ws, rid) == set() for rid in holdout)


def test_records_the_validation_rules_reject_are_left_out(tmp_path: Path) -> None:
    """A workspace imported for another target may hold a "\\n" answer as a warning only; the
    trainer runs the same rules for its own target and never trains it."""
    db = make_workspace(tmp_path)
    with Workspace.open(db) as ws:
        ws.edit(2, chat("question 1?", "\n"))
        ws.edit(10, chat("question 9?", " "))
        data = load_workspace(ws)
    assert 2 not in {e.record_id for e in data.splits.train}
    assert 10 not in {e.record_id for e in data.splits.validation}
    assert data.skipped["rejected by the validation rules"] == [2, 10]
    assert [(b.where, b.codes) for b in data.splits.rejected["train"]] == [("record 2", ["quality.empty_or_whitespace"])]
