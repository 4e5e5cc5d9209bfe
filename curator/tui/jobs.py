"""Long work in a thread worker with progress and cancel: import, search index, dedup, split,
export, bulk changes. Each job opens its own Workspace (one connection per thread; WAL lets the
list keep reading while the job writes), reports progress as JobProgress messages posted to its
screen (curator.tui.messages) and returns a value: the jobs here a JobReport, undo and redo
their journal entries."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import ProgressBar, Static
from textual.worker import Worker, WorkerState, get_current_worker

from curator.tui.messages import JobProgress
from curator.tui.text import literal
from curator.workspace import Workspace

if TYPE_CHECKING:
    from curator.workspace.settings import Settings

Progress = Callable[[int, int], None]
T = TypeVar("T")


@dataclass(frozen=True)
class JobReport:
    """What a job did, for a person: `summary` is one line (the status line shows it),
    `detail` the lines under it in the result dialog."""

    summary: str
    detail: str = ""

    @property
    def text(self) -> str:
        return self.summary + (f"\n{self.detail}" if self.detail else "")


#: a job: (workspace, progress, cancelled) -> its report
JobFn = Callable[[Workspace, Progress, Callable[[], bool]], JobReport]


class Cancelled(Exception):
    """Raised from a progress callback to stop a core function that has no cancel flag."""


class JobScreen(ModalScreen[T | None], Generic[T]):
    """Runs one job; dismisses with what it returned, or None when cancelled or failed."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "cancel")]

    def __init__(self, title: str, path: Path,
                 fn: Callable[[Workspace, Progress, Callable[[], bool]], T],
                 hint: str = "escape: cancel (work committed so far is kept)",
                 cancellable: bool = True) -> None:
        super().__init__()
        self.title_text, self.path, self.fn, self.hint = title, path, fn, hint
        self.cancellable = cancellable
        self.stop = threading.Event()
        self._last = 0.0

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text(literal(self.title_text)), classes="dialog-title")
            yield ProgressBar(id="job-bar", show_eta=True)
            yield Static(Text(self.hint),
                         id="job-status", classes="dialog-hint")

    def on_mount(self) -> None:
        self.run_job()

    def _progress(self, done: int, total: int) -> None:
        if self.stop.is_set() or get_current_worker().is_cancelled:
            raise Cancelled
        now = time.monotonic()
        if now - self._last > 0.1 or done >= total:
            self._last = now
            self.post_message(JobProgress(done, total))

    def on_job_progress(self, message: JobProgress) -> None:
        self.query_one("#job-bar", ProgressBar).update(total=max(message.total, 1),
                                                       progress=message.done)

    @work(thread=True, exclusive=True, exit_on_error=False, group="job")
    def run_job(self) -> T | None:
        try:
            with Workspace.open(self.path) as ws:
                return self.fn(ws, self._progress, self.stop.is_set)
        except Cancelled:
            return None

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # Dismiss only once the worker is over, so no worker outlives its screen.
        if event.state == WorkerState.SUCCESS:
            self.dismiss(event.worker.result)
        elif event.state == WorkerState.ERROR:
            error = event.worker.error
            self.app.notify(literal(f"{type(error).__name__}: {error}"),
                            title=literal(f"{self.title_text} failed", one_line=True),
                            severity="error", timeout=10, markup=False)
            self.dismiss(None)

    def action_cancel(self) -> None:
        if not self.cancellable:
            return
        self.stop.set()
        self.query_one("#job-status", Static).update(Text("cancelling…"))


# -- the jobs ---------------------------------------------------------------------------------


def index_job(ws: Workspace, progress: Progress, cancelled: Callable[[], bool]) -> JobReport:
    n = ws.build_search_index(progress, cancelled=cancelled)
    return JobReport(f"search index: {n:,} records indexed")


def import_job(paths: list[Path], target: str | None = None) -> JobFn:
    """Import files as `curator import` does (convert, validate, count for the workspace's
    target, which it records in the workspace's meta); progress by bytes read."""

    def run(ws: Workspace, progress: Progress, cancelled: Callable[[], bool]) -> JobReport:
        from curator.workspace.importer import FileReport, import_files
        from curator.workspace.prepare import Preparer
        from curator.workspace.settings import settings_meta

        settings = workspace_target(ws, target)
        preparer = Preparer(settings.target, model=settings.model, max_tokens=settings.max_tokens)
        meta = settings_meta(settings.target, settings.model, settings.require_limit())
        sizes = {str(p): p.stat().st_size if p.is_file() else 0 for p in paths}
        total = max(1, sum(sizes.values()))
        before = {path: sum(v for k, v in sizes.items() if k < path) for path in sizes}

        def each(fr: FileReport) -> None:
            if cancelled():
                raise Cancelled
            progress(min(total, before.get(fr.path, 0) + fr.bytes_read), total)

        report = import_files(ws, paths, preparer, progress=each, meta=meta)
        return JobReport(f"imported {report.rows:,} rows: {report.new:,} new, "
                         f"{report.already_present:,} already present, {report.rejected:,} rejected")
    return run


