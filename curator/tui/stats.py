"""The stats screen: counts by status, label and split, the token histogram against the limit,
issues by code. Counted (curator.workspace.views.review) in a worker on its own connection, which
posts the result back (StatsReady); redrawn whenever the workspace changes (checked every
second, so decisions made in another terminal show up too)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from curator.tui.messages import StatsReady
from curator.tui.text import literal
from curator.workspace import Workspace
from curator.workspace.views import review
from curator.workspace.views.review import Stats

__all__ = ["Stats", "StatsScreen"]


class StatsScreen(Screen[None]):
    COMPONENT_CLASSES: ClassVar[set[str]] = {"stats--bar", "stats--over", "stats--limit"}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,S", "app.pop_screen", "back", id="stats_back")]

    def __init__(self, path: Path, limit: int | None) -> None:
        super().__init__()
        self.path, self.limit = path, limit
        self.version: tuple[int, int, int] | None = None
        self.stats: Stats | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="stats-body"):
            yield Static(Text("counting…"), id="stats-text")
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_stats()
        self.set_interval(1.0, self.refresh_stats)

    @work(thread=True, exclusive=True, exit_on_error=False, group="stats")
    def refresh_stats(self) -> None:
        with Workspace.open(self.path) as ws:
            version = review.data_version(ws)
            if version == self.version:
                return
            counted = review.stats(ws, self.limit)
        self.post_message(StatsReady(counted, version))

    def on_stats_ready(self, message: StatsReady) -> None:
        self.show(message.stats, message.version)

    def show(self, stats: Stats, version: tuple[int, int, int]) -> None:
        self.stats, self.version = stats, version
        self.query_one("#stats-text", Static).update(self.render_stats(stats))

    def render_stats(self, s: Stats) -> Text:
        bar_style = self.get_component_rich_style("stats--bar")
        over_style = self.get_component_rich_style("stats--over")
        limit_style = self.get_component_rich_style("stats--limit")
        width = max(10, (self.size.width or 80) - 36)
        t = Text()
        t.append(f"{s.total:,} records\n\n", "bold")
        t.append("status   ", "bold")
        t.append("   ".join(f"{k} {v:,} ({v / max(s.total, 1):.0%})"
                            for k, v in s.status.items()) + "\n")
        t.append("split    ", "bold")
        t.append("   ".join(
            f"{literal(k, one_line=True)} {v:,}"
            + (f" (+{s.split_duplicates[k]:,} dup)" if s.split_duplicates.get(k) else "")
            for k, v in s.splits) + "\n")
        t.append("labels   ", "bold")
        t.append("   ".join(f"{literal(k, one_line=True)} {v:,}" for k, v in s.labels)
                 or "(no labels yet)")
        t.append("\n\ntokens per record", "bold")
        if self.limit:
            t.append(f"   limit {self.limit:,}: {s.over_limit:,} over", limit_style)
        if s.uncounted:
            t.append(f"   {s.uncounted:,} not counted")
        t.append("\n")
        peak = max((c for _, _, c in s.histogram), default=1) or 1
        limit_drawn = False
        for lo, hi, count in s.histogram:
            if self.limit and not limit_drawn and lo > self.limit:
                t.append(f"{'── limit ' + format(self.limit, ','):─<{width + 26}}\n",
                         limit_style)
                limit_drawn = True
            over = bool(self.limit and hi > self.limit)
            n = round(count / peak * width)
            t.append(f"{lo:>8,}-{hi:<8,} {count:>8,} ")
            t.append("█" * n or ("▏" if count else ""), over_style if over else bar_style)
            t.append("\n")
        if self.limit and not limit_drawn:
            t.append(f"{'── limit ' + format(self.limit, ',') + ' (above every record) ':─<{width + 26}}\n",
                     limit_style)
        t.append("\nissues by code\n", "bold")
        for code, severity, n in s.issues[:30]:
            t.append(f"  {n:>8,}  {severity:<8} {literal(code, one_line=True)}\n")
        if not s.issues:
            t.append("  none\n")
        return t
