"""Rendering an example with the model's chat template, and which tokens the loss trains.

Trained: the tokens of assistant turns whose `weight` is not 0, through the turn's end-of-turn
token (so the model learns to stop), never the role header before them nor template whitespace
after. Two ways to find them:

* `{% generation %}` blocks in the template: transformers returns the assistant mask itself;
  the i-th run of masked tokens is the i-th assistant turn.
* otherwise the prefix diff: render the conversation up to turn i with the generation prompt,
  and up to and including turn i; the tokens between the two are turn i. This holds only when each
  rendering is a prefix of the full one, in text and in tokens; when it does not (templates that
  rewrite earlier turns, BPE merges across a turn boundary) we stop and say so rather than guess.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass
from typing import Any

from curator.formats.content import ContentError, content_text
from curator.schema import AssistantMessage, ChatExample
from curator.train.data import Example
from curator.train.errors import PreflightError, UsageError

IGNORE = -100
GENERATION_BLOCK = re.compile(r"\{%-?\s*generation\s*-?%\}")
END_OF_TURN_TOKENS = ("<|im_end|>", "<|eot_id|>", "<|end|>", "<end_of_turn>", "</s>", "<|endoftext|>")


@dataclass(slots=True)
class Encoded:
    example: Example
    input_ids: list[int]
    labels: list[int]  # IGNORE where not trained
    truncated: bool = False

    @property
    def n_trained(self) -> int:
        return sum(1 for x in self.labels if x != IGNORE)


def _text(content: Any) -> str:
    try:
        return content_text(content, images="error", others="error")
    except ContentError:
        raise PreflightError("an image content part cannot go through a text-only chat template",
                             fix="drop image examples from a text model's set") from None


def template_messages(chat: ChatExample) -> list[dict[str, Any]]:
    """Messages as chat templates expect them: string content, no `weight`, tool-call arguments
    as dicts (HF templates index into them; the OpenAI format stores a JSON string)."""
    out: list[dict[str, Any]] = []
    for m in chat.messages:
        d = m.model_dump(exclude_none=True, exclude={"weight"})
        d["content"] = _text(getattr(m, "content", None)) or ""
        for call in d.get("tool_calls", []):
            with contextlib.suppress(ValueError, TypeError):  # not JSON: the template gets the string
                call["function"]["arguments"] = json.loads(call["function"]["arguments"])
        out.append(d)
    return out


def end_of_turn_ids(tokenizer: Any) -> set[int]:
    ids = {tokenizer.eos_token_id} if tokenizer.eos_token_id is not None else set()
    vocab = tokenizer.get_vocab()
    ids.update(vocab[t] for t in END_OF_TURN_TOKENS if t in vocab)
    return ids


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


def _ids(tokenizer: Any, text: str) -> list[int]:
    # The template already wrote every special token it wants (BOS included); adding more doubles them.
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def encode(tokenizer: Any, ex: Example) -> Encoded:
    """Token ids and labels for one example (no truncation here)."""
    msgs = template_messages(ex.chat)
    tools = [t.model_dump(exclude_none=True) for t in ex.chat.tools] if ex.chat.tools else None
    trained_turns = [i for i, m in enumerate(ex.chat.messages)
                     if isinstance(m, AssistantMessage) and m.weight != 0]
    assistant_turns = [i for i, m in enumerate(ex.chat.messages) if isinstance(m, AssistantMessage)]
    if GENERATION_BLOCK.search(tokenizer.chat_template or ""):
        return _encode_generation(tokenizer, ex, msgs, tools, assistant_turns, trained_turns)
    full = _render(tokenizer, msgs, tools, gen=False, where=ex.where)
    ids = _ids(tokenizer, full)
    labels = [IGNORE] * len(ids)
    ends = end_of_turn_ids(tokenizer)
    for i in trained_turns:
        before = _render(tokenizer, msgs[:i], tools, gen=True) if i > 0 else ""
        upto = _render(tokenizer, msgs[: i + 1], tools, gen=False)
        if not (full.startswith(upto) and upto.startswith(before)):
            raise PreflightError(
                f"{ex.where}: the chat template renders message {i} differently once later messages follow, "
                "so the trained tokens cannot be found by prefix",
                fix="use a template with {% generation %} blocks (--chat-template FILE), as TRL's *_training.jinja templates do")
        b, u = _ids(tokenizer, before), _ids(tokenizer, upto)
        if ids[: len(u)] != u or u[: len(b)] != b:
            raise PreflightError(
                f"{ex.where}: message {i}: tokens of the conversation so far are not a prefix of the whole "
                "conversation's tokens (a token merges across the turn boundary)",
                fix="use a template with {% generation %} blocks (--chat-template FILE), or one that ends each turn with a special token")
        start, stop = len(b), len(u)
        last_end = max((j for j in range(start, stop) if ids[j] in ends), default=None)
        if last_end is not None:
            stop = last_end + 1  # train the end-of-turn token, not the whitespace after it
        for j in range(start, stop):
            labels[j] = ids[j]
    return Encoded(ex, ids, labels)


def dropped_tool_calls(tokenizer: Any, ex: Example) -> list[int]:
    """Assistant turns whose tool calls the chat template does not render (templates that ignore
    `tool_calls`, such as SmolLM2's): their rendering is an empty answer, which would train the
    model to say nothing. A call counts as rendered when its function name appears in the text the
    turn adds to the conversation."""
    turns = [i for i, m in enumerate(ex.chat.messages) if isinstance(m, AssistantMessage) and m.tool_calls]
    if not turns:
        return []
    msgs = template_messages(ex.chat)
    tools = [t.model_dump(exclude_none=True) for t in ex.chat.tools] if ex.chat.tools else None
    dropped = []
    for i in turns:
        before = _render(tokenizer, msgs[:i], tools, gen=True) if i > 0 else ""
        upto = _render(tokenizer, msgs[: i + 1], tools, gen=False)
        added = upto[len(before):] if upto.startswith(before) else upto
        names = [c["function"]["name"] for c in msgs[i].get("tool_calls", [])]
        if not all(n in added for n in names):
            dropped.append(i)
    return dropped


def _encode_generation(tokenizer: Any, ex: Example, msgs: list[dict[str, Any]], tools: Any,
                       assistant_turns: list[int], trained_turns: list[int]) -> Encoded:
    out = apply_template(tokenizer, msgs, ex.where, tools=tools, tokenize=True, return_dict=True,
                                        return_assistant_tokens_mask=True)
    ids = list(out["input_ids"])
    mask = list(out["assistant_masks"])
    runs: list[tuple[int, int]] = []
    for j, bit in enumerate(mask):
        if bit and (j == 0 or not mask[j - 1]):
            runs.append((j, j + 1))
        elif bit:
            runs[-1] = (runs[-1][0], j + 1)
    if len(runs) != len(assistant_turns):
        raise PreflightError(
            f"{ex.where}: the template's {{% generation %}} blocks mark {len(runs)} spans for "
            f"{len(assistant_turns)} assistant messages",
            fix="each assistant message must render exactly one non-empty {% generation %} block")
    labels = [IGNORE] * len(ids)
    for turn, (start, stop) in zip(assistant_turns, runs, strict=True):
        if turn in trained_turns:
            labels[start:stop] = ids[start:stop]
    return Encoded(ex, ids, labels)


def truncate(enc: Encoded, max_length: int) -> Encoded:
    """Keep the start (as TRL does); what is cut is reported by the caller."""
    if len(enc.input_ids) <= max_length:
        return enc
    return Encoded(enc.example, enc.input_ids[:max_length], enc.labels[:max_length], truncated=True)
