"""The recipe end to end on a tiny random Llama built in code (CPU, seconds)."""

from __future__ import annotations

import io
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("peft")

from rich.console import Console  # noqa: E402
from train_helpers import chat, memorisable_set, varied_set, write_split  # noqa: E402

from curator.train.config import TrainConfig, build_config  # noqa: E402
from curator.train.data import load_data_dir  # noqa: E402
from curator.train.recipe import REPORT_SCHEMA, loss_fell, run  # noqa: E402


def quiet() -> Console:
    return Console(file=io.StringIO(), width=120)


def do_run(data: Path, out: Path, **overrides: Any) -> tuple[dict[str, Any], int]:
    values = {"data": str(data), "out": str(out), "model": "tiny", "quant": "none",
              "steps": 30, "lr": 1e-2, "batch_size": 4, "generate": 2, "max_new_tokens": 12, **overrides}
    cfg = build_config({}, values)
    return run(cfg, lambda: load_data_dir(data), console=quiet())


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], int, Path, Path]:
    root = tmp_path_factory.mktemp("run")
    # The tiny model is cached under CURATOR_HOME, which tests/conftest.py points at a temporary
    # folder for the whole session (module-scoped fixtures included).
    data = memorisable_set(root / "data", n_eval=12)  # 12 >= MIN_EXAMPLES: an interval per split
    report, code = do_run(data, root / "out")
    return report, code, data, root / "out"


def test_loss_falls_and_the_verdict_passes(trained: tuple[dict[str, Any], int, Path, Path]) -> None:
    report, code, _, out = trained
    losses = report["training"]["losses"]
    assert len(losses) == 30 and all(math.isfinite(x) for x in losses)
    assert sum(losses[-5:]) / 5 < sum(losses[:5]) / 5 - 0.5  # a real drop, in nats per token
    for split in ("validation", "holdout"):
        assert report["tuned"][split]["loss"] < report["baseline"][split]["loss"]
        c = report["comparison"][split]
        assert c["examples"] == 12 and c["tokens"] == report["baseline"][split]["tokens"]
        assert c["mean_gain"] == pytest.approx(report["baseline"][split]["loss"] - report["tuned"][split]["loss"])
        assert 0 < c["ci_low"] <= c["mean_gain"] <= c["ci_high"] and c["outcome"] == "better"
    assert report["training"]["trend"]["fell"]
    assert report["verdict"] == "PASS" and code == 0
    assert (out / "summary.txt").read_text().splitlines()[-1].startswith("VERDICT: PASS")


def test_report_shape(trained: tuple[dict[str, Any], int, Path, Path]) -> None:
    report, _, _, out = trained
    on_disk = json.loads((out / "report.json").read_text())
    assert on_disk == report
    assert on_disk["schema"] == REPORT_SCHEMA
    assert set(on_disk) >= {"schema", "verdict", "reasons", "model", "config", "data", "max_length",
                            "token_stats", "baseline", "tuned", "training", "generations",
                            "review_queue", "adapter", "notes", "comparison", "next_steps", "warnings",
                            "per_example", "machine"}
    for split in ("validation", "holdout"):
        for stage in ("baseline", "tuned"):
            m = on_disk[stage][split]
            assert set(m) == {"loss", "perplexity", "token_accuracy", "tokens"}
            assert m["perplexity"] == pytest.approx(math.exp(m["loss"]))
            assert 0.0 <= m["token_accuracy"] <= 1.0
    assert set(on_disk["data"]) == {"train", "validation", "holdout"}
    assert on_disk["data"]["train"]["examples"] == 8
    assert {"steps", "losses", "seconds_per_step", "tokens_per_second", "peak_memory_mb", "stopped"} <= set(on_disk["training"])
    assert [set(g) for g in on_disk["generations"]] == [{"source", "prompt", "reference", "before", "after",
                                                         "degenerate_before", "degenerate_after"}] * 2
    assert set(on_disk["per_example"]) == {"validation", "holdout"}
    for split, per in on_disk["per_example"].items():
        assert len(per["where"]) == len(per["tokens"]) == len(per["baseline_loss_sum"]) == len(per["tuned_loss_sum"]) == 12
        assert sum(per["tokens"]) == on_disk["baseline"][split]["tokens"]
        assert sum(per["baseline_loss_sum"]) / sum(per["tokens"]) == pytest.approx(on_disk["baseline"][split]["loss"])
    assert on_disk["machine"]["threads"] >= 1 and on_disk["machine"]["usable_cores"] >= 1
    assert on_disk["model"]["compute_dtype"] == "float32"  # never bf16 on a CPU


