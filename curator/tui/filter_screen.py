"""The main screen's filters: applying one, and a filter no index answers (`text~`) counted
by `_scan` in a thread worker, which posts FilterProgress, FilterPartial (the first matches,
shown while the count goes on), FilterDone or FilterFailed (curator.tui.messages). MainScreen
(curator.tui.main_screen) is this screen with the decisions, the detail pane and the keys.
"""

from __future__ import annotations

import time
from array import array

from textual import work
from textual.screen import Screen
from textual.worker import get_current_worker

from curator.tui.actions import FILTER_FAILURES, filter_failure
from curator.tui.jobs import JobReport, JobScreen, index_job
from curator.tui.messages import FilterDone, FilterFailed, FilterPartial, FilterProgress
from curator.tui.record_list import RecordList
from curator.tui.text import literal
from curator.tui.window import RecordWindow, Row, Snapshot, scan, slow_filter
from curator.workspace import Workspace, compile_filters, uses_search


class FilterScreen(Screen[None]):
    """The record list's filter state; `update_status` and `show_current` are MainScreen's."""

    def __init__(self, ws: Workspace) -> None:
        super().__init__()
        self.ws = ws
        self.window = RecordWindow(ws)
        self.message = ""
        #: counts filters applied; a background filter's result is used only if still current
        self._filter_gen = 0
        self._filter_last = 0.0
        #: a filter whose count is still running in a worker (the one asked for last)
        self._pending_where: list[str] | None = None
        #: the scan (its gen) whose first matches the list shows while it counts on, and the
        #: list (with cursor and top) it replaced, put back if that scan is stopped
        self._partial_gen = 0
        self._before: tuple[Snapshot, int, int] | None = None

    def update_status(self, message: str | None = None) -> None:
        raise NotImplementedError

    def show_current(self) -> None:
        raise NotImplementedError

    @property
    def records(self) -> RecordList:
        return self.query_one("#records", RecordList)

    def current_id(self) -> int | None:
        row = self.records.current
        return row.summary.id if row is not None else None

    def fail(self, exc: Exception) -> None:
        self.update_status(f"error: {exc}")
        self.app.notify(literal(str(exc)), severity="error", markup=False)

    def apply_filter(self, where: list[str]) -> None:
        if uses_search(where) and self.ws.search_index_pending():
            pending = self.ws.search_index_pending()

            def built(result: JobReport | None) -> None:
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
        if self._pending_where is not None:  # a new filter replaces a running one, and the
            self._put_back(self._filter_gen)  # first matches it showed go with it
        self._filter_gen += 1
        self.workers.cancel_group(self, "filter")
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
        self.fail(Exception(filter_failure(where, exc)))

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
            self.post_message(FilterProgress(gen, where, done, total))

        def partial(ids: array[int], rows: list[Row] | None) -> None:
            self.post_message(FilterPartial(gen, where, ids, rows))

        try:
            with Workspace.open(self.ws.path) as ws:
                result = scan(ws, where, progress, cancelled, partial)
        except Exception as exc:  # shown to the user; the list stays as it was
            self.post_message(FilterFailed(gen, where, exc))
            return
        if result is not None and not cancelled():
            self.post_message(FilterDone(gen, where, *result, keep, message))

    def _showing_partial(self) -> bool:
        """The list shows the first matches of the scan still counting (not all of them)."""
        return self._partial_gen == self._filter_gen and self._pending_where is not None

    def on_filter_progress(self, event: FilterProgress) -> None:
        now = time.monotonic()
        if event.gen == self._filter_gen and (now - self._filter_last > 0.1
                                              or event.done >= event.total):
            self._filter_last = now
            verb = "counting" if self._showing_partial() else "filtering"
            self.update_status(f"{verb} {' '.join(event.where)}… "
                               f"{event.done / max(event.total, 1):.0%} (escape stops)")

    def on_filter_partial(self, event: FilterPartial) -> None:
        """The first matches of the scan asked for last: shown while it counts the rest (the
        same list, in the same order, as far as it goes). A scan that recounts the filter the
        list already shows (after a change) shows nothing until it is done."""
        if event.gen != self._filter_gen or self._pending_where is None:
            return
        if self._partial_gen == event.gen:
            held = self.window.ids
            if held is not None and event.ids[:len(held)] == held:  # the same first matches
                self.window.grow(event.ids)
            self.records.refresh()
            self.update_status()
            return
        if event.rows is None or self.window.where == event.where:
            return
        self._before = (self.window.snapshot(), self.records.cursor, self.records.top)
        self._partial_gen = event.gen
        self.window.adopt(event.where, event.ids, event.rows)
        self.records.top = 0
        self.records.cursor = 0
        self.records.refresh()
        self.show_current()
        if self.message.startswith("filtering"):  # the progress so far, said as what it is now
            self.update_status("counting" + self.message[len("filtering"):])

    def on_filter_done(self, event: FilterDone) -> None:
        if event.gen != self._filter_gen:
            return
        where, ids, rows, keep, message = (event.where, event.ids, event.rows, event.keep,
                                           event.message)
        self._pending_where = None
        if self._partial_gen == event.gen:
            # The list showed the first matches: the full list starts with them, so the cursor
            # and the rows on screen stay where they are; only the count grows.
            self._before = None
            cursor, top, rid = self.records.cursor, self.records.top, self.current_id()
            self.window.adopt(where, ids, rows)
            index = self.window.index_of(rid) if rid is not None else None
            self.records.top = top
            self.records.cursor = index if index is not None else min(cursor, max(0, len(ids) - 1))
            self.records.refresh()
            self.show_current()
            self.update_status(f"{message}; {len(ids):,} records" if message
                               else f"{len(ids):,} records")
            return
        if keep is not None:  # the user may have moved on while the count ran
            keep = self.current_id() or keep
        self.window.adopt(where, ids, rows)
        # After a change the cursor stays on its record while it still matches; a new filter
        # starts at the top.
        index = self.window.index_of(keep) if keep is not None else None
        self._filter_shown(index or 0)
        if message:
            self.update_status(f"{message}; {len(ids):,} records")

    def on_filter_failed(self, event: FilterFailed) -> None:
        if event.gen == self._filter_gen:
            self._put_back(event.gen)
            self._pending_where = None
            self.filter_failed(event.where, event.error)

    def _put_back(self, gen: int) -> None:
        """The list as it was before scan `gen` showed its first matches (if it did)."""
        if self._partial_gen == gen and self._before is not None:
            state, cursor, top = self._before
            self.window.restore(state)
            self.records.top = top
            self.records.cursor = min(cursor, max(0, len(self.window) - 1))
            self.records.refresh()
            self.show_current()
        self._before = None

    def action_cancel_filter(self) -> None:
        if self.workers.cancel_group(self, "filter"):
            self._put_back(self._filter_gen)
            self._pending_where = None
            self._filter_gen += 1
            self.update_status("filter stopped; the list is as it was")

    def _filter_shown(self, index: int = 0) -> None:
        self.records.top = 0
        self.records.cursor = index
        self.records.refresh()
        self.show_current()
        self.update_status(f"{len(self.window):,} records")

