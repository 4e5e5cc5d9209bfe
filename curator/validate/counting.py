"""Token counting for validation: the shared counter when there is one, else a small adapter.

`make_counter` is what each worker process calls once. It prefers `curator.tokens.get_counter`
(the project's fast, exact counter); until that exists it falls back to `TiktokenChatCounter`,
which counts the way the OpenAI cookbook does (3 tokens per message, +1 for a name, +3 to prime
the reply) with tiktoken's own encoder.
"""

from __future__ import annotations

from typing import Any

from curator import tokens
from curator.tokens import ChatCount, TokenCounter

PER_MESSAGE = 3
PER_NAME = 1
REPLY_PRIMER = 3


class TiktokenChatCounter:
    """Cookbook-style chat counts over a tiktoken encoding (encode_ordinary: text is data)."""

    def __init__(self, encoding: str) -> None:
        self.name = encoding
        self._encode = tokens.get_encoding(encoding).encode_ordinary
        self._small: dict[str, int] = {}

    def count_text(self, text: str) -> int:
        # Roles, names and repeated system prompts recur on every row; a bounded cache of short
        # strings skips re-encoding them without letting memory grow with the file.
        if len(text) <= 2048:
            n = self._small.get(text)
            if n is None:
                n = len(self._encode(text))
                if len(self._small) < 8192:
                    self._small[text] = n
            return n
        return len(self._encode(text))

    def count_chat(self, example: dict[str, Any]) -> ChatCount:
        total = REPLY_PRIMER
        trained = 0
        encode, count_text = self._encode, self.count_text
        for m in example.get("messages") or ():
            content = m.get("content")
            if len(m) == 2 and type(content) is str:  # the common {role, content} message, fast path
                body = len(encode(content)) if m.get("role") != "system" else count_text(content)
                n = PER_MESSAGE + count_text(m["role"]) + body
            else:
                body = -1
                n = PER_MESSAGE + self.message_tokens(m)
            total += n
            if m.get("role") == "assistant" and m.get("weight", 1) != 0:
                trained += body if body >= 0 else n - PER_MESSAGE - count_text("assistant")
        return ChatCount(total, trained)

    def message_tokens(self, m: dict[str, Any]) -> int:
        n = 0
        for key, value in m.items():
            if isinstance(value, str):
                if key in ("role", "content", "name", "refusal"):
                    n += self.count_text(value)
                    if key == "name":
                        n += PER_NAME
            elif key == "content" and isinstance(value, list):
                for part in value:
                    if isinstance(part, dict) and isinstance(part.get("text"), str):
                        n += self.count_text(part["text"])
            elif key == "tool_calls" and isinstance(value, list):
                for call in value:
                    fn = call.get("function") if isinstance(call, dict) else None
                    if isinstance(fn, dict):
                        for field in ("name", "arguments"):
                            if isinstance(fn.get(field), str):
                                n += self.count_text(fn[field])
        return n


def make_counter(target: str, model: str | None, encoding: str) -> TokenCounter:
    """The counter a worker uses; built once per process."""
    if approximate(target, model):
        return TiktokenChatCounter(encoding)
    counter: TokenCounter = tokens.get_counter(target, model)
    return counter


def approximate(target: str, model: str | None) -> bool:
    """True when the target counts with a model's tokenizer but none was named.

    TRL trains with the model's own tokenizer; without a local model folder curator counts
    with an OpenAI encoding instead and says so (`tokens.approximate`), rather than refusing.
    """
    return target == "trl" and model is None


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
