"""`curator validate`: a line-by-line verdict on fine-tuning files."""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import click
import orjson

from curator.cli import cli
from curator.cli.bounds import MAX_TOKENS, SHOWN, WORKERS
from curator.cli.output import echo
from curator.io import STDIN, atomic_writer, same_file
from curator.issues import Issue
from curator.textsafe import literal
from curator.validate.engine import FileReport, cross_file_checks, validate_file
from curator.validate.profiles import PROFILES, openai_limit

JSON_VERSION = 2
PROGRESS_MIN_BYTES = 32 << 20


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("--target", type=click.Choice(sorted(PROFILES)), default="openai", show_default=True,
              help="Service or trainer whose rules decide what is an error.")
@click.option("--model", default=None, help="Target model (sets the token limit and encoding), e.g. gpt-4.1-nano.")
@click.option("--max-tokens", type=MAX_TOKENS, default=None,
              help="Token limit per example (default: the model's, or the trainer's max_length).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (see docs/json-output.md).")
@click.option("--summary", is_flag=True, help="Group problems by code and count them instead of listing each.")
@click.option("--quarantine", type=click.Path(dir_okay=False, path_type=str), default=None,
              help="Write every rejected row, exactly as it was, to this file.")
@click.option("--strict", is_flag=True, help="Unknown keys, whitespace-only text and truncation become errors.")
@click.option("--max-issues-per-code", type=SHOWN, default=None,
              help="List at most N problems per code and file (counts stay complete).")
@click.option("--workers", type=WORKERS, default=2, show_default=True,
              help="Processes that check a large JSONL file in parallel.")
@click.option("--no-tokens", is_flag=True, help="Skip token counting (faster; no length checks).")
def validate(files: tuple[str, ...], target: str, model: str | None, max_tokens: int | None, as_json: bool,
             summary: bool, quarantine: str | None, strict: bool, max_issues_per_code: int | None,
             workers: int, no_tokens: bool) -> None:
    """Check fine-tuning files for TARGET and list every problem with file, line and fix.

    Reads JSONL, JSON, CSV, Parquet and Hugging Face save_to_disk folders, gzip files (.gz),
    pipes and FIFOs; `-` reads stdin. Exit code 0 when there
    are no errors, 1 when there are, 2 when a file cannot be read or the options are wrong.

    Example: curator validate train.jsonl valid.jsonl --target openai --model gpt-4o-mini
    """
    if model and target in ("openai", "azure") and max_tokens is None and not os.path.isdir(model):
        try:
            openai_limit(model)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
    if files.count(STDIN) > 1:
        raise click.UsageError("'-' (stdin) can be read only once; name it once")
    if quarantine is not None:
        for path in files:
            if same_file(quarantine, path):
                raise click.UsageError(f"--quarantine {quarantine} is the input file {path}; "
                                       "writing it would replace the data being checked. Name another file.")
    if model and os.path.isdir(model) and not no_tokens:
        from curator.tokens import TokenizerError, get_counter

        try:  # a local model whose tokenizer or chat template is broken for every row: say so once
            get_counter(target, model)
        except TokenizerError as exc:
            echo(f"error: {exc}", err=True)
            sys.exit(2)
    reports: list[FileReport] = []
    with _quarantine_file(quarantine) as qfh:
        for path in files:
            with _progress(path, as_json) as progress:
                reports.append(validate_file(
                    path, target, model=model, max_tokens=max_tokens, strict=strict, workers=workers,
                    count_tokens=not no_tokens, quarantine=qfh, max_issues_per_code=max_issues_per_code,
                    progress=progress))
    cross_file_checks(reports)
    if as_json:
        click.echo(orjson.dumps(json_report(reports, target, model, strict), option=orjson.OPT_INDENT_2).decode())
    else:
        for rep in reports:
            _print_file(rep, summary, max_issues_per_code)
        _print_verdict(reports, quarantine)
    if any(r.io_error for r in reports):
        sys.exit(2)
    sys.exit(1 if any(r.errors for r in reports) else 0)


