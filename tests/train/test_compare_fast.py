"""`curator compare` evaluates the base model on the shared holdout once per compare and skips
validation unless asked, and its answer is the one it gave when every run evaluated everything."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from train_helpers import chat, memorisable_set, varied_set, write_split

from curator.cli import cli

PIRATE = "Arr, matey! Ye be askin' a fine question."
# One thread: the two compares below must do the same arithmetic, so their losses can be compared exactly.
TRAIN = ["--model", "tiny", "--steps", "12", "--lr", "1e-2", "--quant", "none", "--batch-size", "4", "--threads", "1"]
RUNS = ["A-seed0", "B-seed0", "A-seed1", "B-seed1"]
HOLDOUT = 12


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Both compares read the same files, so their reports name the same examples."""
    pytest.importorskip("torch")
    root = tmp_path_factory.mktemp("comparefast")
    varied_set(root / "a", n_train=16, n_eval=4)
    memorisable_set(root / "b", n_train=16, n_eval=4)
    write_split(root / "eval.jsonl", [chat(f"tell me thing number {i}?", PIRATE) for i in range(HOLDOUT)])
    return root


def _compare(root: Path, name: str, *extra: str) -> tuple[Path, str]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CURATOR_HOME", str(root / "curator-home"))
        mp.setenv("HF_HUB_OFFLINE", "1")
        from curator.train.models import resolve_model

        # Build the tiny model before any run: building it reseeds torch's generator inside the run
        # that builds it (models.tiny_model), and both compares must start alike.
        resolve_model("tiny")
        out = root / name
        res = CliRunner().invoke(cli, ["compare", str(root / "a"), str(root / "b"), "--holdout", str(root / "eval.jsonl"),
                                       "--seeds", "0,1", "--out", str(out), "--json", *TRAIN, *extra])
    assert res.exit_code == 0, res.output
    return out, res.stderr


@pytest.fixture(scope="module")
def shared(root: Path) -> tuple[Path, str]:
    """The default compare: base model on the holdout once, no validation."""
    return _compare(root, "shared")


@pytest.fixture(scope="module")
def fresh(root: Path) -> tuple[Path, str]:
    """Every run evaluates validation and the base model itself, as before the sharing."""
    return _compare(root, "fresh", "--fresh-baseline", "--validation")


def _report(out: Path, run: str) -> dict[str, Any]:
    return dict(json.loads((out / run / "report.json").read_text()))


def _compared(out: Path) -> dict[str, Any]:
    return dict(json.loads((out / "compare.json").read_text()))


def test_the_base_model_is_evaluated_once_per_compare_and_validation_is_skipped(shared: tuple[Path, str]) -> None:
    out, _ = shared
    reports = {run: _report(out, run) for run in RUNS}
    for run, rep in reports.items():
        assert set(rep["per_example"]) == {"holdout"}, f"{run} evaluated {sorted(rep['per_example'])}"
        assert set(rep["baseline"]) == set(rep["tuned"]) == set(rep["comparison"]) == {"holdout"}
        assert rep["evaluation"]["splits"] == ["holdout"]
        assert any("validation" in s for s in rep["evaluation"]["skipped"])
        assert "skipped: validation" in (out / run / "summary.txt").read_text()
    # What each run says it ran through the base model: the holdout once, in the first run.
    counted = {run: rep["evaluation"]["base_model_examples_evaluated"] for run, rep in reports.items()}
    assert counted == {"A-seed0": HOLDOUT, "B-seed0": 0, "A-seed1": 0, "B-seed1": 0}
    first = reports["A-seed0"]["evaluation"]["baseline"]["holdout"]
    assert first == {"evaluated": True, "from": str(out / "A-seed0"), "examples": HOLDOUT}
    for run in RUNS[1:]:
        assert reports[run]["evaluation"]["baseline"]["holdout"] == {
            "evaluated": False, "from": str(out / "A-seed0"), "examples": HOLDOUT}
        # the reused losses are the first run's, example by example
        assert reports[run]["per_example"]["holdout"]["baseline_loss_sum"] == \
            reports["A-seed0"]["per_example"]["holdout"]["baseline_loss_sum"]
    report = _compared(out)
    assert report["evaluation"] == {"validation": False, "baseline_shared": True, "baseline_evaluations": 1}
    assert [r["baseline_evaluated"] for r in report["runs"]] == [True, False, False, False]
    assert "base model evaluated on the holdout 1 time(s) for 4 runs" in report["summary"]


