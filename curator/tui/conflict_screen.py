"""The conflict screen (`C` on the main screen): the conflict clusters `curator signals` found
(curator.workspace.conflicts) on the left, the selected cluster's records stacked on the right
(status, prompt where it differs, answer), and keys to resolve it: keep one record, or prefer
one record's answer over another's (a new preference pair). Each resolution is one journal
entry; `u` undoes it as on the main screen. The clusters are found in a worker on its own
connection (the finder reads every labelled record), the writes go through the app's."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from curator.tui.text import literal
from curator.workspace import Workspace, WorkspaceError
from curator.workspace.conflicts import (
    Cluster,
    Member,
    PairConflict,
    clusters,
    keep,
    pair_conflicts,
    prefer,
)

if TYPE_CHECKING:
    from curator.workspace.prepare import Preparer


class ClustersReady(Message):
    def __init__(self, found: list[Cluster], against: list[PairConflict]) -> None:
        super().__init__()
        self.found = found
        self.against = against


class ConflictScreen(Screen[None]):
    DEFAULT_CSS = """
    #conflict-head { height: auto; background: $panel; padding: 0 1; }
    #conflict-panes { height: 1fr; }
    #conflict-list { width: 40%; height: 1fr; }
    #conflict-body { width: 60%; height: 1fr; border: round $panel-lighten-2; padding: 0 1; }
    ConflictScreen.-narrow #conflict-panes { layout: vertical; }
    ConflictScreen.-narrow #conflict-list { width: 1fr; height: 8; }
    ConflictScreen.-narrow #conflict-body { width: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("right,l", "member(1)", "next record", id="conflicts_next_record"),
        Binding("left,h", "member(-1)", "previous record", id="conflicts_prev_record"),
        Binding("k", "keep", "keep this one", id="conflicts_keep"),
        Binding("o", "over", "mark as the rejected answer", id="conflicts_over"),
        Binding("p", "prefer", "prefer this one (a pair)", id="conflicts_prefer"),
        Binding("u", "undo", "undo", id="conflicts_undo"),
        Binding("escape,q", "app.pop_screen", "back", id="conflicts_back"),
    ]

    def __init__(self, ws: Workspace, preparer: Callable[[], Preparer] | None = None) -> None:
        super().__init__()
        self.ws = ws
        #: the checks a new pair gets (the app's: the workspace's target, tokenizer, limit)
        self.preparer = preparer
        self.clusters: list[Cluster] | None = None  # None: still being found
        self.index = 0
        self.member_index = 0
        #: the record marked with `o` as the rejected side of the next `p`
        self.over: int | None = None
        self.message = ""
        #: chat records that ask a preference pair's prompt (shown, never merged)
        self.against: list[PairConflict] = []

    def compose(self) -> ComposeResult:
        yield Static(Text("finding conflict clusters…"), id="conflict-head")
        with Horizontal(id="conflict-panes"):
            yield OptionList(id="conflict-list")
            with VerticalScroll(id="conflict-body"):
                yield Static(id="conflict-text")
        yield Footer()

    def on_mount(self) -> None:
        self.load()

    def on_resize(self) -> None:
        self.set_class(self.size.width < 110, "-narrow")

    @work(thread=True, exclusive=True, exit_on_error=False, group="conflicts")
    def load(self) -> None:
        with Workspace.open(Path(self.ws.path)) as ws:
            found = clusters(ws)
            against = pair_conflicts(ws)
        self.post_message(ClustersReady(found, against))

    def on_clusters_ready(self, message: ClustersReady) -> None:
        keep_id = self.cluster.id if self.cluster is not None else None
        self.clusters = message.found
        self.against = message.against
        ids = [c.id for c in self.clusters]
        self.index = ids.index(keep_id) if keep_id in ids else min(self.index, max(len(ids) - 1, 0))
        listing = self.query_one("#conflict-list", OptionList)
        listing.clear_options()
        listing.add_options([Option(self._label(c), id=str(c.id)) for c in self.clusters])
        if self.clusters:
            listing.highlighted = self.index
        listing.focus()
        self.member_index = min(self.member_index, len(self.members) - 1) if self.members else 0
        self.show()

    @staticmethod
    def _label(c: Cluster) -> Text:
        mark = "●" if c.open else "✓"
        return Text(f"{mark} {c.id}  {len(c.members)}  {literal(c.prompt, one_line=True)[:60]}")

    # -- what is shown -----------------------------------------------------------------------

    @property
    def cluster(self) -> Cluster | None:
        if not self.clusters:
            return None
        return self.clusters[min(self.index, len(self.clusters) - 1)]

    @property
    def members(self) -> tuple[Member, ...]:
        c = self.cluster
        return c.members if c is not None else ()

    @property
    def current(self) -> Member | None:
        ms = self.members
        return ms[min(self.member_index, len(ms) - 1)] if ms else None

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if self.clusters and event.option_index != self.index:
            self.index = event.option_index
            self.member_index = 0
            self.over = None
            self.show()

    def show(self) -> None:
        head = self.query_one("#conflict-head", Static)
        body = self.query_one("#conflict-text", Static)
        msg = f"\n{literal(self.message, one_line=True)}" if self.message else ""
        if self.against:
            ids = ", ".join(f"{p.chat} ({p.preference})" for p in self.against[:5])
            msg += (f"\n{len(self.against)} chat records ask a preference pair's prompt "
                    f"(pair): {ids}{' …' if len(self.against) > 5 else ''}; "
                    f"`curator conflicts` lists them")
        if self.clusters is None:
            return
        c = self.cluster
        if c is None:
            head.update(Text("No conflict clusters. `curator signals -w WS` labels conflicts "
                             "(near-identical prompts, different answers) first." + msg))
            body.update(Text(""))
            return
        n_open = sum(cl.open for cl in self.clusters)
        head.update(Text(
            f"cluster {c.id} ({c.status})  {self.index + 1} of {len(self.clusters)}, "
            f"{n_open} open\n←/→ record   k keep it, reject the rest   o mark as rejected "
            f"answer   p prefer it (a preference pair)   u undo" + msg))
        t = Text()
        t.append("prompt\n", "bold")
        t.append(literal(c.prompt) + "\n")
        for k, m in enumerate(c.members):
            cursor = "▶ " if k == self.member_index else "  "
            over = "  [rejected side]" if m.id == self.over else ""
            t.append(f"\n{cursor}{k + 1}. record {m.id}  {m.status}{over}\n",
                     "bold reverse" if k == self.member_index else "bold")
            if m.reason:
                t.append(f"   {literal(m.reason, one_line=True)}\n", "italic")
            if m.prompt != c.prompt:
                t.append("   prompt: ", "bold")
                t.append(literal(m.prompt) + "\n")
            t.append(literal(m.answer) + "\n")
        body.update(t)

    # -- keys --------------------------------------------------------------------------------

    def action_member(self, delta: int) -> None:
        if self.members:
            self.member_index = (self.member_index + delta) % len(self.members)
            self.show()

    def action_over(self) -> None:
        m = self.current
        if m is not None:
            self.over = None if self.over == m.id else m.id
            self.show()

    def _done(self, message: str) -> None:
        self.message = message
        self.over = None
        self.load()
        self.show()

    def action_keep(self) -> None:
        m = self.current
        if m is None:
            return
        try:
            change = keep(self.ws, m.id, self.cluster)
        except WorkspaceError as exc:
            self._done(f"error: {exc}")
            return
        self._done(change.summary)

    def action_prefer(self) -> None:
        m = self.current
        if m is None:
            return
        others = [o.id for o in self.members if o.id != m.id]
        other = self.over if self.over in others else (others[0] if len(others) == 1 else None)
        if other is None:
            self.message = ("this cluster has more than two records: mark the rejected answer "
                            "with o first")
            self.show()
            return
        try:
            done = prefer(self.ws, m.id, other,
                          self.preparer() if self.preparer is not None else None)
        except WorkspaceError as exc:
            self._done(f"error: {exc}")
            return
        self._done(done.change.summary)

    def action_undo(self) -> None:
        entries = self.ws.undo()
        self._done(f"undone: {entries[0].summary}" if entries else "nothing to undo")
