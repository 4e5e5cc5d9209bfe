"""Near-duplicate search with a long preamble shared by many records (GPTeacher's toolformer rows):
different questions under one preamble are not near copies; a real near copy still is
(curator/dedup/boilerplate.py)."""

from __future__ import annotations

import random
from typing import Any

import numpy as np

from curator.dedup import find_duplicates, kernels

PREAMBLE = (
    "toolformer: enabled\ntoolformer access: python\nA Python shell. Use this to execute python "
    "commands. Input should be a valid python command or script. If you expect output it should "
    "be printed out. Useful for all code, as well as math calculations, unit conversions, string "
    "handling and anything else a short program can answer.\npython(codetoexecute)\n")


def chat(user: str, assistant: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": user},
                         {"role": "assistant", "content": assistant}]}


def tool_rows(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """n rows under PREAMBLE, each asking for the greatest common divisor of its own numbers."""
    rng = random.Random(seed)
    pairs: set[tuple[int, int]] = set()
    while len(pairs) < n:
        pairs.add((rng.randint(10, 999), rng.randint(10, 999)))
    return [chat(f"{PREAMBLE}Find the greatest common divisor of {a} and {b}.",
                 f"The greatest common divisor of {a} and {b} is "
                 f"python('import math; math.gcd({a}, {b})').")
            for a, b in sorted(pairs)]


def other_rows(n: int, seed: int = 1) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    vocab = [f"w{i}q{i * 31 % 17}" for i in range(2000)]
    return [chat(" ".join(rng.choice(vocab) for _ in range(30)),
                 " ".join(rng.choice(vocab) for _ in range(40))) for _ in range(n)]


def char_jaccard(a: str, b: str, n: int = 5) -> float:
    x = {a[i : i + n] for i in range(len(a) - n + 1)}
    y = {b[i : i + n] for i in range(len(b) - n + 1)}
    return len(x & y) / len(x | y)


def text(row: dict[str, Any]) -> str:
    return "\n".join(m["content"] for m in row["messages"]).lower()


def test_different_questions_under_one_preamble_are_not_near_duplicates() -> None:
    rows = tool_rows(30) + other_rows(30)
    # the premise: over the whole text, many pairs pass the threshold (the old verdict)
    close = [(i, j) for i in range(30) for j in range(i + 1, 30)
             if char_jaccard(text(rows[i]), text(rows[j])) >= 0.8]
    assert len(close) >= 20
    result = find_duplicates(list(enumerate(rows)), keeper="earliest", processes=1)
    assert result.pairs == [] and result.clusters == []


def test_a_real_near_copy_under_the_preamble_is_still_found() -> None:
    rows = tool_rows(30) + other_rows(30)
    source = rows[7]
    user, answer = (m["content"] for m in source["messages"])
    # one word added inside the preamble, one word dropped from the question
    edited = user.replace("Input should be", "Input should now be").replace("greatest ", "", 1)
    copy = chat(edited, answer)
    assert char_jaccard(text(source), text(copy)) >= 0.8
    rows.append(copy)
    result = find_duplicates(list(enumerate(rows)), keeper="earliest", processes=1)
    assert [(c.keeper, [m.id for m in c.members]) for c in result.clusters] == [(7, [60])]


def test_a_family_of_short_near_copies_is_judged_on_the_whole_text() -> None:
    # twelve copies of one stock reply: every shingle is in many records, so none keeps enough
    # of its own to be judged without them, and the whole-text Jaccard decides as before
    base = "Thank you for contacting our support team. We will get back to you within two days."
    fillers = ("now", "also", "soon", "then", "just", "really", "today", "again", "here", "still",
               "kindly", "surely")
    rows = [chat("Status of my ticket?", base)]
    for w in fillers:
        rows.append(chat("Status of my ticket?", base.replace("We will", f"We {w} will")))
    rows += other_rows(20)
    result = find_duplicates(list(enumerate(rows)), keeper="earliest", processes=1)
    found = {m.id for c in result.clusters for m in c.members} | {c.keeper for c in result.clusters}
    assert set(range(13)) <= found


def test_frequent_shingles_are_those_in_enough_texts() -> None:
    from curator.dedup.boilerplate import frequent_shingles

    texts = ["abcdefgh"] * 12 + ["abcdezzz"] * 3 + ["qqqqqqqq"]
    codes, offsets = kernels.encode(texts)
    hashes, bounds = kernels.shingles(codes, offsets, False, 5)
    got = set(frequent_shingles(codes, offsets, False, 5, share=0.5, min_records=2).tolist())
    count: dict[int, int] = {}
    for t in range(len(texts)):
        for h in set(hashes[bounds[t] : bounds[t + 1]].tolist()):
            count[h] = count.get(h, 0) + 1
    cutoff = max(2, int(np.ceil(0.5 * len(texts))))
    assert got == {h for h, c in count.items() if c >= cutoff}
    assert len(got) == 4  # abcde is in 15 texts, bcdef, cdefg, defgh in 12; nothing else in 8


def test_own_similarity_is_the_overlap_of_the_sets_without_boilerplate() -> None:
    from curator.dedup.boilerplate import frequent_shingles, own_similarity

    rng = random.Random(3)
    vocab = [f"w{i}" for i in range(60)]
    texts = [" ".join(rng.choice(vocab) for _ in range(rng.randint(1, 40))) for _ in range(200)]
    texts += ["a preamble shared by many records " * 4 + t for t in texts[:80]]
    codes, offsets = kernels.encode(texts)
    frequent = frequent_shingles(codes, offsets, False, 5)
    left = np.array([rng.randrange(len(texts)) for _ in range(600)])
    right = np.array([rng.randrange(len(texts)) for _ in range(600)])
    which = np.array(sorted(rng.sample(range(600), 400)))
    got = own_similarity(codes, offsets, False, 5, left, right, which, frequent, min_own=5)
    hashes, bounds = kernels.shingles(codes, offsets, False, 5)
    common = set(frequent.tolist())
    compared = 0
    for k, p in enumerate(which.tolist()):
        a = set(hashes[bounds[left[p]] : bounds[left[p] + 1]].tolist()) - common
        b = set(hashes[bounds[right[p]] : bounds[right[p] + 1]].tolist()) - common
        if len(a) < 5 or len(b) < 5:
            assert np.isnan(got[k])
        else:
            assert got[k] == len(a & b) / min(len(a), len(b))
            compared += 1
    assert len(common) > 0 and compared > 50


def _random_texts(rng: random.Random) -> list[str]:
    vocab = [f"w{i}" for i in range(40)]
    texts = [" ".join(rng.choice(vocab) for _ in range(rng.randint(0, 40))) for _ in range(150)]
    texts += ["a preamble shared by many records " * 4 + t for t in texts[:70]]
    texts += [t + " and a tail" for t in texts[100:140]]  # near copies
    return texts


def test_compiled_own_overlap_equals_the_reference_on_random_pairs() -> None:
    """The verification kernel's boilerplate test (kernels.pair_similarities) gives, for every
    pair, what boilerplate.own_similarity gives for the pairs at or above the threshold, and
    NaN for the others; the Jaccard is pair_jaccard's. Pairs sorted by left text (as
    verification gives them) and in random order (a left text coming back after another)."""
    from curator.dedup.boilerplate import frequent_shingles, own_similarity

    for seed in range(4):
        rng = random.Random(seed)
        texts = _random_texts(rng)
        for word, n in ((False, 5), (True, 2)):
            codes, offsets = kernels.encode(texts)
            frequent = frequent_shingles(codes, offsets, word, n)
            assert len(frequent) > 0
            left = np.array([rng.randrange(len(texts)) for _ in range(1500)])
            right = np.array([rng.randrange(len(texts)) for _ in range(1500)])
            left[:40], right[:40] = np.arange(100, 140), np.arange(220, 260)  # near copies
            left[40:240] = np.arange(150, 350) % len(texts)  # preamble rows with others
            right[40:240] = np.arange(160, 360) % len(texts)
            if seed % 2:
                order = np.argsort(left, kind="stable")
                left, right = left[order], right[order]
            for threshold in (0.0, 0.3, 0.8):
                sims, own = kernels.pair_similarities(codes, offsets, word, n, left, right,
                                                      frequent, threshold, 5)
                jaccard = kernels.pair_jaccard(codes, offsets, word, n, left, right)
                assert np.array_equal(sims, jaccard)
                # with each text's distinct count from signing: the same
                distinct = kernels.minhash_profiles(codes, offsets, word, n, 64)[2]
                again = kernels.pair_similarities(codes, offsets, word, n, left, right,
                                                  frequent, threshold, 5, distinct)
                assert np.array_equal(again[0], sims)
                assert np.array_equal(again[1], own, equal_nan=True)
                # stopping a pair once it cannot reach the threshold: the same pairs reach
                # it, with the same figures; the others stay below it
                stopped = kernels.pair_similarities(codes, offsets, word, n, left, right,
                                                    frequent, threshold, 5, distinct, stop=True)
                passing = sims >= threshold
                assert np.array_equal(stopped[0] >= threshold, passing)
                assert np.array_equal(stopped[0][passing], sims[passing])
                assert np.array_equal(stopped[1], own, equal_nan=True)
                which = np.flatnonzero(sims >= threshold)
                want = np.full(len(left), np.nan)
                want[which] = own_similarity(codes, offsets, word, n, left, right, which,
                                             frequent, min_own=5)
                assert np.array_equal(own, want, equal_nan=True)
                assert np.isfinite(own).sum() >= 10
            # without boilerplate hashes nothing is tested
            _, none = kernels.pair_similarities(codes, offsets, word, n, left, right)
            assert np.isnan(none).all()


def test_frequent_shingles_match_a_count_over_sets_on_random_texts() -> None:
    from curator.dedup.boilerplate import frequent_shingles

    rng = random.Random(5)
    texts = _random_texts(rng)
    for word, n in ((False, 5), (True, 2), (False, 3)):
        codes, offsets = kernels.encode(texts)
        hashes, bounds = kernels.shingles(codes, offsets, word, n)
        count: dict[int, int] = {}
        for t in range(len(texts)):
            for h in set(hashes[bounds[t] : bounds[t + 1]].tolist()):
                count[h] = count.get(h, 0) + 1
        for share, least in ((0.01, 10), (0.2, 2), (0.5, 2)):
            got = frequent_shingles(codes, offsets, word, n, share=share, min_records=least)
            cutoff = max(least, int(np.ceil(share * len(texts))))
            assert got.tolist() == sorted(h for h, c in count.items() if c >= cutoff)
