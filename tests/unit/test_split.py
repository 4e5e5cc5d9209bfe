"""Splits: determinism, group atomicity, stratification, the sealed holdout, leakage."""

from __future__ import annotations

import math
import random
from collections import Counter

import pytest

from curator.split import (
    SplitError,
    SplitItem,
    assign_splits,
    duplicate_groups,
    leakage_report,
    unit_value,
)


def items(
    n: int, *, groups: int = 0, labels: tuple[str, ...] = (), seed: int = 1
) -> list[SplitItem]:
    rng = random.Random(seed)
    return [
        SplitItem(
            i,
            group=f"k{rng.randrange(groups)}" if groups and rng.random() < 0.5 else None,
            label=rng.choice(labels) if labels else None,
        )
        for i in range(n)
    ]


@pytest.mark.parametrize(
    ("ratios", "message"),
    [
        ((0.8, 0.1), "2 ratios for 3"),
        ((0.9, 0.2, -0.1), "0 or more"),
        ((0.8, 0.1, 0.2), "sum to 1.1"),
    ],
)
def test_bad_ratios_are_refused(ratios: tuple[float, ...], message: str) -> None:
    with pytest.raises(SplitError, match=message):
        assign_splits(items(10), ratios)


def test_deterministic_and_order_free() -> None:
    data = items(2000, groups=300, labels=("a", "b"))
    shuffled = random.Random(4).sample(data, len(data))
    for stratify in (False, True):
        one = assign_splits(data, seed=7, stratify=stratify).splits
        assert one == assign_splits(shuffled, seed=7, stratify=stratify).splits
        assert one != assign_splits(data, seed=8, stratify=stratify).splits


def test_groups_never_straddle() -> None:
    data = items(5000, groups=200, labels=("a", "b", "c"))
    for stratify in (False, True):
        splits = assign_splits(data, seed=3, stratify=stratify).splits
        by_group: dict[str, set[str]] = {}
        for it in data:
            if it.group:
                by_group.setdefault(it.group, set()).add(splits[it.id])
        assert all(len(s) == 1 for s in by_group.values())
        assert len({s for v in by_group.values() for s in v}) == 3  # groups do go everywhere


def test_unstratified_proportions_are_within_sampling_error() -> None:
    n = 20_000
    counts = Counter(assign_splits(items(n), (0.7, 0.2, 0.1), seed=0).splits.values())
    for name, r in zip(("train", "validation", "holdout"), (0.7, 0.2, 0.1), strict=True):
        assert abs(counts[name] - r * n) < 4 * math.sqrt(n * r * (1 - r))


def test_unstratified_split_is_the_bucket_of_the_hash() -> None:
    splits = assign_splits(items(500), (0.5, 0.3, 0.2), seed=9).splits
    for record_id, name in splits.items():
        u = unit_value(9, f"r:{record_id}")
        assert name == ("train" if u < 0.5 else "validation" if u < 0.8 else "holdout")


def test_a_first_split_is_the_sealed_paths_split_in_the_same_order() -> None:
    # nothing sealed takes a shorter way (no member list for each record alone); a seal on a
    # record outside the items takes the general one: the same splits, in the same order
    data = [*items(3000, groups=150, seed=5), SplitItem(5000, "k1"), SplitItem(5001, None)]
    for seed in (0, 11):
        first = assign_splits(data, (0.6, 0.3, 0.1), seed=seed).splits
        sealed = assign_splits(data, (0.6, 0.3, 0.1), seed=seed,
                               existing={-1: "train"}).splits
        assert list(first.items()) == list(sealed.items())
        for it in data:  # a group's split is the bucket of its unit's hash
            if it.group is not None:
                u = unit_value(seed, f"g:{it.group}")
                assert first[it.id] == ("train" if u < 0.6 else "validation" if u < 0.9
                                        else "holdout")