def test_review_queue_is_ranked_by_loss(trained: tuple[dict[str, Any], int, Path, Path]) -> None:
    report, _, _, out = trained
    rows = [json.loads(x) for x in (out / "review_queue.jsonl").read_text().splitlines()]
    # validation only: train is ranked with --rank-train, holdout never
    assert len(rows) == report["review_queue"]["count"] == 12
    assert {r["split"] for r in rows} == {"validation"} and report["tuned_train"] is None
    assert [r["rank"] for r in rows] == list(range(1, 13))
    assert [r["loss"] for r in rows] == sorted((r["loss"] for r in rows), reverse=True)
    assert all(Path(r["source"]).name == "validation.jsonl" and r["line"] >= 1 for r in rows)


def _independent_loss(model: Any, tokenizer: Any, data: Path, split: str) -> float:
    """Mean loss over trained tokens, computed by transformers' own loss on one padded batch."""
    from curator.train.chat import encode
    from curator.train.evaluate import collate

    encs = [encode(tokenizer, ex) for ex in load_data_dir(data).validation]
    total = sum(e.n_trained for e in encs)
    batch = collate(encs, tokenizer.pad_token_id, "cpu")
    with torch.no_grad():
        # transformers shifts labels itself and averages over the non-ignored ones
        out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=batch["labels"])
    assert total > 0
    return float(out.loss)


def test_baseline_is_the_untrained_model_and_the_adapter_reloads(trained: tuple[dict[str, Any], int, Path, Path]) -> None:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    report, _, data, out = trained
    tokenizer = AutoTokenizer.from_pretrained(out / "adapter")
    base = AutoModelForCausalLM.from_pretrained(report["model"]["path"], dtype=torch.float32).eval()
    assert _independent_loss(base, tokenizer, data, "validation") == pytest.approx(report["baseline"]["validation"]["loss"], rel=1e-5)
    tuned = PeftModel.from_pretrained(base, out / "adapter").eval()
    assert _independent_loss(tuned, tokenizer, data, "validation") == pytest.approx(report["tuned"]["validation"]["loss"], rel=1e-4)
    # and the same greedy generation as the run printed
    from curator.train.chat import encode
    from curator.train.evaluate import generate, generate_many, prompt_ids

    holdout = [prompt_ids(tokenizer, encode(tokenizer, ex))[0] for ex in load_data_dir(data).holdout[:2]]
    after = [g["after"] for g in report["generations"]]
    assert generate_many(tuned, tokenizer, holdout, 12, "cpu") == after
    # one prompt alone (no padding) continues the same way as in the left-padded batch
    assert [generate(tuned, tokenizer, ids, 12, "cpu") for ids in holdout] == after


def test_four_bit_path_runs_on_cpu_and_every_lora_layer_learns(tmp_path: Path) -> None:
    pytest.importorskip("bitsandbytes")
    from curator.train import models
    from curator.train.evaluate import collate, evaluate, token_losses

    data = memorisable_set(tmp_path / "data")
    report, _ = do_run(data, tmp_path / "out", quant="nf4", steps=3, generate=1)
    assert report["model"]["quant"] == "nf4"
    assert report["training"]["steps"] == 3
    assert all(math.isfinite(x) for x in report["training"]["losses"])

    # After an evaluation pass (as the baseline does), gradients still reach the first layer's
    # LoRA weights through the frozen 4-bit layers above it.
    source = models.resolve_model("tiny")
    tok = models.load_tokenizer(source)
    model = models.add_lora(models.load_model(source, "nf4", "cpu", torch.float32), "nf4", "cpu", 8, 16, 0.0, "all-linear")
    from curator.train.chat import encode

    encs = [encode(tok, ex) for ex in load_data_dir(data).train[:2]]
    evaluate(model, encs, 2, tok.pad_token_id, "cpu")
    model.train()
    loss, mask, _ = token_losses(model, collate(encs, tok.pad_token_id, "cpu"))
    (loss.sum() / mask.sum()).backward()
    first_layer_b = {n: p.grad for n, p in model.named_parameters() if ".layers.0." in n and "lora_B" in n}
    assert len(first_layer_b) == 7  # q k v o gate up down
    assert all(g is not None and float(g.abs().sum()) > 0 for g in first_layer_b.values())


