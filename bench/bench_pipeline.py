"""The workspace pipeline, end to end: import, dedup, split, on generated chat data with planted
duplicates (bench/gen_dedup.py), plus datasketch's `MinHash.generator` beside our dedup.

    python bench/gen_dedup.py --n 100000 --seed 0 --out /tmp/dedup100k
    python bench/bench_pipeline.py --data /tmp/dedup100k --ws /tmp/bench100k.db
    python bench/bench_pipeline.py --data /tmp/dedup100k --ws /tmp/bench100k.db --compare 20000

Each stage runs in its own subprocess, so its time and peak memory are its own: `peak MB` is
the stage process's ru_maxrss, `worker MB` the largest of its worker processes. Import is the
`curator import` path (Preparer: convert, validate, count tokens; workers prepare, the parent
writes). Dedup is `curator dedup` (exact + near, marked in the workspace), scored against the
planted pairs: recall of planted pairs whose two records end in one cluster, precision of
marked (keeper, duplicate) pairs that belong to one planted family. Split is `curator split`,
including its fresh duplicate check. `--compare N` runs datasketch (`MinHash.generator` +
`MinHashLSH`, char 5-grams, threshold 0.8, 128 permutations) and our `find_duplicates` on the
first N records, same process layout, same scoring.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from bench_dedup import load, run_datasketch, run_ours, score  # noqa: E402

from curator.workspace import Workspace  # noqa: E402
from curator.workspace.dedup import dedup_workspace  # noqa: E402
from curator.workspace.importer import import_files  # noqa: E402
from curator.workspace.prepare import Preparer  # noqa: E402
from curator.workspace.split import split_workspace  # noqa: E402


def _peaks() -> dict[str, float]:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    # CPU seconds do not depend on what else the machine runs: on a quiet machine with two
    # cores a stage takes about max(main CPU, all CPU / 2)
    return {"peak_mb": own.ru_maxrss / 1024, "worker_mb": kids.ru_maxrss / 1024,
            "main_cpu": own.ru_utime + own.ru_stime,
            "all_cpu": own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime}


def _truth(data: Path) -> list[dict[str, Any]]:
    with open(data / "truth.jsonl", "rb") as f:
        return [orjson.loads(line) for line in f]


def stage(args: argparse.Namespace) -> dict[str, Any]:
    start = time.perf_counter()
    row: dict[str, Any] = {"stage": args.stage}
    if args.stage == "import":
        args.ws.unlink(missing_ok=True)
        with Workspace.open(args.ws, create=True) as ws:
            report = import_files(ws, [args.data / "data.jsonl"], prepare=Preparer("openai"),
                                  workers=args.workers)
        row |= {"n": report.rows, "rejected": report.rejected}
    elif args.stage == "dedup":
        with Workspace.open(args.ws) as ws:
            result = dedup_workspace(ws, processes=args.workers)
            n = result.records
        seconds = time.perf_counter() - start
        # record id = line number = generator index + 1 (one file into a fresh workspace)
        pairs = [(c.keeper - 1, m.id - 1) for c in result.clusters for m in c.members]
        groups = [[i - 1 for i in c.ids] for c in result.clusters]
        row |= {"n": n, "clusters": len(result.clusters), "duplicates": result.duplicates}
        row |= score(pairs, _truth(args.data), groups)
        row["seconds"] = seconds
    elif args.stage == "split":
        with Workspace.open(args.ws) as ws:
            outcome = split_workspace(ws, seed=0, processes=args.workers)
        row |= {"n": outcome.records, "leaks": outcome.leaks, "sizes": outcome.report.sizes}
    else:
        records, truth = load(args.data)
        records = records[: args.compare]
        truth = [t for t in truth if t["b"] < args.compare]
        begin = time.perf_counter()
        if args.stage == "datasketch":
            pairs, groups = run_datasketch(records, "char-5")
        else:
            pairs, groups = run_ours(records, "char-5", args.workers)
        row["seconds"] = time.perf_counter() - begin
        row |= {"n": len(records)} | score(pairs, truth, groups)
    row.setdefault("seconds", time.perf_counter() - start)
    row["per_s"] = row["n"] / row["seconds"]
    return row | _peaks()


def run_stage(args: argparse.Namespace, name: str) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--data", str(args.data), "--ws", str(args.ws),
           "--workers", str(args.workers), "--compare", str(args.compare), "--stage", name]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    row: dict[str, Any] = orjson.loads(out.strip().splitlines()[-1])
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="a gen_dedup.py output folder")
    parser.add_argument("--ws", type=Path, required=True, help="workspace file (replaced)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--compare", type=int, default=0,
                        help="also run datasketch and ours on the first N records")
    parser.add_argument("--stages", default="import,dedup,split")
    parser.add_argument("--stage", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage:
        print(orjson.dumps(stage(args)).decode())
        return
    names = args.stages.split(",") + (["datasketch", "ours"] if args.compare else [])
    print("| stage | n | s | records/s | main CPU s | all CPU s | peak MB | worker MB | detail |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name in names:
        r = run_stage(args, name)
        detail = ""
        if "recall_all" in r:
            detail = (f"recall near {r['recall_near']:.3f}, all {r['recall_all']:.3f}, "
                      f"precision {r['precision']:.4f}")
        if name == "split":
            detail = f"leaks {r['leaks']}, sizes {r['sizes']}"
        print(f"| {name} | {r['n']:,} | {r['seconds']:.1f} | {r['per_s']:,.0f} | "
              f"{r['main_cpu']:.1f} | {r['all_cpu']:.1f} | {r['peak_mb']:,.0f} | "
              f"{r['worker_mb']:,.0f} | {detail} |", flush=True)


if __name__ == "__main__":
    main()
