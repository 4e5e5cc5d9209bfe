"""Dedup on small planted data: normal form, hashing, LSH parameters, recall, clustering rules."""

from __future__ import annotations

import collections
import importlib.util
import random
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from curator.dedup import (
    Shingling,
    choose_bands,
    collision_probability,
    content_hash,
    exact_groups,
    find_duplicates,
    kernels,
    normalize_example,
    normalize_text,
    shingle_hashes,
    signatures,
)
from curator.dedup.minhash import signatures_full

ROOT = Path(__file__).resolve().parents[2]


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("gen_dedup", ROOT / "bench" / "gen_dedup.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def chat(user: str, assistant: str, system: str | None = None) -> dict[str, Any]:
    messages = [{"role": "system", "content": system}] if system else []
    messages += [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
    return {"messages": messages}


def char_set(text: str, n: int = 5) -> set[str]:
    return {text[i : i + n] for i in range(max(len(text) - n + 1, 1))}


def jaccard(a: str, b: str) -> float:
    x, y = char_set(a), char_set(b)
    return len(x & y) / len(x | y)


WORDS = [f"w{i}x{i * 7919 % 101}" for i in range(3000)]


def words(rng: random.Random, n: int) -> list[str]:
    return [rng.choice(WORDS) for _ in range(n)]


# --- normal form -----------------------------------------------------------------------------


def test_normal_form_ignores_width_case_whitespace_and_invisibles() -> None:
    assert normalize_text("  Ｈｅｌｌｏ\u200b   WORLD\n\tagain ") == "hello world again"
    assert normalize_text("Straße") == normalize_text("STRASSE")


def test_roles_are_part_of_the_text() -> None:
    a = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}
    b = {"messages": [{"role": "assistant", "content": "hi"}, {"role": "user", "content": "yo"}]}
    assert normalize_example(a) != normalize_example(b)


def test_system_prompt_is_optional() -> None:
    a, b = chat("q", "a", system="You are terse."), chat("q", "a", system="You are kind.")
    assert normalize_example(a) == normalize_example(b)
    assert normalize_example(a, include_system=True) != normalize_example(b, include_system=True)
    groups = exact_groups([(1, a), (2, b)])
    assert [g.ids for g in groups] == [(1, 2)]
    assert exact_groups([(1, a), (2, b)], include_system=True) == []


def test_tool_calls_and_content_parts_count() -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    other = {"id": "c1", "type": "function", "function": {"name": "g", "arguments": "{}"}}
    a = {
        "messages": [{"role": "user", "content": "x"}, {"role": "assistant", "tool_calls": [call]}]
    }
    b = {
        "messages": [{"role": "user", "content": "x"}, {"role": "assistant", "tool_calls": [other]}]
    }
    assert normalize_example(a) != normalize_example(b)
    parts = {"messages": [{"role": "user", "content": [{"type": "text", "text": "Hi  THERE"}]}]}
    plain = {"messages": [{"role": "user", "content": "hi there"}]}
    assert normalize_example(parts) == normalize_example(plain)


# --- shingles and signatures -----------------------------------------------------------------


def reference_shingles(text: str, shingling: Shingling) -> list[str]:
    n = shingling.n
    if shingling.unit == "char":
        return [text[k : k + n] for k in range(max(len(text) - n + 1, 1))]
    w = text.split()
    return [" ".join(w[k : k + n]) for k in range(max(len(w) - n + 1, 1))]


@pytest.mark.parametrize(
    "shingling", [Shingling("char", 5), Shingling("char", 2), Shingling("word", 3)]
)
def test_shingle_hashes_are_one_to_one_with_shingles(shingling: Shingling) -> None:
    rng = random.Random(3)
    pieces = ["a", "bb", "ccc", "é", "日本"]
    texts = [" ".join(rng.choice(pieces) for _ in range(rng.randint(0, 9))) for _ in range(200)]
    hashes, text_of = shingle_hashes(texts, shingling)
    for i, text in enumerate(texts):
        expected = reference_shingles(text, shingling)
        mine = sorted(hashes[text_of == i].tolist())
        assert len(mine) == len(expected)
        # the same multiset: equal shingles hash equal, within and across texts
        counts = sorted(expected.count(s) for s in set(expected))
        assert counts == sorted(mine.count(h) for h in set(mine))
    sets = [set(hashes[text_of == i].tolist()) for i in range(len(texts))]
    shingle_sets = [set(reference_shingles(t, shingling)) for t in texts]
    # two texts share a hash exactly when they share a shingle
    for i in range(0, 200, 7):
        for j in range(1, 200, 11):
            assert len(sets[i] & sets[j]) == len(shingle_sets[i] & shingle_sets[j])


@pytest.mark.parametrize("shingling", [Shingling("char", 5), Shingling("char", 1),
                                       Shingling("word", 2)])
def test_pair_jaccard_is_the_exact_jaccard_of_the_shingle_sets(shingling: Shingling) -> None:
    rng = random.Random(12)
    pieces = ["a", "bb", "ccc", "é", "日本", "a a", "  "]
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 40))) for _ in range(120)]
    texts += [texts[0] + " tail", texts[1] * 3]  # near copies, and a text that repeats itself
    left = np.array([rng.randrange(len(texts)) for _ in range(400)] + [0, 1, 5])
    right = np.array([rng.randrange(len(texts)) for _ in range(400)] + [120, 121, 5])
    codes, offsets = kernels.encode(texts)
    sims = kernels.pair_jaccard(codes, offsets, shingling.unit == "word", shingling.n,
                                left, right)
    sets = [set(reference_shingles(t, shingling)) for t in texts]
    pairs = zip(left.tolist(), right.tolist(), strict=True)
    for (i, j), got in zip(pairs, sims.tolist(), strict=True):
        assert got == pytest.approx(len(sets[i] & sets[j]) / len(sets[i] | sets[j]))
    assert 0 < sims[-3] < 1 and sims[-1] == 1.0  # the premise: partial and full overlaps
    # sorted by the left text, as candidates come: runs of pairs share the left text's table
    order = np.lexsort((right, left))
    again = kernels.pair_jaccard(codes, offsets, shingling.unit == "word", shingling.n,
                                 left[order], right[order])
    assert (again == sims[order]).all()
    assert (np.diff(left[order]) == 0).sum() > 200  # the premise: long runs
    assert any(len(set(reference_shingles(t, shingling))) < len(reference_shingles(t, shingling))
               for t in texts)  # and texts that repeat a shingle


