"""Which tokens of a chat example a model trains on, under its own chat template.

One rule for the trainer (`curator.train.chat` builds its labels from it) and the token counter
(`curator.tokens.HFTokenCounter` counts `tokens_trained` from it), so `validate`/`import` and
`train` count the same trained tokens for one template. No torch here: the tokenizer is any
object with transformers' tokenizer interface.

Trained: the tokens of assistant turns whose `weight` is not 0, through the turn's end-of-turn
token (so the model learns to stop), never the role header before them nor template whitespace
after. Two ways to find them:

* `{% generation %}` blocks in the template: transformers returns the assistant mask itself;
  the i-th run of masked tokens is the i-th assistant turn.
* otherwise the prefix diff: render the conversation up to turn i with the generation prompt,
  and up to and including turn i; the tokens between the two are turn i. This holds only when each
  rendering is a prefix of the full one, in text and in tokens; when it does not (templates that
  rewrite earlier turns, BPE merges across a turn boundary) `trained_spans` says so in `problem`
  rather than guess.
"""

from __future__ import annotations

import contextlib
import copy
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from curator.formats.content import ContentError, content_text

GENERATION_BLOCK = re.compile(r"\{%-?\s*generation\s*-?%\}")
END_OF_TURN_TOKENS = ("<|im_end|>", "<|eot_id|>", "<|end|>", "<end_of_turn>", "</s>", "<|endoftext|>")

#: the fix for a template whose turns cannot be found by prefix
_USE_GENERATION = "use a template with {% generation %} blocks (--chat-template FILE)"


@dataclass(frozen=True, slots=True)
class Spans:
    """The example's token ids and the [start, stop) ranges trained, in order. When the
    trained tokens cannot be found, `problem` says why (one line) and `fix` what to do; `ids`
    may then be empty and `spans` is."""

    ids: list[int]
    spans: list[tuple[int, int]] = field(default_factory=list)
    problem: str | None = None
    fix: str | None = None

    @property
    def trained(self) -> int:
        return sum(stop - start for start, stop in self.spans)


def has_generation_blocks(template: Any) -> bool:
    """Whether a chat template marks assistant turns with `{% generation %}` (any spacing and
    whitespace control), so transformers can return the assistant-token mask."""
    return isinstance(template, str) and GENERATION_BLOCK.search(template) is not None


def template_messages(messages: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Messages as chat templates expect them: string content (parts joined with nothing), no
    `weight`, tool-call arguments as dicts (HF templates index into them; the OpenAI format
    stores a JSON string). Raises ContentError on a part a text-only template cannot take (an
    image)."""
    out: list[dict[str, Any]] = []
    for m in messages:
        d = {k: copy.deepcopy(v) for k, v in m.items() if k != "weight"}
        d["content"] = content_text(m.get("content"), images="error", others="error") or ""
        for call in d.get("tool_calls") or []:
            with contextlib.suppress(ValueError, TypeError, KeyError):  # not JSON: the template gets the string
                call["function"]["arguments"] = json.loads(call["function"]["arguments"])
        out.append(d)
    return out


def end_of_turn_ids(tokenizer: Any) -> set[int]:
    """The tokenizer's EOS and whichever common end-of-turn tokens its vocabulary has."""
    ids = {tokenizer.eos_token_id} if tokenizer.eos_token_id is not None else set()
    vocab = tokenizer.get_vocab()
    ids.update(vocab[t] for t in END_OF_TURN_TOKENS if t in vocab)
    return ids


def _render(tokenizer: Any, messages: list[dict[str, Any]], tools: Any, gen: bool) -> str:
    from curator.tokens import render_chat_template

    return str(render_chat_template(tokenizer, messages, tools=tools, tokenize=False,
                                    add_generation_prompt=gen))


def _ids(tokenizer: Any, text: str) -> list[int]:
    # The template already wrote every special token it wants (BOS included); adding more doubles them.
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def trained_spans(tokenizer: Any, messages: Sequence[Mapping[str, Any]], tools: Any = None) -> Spans:
    """The token ids of `messages` (OpenAI chat dicts, `weight` included) under the tokenizer's
    chat template, and the spans of the assistant turns that train. A template that fails to
    render raises curator.tokens.TemplateRenderError."""
    try:
        msgs = template_messages(messages)
    except ContentError:
        return Spans([], problem="an image content part cannot go through a text-only chat template",
                     fix="drop image examples from a text model's set")
    assistant = [i for i, m in enumerate(messages) if m.get("role") == "assistant"]
    trained = [i for i in assistant if messages[i].get("weight", 1) != 0]
    if has_generation_blocks(tokenizer.chat_template):
        return _generation_spans(tokenizer, msgs, tools, assistant, trained)
    full = _render(tokenizer, msgs, tools, gen=False)
    ids = _ids(tokenizer, full)
    ends = end_of_turn_ids(tokenizer)
    spans: list[tuple[int, int]] = []
    for i in trained:
        before = _render(tokenizer, msgs[:i], tools, gen=True) if i > 0 else ""
        upto = _render(tokenizer, msgs[: i + 1], tools, gen=False)
        if not (full.startswith(upto) and upto.startswith(before)):
            return Spans(ids, problem=f"the chat template renders message {i} differently once later "
                                      "messages follow, so the trained tokens cannot be found by prefix",
                         fix=f"{_USE_GENERATION}, as TRL's *_training.jinja templates do")
        b, u = _ids(tokenizer, before), _ids(tokenizer, upto)
        if ids[: len(u)] != u or u[: len(b)] != b:
            return Spans(ids, problem=f"message {i}: tokens of the conversation so far are not a prefix "
                                      "of the whole conversation's tokens (a token merges across the turn "
                                      "boundary)",
                         fix=f"{_USE_GENERATION}, or one that ends each turn with a special token")
        start, stop = len(b), len(u)
        last_end = max((j for j in range(start, stop) if ids[j] in ends), default=None)
        if last_end is not None:
            stop = last_end + 1  # train the end-of-turn token, not the whitespace after it
        if stop > start:
            spans.append((start, stop))
    return Spans(ids, spans)


def _generation_spans(tokenizer: Any, msgs: list[dict[str, Any]], tools: Any,
                      assistant: list[int], trained: list[int]) -> Spans:
    from curator.tokens import render_chat_template

    out = render_chat_template(tokenizer, msgs, tools=tools, tokenize=True, return_dict=True,
                               return_assistant_tokens_mask=True)
    ids = list(out["input_ids"])
    mask = list(out["assistant_masks"])
    runs: list[tuple[int, int]] = []
    for j, bit in enumerate(mask):
        if bit and (j == 0 or not mask[j - 1]):
            runs.append((j, j + 1))
        elif bit:
            runs[-1] = (runs[-1][0], j + 1)
    if len(runs) != len(assistant):
        return Spans(ids, problem=f"the template's {{% generation %}} blocks mark {len(runs)} spans for "
                                  f"{len(assistant)} assistant messages",
                     fix="each assistant message must render exactly one non-empty {% generation %} block")
    return Spans(ids, [run for turn, run in zip(assistant, runs, strict=True) if turn in trained])
