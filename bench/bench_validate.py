"""Wall time, CPU time and peak memory: the cookbook-style check vs `curator validate` on one file.

Generates (or reuses) a chat JSONL, synthetic (bench/gen_chat.py, `--corpus chat`) or built from
real public text (bench/gen_realtext.py, `--corpus realtext`), then runs each step as a child
process:

* cookbook: bench/cookbook_check.py FILE (json + tiktoken, everything in memory)
* curator validate: python -m curator validate --target openai FILE, with `--json` and/or with
  its plain-text report (every issue formatted and printed; stdout goes to /dev/null)
* curator stats: python -m curator stats FILE --json (unless --skip-stats)

Every step's time includes interpreter start-up and imports (what a user waits for). With
`--repeat R` the steps run in turns (cookbook, validate, ..., cookbook, validate, ...) so that a
change in the machine's load hits them alike; the table shows the median wall and CPU seconds and
the largest peak memory of the R runs, and the ratios are taken from the medians.

Each run happens inside a fresh helper process, so `getrusage(RUSAGE_CHILDREN)` there holds the
CPU seconds of that run's whole process tree (the workers included, as they are waited for) and
`ru_maxrss` the peak RSS of its largest process. When psutil is installed, the helper also
samples the tree every 50 ms and reports the peak of its summed RSS (a pool's workers together)
and of its summed PSS. RSS counts a page shared by forked workers once per process; PSS splits it
between them, so the PSS sum is the memory the step really holds. The sampler reads every
process's memory map 20 times a second, which costs CPU: on a 2-core machine it takes time from
validate's two workers (1M real text: 25.9-26.6 s unsampled against 28.4-29.6 s sampled) but not
from the one-process cookbook check. `--no-sample` times without it; take the memory figures from
a sampled run. A step that fails is reported as FAILED with its exit code and the end of its
stderr; the benchmark carries on.

    python bench/bench_validate.py --n 100000            # generates /tmp/curator_bench_chat_100000_0.jsonl
    python bench/bench_validate.py --corpus realtext --n 100000 --repeat 5 --skip-stats
    python bench/bench_validate.py --file chat.jsonl --repeat 3 --modes json
    python bench/bench_validate.py --file chat.jsonl --repeat 5 --modes json --skip-stats --baseline /tmp/old
    python bench/bench_validate.py --file chat.jsonl --repeat 2 --modes json --skip-stats --no-sample

`--baseline DIR` times `validate --json` of the checkout in DIR in the same turns (code before and
after a change, side by side). After the table it prints, per validate step, the CPU seconds of
the whole process tree per example, the wall ratio and CPU share against the cookbook check and
the peak PSS of the tree, then the issue's targets.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
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
if sys.argv[2] != "1":  # --no-sample: no sampler beside the command (it takes CPU from it)
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


def measure(cmd: list[str], code: Path = ROOT, sample: bool = True) -> dict[str, object]:
    """One run of `cmd`; `code`: the checkout whose curator it runs (its folder comes first on the path).
    `sample`: sample the tree's memory every 50 ms (psutil; it costs CPU on the machine)."""
    # An installed curator runs from compiled modules; PYTHONDONTWRITEBYTECODE would have every
    # start compile curator's ~60 modules again (about 0.06 s of CPU), so the steps run without it.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    if code != ROOT:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(code), os.environ.get("PYTHONPATH")]))
    out = subprocess.run([sys.executable, "-c", _HELPER, json.dumps(cmd), "1" if sample else "0"],
                         capture_output=True,
                         text=True, cwd=code, check=False, env=env)
    if out.returncode != 0:
        return {"rc": out.returncode, "wall": float("nan"), "maxrss_kb": 0, "cpu": float("nan"),
                "tree_peak_bytes": None, "tree_pss_bytes": None, "stderr_tail": out.stderr[-600:]}
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _generate(corpus: str, n: int, seed: int) -> Path:
    path = Path(tempfile.gettempdir()) / f"curator_bench_{corpus}_{n}_{seed}.jsonl"
    if not path.exists():
        sys.path.insert(0, str(ROOT / "bench"))
        t0 = time.perf_counter()
        if corpus == "realtext":
            from gen_realtext import generate as gen_real  # type: ignore[import-not-found]

            gen_real(n, path, seed=seed)
        else:
            from gen_chat import generate  # type: ignore[import-not-found]

            generate(n, path, seed=seed)
        print(f"generated {path} in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    return path


def _load() -> str:
    try:
        la = os.getloadavg()
    except OSError:
        return "load average unknown"
    return f"load average {la[0]:.1f} {la[1]:.1f} {la[2]:.1f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--file", type=Path, help="reuse this chat JSONL")
    parser.add_argument("--corpus", choices=("chat", "realtext"), default="chat",
                        help="what to generate when no --file is given")
    parser.add_argument("--n", type=int, default=100_000, help="examples to generate")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=1, help="runs per step, in turns (medians are kept)")
    parser.add_argument("--modes", default="json,text",
                        help="validate runs to time: json (--json), text (the plain report), summary "
                             "(--summary); comma-separated")
    parser.add_argument("--skip-stats", action="store_true")
    parser.add_argument("--skip-cookbook", action="store_true")
    parser.add_argument("--baseline", type=Path, metavar="DIR",
                        help="also time `validate --json` of the curator checkout in DIR (e.g. `git worktree add "
                             "/tmp/old main`), in the same turns, to compare code side by side")
    parser.add_argument("--no-sample", action="store_true",
                        help="no memory sampler beside each run: on a 2-core machine its reads of the tree's "
                             "memory maps take CPU the workers would use, which stretches a parallel step's "
                             "wall time (then only the largest process's peak RSS is reported)")
    args = parser.parse_args(argv)

    path = args.file if args.file is not None else _generate(args.corpus, args.n, args.seed)
    size_mb = path.stat().st_size / 1e6
    lines = sum(1 for _ in path.open("rb"))
    py = sys.executable
    cookbook = "cookbook check (json + tiktoken)"
    steps: dict[str, list[str]] = {}
    if not args.skip_cookbook:
        steps[cookbook] = [py, str(ROOT / "bench" / "cookbook_check.py"), str(path)]
    base_cmd = [py, "-m", "curator", "validate", "--target", "openai", str(path)]
    for mode in args.modes.split(","):
        if mode == "json":
            steps["curator validate --target openai --json"] = [*base_cmd, "--json"]
        elif mode == "text":
            steps["curator validate --target openai (text report)"] = base_cmd
        elif mode == "summary":
            steps["curator validate --target openai --summary"] = [*base_cmd, "--summary"]
        elif mode:
            parser.error(f"unknown mode {mode!r}")
    codes: dict[str, Path] = {}
    if args.baseline is not None:
        name = f"baseline {args.baseline}: curator validate --target openai --json"
        steps[name] = [*base_cmd, "--json"]
        codes[name] = args.baseline.resolve()
    if not args.skip_stats:
        steps["curator stats --json"] = [py, "-m", "curator", "stats", str(path), "--json"]

    print(f"\nfile: {path} ({lines:,} examples, {size_mb:.0f} MB); {os.cpu_count()} CPUs visible; "
          f"{_load()} at the start; {args.repeat} run(s) per step, in turns")
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        print("(PYTHONDONTWRITEBYTECODE is set here; the steps run without it, as an installed copy would)")
    runs: dict[str, list[dict[str, object]]] = {name: [] for name in steps}
    for _ in range(args.repeat):
        for name, cmd in steps.items():
            runs[name].append(measure(cmd, codes.get(name, ROOT), sample=not args.no_sample))
    print(f"{_load()} at the end\n")
    print("| step | wall s (median) | CPU s (median) | peak RSS, largest process (MB) | peak RSS, tree (MB) "
          "| peak PSS, tree (MB) | status |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    walls: dict[str, float] = {}
    cpus: dict[str, float] = {}
    for name, cmd in steps.items():
        rs = runs[name]
        rcs = [int(r["rc"]) for r in rs]  # type: ignore[call-overload]
        # validate exits 1 when it finds problems: that is a finished run, not a failure.
        ok = all(rc == 0 or (rc == 1 and "validate" in cmd) for rc in rcs)
        wall = statistics.median(float(r["wall"]) for r in rs)  # type: ignore[arg-type]
        cpu = statistics.median(float(r["cpu"]) for r in rs)  # type: ignore[arg-type]
        rss = max(int(r["maxrss_kb"]) for r in rs) / 1024  # type: ignore[call-overload]
        trees = [int(r["tree_peak_bytes"]) for r in rs if r.get("tree_peak_bytes")]  # type: ignore[call-overload]
        psss = [int(r["tree_pss_bytes"]) for r in rs if r.get("tree_pss_bytes")]  # type: ignore[call-overload]
        tree_s = f"{max(trees) / 1e6:.0f}" if trees else "-"
        pss_s = f"{max(psss) / 1e6:.0f}" if psss else "-"
        bad = next((r for r in rs if int(r["rc"]) not in (0, 1)  # type: ignore[call-overload]
                    or (int(r["rc"]) == 1 and "validate" not in cmd)), None)  # type: ignore[call-overload]
        status = "ok" if ok else f"FAILED (exit {bad['rc'] if bad else '?'}): " + " ".join(
            str((bad or rs[0])["stderr_tail"]).split())[-200:]
        spread = ""
        if len(rs) > 1:
            ws = sorted(float(r["wall"]) for r in rs)  # type: ignore[arg-type]
            spread = f" ({ws[0]:.1f}-{ws[-1]:.1f})"
        print(f"| {name} | {wall:.1f}{spread} | {cpu:.1f} | {rss:.0f} | {tree_s} | {pss_s} | {status} |")
        if ok:
            walls[name] = wall
            cpus[name] = cpu
    base = walls.get(cookbook)
    print()
    for name, wall in walls.items():
        if name == cookbook or "stats" in name:
            continue
        mem = max((int(r["tree_pss_bytes"]) for r in runs[name] if r.get("tree_pss_bytes")),  # type: ignore[call-overload]
                  default=0) / 1e6
        line = f"{name}: {cpus[name] / lines * 1e6:.1f} us of CPU (whole process tree) per example"
        if base:
            line += (f", {base / wall:.1f}x faster than the cookbook check (wall), {cpus[name] / cpus[cookbook]:.2f} "
                     "of its CPU seconds")
        print(line + (f", peak PSS of the tree {mem:.0f} MB" if mem else ""))
    for name in codes:
        mine = "curator validate --target openai --json"
        if name in cpus and mine in cpus:
            print(f"this checkout against the baseline: {cpus[mine] / cpus[name]:.3f} of its CPU seconds, "
                  f"{walls[mine] / walls[name]:.3f} of its wall time")
    print("targets (issue 15): 1M examples: at least 4x the cookbook's wall, at most 0.5 of its CPU seconds, "
          "memory under 500 MB; 100k: at least 3x its wall")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
