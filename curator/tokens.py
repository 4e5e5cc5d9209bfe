"""Token counts. SKELETON: interface only; the real, offline, fast implementation replaces it.

A counter counts a canonical chat example (OpenAI chat dict) once: `total` is every token the
model sees (the OpenAI cookbook's per-message overhead included for OpenAI encodings) and
`trained` the tokens of assistant turns whose weight is not 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class ChatCount:
    total: int
    trained: int


class TokenCounter(Protocol):
    name: str

    def count_chat(self, example: dict[str, Any]) -> ChatCount: ...

    def count_text(self, text: str) -> int: ...
