"""The record list: draws only the visible rows of a `RecordWindow` (Line API, no child widgets)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
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

    def __init__(self, window: RecordWindow, marks: set[int], *,
                 on_move: Callable[[], None] | None = None, id: str | None = None) -> None:
        super().__init__(id=id)
        self.window = window
        self.marks = marks
        #: called as soon as the cursor moved (not by message: what it redraws then lands in
        #: the same frame as the cursor)
        self.on_move = on_move
        self.top = 0
        self._styles: dict[str, Style] = {}
        # Drawn rows, keyed by everything that changes how a row looks: moving the cursor
        # redraws two rows from here instead of formatting the whole page again.
        self._strips: OrderedDict[tuple[object, ...], Strip] = OrderedDict()

    def notify_style_update(self) -> None:
        self._styles.clear()
        self._strips.clear()
        super().notify_style_update()

    def _style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            style = self._styles[name] = self.get_component_rich_style(name)
        return style

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
        top = self.top
        self._scroll_to_cursor()
        if top == self.top and old != new:
            width = self.size.width
            for index in (old, new):
                self.refresh(Region(0, index - self.top + 1, width, 1))
        else:
            self.refresh()
        if self.on_move is not None:
            self.on_move()

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

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is not None and offset.y >= 1:
            self.go(self.top + offset.y - 1)

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        self.action_move(3)

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self.action_move(-3)

    def reload(self) -> None:
        """The window changed under us (new filter, refresh): clamp and redraw."""
        self.go(min(self.cursor, max(0, len(self.window) - 1)))

    # -- drawing -----------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y == 0:
            style = self._style("record-list--header")
            head = f"  {'id':>7} {'stat':4} {'labels':<12} {'tn':>2} {'tok':>5} {'!':>2} d {'split':5} text"
            return Strip([Segment(head[:width].ljust(width), style)])
        index = self.top + y - 1
        row = self.window.get(index)
        base = self._styles.get("")
        if base is None:
            base = self._styles[""] = self.rich_style  # costs a walk up the DOM; once
        if row is None:
            return Strip.blank(width, base)
        key = (row, index == self.cursor, row.summary.id in self.marks, width, base)
        strip = self._strips.get(key)
        if strip is None:
            text = self._row_text(row)
            if index == self.cursor:
                text.stylize(self._style("record-list--cursor"))
            segments = list(text.render(self.app.console))
            strip = Strip(segments).crop_extend(0, width, base)
            self._strips[key] = strip
            if len(self._strips) > 2000:
                self._strips.popitem(last=False)
        return strip

    def _row_text(self, row: Row) -> Text:
        s = row.summary
        cls = self._style
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
        split = _SPLIT.get(s.split or "", literal(s.split or "-", one_line=True)[:5])
        text.append(f" {dup} {split:5} ",
                    cls("record-list--meta"))
        text.append(literal(s.preview, one_line=True))
        return text


def _short(n: int) -> str:
    return str(n) if n < 100_000 else f"{n // 1000}k"