def test_pair_jaccard_does_not_depend_on_the_longest_text_of_the_chunk() -> None:
    # the verification kernel sizes its tables by the chunk's longest text (sparser tables
    # below 65,536 characters): a pair's figure must not change with what else is verified
    rng = random.Random(3)
    words = ["alpha", "beta", "gamma", "delta", "eps", "zeta", "eta", "theta", "é", "日本"]
    texts = [" ".join(rng.choice(words) for _ in range(rng.randint(1, 60))) for _ in range(80)]
    texts += [texts[0] + " more", texts[1] + texts[2]]
    huge = " ".join(rng.choice(words) for _ in range(20_000))  # over 65,536 characters
    assert len(huge) > 1 << 16
    left = np.array(sorted(rng.randrange(len(texts)) for _ in range(300)))
    right = np.array([rng.randrange(len(texts)) for _ in range(300)])
    sets = [set(reference_shingles(t, Shingling("char", 5))) for t in [*texts, huge]]
    for chunk in (texts, [*texts, huge]):
        codes, offsets = kernels.encode(chunk)
        sims = kernels.pair_jaccard(codes, offsets, False, 5, left, right)
        want = [len(sets[i] & sets[j]) / len(sets[i] | sets[j])
                for i, j in zip(left.tolist(), right.tolist(), strict=True)]
        assert sims.tolist() == pytest.approx(want)
    # and a pair with the long text itself
    codes, offsets = kernels.encode([*texts, huge])
    sims = kernels.pair_jaccard(codes, offsets, False, 5, np.array([len(texts)]), np.array([0]))
    assert sims[0] == pytest.approx(len(sets[-1] & sets[0]) / len(sets[-1] | sets[0]))


def test_own_bins_are_the_bins_a_text_hashes_into() -> None:
    rng = random.Random(4)
    texts = ["", "abc", *(" ".join(words(rng, k)) for k in (3, 20, 200))]
    _, own = signatures_full(texts, num_perm=64)
    hashes, text_of = shingle_hashes(texts)
    for t in range(len(texts)):
        hit = set((hashes[text_of == t] >> np.uint64(58)).tolist())
        assert set(np.flatnonzero(own[t]).tolist()) == hit
    assert own[-1].all() and own[1].sum() == 1  # a long text fills every bin; "abc" one


