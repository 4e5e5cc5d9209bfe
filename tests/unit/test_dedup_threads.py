"""The parent's share of dedup spread over threads and vectorised: same results as one thread
and as the plain loops they replace."""

from __future__ import annotations

import numpy as np

from curator.dedup.candidates import limit_per_record, pack, screen
from curator.dedup.near import _representatives


def _signatures(rng: np.random.Generator, n: int, k: int = 128
                ) -> tuple[np.ndarray, np.ndarray]:
    base = rng.integers(0, 256, size=(8, k), dtype=np.uint8)
    sketch = base[rng.integers(0, 8, size=n)].copy()
    noise = rng.random((n, k)) < rng.random((n, 1))  # near copies of 8 texts, some far
    sketch[noise] = rng.integers(0, 256, size=int(noise.sum()), dtype=np.uint8)
    own = np.packbits(rng.random((n, k)) < 0.9, axis=1)
    return sketch, own


def test_screen_and_limit_on_threads_match_one_thread_and_the_limits_own_estimates() -> None:
    rng = np.random.default_rng(3)
    n = 600
    sketch, own = _signatures(rng, n)
    a = rng.integers(0, n, size=250_000)
    b = rng.integers(0, n, size=250_000)
    ok = a != b
    candidates = np.unique(pack(a[ok], b[ok]))
    one, est_one = screen(candidates, sketch, own, 0.7, threads=1)
    two, est_two = screen(candidates, sketch, own, 0.7, threads=2)
    assert 0 < len(one) < len(candidates)
    assert np.array_equal(one, two)
    assert est_one is not None and est_two is not None
    assert np.array_equal(est_one, est_two)
    # the estimates screen hands over give the cut limit_per_record computes itself
    own_est, lost = limit_per_record(one, sketch, own, 20)
    given, lost_given = limit_per_record(one, sketch, own, 20, est_two, threads=2)
    threaded, lost_threaded = limit_per_record(one, sketch, own, 20, threads=2)
    assert lost > 0 and lost == lost_given == lost_threaded
    assert np.array_equal(own_est, given) and np.array_equal(own_est, threaded)


def test_representatives_are_each_groups_best_ranked_member() -> None:
    rng = np.random.default_rng(5)
    n = 5_000
    rank = rng.permutation(n).astype(np.int64)
    labels = rng.integers(0, 1_500, size=n)
    groups = [sorted(np.flatnonzero(labels == g).tolist()) for g in range(1_500)]
    groups = [g for g in groups if len(g) > 1]
    rep_of = _representatives(n, groups, rank)
    want = np.arange(n)
    for g in groups:  # the loop this replaced
        want[g] = min(g, key=lambda i: int(rank[i]))
    assert np.array_equal(rep_of, want)
    assert np.array_equal(_representatives(n, [], rank), np.arange(n))
