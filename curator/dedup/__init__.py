"""Duplicate detection over records: exact by content hash, near by verified MinHash LSH.

Pure functions returning data; marking duplicates (and undoing it) is the store's job.

The names below load on first use (PEP 562), so `curator.dedup.settings` (the defaults the CLI
shows in its help) is importable without numba and numpy, which the search itself needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from curator.dedup.exact import ExactGroup, content_hash, exact_groups
    from curator.dedup.minhash import (
        choose_bands,
        collision_probability,
        shingle_hashes,
        signatures,
    )
    from curator.dedup.near import (
        Cluster,
        DedupParams,
        DedupResult,
        DedupStats,
        KeeperRule,
        Member,
        find_duplicates,
    )
    from curator.dedup.normalize import example_text, normalize_example, normalize_text
    from curator.dedup.settings import SHINGLINGS, DedupSettings, Shingling

#: public name -> the submodule that defines it
_WHERE = {
    **dict.fromkeys(("ExactGroup", "content_hash", "exact_groups"), "exact"),
    **dict.fromkeys(("choose_bands", "collision_probability", "shingle_hashes",
                     "signatures"), "minhash"),
    **dict.fromkeys(("Cluster", "DedupParams", "DedupResult", "DedupStats", "KeeperRule", "Member",
                     "find_duplicates"), "near"),
    **dict.fromkeys(("example_text", "normalize_example", "normalize_text"), "normalize"),
    **dict.fromkeys(("SHINGLINGS", "DedupSettings", "Shingling"), "settings"),
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'curator.dedup' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"curator.dedup.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "SHINGLINGS",
    "Cluster",
    "DedupParams",
    "DedupResult",
    "DedupSettings",
    "DedupStats",
    "ExactGroup",
    "KeeperRule",
    "Member",
    "Shingling",
    "choose_bands",
    "collision_probability",
    "content_hash",
    "exact_groups",
    "example_text",
    "find_duplicates",
    "normalize_example",
    "normalize_text",
    "shingle_hashes",
    "signatures",
]
