"""The pipeline commands over a workspace: import, dedup, split.

Exit codes: 0 done, 1 done with problems (rows rejected, a file unreadable while others
imported, a split refused for leakage), 2 usage or I/O error (nothing done).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
import orjson

from curator.cli import cli
from curator.cli.workspace import handle_errors, workspace_option
from curator.store import Workspace
from curator.workspace_import import FileReport, check_readable, import_files

TARGETS = ("openai", "azure", "trl")


def _fail(message: str, code: int = 2) -> None:
    click.echo(f"error: {message}", err=True)
    raise click.exceptions.Exit(code)


def _dump(obj: Any) -> str:
    return orjson.dumps(obj, option=orjson.OPT_INDENT_2).decode()


@contextlib.contextmanager
def progress_bar(label: str, quiet: bool) -> Iterator[Callable[[int, int], None]]:
    """A `(done, total)` callback drawing a bar on stderr; silent when not a tty or `quiet`."""
    if quiet or not sys.stderr.isatty():
        yield lambda done, total: None
        return
    bar: Any = None
    seen = 0
    try:
        def update(done: int, total: int) -> None:
            nonlocal bar, seen
            if bar is None:
                bar = click.progressbar(length=max(total, 1), label=label, file=sys.stderr)
                bar.__enter__()
            bar.length = max(total, 1)
            bar.update(max(done - seen, 0))
            seen = max(seen, done)

        yield update
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)


# --- import --------------------------------------------------------------------------------------


def _settings(ws: Workspace, target: str | None, model: str | None,
              max_tokens: int | None) -> tuple[str, str | None, int | None]:
    """The workspace's target/model/limit, checked against the options.

    A workspace is prepared for one target: its issues and token counts were computed with
    it, so mixing targets (or tokenizers, or limits) would leave records judged by two rules.
    """
    stored = {key: ws.meta(f"workspace.{key}") for key in ("target", "model", "max_tokens")}
    if stored["target"] is None:
        return target or "openai", model, max_tokens
    ws_target = orjson.loads(stored["target"])
    ws_model = orjson.loads(stored["model"]) if stored["model"] is not None else None
    ws_limit = orjson.loads(stored["max_tokens"]) if stored["max_tokens"] is not None else None
    if target is not None and target != ws_target:
        _fail(f"workspace {ws.path} is prepared for target {ws_target}; importing with "
              f"--target {target} would judge records by two rules. Import without --target, "
              f"or use a new workspace for {target}.")
    if model is not None and model != ws_model:
        _fail(f"workspace {ws.path} counts tokens with model {ws_model or '(default)'}; "
              f"--model {model} would mix two tokenizers. Import without --model, or use a new "
              f"workspace.")
    if max_tokens is not None and max_tokens != ws_limit:
        _fail(f"workspace {ws.path} checks lengths against {ws_limit} tokens; --max-tokens "
              f"{max_tokens} would mix two limits. Import without --max-tokens, or use a new "
              f"workspace.")
    return ws_target, ws_model, ws_limit


@cli.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@workspace_option
@click.option("--target", type=click.Choice(TARGETS), default=None,
              help="Service or trainer whose rules judge the records (default: the workspace's, "
                   "else openai). Fixed for a workspace by its first import.")
@click.option("--model", default=None,
              help="Model name or local tokenizer folder for token counts and the length limit.")
@click.option("--max-tokens", type=click.IntRange(min=1), default=None,
              help="Token limit per example (default: the model's or the target's).")
@click.option("--workers", type=click.IntRange(min=1), default=2, show_default=True,
              help="Processes that prepare (convert, validate, count) rows.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@handle_errors
def import_(files: tuple[Path, ...], workspace: Path, target: str | None, model: str | None,
            max_tokens: int | None, workers: int, as_json: bool) -> None:
    """Import files into a workspace (created if missing), each row converted to chat form,
    validated and token-counted as `curator validate` does.

    Re-importing a file adds nothing twice; a line that does not parse is kept as a rejected
    record with its error. A file that cannot be read is named and the others are imported.
    Exits 1 when any new row was rejected or a file could not be read, 2 when nothing could.

    Example: curator import data.jsonl more.jsonl -w work.db --target openai --model gpt-4o-mini
    """
    from curator.prepare import Preparer

    problems = check_readable(files)
    readable = [f for f in files if not any(p.startswith(f"{f}:") for p in problems)]
    for problem in problems:
        click.echo(f"error: {problem}", err=True)
    if not readable:
        raise click.exceptions.Exit(2)
    with Workspace.open(workspace, create=True) as ws:
        target, model, max_tokens = _settings(ws, target, model, max_tokens)
        preparer = Preparer(target, model=model, max_tokens=max_tokens)
        try:
            limit = preparer.limit
        except ValueError as exc:
            _fail(str(exc))
        meta = {"workspace.target": orjson.dumps(target).decode(),
                "workspace.model": orjson.dumps(model).decode(),
                "workspace.max_tokens": orjson.dumps(limit).decode()}
        sizes = {str(f): _size(f) for f in readable}
        total = sum(sizes.values())
        with progress_bar("import", as_json) as bar:
            finished = 0
            current = ""

            def progress(fr: FileReport) -> None:
                nonlocal finished, current
                if fr.path != current:
                    finished += sizes.get(current, 0)
                    current = fr.path
                bar(finished + min(fr.bytes_read, sizes.get(fr.path, 0)), total)

            report = import_files(ws, readable, prepare=preparer, progress=progress,
                                  workers=workers, meta=meta, keep_going=True)
    failed = [fr for fr in report.files if fr.error]
    for fr in failed:
        click.echo(f"error: {fr.error}", err=True)
    if as_json:
        out = report.to_dict()
        out["target"], out["model"], out["max_tokens"] = target, model, limit
        out["unreadable"] = problems + [fr.error for fr in failed]
        click.echo(_dump(out))
    else:
        for fr in report.files:
            click.echo(f"{fr.path}: {fr.rows} rows, {fr.new} new, {fr.already_present} already "
                       f"present, {fr.rejected} rejected")
            for reason, n in sorted(fr.reasons.items()):
                click.echo(f"  rejected {reason}: {n}")
        if len(report.files) > 1:
            click.echo(f"total: {report.rows} rows, {report.new} new, {report.already_present} "
                       f"already present, {report.rejected} rejected")
    if report.rejected or problems or failed:
        raise click.exceptions.Exit(1)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size if path.is_file() else 0
    except OSError:
        return 0
