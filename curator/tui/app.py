"""The review app: a record list over the whole workspace and the selected record in full.

Every key that changes data calls the workspace first (one committed, journaled transaction)
and only then redraws, so what the screen shows as done is on disk.
"""

from __future__ import annotations

import sqlite3
import time
from array import array
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer
from textual.worker import get_current_worker

from curator.tui.detail import DetailPane
from curator.tui.edit import EditScreen
from curator.tui.jobs import (
    JobScreen,
    dedup_job,
    export_job,
    import_job,
    index_job,
    split_job,
    workspace_target,
)
from curator.tui.modals import Ask, BulkChoice, Confirm, Help, Result
from curator.tui.record_list import RecordList
from curator.tui.text import literal
from curator.tui.window import RecordWindow, Row, scan, slow_filter
from curator.workspace import (
    FILTER_HELP,
    STATUSES,
    EditRefused,
    JournalEntry,
    RecordDetail,
    Workspace,
    WorkspaceError,
    compile_filters,
    uses_search,
)
from curator.workspace.prepare import ExampleCheck, Preparer

DEFAULT_REASON = "rejected in review"
#: what applying a filter may raise and the app reports (the list stays as it was): the
#: filter language's errors, and what SQLite says of values it cannot take (an integer beyond
#: 64 bits) should one get past the language's own checks
FILTER_FAILURES = (WorkspaceError, OverflowError, sqlite3.Error)


class StatusLine(Widget):
    """One line of state; redrawn in place (no layout pass, unlike a Static update)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.text = Text()

    def show(self, text: Text) -> None:
        self.text = text
        self.refresh()

    def render(self) -> Text:
        return self.text


def _b(key: str, action: str, description: str, id: str, show: bool = True) -> Binding:
    return Binding(key, action, description, show=show, id=id)


class MainScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        _b("question_mark", "help", "help", "help"),
        _b("a", "accept", "accept", "accept"),
        _b("r,x", "reject", "reject", "reject"),
        _b("X", "reject_default", "reject (default reason)", "reject_default", False),
        _b("p", "reset", "pending", "reset", False),
        _b("space", "next", "next", "next", False),
        _b("n", "next_pending", "next pending", "next_pending"),
        _b("i", "next_issue", "next with issues", "next_issues", False),
        _b("e", "edit", "edit", "edit"),
        _b("c", "note", "note", "note", False),
        _b("m", "mark", "mark (kept in the workspace; not undone by u)", "mark", False),
        _b("M", "clear_marks", "clear marks", "clear_marks", False),
        _b("b", "bulk", "bulk", "bulk"),
        _b("u", "undo", "undo", "undo"),
        _b("U,ctrl+r", "redo", "redo", "redo", False),
        _b("slash", "search", "search", "search"),
        _b("f", "filter", "filter", "filter"),
        _b("v", "cycle_status", "status view", "cycle_status", False),
        _b("ctrl+l", "refresh", "refresh", "refresh", False),
        _b("escape", "cancel_filter", "stop a filter still running", "cancel_filter", False),
        _b("s", "toggle_system", "system prompt", "toggle_system", False),
        _b("J", "scroll_detail(1)", "scroll detail down", "detail_down", False),
        _b("K", "scroll_detail(-1)", "scroll detail up", "detail_up", False),
        _b("L", "label_set", "label set", "label_set", False),
        _b("d", "duplicates", "duplicates", "duplicates"),
        _b("S", "stats", "stats", "stats"),
        _b("D", "dedup", "run dedup", "run_dedup", False),
        _b("P", "split", "split", "run_split", False),
        _b("E", "export", "export", "run_export", False),
        _b("tab", "app.focus_next", "switch pane", "focus_next", False),
        _b("q", "app.quit", "quit", "quit"),
        *[_b(str(i), f"label({i})", f"label {i}", f"label_{i}", False) for i in range(1, 10)],
    ]

    def __init__(self, ws: Workspace) -> None:
        super().__init__()
        self.ws = ws
        #: marked records; kept in the workspace (saved at each key, not journaled)
        self.marks: set[int] = ws.marks()
        self.window = RecordWindow(ws)
        self.message = ""
        #: counts filters applied; a background filter's result is used only if still current
        self._filter_gen = 0
        self._filter_last = 0.0
        #: a filter whose count is still running in a worker (the one asked for last)
        self._pending_where: list[str] | None = None

    @property
    def review(self) -> ReviewApp:
        app = self.app
        assert isinstance(app, ReviewApp)
        return app

    def compose(self) -> ComposeResult:
        with Horizontal(id="panes"):
            yield RecordList(self.window, self.marks, on_move=self.moved, id="records")
            yield DetailPane(self.ws.get, id="detail")
        yield StatusLine(id="status-line")
        yield Footer()

    def on_mount(self) -> None:
        self.window.reset([])
        self.records.reload()
        self.records.focus()
        self.show_current()

    def on_resize(self) -> None:
        self.set_class(self.size.width < 110, "-narrow")

    # -- helpers -----------------------------------------------------------------------------

    @property
    def records(self) -> RecordList:
        return self.query_one("#records", RecordList)

    @property
    def detail(self) -> DetailPane:
        return self.query_one("#detail", DetailPane)

    def current_id(self) -> int | None:
        row = self.records.current
        return row.summary.id if row is not None else None

    def show_current(self) -> None:
        rid = self.current_id()
        self.detail.show_id(rid, self.review.limit, rid in self.marks)
        self.update_status()

    def update_status(self, message: str | None = None) -> None:
        if message is not None:
            self.message = message
        where = " ".join(self.window.where) or "all records"
        total = len(self.window)
        pos = f"{self.records.cursor + 1:,}/{total:,}" if total else "0/0"
        marks = f"  {len(self.marks)} marked" if self.marks else ""
        line = Text(f" {pos}  {literal(where, one_line=True)}{marks}")
        if self.message:
            line.append(f"  │ {literal(self.message, one_line=True)}")
        self.query_one("#status-line", StatusLine).show(line)

    def moved(self) -> None:
        # The list, the status line and the detail paint in the same next frame. The detail
        # reads its record only when painted, so a burst of key repeats within one frame
        # reads and draws only the record the burst stopped on.
        self.show_current()

    def after_change(self, rid: int | None, message: str, advance: bool = False) -> None:
        """Redraw what a committed one-record change touched; optionally move on."""
        if rid is not None:
            self.window.refresh_ids([rid])
        self.records.refresh()
        self.update_status(message)
        if advance and self.records.cursor < len(self.window) - 1:
            self.records.action_move(1)
        else:
            self.moved()
        self.review.changed()

    def after_bulk(self, message: str) -> None:
        keep = self.current_id()
        pending = self._pending_where
        if slow_filter(self.window.where):
            # Counting a text~ filter again takes seconds at a million records: the rows shown
            # are re-read now, the count and first page come from a worker (below).
            self.window.refresh_ids([r.summary.id for r in self.window.rows])
            self.records.refresh()
        else:
            self.window.refresh_all()
            if keep is not None:
                index = self.window.index_of(keep)
                if index is not None:
                    self.records.cursor = index
            self.records.reload()
            self.records.refresh()
        self.show_current()
        self.update_status(message)
        self.review.changed()
        if pending is None and not slow_filter(self.window.where):
            return
        # A count that was running read records from before the change, so it starts again:
        # the filter asked for last if one was still being counted (it stays the one that will
        # be shown), else the text~ filter on screen.
        self._filter_gen += 1
        self.workers.cancel_group(self, "filter")
        if pending is not None:
            self._scan(pending, self._filter_gen, None, message)
        else:
            self._pending_where = list(self.window.where)
            self._scan(list(self.window.where), self._filter_gen, keep, message)

    def fail(self, exc: Exception) -> None:
        self.update_status(f"error: {exc}")
        self.app.notify(literal(str(exc)), severity="error", markup=False)

    # -- decisions ---------------------------------------------------------------------------

    def _status(self, status: str, reason: str | None = None) -> None:
        rid = self.current_id()
        if rid is None:
            return
        try:
            change = self.ws.set_status_one(rid, status, reason)
        except WorkspaceError as exc:
            self.fail(exc)
            return
        self.after_change(rid, change.summary if change.entry_id else
                          f"record {rid} already {status}", advance=self.review.advance)

    def action_accept(self) -> None:
        self._status("accepted")

    def action_reset(self) -> None:
        self._status("pending")

    def _default_reason(self) -> str:
        rid = self.current_id()
        if rid is not None:
            for issue in self.ws.get(rid).issues:
                if issue.severity == "error":
                    return issue.code
        return DEFAULT_REASON

    def action_reject(self) -> None:
        rid = self.current_id()
        if rid is None:
            return

        def done(reason: str | None) -> None:
            if reason is not None:
                self._status("rejected", reason.strip() or DEFAULT_REASON)

        self.app.push_screen(Ask(f"Reject record {rid}: why?", self._default_reason(),
                                 "enter: reject with this reason   escape: cancel"), done)

    def action_reject_default(self) -> None:
        self._status("rejected", self._default_reason())

    def action_label(self, n: int) -> None:
        rid = self.current_id()
        names = self.review.label_names()
        if rid is None:
            return
        if n > len(names):
            self.update_status(f"no label {n}: the label set has {len(names)} (L edits it)")
            return
        name = names[n - 1]
        try:
            on = name not in self.ws.get(rid).labels
            change = self.ws.set_label_one(rid, name, on)
        except WorkspaceError as exc:
            self.fail(exc)
            return
        self.after_change(rid, change.summary)

    def action_note(self) -> None:
        rid = self.current_id()
        if rid is None:
            return

        def done(text: str | None) -> None:
            if text is None:
                return
            try:
                change = self.ws.set_note_one(rid, text)
            except WorkspaceError as exc:
                self.fail(exc)
                return
            self.after_change(rid, change.summary)

        self.app.push_screen(Ask(f"Note on record {rid} (empty clears it)",
                                 self.ws.get(rid).note or ""), done)

    def action_label_set(self) -> None:
        current = self.review.label_names()

        def done(text: str | None) -> None:
            if text is None:
                return
            wanted = list(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
            try:
                change = self.ws.set_label_set(wanted)  # in this order: keys 1-9 follow it
            except WorkspaceError as exc:
                self.fail(exc)
                return
            self.after_bulk(change.summary if change.entry_id else "label set unchanged")

        self.app.push_screen(Ask("Label set (comma separated; keys 1-9 follow this order)",
                                 ", ".join(current),
                                 "Removing a name takes it off every record (undo restores it)."),
                             done)

    # -- moving ------------------------------------------------------------------------------

    def action_next(self) -> None:
        self.records.action_move(1)

    def _next(self, extra: Sequence[str], what: str) -> None:
        rid = self.current_id()
        target = self.window.next_matching(rid if rid is not None else 0, extra)
        if target is None:
            self.update_status(f"no {what} after this record")
            return
        index = self.window.index_of(target)
        if index is not None:
            self.records.go(index)

    def action_next_pending(self) -> None:
        self._next(["status=pending"], "pending record")

    def action_next_issue(self) -> None:
        self._next(["issue=any"], "record with issues")

    # -- marks and bulk ----------------------------------------------------------------------

    def action_mark(self) -> None:
        rid = self.current_id()
        if rid is None:
            return
        on = rid not in self.marks
        try:
            self.ws.set_marks([rid], on)
        except WorkspaceError as exc:
            self.fail(exc)
            return
        self.marks.symmetric_difference_update({rid})
        self.records.refresh()
        self.update_status("")
        if self.records.cursor < len(self.window) - 1:
            self.records.action_move(1)
        else:
            self.show_current()

    def action_clear_marks(self) -> None:
        try:
            self.ws.clear_marks()
        except WorkspaceError as exc:
            self.fail(exc)
            return
        self.marks.clear()
        self.records.refresh()
        self.update_status("marks cleared")

    def action_bulk(self) -> None:
        if self.marks:
            what, count = "marked records", len(self.marks)
        else:
            what, count = f"records matching {' '.join(self.window.where) or 'all'}", len(
                self.window)
        if not count:
            self.update_status("nothing to apply to: mark records (m) or filter (f)")
            return
        ids = sorted(self.marks) if self.marks else None
        where = list(self.window.where)

        def chosen(choice: str | None) -> None:
            if not choice:
                return
            words = {"accept": "Accept", "reject": "Reject", "reset": "Set back to pending"}
            verb = words.get(choice, f"Label {choice[6:]!r} on")

            def confirmed(yes: bool | None) -> None:
                if yes:
                    self._bulk(choice, ids, where)

            self.app.push_screen(Confirm(f"{verb} {count:,} {what}?"), confirmed)

        self.app.push_screen(BulkChoice(what, count, self.review.label_names()), chosen)

    def _bulk(self, choice: str, ids: list[int] | None, where: list[str]) -> None:
        # In a worker, in chunks with progress, as one transaction and one journal entry (one
        # undo takes it back); cancelling rolls it all back.
        def run(ws: Workspace, progress: Any, cancelled: Any) -> str:
            sel_where = None if ids is not None else where
            if choice.startswith("label:"):
                summary = ws.add_labels(ids, [choice[6:]], where=sel_where,
                                        progress=progress).summary
            else:
                status = {"accept": "accepted", "reject": "rejected",
                          "reset": "pending"}[choice]
                reason = "bulk reject in review" if status == "rejected" else None
                summary = ws.set_status(ids, status, reason, where=sel_where,
                                        progress=progress).summary
            return summary

        def done(result: str | None) -> None:
            if result is None:
                self.update_status("bulk change not applied (cancelled or failed): nothing changed")
                return
            if ids is not None:  # applied: the marks have done their work
                try:
                    self.ws.clear_marks()
                    self.marks.clear()
                except WorkspaceError as exc:  # the change itself is committed and shown
                    self.fail(exc)
            self.after_bulk(result)

        self.app.push_screen(JobScreen("Applying…", self.ws.path, run,
                                       hint="escape: cancel (nothing is changed unless it "
                                            "has already finished)"), done)

    # -- undo / redo -------------------------------------------------------------------------

    def _walked(self, entries: list[JournalEntry], verb: str) -> None:
        if not entries:
            self.update_status(f"nothing to {verb}")
            return
        entry = entries[0]
        message = f"{verb}ne: {entry.summary}" if verb == "undo" else f"redone: {entry.summary}"
        if entry.n_changes <= 50:
            # One-record actions (the usual case): re-read just those rows, no recount.
            ids = [rid for rid, *_ in self.ws.changes(entry.id) if rid is not None]
            if ids or entry.action == "labels":
                self.window.refresh_ids(ids)
                self.records.refresh()
                self.update_status(message)
                self.moved()
                self.review.changed()
                return
        self.after_bulk(message)

    #: undo / redo of an entry with more changes than this runs in a worker (a bulk change
    #: over a million records takes seconds to revert; the screen must not freeze meanwhile)
    BIG_UNDO: ClassVar[int] = 1000

    def _walk(self, verb: str) -> None:
        nxt = self.ws.next_undo() if verb == "undo" else self.ws.next_redo()
        if nxt is None or nxt.n_changes <= self.BIG_UNDO:
            self._walked(self.ws.undo() if verb == "undo" else self.ws.redo(), verb)
            return

        def run(ws: Workspace, progress: Any, cancelled: Any) -> str:
            entries = ws.undo() if verb == "undo" else ws.redo()
            return str(entries[0].id) if entries else ""

        def done(result: str | None) -> None:
            if result is None:
                self.update_status(f"{verb} failed; nothing changed")
                return
            self._walked([self.ws.entry(int(result))] if result else [], verb)

        self.app.push_screen(JobScreen(f"{verb.capitalize()}: {literal(nxt.summary)}",
                                       self.ws.path, run,
                                       hint="one transaction: it runs to the end",
                                       cancellable=False), done)

    def action_undo(self) -> None:
        self._walk("undo")

    def action_redo(self) -> None:
        self._walk("redo")

    # -- edit --------------------------------------------------------------------------------

    def action_edit(self) -> None:
        rid = self.current_id()
        if rid is None:
            return
        record = self.ws.get(rid)
        if record.example is None:
            self.update_status("this record did not parse; there is nothing to edit")
            return

        def done(example: dict[str, Any] | None) -> None:
            if example is None:
                return
            self.save_edit(record, example)

        self.app.push_screen(EditScreen(record, self.review.check), done)

    def save_edit(self, record: RecordDetail, example: dict[str, Any]) -> None:
        result = self.review.check(example)
        tokens = (result.tokens_total, result.tokens_trained or 0) \
            if result.tokens_total is not None else None
        try:
            change = self.ws.edit(record.id, example, validate=lambda _e: result.issues,
                                  tokens=tokens)
        except EditRefused as exc:
            self.fail(exc)
            return
        except WorkspaceError as exc:
            self.fail(exc)
            return
        self.after_change(record.id, change.summary if change.entry_id else "no change")

    # -- filters and search ------------------------------------------------------------------

    def apply_filter(self, where: list[str]) -> None:
        if uses_search(where) and self.ws.search_index_pending():
            pending = self.ws.search_index_pending()

            def built(result: str | None) -> None:
                if result is not None and not self.ws.search_index_pending():
                    self.apply_filter(where)
                else:
                    self.update_status("search cancelled: the index is not complete yet")

            self.app.push_screen(JobScreen(f"Building the search index ({pending:,} records, "
                                           f"once)", self.ws.path, index_job), built)
            return
        try:
            compile_filters(where)
            self.ws.check_filter_names(where)  # label=nosuch is an error, not an empty list
        except FILTER_FAILURES as exc:
            self.filter_failed(where, exc)
            return
        self._filter_gen += 1
        self.workers.cancel_group(self, "filter")  # a new filter replaces a running one
        self._pending_where = None
        if slow_filter(where):
            self.update_status(f"filtering {' '.join(where)}… (escape stops)")
            self._pending_where = list(where)
            self._scan(list(where), self._filter_gen)
            return
        try:
            self.window.reset(where)
        except FILTER_FAILURES as exc:
            self.filter_failed(where, exc)
            return
        self._filter_shown()

    def filter_failed(self, where: list[str], exc: Exception) -> None:
        """A filter that could not be applied: say why; the list stays as it was."""
        if isinstance(exc, OverflowError):
            why = f"a number is too large (at most {2**63 - 1:,})"
        elif isinstance(exc, WorkspaceError):
            why = str(exc)
        else:
            why = f"{type(exc).__name__}: {exc}"
        self.fail(Exception(f"filter {' '.join(where)} not applied: {why}"))

    @work(thread=True, exclusive=True, exit_on_error=False, group="filter")
    def _scan(self, where: list[str], gen: int, keep: int | None = None,
              message: str = "") -> None:
        """A filter no index answers, counted in a worker (its own connections, see
        window.scan) while the list keeps answering keys; the result replaces the list only if
        no other filter came since. A failure is reported, never left as "filtering…"."""
        worker = get_current_worker()

        def cancelled() -> bool:
            return worker.is_cancelled or gen != self._filter_gen

        def progress(done: int, total: int) -> None:
            self.app.call_from_thread(self.filter_progress, gen, where, done, total)

        try:
            with Workspace.open(self.ws.path) as ws:
                result = scan(ws, where, progress, cancelled)
        except Exception as exc:  # shown to the user; the list stays as it was
            self.app.call_from_thread(self._scan_failed, gen, where, exc)
            return
        if result is not None and not cancelled():
            self.app.call_from_thread(self._scanned, gen, where, *result, keep, message)

    def filter_progress(self, gen: int, where: list[str], done: int, total: int) -> None:
        now = time.monotonic()
        if gen == self._filter_gen and (now - self._filter_last > 0.1 or done >= total):
            self._filter_last = now
            self.update_status(f"filtering {' '.join(where)}… {done / max(total, 1):.0%} "
                               f"(escape stops)")

    def _scanned(self, gen: int, where: list[str], ids: array[int], rows: list[Row],
                 keep: int | None, message: str) -> None:
        if gen != self._filter_gen:
            return
        self._pending_where = None
        if keep is not None:  # the user may have moved on while the count ran
            keep = self.current_id() or keep
        self.window.adopt(where, ids, rows)
        # After a change the cursor stays on its record while it still matches; a new filter
        # starts at the top.
        index = self.window.index_of(keep) if keep is not None else None
        self._filter_shown(index or 0)
        if message:
            self.update_status(f"{message}; {len(ids):,} records")

    def _scan_failed(self, gen: int, where: list[str], exc: Exception) -> None:
        if gen == self._filter_gen:
            self._pending_where = None
            self.filter_failed(where, exc)

    def action_cancel_filter(self) -> None:
        if self.workers.cancel_group(self, "filter"):
            self._pending_where = None
            self._filter_gen += 1
            self.update_status("filter stopped; the list is as it was")

    def _filter_shown(self, index: int = 0) -> None:
        self.records.top = 0
        self.records.cursor = index
        self.records.refresh()
        self.show_current()
        self.update_status(f"{len(self.window):,} records")

    def action_filter(self) -> None:
        def done(text: str | None) -> None:
            if text is not None:
                self.apply_filter(text.split())

        self.app.push_screen(Ask("Filter (space separated; empty = all records)",
                                 " ".join(self.window.where), FILTER_HELP), done)

    def action_search(self) -> None:
        others = [w for w in self.window.where if not w.startswith("search")]

        def done(text: str | None) -> None:
            if text is None:
                return
            self.apply_filter(others + ([f"search~{text.strip()}"] if text.strip() else []))

        current = next((w[7:] for w in self.window.where if w.startswith("search~")), "")
        self.app.push_screen(Ask("Search the message text (all words must occur; word* = "
                                 "prefix; empty clears)", current), done)

    def action_cycle_status(self) -> None:
        others = [w for w in self.window.where if not w.startswith("status=")]
        now = next((w[7:] for w in self.window.where if w.startswith("status=")), None)
        order: list[str | None] = [None, *STATUSES]
        nxt = order[(order.index(now) + 1) % len(order)] if now in order else None
        self.apply_filter(others + ([f"status={nxt}"] if nxt else []))

    def action_refresh(self) -> None:
        self.after_bulk("refreshed")

    # -- other screens -----------------------------------------------------------------------

    def action_scroll_detail(self, direction: int) -> None:
        pane = self.detail
        pane.action_scroll_page(direction)

    def action_toggle_system(self) -> None:
        self.detail.toggle_system()

    def action_help(self) -> None:
        self.app.push_screen(Help(self.review.help_rows(), FILTER_HELP))

    def action_duplicates(self) -> None:
        from curator.tui.dupes import DuplicatesScreen

        self.app.push_screen(DuplicatesScreen(self.ws), lambda _r: self.after_bulk(""))

    def action_stats(self) -> None:
        from curator.tui.stats import StatsScreen

        self.app.push_screen(StatsScreen(self.ws.path, self.review.limit))

    def _job(self, title: str, fn: Any, done_title: str = "") -> None:
        def done(result: str | None) -> None:
            if result is not None:
                self.after_bulk(result.splitlines()[0] if result else "")
                self.app.push_screen(Result(done_title or f"{title}: done", result))

        self.app.push_screen(JobScreen(title, self.ws.path, fn), done)

    def action_dedup(self) -> None:
        self._job("Finding duplicates", dedup_job, "Dedup")

    def action_split(self) -> None:
        def confirmed(yes: bool | None) -> None:
            if yes:
                self._job("Splitting", split_job, "Split")

        self.app.push_screen(Confirm("Assign train / validation / holdout splits now "
                                     "(0.8 / 0.1 / 0.1, seed 0)?"), confirmed)

    def action_export(self) -> None:
        default = str(self.ws.path.with_name(self.ws.path.stem + "_export"))

        def done(text: str | None) -> None:
            if text:
                self._job("Exporting", export_job(Path(text).expanduser()))

        self.app.push_screen(Ask("Export every record not rejected (as curator export) to folder",
                                 default), done)


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
        self.preparer = Preparer(self.target, model=self.settings.model,
                                 max_tokens=self.settings.max_tokens)
        self.imports = list(imports)
        self.advance = advance
        self.version = 0
        self._checkpointing = False
        if keymap:
            self.set_keymap(keymap)

    @property
    def limit(self) -> int | None:
        return self.settings.limit

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

            def done(result: str | None) -> None:
                self.main.after_bulk(result or "import cancelled; run again to continue")

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

    def help_rows(self) -> list[tuple[str, str]]:
        from curator.tui.record_list import RecordList as _RL

        rows = []
        for b in [*MainScreen.BINDINGS, *_RL.BINDINGS]:
            assert isinstance(b, Binding)
            keys = " ".join(self.get_key_display(b.with_key(k.strip()))
                            for k in self._keymap.get(b.id or "", b.key).split(","))
            desc = b.description
            if b.id and b.id[6:].isdigit() and b.id.startswith("label_"):
                names = self.label_names()
                n = int(b.id[6:])
                desc = f"toggle label {names[n - 1]}" if n <= len(names) else "(no label yet)"
            rows.append((keys, f"{desc}  [{b.id}]"))
        return rows


def binding_ids() -> list[str]:
    from curator.tui.record_list import RecordList as _RL

    return [b.id for b in [*MainScreen.BINDINGS, *_RL.BINDINGS]
            if isinstance(b, Binding) and b.id]