def test_sharing_the_baseline_and_skipping_validation_change_no_loss_and_not_the_answer(
        shared: tuple[Path, str], fresh: tuple[Path, str]) -> None:
    new, _ = shared
    old, _ = fresh
    # The way it was: every run evaluated validation and the base model on the holdout itself.
    assert _compared(old)["evaluation"] == {"validation": True, "baseline_shared": False, "baseline_evaluations": 4}
    for run in RUNS:
        o, n = _report(old, run), _report(new, run)
        assert set(o["per_example"]) == {"validation", "holdout"}
        assert o["evaluation"]["base_model_examples_evaluated"] == HOLDOUT + 4
        # the same tuned and base losses, example by example, to the last bit
        assert n["per_example"]["holdout"] == o["per_example"]["holdout"], run
        assert n["training"]["losses"] == o["training"]["losses"], run
        assert n["comparison"]["holdout"] == o["comparison"]["holdout"], run
    a, b = _compared(old), _compared(new)
    assert b["verdict"] == a["verdict"] == "PASS"
    assert b["gain"] == a["gain"] and b["per_seed"] == a["per_seed"] and b["holdout"] == a["holdout"]
    assert a["gain"]["ci_low"] > 0


def test_compare_says_which_run_which_step_and_the_time_left(shared: tuple[Path, str]) -> None:
    _, err = shared
    assert "[1/4] training A" in err and "[4/4] training B" in err
    assert "[1/4] A seed 0 done in" in err and "left for 3 run(s)" in err
    # without a terminal (CliRunner, a log file) the step bar shows only when it ends: plain lines say it
    assert "A seed 0, run 1 of 4: step 1/12" in err and "B seed 1, run 4 of 4: step 12/12" in err
    assert "training done in about" in err
    assert "base model on holdout: 12 examples reused from" in err


def test_a_run_whose_holdout_encodes_otherwise_evaluates_its_own_baseline(tmp_path: Path) -> None:
    # The shared losses are keyed by the model and every example's tokens: a run that cuts the
    # holdout at another length is not handed losses of examples it does not have.
    pytest.importorskip("torch")
    from rich.console import Console

    from curator.train.config import RunPlan, build_config
    from curator.train.data import load_data_dir
    from curator.train.recipe import run

    data = memorisable_set(tmp_path / "data", n_train=8, n_eval=4)
    store: dict[Any, Any] = {}

    def one(name: str, **overrides: Any) -> dict[str, Any]:
        cfg = build_config({}, {"data": str(data), "out": str(tmp_path / name), "model": "tiny", "quant": "none",
                                "steps": 2, "generate": 0, "threads": 1, **overrides})
        report, _ = run(cfg, lambda: load_data_dir(data), console=Console(file=io.StringIO()),
                        plan=RunPlan(name, baseline=store), show_summary=False)
        assert "holdout" in report.get("per_example", {}), report["reasons"]
        return dict(report)

    first = one("first")
    assert first["evaluation"]["baseline"]["holdout"]["evaluated"] is True
    assert one("other-seed", seed=1)["evaluation"]["baseline"]["holdout"] == {
        "evaluated": False, "from": str(tmp_path / "first"), "examples": 4}
    # cut the holdout's examples (all of one length here) a few tokens short; the answers keep most of theirs
    cut = one("cut", max_length=first["data"]["holdout"]["tokens"] // 4 - 4, overlong="truncate")
    assert cut["data"]["holdout"]["truncated"] > 0
    assert cut["evaluation"]["baseline"]["holdout"] == {"evaluated": True, "from": str(tmp_path / "cut"), "examples": 4}
    assert cut["per_example"]["holdout"]["tokens"] != first["per_example"]["holdout"]["tokens"]
    assert len(store) == 2
