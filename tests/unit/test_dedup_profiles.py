"""The shingle profiles that let verification drop a candidate pair without reading its texts:
each text's distinct shingles counted by bucket bound how many two texts can share, so a pair
whose bound is below the threshold is below it. The bound must never be below the true
Jaccard (a pair at the threshold would be lost), and verification with it must find exactly
the pairs, figures and boilerplate checks it found without it."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np

from curator.dedup import boilerplate, kernels, near
from curator.dedup.minhash import DEFAULT_SHINGLING

WORDS = [
    "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa",
    "lambda", "mu", "nu", "xi", "omicron", "pi", "rho", "sigma", "tau", "upsilon", "phi", "chi",
    "psi", "omega",
]


def _texts(rng: random.Random) -> list[str]:
    """Families of near copies (a few words changed), unrelated texts, very short ones, and
    long ones whose buckets fill up (more than PROFILE_FULL distinct shingles in a bucket)."""
    texts: list[str] = []
    for _ in range(12):
        base = [rng.choice(WORDS) for _ in range(rng.randint(8, 120))]
        texts.append(" ".join(base))
        for _ in range(rng.randint(1, 5)):
            copy = list(base)
            for _ in range(rng.randint(0, 6)):
                copy[rng.randrange(len(copy))] = rng.choice(WORDS)
            texts.append(" ".join(copy))
    texts += ["", "a", "abcd", "abcde", "hello world"]
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    long = "".join(rng.choice(alphabet) for _ in range(150_000))
    texts += [long, long[:-40] + "tail of the other", long[5_000:]]
    return texts


def _profiles(texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    codes, offsets = kernels.encode(texts)
    _, _, distinct, profiles = kernels.minhash_profiles(codes, offsets, False, 5, 64)
    return codes, offsets, distinct, profiles


def test_a_profile_counts_each_distinct_shingle_in_its_bucket() -> None:
    texts = _texts(random.Random(1))
    codes, offsets, distinct, profiles = _profiles(texts)
    hashes, bounds = kernels.distinct_shingles(codes, offsets, False, 5)
    for t in range(len(texts)):
        own = hashes[bounds[t] : bounds[t + 1]]
        assert distinct[t] == len(own)
        buckets = ((own >> np.uint64(32)) & np.uint64(kernels.PROFILE - 1)).astype(np.int64)
        want = np.minimum(np.bincount(buckets, minlength=kernels.PROFILE), kernels.PROFILE_FULL)
        assert (profiles[t] == want).all(), t
    assert (profiles == kernels.PROFILE_FULL).any()  # the long texts fill buckets


def test_the_bound_is_never_below_a_pairs_jaccard_and_drops_most_unlike_pairs() -> None:
    texts = _texts(random.Random(2))
    codes, offsets, distinct, profiles = _profiles(texts)
    left, right = np.triu_indices(len(texts), 1)
    left, right = left.astype(np.int64), right.astype(np.int64)
    at = np.arange(len(texts), dtype=np.int64) * kernels.PROFILE
    upper = kernels.profile_bounds(profiles.reshape(-1), at, left, right, distinct)
    jaccard = kernels.pair_jaccard(codes, offsets, False, 5, left, right)
    bounded = ~np.isnan(upper)
    assert (upper[bounded] >= jaccard[bounded]).all()
    # NaN exactly where some bucket is full in both texts (no bound can be read there)
    full = (np.minimum(profiles[left], profiles[right]) == kernels.PROFILE_FULL).any(axis=1)
    assert (np.isnan(upper) == full).all() and full.any()
    # near copies keep a bound at or above their Jaccard; unrelated texts are mostly dropped
    unlike = jaccard < 0.3
    assert (upper[unlike & bounded] < 0.8).mean() > 0.9


def _spill(tmp_path: Path, texts: list[str]) -> tuple[str, np.ndarray, np.ndarray]:
    """The texts spilled as dedup spills them (profile, then UTF-8), and each one's bounds."""
    _, _, distinct, profiles = _profiles(texts)
    utf8 = [t.encode() for t in texts]
    byte_bounds = np.concatenate([[0], np.cumsum([len(u) for u in utf8])]).astype(np.int64)
    records, starts = kernels.profiled_records(
        np.frombuffer(b"".join(utf8), dtype=np.uint8), byte_bounds, profiles)
    spill = tmp_path / "spill.txt"
    spill.write_bytes(records.tobytes())
    return str(spill), starts, distinct


def test_profiled_records_are_each_profile_then_the_text() -> None:
    texts = ["héllo wörld", "", "plain"]
    _, _, _, profiles = _profiles(texts)
    utf8 = [t.encode() for t in texts]
    byte_bounds = np.array([0, len(utf8[0]), len(utf8[0]), len(utf8[0]) + len(utf8[2])])
    records, starts = kernels.profiled_records(
        np.frombuffer(b"".join(utf8), dtype=np.uint8), byte_bounds, profiles)
    blob = records.tobytes()
    for t, text in enumerate(utf8):
        record = blob[starts[t] : starts[t + 1]]
        assert record[: kernels.PROFILE] == profiles[t].tobytes()
        assert record[kernels.PROFILE :] == text
    assert starts[-1] == len(blob)


def test_verification_with_the_bound_finds_what_verifying_every_pair_finds(
        tmp_path: Path) -> None:
    rng = random.Random(3)
    texts = _texts(rng)
    spill, starts, distinct = _spill(tmp_path, texts)
    codes, offsets = kernels.encode(texts)
    left, right = np.triu_indices(len(texts), 1)
    left, right = left.astype(np.int64), right.astype(np.int64)
    # boilerplate: the shingles of one family's base are frequent, so the own check runs
    frequent = np.unique(kernels.shingles(*kernels.encode([texts[0]]), False, 5)[0])
    for threshold in (0.5, 0.8):
        job = near._VerifyJob(spill, starts[:-1], starts[1:], left, right, DEFAULT_SHINGLING,
                              threshold, distinct.astype(np.int32), frequent)
        try:
            got = near._run_verify(job)
        finally:
            near._release_spill(spill)
        sims, own = kernels.pair_similarities(codes, offsets, False, 5, left, right, frequent,
                                              threshold, boilerplate.MIN_OWN, distinct,
                                              stop=True)
        below = own < threshold
        sims[below] = own[below]
        kept = sims >= threshold
        assert kept.any() and (~kept).any()
        assert ((got >= threshold) == kept).all()
        assert (got[kept] == sims[kept]).all()


def test_the_frequent_table_answers_as_the_sorted_array_does() -> None:
    rng = np.random.default_rng(4)
    frequent = np.unique(rng.integers(0, 2**63, size=5_000, dtype=np.int64).astype(np.uint64))
    asked = np.concatenate([frequent[::3], rng.integers(0, 2**63, size=5_000,
                                                        dtype=np.int64).astype(np.uint64)])
    hashes = np.concatenate([asked, asked])  # each twice: counted once
    capacity = 1 << (2 * len(hashes)).bit_length()  # _table_size's: at least twice the values
    keys = np.empty(capacity, dtype=np.uint64)
    marks = np.zeros(capacity, dtype=np.uint8)
    fkeys, fmarks = kernels._frequent_table(frequent)
    got = kernels._distinct_own(hashes, len(hashes), keys, marks, fkeys, fmarks)
    assert got == len(np.setdiff1d(np.unique(asked), frequent))
