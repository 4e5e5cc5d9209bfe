"""Deterministic, group-atomic, optionally stratified splits with a sealed holdout.

Every record belongs to one unit: its group (a duplicate component, a --group-by value) or
itself. A unit's place comes from a 64-bit hash of (seed, unit key) read as a uniform number in
[0, 1), so the same units and seed always give the same splits, on any machine, in any order.

Without stratification the number picks the split directly (cumulative ratios as bucket
edges): a unit's split depends on nothing but its own key, so adding records never moves it.

With stratification each label is cut separately: its units are ordered by their number and
cut at the ratios by record count, so every class gets its share (a class of 10 records splits
8/1/1, not at random). The order is still a pure function of the seed and the keys, so the
result is deterministic; it depends on which units exist, which is why earlier assignments are
passed in as `existing` and sealed.

Sealing: a record in `existing` never moves and nothing leaves the holdout. A new record whose
unit already has placed records follows them. New units fill what their class still lacks of
each split's target share (never taking from a split that has more than its share).
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

DEFAULT_NAMES = ("train", "validation", "holdout")


class SplitError(ValueError):
    """Bad split parameters; the message says what to change."""


class SplitItem(NamedTuple):
    """One record to place (a named tuple: a split makes one a record, and a frozen dataclass
    took three times as long to build)."""

    id: int
    group: str | None = None  # records with one group are one unit; None: the record alone
    label: str | None = None  # the stratification class; None is a class of its own


@dataclass(frozen=True)
class SplitResult:
    splits: dict[int, str]  # record id -> split name, for every item given
    # units whose sealed records already sat in more than one split: reported, never moved
    straddling: list[str] = field(default_factory=list)


def check_ratios(ratios: Sequence[float], names: Sequence[str] = DEFAULT_NAMES) -> None:
    if len(ratios) != len(names):
        raise SplitError(
            f"{len(ratios)} ratios for {len(names)} splits ({', '.join(names)}); give one each"
        )
    if len(set(names)) != len(names):
        raise SplitError(f"split names must differ: {', '.join(names)}")
    for name, r in zip(names, ratios, strict=True):
        if not math.isfinite(r) or r < 0:
            raise SplitError(f"ratio of {name} is {r}; ratios must be 0 or more")
    if not math.isclose(sum(ratios), 1.0, abs_tol=1e-9):
        raise SplitError(f"ratios sum to {sum(ratios):g}, not 1: e.g. --ratios 0.8,0.1,0.1")


def unit_value(seed: int, key: str) -> float:
    """A uniform number in [0, 1) from (seed, key), the same on every platform."""
    return _unit_value(_seed_prefix(seed), key)


def _seed_prefix(seed: int) -> bytes:
    return f"{seed}\x1f".encode()


def _unit_value(prefix: bytes, key: str) -> float:
    """`unit_value` with its seed's `_seed_prefix` made once for many keys."""
    digest = hashlib.blake2b(prefix + key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _first_split(items: Iterable[SplitItem], ratios: Sequence[float], seed: int,
                 names: Sequence[str]) -> dict[int, str]:
    """assign_splits with nothing sealed and no strata: each unit's split from its
    `unit_value`, the records in the same order, without a list of members for each record
    alone (most units: 1.0 of 3.5 s at 1M went to building them)."""
    items = list(items)
    edges = _edges(ratios)
    prefix = _seed_prefix(seed)
    groups: dict[str, list[int]] = defaultdict(list)
    for item in items:
        if item.group is not None:
            groups[item.group].append(item.id)
    splits: dict[int, str] = {}
    for item in items:
        group = item.group
        if group is None:
            splits[item.id] = names[bisect.bisect_right(
                edges, _unit_value(prefix, f"r:{item.id}"))]
        elif item.id not in splits:  # the group's first member: all of them, in their order
            name = names[bisect.bisect_right(edges, _unit_value(prefix, f"g:{group}"))]
            for member in groups[group]:
                splits[member] = name
    return splits


def _edges(weights: Sequence[float]) -> list[float]:
    total = sum(weights)
    return [c / total for c in itertools.accumulate(weights)][:-1]


def assign_splits(
    items: Iterable[SplitItem],
    ratios: Sequence[float] = (0.8, 0.1, 0.1),
    *,
    seed: int = 0,
    names: Sequence[str] = DEFAULT_NAMES,
    stratify: bool = False,
    existing: Mapping[int, str] | None = None,
) -> SplitResult:
    """The split of every item; records in `existing` keep theirs (see the module docstring)."""
    check_ratios(ratios, names)
    existing = existing or {}
    index = {name: k for k, name in enumerate(names)}
    for record_id, name in existing.items():
        if name not in index:
            raise SplitError(f"record {record_id} is in split {name!r}, not one of {list(names)}")

    if not existing and not stratify:
        return SplitResult(_first_split(items, ratios, seed, names), [])
    units: dict[str, list[SplitItem]] = defaultdict(list)
    for item in items:  # a unit's key: its group, else the record alone
        group = item.group
        units[f"g:{group}" if group is not None else f"r:{item.id}"].append(item)

    splits: dict[int, str] = {}
    straddling: list[str] = []
    new_units: list[tuple[str, list[SplitItem]]] = []
    for key, members in units.items():
        sealed = [existing[m.id] for m in members if m.id in existing] if existing else []
        if not sealed:  # (most units on a first split: no Counter for them)
            new_units.append((key, members))
            continue
        placed = Counter(sealed)
        if len(placed) > 1:
            straddling.append(key)
        # the split holding most of the unit; on a tie the later (more sealed) one
        follow = max(placed, key=lambda name: (placed[name], index[name]))
        for m in members:
            splits[m.id] = existing.get(m.id, follow)

    if not stratify:
        edges = _edges(ratios)
        for key, members in new_units:
            name = names[bisect.bisect_right(edges, unit_value(seed, key))]
            for m in members:
                splits[m.id] = name
        return SplitResult(splits, sorted(straddling))

    label_of = {key: _unit_label(members) for key, members in units.items()}
    have: dict[str | None, list[int]] = defaultdict(lambda: [0] * len(names))
    for key, members in units.items():
        if any(m.id in splits for m in members):
            for m in members:
                have[label_of[key]][index[splits[m.id]]] += 1
    by_label: dict[str | None, list[tuple[float, str, list[SplitItem]]]] = defaultdict(list)
    for key, members in new_units:
        by_label[label_of[key]].append((unit_value(seed, key), key, members))
    for label, queue in by_label.items():
        queue.sort(key=lambda u: (u[0], u[1]))
        incoming = sum(len(members) for _, _, members in queue)
        total = incoming + sum(have[label])
        deficit = [max(0.0, r * total - h) for r, h in zip(ratios, have[label], strict=True)]
        edges = _edges(deficit)
        done = 0
        for _, _, members in queue:
            middle = (done + len(members) / 2) / incoming
            name = names[bisect.bisect_right(edges, middle)]
            for m in members:
                splits[m.id] = name
            done += len(members)
    return SplitResult(splits, sorted(straddling))


def _unit_label(members: list[SplitItem]) -> str | None:
    """The most common label of a unit; ties go to the smallest label, None last."""
    counts = Counter(m.label for m in members)
    return min(counts, key=lambda lab: (-counts[lab], lab is None, lab or ""))


def duplicate_groups(
    pairs: Iterable[tuple[int, int, float]], exact_groups: Iterable[Iterable[int]] = ()
) -> dict[int, str]:
    """record id -> group key: connected components of duplicate pairs and exact groups.

    Dedup's clusters refuse to chain (A~B, B~C does not make C a duplicate of A), but a split
    must: if B sits with A and C sits elsewhere, B~C is a leak. So split units are the
    transitive components of every verified pair, named after their smallest id.
    """
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(x, x) != root:
            parent[x], x = root, parent[x]
        return root

    def union(a: int, b: int) -> None:
        parent.setdefault(a, a)
        parent.setdefault(b, b)
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    for a, b, _ in pairs:
        union(a, b)
    for group in exact_groups:
        first, *rest = list(group)
        parent.setdefault(first, first)
        for other in rest:
            union(first, other)
    return {x: f"dup:{find(x)}" for x in list(parent)}


@dataclass(frozen=True)
class LeakPair:
    a: int
    b: int
    split_a: str
    split_b: str
    similarity: float
    kind: Literal["exact", "near"]


@dataclass(frozen=True)
class LeakageReport:
    exact_leaks: list[LeakPair]
    near_leaks: list[LeakPair]
    sizes: dict[str, int]
    label_counts: dict[str, dict[str | None, int]]  # split -> label -> records
    missing_classes: dict[str, list[str | None]]  # split -> labels seen elsewhere, absent here

    @property
    def leaks(self) -> int:
        return len(self.exact_leaks) + len(self.near_leaks)


def leakage_report(
    splits: Mapping[int, str],
    *,
    exact_groups: Iterable[Iterable[int]] = (),
    near_pairs: Iterable[tuple[int, int, float]] = (),
    labels: Mapping[int, str | None] | None = None,
    names: Sequence[str] = DEFAULT_NAMES,
) -> LeakageReport:
    """Duplicate pairs whose two records sit in different splits, and label balance per split.

    Records missing from `splits` (not split, e.g. rejected) are ignored. Exact groups give
    every cross-split pair of their members; near pairs are dedup's verified pairs.
    """
    exact: list[LeakPair] = []
    for group in exact_groups:
        members = [i for i in group if i in splits]
        for a, b in itertools.combinations(members, 2):
            if splits[a] != splits[b]:
                exact.append(LeakPair(a, b, splits[a], splits[b], 1.0, "exact"))
    near = [
        LeakPair(a, b, splits[a], splits[b], s, "near")
        for a, b, s in near_pairs
        if a in splits and b in splits and splits[a] != splits[b]
    ]
    all_names = list(names) + sorted(set(splits.values()) - set(names))
    sizes = dict.fromkeys(all_names, 0)
    counts: dict[str, Counter[str | None]] = {name: Counter() for name in all_names}
    for record_id, name in splits.items():
        sizes[name] += 1
        counts[name][(labels or {}).get(record_id)] += 1
    classes = {lab for c in counts.values() for lab in c}
    missing = {
        name: sorted((lab for lab in classes if lab not in counts[name]), key=lambda x: x or "")
        for name in all_names
    }
    return LeakageReport(exact, near, sizes, {n: dict(c) for n, c in counts.items()}, missing)
