"""Split benchmark: assign splits and build the leakage report for N generated records.

    python bench/gen_dedup.py --n 100000 --out /tmp/dedup100k
    python bench/bench_split.py --data /tmp/dedup100k

Dedup runs first (not timed here; see bench_dedup.py) to give the duplicate groups; then the
timed part: duplicate_groups, assign_splits (stratified by a synthetic label), leakage_report.

Through a workspace, old code against new in one run (issue 15: the marks' write cost):

    python bench/bench_split.py --workspace W.db --code old=/tmp/old-tree --code new=. \
        --tmp /tmp/bench-split --stages dedup,split --rounds 2

For each round and each code tree: W.db is copied to the --tmp folder, opened once by that
code (so its migrations run before the clock starts), then each stage runs as its own
`python -m curator` process (PYTHONPATH = the tree) on the copy: `dedup --json`, then
`split --json` (which reuses the pairs that dedup just kept); stage `marks` clears the
duplicate marks a dedup run left and writes them again (dedup's write alone, timed inside
the process). Printed per run: CPU seconds
of the process and its children (user + sys), wall seconds, the 1-minute load average at the
start, and the command's main counts, then a table.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_dedup import load

from curator.dedup import find_duplicates
from curator.split import SplitItem, assign_splits, duplicate_groups, leakage_report


def _run(tree: Path, args: list[str], python: bool = False) -> tuple[float, float, float, str]:
    """(cpu s, wall s, load at start, stdout) of `python -m curator ARGS` on code `tree`
    (`python`: of `python ARGS`)."""
    env = dict(os.environ, PYTHONPATH=str(tree), HF_HUB_OFFLINE="1")
    load = os.getloadavg()[0]
    start = time.perf_counter()
    # cwd = the tree: `python -m` puts the working folder first on sys.path, before PYTHONPATH
    command = [sys.executable, *args] if python else [sys.executable, "-m", "curator", *args]
    proc = subprocess.Popen(command, env=env, cwd=tree,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    out = proc.stdout.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{args} on {tree}: exit {proc.returncode}")
    return usage.ru_utime + usage.ru_stime, wall, load, out


#: stage `marks`: what dedup's marking costs alone. Reads the marks a dedup run left (public
#: API, not timed), clears them (one journal entry) and writes them again (another), timed
#: each: CPU of this process (user + sys) and wall.
_MARKS = """
import json, resource, sys, time
from curator.workspace import DuplicateCluster, Workspace
def clock():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime, time.perf_counter()
with Workspace.open(sys.argv[1]) as ws:
    members = {}
    for rid in ws.select_ids(["dup=yes"]):
        r = ws.get(rid)
        members.setdefault(r.dup_of, {})[rid] = r.similarity
    clusters = [DuplicateCluster(k, d) for k, d in sorted(members.items())]
    out = {}
    for what, call in (("clear", lambda: ws.clear_duplicates()),
                       ("mark", lambda: ws.mark_duplicates(clusters, clear_others=True))):
        cpu, wall = clock()
        change = call()
        cpu2, wall2 = clock()
        out[what] = [round(cpu2 - cpu, 2), round(wall2 - wall, 2), change.changed]
    print(json.dumps(out))
"""


def workspace_bench(args: argparse.Namespace) -> None:
    trees = [(name, Path(path).resolve()) for name, _, path in
             (c.partition("=") for c in args.code)]
    stages = args.stages.split(",")
    args.tmp = args.tmp.resolve()
    args.tmp.mkdir(parents=True, exist_ok=True)
    rows: list[tuple[str, int, str, float, float, float, str]] = []
    for round_ in range(1, args.rounds + 1):
        for name, tree in trees:
            copy = args.tmp / f"{name}.db"
            for suffix in ("", "-wal", "-shm", ".lock"):
                Path(f"{copy}{suffix}").unlink(missing_ok=True)
            shutil.copyfile(args.workspace, copy)
            _run(tree, ["log", "-w", str(copy), "--limit", "1"])  # migrate before the clock
            _, _, _, version = _run(tree, ["-c", "import curator.workspace.migrations as m; "
                                           "print(m.__file__, m.SCHEMA_VERSION)"], python=True)
            print(f"# {name}: {version.strip()}", flush=True)
            for stage in stages:
                if stage == "marks":
                    cpu, wall, load, out = _run(tree, ["-c", _MARKS, str(copy)], python=True)
                    timed = json.loads(out)
                    what = (f"clear {timed['clear'][2]} records: {timed['clear'][0]} CPU s, "
                            f"{timed['clear'][1]} s wall; mark {timed['mark'][2]}: "
                            f"{timed['mark'][0]} CPU s, {timed['mark'][1]} s wall")
                    rows.append((stage, round_, name, cpu, wall, load, what))
                    print(json.dumps({"stage": stage, "round": round_, "code": name,
                                      "cpu_s": round(cpu, 2), "wall_s": round(wall, 2),
                                      "load1": round(load, 2), "result": timed}), flush=True)
                    continue
                cpu, wall, load, out = _run(tree, [stage, "-w", str(copy), "--json"])
                doc = json.loads(out)
                if stage == "dedup":
                    what = (f"{doc.get('clusters')} clusters, "
                            f"{doc.get('exact_duplicates', 0) + doc.get('near_duplicates', 0)} "
                            f"duplicates")
                else:
                    what = f"sizes {doc.get('sizes')}, leaks {doc.get('leaks')}, " \
                           f"pairs reused {doc.get('params', {}).get('dedup_pairs_reused')}"
                rows.append((stage, round_, name, cpu, wall, load, what))
                print(json.dumps({"stage": stage, "round": round_, "code": name,
                                  "cpu_s": round(cpu, 2), "wall_s": round(wall, 2),
                                  "load1": round(load, 2), "result": what}), flush=True)
    print("\n| stage | round | code | CPU s | wall s | load (1 min) | result |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for stage, round_, name, cpu, wall, load, what in rows:
        print(f"| {stage} | {round_} | {name} | {cpu:.1f} | {wall:.1f} | {load:.1f} | {what} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path)
    parser.add_argument("--workspace", type=Path, help="a workspace to copy (never changed)")
    parser.add_argument("--code", action="append", default=[],
                        help="NAME=TREE: a source tree to run (repeat: old=..., new=...)")
    parser.add_argument("--tmp", type=Path, default=Path("/tmp/bench-split"))
    parser.add_argument("--stages", default="dedup,split")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    if args.workspace is not None:
        if not args.code:
            parser.error("--workspace needs at least one --code NAME=TREE")
        workspace_bench(args)
        return
    if args.data is None:
        parser.error("give --data (in-memory split) or --workspace (through the workspace)")
    records, _ = load(args.data)
    dups = find_duplicates(enumerate(records))
    exact = [g.ids for g in dups.exact_groups]
    labels = {i: f"label{i % 7}" for i in range(len(records))}
    start = time.perf_counter()
    groups = duplicate_groups(dups.pairs, exact)
    items = [SplitItem(i, groups.get(i), labels[i]) for i in range(len(records))]
    result = assign_splits(items, (0.8, 0.1, 0.1), seed=1, stratify=True)
    mid = time.perf_counter()
    report = leakage_report(result.splits, exact_groups=exact, near_pairs=dups.pairs, labels=labels)
    end = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"n={len(records)} split={mid - start:.2f}s report={end - mid:.2f}s "
        f"({len(records) / (end - start):,.0f} records/s) leaks={report.leaks} "
        f"sizes={report.sizes} peak={peak:,.0f} MB (whole process, data included)"
    )


if __name__ == "__main__":
    main()
