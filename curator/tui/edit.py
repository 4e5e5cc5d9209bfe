"""Editing one record: a TextArea per turn; the result is validated before anything is saved.

Record text may hold control characters (ANSI/OSC escapes, BEL, bidi overrides). A TextArea
draws its text as it is, so they would reach the terminal (set its title, clear the screen,
write the clipboard). Here every turn is shown in the visible form the list and detail panes
use (`literal`: ESC as ␛, U+202E as <U+202E>), and the stand-ins are put back into the
characters they stand for when the record is saved, so a record saved unchanged is exactly the
record it was. Where that cannot be done exactly (the text already holds one of its own
stand-ins), the turn is shown read-only and kept as it is. Pasted control characters are left
out, and every line drawn is checked once more before it reaches the screen (curator.tui.visible).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

import orjson
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static, TextArea

from curator.tui.text import literal
from curator.tui.visible import SafeTextArea, Shown
from curator.workspace import RecordDetail

if TYPE_CHECKING:  # the validator (numpy, the schema) loads only when an edit is checked
    from curator.workspace.prepare import ExampleCheck


#: the lists of turns an editor shows, per record kind (a chat's `messages` otherwise)
_KIND_SECTIONS: dict[str, tuple[str, ...]] = {
    "preference": ("prompt", "chosen", "rejected"),
    "feedback": ("prompt", "completion"),
}
#: how a turn's list is named above it (a chat's turns: nothing)
_SECTION_LABELS = {"messages": "", "prompt": "prompt ", "chosen": "chosen ✓ ",
                   "rejected": "rejected ✗ ", "completion": "completion "}


def _sections(kind: str, example: dict[str, Any]) -> tuple[str, ...]:
    sections = _KIND_SECTIONS.get(kind)
    if sections and all(isinstance(example.get(s), list) for s in sections):
        return sections
    return ("messages",)


class EditScreen(Screen[dict[str, Any] | None]):
    """Dismisses with the edited example once `check` finds no error; None when cancelled.

    Messages whose content is a string get a plain TextArea; any other content (parts, null)
    is edited as JSON. A preference pair shows its prompt, chosen and rejected turns (a KTO
    feedback row its prompt and completion), each labelled; `check` is the import's check of
    the whole pair, so an edit that breaks the pair (an empty side, two equal answers) is
    explained and not saved."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s,f2", "save", "save", id="edit_save"),
        Binding("escape", "cancel", "cancel", id="edit_cancel"),
    ]

    def __init__(self, record: RecordDetail,
                 check: Callable[[dict[str, Any]], ExampleCheck]) -> None:
        super().__init__()
        self.record = record
        self.check = check
        example = record.example or {}
        self.example = copy.deepcopy(example)
        #: per turn: the list it is in (`messages`; a pair's prompt, chosen, rejected; a
        #: feedback row's prompt, completion) and its place there
        self.places: list[tuple[str, int]] = []
        self.messages: list[Any] = []
        for section in _sections(record.kind, example):
            turns = example.get(section)
            for j, m in enumerate(turns if isinstance(turns, list) else []):
                self.places.append((section, j))
                self.messages.append(m)
        #: per turn: its text as shown (None for a turn that is not a message)
        self.shown: list[Shown | None] = []
        for m in self.messages:
            content = m.get("content") if isinstance(m, dict) else m
            text = content if isinstance(content, str) else \
                orjson.dumps(content, option=orjson.OPT_INDENT_2).decode()
            self.shown.append(Shown.of(text) if isinstance(m, dict) else None)

    def compose(self) -> ComposeResult:
        yield Static(Text(f"Editing record {self.record.id}: ctrl+s or F2 saves (after "
                          f"validation), escape cancels"), id="edit-title")
        if any(s is not None and s.back for s in self.shown):
            yield Static(Text("Control characters are shown as ␛, ␇, <U+202E>…; "
                              "saving puts them back as they were."), id="edit-controls")
        with VerticalScroll(id="edit-body"):
            if not self.messages:
                yield Static(Text("This record has no messages to edit."))
            for i, m in enumerate(self.messages):
                role = m.get("role", "?") if isinstance(m, dict) else "?"
                content = m.get("content") if isinstance(m, dict) else m
                as_json = not isinstance(content, str)
                shown = self.shown[i]
                locked = shown is not None and not shown.editable
                section, j = self.places[i]
                label = f"{_SECTION_LABELS.get(section, section)}#{j} " \
                    f"{literal(role, one_line=True)}" + (" (JSON)" if as_json else "")
                if locked:
                    label += (" (read-only: it holds control characters and text that looks "
                              "like their stand-ins)")
                yield Static(Text(label), classes="edit-role")
                text = shown.text if shown is not None else literal(orjson.dumps(m).decode())
                area = SafeTextArea(text, id=f"turn-{i}", classes="edit-turn", soft_wrap=True,
                                    read_only=locked or shown is None)
                area.json_mode = as_json  # type: ignore[attr-defined]
                yield area
        yield Static(id="edit-errors")

    def on_mount(self) -> None:
        blink = getattr(self.app, "cursor_blink", True)
        for area in self.query(TextArea):
            area.cursor_blink = blink
        editable = [a for a in self.query(TextArea) if not a.read_only]
        if editable:
            editable[0].focus()

    def edited(self) -> dict[str, Any]:
        """The example with every TextArea's text put back; raises ValueError on bad JSON."""
        example = copy.deepcopy(self.example)
        for i, (section, j) in enumerate(self.places):
            area = self.query_one(f"#turn-{i}", TextArea)
            shown = self.shown[i]
            message = example[section][j]
            if not isinstance(message, dict) or shown is None or not shown.editable \
                    or area.text == shown.text:
                continue  # not a message, read-only, or unchanged: kept exactly as it was
            text = shown.restore(area.text)
            if getattr(area, "json_mode", False):
                try:
                    message["content"] = orjson.loads(text) if text.strip() else None
                except orjson.JSONDecodeError as exc:
                    where = f"message {j}" if section == "messages" else f"{section} {j}"
                    raise ValueError(f"{where}: not valid JSON ({exc})") from None
            else:
                message["content"] = text
        return example

    def explain(self, lines: list[str]) -> None:
        box = self.query_one("#edit-errors", Static)
        box.update(Text("Not saved:\n" + "\n".join(literal(x) for x in lines)))
        box.add_class("shown")

    def action_save(self) -> None:
        try:
            example = self.edited()
        except ValueError as exc:
            self.explain([str(exc)])
            return
        result = self.check(example)
        if not result.ok:
            self.explain([f"{i.code}: {i.message}" + (f" (message {i.message_index})"
                                                      if i.message_index is not None else "")
                          for i in result.issues if i.severity == "error"])
            return
        self.dismiss(example)

    def action_cancel(self) -> None:
        self.dismiss(None)
