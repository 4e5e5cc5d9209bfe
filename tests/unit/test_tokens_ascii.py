"""The compiled o200k_base count of ASCII text (curator.tokens_ascii) gives the same counts as the
bpe-openai wheel (itself checked against tiktoken in test_tokens.py), on text shaped like real
rows and on random strings made to hit every branch of the split pattern; texts it leaves to the
other counter (a piece over PIECE_MAX, non-ASCII text) come out the same too; and validate, which
uses it for large files, reports the same counts with it as without."""

from __future__ import annotations

import json
import random
import threading
from pathlib import Path

import numpy as np
import pytest

from curator import tokens_ascii
from curator.tokens import TiktokenCounter, get_encoding
from curator.validate import engine
from curator.validate.engine import Options, RowChecker, check_range, validate_file

#: fragments that meet at the pattern's edges: contractions in any case, runs of whitespace with
#: and without line breaks, digits, punctuation with slashes and newlines after it, case changes
FRAGMENTS = [
    "'s", "'S", "'t", "'re", "'RE", "'Ve", "'m", "'ll", "'LL", "'d", "'D", "'x", "''", " ", "  ", "   ",
    "\t", "\n", "\r\n", "\r", "\n\n", " \n", "\v", "\f", "///", "/", "\n/", "...", "!!", "hello", "Hello",
    "HELLO", "hELLo", "a", "I", "A", "123", "12345", "0", "  x", "\t(", "(x", "x(", ":)", "#### 72", "e.g.",
    "don't", "DON'T", "It's", "I'M", "you'll", "we'VE", "http://x.y/z", "<|endoftext|>", "\x00", "\x1f",
    "\x7f", "~~~", "__init__", "snake_case", "CamelCase", "ABCdef", "abcDEF", "3.14", "1,000", "$5", "@me",
    "#tag", "Siddharthaxyzqwerty", "zzzzzzzz", "antidisestablishmentarianism", "\u00e9",
]


@pytest.fixture(scope="module")
def counters() -> tuple[TiktokenCounter, TiktokenCounter]:
    compiled, plain = TiktokenCounter("o200k_base"), TiktokenCounter("o200k_base")
    if plain.backend != "bpe-openai":
        pytest.skip("the bpe-openai wheel is not usable here")
    assert compiled.use_compiled_ascii()
    return compiled, plain


def _strings(seed: int, n: int) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        if rng.random() < 0.6:
            out.append("".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(1, 14))))
        else:
            out.append("".join(chr(rng.randrange(128)) for _ in range(rng.randint(1, 60))))
    return out


def test_random_ascii_counts_match_bpe_openai(counters: tuple[TiktokenCounter, TiktokenCounter]) -> None:
    compiled, plain = counters
    strings = _strings(11, 20_000)
    assert [compiled.count_text(s) for s in strings] == [plain.count_text(s) for s in strings]


def test_prose_code_and_long_texts_match_tiktoken(counters: tuple[TiktokenCounter, TiktokenCounter]) -> None:
    compiled, _ = counters
    enc = get_encoding("o200k_base")
    rng = random.Random(3)
    words = ["The", "quick", "brown", "fox's", "jumps", "over", "13", "lazy", "dogs;", "def", "f(x):", "\n    return",
             "x**2", "# note", "I'd", "say", "--", "well...", "https://example.org/a/b", "\n\n", "\t", "e.g.", "$3.50"]
    texts = [" ".join(rng.choice(words) for _ in range(rng.randint(1, 400))) for _ in range(300)]
    texts += ["a" * 5000, "x" * 257 + " hi", "word " * 3000, " " * 700 + "x", "\n" * 50, "", "ab" * 200]
    for text in texts:
        assert compiled.count_text(text) == len(enc.encode_ordinary(text)), text[:80]


def test_what_it_leaves_to_the_other_counter_counts_the_same(
        counters: tuple[TiktokenCounter, TiktokenCounter]) -> None:
    compiled, plain = counters
    for text in ("y" * (tokens_ascii.PIECE_MAX + 1), "naïve café " * 20, "数据 and ASCII", "emoji 🙂 end"):
        assert compiled.count_text(text) == plain.count_text(text)


