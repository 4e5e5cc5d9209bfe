"""`curator compare A B`: train two data sets the same way and judge them on one holdout."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from curator.cli import cli
from curator.cli.output import echo

#: the train options a comparison shares between both sets (each flag also as in `curator train`)
_SHARED = ("steps", "batch_size", "lr", "max_length", "quant", "device", "threads", "min_gain", "generate",
           "chat_template")


def _seeds(ctx: click.Context, param: click.Parameter, value: str) -> list[int]:
    try:
        seeds = [int(s) for s in value.split(",") if s.strip()]
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a comma-separated list of integers (e.g. 0,1,2)") from None
    if not seeds or len(set(seeds)) != len(seeds) or any(not 0 <= s < 2**32 for s in seeds):
        raise click.BadParameter(f"{value!r}: give 1 to 16 distinct seeds, each 0 to 4294967295")
    if len(seeds) > 16:
        raise click.BadParameter(f"{len(seeds)} seeds: at most 16 (each costs two training runs)")
    return seeds


@cli.command()
@click.argument("a", type=click.Path(path_type=Path), metavar="A_DIR")
@click.argument("b", type=click.Path(path_type=Path), metavar="B_DIR")
@click.option("--holdout", "holdout", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Chat JSONL both sets are judged on (default: A_DIR/holdout.jsonl). Examples whose "
                   "prompt either set trains on are left out and listed.")
@click.option("--seeds", default="0,1,2", show_default=True, callback=_seeds,
              help="Comma-separated seeds; each trains A and B once.")
@click.option("--model", default=None, help="As for `curator train` (default: the bundled SmolLM2-135M-Instruct).")
@click.option("--out", "out", type=click.Path(path_type=Path), default=None,
              help="Folder for compare.json, summary.txt and one run folder per set and seed "
                   "(default runs/compare-<UTC time>).")
@click.option("--steps", type=click.IntRange(1, 1_000_000), default=None, help="Optimizer steps per run (as for train).")
@click.option("--batch-size", type=click.IntRange(1, 4096), default=None, help="Examples a step (default 4).")
@click.option("--lr", type=click.FloatRange(0, 1, min_open=True), default=None, help="Peak learning rate (default 2e-4).")
@click.option("--max-length", type=click.IntRange(8, 10_000_000), default=None,
              help="Token limit per example; give it so both sets cut at the same length.")
@click.option("--quant", type=click.Choice(["auto", "nf4", "none"]), default=None, help="As for train.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default=None, help="As for train.")
@click.option("--threads", type=click.IntRange(1, 1024), default=None, help="torch threads (as for train).")
@click.option("--min-gain", type=click.FloatRange(0, 1), default=None,
              help="B counts as better only by at least this share of A's holdout loss (default 0.01).")
@click.option("--generate", type=click.IntRange(0, 1000), default=0, show_default=True,
              help="Holdout prompts generated before and after, in the first seed's runs.")
@click.option("--chat-template", default=None, help="As for train.")
@click.option("--validation", is_flag=True,
              help="Also evaluate each run's validation split (base and tuned), for each run's own verdict on "
                   "it; the comparison uses the holdout only, so it is skipped by default.")
@click.option("--fresh-baseline", is_flag=True,
              help="Evaluate the base model on the holdout in every run, as `curator train` does, instead of "
                   "once per compare (slower; the same losses, for checking).")
@click.option("--json", "as_json", is_flag=True, help="Print compare.json to stdout (progress stays on stderr).")
def compare(a: Path, b: Path, holdout: Path | None, seeds: list[int], model: str | None, out: Path | None,
            as_json: bool, validation: bool, fresh_baseline: bool, **flags: Any) -> None:
    """Does data set B train a better model than data set A, on data neither saw?

    A_DIR and B_DIR are folders as `curator export` writes them (train.jsonl, validation.jsonl,
    holdout.jsonl; rows `curator validate` rejects are left out and listed). Both train the same
    model with the same settings under each seed; both are judged on one holdout. Per holdout
    example, A's tuned loss minus B's, averaged over the seeds, gives a token-weighted mean
    with a 95% bootstrap interval (as `curator train` judges a run); each seed's own difference
    is shown beside it. The base model is evaluated on the holdout once and reused by every run;
    validation is evaluated only with --validation.

    Exit codes: 0 B is better (interval above zero and the gain at least --min-gain), 1 B is
    worse (interval below zero), 3 inconclusive, 2 bad usage or input.

    Example: curator compare raw/ curated/ --seeds 0,1,2 --max-length 512

    Example: curator compare raw/ curated/ --holdout eval.jsonl --model tiny --steps 5 --json
    """
    from curator.train.config import build_config, default_out
    from curator.train.errors import UsageError

    try:
        given = {k: v for k, v in flags.items() if v is not None and k in _SHARED}
        if model is not None:
            given["model"] = model
        target = out or Path(default_out().replace("train-", "compare-"))
        cfg = build_config({}, {**given, "data": str(a), "out": str(target)})
        from curator.train.compare import compare as run_compare
        from curator.train.recipe import run

        def train_one(run_cfg: Any, load: Any, plan: Any) -> tuple[dict[str, Any], int]:
            return run(run_cfg, load, show_summary=False, plan=plan)

        report, code = run_compare(cfg, a, b, holdout, seeds, target, train_one, lambda text: echo(text, err=True),
                                   validation=validation, share_baseline=not fresh_baseline)
    except UsageError as exc:
        echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    if as_json:
        import json

        click.echo(json.dumps(report, indent=2, allow_nan=False))
    else:
        echo(report["summary"])
        echo(f"wrote {target / 'compare.json'}", err=True)
    sys.exit(code)
