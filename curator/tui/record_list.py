"""The record list: draws only the visible rows of a `RecordWindow` (Line API, no child widgets)."""

from __future__ import annotations

from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

from curator.tui.text import literal
from curator.tui.window import RecordWindow, Row

_STATUS = {"pending": "pend", "accepted": "acc ", "rejected": "rej "}
_SPLIT = {"train": "train", "validation": "valid", "holdout": "hold "}


class RecordList(Widget, can_focus=True):
    """A cursor over the filtered records; pages come from SQLite as the cursor moves."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "record-list--header", "record-list--cursor", "record-list--accepted",
        "record-list--rejected", "record-list--pending", "record-list--marked",
        "record-list--meta", "record-list--issue",
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down,j", "move(1)", "down", show=False, id="down"),
        Binding("up,k", "move(-1)", "up", show=False, id="up"),
        Binding("pagedown,ctrl+f", "page(1)", "page down", show=False, id="page_down"),
        Binding("pageup,ctrl+b", "page(-1)", "page up", show=False, id="page_up"),
        Binding("home,g", "jump(0)", "first", show=False, id="first"),
        Binding("end,G", "jump(-1)", "last", show=False, id="last"),
    ]

    cursor: reactive[int] = reactive(0, always_update=True, layout=False)

    class Moved(Message):
        def __init__(self, row: Row | None) -> None:
            self.row = row
            super().__init__()

    def __init__(self, window: RecordWindow, marks: set[int], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.window = window
        self.marks = marks
        self.top = 0

    # -- geometry ----------------------------------------------------------------------------

    @property
    def rows_visible(self) -> int:
        return max(1, self.size.height - 1)  # one line for the header

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return container.height

    def _scroll_to_cursor(self) -> None:
        if self.cursor < self.top:
            self.top = self.cursor
        elif self.cursor >= self.top + self.rows_visible:
            self.top = self.cursor - self.rows_visible + 1

    # -- actions -----------------------------------------------------------------------------

    def watch_cursor(self, old: int, new: int) -> None:
        self._scroll_to_cursor()
        self.refresh()
        self.post_message(self.Moved(self.current))

    @property
    def current(self) -> Row | None:
        return self.window.get(self.cursor)

    def go(self, index: int) -> None:
        total = len(self.window)
        self.cursor = max(0, min(index, total - 1)) if total else 0

    def action_move(self, delta: int) -> None:
        self.go(self.cursor + delta)

    def action_page(self, delta: int) -> None:
        self.top = max(0, self.top + delta * self.rows_visible)
        self.go(self.cursor + delta * self.rows_visible)

    def action_jump(self, where: int) -> None:
        self.go(len(self.window) - 1 if where < 0 else where)

    def reload(self) -> None:
        """The window changed under us (new filter, refresh): clamp and redraw."""
        self.go(min(self.cursor, max(0, len(self.window) - 1)))

    # -- drawing -----------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y == 0:
            style = self.get_component_rich_style("record-list--header")
            head = f"  {'id':>7} {'stat':4} {'labels':<12} {'tn':>2} {'tok':>5} {'!':>2} d {'split':5} text"
            return Strip([Segment(head[:width].ljust(width), style)])
        index = self.top + y - 1
        row = self.window.get(index)
        base = self.rich_style
        if row is None:
            return Strip.blank(width, base)
        text = self._row_text(row)
        if index == self.cursor:
            text.stylize(self.get_component_rich_style("record-list--cursor"))
        segments = list(text.render(self.app.console))
        return Strip(segments).crop_extend(0, width, base)

    def _row_text(self, row: Row) -> Text:
        s = row.summary
        cls = self.get_component_rich_style
        mark = "●" if s.id in self.marks else " "
        labels = ",".join(s.labels)
        if len(labels) > 12:
            labels = labels[:11] + "…"
        dup = "≈" if s.dup_of is not None else ("◆" if s.cluster_id is not None else " ")
        tokens = "" if s.tokens_total is None else _short(s.tokens_total)
        issues = str(len(s.issue_codes)) if s.issue_codes else ""
        turns = "" if row.turns is None else str(row.turns)
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f"{mark} ", cls("record-list--marked"))
        text.append(f"{s.id:>7} ")
        text.append(_STATUS.get(s.status, s.status[:4]), cls(f"record-list--{s.status}"))
        text.append(f" {literal(labels, one_line=True):<12} {turns:>2} {tokens:>5} ",
                    Style())
        text.append(f"{issues:>2}", cls("record-list--issue"))
        text.append(f" {dup} {_SPLIT.get(s.split or '', (s.split or '-')[:5]):5} ",
                    cls("record-list--meta"))
        text.append(literal(s.preview, one_line=True))
        return text


def _short(n: int) -> str:
    return str(n) if n < 100_000 else f"{n // 1000}k"
