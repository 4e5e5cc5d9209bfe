"""Editable text that never sends a control character to the terminal.

Record text, notes and label names may hold control characters (ANSI/OSC escape sequences,
BEL, bidi overrides). Textual's TextArea and Input draw their text as it is, so such a
character would reach the terminal (set its title, clear the screen, write its clipboard).
`Shown` gives the visible form to edit (the rule of `literal`: ESC as ␛, U+202E as <U+202E>)
and puts the stand-ins back into the characters they stand for afterwards, so that text saved
unchanged is exactly what it was. `SafeTextArea` and `SafeInput` leave control characters out
of a paste and check every line they draw once more.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rich.segment import Segment
from textual import events
from textual.strip import Strip
from textual.widgets import Input, TextArea

from curator.tui.text import literal

#: line separators TextArea splits at (str.splitlines) that `literal` leaves as they are: shown
#: as stand-ins too, or the TextArea would turn them into newlines
_SEPARATORS = {"\u2028": "<U+2028>", "\u2029": "<U+2029>"}


def standin(ch: str) -> str | None:
    """The visible text shown for one character that must not reach the terminal (the rule of
    `literal`, plus line separators); None for any other character."""
    if ch in "\n\t":
        return None
    if ch in _SEPARATORS:
        return _SEPARATORS[ch]
    shown = literal(ch)
    return shown if shown != ch else None


def has_controls(text: str) -> bool:
    return any(standin(ch) is not None for ch in set(text))


@dataclass
class Shown:
    """A text as a TextArea holds it, and how to get the original back."""

    original: str
    text: str
    #: stand-in -> the character it stands for (empty: the text is shown as it is)
    back: dict[str, str] = field(default_factory=dict)
    #: False when the stand-ins cannot be told apart from text that looks the same
    editable: bool = True

    @classmethod
    def of(cls, original: str, *, one_line: bool = False) -> Shown:
        """`one_line` (an Input): newlines and tabs get stand-ins too (␊ ␉)."""
        extra = {"\n": "\u240a", "\t": "\u2409"} if one_line else {}

        def visible(ch: str) -> str | None:
            return extra.get(ch) or standin(ch)

        back = {s: ch for ch in set(original) if (s := visible(ch)) is not None}
        if not back:
            return cls(original, original)
        shown = cls(original, "", back)
        shown.text = "".join(visible(ch) or ch for ch in original)
        shown.editable = shown.restore(shown.text) == original
        return shown

    def restore(self, text: str) -> str:
        """The text with every stand-in put back into its character."""
        if not self.back:
            return text
        alternatives = "|".join(re.escape(s) for s in sorted(self.back, key=len, reverse=True))
        return re.sub(alternatives, lambda m: self.back[m.group(0)], text)


def _safe_segments(strip: Strip) -> Strip:
    if not has_controls(strip.text):
        return strip
    return Strip([Segment("".join(standin(ch) or ch for ch in seg.text), seg.style, seg.control)
                  if not seg.control else seg for seg in strip])


class SafeTextArea(TextArea):
    """A TextArea that never draws a control character, and leaves them out of a paste."""

    def render_line(self, y: int) -> Strip:
        return _safe_segments(super().render_line(y))

    async def _on_paste(self, event: events.Paste) -> None:
        text = event.text.replace("\r\n", "\n").replace("\r", "\n")
        clean = "".join(ch for ch in text if standin(ch) is None)
        if clean != text:
            self.notify("Control characters in the paste were left out.", markup=False)
        if clean:
            await super()._on_paste(events.Paste(clean))
        event.stop()
        event.prevent_default()


class SafeInput(Input):
    """An Input that never draws a control character, and leaves them out of a paste."""

    def render_line(self, y: int) -> Strip:
        return _safe_segments(super().render_line(y))

    def _on_paste(self, event: events.Paste) -> None:
        line = event.text.replace("\r\n", "\n").replace("\r", "\n").split("\n")[0]
        clean = "".join(ch for ch in line if standin(ch) is None)
        if clean != line:
            self.notify("Control characters in the paste were left out.", markup=False)
        if clean:
            super()._on_paste(events.Paste(clean))
        event.stop()
        event.prevent_default()
