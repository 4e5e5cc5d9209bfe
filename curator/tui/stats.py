"""The stats screen: counts by status, label and split, the token histogram against the limit,
issues by code. Computed in a worker on its own connection; redrawn whenever the workspace
changes (checked every second, so decisions made in another terminal show up too)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from curator.tui.text import literal
from curator.workspace import Workspace
from curator.workspace.export import split_sizes

BUCKETS = 16


@dataclass
class Stats:
    total: int = 0
    status: dict[str, int] = field(default_factory=dict)
    labels: list[tuple[str, int]] = field(default_factory=list)
    splits: list[tuple[str, int]] = field(default_factory=list)  # records an export writes
    split_duplicates: dict[str, int] = field(default_factory=dict)  # marked duplicate, apart
    issues: list[tuple[str, str, int]] = field(default_factory=list)
    histogram: list[tuple[int, int, int]] = field(default_factory=list)  # (lo, hi, count)
    over_limit: int = 0
    uncounted: int = 0


def workspace_version(ws: Workspace) -> tuple[int, int, int]:
    """Changes whenever a decision, an undo or an import lands."""
    c = ws.connection
    j = c.execute("SELECT coalesce(max(id), 0), "
                  "(SELECT count(*) FROM journal WHERE state != 'done') FROM journal").fetchone()
    n = c.execute("SELECT coalesce(max(id), 0) FROM records").fetchone()[0]
    return int(j[0]), int(j[1]), int(n)


def gather(ws: Workspace, limit: int | None) -> Stats:
    c = ws.connection
    s = Stats()
    s.status = ws.status_counts()
    s.total = sum(s.status.values())
    s.labels = ws.labels()
    # one count per split, as `curator split` and export count it; duplicates apart
    sizes, s.split_duplicates, unsplit = split_sizes(ws)
    s.splits = [*sizes.items(), *([("none", unsplit)] if unsplit else [])]
    s.issues = [(r[0], r[1], r[2]) for r in c.execute(
        "SELECT code, min(severity), count(DISTINCT record_id) FROM issues GROUP BY code "
        "ORDER BY 3 DESC, 1")]
    lo, hi = c.execute("SELECT min(tokens_total), max(tokens_total) FROM records").fetchone()
    s.uncounted = c.execute(
        "SELECT count(*) FROM records WHERE tokens_total IS NULL").fetchone()[0]
    if lo is not None:
        top = max(hi, limit or 0) if limit and hi > limit else hi
        width = max(1, -(-(top - lo + 1) // BUCKETS))
        counts = dict(c.execute(
            "SELECT (tokens_total - ?) / ?, count(*) FROM records WHERE tokens_total IS NOT NULL "
            "GROUP BY 1", (lo, width)).fetchall())
        s.histogram = [(lo + b * width, lo + (b + 1) * width - 1, counts.get(b, 0))
                       for b in range(BUCKETS) if lo + b * width <= hi]
        if limit:
            s.over_limit = c.execute("SELECT count(*) FROM records WHERE tokens_total > ?",
                                     (limit,)).fetchone()[0]
    return s


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
            version = workspace_version(ws)
            if version == self.version:
                return
            stats = gather(ws, self.limit)
        self.app.call_from_thread(self.show, stats, version)

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
