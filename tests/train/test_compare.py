"""`curator compare A B`: two data sets trained alike, judged on one holdout (issue 13's proof)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from train_helpers import chat, memorisable_set, varied_set, write_split

from curator.cli import cli
from curator.train.compare import _judge, prompt_key, shared_holdout
from curator.train.data import load_data_dir

PIRATE = "Arr, matey! Ye be askin' a fine question."
TRAIN_FAST = ["--model", "tiny", "--steps", "25", "--lr", "1e-2", "--quant", "none", "--batch-size", "4"]


@pytest.fixture(autouse=True)
def _offline(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CURATOR_HOME", str(tmp_path_factory.getbasetemp() / "curator-home"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def _sets(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A trains on random shop words, B on the pirate line; the shared holdout asks for the pirate
    line, so B's model must do better there and A's cannot."""
    a = varied_set(tmp_path / "a", n_train=16, n_eval=4)
    b = memorisable_set(tmp_path / "b", n_train=16, n_eval=4)
    holdout = tmp_path / "eval.jsonl"
    write_split(holdout, [chat(f"tell me thing number {i}?", PIRATE) for i in range(12)])
    return a, b, holdout


def test_the_set_that_teaches_the_holdout_wins_and_the_other_way_round_loses(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    a, b, holdout = _sets(tmp_path)
    better = CliRunner().invoke(cli, ["compare", str(a), str(b), "--holdout", str(holdout), "--seeds", "0,1",
                                      "--out", str(tmp_path / "ab"), "--json", *TRAIN_FAST])
    assert better.exit_code == 0, better.output
    report = json.loads((tmp_path / "ab" / "compare.json").read_text())
    assert report["verdict"] == "PASS" and report["gain"]["outcome"] == "better"
    assert report["gain"]["ci_low"] > 0 and report["holdout"]["paired"] == 12
    assert [s["seed"] for s in report["per_seed"]] == [0, 1]
    assert all(s["mean_gain"] > 0 for s in report["per_seed"])
    assert sorted((r["set"], r["seed"]) for r in report["runs"]) == [("A", 0), ("A", 1), ("B", 0), ("B", 1)]
    assert (tmp_path / "ab" / "B-seed1" / "report.json").is_file()

    worse = CliRunner().invoke(cli, ["compare", str(b), str(a), "--holdout", str(holdout), "--seeds", "0",
                                     "--out", str(tmp_path / "ba"), *TRAIN_FAST])
    assert worse.exit_code == 1, worse.output
    assert worse.stdout.startswith("compare: FAIL"), worse.stdout


def test_a_holdout_example_either_set_trains_on_is_left_out_and_listed(tmp_path: Path) -> None:
    a, b, holdout = _sets(tmp_path)
    rows = [chat(f"tell me thing number {i}?", PIRATE) for i in range(12)]
    rows.append(chat("  QUESTION 3?  ", "something else"))  # B trains on "question 3?"
    write_split(holdout, rows)
    sa, sb = load_data_dir(a), load_data_dir(b)
    from curator.train.compare import load_holdout

    examples, bad = load_holdout(holdout)
    kept, leaked = shared_holdout(sa, sb, examples)
    assert bad == [] and len(kept) == 12
    assert leaked == [f"{holdout}:13"]


def test_prompt_key_folds_case_and_spacing_but_not_words() -> None:
    from curator.schema import ChatExample
    from curator.train.data import Example

    def ex(q: str, ans: str = "x") -> Example:
        return Example(ChatExample.model_validate(chat(q, ans)), "f", 1, 0)

    assert prompt_key(ex("Hello  World?")) == prompt_key(ex("hello world?", "another answer"))
    assert prompt_key(ex("Hello World?")) != prompt_key(ex("Hello there World?"))


def test_the_comparison_pairs_examples_and_averages_seeds() -> None:
    # A's tuned loss is higher than B's on every example under both seeds: B is better.
    wheres = [f"eval.jsonl:{i}" for i in range(1, 21)]
    a = {s: {w: (10.0 + i % 3 + s, 5) for i, w in enumerate(wheres)} for s in (0, 1)}
    b = {s: {w: (8.0 + i % 3, 5) for i, w in enumerate(wheres)} for s in (0, 1)}
    b[1].pop(wheres[0])  # one run did not evaluate it (over its length): not paired
    out = _judge({"A": a, "B": b}, [0, 1], 0.01, [], [], 20)
    assert out.verdict == "PASS" and out.unpaired == 1 and out.gain.examples == 19
    # (A - B) per token: seed 0 differs by 2, seed 1 by 3 per example of 5 tokens -> 0.5 on average
    assert out.gain.mean == pytest.approx(0.5)
    assert [round(s["mean_gain"], 6) for s in out.per_seed] == [0.4, 0.6]
    same = _judge({"A": b, "B": b}, [0, 1], 0.01, [], [], 20)
    assert same.verdict == "INCONCLUSIVE" and same.gain.outcome == "no difference"


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    a, b, _ = _sets(tmp_path)
    same = CliRunner().invoke(cli, ["compare", str(a), str(a), "--model", "tiny"])
    assert same.exit_code == 2 and "same folder" in same.output
    seeds = CliRunner().invoke(cli, ["compare", str(a), str(b), "--seeds", "1,1"])
    assert seeds.exit_code == 2 and "distinct" in seeds.output
    missing = CliRunner().invoke(cli, ["compare", str(a), str(tmp_path / "nope"), "--model", "tiny"])
    assert missing.exit_code == 2 and "no such directory" in missing.output
