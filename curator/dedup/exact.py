"""Exact duplicates: identical normalised content, found by a 128-bit hash."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from curator.dedup.normalize import example_text, normalize_text

# 128 bits: a chance collision among a billion records is about 1e-21, so equal hashes are
# treated as equal content without comparing the texts.
DIGEST_SIZE = 16


@dataclass(frozen=True)
class ExactGroup:
    """Records whose normalised content is identical; `ids` in input order."""

    digest: str
    ids: tuple[int, ...]


def content_hash(normalised: str) -> bytes:
    return content_hash_bytes(normalised.encode("utf-8"))


def content_hash_bytes(normalised_utf8: bytes | memoryview) -> bytes:
    return hashlib.blake2b(normalised_utf8, digest_size=DIGEST_SIZE).digest()


def as_text(item: Mapping[str, Any] | str | bytes, *, include_system: bool,
            raw_ascii: bool = False) -> str:
    """A record's normalised text: a string is taken as already normalised; bytes are the
    example's JSON (parsed here, so a caller can hand raw JSON to worker processes).

    `raw_ascii`: an example whose text is ASCII comes back raw, for a caller that normalises
    ASCII itself (the dedup workers do it in compiled code, `kernels.normalise_ascii`)."""
    if isinstance(item, str):
        return item
    if isinstance(item, bytes):
        item = orjson.loads(item)
        assert isinstance(item, Mapping)
    text = example_text(item, include_system=include_system)
    return text if raw_ascii and text.isascii() else normalize_text(text)


def exact_groups(
    records: Iterable[tuple[int, Mapping[str, Any] | str]], *, include_system: bool = False
) -> list[ExactGroup]:
    """Groups of two or more records with identical normalised content, in first-seen order."""
    seen: dict[bytes, list[int]] = {}
    for record_id, item in records:
        seen.setdefault(content_hash(as_text(item, include_system=include_system)), []).append(
            record_id
        )
    return [ExactGroup(d.hex(), tuple(ids)) for d, ids in seen.items() if len(ids) > 1]
