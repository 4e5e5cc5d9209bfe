"""Deterministic chat data with planted duplicates, for dedup benchmarks and tests.

    python bench/gen_dedup.py --n 100000 --seed 0 --out /tmp/dedup100k

writes OUT/data.jsonl (one OpenAI chat example a line; the record id is the line number, from
0) and OUT/truth.jsonl (one planted pair a line: {"a": source id, "b": copy id, "kind":
"near" | "exact", "edits": words edited}). About 10 % of records are near copies of an earlier
record (one to three words substituted, inserted or deleted, then case and whitespace changed)
and about 5 % exact copies (half byte-identical, half differing only in case and whitespace,
which normalisation removes). Every other record is drawn independently.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path
from typing import Any

import orjson

SYSTEM_PROMPTS = [
    "You are a helpful assistant.",
    "You are a concise support agent for an online shop. Answer politely and briefly.",
    "You are a senior Python engineer. Explain your reasoning and show code when useful.",
    "Answer as a friendly tutor for high-school students.",
]
_SYLLABLES = [c + v for c in "bcdfghjklmnprstvwz" for v in ("a", "e", "i", "o", "u", "ai", "ou")]


def _vocabulary(rng: random.Random, size: int) -> list[str]:
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(_SYLLABLES) for _ in range(rng.choice((1, 1, 2, 2, 2, 3, 4)))))
    vocab = sorted(words)
    rng.shuffle(vocab)  # rank must not follow spelling, or common words would all look alike
    return vocab


class _Text:
    """Zipf-distributed words, so unrelated texts share common words as natural text does."""

    def __init__(self, rng: random.Random, size: int = 20_000) -> None:
        self.rng = rng
        self.vocab = _vocabulary(rng, size)
        weights = [1.0 / (rank + 1) for rank in range(size)]
        self.cum = list(_accumulate(weights))

    def words(self, n: int) -> list[str]:
        return self.rng.choices(self.vocab, cum_weights=self.cum, k=n)

    def sentence_text(self, n: int) -> str:
        words = self.words(n)
        out, i = [], 0
        while i < len(words):
            k = self.rng.randint(5, 14)
            chunk = words[i : i + k]
            out.append(chunk[0].capitalize() + " " + " ".join(chunk[1:]) + ".")
            i += k
        return " ".join(s.replace(" .", ".") for s in out)


def _accumulate(xs: list[float]) -> list[float]:
    total, out = 0.0, []
    for x in xs:
        total += x
        out.append(total)
    return out


def _edit_words(rng: random.Random, text: _Text, content: str, edits: int) -> str:
    words = content.split(" ")
    for _ in range(edits):
        op = rng.choice(("sub", "sub", "ins", "del"))
        i = rng.randrange(len(words))
        if op == "sub":
            words[i] = text.words(1)[0]
        elif op == "ins":
            words.insert(i, text.words(1)[0])
        elif len(words) > 1:
            del words[i]
    return " ".join(words)


def _perturb_surface(rng: random.Random, content: str) -> str:
    """Case and whitespace changes only: invisible after normalisation."""
    choice = rng.randrange(3)
    if choice == 0:
        content = content.upper() if rng.random() < 0.3 else content.lower()
    elif choice == 1:
        content = content.replace(" ", "  ", rng.randint(1, 5))
    return content + rng.choice(("", " ", "\n"))


def _original(rng: random.Random, text: _Text) -> dict[str, Any]:
    messages: list[dict[str, Any]] = []
    if rng.random() < 0.8:
        messages.append({"role": "system", "content": rng.choice(SYSTEM_PROMPTS)})
    for _ in range(1 if rng.random() < 0.85 else 2):
        messages.append({"role": "user", "content": text.sentence_text(rng.randint(8, 40))})
        messages.append({"role": "assistant", "content": text.sentence_text(rng.randint(25, 150))})
    return {"messages": messages}


def _copy(rng: random.Random, text: _Text, source: dict[str, Any], edits: int) -> dict[str, Any]:
    messages = [dict(m) for m in source["messages"]]
    editable = [i for i, m in enumerate(messages) if m["role"] != "system"]
    for _ in range(edits):
        i = rng.choice(editable)
        messages[i]["content"] = _edit_words(rng, text, messages[i]["content"], 1)
    for m in messages:
        if m["role"] != "system" and rng.random() < 0.5:
            m["content"] = _perturb_surface(rng, m["content"])
    return {"messages": messages}


def generate(
    n: int, seed: int = 0, near: float = 0.10, exact: float = 0.05
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """n examples (record id = list index) and the planted pairs."""
    rng = random.Random(seed)
    text = _Text(rng)
    records: list[dict[str, Any]] = []
    truth: list[dict[str, Any]] = []
    originals: list[int] = []
    for i in range(n):
        roll = rng.random()
        if originals and roll < near:
            source = rng.choice(originals)
            edits = rng.randint(1, 3)
            records.append(_copy(rng, text, records[source], edits))
            truth.append({"a": source, "b": i, "kind": "near", "edits": edits})
        elif originals and roll < near + exact:
            source = rng.choice(originals)
            if rng.random() < 0.5:
                records.append(records[source])
            else:
                records.append(_copy(rng, text, records[source], 0))
            truth.append({"a": source, "b": i, "kind": "exact", "edits": 0})
        else:
            records.append(_original(rng, text))
            originals.append(i)
    return records, truth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    records, truth = generate(args.n, args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "data.jsonl", "wb") as f:
        for r in records:
            f.write(orjson.dumps(r) + b"\n")
    with open(args.out / "truth.jsonl", "wb") as f:
        for t in truth:
            f.write(orjson.dumps(t) + b"\n")
    print(f"{len(records)} records, {len(truth)} planted pairs -> {args.out}")


if __name__ == "__main__":
    main()
