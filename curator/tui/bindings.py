"""The main screen's keys: each binding has an id, which the keymap file (--keymap) rebinds
and the help screen lists. `app.` actions (other screens, the workspace jobs) are ReviewApp's."""

from __future__ import annotations

from textual.binding import Binding, BindingType

#: binding id -> the label number that key toggles (keys 1-9 follow the label set's order)
LABEL_KEYS: dict[str, int] = {f"label_{n}": n for n in range(1, 10)}


def _b(key: str, action: str, description: str, id: str, show: bool = True) -> Binding:
    return Binding(key, action, description, show=show, id=id)


MAIN_BINDINGS: list[BindingType] = [
    _b("question_mark", "help", "help", "help"),
    _b("a", "accept", "accept", "accept"),
    _b("r,x", "reject", "reject", "reject"),
    _b("X", "reject_default", "reject (default reason)", "reject_default", False),
    _b("p", "reset", "pending", "reset", False),
    _b("space", "next", "next", "next", False),
    _b("n", "next_pending", "next pending", "next_pending"),
    _b("i", "next_issue", "next with issues", "next_issues", False),
    _b("e", "edit", "edit", "edit"),
    _b("w", "swap", "swap chosen / rejected (preference pairs)", "swap", False),
    _b("c", "note", "note", "note", False),
    _b("m", "mark", "mark (kept in the workspace; not undone by u)", "mark", False),
    _b("M", "clear_marks", "clear marks", "clear_marks", False),
    _b("b", "bulk", "bulk", "bulk"),
    _b("u", "undo", "undo", "undo"),
    _b("U,ctrl+r", "redo", "redo", "redo", False),
    _b("slash", "search", "search", "search"),
    _b("f", "filter", "filter", "filter"),
    _b("v", "cycle_status", "status view", "cycle_status", False),
    _b("ctrl+l", "refresh", "refresh", "refresh", False),
    _b("escape", "cancel_filter", "stop a filter still running", "cancel_filter", False),
    _b("s", "toggle_system", "system prompt", "toggle_system", False),
    _b("o", "app.sort_suspicious", "order: id / most suspicious first (IFD)", "sort_suspicious", False),
    _b("J", "scroll_detail(1)", "scroll detail down", "detail_down", False),
    _b("K", "scroll_detail(-1)", "scroll detail up", "detail_up", False),
    _b("L", "label_set", "label set", "label_set", False),
    _b("d", "app.duplicates", "duplicates", "duplicates"),
    _b("S", "app.stats", "stats", "stats"),
    _b("D", "app.dedup", "run dedup", "run_dedup", False),
    _b("P", "app.split", "split", "run_split", False),
    _b("E", "app.export", "export", "run_export", False),
    _b("tab", "app.focus_next", "switch pane", "focus_next", False),
    _b("q", "app.quit", "quit", "quit"),
    *[_b(str(n), f"label({n})", f"label {n}", id, False) for id, n in LABEL_KEYS.items()],
    _b("C", "conflicts", "conflicts: keep one, or make a preference pair", "conflicts", False),
]