def test_stratified_keeps_every_class_in_proportion() -> None:
    labels = ("common", "rare", "tiny")
    rng = random.Random(2)
    data = [SplitItem(i, label=rng.choices(labels, (0.9, 0.09, 0.01))[0]) for i in range(5000)]
    splits = assign_splits(data, seed=1, stratify=True).splits
    per_label = Counter(it.label for it in data)
    got = Counter((it.label, splits[it.id]) for it in data)
    for label, total in per_label.items():
        for name, r in zip(("train", "validation", "holdout"), (0.8, 0.1, 0.1), strict=True):
            assert abs(got[label, name] - r * total) <= 1
    # a class of 10 still reaches every split; by chance alone it often would not
    small = [SplitItem(i, label="x") for i in range(10)]
    assert Counter(assign_splits(small, stratify=True).splits.values()) == {
        "train": 8,
        "validation": 1,
        "holdout": 1,
    }


def test_sealed_holdout_under_additions() -> None:
    for stratify in (False, True):
        first = items(3000, groups=100, labels=("a", "b"), seed=5)
        before = assign_splits(first, seed=2, stratify=stratify).splits
        rng = random.Random(6)
        later = [
            SplitItem(
                3000 + i, group=f"k{rng.randrange(100)}" if i % 2 else None, label=rng.choice("ab")
            )
            for i in range(1500)
        ]
        after = assign_splits([*first, *later], seed=2, stratify=stratify, existing=before)
        assert after.straddling == []
        assert all(after.splits[i] == s for i, s in before.items())  # nothing moved
        holdout_before = {i for i, s in before.items() if s == "holdout"}
        assert holdout_before <= {i for i, s in after.splits.items() if s == "holdout"}
        split_of_group = {it.group: before[it.id] for it in first if it.group}
        for it in later:
            if it.group in split_of_group:
                assert after.splits[it.id] == split_of_group[it.group]  # joins its group
        counts = Counter(after.splits.values())
        assert abs(counts["train"] / 4500 - 0.8) < 0.03


def test_sealed_records_that_straddle_are_reported_not_moved() -> None:
    data = [SplitItem(1, group="g"), SplitItem(2, group="g"), SplitItem(3, group="g")]
    result = assign_splits(data, existing={1: "train", 2: "holdout"})
    assert result.splits == {1: "train", 2: "holdout", 3: "holdout"}
    assert result.straddling == ["g:g"]


def test_duplicate_groups_are_transitive() -> None:
    groups = duplicate_groups(
        [(1, 2, 0.9), (2, 3, 0.85), (7, 8, 0.8)], exact_groups=[(3, 4), (10, 11)]
    )
    assert groups[1] == groups[2] == groups[3] == groups[4] == "dup:1"
    assert groups[7] == groups[8] != groups[1]
    assert groups[10] == groups[11] == "dup:10"
    assert 5 not in groups


def test_leakage_report_finds_leaks_and_grouping_removes_them() -> None:
    pairs = [(i, i + 1000, 0.9) for i in range(0, 1000, 10)]
    exact = [(i, i + 2000) for i in range(5, 1000, 10)]
    labels = {i: "a" if i % 3 else "b" for i in range(3000)}
    labels[2999] = "only-once"
    groups = duplicate_groups(pairs, exact)
    flat = [SplitItem(i, label=labels[i]) for i in range(3000)]
    leaky = leakage_report(
        assign_splits(flat, seed=1).splits, exact_groups=exact, near_pairs=pairs, labels=labels
    )
    assert leaky.near_leaks and leaky.exact_leaks
    assert all(p.split_a != p.split_b for p in leaky.near_leaks + leaky.exact_leaks)
    grouped = [SplitItem(i, group=groups.get(i), label=labels[i]) for i in range(3000)]
    splits = assign_splits(grouped, seed=1, stratify=True).splits
    report = leakage_report(splits, exact_groups=exact, near_pairs=pairs, labels=labels)
    assert report.leaks == 0
    assert sum(report.sizes.values()) == 3000
    assert sum(report.label_counts["train"].values()) == report.sizes["train"]
    where = splits[2999]
    assert all(("only-once" in report.missing_classes[n]) == (n != where) for n in report.sizes)
