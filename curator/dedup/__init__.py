"""Duplicate detection over records: exact by content hash, near by verified MinHash LSH.

Pure functions returning data; marking duplicates (and undoing it) is the store's job.
"""

from curator.dedup.exact import ExactGroup, content_hash, exact_groups
from curator.dedup.minhash import (
    Shingling,
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

__all__ = [
    "Cluster",
    "DedupParams",
    "DedupResult",
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