def workspace_target(ws: Workspace, override: str | None = None) -> Settings:
    """What the review app judges records by: the workspace's target, tokenizer and limit. An
    `override` other than the workspace's target raises SettingsConflict (as `curator review
    --target` does); on a workspace with nothing imported yet it is the target of the import."""
    from curator.workspace.settings import resolve

    return resolve(ws, target=override, purpose="open")


def dedup_job(ws: Workspace, progress: Progress, cancelled: Callable[[], bool]) -> JobReport:
    from curator.workspace.dedup import dedup_workspace

    result = dedup_workspace(ws, progress=progress)
    first, *rest = _describe(result, "dedup")
    return JobReport("dedup: " + first, "\n".join(rest))


def split_job(ws: Workspace, progress: Progress, cancelled: Callable[[], bool]) -> JobReport:
    from curator.workspace.split import split_workspace

    outcome = split_workspace(ws, progress=progress)
    if outcome.written:
        head = f"split: {outcome.summary()}; {outcome.new:,} newly placed; {outcome.leaks} leaks"
    else:
        why = outcome.empty_message or (
            f"{outcome.leaks} duplicate pairs would sit in two splits; resolve them (dedup, "
            "reject) or run `curator split --force`")
        head = f"split NOT written: {why}"
    return JobReport(head, "\nleakage report:\n"
                     + "\n".join(_describe(outcome.report_dict(), "report"))
                     + ("\n\nwarnings:\n" + "\n".join(outcome.warnings)
                        if outcome.warnings else ""))


def export_job(out_dir: Path, only_accepted: bool = False) -> JobFn:
    """Export as `curator export` does (everything not rejected by default); warnings (an
    empty split, for which no file is written) come first in the result."""
    def run(ws: Workspace, progress: Progress, cancelled: Callable[[], bool]) -> JobReport:
        from curator.workspace.export import export_workspace

        result = export_workspace(ws, out_dir, only_accepted=only_accepted, progress=progress)
        lines = [*(f"warning: {w}" for w in result.warnings), f"exported to {out_dir}",
                 *_describe(result, "export")]
        return JobReport(lines[0], "\n".join(lines[1:]))
    return run


def _describe(result: Any, what: str) -> list[str]:
    """A job's result as a few lines for a person (the result screen shows them; `--json` of
    the CLI commands is where the full data is): `what` is dedup, report (a split's leakage
    report) or export."""
    data = result.to_dict() if hasattr(result, "to_dict") else result
    if not isinstance(data, dict):
        return [f"{what}: {data}"]
    if what == "dedup":
        return _dedup_lines(data)
    if what == "report":
        return _report_lines(data)
    if what == "export":
        return _export_lines(data)
    return [f"{k}: {v}" for k, v in data.items() if not isinstance(v, (list, dict))]


def _n(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def _dedup_lines(d: dict[str, Any]) -> list[str]:
    lines = [f"{_n(d.get('records'))} records: {_n(d.get('clusters'))} clusters, "
             f"{_n(d.get('duplicates'))} duplicates ({_n(d.get('exact_duplicates'))} exact, "
             f"{_n(d.get('near_duplicates'))} near)"]
    if d.get("dry_run"):
        lines.append("dry run: nothing marked")
    elif d.get("journal_entry") is not None:
        lines.append(f"marked  [journal #{d['journal_entry']}]  u undoes"
                     + (", d shows the clusters" if d.get("clusters") else ""))
    else:
        lines.append("marks unchanged")
    return lines


def _report_lines(r: dict[str, Any]) -> list[str]:
    sizes = r.get("sizes") or {}
    lines = ["  ".join(f"{k} {_n(v)}" for k, v in sizes.items()) or "no splits"]
    lines.append(f"leakage: {_n(r.get('exact_leaks', 0))} exact and "
                 f"{_n(r.get('near_leaks', 0))} near-duplicate pairs across splits")
    for kind in ("exact_leak_pairs", "near_leak_pairs"):
        for pair in (r.get(kind) or [])[:5]:
            lines.append(f"  {pair.get('a')} ({pair.get('split_a')}) ~ {pair.get('b')} "
                         f"({pair.get('split_b')})")
    for name, missing in (r.get("missing_classes") or {}).items():
        if missing:
            lines.append(f"{name} lacks label {', '.join(map(str, missing))}")
    return lines


def _export_lines(d: dict[str, Any]) -> list[str]:
    counts = d.get("counts") or {}
    lines = [f"{d.get('format', '?')} for {d.get('target', '?')}: "
             + ", ".join(f"{k} {_n(v)}" for k, v in counts.items())
             + f"; {_n(d.get('excluded', 0))} excluded"]
    for reason, n in (d.get("excluded_by_reason") or {}).items():
        lines.append(f"  excluded {reason}: {_n(n)}")
    return lines
