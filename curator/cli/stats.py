"""`curator stats`: token and length statistics of fine-tuning files."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import orjson

from curator.cli import cli
from curator.cli.bounds import MAX_TOKENS
from curator.cli.output import echo
from curator.tokens import TARGETS

#: the shape of `stats --json` (docs/json-output.md); 2: `version` itself and the format names
#: of curator.formats.detect in `formats` (no version field meant 1)
JSON_VERSION = 2


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=True, path_type=Path))
@click.option("--target", type=click.Choice(TARGETS), default="openai",
              show_default=True, help="Service or trainer whose tokenizer and limits apply.")
@click.option("--model", default=None,
              help="OpenAI model name (default gpt-4o-mini-2024-07-18), or a local model folder "
                   "to count with its own tokenizer and chat template (required for trl).")
@click.option("--max-tokens", type=MAX_TOKENS, default=None,
              help="Token limit per example (default: the model's training limit; trl: 1024).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (stable shape).")
def stats(files: tuple[Path, ...], target: str, model: str | None, max_tokens: int | None,
          as_json: bool) -> None:
    """Token counts per example: distributions, limit, epochs, billed tokens, histogram.

    FILES may be JSONL, JSON, CSV, Parquet, HF folders, .gz files or pipes; `-` is stdin.

    Every example is counted exactly (tiktoken-equal counts for OpenAI models, the model's own
    tokenizer and chat template for a local model). Rows that cannot be counted are listed on
    stderr and make the exit code 1.

    Example: curator stats train.jsonl --model gpt-4.1-mini-2025-04-14
    """
    from curator.io import STDIN, ReadError
    from curator.stats import compute_stats, render
    from curator.tokens import DEFAULT_OPENAI_MODEL, TokenizerError, get_counter, training_limit

    if [str(f) for f in files].count(STDIN) > 1:
        click.echo("error: '-' (stdin) can be read only once; name it once", err=True)
        sys.exit(2)
    for f in files:
        if str(f) != STDIN and not f.exists():
            echo(f"error: {f}: no such file", err=True)
            sys.exit(2)
    try:
        counter = get_counter(target, model)
        if max_tokens is not None:
            limit = max_tokens
        elif target == "trl" or (model is not None and Path(model).is_dir()):
            limit = 1024  # TRL SFTConfig.max_length default
        else:
            limit = training_limit(model or DEFAULT_OPENAI_MODEL)
    except TokenizerError as exc:
        echo(f"error: {exc}", err=True)
        sys.exit(2)
    try:
        result = compute_stats([str(f) for f in files], counter, limit)
    except ReadError as exc:
        echo(f"error: {exc.issue.message}" + (f" ({exc.issue.hint})" if exc.issue.hint else ""),
                   err=True)
        sys.exit(2)
    except OSError as exc:
        echo(f"error: {exc}", err=True)
        sys.exit(2)

    if as_json:
        sys.stdout.write(orjson.dumps({"version": JSON_VERSION, **result.to_dict()}, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        from rich.console import Console

        Console().print(render(result))
    shown = 20
    for p in result.problems[:shown]:
        where = f"{p.file}:{p.line}" if p.line is not None else str(p.file)
        echo(f"{where}: {p.severity} {p.code}: {p.message}", err=True)
    if len(result.problems) > shown:
        echo(f"... and {len(result.problems) - shown} more rows not counted "
                   "(all are listed with --json)", err=True)
    sys.exit(1 if result.problems else 0)
