"""The record list's model: a window of rows around the cursor, read from SQLite in pages.

Nothing here holds the whole list's rows. Pages are read by keyset (`after`), forward or
backward, so moving at row 900,000 costs what it costs at row 0; the cache keeps a few pages
around the cursor and drops the rest. The one exception is a filter no index answers
(`text~`): its scan keeps the matching ids (8 bytes each, 8 MB at a million) and pages are
read by slices of them. Rows stay in the list after an action changes them ("sticky") until
the filter is applied again, so the cursor never jumps away from what was just decided.
"""

from __future__ import annotations

import bisect
import threading
import time
from array import array
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from curator.workspace import RecordSummary, Workspace
from curator.workspace.views.review import id_range, turn_counts

PAGE = 100
KEEP = 4 * PAGE
#: record ids per step of a filter scanned in the background (`scan`)
SCAN_CHUNK = 20_000
SCAN_THREADS = 2


@dataclass(frozen=True, slots=True)
class Row:
    summary: RecordSummary
    turns: int | None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A window's list as it was (RecordWindow.snapshot / restore)."""

    where: list[str]
    rows: list[Row]
    start: int
    total: int
    at_end: bool
    ids: array[int] | None


class RecordWindow:
    def __init__(self, ws: Workspace, where: Sequence[str] = ()) -> None:
        self.ws = ws
        self.where: list[str] = list(where)
        self.rows: list[Row] = []
        self.start = 0  # index of rows[0] in the whole filtered list
        self.total = 0
        self.at_end = False
        #: the matching ids, when a scan found them (a filter no index answers): pages are
        #: then read by id, never by the filter again
        self.ids: array[int] | None = None
        #: "id", or "suspicious": highest IFD of `curator score` first, unscored last (the
        #: matching ids are then read in that order, once, and pages by slices of them)
        self.order = "id"

    # -- loading -----------------------------------------------------------------------------

    def _fetch(self, after: int | None, backward: bool = False, limit: int = PAGE) -> list[Row]:
        page = self.ws.page(self.where, order="-id" if backward else "id",
                            after=None if after is None else (after, after), limit=limit)
        rows = page.rows[::-1] if backward else page.rows
        return self._with_turns(rows)

    def _with_turns(self, rows: Sequence[RecordSummary]) -> list[Row]:
        if not rows:
            return []
        turns = turn_counts(self.ws, [r.id for r in rows])
        return [Row(r, turns.get(r.id)) for r in rows]

    def reset(self, where: Sequence[str] | None = None) -> None:
        """Apply a filter (or the current one again) and go to the top. When the filter
        fails (an error from the workspace or SQLite), the window stays as it was."""
        before = self.where
        if where is not None:
            self.where = list(where)
        try:
            if self.order == "suspicious":
                from curator.workspace.scores import suspicious_ids

                self.ids = array("q", suspicious_ids(self.ws, self.where))
                self.total, self.rows, self.start = len(self.ids), self._by_ids(0, PAGE), 0
                return
            total = self.ws.count(self.where)
            rows = self._fetch(None)
        except BaseException:
            self.where = before
            raise
        self.ids = None
        self.total, self.rows, self.start = total, rows, 0

    def adopt(self, where: Sequence[str], ids: array[int], rows: list[Row]) -> None:
        """Take a filter's matches and first page found elsewhere (`scan`, in a worker)."""
        self.where = list(where)
        if self.order == "suspicious":
            from curator.workspace.scores import most_suspicious_first

            ids = array("q", most_suspicious_first(self.ws, ids))
            self.ids = ids
            rows = self._by_ids(0, PAGE)
        self.ids = ids
        self.total = len(ids)
        self.rows = rows
        self.start = 0

    def grow(self, ids: array[int]) -> None:
        """More of a running scan's matches (`ids` starts with the ones held): the rows held
        and every index stay as they are."""
        if self.ids is not None and len(ids) > len(self.ids):
            self.ids = ids
            self.total = len(ids)

    def snapshot(self) -> Snapshot:
        """What `restore` puts back (the list shown before a scan's first page replaced it)."""
        return Snapshot(list(self.where), self.rows, self.start, self.total, self.at_end,
                        self.ids)

    def restore(self, state: Snapshot) -> None:
        self.where, self.rows, self.start = list(state.where), state.rows, state.start
        self.total, self.at_end, self.ids = state.total, state.at_end, state.ids

    def _by_ids(self, first: int, count: int) -> list[Row]:
        assert self.ids is not None
        return self._with_turns(self.ws.summaries(self.ids[first:first + count]))

    def __len__(self) -> int:
        return self.total

    # -- access ------------------------------------------------------------------------------

    def get(self, index: int) -> Row | None:
        """The row at `index`, reading pages as needed; None past either end."""
        if index < 0 or index >= self.total:
            return None
        if self.ids is not None:
            if not self.start <= index < self.start + len(self.rows):
                self.start = max(0, index - PAGE)
                self.rows = self._by_ids(self.start, 2 * PAGE)
            i = index - self.start
            return self.rows[i] if 0 <= i < len(self.rows) else None
        end = self.start + len(self.rows)
        if not self.rows or index < self.start - PAGE or index >= end + PAGE:
            self._jump(index)
        while index >= self.start + len(self.rows):
            more = self._fetch(self.rows[-1].summary.id) if self.rows else []
            if not more:
                self.total = self.start + len(self.rows)
                return None
            self.rows.extend(more)
            if len(self.rows) > KEEP:
                drop = len(self.rows) - KEEP
                self.rows = self.rows[drop:]
                self.start += drop
        while index < self.start:
            more = self._fetch(self.rows[0].summary.id, backward=True)
            if not more:
                self.start = 0
                break
            self.rows[:0] = more
            self.start -= len(more)
            if len(self.rows) > KEEP:
                self.rows = self.rows[:KEEP]
        i = index - self.start
        return self.rows[i] if 0 <= i < len(self.rows) else None

    def _jump(self, index: int) -> None:
        """Far jumps: the end is read backward from the last row; elsewhere, by offset."""
        if index >= self.total - PAGE:
            rows = self._fetch(None, backward=True, limit=min(self.total, 2 * PAGE))
            self.rows = rows
            self.start = self.total - len(rows)
        else:
            page = self.ws.page(self.where, offset=max(0, index - PAGE // 2), limit=2 * PAGE)
            self.rows = self._with_turns(page.rows)
            self.start = max(0, index - PAGE // 2)

    def index_of(self, record_id: int) -> int | None:
        """Where a record sits in the filtered list (None: not in it)."""
        if self.ids is not None and self.order != "id":
            try:
                return self.ids.index(record_id)
            except ValueError:
                return None
        if self.ids is not None:
            at = bisect.bisect_left(self.ids, record_id)
            return at if at < len(self.ids) and self.ids[at] == record_id else None
        for i, r in enumerate(self.rows):
            if r.summary.id == record_id:
                return self.start + i
        if not self.ws.count([*self.where, f"id={record_id}"]):
            return None
        before = self.ws.count([*self.where, f"id<{record_id}"])
        self.rows = self._fetch(record_id - 1, limit=PAGE)
        self.start = before
        return before

    def next_matching(self, after_id: int, extra: Sequence[str]) -> int | None:
        """The id of the next record after `after_id` that also matches `extra` filters."""
        if self.ids is not None:
            # Among the scanned matches, in steps: `extra` (status, issue) has an index.
            if self.order != "id":
                at = (self.index_of(after_id) or 0) + 1 if after_id in self.ids else 0
            else:
                at = bisect.bisect_right(self.ids, after_id)
            while at < len(self.ids):
                step = self.ids[at:at + 1000]
                hits = set(self.ws.select_ids([*extra, f"id>={min(step)}", f"id<={max(step)}"]))
                for rid in step:
                    if rid in hits:
                        return rid
                at += len(step)
            return None
        page = self.ws.page([*self.where, *extra], after=(after_id, after_id), limit=1)
        return page.rows[0].id if page.rows else None

    # -- keeping cached rows current after a change ------------------------------------------

    def refresh_ids(self, ids: Sequence[int]) -> None:
        """Re-read the cached rows of these records (after a one-record action)."""
        cached = {r.summary.id for r in self.rows}
        fresh: dict[int, RecordSummary] = {}
        for rid in set(ids) & cached:
            rows = self.ws.page([f"id={rid}"], limit=1).rows
            if rows:
                fresh[rid] = rows[0]
        self.rows = [replace(r, summary=fresh.get(r.summary.id, r.summary)) for r in self.rows]

    def refresh_all(self) -> None:
        """Apply the filter again from the first cached row on (after undo, redo, a bulk
        change): rows that no longer match leave the list, the rest keep their order."""
        if self.order != "id":  # the order is read again (a decision can change a score's rank)
            self.reset()
            return
        first = self.rows[0].summary.id if self.rows else None
        self.total = self.ws.count(self.where)
        if first is None:
            self.rows, self.start = self._fetch(None), 0
            return
        self.start = self.ws.count([*self.where, f"id<{first}"])
        self.rows = self._fetch(first - 1)
        if self.start and not self.rows:
            self.reset()


def slow_filter(where: Sequence[str]) -> bool:
    """Filters no index answers (`text~`: a substring of every record's text), which the
    app runs in a worker with `scan`."""
    return any(w.strip().startswith("text") and "~" in w for w in where)


#: seconds between two partial results of a scan (`scan`'s `partial`)
PARTIAL_EVERY = 0.2


def scan(ws: Workspace, where: Sequence[str], progress: Callable[[int, int], None],
         cancelled: Callable[[], bool],
         partial: Callable[[array[int], list[Row] | None], None] | None = None,
         ) -> tuple[array[int], list[Row]] | None:
    """A filter's matching ids and its first page, found SCAN_CHUNK ids at a time (progress
    after each, by ids scanned); None when `cancelled()` turned true on the way.

    SCAN_THREADS threads scan alternate chunks, each through its own connection: SQLite runs
    a statement without holding the GIL, so two cores scan at once (1M records, `text~`:
    1.5 s on one thread, 0.6 s on two).

    `partial(ids, rows)`, when given, is called while the scan goes on with the matches found
    so far among the lowest ids (every chunk up to there is done, so these are the first
    matches of the final list, in its order): first once they fill a page, with that page's
    rows, then at most every PARTIAL_EVERY seconds with more ids and rows None. A list can
    show its first page long before the whole workspace is read."""
    span = id_range(ws)
    if span is None:
        return array("q"), []
    low, high = span
    chunks = [(after, min(high, after + SCAN_CHUNK))
              for after in range(low - 1, high, SCAN_CHUNK)]
    found: dict[int, list[int]] = {}
    lock = threading.Lock()
    scanned = [0]
    #: the matches of chunks 0..done_upto-1, all done: the final list's first ids
    prefix: array[int] = array("q")
    done_upto = [0]
    posted = [0.0, 0.0, 0]  # (first page posted, when the last partial went, its length)

    def part(first: int) -> None:
        with Workspace.open(ws.path) as own:
            for k in range(first, len(chunks), SCAN_THREADS):
                if cancelled():
                    return
                after, upto = chunks[k]
                got = list(own.select_ids([*where, f"id>{after}", f"id<={upto}"]))
                with lock:  # partial is called under the lock too: in order, never overtaken
                    found[k] = got
                    scanned[0] += upto - after
                    done = scanned[0]
                    while done_upto[0] in found:
                        prefix.extend(found[done_upto[0]])
                        done_upto[0] += 1
                    now = time.monotonic()
                    if (partial is not None and done_upto[0] < len(chunks)
                            and len(prefix) >= max(PAGE, int(posted[2]) + 1)
                            and not cancelled()
                            and (not posted[0] or now - posted[1] >= PARTIAL_EVERY)):
                        rows = None
                        if not posted[0]:  # the first page's rows, read once
                            window = RecordWindow(own, where)
                            window.ids = prefix
                            rows = window._by_ids(0, PAGE)
                        posted[0], posted[1], posted[2] = 1.0, now, len(prefix)
                        partial(array("q", prefix), rows)
                progress(done, high - low + 1)

    with ThreadPoolExecutor(SCAN_THREADS) as pool:
        for future in [pool.submit(part, first) for first in range(SCAN_THREADS)]:
            future.result()
    if cancelled():
        return None
    ids: array[int] = array("q")
    for k in range(len(chunks)):
        ids.extend(found[k])
    window = RecordWindow(ws, where)
    window.ids = ids
    return ids, window._by_ids(0, PAGE)
