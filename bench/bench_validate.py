"""Wall time and peak memory: the cookbook-style check vs `curator validate` on the same file.

Generates (or reuses) a chat JSONL with gen_chat.py, then runs each step as a child process:

* cookbook: bench/cookbook_check.py FILE (json + tiktoken, everything in memory)
* curator validate: python -m curator validate --target openai FILE --json
* curator stats: python -m curator stats FILE --json

Each step runs inside a fresh helper process, so `getrusage(RUSAGE_CHILDREN).ru_maxrss` there is
the peak RSS of the largest process of that step alone. When psutil is installed, the helper also
samples the whole process tree every 50 ms and reports the peak of its summed RSS (a pool's
workers together) and of its summed PSS. RSS counts a page shared by forked workers once per
process; PSS splits it between them, so the PSS sum is the memory the step really holds. A step that fails (for example `validate` before it exists) is reported as
FAILED with its exit code and the end of its stderr; the benchmark carries on.

    python bench/bench_validate.py --n 100000            # generates /tmp/curator_bench_100000.jsonl
    python bench/bench_validate.py --file chat.jsonl --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Runs in a fresh interpreter: starts the command, samples its tree, prints one JSON line.
_HELPER = r"""
import json, resource, subprocess, sys, time
cmd = json.loads(sys.argv[1])
try:
    import psutil
except ImportError:
    psutil = None
t0 = time.perf_counter()
proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
peak_tree = peak_pss = 0
if psutil is not None:
    root = psutil.Process(proc.pid)
    while proc.poll() is None:
        try:
            procs = [root, *root.children(recursive=True)]
            total = pss = 0
            for p in procs:
                try:
                    info = p.memory_full_info()
                    total += info.rss
                    pss += getattr(info, "pss", info.rss)
                except psutil.Error:
                    pass
            peak_tree = max(peak_tree, total)
            peak_pss = max(peak_pss, pss)
        except psutil.Error:
            pass
        time.sleep(0.05)
_, err = proc.communicate()
wall = time.perf_counter() - t0
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"rc": proc.returncode, "wall": wall, "maxrss_kb": usage.ru_maxrss,
                  "cpu": usage.ru_utime + usage.ru_stime,
                  "tree_peak_bytes": peak_tree or None, "tree_pss_bytes": peak_pss or None,
                  "stderr_tail": err.decode(errors="replace")[-600:]}))
"""


def measure(cmd: list[str]) -> dict[str, object]:
    out = subprocess.run([sys.executable, "-c", _HELPER, json.dumps(cmd)], capture_output=True,
                         text=True, cwd=ROOT, check=False)
    if out.returncode != 0:
        return {"rc": out.returncode, "wall": float("nan"), "maxrss_kb": 0, "cpu": float("nan"),
                "tree_peak_bytes": None, "tree_pss_bytes": None, "stderr_tail": out.stderr[-600:]}
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--file", type=Path, help="reuse this chat JSONL")
    parser.add_argument("--n", type=int, default=100_000, help="examples to generate")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=1, help="runs per step (best wall is kept)")
    parser.add_argument("--skip-stats", action="store_true")
    args = parser.parse_args(argv)

    path = args.file
    if path is None:
        path = Path(tempfile.gettempdir()) / f"curator_bench_{args.n}_{args.seed}.jsonl"
        if not path.exists():
            sys.path.insert(0, str(ROOT / "bench"))
            from gen_chat import generate  # type: ignore[import-not-found]

            t0 = time.perf_counter()
            generate(args.n, path, seed=args.seed)
            print(f"generated {path} in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    size_mb = path.stat().st_size / 1e6
    lines = sum(1 for _ in path.open("rb"))
    py = sys.executable
    env_note = f"{os.cpu_count()} CPUs visible"
    steps = {
        "cookbook check (json + tiktoken)": [py, str(ROOT / "bench" / "cookbook_check.py"),
                                             str(path)],
        "curator validate --target openai --json": [py, "-m", "curator", "validate", "--target",
                                                    "openai", str(path), "--json"],
    }
    if not args.skip_stats:
        steps["curator stats --json"] = [py, "-m", "curator", "stats", str(path), "--json"]

    print(f"\nfile: {path} ({lines:,} examples, {size_mb:.0f} MB); {env_note}\n")
    print("| step | wall s | CPU s | peak RSS, largest process (MB) | peak RSS, tree (MB) "
          "| peak PSS, tree (MB) | status |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    walls: dict[str, float] = {}
    for name, cmd in steps.items():
        best: dict[str, object] | None = None
        for _ in range(args.repeat):
            r = measure(cmd)
            if best is None or float(r["wall"]) < float(best["wall"]):  # type: ignore[arg-type]
                best = r
        assert best is not None
        rc = int(best["rc"])  # type: ignore[call-overload]
        # validate exits 1 when it finds problems: that is a finished run, not a failure.
        ok = rc == 0 or (rc == 1 and "validate" in cmd)
        tree = best["tree_peak_bytes"]
        tree_s = f"{int(tree) / 1e6:.0f}" if tree else "-"  # type: ignore[call-overload]
        pss = best.get("tree_pss_bytes")
        pss_s = f"{int(pss) / 1e6:.0f}" if pss else "-"  # type: ignore[call-overload]
        status = "ok" if ok else f"FAILED (exit {rc}): " + " ".join(
            str(best["stderr_tail"]).split())[-200:]
        wall = float(best["wall"])  # type: ignore[arg-type]
        cpu = float(best["cpu"])  # type: ignore[arg-type]
        print(f"| {name} | {wall:.1f} | {cpu:.1f} | "
              f"{int(best['maxrss_kb']) / 1024:.0f} | {tree_s} | {pss_s} | {status} |")  # type: ignore[call-overload]
        if ok:
            walls[name] = wall
    base = walls.get("cookbook check (json + tiktoken)")
    for name, wall in walls.items():
        if base and name.startswith("curator"):
            print(f"\n{name}: {base / wall:.1f}x faster than the cookbook check")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
