"""Generate N synthetic OpenAI chat fine-tuning examples as JSONL, deterministically.

The output is for benchmarks only: it looks like real SFT data to a parser and a tokenizer
(an optional system prompt drawn from a small pool, 1-4 user/assistant turns, lengths with a
long tail, some accented, CJK and emoji text), but the words are random. With the defaults,
1,000,000 examples come to about 600 MB and 108M o200k_base tokens (cookbook count).

    python bench/gen_chat.py 100000 -o /tmp/chat_100k.jsonl --seed 0
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import orjson

_COMMON = ["the", "of", "and", "to", "in", "is", "you", "that", "it", "he", "was", "for", "on", "are", "as", "with", "his", "they", "at", "be", "this", "have", "from", "or", "one", "had", "by", "word", "but", "not", "what", "all", "were", "we", "when", "your", "can", "said", "there", "use", "an", "each", "which", "she", "do", "how", "their", "if", "will", "up", "other", "about", "out", "many", "then", "them", "these", "so", "some", "her", "would", "make", "like", "him", "into", "time", "has", "look", "two", "more", "write", "go", "see", "number", "no", "way", "could", "people", "my", "than", "first", "water", "been", "call", "who", "oil", "its", "now", "find", "long", "down", "day", "did", "get", "come", "made", "may", "part", "over", "new", "sound", "take", "only", "little", "work", "know", "place", "year", "live", "me", "back", "give", "most", "very", "after", "thing", "our", "just", "name", "good", "sentence", "man", "think", "say", "great", "where", "help", "through", "much", "before", "line", "right", "too", "mean", "old", "any", "same", "tell", "boy", "follow", "came", "want", "show", "also", "around", "form", "three", "small", "set", "put", "end", "does", "another", "well", "large", "must", "big", "even", "such", "because", "turn", "here", "why", "ask", "went", "men", "read", "need", "land", "different", "home", "us", "move", "try", "kind", "hand", "picture", "again", "change", "off", "play", "spell", "air", "away", "animal", "house", "point", "page", "letter", "mother", "answer", "found", "study", "still", "learn", "should", "America", "world", "data", "model", "training", "example", "function", "return", "value", "error", "file", "system", "user", "assistant", "question", "answer", "python", "code", "list", "string", "number", "table", "query", "server", "request", "response", "token", "dataset", "validation"]
_LONGER = ["information", "development", "government", "important", "community", "following", "available", "different", "experience", "management", "education", "understand", "environment", "performance", "especially", "relationship", "political", "international", "together", "something", "business", "language", "national", "interest", "including", "research", "everything", "probably", "remember", "possible", "consider", "together", "question", "analysis", "approach", "increase", "customer", "practice", "structure", "important", "provide", "describe", "financial", "individual", "technology", "successful", "traditional", "organization", "application", "configuration", "documentation", "implementation", "recommendation", "temperature", "algorithm", "parameter", "variable", "database", "interface", "component", "framework", "repository", "dependency", "environment", "deployment", "production", "estimate", "generally", "directly", "actually", "explanation", "solution", "complete", "summary", "instructions", "carefully", "helpful", "different", "character", "beautiful", "children", "president", "computer", "security", "software", "hardware", "network", "message", "response", "behavior", "feedback", "improvement", "quality", "standard", "specific", "response"]
_SYLLABLES = ["ka", "ri", "to", "na", "me", "lo", "su", "vi", "de", "ra", "po", "ne", "ti", "ma", "ko", "zu", "ba", "le", "ni", "fo", "gra", "str", "pla", "tion", "ment", "ing", "er", "al", "ic", "ous", "ive", "ly", "ness", "able", "ful", "pre", "con", "dis", "un", "re"]
_UNICODE = (
    "café", "naïve", "Zürich", "façade", "résumé", "Ærøskøbing", "São Paulo", "Kraków",
    "東京", "机器学习", "自然言語処理", "데이터", "Привет", "данные", "αβγ", "שלום", "مرحبا",
    "🙂", "🚀", "👍🏽", "🇫🇷", "∑", "→", "—", "“quoted”",
)
_SYSTEM_PROMPTS = 40


def _vocabulary(rng: random.Random) -> list[str]:
    made = {"".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))) for _ in range(1500)}
    common = list(_COMMON) + list(_LONGER)
    rng.shuffle(common)
    return common + sorted(made)


class _Writer:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.vocab = _vocabulary(self.rng)
        # Zipf-like weights: common words far more frequent than invented ones.
        n_common = len(_COMMON) + len(_LONGER)
        weights = [1.0 / (i + 20) if i < n_common else 0.0004 for i in range(len(self.vocab))]
        total = 0.0
        self.cum: list[float] = []
        for w in weights:
            total += w
            self.cum.append(total)
        self.systems = [self.text(self.rng.randint(8, 60)) for _ in range(_SYSTEM_PROMPTS)]

    def text(self, n_words: int) -> str:
        rng = self.rng
        words = rng.choices(self.vocab, cum_weights=self.cum, k=n_words)
        if rng.random() < 0.08:
            for _ in range(rng.randint(1, 3)):
                words[rng.randrange(n_words)] = rng.choice(_UNICODE)
        out: list[str] = []
        start = 0
        while start < n_words:
            end = min(n_words, start + rng.randint(4, 18))
            sentence = " ".join(words[start:end])
            out.append(sentence[:1].upper() + sentence[1:] + rng.choice(".....?!:"))
            start = end
        sep = "\n\n" if rng.random() < 0.15 else " "
        return sep.join(out)

    def length(self, median: float, cap: int) -> int:
        # Log-normal: most messages short, a long tail of long ones.
        return max(1, min(cap, int(self.rng.lognormvariate(0, 0.9) * median)))

    def example(self) -> dict[str, object]:
        rng = self.rng
        messages: list[dict[str, object]] = []
        if rng.random() < 0.7:
            messages.append({"role": "system", "content": rng.choice(self.systems)})
        turns = rng.choices((1, 2, 3, 4), weights=(55, 25, 12, 8))[0]
        for _ in range(turns):
            messages.append({"role": "user", "content": self.text(self.length(5.4, 600))})
            messages.append({"role": "assistant", "content": self.text(self.length(10.6, 3000))})
        return {"messages": messages}


def generate(n: int, out: Path, seed: int = 0) -> None:
    """Write `n` examples to `out` (JSONL, UTF-8, one example per line)."""
    writer = _Writer(seed)
    with out.open("wb") as fh:
        batch: list[bytes] = []
        for _ in range(n):
            batch.append(orjson.dumps(writer.example()))
            if len(batch) >= 10_000:
                fh.write(b"\n".join(batch) + b"\n")
                batch.clear()
        if batch:
            fh.write(b"\n".join(batch) + b"\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", type=int, help="number of examples")
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.n < 0:
        parser.error("n must be >= 0")
    t0 = time.perf_counter()
    generate(args.n, args.output, args.seed)
    size = args.output.stat().st_size
    print(f"wrote {args.n} examples, {size / 1e6:.1f} MB to {args.output} "
          f"in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
