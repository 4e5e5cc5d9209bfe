"""A preference pair (or a KTO feedback row) in the detail pane: the prompt once, then the two
answers, side by side when the pane is wide and tall enough, else stacked (chosen above
rejected). The words that only one answer has are highlighted (a word-level diff, difflib over
words and punctuation); the sides are labelled "chosen ✓" and "rejected ✗", so the view reads
without colour too.

Everything shown from the record goes through `literal` first (control characters as visible
symbols), as in the rest of the app.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Any

from rich import box
from rich.console import RenderableType
from rich.style import Style
from rich.table import Table
from rich.text import Text

from curator.tui.text import _json, content_text, conversation, literal

#: side by side needs at least this many columns a side (else the two answers are stacked)
SIDE_MIN_WIDTH = 34
#: ... and a pane at least this tall: a short pane (80x24 has about nine lines) shows more of
#: each answer stacked, and the answers' first lines before the rest
SIDE_MIN_HEIGHT = 16
#: answers longer than this (words, spaces and punctuation of both together) are shown without
#: the word diff: difflib's cost grows with the product of the two lengths
DIFF_MAX_TOKENS = 20_000

CHOSEN_LABEL = "chosen ✓"
REJECTED_LABEL = "rejected ✗"

#: the style names the pair view asks for, beside conversation's (text.STYLE_NAMES)
PAIR_STYLE_NAMES = ("chosen", "rejected", "diff")

_TOKEN = re.compile(r"\s+|\w+|[^\w\s]")


def side_by_side(width: int, height: int) -> bool:
    """Whether a pane of this size shows the two answers side by side (else stacked)."""
    return width >= 2 * SIDE_MIN_WIDTH + 3 and height >= SIDE_MIN_HEIGHT


def side_text(side: Any) -> str:
    """One answer (a list of messages) as the text shown and compared: each message's text, its
    role in brackets when the side is not one assistant message, tool calls as JSON."""
    if not isinstance(side, list):
        return _json(side)
    plain_answer = len(side) == 1 and isinstance(side[0], dict) \
        and side[0].get("role") == "assistant"
    parts: list[str] = []
    for m in side:
        if not isinstance(m, dict):
            parts.append(_json(m))
            continue
        text = content_text(m.get("content"))
        if not plain_answer:
            text = f"[{m.get('role', '?')}] {text}".rstrip()
        calls = m.get("tool_calls")
        if calls:
            text += "\n[tool calls] " + _json(calls)
        parts.append(text)
    return literal("\n\n".join(parts))


def word_diff(a: str, b: str) -> tuple[list[tuple[str, bool]], list[tuple[str, bool]], float]:
    """Each text as (piece, only in this text) runs, and the share of words the two have in
    common (difflib's ratio). Whitespace is never marked. Over DIFF_MAX_TOKENS: nothing
    marked, and a ratio of -1 (not compared)."""
    if b < a:  # difflib's matching is not symmetric: the same marks whichever side is chosen
        back_b, back_a, back_ratio = word_diff(b, a)
        return back_a, back_b, back_ratio
    ta, tb = _TOKEN.findall(a), _TOKEN.findall(b)
    if len(ta) + len(tb) > DIFF_MAX_TOKENS:
        return [(a, False)], [(b, False)], -1.0
    matcher = difflib.SequenceMatcher(None, ta, tb, autojunk=False)
    ra: list[tuple[str, bool]] = []
    rb: list[tuple[str, bool]] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        same = op == "equal"
        _runs(ra, ta[i1:i2], not same)
        _runs(rb, tb[j1:j2], not same)
    return ra, rb, matcher.ratio()


def _runs(out: list[tuple[str, bool]], tokens: list[str], marked: bool) -> None:
    for tok in tokens:
        mark = marked and not tok.isspace()
        if out and out[-1][1] == mark:
            out[-1] = (out[-1][0] + tok, mark)
        else:
            out.append((tok, mark))


def _diff_text(runs: list[tuple[str, bool]], diff: Style | str) -> Text:
    text = Text(overflow="fold")
    for piece, marked in runs:
        text.append(piece, diff if marked else "")
    return text


def _label(name: str, tokens: int | None, style: Style | str) -> Text:
    label = Text(f" {name} ", style=style)
    if tokens is not None:
        label.append(f"  {tokens:,} tokens")
    return label


def _prompt_line(prompt: list[Any]) -> str:
    """The prompt's last user turn on one line (the pane too small for the whole pair)."""
    for m in reversed(prompt):
        if isinstance(m, dict) and m.get("role") == "user":
            return literal(content_text(m.get("content")), one_line=True)
    return ""


def is_pair(example: Any) -> bool:
    return isinstance(example, dict) and all(
        isinstance(example.get(k), list) for k in ("prompt", "chosen", "rejected"))


def is_feedback(example: Any) -> bool:
    return isinstance(example, dict) and isinstance(example.get("prompt"), list) \
        and isinstance(example.get("completion"), list) and isinstance(example.get("label"), bool)


def _prompt(prompt: list[Any], raw: str, st: Mapping[str, Style | str], *, show_system: bool,
            width: int) -> list[RenderableType]:
    n = len(prompt)
    out: list[RenderableType] = [Text(f"── prompt, {n} turn{'s' if n != 1 else ''} ──",
                                      style=st.get("meta", ""))]
    if prompt:
        out.extend(conversation({"messages": prompt}, raw, show_system=show_system,
                                styles=st, width=width))
    return out


def pair_view(pair: dict[str, Any], raw: str, *, styles: Mapping[str, Style | str],
              width: int, height: int, show_system: bool, answer_first: bool = False,
              sides: Mapping[str, int] | None = None) -> list[RenderableType]:
    """The pair's lines for the detail pane (below its header, tokens and issues).

    `answer_first` (the pair does not fit the pane): the prompt's last user turn cut to one
    line, the two answers, then the whole prompt."""
    st = styles

    def sty(name: str) -> Style | str:
        return st.get(name, "")

    prompt = pair["prompt"]
    chosen, rejected = side_text(pair["chosen"]), side_text(pair["rejected"])
    runs_c, runs_r, ratio = word_diff(chosen, rejected)
    sides = sides or {}
    out: list[RenderableType] = []
    if answer_first:
        line = Text("prompt: ", style=sty("meta"), no_wrap=True, overflow="ellipsis")
        line.append(_prompt_line(prompt))
        out.append(line)
    else:
        out.extend(_prompt(prompt, raw, st, show_system=show_system, width=width))
        out.append(Text(""))
        out.append(Text("── answers: the words only one of them has are marked ──",
                        style=sty("meta")))
    label_c = _label(CHOSEN_LABEL, sides.get("chosen"), sty("chosen"))
    label_r = _label(REJECTED_LABEL, sides.get("rejected"), sty("rejected"))
    label_r.append("  not compared (too long)" if ratio < 0 else f"  {ratio:.0%} alike",
                   sty("meta"))
    text_c, text_r = _diff_text(runs_c, sty("diff")), _diff_text(runs_r, sty("diff"))
    if not chosen:
        text_c = Text("(empty)", style=sty("meta"))
    if not rejected:
        text_r = Text("(empty)", style=sty("meta"))
    if side_by_side(width, height):
        table = Table(box=box.MINIMAL, expand=True, show_header=True, show_edge=False,
                      pad_edge=False, padding=(0, 1), header_style="")
        table.add_column(label_c, ratio=1, overflow="fold")
        table.add_column(label_r, ratio=1, overflow="fold")
        table.add_row(text_c, text_r)
        out.append(table)
    else:
        out.extend([label_c, text_c, Text(""), label_r, text_r])
    if answer_first:
        out.append(Text(""))
        out.append(Text("the whole prompt:", style=sty("meta")))
        out.extend(_prompt(prompt, raw, st, show_system=show_system, width=width))
    return out


def feedback_view(row: dict[str, Any], raw: str, *, styles: Mapping[str, Style | str],
                  width: int, show_system: bool,
                  answer_first: bool = False) -> list[RenderableType]:
    """A KTO feedback row: the prompt, then the completion under its label (good or bad)."""
    st = styles
    good = bool(row["label"])
    label = Text(f" completion: {'good ✓ (desirable)' if good else 'bad ✗ (undesirable)'} ",
                 style=st.get("chosen" if good else "rejected", ""))
    completion = conversation({"messages": row["completion"]}, raw, show_system=show_system,
                              styles=st, width=width)
    prompt = _prompt(row["prompt"], raw, st, show_system=show_system, width=width)
    if answer_first:
        return [label, *completion, Text(""), *prompt]
    return [*prompt, Text(""), label, *completion]