def test_exploding_loss_stops_with_an_explanation(tmp_path: Path) -> None:
    data = memorisable_set(tmp_path / "data")
    # With a threshold just above 1x, the first step whose loss rises over step 1's trips it.
    report, code = do_run(data, tmp_path / "out", lr=0.3, steps=10, warmup_ratio=0.0, explode_factor=1.001)
    losses = report["training"]["losses"]
    first_rise = next(i for i, x in enumerate(losses) if x > 1.001 * losses[0])
    assert len(losses) == first_rise + 1 < 10
    assert code == 1 and report["verdict"] == "FAIL"
    assert report["training"]["stopped"].startswith(f"the loss exploded at step {first_rise + 1}")
    assert "learning rate" in report["reasons"][0] and report["reasons"][0].startswith("stopped:")
    assert not (tmp_path / "out" / "adapter").exists()


def test_nan_loss_during_training_stops_the_run(tmp_path: Path) -> None:
    from curator.train import models, recipe
    from curator.train.chat import encode
    from curator.train.errors import WatchdogError

    data = memorisable_set(tmp_path / "data")
    source = models.resolve_model("tiny")
    tok = models.load_tokenizer(source)
    model = models.add_lora(models.load_model(source, "none", "cpu", torch.float32), "none", "cpu", 8, 16, 0.0, "all-linear")
    # Fault injection: one LoRA weight goes NaN, as overflowing updates leave it.
    with torch.no_grad():
        next(p for n, p in model.named_parameters() if "lora_B" in n).fill_(float("nan"))
    cfg = build_config({}, {"data": str(data), "out": str(tmp_path / "out")})
    r = recipe.Run(cfg, quiet(), tmp_path / "out", report={"max_length": 128})
    encs = [encode(tok, ex) for ex in load_data_dir(data).train]
    with pytest.raises(WatchdogError, match=r"the loss became nan at step 1: .*learning rate"):
        recipe.train(r, model, encs, 5, tok.pad_token_id)
    assert r.report["training"]["steps"] == 1 and r.report["training"]["losses"] == [None]


