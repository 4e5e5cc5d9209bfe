"""Dedup's settings in one place: what `curator dedup`, the split's leakage check and the pair
cache use, with their defaults.

Light on purpose (no numpy, no numba): the CLI reads the defaults for its help text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

ShingleUnit = Literal["char", "word"]


@dataclass(frozen=True)
class Shingling:
    """What a shingle is: `n` consecutive characters or `n` consecutive words."""

    unit: ShingleUnit = "char"
    n: int = 5

    def __post_init__(self) -> None:
        if self.unit not in ("char", "word"):
            raise ValueError(f"shingle unit must be 'char' or 'word', not {self.unit!r}")
        if self.n < 1:
            raise ValueError(f"shingle size must be at least 1, not {self.n}")

    def __str__(self) -> str:
        return f"{self.unit}-{self.n}"


#: the shingling names the CLI and the workspace accept
SHINGLINGS: Mapping[str, Shingling] = {"char5": Shingling("char", 5), "word5": Shingling("word", 5)}


@dataclass(frozen=True, slots=True)
class DedupSettings:
    """The settings that decide which records are duplicates (and so key the pair cache).

    `to_dict()` is what goes into meta (`dedup.params`, a split's `params["dedup"]`); its keys
    and order are part of the `--json` output and of the cache key, so they never change."""

    threshold: float = 0.8  # least Jaccard similarity of shingle sets for a near copy
    num_perm: int = 128  # MinHash permutations (a power of two)
    shingling: str = "char5"  # a key of SHINGLINGS
    include_system: bool = False  # compare system prompts too

    def validate(self) -> DedupSettings:
        """These settings, or ValueError (one line saying what is wrong)."""
        if self.shingling not in SHINGLINGS:
            raise ValueError(f"unknown shingling {self.shingling!r}; choose {', '.join(SHINGLINGS)}")
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"threshold {self.threshold} must be above 0 and at most 1")
        if self.num_perm < 2 or self.num_perm & (self.num_perm - 1):
            raise ValueError(f"num_perm must be a power of two, not {self.num_perm}")
        return self

    @property
    def shingles(self) -> Shingling:
        return SHINGLINGS[self.shingling]

    def to_dict(self) -> dict[str, Any]:
        return {"threshold": self.threshold, "num_perm": self.num_perm,
                "shingling": self.shingling, "include_system": self.include_system}

    @classmethod
    def from_meta(cls, stored: Mapping[str, Any] | None) -> DedupSettings:
        """The settings a stored run used (`dedup.params`), the defaults for any it lacks."""
        if stored is None:
            return cls()
        fields = cls().to_dict()
        return cls(**{k: stored[k] for k in fields if k in stored})