def json_report(reports: list[FileReport], target: str, model: str | None, strict: bool) -> dict[str, Any]:
    """The stable `--json` shape documented in docs/json-output.md."""
    counts: Counter[str] = Counter()
    for r in reports:
        counts.update(r.counts)
    return {
        "version": JSON_VERSION,
        "target": target,
        "model": model,
        "strict": strict,
        "files": [{
            "file": r.file, "kind": r.kind, "examples": r.examples, "rejected": r.rejected,
            "errors": r.errors, "warnings": r.warnings, "infos": r.severities["info"],
            "formats": dict(r.formats), "token_limit": r.token_limit, "tokens": r.tokens or None,
            "counts": dict(sorted(r.counts.items())),
        } for r in reports],
        "summary": {
            "files": len(reports),
            "examples": sum(r.examples for r in reports),
            "rejected": sum(r.rejected for r in reports),
            "errors": sum(r.errors for r in reports),
            "warnings": sum(r.warnings for r in reports),
            "infos": sum(r.severities["info"] for r in reports),
            "ok": not any(r.errors for r in reports),
            "counts": dict(sorted(counts.items())),
        },
        "issues": [_issue_json(i) for r in reports for i in r.issues],
    }


def _issue_json(i: Issue) -> dict[str, Any]:
    return {"file": i.file, "line": i.line, "example_index": i.example_index, "message_index": i.message_index,
            "path": i.path, "code": i.code, "severity": i.severity, "message": i.message, "hint": i.hint,
            "fix": i.fix}


def format_issue(i: Issue) -> str:
    """`file:line: severity code [example N, message M] message (fix: hint)`"""
    where = f"{i.file}:{i.line}" if i.line is not None else f"{i.file}"
    loc = []
    if i.example_index is not None:
        loc.append(f"example {i.example_index}")
    if i.message_index is not None:
        loc.append(f"message {i.message_index}")
    elif i.path and i.example_index is not None:
        loc.append(i.path)
    bracket = f" [{', '.join(loc)}]" if loc else ""
    fix = f" (fix: {i.hint})" if i.hint else ""
    return f"{where}: {i.severity} {i.code}{bracket} {i.message}{fix}"


def _print_file(rep: FileReport, summary: bool, cap: int | None) -> None:
    if summary:
        firsts: dict[str, Issue] = {}
        for i in rep.issues:
            firsts.setdefault(i.code, i)
        for code, n in sorted(rep.counts.items(), key=lambda kv: (_rank(firsts[kv[0]].severity), -kv[1])):
            first = firsts[code]
            at = f"{first.file}:{first.line}" if first.line is not None else first.file
            echo(f"{first.severity:7} {code:38} x{n:<7} first at {at}: {first.message}")
    else:
        for i in rep.issues:
            echo(format_issue(i))
        if cap is not None:
            for code, n in sorted(rep.counts.items()):
                if n > cap:
                    echo(f"{rep.file}: ... and {n - cap} more {code}")
    tok = rep.tokens
    tok_text = (f"; tokens total {tok['total']:,}, trained {tok['trained']:,}, p50 {tok['p50']:.0f}, "
                f"p95 {tok['p95']:.0f}, max {tok['max']:,}, over limit ({rep.token_limit:,}) {tok['over_limit']}"
                if tok else "")
    formats = ", ".join(f"{n} {f}" for f, n in rep.formats.most_common())
    echo(f"{rep.file}: {rep.examples} examples ({formats or 'none'}), {rep.rejected} rejected, "
          f"{rep.errors} errors, {rep.warnings} warnings, {rep.severities['info']} info{tok_text}")
    if rep.counts and not summary:
        echo("  by code: " + ", ".join(f"{c} {n}" for c, n in sorted(rep.counts.items())))


def _rank(sev: str) -> int:
    return {"error": 0, "warning": 1}.get(sev, 2)


def _print_verdict(reports: list[FileReport], quarantine: str | None) -> None:
    errors = sum(r.errors for r in reports)
    bad = sum(1 for r in reports if r.errors)
    warnings = sum(r.warnings for r in reports)
    if any(r.io_error for r in reports):
        verdict = "CANNOT READ: a file could not be read"
    elif errors:
        verdict = f"FAIL: {errors} errors in {bad} of {len(reports)} file(s), {warnings} warnings"
    else:
        verdict = f"OK: no errors in {len(reports)} file(s), {warnings} warnings"
    rejected = sum(r.rejected for r in reports)
    if quarantine and rejected:
        verdict += f"; {rejected} rejected rows written to {quarantine}"
    echo(verdict)


@contextmanager
def _quarantine_file(path: str | None) -> Iterator[BinaryIO | None]:
    if path is None:
        yield None
        return
    with atomic_writer(path) as fh:
        yield fh


@contextmanager
def _progress(path: str, quiet: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A rich bar on stderr, only for big files and only when stderr is a terminal."""
    try:
        size = os.path.getsize(path) if os.path.isfile(path) else 0
    except OSError:
        size = 0
    if size < PROGRESS_MIN_BYTES or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(f"validating {escape(literal(Path(path).name))}", total=size)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done)

        yield update
