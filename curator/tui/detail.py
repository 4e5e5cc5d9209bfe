"""The detail pane: the selected record as a conversation, with its decision, tokens, issues.

A record longer than the pane shows its last assistant turn (the answer being judged) before
the conversation, so the answer is on screen without scrolling even at 80x24; a turn with
`weight: 0` is marked as not trained.

Drawn with the Line API and scrolled by the pane itself, so that showing another record is a
repaint of this pane only: no widget is mounted or measured and the screen is not laid out
again (a `Static` inside a scroll container cost a layout pass of the whole screen, and two more
frames, for every record shown). `show` only notes what to draw; the record is read and turned
into lines when the pane is next painted, so a burst of key repeats within one frame reads and
draws only the record the burst stopped on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.console import RenderableType
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget

from curator.quality.score_signals import IFD_OFF_PROMPT
from curator.tui.pair import PAIR_STYLE_NAMES, feedback_view, is_feedback, is_pair, pair_view
from curator.tui.text import STYLE_NAMES, conversation, group, literal
from curator.workspace import RecordDetail, Workspace, WorkspaceError
from curator.workspace.scores import ScoreRow

#: reads one record (the app passes `Workspace.get`)
Fetch = Callable[[int], RecordDetail]
#: reads one record's model score (`curator score`; the app passes scores.get), None: none
FetchScore = Callable[[int], ScoreRow | None]


class DetailPane(Widget, can_focus=True):
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        f"detail--{n}" for n in (*STYLE_NAMES, *PAIR_STYLE_NAMES)} | {
        "detail--error", "detail--warning", "detail--info", "detail--over", "detail--head",
        "detail--scrollbar", "detail--thumb"}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down", "scroll_lines(1)", "scroll down", show=False),
        Binding("up", "scroll_lines(-1)", "scroll up", show=False),
        Binding("pagedown", "scroll_page(1)", "page down", show=False),
        Binding("pageup", "scroll_page(-1)", "page up", show=False),
        Binding("home", "scroll_lines(-1000000)", "top", show=False),
        Binding("end", "scroll_lines(1000000)", "bottom", show=False),
    ]

    def __init__(self, fetch: Fetch | None = None, *, id: str | None = None,
                 score: FetchScore | None = None) -> None:
        super().__init__(id=id)
        self.fetch = fetch
        self.fetch_score = score
        self.score: ScoreRow | None = None
        self.show_system = False
        self.record_id: int | None = None
        self.record: RecordDetail | None = None
        self.limit: int | None = None
        self.marked = False
        #: the first content line shown
        self.top = 0
        self._stale = True  # the record must be read again before drawing
        self._lines: list[Strip] | None = None  # drawn lines, for _lines_key
        self._lines_key: tuple[object, ...] = ()
        self._styles: dict[str, Style] = {}
        self._base = Style()

    @staticmethod
    def score_reader(ws: Workspace) -> FetchScore:
        """Reads a record's `curator score` from this workspace (for `score`)."""
        from curator.workspace import scores

        return lambda record_id: scores.get(ws, record_id)

    def notify_style_update(self) -> None:
        self._styles.clear()
        self._lines = None
        super().notify_style_update()

    # -- what to show ------------------------------------------------------------------------

    def show_id(self, record_id: int | None, limit: int | None, marked: bool = False) -> None:
        """Show this record; it is read when the pane is next painted."""
        if record_id != self.record_id:
            self.top = 0
        self.record_id, self.limit, self.marked = record_id, limit, marked
        self._stale = True
        self.refresh()

    def toggle_system(self) -> None:
        self.show_system = not self.show_system
        self.refresh()

    def current(self) -> RecordDetail | None:
        """The record shown (read now if it is due)."""
        if self._stale:
            self._stale = False
            self._lines = None
            self.record = None
            self.score = None
            if self.record_id is not None and self.fetch is not None:
                try:
                    self.record = self.fetch(self.record_id)
                    if self.fetch_score is not None:
                        self.score = self.fetch_score(self.record_id)
                except WorkspaceError:
                    self.record = None
        return self.record

    # -- scrolling ---------------------------------------------------------------------------

    def _max_offset(self) -> int:
        return max(0, len(self.lines()) - self.size.height)

    def scroll_by(self, lines: int) -> None:
        offset = max(0, min(self.top + lines, self._max_offset()))
        if offset != self.top:
            self.top = offset
            self.refresh()

    def action_scroll_lines(self, n: int) -> None:
        self.scroll_by(n)

    def action_scroll_page(self, direction: int) -> None:
        self.scroll_by(direction * max(1, self.size.height - 2))

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        event.stop()
        self.scroll_by(3)

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        event.stop()
        self.scroll_by(-3)

    # -- drawing -----------------------------------------------------------------------------

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return container.height

    def _sty(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            style = self._styles[name] = self.get_component_rich_style(f"detail--{name}")
        return style

    def lines(self) -> list[Strip]:
        """The whole record as lines of the pane's width (a scrollbar column taken off when
        they do not fit)."""
        record = self.current()
        width, height = self.size.width, self.size.height
        key = (id(record), width, height, self.show_system, self.marked, self.limit)
        if self._lines is not None and key == self._lines_key:
            return self._lines
        renderable = self._build(record, width, height)
        base = self._base = self.rich_style
        console = self.app.console
        rendered = console.render_lines(renderable, console.options.update_width(max(1, width)),
                                        pad=False)
        if len(rendered) > height and width > 1:
            # Too long for the pane: the answer being judged comes first, so that it shows
            # without scrolling (at 80x24 the pane has about ten lines).
            renderable = self._build(record, width - 1, height, answer_first=True)
            rendered = console.render_lines(renderable,
                                            console.options.update_width(width - 1), pad=False)
        text_width = width - 1 if len(rendered) > height else width
        self._lines = [Strip(Segment.apply_style(line, base)).crop_extend(0, text_width, base)
                       for line in rendered]
        self._lines_key = key
        self.top = min(self.top, max(0, len(self._lines) - height))
        return self._lines

    def render_line(self, y: int) -> Strip:
        lines = self.lines()
        width, height = self.size.width, self.size.height
        base = self._base
        index = self.top + y
        strip = lines[index] if index < len(lines) else Strip.blank(width, base)
        if len(lines) <= height:
            return strip.crop_extend(0, width, base)
        # A scrollbar column: the thumb's size and place say how much is shown, and where.
        thumb = max(1, height * height // len(lines))
        start = min(height - thumb, self.top * height // len(lines))
        bar = self._sty("thumb") if start <= y < start + thumb else self._sty("scrollbar")
        return Strip([*strip.crop_extend(0, width - 1, base), Segment(" ", bar)])

    def _score_line(self, s: ScoreRow) -> Text:
        """The record's `curator score` numbers (docs/score.md), or why it has none."""
        line = Text("score ")
        if s.ifd is None or s.loss_prompted is None or s.loss_alone is None:
            line.append(f"none ({literal(s.note or 'not scored', one_line=True)})", self._sty("meta"))
        else:
            line.append(f"IFD {s.ifd:.2f}", self._sty("warning") if s.ifd >= IFD_OFF_PROMPT else "")
            line.append(f"  loss {s.loss_prompted:.2f} given the prompt, {s.loss_alone:.2f} alone")
            if s.end_prob is not None:
                line.append(f"  end {s.end_prob:.2g}")
        line.append(f"  ({literal(s.model, one_line=True)})", self._sty("meta"))
        if s.stale:
            line.append("  stale: the text changed since it was scored", self._sty("warning"))
        return line

    def _build(self, r: RecordDetail | None, width: int, height: int = 0,
               answer_first: bool = False) -> RenderableType:
        if r is None:
            return Text("No record here. Change the filter (f) or import data.",
                        style=self._sty("meta"))
        head = Text(style=self._sty("head"))
        head.append(f"record {r.id}  {r.status}")
        if r.reason:
            head.append(f" ({literal(r.reason, one_line=True)})")
        if self.marked:
            head.append("  [marked]")
        head.append(f"\nsource {literal(r.source_file or '-', one_line=True)}:{r.source_line or '-'}"
                    f"  format {literal(r.format or '?', one_line=True)}"
                    f"  split {literal(r.split or '-', one_line=True)}")
        if r.current is not None:
            head.append("  edited")
        tokens = Text()
        if r.tokens_total is not None:
            over = self.limit is not None and r.tokens_total > self.limit
            tokens.append(f"tokens {r.tokens_total:,}", self._sty("over") if over else "")
            if self.limit:
                tokens.append(f" of {self.limit:,} limit ({r.tokens_total / self.limit:.0%})",
                              self._sty("over") if over else "")
            if r.tokens_trained is not None:
                tokens.append(f", {r.tokens_trained:,} trained")
            if r.tokens_sides and "prompt" in r.tokens_sides:  # each side's: on its label
                tokens.append(f", prompt {r.tokens_sides['prompt']:,}")
        else:
            tokens.append("tokens not counted")
        if r.cluster_id is not None:
            tokens.append("  cluster " + str(r.cluster_id) + (
                f", duplicate of {r.dup_of} ({r.similarity or 0:.2f})" if r.dup_of
                else ", keeper"))
        parts: list[RenderableType] = [head, tokens]
        if self.score is not None:
            parts.append(self._score_line(self.score))
        if r.labels:
            parts.append(Text("labels " + literal(", ".join(r.labels), one_line=True)))
        if r.note:
            parts.append(Text("note: " + literal(r.note)))
        issue_lines = []
        for i in r.issues:
            where = f" (message {i.message_index})" if i.message_index is not None else ""
            line = Text(f"{i.severity} {i.code}{where}: ", self._sty(i.severity))
            line.append(literal(i.message))
            if i.hint:
                line.append("  hint: " + literal(i.hint), self._sty("meta"))
            issue_lines.append(line)
        if answer_first and len(issue_lines) > 1:
            # A record taller than the pane: the issues in one line here and in full after the
            # conversation, so that several of them cannot push the answer off a small screen.
            worst = min(r.issues, key=lambda i: ("error", "warning", "info").index(i.severity)
                        if i.severity in ("error", "warning", "info") else 3)
            codes = ", ".join(dict.fromkeys(literal(i.code, one_line=True) for i in r.issues))
            parts.append(Text(f"{len(r.issues)} issues: {codes} (in full below)",
                              self._sty(worst.severity)))
        else:
            parts.extend(issue_lines)
            issue_lines = []
        parts.append(Text(""))
        styles = {n: self._sty(n) for n in (*STYLE_NAMES, *PAIR_STYLE_NAMES)}
        example = r.example
        if r.kind == "preference" and is_pair(example):
            assert example is not None
            parts.extend(pair_view(example, r.raw, styles=styles, width=width or 80,
                                   height=height, show_system=self.show_system,
                                   answer_first=answer_first, sides=r.tokens_sides))
        elif r.kind == "feedback" and is_feedback(example):
            assert example is not None
            parts.extend(feedback_view(example, r.raw, styles=styles, width=width or 80,
                                       show_system=self.show_system, answer_first=answer_first))
        else:
            parts.extend(conversation(example, r.raw, show_system=self.show_system,
                                      styles=styles, width=width or 80,
                                      answer_first=answer_first))
        if issue_lines:
            parts.extend([Text(""), Text("issues", self._sty("head")), *issue_lines])
        return group(parts)
