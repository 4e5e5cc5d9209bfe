"""The topics screen (T): the topics of `curator coverage` with their sizes as bars, flagged
over- or under-represented, each with its characteristic words and most central prompt. Enter
filters the review queue to the topic under the cursor (`topic=N`); c computes the topics
again (when none were computed, or the records changed since: the screen says so).

The table is read (curator.workspace.coverage.load, which also counts what changed since) and
computed in thread workers on their own connections; they post the result back (TopicsReady).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from curator.quality.coverage import HOW_TO, OVER, UNDER, CoverageSummary, findings
from curator.tui.text import literal
from curator.workspace import Workspace

BAR = 20


class TopicsReady(Message, bubble=False):
    """The stored topics (None: never computed), or why they could not be read or computed."""

    def __init__(self, summary: CoverageSummary | None, error: str | None = None) -> None:
        super().__init__()
        self.summary, self.error = summary, error


class CoverageScreen(Screen[int | None]):
    """Dismissed with the chosen topic's number (None: back without choosing)."""

    DEFAULT_CSS = """
    CoverageScreen #coverage-head { padding: 0 1; height: auto; }
    CoverageScreen DataTable { height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "choose", "filter to this topic", id="coverage_choose"),
        Binding("c", "compute", "compute the topics again", id="coverage_compute"),
        Binding("escape,q,T", "back", "back", id="coverage_back"),
    ]

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.summary: CoverageSummary | None = None
        self.loaded = False

    def compose(self) -> ComposeResult:
        yield Static(Text("reading the topics…"), id="coverage-head")
        table: DataTable[str | Text] = DataTable(cursor_type="row", zebra_stripes=True,
                                                 id="coverage-table")
        table.add_columns("topic", "size", "share", "", "words", "most central prompt")
        yield table
        yield Footer()

    def on_mount(self) -> None:
        self.read_topics()

    @work(thread=True, exclusive=True, exit_on_error=False, group="coverage")
    def read_topics(self) -> None:
        from curator.workspace.coverage import load

        try:
            with Workspace.open(self.path) as ws, ws.snapshot():
                summary = load(ws)
        except Exception as exc:  # shown on the screen, never a crash of the app
            self.post_message(TopicsReady(None, f"the topics could not be read: {exc}"))
            return
        self.post_message(TopicsReady(summary))

    @work(thread=True, exclusive=True, exit_on_error=False, group="coverage")
    def compute_topics(self) -> None:
        from curator.workspace.coverage import compute

        try:
            with Workspace.open(self.path) as ws:
                summary = compute(ws)
        except Exception as exc:  # no embedding model, a busy workspace: said on the screen
            self.post_message(TopicsReady(self.summary, f"not computed: {exc}"))
            return
        self.post_message(TopicsReady(summary))

    def on_topics_ready(self, message: TopicsReady) -> None:
        self.loaded = True
        self.show(message.summary, message.error)

    def show(self, summary: CoverageSummary | None, error: str | None = None) -> None:
        self.summary = summary
        head = Text()
        if summary is None:
            head.append(f"No topics yet: press c here, or {HOW_TO}.\n")
        else:
            head.append(f"{summary.records:,} prompts in {len(summary.topics)} topics",
                        "bold")
            head.append(f" (computed {summary.computed_at}); Enter filters the queue to a "
                        "topic, c computes again\n")
            if summary.stale:
                head.append(summary.staleness() + " (c here)\n", "bold red")
            for line in findings(summary):
                head.append(line + "\n")
        if error:
            head.append(literal(error, one_line=True) + "\n", "bold red")
        self.query_one("#coverage-head", Static).update(head)
        table = self.query_one(DataTable)
        table.clear()
        if summary is None:
            return
        peak = max((t.size for t in summary.topics), default=1) or 1
        for t in summary.topics:
            style = {OVER: "red", UNDER: "yellow"}.get(t.flag or "", "")
            mark = {OVER: " over", UNDER: " under"}.get(t.flag or "", "")
            bar = Text("█" * round(t.size / peak * BAR) or "▏", style or "cyan")
            bar.append(mark, style)
            central = literal(" ".join(t.example.split()), one_line=True)
            table.add_row(str(t.topic), f"{t.size:,}", f"{t.share:.1%}", bar,
                          literal(", ".join(t.words), one_line=True),
                          (f"#{t.example_record} " if t.example_record is not None else "")
                          + (central[:80] + "…" if len(central) > 80 else central),
                          key=str(t.topic))
        table.focus()

    def action_choose(self) -> None:
        if self.summary is None or not self.summary.topics:
            return
        table = self.query_one(DataTable)
        row = table.cursor_row
        if 0 <= row < len(self.summary.topics):
            self.dismiss(self.summary.topics[row].topic)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_choose()

    def action_compute(self) -> None:
        self.query_one("#coverage-head", Static).update(
            Text("grouping the prompts into topics…", "bold"))
        self.compute_topics()

    def action_back(self) -> None:
        self.dismiss(None)
