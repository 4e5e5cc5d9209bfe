"""Small modal screens: ask for a line of text, confirm, choose a bulk action, a job's result,
help."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Input, Static

from curator.tui.actions import BULK_REJECT_REASON, AddLabel, BulkAction, SetStatus
from curator.tui.text import literal
from curator.tui.visible import SafeInput, Shown


class Ask(ModalScreen[str | None]):
    """One line of input; enter answers, escape cancels (None).

    The value given (a note, the label set: text from the workspace) is shown in its visible
    form (control characters as ␛ …) and answered with them put back: unchanged, exactly as
    given."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "cancel")]

    def __init__(self, title: str, value: str = "", hint: str = "",
                 placeholder: str = "") -> None:
        super().__init__()
        self.title_text, self.value, self.hint, self.placeholder = title, value, hint, placeholder
        self.shown = Shown.of(value, one_line=True)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text(literal(self.title_text)), classes="dialog-title")
            yield SafeInput(self.shown.text, placeholder=self.placeholder, id="ask-input")
            if self.hint:
                yield Static(Text(self.hint), classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one(Input).cursor_blink = getattr(self.app, "cursor_blink", True)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.value == self.shown.text:
            self.dismiss(self.value)
        else:
            self.dismiss(self.shown.restore(event.value))

    def action_cancel(self) -> None:
        self.dismiss(None)


class Confirm(ModalScreen[bool]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y,enter", "answer(True)", "yes"), Binding("n,escape", "answer(False)", "no")]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text(self.question), classes="dialog-title")
            yield Static(Text("y: yes   n or escape: no"), classes="dialog-hint")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class BulkChoice(ModalScreen[BulkAction | None]):
    """Which action to apply in bulk: a status (SetStatus) or a label (AddLabel); None when
    cancelled."""

    #: the `pick` bindings' arguments (Textual's action syntax) and what each one chooses
    PICKS: ClassVar[dict[str, BulkAction]] = {
        "accept": SetStatus("accepted"), "reject": SetStatus("rejected", BULK_REJECT_REASON),
        "reset": SetStatus("pending")}

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "pick('accept')", "accept"), Binding("r,x", "pick('reject')", "reject"),
        Binding("p", "pick('reset')", "pending"), Binding("escape", "pick('')", "cancel"),
        *[Binding(str(i), f"label({i})", show=False) for i in range(1, 10)],
    ]

    def __init__(self, what: str, count: int, labels: list[str]) -> None:
        super().__init__()
        self.what, self.count, self.labels = what, count, labels

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text(f"Apply to {self.count:,} {literal(self.what, one_line=True)}"),
                         classes="dialog-title")
            lines = ["a  accept", "r  reject", "p  back to pending"]
            lines += [f"{i}  label {literal(n, one_line=True)}"
                      for i, n in enumerate(self.labels[:9], 1)]
            lines.append("escape  cancel")
            yield Static(Text("\n".join(lines)), classes="dialog-hint")

    def action_pick(self, what: str) -> None:
        self.dismiss(self.PICKS.get(what))

    def action_label(self, n: int) -> None:
        if n <= len(self.labels):
            self.dismiss(AddLabel(self.labels[n - 1]))


class Result(ModalScreen[None]):
    """What a job (dedup, split, export) did, in a few lines; any key that closes dismisses."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter,q,space", "close", "close")]

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self.title_text, self.text = title, text

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="result"):
            yield Static(Text(literal(self.title_text, one_line=True)), classes="dialog-title")
            with VerticalScroll(id="result-body"):
                yield Static(Text(literal(self.text)), id="result-text")
            yield Static(Text("enter or escape: close"), classes="dialog-hint")

    def action_close(self) -> None:
        self.dismiss(None)


class Help(Screen[None]):
    """Every key of the screen below, with what it does (current keymap applied)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "app.pop_screen", "close")]

    def __init__(self, rows: list[tuple[str, str]], extra: str = "") -> None:
        super().__init__()
        self.rows, self.extra = rows, extra

    def compose(self) -> ComposeResult:
        width = max((len(k) for k, _ in self.rows), default=4) + 2
        text = Text("Keys (rebind with --keymap FILE; ids in brackets)\n\n")
        for keys, what in self.rows:  # label names are in `what`: shown literally
            text.append(f"{literal(keys, one_line=True):<{width}}", "bold")
            text.append(f"{literal(what).replace(chr(10), ' ')}\n")
        if self.extra:
            text.append("\n" + literal(self.extra))
        with VerticalScroll(id="help-body"):
            yield Static(text)
        yield Static(Text("escape / q / ?: close"), id="help-footer")
