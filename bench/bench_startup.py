"""Start-up time of curator commands that do not compute: wall and CPU seconds per run.

Builds a small workspace (20 rows) in a temporary folder, then runs each command as a fresh
process, the way a shell runs it (the `curator` console script next to this interpreter, or
`python -m curator` with --module), `--runs` times in turns, and prints the median and the
slowest wall time and the median CPU seconds (user + system of the child, from
`getrusage(RUSAGE_CHILDREN)` deltas). Target (issue 15): every one under 0.3 s.

    python bench/bench_startup.py --runs 20
    python bench/bench_startup.py --runs 20 --module     # python -m curator instead
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _run(cmd: list[str], cwd: Path) -> tuple[float, float, int]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    rc = subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                        check=False).returncode
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, rc


def main(argv: list[str] | None = None) -> int:
    # An installed curator runs from compiled modules; with PYTHONDONTWRITEBYTECODE set (this
    # development machine sets it) every child would compile them again at each start.
    if os.environ.pop("PYTHONDONTWRITEBYTECODE", None):
        print("(PYTHONDONTWRITEBYTECODE is set here; the commands run without it, as an installed copy would)")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--module", action="store_true", help="run `python -m curator` instead of the script")
    args = parser.parse_args(argv)

    script = Path(sys.executable).with_name("curator")
    base = [sys.executable, "-m", "curator"] if args.module or not script.exists() else [str(script)]
    tmp = Path(tempfile.mkdtemp(prefix="curator_startup_"))
    try:
        rows = [{"messages": [{"role": "user", "content": f"question {i}?"},
                              {"role": "assistant", "content": f"answer number {i}."}]} for i in range(20)]
        (tmp / "d.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        subprocess.run([*base, "import", "d.jsonl", "-w", "w.db"], cwd=tmp, check=True,
                       stdout=subprocess.DEVNULL)
        commands = {
            "python -c pass (interpreter alone)": [sys.executable, "-c", "pass"],
            "curator --version": [*base, "--version"],
            "curator ls": [*base, "ls", "-w", "w.db"],
            "curator show 1": [*base, "show", "1", "-w", "w.db"],
            "curator log": [*base, "log", "-w", "w.db"],
            "curator accept 1": [*base, "accept", "1", "-w", "w.db"],
            "curator undo": [*base, "undo", "-w", "w.db"],
            "curator validate (20 rows)": [*base, "validate", "d.jsonl", "--workers", "1"],
        }
        results: dict[str, list[tuple[float, float, int]]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, cmd in commands.items():
                results[name].append(_run(cmd, tmp))
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(f"\n{args.runs} runs each, in turns; {os.cpu_count()} CPUs; load average {load:.1f} at the end;"
              f" command: {' '.join(Path(b).name for b in base)}\n")
        print("| command | wall s, median | wall s, slowest | CPU s, median | exit codes |")
        print("| --- | ---: | ---: | ---: | --- |")
        for name, rs in results.items():
            walls = [r[0] for r in rs]
            cpus = [r[1] for r in rs]
            codes = ",".join(sorted({str(r[2]) for r in rs}))
            print(f"| {name} | {statistics.median(walls):.3f} | {max(walls):.3f} | "
                  f"{statistics.median(cpus):.3f} | {codes} |")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
