"""Record text made safe to draw: every character shown literally, nothing interpreted.

Records may hold anything: Rich/Textual markup (`[bold]`, `[/]`, `[link=...]`), ANSI escape
sequences, other control characters. Everything the app draws from a record goes through
`literal` (curator.textsafe, the one rule the CLI uses too) into a `rich.text.Text` (never a
markup string), so markup stays text and escapes show as visible symbols instead of reaching
the terminal.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Group, RenderableType
from rich.style import Style
from rich.text import Text

from curator.textsafe import literal as literal  # the app's modules import it from here


def plain(value: object, style: str = "", *, one_line: bool = False) -> Text:
    return Text(literal(value, one_line=one_line), style=style, no_wrap=one_line,
                overflow="ellipsis" if one_line else "fold")


def content_text(content: Any) -> str:
    """A message's content as text for the screen: text parts one per line (presentation, not
    data: curator.formats.content joins them with nothing), anything else as JSON."""
    from curator.formats.content import content_text as text_of

    return text_of(content, images="json", others="json", sep="\n")


def _json(value: Any) -> str:
    import orjson

    try:
        return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()
    except TypeError:
        return repr(value)


#: the style names `conversation` asks for; the widget maps them from its stylesheet.
STYLE_NAMES = ("role-system", "role-user", "role-assistant", "role-tool", "role-other", "meta",
               "call", "untrained")


def role_style(role: str) -> str:
    return {"system": "role-system", "developer": "role-system", "user": "role-user",
            "assistant": "role-assistant", "tool": "role-tool"}.get(role, "role-other")


def last_answer(messages: list[Any]) -> int | None:
    """The index of the last assistant turn (the answer a reviewer judges), if any."""
    for i in range(len(messages) - 1, -1, -1):
        m = messages[i]
        if isinstance(m, dict) and m.get("role") == "assistant":
            return i
    return None


def conversation(example: dict[str, Any] | None, raw: str, *, show_system: bool,
                 styles: Mapping[str, Style | str] | None = None,
                 width: int = 80, answer_first: bool = False) -> list[RenderableType]:
    """One block per turn: a role line, then the content, tool calls and tool results.

    `answer_first` (for a pane too small for the whole record) puts the last assistant turn,
    the answer being judged, before the conversation, where it stands in as one line."""
    st: Mapping[str, Style | str] = styles or {}

    def sty(name: str) -> Style | str:
        return st.get(name, "")

    out: list[RenderableType] = []
    if example is None:
        out.append(Text("(not parseable; the raw line)", style=sty("meta")))
        out.append(plain(raw))
        return out
    messages = example.get("messages")
    if not isinstance(messages, list):
        out.append(Text(f"(format without messages: {literal(', '.join(map(str, example)))})",
                        style=sty("meta")))
        out.append(plain(_json(example)))
        return out
    answer = last_answer(messages) if answer_first else None
    if answer is not None:
        out.extend(_turn(answer, messages[answer], st, show_system, width,
                         note="the answer judged; the whole conversation follows"))
        out.append(Text(f"── conversation, {len(messages)} turns ──", style=sty("meta")))
    for i, m in enumerate(messages):
        if i == answer:
            out.append(Text.assemble((" assistant ", sty("role-assistant")),
                                     (f"  #{i}  the answer, shown above", sty("meta"))))
            continue
        out.extend(_turn(i, m, st, show_system, width))
    if out and isinstance(out[-1], Text) and not out[-1].plain:
        out.pop()  # no blank line after the last turn: one more line of the pane for text
    return out


def _turn(i: int, m: Any, st: Mapping[str, Style | str], show_system: bool,
          width: int, note: str = "") -> list[RenderableType]:
    def sty(name: str) -> Style | str:
        return st.get(name, "")

    if not isinstance(m, dict):
        return [plain(f"#{i} (not a message) {_json(m)}")]
    out: list[RenderableType] = []
    role = literal(m.get("role", "?"), one_line=True)
    head = Text.assemble((f" {role} ", sty(role_style(role))), (f"  #{i}", sty("meta")))
    if m.get("name"):
        head.append(f"  name={literal(m['name'], one_line=True)}", style=sty("meta"))
    if m.get("tool_call_id"):
        head.append(f"  tool result for {literal(m['tool_call_id'], one_line=True)}",
                    style=sty("call"))
    weight = m.get("weight")
    if weight is not None and not isinstance(weight, bool) and weight == 0:
        head.append("  weight 0: not trained", style=sty("untrained"))
    if note:
        head.append(f"  {note}", style=sty("meta"))
    if role in ("system", "developer") and not show_system:
        first = literal(content_text(m.get("content")), one_line=True)
        head.append(f"  {first[: max(10, width - 30)]}", style=sty("meta"))
        head.append("  (s: expand)", style=sty("meta"))
        return [head]
    out.append(head)
    text = content_text(m.get("content"))
    if text:
        out.append(plain(text))
    calls = m.get("tool_calls")
    if isinstance(calls, list):
        for call in calls:
            fn = call.get("function", {}) if isinstance(call, dict) else {}
            name = fn.get("name", "?") if isinstance(fn, dict) else "?"
            args = fn.get("arguments", "") if isinstance(fn, dict) else call
            cid = call.get("id", "") if isinstance(call, dict) else ""
            out.append(Text.assemble(("  tool call ", sty("call")),
                                     (literal(name, one_line=True), sty("call")),
                                     (f"  {literal(cid, one_line=True)}", sty("meta"))))
            out.append(plain(args if isinstance(args, str) else _json(args)))
    out.append(Text(""))
    return out


def group(items: list[RenderableType]) -> Group:
    return Group(*items)
