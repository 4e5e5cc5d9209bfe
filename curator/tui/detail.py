"""The detail pane: the selected record as a conversation, with its decision, tokens, issues."""

from __future__ import annotations

from typing import ClassVar

from rich.console import RenderableType
from rich.style import Style
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from curator.store import RecordDetail
from curator.tui.text import STYLE_NAMES, conversation, group, literal


class DetailPane(VerticalScroll, can_focus=True):
    COMPONENT_CLASSES: ClassVar[set[str]] = {f"detail--{n}" for n in STYLE_NAMES} | {
        "detail--error", "detail--warning", "detail--info", "detail--over", "detail--head"}

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.show_system = False
        self.record: RecordDetail | None = None
        self.limit: int | None = None
        self.marked = False

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static(id="detail-body")

    def show(self, record: RecordDetail | None, limit: int | None, marked: bool = False) -> None:
        self.record, self.limit, self.marked = record, limit, marked
        self.query_one("#detail-body", Static).update(self._build())

    def toggle_system(self) -> None:
        self.show_system = not self.show_system
        self.show(self.record, self.limit, self.marked)

    def _sty(self, name: str) -> Style:
        return self.get_component_rich_style(f"detail--{name}")

    def _build(self) -> RenderableType:
        r = self.record
        if r is None:
            return Text("No record here. Change the filter (f) or import data.", style=self._sty("meta"))
        head = Text(style=self._sty("head"))
        head.append(f"record {r.id}  {r.status}")
        if r.reason:
            head.append(f" ({literal(r.reason, one_line=True)})")
        if self.marked:
            head.append("  [marked]")
        head.append(f"\nsource {literal(r.source_file or '-', one_line=True)}:{r.source_line or '-'}"
                    f"  format {r.format or '?'}  split {r.split or '-'}")
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
        else:
            tokens.append("tokens not counted")
        if r.cluster_id is not None:
            tokens.append("  cluster " + str(r.cluster_id) + (
                f", duplicate of {r.dup_of} ({r.similarity or 0:.2f})" if r.dup_of
                else ", keeper"))
        parts: list[RenderableType] = [head, tokens]
        if r.labels:
            parts.append(Text("labels " + literal(", ".join(r.labels), one_line=True)))
        if r.note:
            parts.append(Text("note: " + literal(r.note)))
        for i in r.issues:
            where = f" (message {i.message_index})" if i.message_index is not None else ""
            line = Text(f"{i.severity} {i.code}{where}: ", self._sty(i.severity))
            line.append(literal(i.message))
            if i.hint:
                line.append("  hint: " + literal(i.hint), self._sty("meta"))
            parts.append(line)
        parts.append(Text(""))
        styles = {n: self._sty(n) for n in STYLE_NAMES}
        parts.extend(conversation(r.example, r.raw, show_system=self.show_system,
                                  styles=styles, width=self.size.width or 80))
        return group(parts)