def test_compiled_ascii_normalisation_is_normalize_text() -> None:
    rng = random.Random(21)
    alphabet = "aZ z09.,\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f  -_<|>"
    raw = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60))) for _ in range(500)]
    raw += ["", "   ", "\t\n", "ALL CAPS  AND\tTABS\n"]
    unicode = [normalize_text(t) for t in ["Ｆｕｌｌ　ｗｉｄｔｈ", "Straße\u200b  x", "é\u2028É"]]
    texts = raw + unicode  # text normalised already must come back unchanged
    codes, offsets = kernels.normalise_ascii(*kernels.encode(texts))
    back = [codes[offsets[k] : offsets[k + 1]].tobytes().decode("utf-32-le")
            for k in range(len(texts))]
    assert back == [normalize_text(t) for t in texts]
    assert back[-4] == "all caps and tabs"


def test_signature_agreement_estimates_jaccard() -> None:
    rng = random.Random(5)
    base = " ".join(words(rng, 120))
    texts, truths = [], []
    for edits in (0, 2, 5, 10, 20, 40, 120):
        w = base.split()
        for k in rng.sample(range(len(w)), edits):
            w[k] = rng.choice(WORDS)
        texts.append(" ".join(w))
        truths.append(jaccard(base, texts[-1]))
    sig = signatures([base, *texts], num_perm=256)
    estimates = (sig[1:] == sig[0]).mean(axis=1)
    assert np.abs(estimates - np.array(truths)).max() < 0.1
    assert truths[0] == 1.0 and truths[-1] < 0.3  # the premise: a spread of similarities


def test_short_and_empty_texts_get_signatures() -> None:
    sig = signatures(["", "ab", "ab", "abcdefgh"], num_perm=64)
    assert (sig != 0xFFFFFFFF).all()
    assert (sig[1] == sig[2]).all() and not (sig[0] == sig[1]).all()


