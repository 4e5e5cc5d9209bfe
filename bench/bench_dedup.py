"""Dedup benchmark: ours against datasketch (and rensa) on the same generated data, same run.

    python bench/gen_dedup.py --n 100000 --out /tmp/dedup100k
    python bench/bench_dedup.py --data /tmp/dedup100k            # every method, one table
    python bench/bench_dedup.py --data /tmp/dedup100k --method ours --shingle word-5

Each method runs in its own subprocess so its peak memory (ru_maxrss of that process and its
pool) is its own. Ours gets the JSON lines as bytes (what `curator dedup` reads from the
workspace) and parses them in its workers; the others get parsed dicts. Loading is not timed; normalisation, shingling, signatures, LSH,
verification and clustering are. Recall: planted pairs whose two records the method reports
together (same cluster for ours, a query hit for the LSH libraries). Precision: reported pairs
whose two records belong to one planted family (an original and its copies).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from curator.dedup import Shingling, exact_groups, find_duplicates, normalize_example

THRESHOLD, NUM_PERM = 0.8, 128


def load(data: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    with open(data / "data.jsonl", "rb") as f:
        records = [orjson.loads(line) for line in f]
    with open(data / "truth.jsonl", "rb") as f:
        truth = [orjson.loads(line) for line in f]
    return records, truth


def score(
    pairs: Iterable[tuple[int, int]], truth: list[dict[str, Any]], groups: list[list[int]]
) -> dict[str, float]:
    family: dict[int, int] = {}
    for t in truth:
        family.setdefault(t["a"], t["a"])
        family[t["b"]] = family[t["a"]]
    reported = {(min(a, b), max(a, b)) for a, b in pairs}
    together: dict[int, int] = {}
    for k, g in enumerate(groups):
        for i in g:
            together[i] = k
    good = sum(1 for a, b in reported if a in family and family.get(b) == family[a])
    found = {"near": [0, 0], "exact": [0, 0]}
    for t in truth:
        a, b = t["a"], t["b"]
        hit = (min(a, b), max(a, b)) in reported or (
            a in together and together.get(b) == together[a]
        )
        found[t["kind"]][0] += hit
        found[t["kind"]][1] += 1
    return {
        "recall_near": found["near"][0] / max(found["near"][1], 1),
        "recall_all": (found["near"][0] + found["exact"][0])
        / max(found["near"][1] + found["exact"][1], 1),
        "precision": good / max(len(reported), 1),
        "pairs": len(reported),
    }


def char_shingles(text: str, n: int) -> set[bytes]:
    return {text[i : i + n].encode() for i in range(max(len(text) - n + 1, 1))}


def run_ours(records: list[Any], shingle: str, processes: int) -> tuple[Any, Any]:
    """`records`: example dicts, or the JSON lines as bytes (parsed in the workers, as
    `curator dedup` does with what it reads from the workspace)."""
    unit, n = shingle.split("-")
    result = find_duplicates(
        enumerate(records),
        threshold=THRESHOLD,
        num_perm=NUM_PERM,
        shingling=Shingling(unit, int(n)),  # type: ignore[arg-type]
        processes=processes,
    )
    pairs = [(c.keeper, m.id) for c in result.clusters for m in c.members]
    return pairs, [list(c.ids) for c in result.clusters]


def run_datasketch(records: list[dict[str, Any]], shingle: str) -> tuple[Any, Any]:
    from datasketch import MinHash, MinHashLSH

    n = int(shingle.split("-")[1])
    texts = [normalize_example(r) for r in records]
    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
    shingles = (char_shingles(t, n) for t in texts)
    pairs = []
    for i, m in enumerate(MinHash.generator(shingles, num_perm=NUM_PERM)):
        pairs += [(j, i) for j in lsh.query(m)]
        lsh.insert(i, m)
    return pairs, []


def run_rensa(records: list[dict[str, Any]], shingle: str) -> tuple[Any, Any]:
    from rensa import RMinHash, RMinHashLSH

    n = int(shingle.split("-")[1])
    lsh = RMinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM, num_bands=16)
    pairs = []
    for i, r in enumerate(records):
        m = RMinHash(num_perm=NUM_PERM, seed=42)
        t = normalize_example(r)
        m.update([t[k : k + n] for k in range(max(len(t) - n + 1, 1))])
        pairs += [(j, i) for j in lsh.query(m)]
        lsh.insert(i, m)
    return pairs, []


def run_exact(records: list[dict[str, Any]]) -> tuple[Any, Any]:
    groups = [list(g.ids) for g in exact_groups(enumerate(records))]
    return [(g[0], i) for g in groups for i in g[1:]], groups


def one(args: argparse.Namespace) -> None:
    if args.method == "ours":
        # the JSON lines, as the workspace hands them over, not 4 GB of dicts
        with open(args.data / "data.jsonl", "rb") as f:
            records: list[Any] = f.read().splitlines()
        with open(args.data / "truth.jsonl", "rb") as f:
            truth = [orjson.loads(line) for line in f]
    else:
        records, truth = load(args.data)
    start = time.perf_counter()
    if args.method == "ours":
        pairs, groups = run_ours(records, args.shingle, args.processes)
    elif args.method == "datasketch":
        pairs, groups = run_datasketch(records, args.shingle)
    elif args.method == "rensa":
        pairs, groups = run_rensa(records, args.shingle)
    else:
        pairs, groups = run_exact(records)
    seconds = time.perf_counter() - start
    peak = max(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    )
    row = {"method": args.method, "shingle": args.shingle, "n": len(records), "seconds": seconds}
    row |= {"per_s": len(records) / seconds, "peak_mb": peak / 1024}
    row |= score(pairs, truth, groups)
    print(orjson.dumps(row).decode())


def table(args: argparse.Namespace) -> None:
    plan = [("exact", "-")] + [("ours", s) for s in args.shingles.split(",")]
    plan += [("datasketch", "char-5"), ("rensa", "char-5")]
    print(
        "| method | shingles | n | s | examples/s | peak MB | recall near | recall all | precision |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for method, shingle in plan:
        if method in args.skip.split(","):
            continue
        cmd = [sys.executable, __file__, "--data", str(args.data), "--method", method]
        cmd += ["--shingle", shingle, "--processes", str(args.processes)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        r = orjson.loads(out.strip().splitlines()[-1])
        print(
            f"| {method} | {shingle} | {r['n']} | {r['seconds']:.1f} | {r['per_s']:,.0f} "
            f"| {r['peak_mb']:,.0f} | {r['recall_near']:.3f} | {r['recall_all']:.3f} "
            f"| {r['precision']:.4f} |",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--method", choices=("ours", "datasketch", "rensa", "exact"))
    parser.add_argument("--shingle", default="char-5")
    parser.add_argument("--shingles", default="char-5,char-4,word-5,word-3,word-2")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--skip", default="")
    args = parser.parse_args()
    one(args) if args.method else table(args)


if __name__ == "__main__":
    main()
