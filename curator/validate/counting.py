"""Token counting for validation: which counter a target gets, and where training starts.

`make_counter` is what each worker process calls once:

* openai / azure: `curator.tokens.get_counter` (exact o200k/cl100k counts, cookbook method).
* any target with `--model` naming a local folder: that model's tokenizer and chat template.
* trl, lf, together without a local model: the OpenAI encoding of the default model, flagged
  as an approximation (`tokens.approximate`) rather than refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from curator import tokens
from curator.tokens import TokenCounter

PER_MESSAGE = 3

#: targets whose counts come from OpenAI's encodings (the others train with a model's own tokenizer)
OPENAI_TARGETS = ("openai", "azure")


def is_local_model(model: str | None) -> bool:
    return model is not None and Path(model).is_dir()


def make_counter(target: str, model: str | None, encoding: str) -> TokenCounter:
    """The counter a worker uses; built once per process."""
    if is_local_model(model):
        return tokens.get_counter("trl", model)
    if target in OPENAI_TARGETS:
        counter: TokenCounter = tokens.get_counter(target, model)
        return counter
    return tokens.TiktokenCounter(encoding)


def approximate(target: str, model: str | None) -> bool:
    """True when the target counts with a model's tokenizer but no local model was named.

    TRL, LLaMA-Factory and Together train with the model's own tokenizer; without a local model
    folder curator counts with an OpenAI encoding instead and says so (`tokens.approximate`).
    """
    return target not in OPENAI_TARGETS and not is_local_model(model)


def first_trained_offset(counter: TokenCounter, example: dict[str, Any]) -> int | None:
    """Tokens before the first trained assistant message (None if nothing is trained).

    Only called for the rare example over the limit, so it may recount message by message.
    """
    pos = 0
    for m in example.get("messages") or ():
        if not isinstance(m, dict):
            continue
        if m.get("role") == "assistant" and m.get("weight", 1) != 0:
            return pos + PER_MESSAGE + counter.count_text("assistant")
        pos += PER_MESSAGE + sum(counter.count_text(v) for k, v in m.items()
                                 if isinstance(v, str) and k in ("role", "content", "name"))
    return None
