"""The review app's main screen: the record list over the whole workspace, the selected record
in full, a status line. Every key that changes data calls the workspace first (one committed,
journaled transaction) and only then redraws, so what the screen shows as done is on disk.

Long work runs in thread workers that talk back with messages (curator.tui.messages): a filter
no index answers is counted by `_scan`, which posts FilterProgress, FilterPartial (the first
matches, shown while the count goes on), FilterDone or FilterFailed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal
from textual.widgets import Footer

from curator.tui.actions import (
    DEFAULT_REASON,
    BulkAction,
    bulk_job,
    default_reason,
    label_set,
    next_status_view,
    term_value,
    without,
)
from curator.tui.bindings import MAIN_BINDINGS
from curator.tui.detail import DetailPane
from curator.tui.edit import EditScreen
from curator.tui.filter_screen import FilterScreen
from curator.tui.jobs import JobReport, JobScreen, Progress
from curator.tui.modals import Ask, BulkChoice, Confirm, Help
from curator.tui.record_list import RecordList
from curator.tui.status_line import StatusLine
from curator.tui.text import literal
from curator.tui.window import slow_filter
from curator.workspace import (
    FILTER_HELP,
    EditRefused,
    JournalEntry,
    RecordDetail,
    Workspace,
    WorkspaceError,
)

if TYPE_CHECKING:
    from curator.tui.app import ReviewApp


class MainScreen(FilterScreen):
    """The record list, the selected record in full, the status line and the footer."""

    BINDINGS: ClassVar[list[BindingType]] = MAIN_BINDINGS

    def __init__(self, ws: Workspace) -> None:
        super().__init__(ws)
        #: marked records; kept in the workspace (saved at each key, not journaled)
        self.marks: set[int] = ws.marks()

    @property
    def review(self) -> ReviewApp:
        from curator.tui.app import ReviewApp

        app = self.app
        assert isinstance(app, ReviewApp)
        return app

    def compose(self) -> ComposeResult:
        with Horizontal(id="panes"):
            yield RecordList(self.window, self.marks, on_move=self.moved, id="records")
            yield DetailPane(self.ws.get, id="detail", score=DetailPane.score_reader(self.ws))
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
    def detail(self) -> DetailPane:
        return self.query_one("#detail", DetailPane)

    def show_current(self) -> None:
        rid = self.current_id()
        self.detail.show_id(rid, self.review.limit, rid in self.marks)
        self.update_status()

    def update_status(self, message: str | None = None) -> None:
        if message is not None:
            self.message = message
        where = " ".join(self.window.where) or "all records"
        total = len(self.window)
        more = "+" if self._showing_partial() else ""  # counted so far
        pos = f"{self.records.cursor + 1:,}/{total:,}{more}" if total else "0/0"
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
        carried = self._showing_partial()  # the list shows that count's first matches
        self._filter_gen += 1
        if carried:
            self._partial_gen = self._filter_gen
        self.workers.cancel_group(self, "filter")
        if pending is not None:
            # keep the cursor's record when the list already shows that filter's first matches
            self._scan(pending, self._filter_gen, keep if self.window.where == pending else None,
                       message)
        else:
            self._pending_where = list(self.window.where)
            self._scan(list(self.window.where), self._filter_gen, keep, message)

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
        return default_reason(self.ws.get(rid).issues if rid is not None else [])

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
            wanted = label_set(text)
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

        def chosen(action: BulkAction | None) -> None:
            if action is None:
                return

            def confirmed(yes: bool | None) -> None:
                if yes:
                    self._bulk(action, ids, where)

            self.app.push_screen(Confirm(f"{action.verb} {count:,} {what}?"), confirmed)

        self.app.push_screen(BulkChoice(what, count, self.review.label_names()), chosen)

    def _bulk(self, action: BulkAction, ids: list[int] | None, where: list[str]) -> None:
        # In a worker (actions.bulk_job): one transaction, one undo; escape rolls it all back.
        def done(result: JobReport | None) -> None:
            if result is None:
                self.update_status("bulk change not applied (cancelled or failed): nothing changed")
                return
            if ids is not None:  # applied: the marks have done their work
                try:
                    self.ws.clear_marks()
                    self.marks.clear()
                except WorkspaceError as exc:  # the change itself is committed and shown
                    self.fail(exc)
            self.after_bulk(result.summary)

        self.app.push_screen(JobScreen("Applying…", self.ws.path, bulk_job(action, ids, where),
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

        def run(ws: Workspace, progress: Progress, cancelled: Callable[[], bool]
                ) -> list[JournalEntry]:
            return ws.undo() if verb == "undo" else ws.redo()

        def done(entries: list[JournalEntry] | None) -> None:
            if entries is None:
                self.update_status(f"{verb} failed; nothing changed")
                return
            self._walked(entries, verb)

        self.app.push_screen(JobScreen(f"{verb.capitalize()}: {literal(nxt.summary)}",
                                       self.ws.path, run,
                                       hint="one transaction: it runs to the end",
                                       cancellable=False), done)

    def action_undo(self) -> None:
        self._walk("undo")

    def action_redo(self) -> None:
        self._walk("redo")

    # -- preference pairs --------------------------------------------------------------------

    def action_swap(self) -> None:
        """Exchange the chosen and rejected answers of the pair shown (checked again; one
        journal entry, so `u` takes it back); any other record is left as it is."""
        rid = self.current_id()
        if rid is None:
            return
        from curator.workspace.pair_edit import NotAPair

        try:
            change = self.ws.swap_sides(rid, self.review.preparer)
        except NotAPair as exc:
            self.update_status(f"swap applies only to preference pairs: record {rid} is a "
                               f"{exc.kind} record; nothing changed")
            return
        except WorkspaceError as exc:
            self.fail(exc)
            return
        self.after_change(rid, change.summary)

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
        if record.kind == "preference":
            # checked again as an import checks a pair; its per-side token counts are stored too
            from curator.workspace.pair_edit import edit_pair

            try:
                change = edit_pair(self.ws, record.id, example, self.review.preparer)
            except WorkspaceError as exc:
                self.fail(exc)
                return
            self.after_change(record.id, change.summary if change.entry_id else "no change")
            return
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

    # -- filters and search (applying one, the scan of text~: FilterScreen) -------------------

    def action_filter(self) -> None:
        def done(text: str | None) -> None:
            if text is not None:
                self.apply_filter(text.split())

        self.app.push_screen(Ask("Filter (space separated; empty = all records)",
                                 " ".join(self.window.where), FILTER_HELP), done)

    def action_search(self) -> None:
        others = without(self.window.where, "search")

        def done(text: str | None) -> None:
            if text is None:
                return
            self.apply_filter(others + ([f"search~{text.strip()}"] if text.strip() else []))

        current = term_value(self.window.where, "search", "~") or ""
        self.app.push_screen(Ask("Search the message text (all words must occur; word* = "
                                 "prefix; empty clears)", current), done)

    def action_cycle_status(self) -> None:
        self.apply_filter(next_status_view(self.window.where))

    def action_refresh(self) -> None:
        self.after_bulk("refreshed")

    # -- the detail pane and help (other screens and the workspace jobs: ReviewApp) ----------

    def action_scroll_detail(self, direction: int) -> None:
        pane = self.detail
        pane.action_scroll_page(direction)

    def action_toggle_system(self) -> None:
        self.detail.toggle_system()

    def action_conflicts(self) -> None:
        from curator.tui.conflict_screen import ConflictScreen

        review = self.review
        self.app.push_screen(ConflictScreen(self.ws, lambda: review.preparer),
                             lambda _r: self.after_bulk(""))

    def action_help(self) -> None:
        self.app.push_screen(Help(self.review.help_rows(), FILTER_HELP))