def test_the_table_is_kept_in_the_curator_home_and_a_damaged_copy_is_rebuilt(
        counters: tuple[TiktokenCounter, TiktokenCounter], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    _, plain = counters
    monkeypatch.setenv("CURATOR_HOME", str(tmp_path))
    assert TiktokenCounter("o200k_base").use_compiled_ascii()
    [saved] = (tmp_path / "cache").glob("o200k_base-*.npz")
    good = saved.read_bytes()
    with np.load(saved) as arrays:
        want = {name: arrays[name] for name in ("tokens", "table", "check")}
    text = "It's rebuilt, isn't it?\n  Yes: 42 / 7 = 6. The THEORY'S fine."
    # bytes changed inside the table (the file still loads), then a file that is no archive
    damaged = bytearray(good)
    for at in range(len(damaged) // 3, len(damaged) // 3 + 4096, 8):
        damaged[at] ^= 0x5A
    for bad in (bytes(damaged), b"not an archive", b"", good[:200]):
        saved.write_bytes(bad)
        again = TiktokenCounter("o200k_base")
        assert again.use_compiled_ascii()
        assert again.count_text(text) == plain.count_text(text)
        with np.load(saved) as arrays:  # built again and written back
            assert all(np.array_equal(arrays[name], want[name]) for name in want)
    # a home that cannot be written: built in memory, still the same counts
    monkeypatch.setenv("CURATOR_HOME", str(tmp_path / "file-not-folder"))
    (tmp_path / "file-not-folder").write_text("x")
    counter = TiktokenCounter("o200k_base")
    assert counter.use_compiled_ascii()
    assert counter.count_text(text) == plain.count_text(text)


def test_other_encodings_and_the_tiktoken_backend_keep_their_counter() -> None:
    assert not TiktokenCounter("cl100k_base").use_compiled_ascii()
    assert not TiktokenCounter("o200k_base", backend="tiktoken").use_compiled_ascii()


def test_validate_reports_the_same_with_the_compiled_count(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(5)
    rows = []
    for i in range(400):
        text = " ".join(_strings(i, 3))
        rows.append(json.dumps({"messages": [{"role": "user", "content": f"Question {i}: {text[:200]}?"},
                                             {"role": "assistant", "content": text or "Fine."}]}))
    rows += [rows[rng.randrange(len(rows))] for _ in range(20)]
    path = tmp_path / "rows.jsonl"
    path.write_text("\n".join(rows) + "\n")
    monkeypatch.setattr(engine, "CHUNK_BYTES", 8192)
    plain = validate_file(path, workers=2)
    monkeypatch.setattr(engine, "COMPILED_MIN_BYTES", 0)
    used: list[bool] = []
    original = engine.RowChecker.use_compiled_ascii

    def spy(self: engine.RowChecker) -> bool:
        used.append(original(self))
        return used[-1]

    monkeypatch.setattr(engine.RowChecker, "use_compiled_ascii", spy)
    compiled = validate_file(path, workers=2)
    assert used == [True]
    assert compiled.tokens == plain.tokens
    assert [(i.code, i.line, i.message) for i in compiled.issues] == [(i.code, i.line, i.message) for i in plain.issues]


def test_every_row_gets_the_same_counts(tmp_path: Path) -> None:
    rows = [json.dumps({"messages": [{"role": "system", "content": "Be brief."},
                                     {"role": "user", "content": a or "Hi?"},
                                     {"role": "assistant", "content": b or "Fine."}]})
            for a, b in zip(_strings(21, 500), _strings(22, 500), strict=True)]
    path = tmp_path / "rows.jsonl"
    path.write_text("\n".join(rows) + "\n")
    size = path.stat().st_size
    checker = RowChecker(Options())
    before = check_range(checker, str(path), 0, size, True)
    assert checker.use_compiled_ascii()
    after = check_range(checker, str(path), 0, size, True)
    assert after.examples == before.examples == 500
    assert list(after.totals) == list(before.totals) and list(after.trained) == list(before.trained)


def test_two_threads_sharing_one_counter_get_the_right_counts(
        counters: tuple[TiktokenCounter, TiktokenCounter]) -> None:
    # long pieces that are not tokens keep the merge's work buffer busy
    compiled, plain = counters
    rng = random.Random(1)
    words = ["".join(rng.choice("qzxjvkwyfbgp") for _ in range(rng.randint(50, 250))) for _ in range(100)]
    texts = [" ".join(words[i:i + 20]) for i in range(0, 100, 5)]
    want = [plain.count_text(t) for t in texts]
    wrong: list[int] = []

    def run() -> None:
        for _ in range(20):
            wrong.extend(1 for t, w in zip(texts, want, strict=True) if compiled.count_text(t) != w)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []
