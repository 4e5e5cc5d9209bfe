"""`curator import` beside `curator validate --target openai` on the same file (issue 15's target:
import at most 1.5x validate).

    python bench/bench_import.py --file /tmp/corpus/real_100k.jsonl --repeat 5
    python bench/bench_import.py --file /tmp/corpus/real_100k.jsonl --repeat 5 --old /tmp/old-checkout

Each run is a fresh child process (`python -m curator ...`, interpreter start-up and imports
included, as a user waits for them): `validate --target openai FILE --json`, then `import FILE -w
NEW.db --json` into a new workspace in `--tmp` (removed after). A run happens inside a helper
process (`bench/_child_rusage.py`), so its CPU seconds are those of the whole process tree, the
worker processes included (they are waited for). With `--old DIR` (a checkout of the code to
compare with, e.g. `git worktree add /tmp/old <commit>`), every repeat runs the old code's pair
and then this checkout's pair, alternating, so a change in the machine's load hits both alike;
the old code runs with `PYTHONPATH=DIR` ahead of this checkout. The table shows, per code, the
median wall and CPU seconds of the R runs with their ranges, the largest peak RSS (MB, of the
largest process of the tree), the ratio import / validate of the medians, and what import adds
over validate as a share of validate (the target, 1.5x, is a share of at most 0.5). The load average is printed before and after: on a shared machine, say it with
the figures. With `--old`, the last run's two workspaces are compared table by table
(`bench/bench_import_compare.py`: every row, value and type) before they are removed: a speed-up
must store the same.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def run(cmd: list[str], pythonpath: str | None) -> tuple[float, float, float, int]:
    """Wall seconds, CPU seconds of the process tree, peak RSS (MB, of its largest process),
    exit code of one command."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env.pop("PYTHONPATH", None)
    if pythonpath is not None:
        env["PYTHONPATH"] = pythonpath
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, str(HERE / "_child_rusage.py"), *cmd], env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd="/")
    wall = time.perf_counter() - t0
    usage = json.loads(proc.stderr.strip().splitlines()[-1])
    return wall, float(usage["cpu_s"]), float(usage["max_rss_mb"]), proc.returncode


def pair(file: Path, tmp: Path, pythonpath: str | None,
         keep: Path | None = None) -> dict[str, tuple[float, float, float]]:
    out = {}
    wall, cpu, rss, rc = run([sys.executable, "-m", "curator", "validate", "--target", "openai",
                         str(file), "--json"], pythonpath)
    if rc not in (0, 1):
        raise SystemExit(f"validate exited {rc}")
    out["validate"] = (wall, cpu, rss)
    ws = tmp / "bench_import.db"
    for f in tmp.glob("bench_import.db*"):
        f.unlink()
    wall, cpu, rss, rc = run([sys.executable, "-m", "curator", "import", str(file), "-w", str(ws),
                         "--json"], pythonpath)
    if rc not in (0, 1):
        raise SystemExit(f"import exited {rc}")
    out["import"] = (wall, cpu, rss)
    if keep is not None:  # the workspace, closed, kept for the comparison
        ws.replace(keep)
    for f in tmp.glob("bench_import.db*"):
        f.unlink()
    return out


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    # An installed curator runs from compiled modules; with PYTHONDONTWRITEBYTECODE set (this
    # development machine sets it) every child would compile them again at each start.
    if os.environ.pop("PYTHONDONTWRITEBYTECODE", None):
        print("(PYTHONDONTWRITEBYTECODE is set here; the commands run without it, as an installed copy would)")
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--file", type=Path, required=True, help="a JSONL file to validate and import")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--old", default=None, help="a checkout of older code to run in turns with this one")
    ap.add_argument("--tmp", type=Path, default=None, help="folder for the workspaces (default: a new temp folder)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_import_", dir=args.tmp))
    sides = ([("old", str(Path(args.old).resolve()))] if args.old else []) + [("new", str(ROOT))]
    results: dict[str, list[dict[str, tuple[float, float, float]]]] = {name: [] for name, _ in sides}
    print(f"{args.file}, {args.repeat} repeat(s), load average before: {load()}", flush=True)
    try:
        for i in range(args.repeat):
            for name, path in sides:
                last = args.old and i == args.repeat - 1
                r = pair(args.file, tmp, path, tmp / f"kept_{name}.db" if last else None)
                results[name].append(r)
                print(f"  {i + 1} {name}: validate {r['validate'][0]:.1f} s wall {r['validate'][1]:.1f} "
                      f"CPU s {r['validate'][2]:.0f} MB, import {r['import'][0]:.1f} s wall "
                      f"{r['import'][1]:.1f} CPU s {r['import'][2]:.0f} MB (load {load()})",
                      flush=True)
        if args.old:
            print("old and new workspaces of the last repeat, compared:", flush=True)
            rc = subprocess.call([sys.executable, str(HERE / "bench_import_compare.py"),
                                  str(tmp / "kept_old.db"), str(tmp / "kept_new.db")])
            print("the old and new code stored the same" if rc == 0 else
                  "the old and new code stored DIFFERENT workspaces: see above")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"load average after: {load()}")
    print("| code | validate wall s | validate CPU s | validate peak MB | import wall s | import CPU s "
          "| import peak MB | ratio wall | ratio CPU | (import - validate) / validate, wall / CPU |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, _ in sides:
        cells = []
        med = {}
        for step in ("validate", "import"):
            for k in (0, 1, 2):
                xs = [r[step][k] for r in results[name]]
                med[step, k] = statistics.median(xs)
                cells.append(f"{med[step, k]:.1f} ({min(xs):.1f}-{max(xs):.1f})" if k < 2
                             else f"{max(xs):.0f}")
        wall, cpu = (med["import", k] / med["validate", k] for k in (0, 1))
        print(f"| {name} | {' | '.join(cells)} | {wall:.2f} | {cpu:.2f} | "
              f"{wall - 1:.2f} / {cpu - 1:.2f} |")


if __name__ == "__main__":
    main()
