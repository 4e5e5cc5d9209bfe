"""The duplicates screen: one cluster at a time, members side by side, differences lit."""

from __future__ import annotations

import difflib
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from curator.tui.text import content_text, literal
from curator.workspace import RecordDetail, Workspace, WorkspaceError
from curator.workspace.views.review import duplicate_clusters

MAX_COLUMNS = 4


def record_words(r: RecordDetail) -> list[tuple[str, str]]:
    """(word, role) pairs over a record's messages, for word-level comparison."""
    ex = r.example
    out: list[tuple[str, str]] = []
    if ex is None:
        return [(w, "raw") for w in r.raw.split()]
    messages = ex.get("messages")
    if not isinstance(messages, list):
        return [(w, "data") for w in str(ex).split()]
    for m in messages:
        if isinstance(m, dict):
            role = str(m.get("role", "?"))
            out.extend((w, role) for w in content_text(m.get("content")).split())
    return out


def highlight(words: list[tuple[str, str]], other: list[tuple[str, str]],
              diff_style: object) -> Text:
    """The words of one member, those not matched in `other` styled `diff_style`."""
    sm = difflib.SequenceMatcher(a=[w for w, _ in other], b=[w for w, _ in words],
                                 autojunk=False)
    lit = [False] * len(words)
    for tag, _i1, _i2, j1, j2 in sm.get_opcodes():
        if tag in ("replace", "insert"):
            for j in range(j1, j2):
                lit[j] = True
    text = Text()
    role = None
    for (w, r), on in zip(words, lit, strict=True):
        if r != role:
            if role is not None:
                text.append("\n")
            text.append(f"{literal(r, one_line=True)}: ")
            role = r
        text.append(literal(w, one_line=True), diff_style if on else "")  # type: ignore[arg-type]
        text.append(" ")
    return text


class DuplicatesScreen(Screen[None]):
    COMPONENT_CLASSES: ClassVar[set[str]] = {"dupe-col--diff"}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("right,l", "cluster(1)", "next cluster", id="dupes_next"),
        Binding("left,h", "cluster(-1)", "previous", id="dupes_prev"),
        Binding("n", "not_duplicates", "not duplicates", id="dupes_not"),
        *[Binding(str(i), f"keep({i})", f"keep {i}", show=i == 1, id=f"dupes_keep_{i}")
          for i in range(1, MAX_COLUMNS + 1)],
        Binding("u", "undo", "undo", id="dupes_undo"),
        Binding("escape,q", "app.pop_screen", "back", id="dupes_back"),
    ]

    def __init__(self, ws: Workspace) -> None:
        super().__init__()
        self.ws = ws
        self.clusters: list[int] = []
        self.index = 0

    def compose(self) -> ComposeResult:
        yield Static(id="dupes-head")
        yield Horizontal(id="dupes-cols")
        yield Footer()

    def on_mount(self) -> None:
        self.load_clusters()
        self.show_cluster()

    def load_clusters(self) -> None:
        self.clusters = duplicate_clusters(self.ws)
        self.index = min(self.index, max(0, len(self.clusters) - 1))

    def members(self) -> list[RecordDetail]:
        if not self.clusters:
            return []
        cid = self.clusters[self.index]
        ids = list(self.ws.select_ids([f"cluster={cid}"]))
        # The keeper (cluster id = keeper id) first, then by similarity.
        recs = [self.ws.get(i) for i in ids]
        recs.sort(key=lambda r: (r.dup_of is not None, -(r.similarity or 1.0), r.id))
        return recs

    def show_cluster(self, message: str = "") -> None:
        head = self.query_one("#dupes-head", Static)
        cols = self.query_one("#dupes-cols", Horizontal)
        cols.remove_children()
        if not self.clusters:
            head.update(Text("No duplicate clusters. Run dedup (D on the main screen, or "
                             "curator dedup) first." + (f"\n{message}" if message else "")))
            return
        recs = self.members()
        cid = self.clusters[self.index]
        shown = recs[:MAX_COLUMNS]
        more = f" ({len(recs) - len(shown)} more not shown)" if len(recs) > len(shown) else ""
        head.update(Text(
            f"cluster {cid}  ({self.index + 1} of {len(self.clusters)})  {len(recs)} members"
            f"{more}\n1-{len(shown)}: keep that one and reject the rest   n: not duplicates   "
            f"←/→: other clusters" + (f"\n{message}" if message else "")))
        diff = self.get_component_rich_style("dupe-col--diff")
        words = [record_words(r) for r in shown]
        for k, r in enumerate(shown):
            other = words[1] if k == 0 and len(words) > 1 else words[0]
            sim = "keeper" if r.dup_of is None else f"similarity {r.similarity or 0:.3f}"
            title = Text(f"{k + 1}. record {r.id}  {r.status}  {sim}\n\n", style="bold")
            body = title + highlight(words[k], other, diff)
            col = VerticalScroll(Static(body), classes="dupe-col")
            if r.dup_of is None:
                col.add_class("keeper")
            cols.mount(col)

    def action_cluster(self, delta: int) -> None:
        if self.clusters:
            self.index = (self.index + delta) % len(self.clusters)
            self.show_cluster()

    def action_keep(self, k: int) -> None:
        recs = self.members()[:MAX_COLUMNS]
        if k > len(recs):
            return
        cid = self.clusters[self.index]
        try:
            change = self.ws.keep_one(cid, recs[k - 1].id)
        except WorkspaceError as exc:
            self.show_cluster(f"error: {exc}")
            return
        if self.index < len(self.clusters) - 1:
            self.index += 1
        self.show_cluster(change.summary)

    def action_not_duplicates(self) -> None:
        if not self.clusters:
            return
        cid = self.clusters[self.index]
        change = self.ws.clear_duplicates(where=[f"cluster={cid}"])
        self.load_clusters()
        self.show_cluster(f"cluster {cid}: not duplicates ({change.summary})")

    def action_undo(self) -> None:
        entries = self.ws.undo()
        self.load_clusters()
        self.show_cluster(f"undone: {entries[0].summary}" if entries else "nothing to undo")
