"""Generate N OpenAI chat examples as JSONL from real public text, deterministically.

The text comes from the public instruction sets in ../shared/data (Alpaca, GSM8K, GPTeacher
roleplay and toolformer, Dolly support Q&A, the Alpaca seed tasks, LLaMA-Factory's demos), so
the rows carry what real data carries: digits everywhere (GSM8K sums, prices, years), e-mail
addresses and URLs, code, accented and other non-ASCII text, placeholders, refusal phrases,
long answers. The pairs are recombined so that rows vary:

* about half of the turns are one original instruction / answer pair as it was (instruction and
  input joined);
* the rest are mixed: the user turn and the answer are sentences drawn from several pairs of
  several sources;
* a system prompt on about 30 % of the rows (a roleplay instruction, a toolformer preamble or one
  of a few generic prompts), 1-4 user/assistant turns (80/14/4/2 %);
* about 15 % duplicates of earlier rows: 5 % exact copies and 10 % near copies (one small edit:
  a word dropped, a word doubled, a typo, a sentence's case or final punctuation changed).

1,000,000 rows come to about 600 MB and about 110M o200k tokens, like bench/gen_chat.py.
Benchmarks may read ../shared; the project's tests never do.

    python bench/gen_realtext.py 100000 -o /tmp/real_100k.jsonl --seed 0
    python bench/gen_realtext.py 1000000 -o /tmp/real_1m.jsonl --seed 0 --data /work/shared/data
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import random
import re
import sys
import time
from pathlib import Path

import orjson

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
_GENERIC_SYSTEMS = (
    "You are a helpful assistant.",
    "You are a helpful, concise assistant. Answer in plain English.",
    "You are a math tutor. Show your working step by step.",
    "You are a customer support agent for a software company. Be polite and precise.",
    "You are an expert Python programmer.",
    "Answer the question truthfully. If you do not know, say so.",
    "You are a friendly assistant who explains things to beginners.",
    "Always answer in at most three sentences.",
)
#: source files, read in this order (the order fixes the output for a seed)
_SOURCES = (
    "alpaca_5000.json",
    "gsm8k_train_alpaca.json",
    "gpteacher_roleplay.json",
    "gpteacher_toolformer.json",
    "llamafactory_alpaca_en_demo.json",
    "llamafactory_identity.json",
    "dolly_so3_prompt_completion.jsonl",
    "alpaca_seed_tasks.jsonl",
    "llamafactory_glaive_toolcall_en_demo.json",
)


def default_data_dir() -> Path:
    """The first ../shared/data (or shared/data) above this script."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        for cand in (parent / "shared" / "data", parent.parent / "shared" / "data"):
            if (cand / "alpaca_5000.json").is_file():
                return cand
    return Path("../shared/data")


