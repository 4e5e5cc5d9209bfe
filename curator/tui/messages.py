"""What the app's thread workers tell their screens. A worker posts one of these to its own
screen (`self.post_message(...)`) instead of calling into widgets from its thread: Textual's
`post_message` is thread-safe (from another thread it queues through the event loop's
`call_soon_threadsafe`, textual/message_pump.py, Textual 8.2), and the messages of one thread
arrive in the order they were posted. The screen's `on_<name>` handler runs on the UI thread.

Progress messages `can_replace` each other: when the UI falls behind, only the latest is drawn.
"""

from __future__ import annotations

from array import array
from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from curator.tui.window import Row
    from curator.workspace.views.review import Stats


class FilterProgress(Message, bubble=False):
    """A filter scan (MainScreen._scan) went `done` of `total` record ids."""

    def __init__(self, gen: int, where: list[str], done: int, total: int) -> None:
        super().__init__()
        self.gen, self.where, self.done, self.total = gen, where, done, total

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, FilterProgress) and message.gen == self.gen


class FilterPartial(Message, bubble=False):
    """A filter scan's first matches so far (`ids`, a prefix of the final list, in its order):
    the first time with the first page's `rows`, later with more ids and `rows` None."""

    def __init__(self, gen: int, where: list[str], ids: array[int], rows: list[Row] | None,
                 ) -> None:
        super().__init__()
        self.gen, self.where, self.ids, self.rows = gen, where, ids, rows


class FilterDone(Message, bubble=False):
    """A filter scan found its matches (`ids`) and the first page (`rows`). `keep`: the record
    the cursor should stay on; `message`: what to say with the count (after a bulk change)."""

    def __init__(self, gen: int, where: list[str], ids: array[int], rows: list[Row],
                 keep: int | None, message: str) -> None:
        super().__init__()
        self.gen, self.where, self.ids, self.rows = gen, where, ids, rows
        self.keep, self.message = keep, message


class FilterFailed(Message, bubble=False):
    """A filter scan raised `error`; the list stays as it was."""

    def __init__(self, gen: int, where: list[str], error: Exception) -> None:
        super().__init__()
        self.gen, self.where, self.error = gen, where, error


class JobProgress(Message, bubble=False):
    """A job (JobScreen) went `done` of `total` steps."""

    def __init__(self, done: int, total: int) -> None:
        super().__init__()
        self.done, self.total = done, total

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, JobProgress)


class StatsReady(Message, bubble=False):
    """The stats screen's counts, as of workspace `version` (views.review.data_version)."""

    def __init__(self, stats: Stats, version: tuple[int, int, int]) -> None:
        super().__init__()
        self.stats, self.version = stats, version


__all__ = ["FilterDone", "FilterFailed", "FilterPartial", "FilterProgress", "JobProgress", "StatsReady"]
