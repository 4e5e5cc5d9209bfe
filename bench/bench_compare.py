"""What `curator compare` costs: CPU and wall seconds of one compare on a small real-text set.

    python bench/bench_compare.py --work /tmp/cmp-new                              # this tree
    python bench/bench_compare.py --work /tmp/cmp-old --tree /tmp/old-checkout     # another tree

Builds two sets (A, B) and one shared holdout from a real-text chat corpus (bench/gen_realtext.py
writes one; short rows only, so a run stays small), then runs `curator compare A B` with the
default model (the bundled SmolLM2-135M-Instruct unless --model) under the code of --tree, and
prints the compare's CPU seconds (user + system of the process and its children), wall seconds,
the load average before and after, and the verdict and gain (which must not change between
trees). Run it under `nice`; on a shared machine compare CPU seconds, not wall seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def build(corpus: Path, work: Path, n_train: int, n_validation: int, n_holdout: int, max_chars: int) -> None:
    """A and B: disjoint train and validation rows; holdout: rows in neither."""
    rows: list[str] = []
    need = 2 * (n_train + n_validation) + n_holdout
    with corpus.open(encoding="utf-8") as f:
        for line in f:
            if len(line) <= max_chars:
                rows.append(line)
            if len(rows) == need:
                break
    if len(rows) < need:
        raise SystemExit(f"{corpus}: only {len(rows)} rows of at most {max_chars} characters, need {need}")
    for i, name in enumerate(("a", "b")):
        d = work / name
        d.mkdir(parents=True, exist_ok=True)
        start = i * (n_train + n_validation)
        (d / "train.jsonl").write_text("".join(rows[start:start + n_train]), encoding="utf-8")
        (d / "validation.jsonl").write_text("".join(rows[start + n_train:start + n_train + n_validation]),
                                            encoding="utf-8")
        (d / "holdout.jsonl").write_text("".join(rows[-n_holdout:]), encoding="utf-8")
    (work / "holdout.jsonl").write_text("".join(rows[-n_holdout:]), encoding="utf-8")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work", type=Path, required=True)
    p.add_argument("--tree", type=Path, default=ROOT, help="the curator checkout whose code runs (default: this one)")
    p.add_argument("--corpus", type=Path, default=Path("/tmp/corpus/real_100k.jsonl"))
    p.add_argument("--model", default=None, help="default: the bundled SmolLM2-135M-Instruct")
    p.add_argument("--train", type=int, default=12)
    p.add_argument("--validation", type=int, default=8)
    p.add_argument("--holdout", type=int, default=16)
    p.add_argument("--max-chars", type=int, default=500, help="longest corpus line taken")
    p.add_argument("--steps", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=2)
    p.add_argument("--max-length", type=int, default=256)
    p.add_argument("--seeds", default="0,1")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("extra", nargs="*", help="more `curator compare` flags (after --)")
    args = p.parse_args()

    build(args.corpus, args.work, args.train, args.validation, args.holdout, args.max_chars)
    # Run from WORK, not from a checkout: `python -c` puts the current folder first on sys.path,
    # ahead of PYTHONPATH, and a checkout there would shadow --tree. The child says whose code runs.
    code = ("import sys, curator; sys.stderr.write('curator from ' + curator.__file__ + '\\n'); "
            "sys.argv[0] = 'curator'; from curator.cli import main; main()")
    cmd = [sys.executable, "-c", code,
           "compare", str(args.work / "a"), str(args.work / "b"), "--holdout", str(args.work / "holdout.jsonl"),
           "--seeds", args.seeds, "--steps", str(args.steps), "--batch-size", str(args.batch_size),
           "--max-length", str(args.max_length), "--threads", str(args.threads), "--out", str(args.work / "out"),
           "--json", *(["--model", args.model] if args.model else []), *args.extra]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(args.tree.resolve())}
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False, cwd=args.work)
    wall = time.perf_counter() - t0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    (args.work / "stderr.txt").write_text(proc.stderr, encoding="utf-8")
    if proc.returncode not in (0, 1, 3):
        print(proc.stderr[-3000:], file=sys.stderr)
        return 2
    ran = proc.stderr.splitlines()[0].removeprefix("curator from ")
    if not Path(ran).resolve().is_relative_to(args.tree.resolve()):
        raise SystemExit(f"the compare ran {ran}, not the code of {args.tree}")
    report = json.loads(proc.stdout)
    runs = [json.loads((Path(r["out"]) / "report.json").read_text()) for r in report["runs"]]
    result = {
        "tree": str(args.tree), "curator": ran, "cpu_s": round(usage.ru_utime + usage.ru_stime, 1), "wall_s": round(wall, 1),
        "load_before": [round(x, 1) for x in load_before], "load_after": [round(x, 1) for x in os.getloadavg()],
        "verdict": report["verdict"], "gain": report["gain"]["mean_gain"],
        "ci": [report["gain"]["ci_low"], report["gain"]["ci_high"]], "per_seed": report["per_seed"],
        "runs": len(runs), "evaluate_s": [r["timings"].get("evaluate") for r in runs],
        "train_s": [r["timings"].get("train") for r in runs],
        "evaluation": report.get("evaluation"),
    }
    (args.work / "bench.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
