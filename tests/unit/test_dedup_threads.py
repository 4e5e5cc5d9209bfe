"""The parent's share of dedup spread over threads and vectorised: same results as one thread
and as the plain loops they replace."""

from __future__ import annotations

from pathlib import Path

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


def _band_pairs_reference(keys: np.ndarray) -> set[tuple[int, int]]:
    """Every pair of rows that share a key in any band, by plain loops."""
    found: set[tuple[int, int]] = set()
    for band in range(keys.shape[1]):
        buckets: dict[int, list[int]] = {}
        for row, key in enumerate(keys[:, band].tolist()):
            buckets.setdefault(key, []).append(row)
        for members in buckets.values():
            found.update((a, b) for k, a in enumerate(members) for b in members[k + 1:])
    return found


def test_candidate_pairs_on_threads_are_every_pair_that_shares_a_band_key_sorted() -> None:
    from curator.dedup.candidates import candidate_pairs

    rng = np.random.default_rng(11)
    n = 3_000
    keys = rng.integers(0, 400, size=(n, 6)).astype(np.uint64)  # buckets of about 7 rows
    rows = np.sort(rng.choice(10 * n, size=n, replace=False)).astype(np.int64)
    expected = sorted((int(rows[a]) << 32) | int(rows[b])
                      for a, b in _band_pairs_reference(keys))
    for threads in (1, 2):
        out, capped_buckets, capped_rows = candidate_pairs(keys, rows, threads)
        assert out.dtype == np.uint64
        assert out.tolist() == expected
        assert capped_buckets == capped_rows == 0