def test_bands_catch_pairs_at_the_threshold() -> None:
    for threshold in (0.5, 0.7, 0.8, 0.9):
        bands, rows = choose_bands(threshold, 128)
        assert bands * rows <= 128
        p = 1 - (1 - threshold**rows) ** bands
        assert p >= 0.99 and collision_probability(threshold, bands, rows) == pytest.approx(p)
        more = rows + 1
        assert 1 - (1 - threshold**more) ** (128 // more) < 0.99  # rows is the most allowed


# --- near duplicates -------------------------------------------------------------------------


def score(result: Any, truth: list[dict[str, Any]]) -> tuple[float, float]:
    family = {}
    for t in truth:
        family.setdefault(t["a"], t["a"])
        family[t["b"]] = family[t["a"]]
    cluster_of = {i: k for k, c in enumerate(result.clusters) for i in c.ids}
    near = [t for t in truth if t["kind"] == "near"]
    found = sum(
        1 for t in near if t["a"] in cluster_of and cluster_of.get(t["b"]) == cluster_of[t["a"]]
    )
    pairs = [(c.keeper, m.id) for c in result.clusters for m in c.members]
    good = sum(1 for a, b in pairs if a in family and family.get(b) == family[a])
    return found / len(near), good / len(pairs)


@pytest.fixture(scope="module")
def planted() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    records, truth = _generator().generate(3000, seed=11)
    return records, truth


def test_recall_and_precision_on_planted_pairs(planted: Any) -> None:
    records, truth = planted
    result = find_duplicates(enumerate(records), processes=1)
    recall, precision = score(result, truth)
    assert recall >= 0.95 and precision >= 0.99
    # every reported similarity is the true Jaccard of the normalised texts, not an estimate
    texts = [normalize_example(r) for r in records]
    for c in result.clusters[:50]:
        for m in c.members:
            assert m.similarity == pytest.approx(jaccard(texts[c.keeper], texts[m.id]))
            assert m.similarity >= 0.8


def test_exact_copies_are_grouped(planted: Any) -> None:
    records, truth = planted
    result = find_duplicates(enumerate(records), processes=1)
    texts = [normalize_example(r) for r in records]
    for group in result.exact_groups:
        assert len({texts[i] for i in group.ids}) == 1
    grouped = {frozenset(g.ids) for g in result.exact_groups}
    for t in truth:
        if t["kind"] == "exact":
            assert any({t["a"], t["b"]} <= g for g in grouped)
    members = {m.id: m for c in result.clusters for m in c.members}
    keeper_of = {m.id: c.keeper for c in result.clusters for m in c.members}
    for m_id, m in members.items():
        assert m.exact == (texts[m_id] == texts[keeper_of[m_id]])


def test_screening_by_signature_changes_nothing_found(planted: Any) -> None:
    records, _ = planted
    screened = find_duplicates(enumerate(records), processes=1)
    unscreened = find_duplicates(enumerate(records), processes=1, screen=False)
    assert unscreened.stats.screened_out == 0 < screened.stats.screened_out
    assert screened.stats.candidate_pairs == unscreened.stats.candidate_pairs
    assert screened.pairs == unscreened.pairs and screened.clusters == unscreened.clusters


class ListFetch:
    """A picklable fetch over a list, as a worker process would receive it."""

    def __init__(self, items: list[Any]) -> None:
        self.items = items
        self.calls = 0

    def __call__(self, ids: Any) -> list[Any]:
        self.calls += 1
        return [self.items[i] for i in ids]


def test_ids_read_by_the_workers_give_the_same_result(planted: Any) -> None:
    records, _ = planted
    streamed = find_duplicates(enumerate(records), processes=1)
    seen: list[tuple[int, int]] = []
    by_id = find_duplicates(ids=list(range(len(records))), fetch=ListFetch(records),
                            processes=2, batch_size=700,
                            progress=lambda done, total: seen.append((done, total)))
    assert by_id.clusters == streamed.clusters and by_id.pairs == streamed.pairs
    signed = [step for step in seen if step[1] == len(records)]
    assert signed[-1] == (len(records), len(records)) and len(signed) == 5  # one per batch
    verified = seen[len(signed):]  # then the pairs, counted on from the records
    assert verified and verified[-1][0] == verified[-1][1] > len(records)
    with pytest.raises(ValueError, match="fetch"):
        find_duplicates(ids=[1, 2])


def test_ascii_and_unicode_records_hash_as_their_normal_form() -> None:
    records = [chat("Hello   THERE", "General\tKenobi"), chat("hello there", "general kenobi"),
               chat("Ｈｅｌｌｏ there", "general kenobi"), chat("Straße", "x\u200by"),
               chat("STRASSE", "xy"), chat("other", "thing")]
    result = find_duplicates(enumerate(records), processes=1)
    groups = {g.ids: g.digest for g in result.exact_groups}
    assert set(groups) == {(0, 1, 2), (3, 4)}  # full width folds to ASCII; ß case-folds to ss
    for ids, digest in groups.items():
        assert digest == content_hash(normalize_example(records[ids[0]])).hex()


def test_result_does_not_depend_on_processes_batches_or_runs(planted: Any) -> None:
    records, _ = planted
    a = find_duplicates(enumerate(records), processes=1, batch_size=500)
    b = find_duplicates(enumerate(records), processes=2, batch_size=777)
    c = find_duplicates(enumerate(records), processes=2, batch_size=777)
    assert a.clusters == b.clusters == c.clusters and a.exact_groups == b.exact_groups
    assert a.pairs == b.pairs


def test_each_record_is_read_once_and_the_spill_file_is_removed(
    planted: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # issue 15: verification used to fetch and normalise the texts of every candidate pair
    # again (715,000 reads for 100,000 records on real text); now it reads the spill file
    # written while signing, and `fetch` serves the signing batches alone
    records, _ = planted
    asked: list[int] = []

    def fetch(ids: Any) -> list[dict[str, Any]]:
        asked.extend(ids)
        return [records[i] for i in ids]

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    kept = find_duplicates(enumerate(records), processes=1)
    fetched = find_duplicates(ids=list(range(len(records))), fetch=fetch, processes=1)
    assert kept.clusters == fetched.clusters and kept.pairs == fetched.pairs
    assert kept.stats.verified_pairs > 0
    assert sorted(asked) == list(range(len(records)))  # every record once, no more
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(importlib.util.find_spec("fcntl") is None, reason="flock: POSIX only")
def test_spill_files_of_killed_runs_are_swept(
    planted: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a run killed with SIGKILL runs no cleanup and leaves its spill file (up to the texts'
    # size) behind; the next run removes such files: unlocked and over a minute old
    import fcntl
    import os

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead, running, fresh = (tmp_path / f"curator-dedup-{name}.txt"
                            for name in ("dead", "running", "fresh"))
    for path in (dead, running, fresh):
        path.write_bytes(b"normalised text")
    for path in (dead, running):
        os.utime(path, (0, 0))
    with running.open("rb") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # a dedup still running
        records, _ = planted
        find_duplicates(enumerate(records[:200]), processes=1)
        assert sorted(p.name for p in tmp_path.iterdir()) == [fresh.name, running.name]


def test_unicode_pairs_are_verified_from_the_spill_file() -> None:
    rng = random.Random(3)
    base = " ".join(words(rng, 60))
    records = [chat("Grüße " + base, "Straße für Zürich, ÉTÉ"),
               chat("Grüße " + base + " noch", "Straße für Zürich, ÉTÉ"),
               chat("ascii " + base, "plain answer"),
               chat("ascii " + base + " more", "plain answer")]
    result = find_duplicates(enumerate(records), processes=1, threshold=0.7)
    texts = [normalize_example(r) for r in records]
    sims = {(a, b): s for a, b, s in result.pairs}
    assert set(sims) >= {(0, 1), (2, 3)}
    for (a, b), s in sims.items():
        sa, sb = _char5(texts[a]), _char5(texts[b])
        assert s == pytest.approx(len(sa & sb) / len(sa | sb))


def test_compiled_agreement_matches_numpy() -> None:
    rng = np.random.default_rng(5)
    n, k = 50, 128
    sketch = rng.integers(0, 4, size=(n, k), dtype=np.uint8)  # small values: many agree
    own_bits = rng.random((n, k)) < 0.6
    own_bits[3] = False  # a record that fills no bin itself
    own = np.packbits(own_bits, axis=1)
    a, b = np.triu_indices(n, 1)
    pairs = (a.astype(np.uint64) << np.uint64(32)) | b.astype(np.uint64)
    agree, trials = kernels.agreement(pairs, sketch, own)
    either = own_bits[a] | own_bits[b]
    assert (agree == ((sketch[a] == sketch[b]) & either).sum(axis=1)).all()
    assert (trials == np.maximum(either.sum(axis=1), 1)).all()


def chain() -> tuple[str, str, str]:
    rng = random.Random(8)
    a = words(rng, 150)
    b = list(a)
    for k in range(0, 150, 12):
        b[k] = f"zz{k}"
    c = list(b)
    for k in range(6, 150, 12):
        c[k] = f"yy{k}"
    return " ".join(a), " ".join(b), " ".join(c)


def test_chains_are_not_merged_blindly() -> None:
    a, b, c = chain()
    assert jaccard(a, b) >= 0.8 and jaccard(b, c) >= 0.8 and jaccard(a, c) < 0.8  # the premise
    result = find_duplicates([(0, a), (1, b), (2, c)], keeper="earliest", processes=1)
    assert {(x, y) for x, y, _ in result.pairs} == {(0, 1), (1, 2)}
    assert [(cl.keeper, [m.id for m in cl.members]) for cl in result.clusters] == [(0, [1])]
    # with the middle one as keeper both ends are within the threshold of it
    result = find_duplicates([(0, a), (1, b), (2, c)], prefer={1}, processes=1)
    assert [(cl.keeper, [m.id for m in cl.members]) for cl in result.clusters] == [(1, [0, 2])]


def keeper_case() -> list[tuple[int, str]]:
    rng = random.Random(9)
    base = words(rng, 100)
    longer = [*base, "extra", "words"]
    shorter = list(base)
    shorter[50] = "changed"
    return [(10, " ".join(shorter)), (20, " ".join(longer)), (30, " ".join(base))]


@pytest.mark.parametrize(
    ("kwargs", "keeper"),
    [
        ({"keeper": "longest"}, 20),
        ({"keeper": "earliest"}, 10),
        ({"keeper": "accepted_first", "statuses": {30: "accepted", 10: "rejected"}}, 30),
        ({"keeper": "accepted_first", "statuses": {10: "rejected"}}, 20),
        ({"keeper": "longest", "prefer": {30}}, 30),
    ],
)
def test_keeper_rules(kwargs: Any, keeper: int) -> None:
    records = keeper_case()
    result = find_duplicates(records, processes=1, **kwargs)
    assert len(result.clusters) == 1
    cluster = result.clusters[0]
    assert cluster.keeper == keeper and set(cluster.ids) == {10, 20, 30}
    texts = dict(records)
    for m in cluster.members:
        assert m.similarity == pytest.approx(jaccard(texts[keeper], texts[m.id]))


def test_exact_copies_follow_their_representative() -> None:
    records = keeper_case()
    copy = (40, records[0][1].upper() + "  ")  # same as 10 after normalisation
    result = find_duplicates(
        [*records, (40, normalize_text(copy[1]))], keeper="longest", processes=1
    )
    (cluster,) = result.clusters
    sims = {m.id: m.similarity for m in cluster.members}
    assert sims[40] == sims[10] < 1.0
    assert [g.ids for g in result.exact_groups] == [(10, 40)]


def test_duplicate_ids_are_refused() -> None:
    with pytest.raises(ValueError, match="unique"):
        find_duplicates([(1, "a b c"), (1, "d e f")], processes=1)


def test_kernels_compile_where_numba_cannot_cache() -> None:
    # numba refuses to cache a function whose source file it cannot place (here: none at all,
    # as for a read-only install with no writable cache folder); we compile without a cache
    namespace: dict[str, Any] = {}
    exec(compile("def twice(x):\n    return 2 * x\n", "<no file>", "exec"), namespace)
    import numba

    with pytest.raises(RuntimeError, match="cannot cache"):
        numba.njit(cache=True)(namespace["twice"])
    assert kernels._jit()(namespace["twice"])(21) == 42


def _similar_rows(n: int) -> tuple[list[dict[str, Any]], list[tuple[int, int]]]:
    path = Path(__file__).resolve().parents[2] / "bench" / "bench_dedup_cap.py"
    spec = importlib.util.spec_from_file_location("bench_dedup_cap", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows, copies = module.similar_rows(n)
    return rows, copies


def _char5(text: str) -> set[str]:
    return {text[i : i + 5] for i in range(max(1, len(text) - 4))}


def test_a_low_threshold_on_similar_rows_is_capped_reported_and_still_right() -> None:
    # issue 15: rows sharing a long preamble put nearly every record in one bucket of nearly
    # every band at --threshold 0.5; expanding those buckets fully is quadratic
    rows, copies = _similar_rows(400)
    n = len(rows)
    full = find_duplicates(enumerate(rows), threshold=0.5, processes=1, bucket_cap=10**6)
    capped = find_duplicates(enumerate(rows), threshold=0.5, processes=1, bucket_cap=16,
                             bucket_window=2, record_cap=8)
    assert full.stats.capped_buckets == 0 and full.stats.capped_records == 0
    assert full.stats.candidate_pairs > n * (n - 1) // 4  # the quadratic blow-up is real
    s = capped.stats
    assert s.capped_buckets > 0 and 0 < s.capped_records <= n
    # one bucket over the cap gives fewer than size * window pairs: far below the full run
    assert s.candidate_pairs < full.stats.candidate_pairs // 2
    # and each record keeps at most record_cap candidates with the records after it
    assert s.limited_records > 0 and s.limited_pairs > 0
    assert max(collections.Counter(a for a, _, _ in capped.pairs).values()) <= 8
    assert s.verified_pairs <= n * 8
    # what it found is right: every pair verified by its true Jaccard, and a subset of the
    # full run's pairs with the same similarities
    texts = [normalize_example(r) for r in rows]
    full_sims = {(a, b): sim for a, b, sim in full.pairs}
    for a, b, sim in capped.pairs:
        sa, sb = _char5(texts[a]), _char5(texts[b])
        assert sim == pytest.approx(len(sa & sb) / len(sa | sb)) and sim >= 0.5
        assert full_sims[(a, b)] == pytest.approx(sim)
    for c in capped.clusters:
        for m in c.members:
            sa, sb = _char5(texts[c.keeper]), _char5(texts[m.id])
            assert m.similarity == pytest.approx(len(sa & sb) / len(sa | sb))
            assert m.similarity >= 0.5
    # near copies (one word changed) sit together in the second band's order: none is lost
    together = {(m.id, c.keeper) for c in capped.clusters for m in c.members}
    found = {(a, b) for a, b, _ in capped.pairs}
    assert copies and all((a, b) in found or (a, b) in together or (b, a) in together
                          for a, b in copies)


def test_normalize_text_drops_invisible_characters_as_a_translate_table_does() -> None:
    """normalize_text's removal of invisible characters (a scan and replace per character)
    equals deleting them with str.translate, on random text mixing them with accents, wide
    forms, case and whitespace."""
    import random
    import unicodedata

    from curator.dedup.normalize import normalize_text

    table = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"))
    alphabet = list("aBc \t\n\u00e9E\u0301\uff21\u00ad\u200b\u200c\u200d\u2060\ufeff\u00df\u2028x")
    rng = random.Random(0)
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        want = text
        if not want.isascii():
            want = unicodedata.normalize("NFKC", want).casefold().translate(table)
        else:
            want = want.lower()
        assert normalize_text(text) == " ".join(want.split())


def test_example_text_is_the_same_for_string_content_and_one_text_part() -> None:
    """A message whose content is a string (example_text's short path) reads as the same
    message with that string as its one text part, or with empty tool_calls (the general
    path), for random roles and contents, empty ones included."""
    import random

    from curator.dedup.normalize import example_text

    rng = random.Random(1)
    for _ in range(500):
        messages = [{"role": rng.choice(["user", "assistant", "system", "tool", ""]),
                     "content": rng.choice(["", "hi there", " a\n b ", "x" * rng.randint(0, 9)])}
                    for _ in range(rng.randint(0, 4))]
        as_parts = [{"role": m["role"], "content": [{"type": "text", "text": m["content"]}]}
                    for m in messages]
        no_calls = [dict(m, tool_calls=[], function_call=None) for m in messages]
        for system in (False, True):
            text = example_text({"messages": messages}, include_system=system)
            assert text == example_text({"messages": as_parts}, include_system=system)
            assert text == example_text({"messages": no_calls}, include_system=system)


def test_gather_utf8_decodes_byte_ranges_as_python_does() -> None:
    """kernels.gather_utf8 (verification reads the spill file with it) gives for UTF-8 byte
    ranges what decoding them in Python and kernels.encode give: ASCII, two-, three- and
    four-byte characters, empty ranges, ranges in any order and repeated."""
    import random

    rng = random.Random(2)
    alphabet = [*"ab z\n", "\u00e9", "\u00df", "\u0416", "\u4e2d", "\u20ac", "\ue000",
                "\U0001f600", "\U00010348", "\u07ff", "\u0800", "\uffff"]
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(300)]
    encoded = [t.encode("utf-8") for t in texts]
    data = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    bounds = np.concatenate([[0], np.cumsum([len(e) for e in encoded])]).astype(np.int64)
    pick = np.array([rng.randrange(len(texts)) for _ in range(500)])
    codes, offsets = kernels.gather_utf8(data, bounds[pick], bounds[pick + 1])
    want_codes, want_offsets = kernels.encode([texts[k] for k in pick.tolist()])
    assert np.array_equal(offsets, want_offsets)
    assert np.array_equal(codes, want_codes)


def test_normalise_utf8_equals_normalise_ascii_of_the_decoded_texts() -> None:
    """Signing normalises texts from their UTF-8 bytes (kernels.normalise_utf8); it gives
    the code points and offsets that normalise_ascii gives on kernels.encode of the same
    texts, and their UTF-8: raw ASCII with every kind of blank and case, texts normalised by
    normalize_text (non-ASCII), empty texts."""
    import random

    from curator.dedup.normalize import normalize_text

    rng = random.Random(6)
    ascii_pieces = [" ", "  ", "\t", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x1f", "A", "b",
                    "Zz", "!", "\x7f", "\x00"]
    other = ["\u00e9", "\u4e2d", "\U0001f600", "\u00df", "\u0130", "\u2028", "\u3000", "\ue000"]
    texts = []
    for _ in range(600):
        raw = "".join(rng.choice(ascii_pieces) for _ in range(rng.randint(0, 12)))
        if rng.random() < 0.4:
            raw += rng.choice(other) + raw
            raw = normalize_text(raw)
        texts.append(raw)
    encoded = [t.encode("utf-8") for t in texts]
    bounds = np.concatenate([[0], np.cumsum([len(e) for e in encoded])]).astype(np.int64)
    codes, offsets, utf8, utf8_bounds = kernels.normalise_utf8(
        np.frombuffer(b"".join(encoded), dtype=np.uint8), bounds)
    want_codes, want_offsets = kernels.normalise_ascii(*kernels.encode(texts))
    assert np.array_equal(offsets, want_offsets)
    assert np.array_equal(codes, want_codes)
    cuts = want_offsets.tolist()
    want_text = [want_codes[cuts[k] : cuts[k + 1]].tobytes().decode("utf-32-le")
                 for k in range(len(texts))]
    got = utf8.tobytes()
    assert [got[utf8_bounds[k] : utf8_bounds[k + 1]].decode("utf-8")
            for k in range(len(texts))] == want_text


def test_agreement_by_words_equals_agreement_bin_by_bin() -> None:
    """kernels.agreement (eight bins a step, the screen and the record cap use it) counts
    what the bin-by-bin loop counts, on random sketches whose bins often agree, random own
    bits (empty bytes included), for several signature widths."""
    rng = np.random.default_rng(7)
    for k in (4, 8, 64, 128):
        n = 400
        sketch = rng.integers(0, 3, (n, k), dtype=np.uint8)
        own = np.packbits(rng.random((n, k)) < rng.choice([0.05, 0.5, 0.95]), axis=1)
        a = rng.integers(0, n, 5000).astype(np.uint64)
        b = rng.integers(0, n, 5000).astype(np.uint64)
        pairs = (np.minimum(a, b) << np.uint64(32)) | np.maximum(a, b)
        agree, trials = kernels.agreement(pairs, sketch, own)
        want_agree, want_trials = kernels.agreement_bins(pairs, sketch, own)
        assert np.array_equal(agree, want_agree) and np.array_equal(trials, want_trials)
        assert agree.max() > 0


def test_minhash_profiles_counts_each_texts_distinct_shingles() -> None:
    import random

    rng = random.Random(8)
    texts = ["".join(rng.choice("ab c") for _ in range(rng.randint(0, 60))) for _ in range(300)]
    codes, offsets = kernels.encode(texts)
    for word, n in ((False, 5), (True, 2), (False, 1)):
        sig, own, distinct, _ = kernels.minhash_profiles(codes, offsets, word, n, 64)
        want_sig, want_own = kernels.minhash(codes, offsets, word, n, 64)
        assert np.array_equal(sig, want_sig) and np.array_equal(own, want_own)
        hashes, bounds = kernels.shingles(codes, offsets, word, n)
        assert distinct.tolist() == [len(set(hashes[bounds[t] : bounds[t + 1]].tolist()))
                                     for t in range(len(texts))]


def test_size_bound_never_drops_a_pair_that_reaches_the_threshold() -> None:
    """Verification skips a candidate whose shingle-set sizes alone keep its Jaccard below
    the threshold (near._possible); on random texts, every pair at or above the threshold
    (exactly at it included) is kept, and pairs of very unequal sizes are dropped."""
    import random

    from curator.dedup.near import _possible

    rng = random.Random(9)
    base = ["".join(rng.choice("abcd ") for _ in range(rng.randint(5, 80))) for _ in range(60)]
    texts = base + [t[: rng.randint(1, len(t))] for t in base] + [t + t[:9] for t in base]
    codes, offsets = kernels.encode(texts)
    distinct = kernels.minhash_profiles(codes, offsets, False, 5, 64)[2].astype(np.int32)
    a = np.array([rng.randrange(len(texts)) for _ in range(4000)], dtype=np.uint64)
    b = np.array([rng.randrange(len(texts)) for _ in range(4000)], dtype=np.uint64)
    a[:60], b[:60] = np.arange(60), np.arange(60) + 60  # a text and its prefix
    pairs = (np.minimum(a, b) << np.uint64(32)) | np.maximum(a, b)
    left = (pairs >> np.uint64(32)).astype(np.int64)
    right = (pairs & np.uint64(0xFFFFFFFF)).astype(np.int64)
    sims = kernels.pair_jaccard(codes, offsets, False, 5, left, right)
    for threshold in (0.3, 0.5, 0.8, *np.unique(sims[(sims > 0.2) & (sims < 1)])[:50].tolist()):
        kept = set(_possible(pairs, distinct, threshold).tolist())
        assert {int(p) for p, s in zip(pairs.tolist(), sims, strict=True)
                if s >= threshold} <= kept
        assert len(kept) < len(set(pairs.tolist()))


def test_exact_groups_by_digest_with_shared_first_halves() -> None:
    # the groups are sorted by the digests' first half alone unless two share it but not the
    # second half: both ways give the groups of equal digests, in index order
    from curator.dedup.near import _exact_groups

    rng = random.Random(9)
    for clash in (False, True):
        rows = [(rng.randrange(6 if clash else 1 << 40), rng.randrange(3 if clash else 1 << 40))
                for _ in range(200)]
        rows += [rows[k] for k in rng.sample(range(200), 60)]
        rng.shuffle(rows)
        digests = np.array(rows, dtype=np.uint64)
        want: dict[tuple[int, int], list[int]] = {}
        for k, row in enumerate(rows):
            want.setdefault(row, []).append(k)
        groups = sorted((g for g in want.values() if len(g) > 1), key=lambda g: g[0])
        assert _exact_groups(digests) == groups
        assert groups  # the premise: there are groups
    assert _exact_groups(np.empty((0, 2), dtype=np.uint64)) == []
