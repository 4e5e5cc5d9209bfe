"""Clusters around keepers: who is kept (`priority`), greedy clustering of the verified pairs
without transitive chaining (`cluster`), and exact copies folded back in (`assemble`)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

KeeperRule = Literal["longest", "earliest", "accepted_first"]

_STATUS_RANK = {"accepted": 0, "pending": 1, "rejected": 2}


@dataclass(frozen=True)
class Member:
    """A non-keeper record of a cluster and its verified Jaccard similarity to the keeper."""

    id: int
    similarity: float
    exact: bool  # identical normalised content to the keeper


@dataclass(frozen=True)
class Cluster:
    keeper: int
    members: tuple[Member, ...]  # sorted by id; the keeper is not among them

    @property
    def ids(self) -> tuple[int, ...]:
        return (self.keeper, *(m.id for m in self.members))



def _status_rank(value: str | int) -> int:
    """A status's rank for accepted_first, or a rank given as a number (the `best` keeper's,
    workspace/dedup.py best_keeper_ranks: fewest problems, then the better score)."""
    return value if isinstance(value, int) else _STATUS_RANK.get(value, 1)


def priority(
    ids: npt.NDArray[np.int64],
    lengths: npt.NDArray[np.int64],
    rule: KeeperRule,
    statuses: Mapping[int, str] | Mapping[int, int] | npt.NDArray[np.int64] | None,
    prefer: Collection[int],
) -> npt.NDArray[np.int64]:
    """rank[i]: 0 for the record that most deserves to be kept; ties go to the smaller id.
    `statuses` for accepted_first: by id, or each record's numeric rank as an array aligned
    with `ids`."""
    preferred = (np.fromiter((i in prefer for i in ids.tolist()), dtype=bool, count=len(ids))
                 if prefer else np.zeros(len(ids), dtype=bool))
    if rule == "longest":
        order = np.lexsort((ids, -lengths, ~preferred))
    elif rule == "earliest":
        order = np.lexsort((ids, ~preferred))
    elif rule == "accepted_first":
        if isinstance(statuses, np.ndarray):
            if len(statuses) != len(ids):
                raise ValueError("ranks given as an array must hold one rank a record")
            rank = statuses.astype(np.int64, copy=False)
        else:
            status = statuses or {}
            rank = np.fromiter(
                (_status_rank(status.get(i, "pending")) for i in ids.tolist()),
                dtype=np.int64,
                count=len(ids),
            )
        order = np.lexsort((ids, rank, ~preferred))
    else:
        raise ValueError(f"unknown keeper rule {rule!r}; use longest, earliest or accepted_first")
    rank_of = np.empty(len(ids), dtype=np.int64)
    rank_of[order] = np.arange(len(ids))
    return rank_of


def cluster(
    n: int, rank: npt.NDArray[np.int64], pairs: list[tuple[int, int, float]]
) -> list[tuple[int, list[tuple[int, float]]]]:
    """Greedy clustering around keepers, never by transitive chaining.

    Records are visited from the highest keeper priority down. A record not yet in a cluster
    becomes a keeper, and every verified neighbour of it not yet in a cluster joins it. So each
    member's similarity to its keeper is itself verified >= threshold: a chain A~B~C with A!~C
    makes {A, B} and leaves C alone (when A ranks first), never {A, B, C}.
    """
    neighbours: dict[int, list[tuple[int, float]]] = {}
    for i, j, s in pairs:
        neighbours.setdefault(i, []).append((j, s))
        neighbours.setdefault(j, []).append((i, s))
    taken = bytearray(n)  # a list-like of flags: numpy scalar indexing is slow in a loop
    rank_of: list[int] = rank.tolist()
    clusters = []
    for centre in sorted(neighbours, key=rank_of.__getitem__):
        if taken[centre]:
            continue
        joined = [(j, s) for j, s in neighbours[centre] if not taken[j]]
        if joined:
            taken[centre] = 1
            for j, _ in joined:
                taken[j] = 1
            clusters.append((centre, joined))
    return clusters



def assemble(
    n: int,
    rank: npt.NDArray[np.int64],
    rep_of: npt.NDArray[np.int64],
    groups: list[list[int]],
    near: list[tuple[int, list[tuple[int, float]]]],
    id_arr: npt.NDArray[np.int64],
) -> list[Cluster]:
    """Near clusters over representatives, widened by each representative's exact copies."""
    id_of: list[int] = id_arr.tolist()
    rank_of: list[int] = rank.tolist()
    copies: dict[int, list[int]] = {}
    for g in groups:
        rep = int(rep_of[g[0]])
        copies[rep] = [i for i in g if i != rep]
    in_near: set[int] = set()
    built: list[tuple[int, list[Member]]] = []
    for centre, joined in near:
        members = [Member(id_of[i], 1.0, True) for i in copies.get(centre, ())]
        for j, s in joined:
            members.append(Member(id_of[j], s, False))
            members += [Member(id_of[i], s, False) for i in copies.get(j, ())]
        in_near.add(centre)
        in_near.update(j for j, _ in joined)
        built.append((centre, members))
    for rep, others in copies.items():
        if rep not in in_near:
            built.append((rep, [Member(id_of[i], 1.0, True) for i in others]))
    built.sort(key=lambda c: rank_of[c[0]])
    return [
        Cluster(id_of[c], tuple(sorted(members, key=lambda m: m.id))) for c, members in built
    ]
