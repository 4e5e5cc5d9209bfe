"""The review app: a record list over the whole workspace and the selected record in full.

Every key that changes data calls the workspace first (one committed, journaled transaction)
and only then redraws, so what the screen shows as done is on disk. The screen itself is
`MainScreen` (curator.tui.main_screen); its keys are in curator.tui.bindings.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import App
from textual.binding import Binding

from curator.tui.bindings import LABEL_KEYS
from curator.tui.jobs import (
    JobFn,
    JobReport,
    JobScreen,
    dedup_job,
    export_job,
    import_job,
    split_job,
    workspace_target,
)
from curator.tui.main_screen import MainScreen
from curator.tui.modals import Ask, Confirm, Result
from curator.workspace import Workspace, WorkspaceError

if TYPE_CHECKING:
    from curator.workspace.prepare import ExampleCheck, Preparer

__all__ = ["MainScreen", "ReviewApp", "binding_ids"]


class ReviewApp(App[None]):
    """`ReviewApp(path)` opens a workspace; `imports` are imported first, in a worker."""

    CSS_PATH = "review.tcss"
    TITLE = "curator review"

    def __init__(self, path: Path, *, target: str | None = None,
                 keymap: dict[str, str] | None = None, imports: Sequence[Path] = (),
                 advance: bool = True, actor: str | None = None,
                 cursor_blink: bool = True) -> None:
        super().__init__()
        #: False in tests, so that snapshots do not depend on when the cursor blinked
        self.cursor_blink = cursor_blink
        self.path = Path(path)
        self.ws = Workspace.open(self.path, create=bool(imports), actor=actor)
        self.target_override = target
        try:  # one workspace, one target's judgement: another target is refused, as by the CLI
            self.settings = workspace_target(self.ws, target)
        except WorkspaceError:
            self.ws.close()
            raise
        self.target = self.settings.target
        #: made at the first edit check: the validator's modules (numpy, the schema) take
        #: longer to import than the rest of the app's start, and most sessions never edit
        self._preparer: Preparer | None = None
        self.imports = list(imports)
        self.advance = advance
        self.version = 0
        self._checkpointing = False
        if keymap:
            self.set_keymap(keymap)

    @property
    def limit(self) -> int | None:
        # An imported workspace stores its limit: read it as it is, without loading the
        # validator (numpy, the schema) that works a limit out from the model (what
        # settings.limit does, and returns this same stored value first).
        if self.settings.max_tokens is not None:
            return self.settings.max_tokens
        return self.settings.limit

    @property
    def preparer(self) -> Preparer:
        if self._preparer is None:
            from curator.workspace.prepare import Preparer

            self._preparer = Preparer(self.target, model=self.settings.model,
                                      max_tokens=self.settings.max_tokens)
        return self._preparer

    def check(self, example: dict[str, Any]) -> ExampleCheck:
        return self.preparer.check(example)

    def label_names(self) -> list[str]:
        return [name for name, _ in self.ws.labels()]

    def changed(self) -> None:
        self.version += 1

    def on_mount(self) -> None:
        self.ws.defer_checkpoints()
        self.set_interval(3.0, self._checkpoint_tick)
        self.main = MainScreen(self.ws)
        self.push_screen(self.main)
        if self.imports:
            names = ", ".join(p.name for p in self.imports)

            def done(result: JobReport | None) -> None:
                self.main.after_bulk(result.summary if result else "import cancelled; run again to continue")

            self.push_screen(JobScreen(f"Importing {names} into {self.path}", self.path,
                                       import_job(self.imports, self.target_override)),
                             done)

    def _checkpoint_tick(self) -> None:
        # One checkpoint at a time, and none cancelled: a thread worker cannot be stopped
        # mid-call anyway, and an `exclusive` one that a slow disk (or a loaded machine) keeps
        # past the next tick would be reported cancelled while it still runs.
        if not self._checkpointing:
            self._checkpointing = True
            self.checkpoint()

    @work(thread=True, exit_on_error=False, group="checkpoint")
    def checkpoint(self) -> None:
        try:
            with Workspace.open(self.path) as ws:
                ws.checkpoint()
        finally:
            self._checkpointing = False

    def on_unmount(self) -> None:
        try:
            self.ws.checkpoint()
        finally:
            self.ws.close()

    # -- other screens and the workspace jobs (keys on the main screen) -----------------------

    def action_duplicates(self) -> None:
        from curator.tui.dupes import DuplicatesScreen

        self.push_screen(DuplicatesScreen(self.ws), lambda _r: self.main.after_bulk(""))

    def action_stats(self) -> None:
        from curator.tui.stats import StatsScreen

        self.push_screen(StatsScreen(self.ws.path, self.limit))

    def action_sort_suspicious(self) -> None:
        """The main list in id order, or most suspicious first (highest IFD of `curator
        score` first, unscored last); the filter stays."""
        from curator.tui.window import slow_filter

        main = self.main
        main.window.order = "id" if main.window.order == "suspicious" else "suspicious"
        main.apply_filter(list(main.window.where))
        if not slow_filter(main.window.where):  # else the scan's end says how many
            main.update_status(f"{len(main.window):,} records, " + (
                "most suspicious first (highest IFD first, unscored last)"
                if main.window.order == "suspicious" else "in id order"))

    def _job(self, title: str, fn: JobFn, done_title: str = "") -> None:
        def done(report: JobReport | None) -> None:
            if report is not None:
                self.main.after_bulk(report.summary)
                self.push_screen(Result(done_title or f"{title}: done", report.text))

        self.push_screen(JobScreen(title, self.ws.path, fn), done)

    def action_dedup(self) -> None:
        self._job("Finding duplicates", dedup_job, "Dedup")

    def action_split(self) -> None:
        def confirmed(yes: bool | None) -> None:
            if yes:
                self._job("Splitting", split_job, "Split")

        self.push_screen(Confirm("Assign train / validation / holdout splits now "
                                 "(0.8 / 0.1 / 0.1, seed 0)?"), confirmed)

    def action_export(self) -> None:
        default = str(self.ws.path.with_name(self.ws.path.stem + "_export"))

        def done(text: str | None) -> None:
            if text:
                self._job("Exporting", export_job(Path(text).expanduser()))

        self.push_screen(Ask("Export every record not rejected (as curator export) to folder",
                             default), done)

    def help_rows(self) -> list[tuple[str, str]]:
        from curator.tui.record_list import RecordList as _RL

        rows = []
        for b in [*MainScreen.BINDINGS, *_RL.BINDINGS]:
            assert isinstance(b, Binding)
            keys = " ".join(self.get_key_display(b.with_key(k.strip()))
                            for k in self._keymap.get(b.id or "", b.key).split(","))
            desc = b.description
            n = LABEL_KEYS.get(b.id or "")
            if n is not None:
                names = self.label_names()
                desc = f"toggle label {names[n - 1]}" if n <= len(names) else "(no label yet)"
            rows.append((keys, f"{desc}  [{b.id}]"))
        return rows


def binding_ids() -> list[str]:
    from curator.tui.record_list import RecordList as _RL

    return [b.id for b in [*MainScreen.BINDINGS, *_RL.BINDINGS]
            if isinstance(b, Binding) and b.id]
