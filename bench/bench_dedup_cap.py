"""Dedup on many similar rows at a low threshold: the candidate cap keeps it linear.

    python bench/bench_dedup_cap.py --n 20000 --threshold 0.5
    python bench/bench_dedup_cap.py --n 2000 --threshold 0.5 --bucket-cap 1000000  # no cap

Every row is one long shared preamble (like GPTeacher's toolformer instructions) followed by a
short question of its own, so at a threshold of 0.5 nearly every row is a near duplicate of
every other and nearly every LSH band puts all rows in one bucket: without a cap the candidate
pairs grow with the square of the rows (20,000 rows ran for over five minutes, issue 15). A
tenth of the rows are also near copies (one word changed) of an earlier row. The script prints
the time, the CPU seconds of this process and its pool, the candidates, what the cap did, and
checks every reported pair's similarity against a plain-Python Jaccard on a sample.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from curator.dedup import find_duplicates, normalize_example
from curator.dedup.near import BUCKET_CAP, BUCKET_WINDOW

PREAMBLE = (
    "Each tool here has a name and a description and is called with one argument. "
    "The calculator tool evaluates an arithmetic expression and returns the number. "
    "The search tool looks a query up on the web and returns the first snippet it finds. "
    "The calendar tool answers questions about dates, weekdays and the time between them. "
    "Answer the instruction below, calling the tools you need in the format tool(argument), "
    "and explain the steps you took before you give the final answer to the user."
)


def similar_rows(n: int, seed: int = 0) -> tuple[list[dict[str, Any]], list[tuple[int, int]]]:
    """The rows, and the planted near copies as (source, copy) pairs."""
    rng = random.Random(seed)
    vocab = [f"w{k}x{rng.randrange(10**6)}" for k in range(5_000)]
    rows: list[dict[str, Any]] = []
    copies: list[tuple[int, int]] = []
    for i in range(n):
        if i > 10 and rng.random() < 0.1:  # a near copy of an earlier row: one word changed
            source = rng.randrange(i)
            copies.append((source, i))
            words = rows[source]["messages"][0]["content"].split()
            words[-rng.randrange(1, 8)] = rng.choice(vocab)
            question = " ".join(words)
        else:
            question = PREAMBLE + " " + " ".join(rng.choice(vocab) for _ in range(12))
        rows.append({"messages": [{"role": "user", "content": question},
                                  {"role": "assistant", "content": "ok"}]})
    return rows, copies


def shingles(text: str, n: int = 5) -> set[str]:
    return {text[i : i + n] for i in range(max(1, len(text) - n + 1))}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--threshold", type=float, default=0.5)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--bucket-cap", type=int, default=BUCKET_CAP)
    ap.add_argument("--bucket-window", type=int, default=BUCKET_WINDOW)
    args = ap.parse_args()
    rows, copies = similar_rows(args.n)
    t0, c0 = time.perf_counter(), time.process_time()
    result = find_duplicates(enumerate(rows), threshold=args.threshold,
                             processes=args.workers, bucket_cap=args.bucket_cap,
                             bucket_window=args.bucket_window)
    wall = time.perf_counter() - t0
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = time.process_time() - c0 + children.ru_utime + children.ru_stime
    s = result.stats
    texts = [normalize_example(r) for r in rows]
    sample = random.Random(1).sample(result.pairs, min(2_000, len(result.pairs)))
    wrong = 0
    for a, b, sim in sample:
        sa, sb = shingles(texts[a]), shingles(texts[b])
        true = len(sa & sb) / len(sa | sb)
        wrong += abs(true - sim) > 1e-9 or true < args.threshold
    print(f"rows {args.n}  threshold {args.threshold}  cap {args.bucket_cap}/"
          f"{args.bucket_window}  wall {wall:.1f} s  cpu {cpu:.1f} s")
    print(f"candidates {s.candidate_pairs}  screened out {s.screened_out}  verified "
          f"{s.verified_pairs}  capped buckets {s.capped_buckets}  capped records "
          f"{s.capped_records}  limited records {s.limited_records} (pairs {s.limited_pairs})")
    print(f"clusters {len(result.clusters)}  duplicates "
          f"{sum(len(c.members) for c in result.clusters)}  pairs checked {len(sample)}, "
          f"wrong {wrong}")
    together = {(m.id, c.keeper) for c in result.clusters for m in c.members}
    found = {(a, b) for a, b, _ in result.pairs}
    hit = sum((a, b) in found or (a, b) in together or (b, a) in together for a, b in copies)
    print(f"planted near copies {len(copies)}: {hit} reported as a pair or clustered together "
          f"({hit / max(1, len(copies)):.3f})")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
