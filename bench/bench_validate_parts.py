"""CPU per example of each part of validate's worker loop, in one process, for any checkout.

    python bench/bench_validate_parts.py --file /tmp/corpus/real_100k.jsonl
    cd /tmp && PYTHONPATH=/tmp/old python /path/to/bench/bench_validate_parts.py --file ...   # old code

(The second form times the checkout in /tmp/old; run it from a folder that holds no `curator`
package, since the current folder comes first on the module path.)

Parts, each timed alone (CPU seconds, best of several runs) over the first `--rows` rows: parsing
(orjson with the duplicate-key and depth tests), the clean-row screen, the token count of a clean
row, the row hash, the rows that take the full rules (timed over the whole file, reported per
example of the file), and the whole worker loop (`check_range`) over the first `--ranges` 4 MB
ranges. Run old and new code in turns and compare the figures of one moment only: on a loaded
machine CPU seconds grow with the load. Prints one line per run: the checkout, then part=us.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

import curator
from curator.io import chunk_bounds
from curator.io.parse import parse_json_bytes
from curator.validate.engine import Options, RowChecker, check_range
from curator.validate.fast import PLAIN_ROLES, is_clean_simple_chat


def _best(fn: Callable[[], Any], reps: int) -> float:
    best = float("inf")
    for _ in range(reps):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--file", type=Path, required=True, help="a chat JSONL file")
    parser.add_argument("--rows", type=int, default=25_000)
    parser.add_argument("--ranges", type=int, default=4)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args(argv)
    path = str(args.file)
    with open(path, "rb") as fh:
        raws = [line.rstrip(b"\n") for line in itertools.islice(fh, args.rows)]
    parsed = [parse_json_bytes(r) for r in raws]
    values = [p.value for p in parsed]
    checker = RowChecker(Options())
    counter: Any = checker.counter
    with open(path, "rb") as fh:
        every = [orjson.loads(line) for line in fh]
    slow = [v for v in every if not is_clean_simple_chat(v, PLAIN_ROLES)]
    n, reps = len(raws), args.reps
    parts: dict[str, float] = {
        "parse": _best(lambda: [parse_json_bytes(r) for r in raws], reps) / n,
        "clean-row screen": _best(lambda: [is_clean_simple_chat(v, PLAIN_ROLES) for v in values], reps) / n,
    }
    if hasattr(counter, "count_plain_chat"):
        parts["count of a clean row"] = _best(lambda: [counter.count_plain_chat(v["messages"]) for v in values],
                                              reps) / n
    else:
        parts["count of a clean row"] = _best(lambda: [counter.count_chat(v) for v in values], reps) / n
    if getattr(parsed[0], "canonical", None) is not None:
        parts["row hash"] = _best(lambda: [hashlib.blake2b(p.canonical, digest_size=8).digest()  # type: ignore[arg-type]
                                           for p in parsed], reps) / n
    else:
        parts["row hash"] = _best(lambda: [hashlib.blake2b(orjson.dumps(v, option=orjson.OPT_SORT_KEYS),
                                                           digest_size=8).digest() for v in values], reps) / n
    parts[f"full-rules rows ({len(slow) / len(every):.1%})"] = _best(lambda: [checker.check(v) for v in slow],
                                                                     max(1, reps // 2)) / len(every)
    size = os.path.getsize(path)
    bounds = chunk_bounds(path, 0, size, 4 << 20)[:args.ranges]
    examples = sum(check_range(checker, path, s, e, e >= size).examples for s, e in bounds)
    parts["worker loop (check_range)"] = _best(lambda: [check_range(checker, path, s, e, e >= size)
                                                        for s, e in bounds], reps) / examples
    where = Path(curator.__file__).resolve().parents[1]
    print(f"{where} ({os.getloadavg()[0]:.1f} load): "
          + " | ".join(f"{k} {v * 1e6:.2f} us" for k, v in parts.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