def test_broken_base_model_is_caught_before_training(tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM

    from curator.train import models

    broken = tmp_path / "broken"
    src = models.resolve_model("tiny")
    model = AutoModelForCausalLM.from_pretrained(src.path)
    with torch.no_grad():
        model.model.norm.weight.fill_(float("nan"))
    model.save_pretrained(broken)
    models.load_tokenizer(src).save_pretrained(broken)
    data = memorisable_set(tmp_path / "data")
    report, code = do_run(data, tmp_path / "out", model=str(broken))
    assert code == 1 and "training" not in report
    assert report["baseline"]["validation"]["loss"] is None
    assert "NaN/Inf before any step" in report["reasons"][0]
    json.loads((tmp_path / "out" / "report.json").read_text())  # still valid JSON


def test_preflight_fails_fast_on_zero_trained_tokens(tmp_path: Path) -> None:
    data = memorisable_set(tmp_path / "data")
    # every turn weight 0: the validation rules reject the row (never trained), listed
    write_split(data / "train.jsonl", [chat("q?", "a", weight=1), chat("r?", "b", weight=0)])
    report, _ = do_run(data, tmp_path / "out", steps=1, generate=0)
    assert report["data"]["train"]["rejected_examples"][0]["codes"] == ["chat.no_trainable_assistant"]
    # truncation that cuts off the whole answer: the pre-flight stops
    write_split(data / "train.jsonl", [chat("q?", "a"), chat("long " * 40 + "?", "b")])
    report, code = do_run(data, tmp_path / "out2", max_length=60, overlong="truncate")
    assert code == 1 and "training" not in report
    assert report["reasons"][0].startswith("pre-flight: 1 example(s) have no trained token")
    assert f"{data / 'train.jsonl'}:2" in report["reasons"][0]


def test_preflight_fails_on_double_bos(tmp_path: Path) -> None:
    data = memorisable_set(tmp_path / "data")
    template = tmp_path / "bos.jinja"
    from curator.train.models import TINY_CHAT_TEMPLATE

    template.write_text("{{ bos_token }}{{ bos_token }}" + TINY_CHAT_TEMPLATE)
    report, code = do_run(data, tmp_path / "out", chat_template=str(template))
    assert code == 1 and "double BOS" in report["reasons"][0]
    # one BOS from the template is fine: the tokenizer adds none on top
    template.write_text("{{ bos_token }}" + TINY_CHAT_TEMPLATE)
    report, _ = do_run(data, tmp_path / "out2", chat_template=str(template), steps=2)
    assert "training" in report


def test_overlong_examples_are_dropped_and_reported(tmp_path: Path) -> None:
    data = memorisable_set(tmp_path / "data")
    rows = [chat(f"question {i}?", "Arr, matey!") for i in range(7)] + [chat("long " * 60, "Arr, matey!")]
    write_split(data / "train.jsonl", rows)
    report, _ = do_run(data, tmp_path / "out", max_length=80, steps=2)
    assert report["max_length"] == 80
    assert report["data"]["train"]["dropped"] == 1 and report["data"]["train"]["used"] == 7
    assert report["data"]["train"]["overlong_examples"] == [f"{data / 'train.jsonl'}:8"]
    assert any("longer than 80 tokens dropped" in n for n in report["notes"])


def test_loss_fell_rule() -> None:
    assert loss_fell([3.0, 2.9, 2.0, 1.0])
    assert not loss_fell([1.0, 1.2, 1.3, 1.5])
    assert not loss_fell([1.0])
    # judged on the fitted curve, not on the raw first and last quarters (equal here)
    assert loss_fell([2.0, 2.3, 2.7, 2.6, 2.5, 2.4, 2.3, 2.2, 2.1, 2.2])


def test_importing_the_cli_leaves_torch_out() -> None:
    code = "import sys, curator.cli; print(sorted(m for m in ('torch', 'transformers', 'peft') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "[]"


def test_config_defaults_match_the_documented_smoke_settings() -> None:
    cfg = TrainConfig()
    assert (cfg.lora_r, cfg.lora_alpha, cfg.lora_dropout, cfg.lr, cfg.target_modules) == (16, 32, 0.05, 2e-4, "all-linear")


def test_a_few_steps_of_the_random_tiny_model_are_not_a_pass(tmp_path: Path) -> None:
    """Issue 13: the random tiny model got PASS for a change of a few hundredths of a nat. Three
    steps at the default learning rate move held-out loss by far less than 1% of the baseline;
    the verdict says it cannot tell, exits 3 and says what would decide it."""
    data = varied_set(tmp_path / "data")
    report, code = do_run(data, tmp_path / "out", steps=3, lr=2e-4, generate=0)
    assert report["verdict"] == "INCONCLUSIVE" and code == 3
    assert report["next_steps"] and any("--steps" in s for s in report["next_steps"])
    for split in ("validation", "holdout"):
        assert report["comparison"][split]["examples"] == 12
        assert report["comparison"][split]["outcome"] != "better"
    summary = (tmp_path / "out" / "summary.txt").read_text().splitlines()
    assert summary[-1].startswith("VERDICT: INCONCLUSIVE") and any(x.startswith("to decide:") for x in summary)


def test_too_few_holdout_examples_are_inconclusive_whatever_the_gain(tmp_path: Path) -> None:
    data = memorisable_set(tmp_path / "data", n_eval=4)  # the old test set: PASS on 4 held-out rows
    report, code = do_run(data, tmp_path / "out", generate=0)
    assert report["tuned"]["holdout"]["loss"] < report["baseline"]["holdout"]["loss"]  # it did improve
    assert report["verdict"] == "INCONCLUSIVE" and code == 3
    assert report["comparison"]["holdout"]["ci_low"] is None
    assert any("add holdout examples" in s for s in report["next_steps"])


def test_quant_auto_picks_fp32_on_a_cpu_and_says_so() -> None:
    from curator.train import models

    assert models.pick_quant("auto", "cpu") == ("none", models.pick_quant("auto", "cpu")[1])
    assert "measured faster" in models.pick_quant("auto", "cpu")[1]
    assert models.pick_quant("auto", "cuda")[0] == "nf4"
    assert models.pick_quant("nf4", "cpu") == ("nf4", "--quant nf4")
    assert TrainConfig().quant == "auto"


def test_threads_use_every_usable_core_unless_the_machine_is_oversubscribed(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from curator.train import recipe

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(recipe, "usable_cores", lambda: 2)
    before = torch.get_num_threads()
    try:
        cfg = build_config({}, {"data": "d", "out": "o"})
        monkeypatch.setattr(os, "getloadavg", lambda: (0.5, 0.5, 0.5))
        r = recipe.Run(cfg, quiet(), Path("o"))
        assert recipe.set_threads(r)["threads"] == 2 and torch.get_num_threads() == 2
        monkeypatch.setattr(os, "getloadavg", lambda: (9.0, 9.0, 9.0))
        r = recipe.Run(cfg, quiet(), Path("o"))
        machine = recipe.set_threads(r)
        assert machine["threads"] == 1 and torch.get_num_threads() == 1 and "busy" in r.notes[0]
        cfg = build_config({}, {"data": "d", "out": "o", "threads": 2})
        assert recipe.set_threads(recipe.Run(cfg, quiet(), Path("o")))["threads"] == 2
    finally:
        torch.set_num_threads(before)
