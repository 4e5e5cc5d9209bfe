"""The split's duplicate units come from a compiled union-find: the same units as
curator.split.duplicate_groups, the reference, on random links and exact groups."""

from __future__ import annotations

import random

from curator.split import duplicate_groups
from curator.workspace.split import _duplicate_units


def test_compiled_units_equal_the_reference_union_find() -> None:
    rng = random.Random(13)
    for trial in range(30):
        n = rng.randint(1, 400)
        ids = rng.sample(range(1, 5 * n + 10), n)
        links = [(rng.choice(ids), rng.choice(ids), rng.random())
                 for _ in range(rng.randint(0, 2 * n))]
        groups = [rng.sample(ids, rng.randint(1, min(5, n))) for _ in range(rng.randint(0, 20))]
        got = _duplicate_units(links, groups)
        assert got == duplicate_groups(links, groups), trial
    assert _duplicate_units([], []) == {}
    # a chain joins end to end, named after its smallest id
    assert set(_duplicate_units([(9, 4, 1.0), (4, 7, 0.9)], [[12, 9]]).values()) == {"dup:4"}