def _pairs_from(path: Path) -> list[tuple[str, str]]:
    """(user text, answer) pairs of one source file, in file order."""
    name = path.name
    out: list[tuple[str, str]] = []
    if name.endswith(".json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        for row in data:
            if "conversations" in row:  # ShareGPT with tool turns: keep the human/gpt pairs
                turns = row["conversations"]
                for a, b in itertools.pairwise(turns):
                    if a.get("from") == "human" and b.get("from") == "gpt":
                        out.append((a["value"], b["value"]))
                continue
            instr, inp, outp = row.get("instruction", ""), row.get("input", ""), row.get("output", "")
            user = f"{instr}\n\n{inp}" if inp else instr
            if isinstance(outp, str):
                out.append((user, outp))
    else:
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
            except ValueError:  # a few Dolly lines hold invalid escapes: real defects, skipped
                continue
            if "prompt" in row:
                out.append((row["prompt"], row["completion"]))
            elif "instances" in row:
                for inst in row["instances"]:
                    user = row["instruction"] + (f"\n\n{inst['input']}" if inst.get("input") else "")
                    out.append((user, inst["output"]))
    return [(u, a) for u, a in out if u.strip() and a.strip()]


class _Corpus:
    def __init__(self, data_dir: Path) -> None:
        self.pairs: list[tuple[str, str]] = []
        for name in _SOURCES:
            p = data_dir / name
            if p.is_file():
                self.pairs.extend(_pairs_from(p))
        if not self.pairs:
            raise SystemExit(f"no source data under {data_dir} (pass --data DIR)")
        self.user_sents: list[str] = []
        self.answer_sents: list[str] = []
        for u, a in self.pairs:
            self.user_sents.extend(s for s in _SENTENCE.split(u) if s.strip())
            self.answer_sents.extend(s for s in _SENTENCE.split(a) if s.strip())
        systems = list(_GENERIC_SYSTEMS)
        for u, _ in self.pairs:
            first = _SENTENCE.split(u)[0]
            if first.startswith("You are ") and 20 < len(first) < 400:
                systems.append(first)
            elif u.startswith("toolformer: enabled") and len(systems) < 400:
                systems.append(u.rsplit("\n", 1)[0])
        self.systems = systems


class _Writer:
    def __init__(self, corpus: _Corpus, seed: int) -> None:
        self.c = corpus
        self.rng = random.Random(seed)

    def _mixed(self, sents: list[str], k_lo: int, k_hi: int) -> str:
        rng = self.rng
        k = rng.randint(k_lo, k_hi)
        return " ".join(rng.choice(sents) for _ in range(k))

    def turn(self) -> tuple[str, str]:
        rng = self.rng
        r = rng.random()
        if r < 0.5:
            return rng.choice(self.c.pairs)
        if r < 0.75:  # an original question with an answer stitched from other answers
            u, _ = rng.choice(self.c.pairs)
            return u, self._mixed(self.c.answer_sents, 1, 4)
        return self._mixed(self.c.user_sents, 1, 3), self._mixed(self.c.answer_sents, 1, 5)

    def example(self) -> dict[str, object]:
        rng = self.rng
        messages: list[dict[str, str]] = []
        if rng.random() < 0.3:
            messages.append({"role": "system", "content": rng.choice(self.c.systems)})
        turns = rng.choices((1, 2, 3, 4), weights=(80, 14, 4, 2))[0]
        for _ in range(turns):
            u, a = self.turn()
            messages.append({"role": "user", "content": u})
            messages.append({"role": "assistant", "content": a})
        return {"messages": messages}

    def near_copy(self, ex: dict[str, object]) -> dict[str, object]:
        """One small edit to one message of `ex` (a copy; `ex` is left alone)."""
        rng = self.rng
        msgs = [dict(m) for m in ex["messages"]]  # type: ignore[attr-defined]
        m = rng.choice(msgs)
        text = m["content"]
        words = text.split(" ")
        kind = rng.randrange(5)
        if kind == 0 and len(words) > 3:
            del words[rng.randrange(len(words))]
            text = " ".join(words)
        elif kind == 1 and words:
            i = rng.randrange(len(words))
            words.insert(i, words[i])
            text = " ".join(words)
        elif kind == 2 and len(text) > 4:
            i = rng.randrange(len(text) - 1)
            text = text[:i] + text[i + 1] + text[i] + text[i + 2:]
        elif kind == 3:
            text = text[:1].lower() + text[1:] if text[:1].isupper() else text[:1].upper() + text[1:]
        else:
            text = text.rstrip(".!?") if text.rstrip()[-1:] in ".!?" else text + "."
        m["content"] = text if text.strip() else text + "x"
        return {"messages": msgs}


def generate(n: int, out: Path, seed: int = 0, data_dir: Path | None = None,
             exact_share: float = 0.05, near_share: float = 0.10) -> dict[str, int]:
    """Write `n` examples to `out`; returns how many are fresh, exact copies and near copies."""
    corpus = _Corpus(data_dir or default_data_dir())
    writer = _Writer(corpus, seed)
    rng = random.Random(seed + 1)
    recent: list[dict[str, object]] = []  # earlier rows that copies are drawn from (bounded)
    counts = {"fresh": 0, "exact": 0, "near": 0}
    seen: set[bytes] = set()
    with out.open("wb") as fh:
        batch: list[bytes] = []
        for _ in range(n):
            r = rng.random()
            if recent and r < exact_share:
                ex = rng.choice(recent)
                counts["exact"] += 1
            elif recent and r < exact_share + near_share:
                ex = writer.near_copy(rng.choice(recent))
                counts["near"] += 1
            else:
                # Fresh rows are distinct (a draw that repeats an earlier fresh row is drawn
                # again), so the duplicates are the planted ones: with ~37k source pairs a
                # million rows would otherwise repeat many single-turn pairs by chance.
                ex = writer.example()
                key = hashlib.blake2b(orjson.dumps(ex), digest_size=8).digest()
                while key in seen:
                    ex = writer.example()
                    key = hashlib.blake2b(orjson.dumps(ex), digest_size=8).digest()
                seen.add(key)
                counts["fresh"] += 1
                if len(recent) < 50_000:
                    recent.append(ex)
                else:
                    recent[rng.randrange(len(recent))] = ex
            batch.append(orjson.dumps(ex))
            if len(batch) >= 10_000:
                fh.write(b"\n".join(batch) + b"\n")
                batch.clear()
        if batch:
            fh.write(b"\n".join(batch) + b"\n")
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", type=int, help="number of examples")
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=None, help="folder with the source files "
                        "(default: the shared/data found above this script)")
    args = parser.parse_args(argv)
    if args.n < 0:
        parser.error("n must be >= 0")
    t0 = time.perf_counter()
    counts = generate(args.n, args.output, args.seed, args.data)
    size = args.output.stat().st_size
    print(f"wrote {args.n} examples ({counts['fresh']} fresh, {counts['exact']} exact copies, "
          f"{counts['near']} near copies), {size / 1e6:.1f} MB to {args.output} "
          f"in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
