"""Rendering an example with the model's chat template, and which tokens the loss trains.

Which tokens train is decided in `curator.chat_template.trained_spans` (the token counter uses
the same rule, so `validate` and `train` count the same trained tokens): the tokens of assistant
turns whose `weight` is not 0, through the turn's end-of-turn token, found by the template's
`{% generation %}` blocks or else by prefix diff. Here the spans become labels, and what the
rule cannot do stops the run before any step (PreflightError with the fix).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from curator.chat_template import end_of_turn_ids as end_of_turn_ids
from curator.chat_template import template_messages as _template_messages
from curator.chat_template import trained_spans
from curator.formats.content import ContentError
from curator.schema import AssistantMessage, ChatExample
from curator.train.data import Example
from curator.train.errors import PreflightError, UsageError

IGNORE = -100


@dataclass(slots=True)
class Encoded:
    example: Example
    input_ids: list[int]
    labels: list[int]  # IGNORE where not trained
    truncated: bool = False

    @property
    def n_trained(self) -> int:
        return sum(1 for x in self.labels if x != IGNORE)


def _dicts(chat: ChatExample) -> list[dict[str, Any]]:
    return [m.model_dump(exclude_none=True) for m in chat.messages]


def _tools(chat: ChatExample) -> list[dict[str, Any]] | None:
    return [t.model_dump(exclude_none=True) for t in chat.tools] if chat.tools else None


def template_messages(chat: ChatExample) -> list[dict[str, Any]]:
    """Messages as chat templates expect them (`curator.chat_template.template_messages`)."""
    try:
        return _template_messages(_dicts(chat))
    except ContentError:
        raise PreflightError("an image content part cannot go through a text-only chat template",
                             fix="drop image examples from a text model's set") from None


def apply_template(tokenizer: Any, messages: list[dict[str, Any]], where: str, **kwargs: Any) -> Any:
    """`apply_chat_template`; a template that raises, or that the jinja sandbox refuses, is a
    one-line usage error naming the example (exit 2), never a traceback."""
    from curator.tokens import TemplateRenderError, render_chat_template

    try:
        return render_chat_template(tokenizer, messages, **kwargs)
    except TemplateRenderError as exc:
        raise UsageError(f"{where}: {exc}",
                         fix="fix the model's chat template or pass --chat-template FILE with one that works") from exc


def _render(tokenizer: Any, messages: list[dict[str, Any]], tools: Any, gen: bool, where: str = "an example") -> str:
    text = apply_template(tokenizer, messages, where, tools=tools, tokenize=False, add_generation_prompt=gen)
    return str(text)


def encode(tokenizer: Any, ex: Example) -> Encoded:
    """Token ids and labels for one example (no truncation here)."""
    from curator.tokens import TemplateRenderError

    try:
        found = trained_spans(tokenizer, _dicts(ex.chat), _tools(ex.chat))
    except TemplateRenderError as exc:
        raise UsageError(f"{ex.where}: {exc}",
                         fix="fix the model's chat template or pass --chat-template FILE with one that works") from exc
    if found.problem is not None:
        raise PreflightError(f"{ex.where}: {found.problem}", fix=found.fix)
    labels = [IGNORE] * len(found.ids)
    for start, stop in found.spans:
        labels[start:stop] = found.ids[start:stop]
    return Encoded(ex, found.ids, labels)


def dropped_tool_calls(tokenizer: Any, ex: Example) -> list[int]:
    """Assistant turns whose tool calls the chat template does not render (templates that ignore
    `tool_calls`, such as SmolLM2's): their rendering is an empty answer, which would train the
    model to say nothing. A call counts as rendered when its function name appears in the text the
    turn adds to the conversation."""
    turns = [i for i, m in enumerate(ex.chat.messages) if isinstance(m, AssistantMessage) and m.tool_calls]
    if not turns:
        return []
    msgs = template_messages(ex.chat)
    tools = _tools(ex.chat)
    dropped = []
    for i in turns:
        before = _render(tokenizer, msgs[:i], tools, gen=True) if i > 0 else ""
        upto = _render(tokenizer, msgs[: i + 1], tools, gen=False)
        added = upto[len(before):] if upto.startswith(before) else upto
        names = [c["function"]["name"] for c in msgs[i].get("tool_calls", [])]
        if not all(n in added for n in names):
            dropped.append(i)
    return dropped


def truncate(enc: Encoded, max_length: int) -> Encoded:
    """Keep the start (as TRL does); what is cut is reported by the caller."""
    if len(enc.input_ids) <= max_length:
        return enc
    return Encoded(enc.example, enc.input_ids[:max_length], enc.labels[:max_length], truncated=True)
