"""`curator train --method dpo -w WS`: a workspace's preference records as the DPO run's pairs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from train_helpers import chat, write_split

from curator.cli import cli
from curator.train.errors import UsageError
from curator.train.workspace import load_workspace_pairs
from curator.workspace import DuplicateCluster, Workspace
from curator.workspace.importer import import_files
from curator.workspace.prepare import Preparer

# As in test_dpo: the random tiny model starts preferring the rude line, so a preference accuracy
# of 1.0 after training is learnt.
POLITE = "Of course! Happy to help you."
RUDE = "Ugh, figure it out yourself."


def pair(question: str, chosen: str = POLITE, rejected: str = RUDE) -> dict[str, Any]:
    return {"prompt": [{"role": "user", "content": question}],
            "chosen": [{"role": "assistant", "content": chosen}],
            "rejected": [{"role": "assistant", "content": rejected}]}


def make_workspace(tmp_path: Path, *, n_train: int = 16, n_eval: int = 10, chats: int = 2,
                   split: bool = True) -> Path:
    """Records 1..n_train are train pairs, then n_eval validation pairs, n_eval holdout pairs,
    then `chats` chat records placed in train."""
    rows: list[dict[str, Any]] = [pair(f"question {i}?") for i in range(n_train + 2 * n_eval)]
    rows += [chat(f"chat question {i}?", "A chat answer.") for i in range(chats)]
    src = tmp_path / "rows.jsonl"
    write_split(src, rows)
    db = tmp_path / "work.db"
    with Workspace.open(db, create=True) as ws:
        report = import_files(ws, [src], Preparer("trl", count_tokens=False))
        assert report.rejected == 0, report.reasons
        if split:
            names = ["train"] * n_train + ["validation"] * n_eval + ["holdout"] * n_eval + ["train"] * chats
            ws.set_splits({i + 1: s for i, s in enumerate(names)}, {"names": ["train", "validation", "holdout"]})
    return db


def test_the_pairs_of_each_split_are_read_as_an_export_would_write_them(tmp_path: Path) -> None:
    db = make_workspace(tmp_path, n_train=8, n_eval=4)
    with Workspace.open(db) as ws:
        kinds = {i: ws.get(i).kind for i in ws.select_ids()}
        assert [k for _, k in sorted(kinds.items())] == ["preference"] * 16 + ["chat"] * 2
        ws.edit(1, pair("edited question?", "edited chosen", "edited rejected"))
        ws.set_status([2], "rejected", "off topic")
        ws.mark_duplicates([DuplicateCluster(keeper=3, duplicates={4: 1.0})])
        data = load_workspace_pairs(ws)
    train = {e.record_id: e for e in data.splits.train}
    assert sorted(train) == [1, 3, 5, 6, 7, 8]
    assert train[1].prompt == [{"role": "user", "content": "edited question?"}]  # the current form
    assert train[1].chosen == [{"role": "assistant", "content": "edited chosen"}]
    assert train[1].rejected == [{"role": "assistant", "content": "edited rejected"}]
    assert train[1].where == "record 1"
    assert [e.record_id for e in data.splits.validation] == [9, 10, 11, 12]
    assert [e.record_id for e in data.splits.holdout] == [13, 14, 15, 16]
    assert data.skipped == {"rejected": [2], "marked duplicate": [4],
                            "a chat record: --method sft trains it": [17, 18]}
    notes = list(data.notes())
    assert any("2 record(s) with a split left out (a chat record: --method sft trains it): 17, 18" in n for n in notes)


def test_custom_split_names_map_in_order(tmp_path: Path) -> None:
    db = make_workspace(tmp_path, n_train=8, n_eval=4, chats=0, split=False)
    with Workspace.open(db) as ws:
        ws.set_splits({i: ("tr" if i <= 8 else "dev" if i <= 12 else "test") for i in range(1, 17)},
                      {"names": ["tr", "dev", "test"]})
        ws.set_meta("split.params", json.dumps({"names": ["tr", "dev", "test"]}))
        data = load_workspace_pairs(ws)
    assert (len(data.splits.train), len(data.splits.validation), len(data.splits.holdout)) == (8, 4, 4)
    assert data.names == {"train": "tr", "validation": "dev", "holdout": "test"}


def test_pairs_imported_after_the_split_are_left_out_and_counted(tmp_path: Path) -> None:
    db = make_workspace(tmp_path, n_train=8, n_eval=4, chats=0)
    later = tmp_path / "later.jsonl"
    write_split(later, [pair("a later question?"), pair("another later question?")])
    with Workspace.open(db) as ws:
        import_files(ws, [later], Preparer("trl", count_tokens=False))
        data = load_workspace_pairs(ws)
    assert sum(len(v) for _, v in data.splits.items()) == 16
    assert any("2 preference record(s) have no split" in n and "`curator split` again" in n for n in data.notes())


def _train(db: Path, out: Path, *extra: str) -> Any:
    return CliRunner().invoke(cli, ["train", "--method", "dpo", "-w", str(db), "--model", "tiny", "--out", str(out),
                                    "--quant", "none", "--steps", "12", "--lr", "1e-2", "--batch-size", "4", *extra])


def test_dpo_trains_on_the_workspace_pairs_and_writes_nothing_back(tmp_path: Path) -> None:
    pytest.importorskip("trl")
    db = make_workspace(tmp_path)
    with Workspace.open(db) as ws:
        before = (ws.connection.execute("SELECT count(*) FROM journal").fetchone(),
                  ws.connection.execute("SELECT id, status, note, split FROM records LEFT JOIN record_marks ON record_id = id ORDER BY id").fetchall(),
                  ws.connection.execute("SELECT * FROM record_labels ORDER BY 1, 2").fetchall())
        holdout_ids = sorted(i for i in ws.select_ids() if ws.get(i).split == "holdout")
    out = tmp_path / "run"
    result = _train(db, out, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["method"] == "dpo" and report["verdict"] == "PASS"
    assert report["config"]["workspace"] == str(db)
    assert {n: report["data"][n]["examples"] for n in ("train", "validation", "holdout")} == \
        {"train": 16, "validation": 10, "holdout": 10}
    assert report["per_example"]["holdout"]["where"] == [f"record {i}" for i in holdout_ids]
    assert report["per_example"]["validation"]["where"] == [f"record {i}" for i in range(17, 27)]
    for name in ("validation", "holdout"):
        assert report["baseline"][name]["preference_accuracy"] == 0.0
        assert report["tuned"][name]["preference_accuracy"] == 1.0
    assert any("(a chat record: --method sft trains it): 37, 38" in n for n in report["notes"])
    with Workspace.open(db) as ws:  # a DPO run labels, notes and journals nothing: the holdout stays sealed
        after = (ws.connection.execute("SELECT count(*) FROM journal").fetchone(),
                 ws.connection.execute("SELECT id, status, note, split FROM records LEFT JOIN record_marks ON record_id = id ORDER BY id").fetchall(),
                 ws.connection.execute("SELECT * FROM record_labels ORDER BY 1, 2").fetchall())
    assert after == before


def test_a_workspace_without_splits_says_to_run_split(tmp_path: Path) -> None:
    db = make_workspace(tmp_path, n_train=8, n_eval=4, split=False)
    result = _train(db, tmp_path / "r")
    assert result.exit_code == 2
    assert "no record has a split" in result.output and f"curator split -w {db}" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "r").exists()


def test_a_workspace_of_chat_records_says_sft_trains_them(tmp_path: Path) -> None:
    src = tmp_path / "chat.jsonl"
    write_split(src, [chat(f"question {i}?", "An answer.") for i in range(12)])
    db = tmp_path / "work.db"
    with Workspace.open(db, create=True) as ws:
        import_files(ws, [src], Preparer("trl", count_tokens=False))
        ws.set_splits({i: ("train" if i <= 8 else "validation" if i <= 10 else "holdout") for i in range(1, 13)},
                      {"names": ["train", "validation", "holdout"]})
    result = _train(db, tmp_path / "r")
    assert result.exit_code == 2
    assert "no preference record to train with --method dpo (it holds 12 chat record(s)" in result.output
    assert "--method sft" in result.output and "fix:" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "r").exists()


def test_pairs_without_a_split_say_to_split_again(tmp_path: Path) -> None:
    db = make_workspace(tmp_path, n_train=8, n_eval=4, chats=4, split=False)
    with Workspace.open(db) as ws:  # only the chat records have a split
        ws.set_splits({17: "train", 18: "train", 19: "validation", 20: "holdout"},
                      {"names": ["train", "validation", "holdout"]})
        with pytest.raises(UsageError, match="16 preference record\\(s\\) have no split yet") as err:
            load_workspace_pairs(ws)
    assert err.value.fix is not None and f"curator split -w {db}" in err.value.fix


def test_a_split_without_a_usable_pair_is_a_usage_error(tmp_path: Path) -> None:
    db = make_workspace(tmp_path, n_train=8, n_eval=4, chats=0)
    with Workspace.open(db) as ws:
        ws.set_status([13, 14, 15, 16], "rejected", "bad")
    result = _train(db, tmp_path / "r")
    assert result.exit_code == 2
    assert "the holdout split ('holdout') has no usable preference pair" in result.output
    assert not (tmp_path / "r").exists()
