"""Contamination check time: N training examples against M evaluation examples.

    python bench/bench_contamination.py --shared ../shared/data --train 1000000 --eval 10000

Training and evaluation texts are built from real prompts and answers (Alpaca, GSM8K,
GPTeacher in the shared data): the evaluation rows are real rows, the training rows real rows
with a counter word appended so that none is an exact copy of another, and 1 in 1,000 is an
evaluation row copied in (so the finding side is exercised). Times `find_contamination` in this
process (13-grams and near-duplicate prompts; reading a workspace is not included) and prints
JSON with the number found.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from curator.quality.contamination import EvalRow, find_contamination
from curator.quality.text import Item

HERE = Path(__file__).resolve().parent
SOURCES = ("alpaca_5000.json", "gsm8k_train_alpaca.json", "gpteacher_roleplay.json",
           "gpteacher_toolformer.json")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--shared", type=Path, default=HERE.parents[1] / "shared" / "data")
    ap.add_argument("--train", type=int, default=1_000_000)
    ap.add_argument("--eval", type=int, default=10_000)
    args = ap.parse_args()
    real = []
    for name in SOURCES:
        for r in json.loads((args.shared / name).read_text(encoding="utf-8")):
            prompt = r["instruction"] + ("\n" + r["input"] if r.get("input") else "")
            real.append((prompt, r["output"]))
    rng = random.Random(0)
    rng.shuffle(real)
    evals = [EvalRow(f"eval.jsonl line {k + 1}", p, f"{p}\n{a}")
             for k, (p, a) in enumerate(real[:args.eval])]
    pool = real[args.eval:]
    items = []
    for n in range(args.train):
        if n % 1000 == 999:
            e = evals[n % len(evals)]
            items.append(Item(n + 1, e.prompt, e.text))
        else:
            p, a = pool[n % len(pool)]
            items.append(Item(n + 1, f"{p} {n // len(pool)}", a))
    t0 = time.perf_counter()
    found = find_contamination(items, evals)
    took = time.perf_counter() - t0
    print(json.dumps({"train": args.train, "eval": len(evals), "found": len(found),
                      "planted_copies": args.train // 1000, "seconds": round(took, 1)}))


if __name__ == "__main__":
    main()
