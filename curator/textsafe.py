"""Text from records, files and users made safe to show: every character visible, nothing run.

Records, file names, labels, notes and command-line values may hold anything: ANSI escape
sequences (CSI colours, OSC window titles and clipboard writes), other control characters,
bidirectional overrides that make text display in another order than it is stored. `literal`
turns each of them into a visible symbol (ESC becomes ␛, a bidi override <U+202E>), so that
what reaches a terminal is only text. The review app (curator.tui.text) and every human-facing
line of the CLI (curator.cli.output) use this one function; `--json` output is exact instead.

It keeps newlines (and, with keep_tabs, tabs): they move the cursor but cannot rewrite what is
on the screen. Markup is a separate matter: print through Rich only as `rich.text.Text`.
"""

from __future__ import annotations

import re

# C0 controls except newline and tab, DEL, C1 controls, and the bidi overrides that can make
# text display in a different order than it is stored.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _visible(m: re.Match[str]) -> str:
    ch = m.group(0)
    code = ord(ch)
    if code < 0x20:
        return chr(0x2400 + code)  # the Unicode "control picture": ␛ for ESC
    if code == 0x7F:
        return "\u2421"
    return f"<U+{code:04X}>"


def literal(value: object, *, one_line: bool = False, keep_tabs: bool = False) -> str:
    """`value` as text whose every character is printable (newlines kept).

    one_line folds all whitespace (newlines and tabs included) into single spaces; otherwise a
    tab becomes four spaces unless keep_tabs (the CLI's tab-separated columns)."""
    text = value if isinstance(value, str) else str(value)
    text = _CONTROL.sub(_visible, text.replace("\r\n", "\n"))
    if one_line:
        return " ".join(text.split())
    if not keep_tabs:
        text = text.replace("\t", "    ")
    return text