def test_merge_unique_is_the_sorted_distinct_values_of_every_part() -> None:
    from curator.dedup.kernels import merge_unique

    rng = np.random.default_rng(5)
    for n_high, sizes in ((1, [0, 5, 3]), (50, [1000, 0, 2500, 40]), (3000, [20_000, 7_000])):
        parts = [pack(rng.integers(0, n_high, size=s), rng.integers(0, 1 << 20, size=s))
                 for s in sizes]
        parts.append(parts[-1][: len(parts[-1]) // 2].copy())  # repeats across parts
        expected = np.unique(np.concatenate(parts))
        for threads in (1, 2, 3):
            got = merge_unique(parts, n_high + (1 << 20), threads)
            assert got.dtype == np.uint64
            assert np.array_equal(got, expected)
    assert len(merge_unique([], 10)) == 0 and len(merge_unique([], 10, 2)) == 0


def test_bucket_pairs_are_each_runs_pairs_smaller_position_first() -> None:
    from curator.dedup.kernels import bucket_pairs

    order = np.array([7, 2, 9, 4, 1, 3, 8], dtype=np.int64)
    got = bucket_pairs(order, np.array([0, 3], dtype=np.int64),
                       np.array([3, 2], dtype=np.int64))
    assert sorted(got.tolist()) == sorted(
        [(2 << 32) | 7, (7 << 32) | 9, (2 << 32) | 9, (1 << 32) | 4])


def test_the_parent_keeps_no_map_of_the_spill_file_after_counting_the_boilerplate(
        tmp_path: Path) -> None:
    # the sample spreads over the whole file: kept mapped, its pages stayed resident in the
    # parent for the rest of the run (0.6 GB at 1M, the run's peak); verification maps it again
    from curator.dedup import kernels, near
    from curator.dedup.minhash import DEFAULT_SHINGLING

    texts = [f"shared preamble words here and there, then question {k} of many" for k in range(50)]
    codes, offsets = kernels.encode(texts)
    profiles = kernels.minhash_profiles(codes, offsets, False, 5, 64)[3]
    byte_bounds = np.concatenate([[0], np.cumsum([len(t.encode()) for t in texts])])
    records, bounds = kernels.profiled_records(  # as dedup spills them: profile, then text
        np.frombuffer("".join(texts).encode(), dtype=np.uint8), byte_bounds, profiles)
    spill = tmp_path / "spill.txt"
    spill.write_bytes(records.tobytes())
    reps = np.arange(len(texts))
    frequent = near._frequent_shingles(str(spill), bounds, reps, DEFAULT_SHINGLING)
    assert len(frequent) > 0  # the preamble's shingles are in every text
    # (the texts', not the profiles' bytes: every frequent shingle is a shingle of a text)
    assert np.isin(frequent, kernels.shingles(codes, offsets, False, 5)[0]).all()
    assert str(spill) not in near._SPILL_MAPS
    codes, offsets = near._spilled_codes(str(spill), bounds[:2] + kernels.PROFILE,
                                         bounds[1:3])  # maps again
    assert len(offsets) == 3 and len(codes) > 0
    near._release_spill(str(spill))


def _limit_reference(candidates: np.ndarray, est: np.ndarray, limit: int) -> list[int]:
    """Each record's `limit` best candidates by (estimate descending, candidate ascending)."""
    by_record: dict[int, list[tuple[float, int]]] = {}
    for c, e in zip(candidates.tolist(), est.tolist(), strict=True):
        by_record.setdefault(c >> 32, []).append((-e, c))
    return sorted(c for ranked in by_record.values() for _, c in sorted(ranked)[:limit])


def test_limit_per_record_keeps_each_records_best_candidates_like_a_plain_sort() -> None:
    rng = np.random.default_rng(17)
    n = 400
    sketch, own = _signatures(rng, n)
    # a few records with many candidates (over the limit), most with a handful
    heavy = rng.integers(0, n, size=12)
    a = np.concatenate([rng.integers(0, n, size=3_000), rng.choice(heavy, size=6_000)])
    b = rng.integers(0, n, size=len(a))
    ok = a != b
    candidates = np.unique(pack(a[ok], b[ok]))
    agree, trials = agreement_of(candidates, sketch, own)
    est = agree / trials
    for limit in (1, 7, 40):
        expected = _limit_reference(candidates, est, limit)
        for given in (est, None):
            for threads in (1, 2):
                kept, lost = limit_per_record(candidates, sketch, own, limit, given, threads)
                assert kept.tolist() == expected
                counts = np.bincount((candidates >> np.uint64(32)).astype(np.int64))
                assert lost == int((counts > limit).sum()) > 0


def agreement_of(candidates: np.ndarray, sketch: np.ndarray, own: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
    from curator.dedup import kernels

    return kernels.agreement(candidates, sketch, own)


def test_batch_columns_gathered_as_they_come_equal_the_joined_batches() -> None:
    from curator.dedup.near import _BatchOut, _Columns

    rng = np.random.default_rng(23)

    def batch(rows: int, flagged: bool) -> _BatchOut:
        return _BatchOut(
            rng.integers(0, 1 << 62, size=(rows, 2), dtype=np.uint64),
            rng.integers(0, 500, size=rows), rng.integers(0, 1 << 62, size=(rows, 5),
                                                          dtype=np.uint64),
            rng.integers(0, 256, size=(rows, 16), dtype=np.uint8),
            rng.integers(0, 256, size=(rows, 2), dtype=np.uint8), b"",
            np.zeros(rows + 1, dtype=np.int64),
            rng.integers(0, 2, size=rows) if flagged else np.empty(0, np.int64),
            rng.integers(1, 90, size=rows).astype(np.int32))

    names = ("digests", "lengths", "keys", "sketch", "own", "flags", "distinct")
    for flagged in (True, False):
        sizes = [7, 3, 11, 1]
        outs = [batch(k, flagged) for k in sizes]
        expected = {name: np.concatenate([getattr(o, name) for o in outs]) for name in names}
        for total in (sum(sizes), None):
            copies = [_BatchOut(**{f: getattr(o, f) for f in o.__dataclass_fields__})
                      for o in outs]
            columns = _Columns(total)
            for o in copies:
                columns.add(o)
            for name in names:
                got = columns.take(name, np.empty(0, np.int64))
                assert np.array_equal(got, expected[name]), (name, total, flagged)
