"""The proof that curation pays (issue 13): a raw set with planted defects against the same set
curated with curator's own commands, trained alike and judged on one clean holdout.

    python bench/bench_proof.py --work /tmp/proof                       # default model, 3 seeds
    python bench/bench_proof.py --work /tmp/proof-tiny --model tiny --steps 5 --clean 120 --per-kind 4

1. `bench/gen_planted.py` builds data.jsonl from real public text (../shared/data: Alpaca, GSM8K,
   GPTeacher) with planted defects (empty, placeholder, truncated, wrong and swapped answers,
   duplicates, conflicts, ...) and a clean holdout.jsonl drawn from the same sources.
2. raw/: data.jsonl as it is, cut into train and validation by line (every tenth line is
   validation); its holdout.jsonl is the clean holdout.
3. curated/: what a user runs: `curator import`, `curator dedup`, `curator signals`,
   `curator decontaminate --against eval.jsonl`, then `curator reject` of every record with a
   warning or an error or a signal's label (same-answer, conflict, contaminated); with --score,
   `curator score` on what is left and a second round of rejection for its signals;
   `curator split` and `curator export`.
4. `curator compare raw curated --holdout holdout.jsonl` over the seeds: same model, steps,
   batch size, max length; the paired A-minus-B holdout loss with its interval.

Prints what curation removed and the comparison, and writes WORK/proof.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def curator(*args: str, ok: tuple[int, ...] = (0, 1)) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "curator", *args], capture_output=True, text=True, env=env,
                          check=False)
    if proc.returncode not in ok:
        raise SystemExit(f"curator {' '.join(args)} exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return proc


def raw_set(data: Path, holdout: Path, out: Path) -> dict[str, int]:
    out.mkdir(parents=True, exist_ok=True)
    lines = data.read_text(encoding="utf-8").splitlines(keepends=True)
    train = [line for i, line in enumerate(lines) if i % 10 != 9]
    validation = [line for i, line in enumerate(lines) if i % 10 == 9]
    (out / "train.jsonl").write_text("".join(train), encoding="utf-8")
    (out / "validation.jsonl").write_text("".join(validation), encoding="utf-8")
    shutil.copyfile(holdout, out / "holdout.jsonl")
    return {"train": len(train), "validation": len(validation)}


def reject_flagged(ws: str) -> None:
    """What a user does without reading each record: reject everything a check flags."""
    for where in ("severity=warning", "severity=error", "label=same-answer", "label=conflict",
                  "label=contaminated"):
        curator("reject", "-w", ws, "--where", where, "--where", "status!=rejected",
                "--reason", f"bench_proof: {where}")


def curated_set(data: Path, work: Path, out: Path, score: bool, model: str | None,
                evals: Path | None = None) -> dict[str, Any]:
    ws = str(work / "curated.curator.db")
    Path(ws).unlink(missing_ok=True)
    steps: dict[str, Any] = {}
    steps["import"] = json.loads(curator("import", str(data), "-w", ws, "--json").stdout)
    steps["dedup"] = json.loads(curator("dedup", "-w", ws, "--json").stdout)
    steps["signals"] = json.loads(curator("signals", "-w", ws, "--json").stdout)
    if evals is not None:
        steps["decontaminate"] = json.loads(curator("decontaminate", "-w", ws, "--against", str(evals),
                                                    "--no-split", "--json").stdout)
    reject_flagged(ws)
    if score:
        # the model pass runs on what the cheap checks left; its signals (answer off its prompt,
        # cut off by the model) are warnings, so a second round of rejection takes them out
        args = ["score", "-w", ws, "--json"] + (["--model", model] if model else [])
        steps["score"] = json.loads(curator(*args).stdout)
        reject_flagged(ws)
    steps["split"] = json.loads(curator("split", "-w", ws, "--json").stdout)
    if out.exists():
        shutil.rmtree(out)
    steps["export"] = json.loads(curator("export", "-w", ws, "--out", str(out), "--json").stdout)
    return steps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--model", default=None, help="default: the bundled SmolLM2-135M-Instruct")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--max-length", type=int, default=512)
    ap.add_argument("--clean", type=int, default=600)
    ap.add_argument("--per-kind", type=int, default=15)
    ap.add_argument("--holdout", type=int, default=150, help="clean holdout examples (gen_planted --eval-n)")
    ap.add_argument("--planted-seed", type=int, default=0)
    ap.add_argument("--score", action="store_true", help="also curate with `curator score` (issue 12)")
    args = ap.parse_args()

    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    planted = work / "planted"
    subprocess.run([sys.executable, str(ROOT / "bench" / "gen_planted.py"), "--out", str(planted),
                    "--clean", str(args.clean), "--per-kind", str(args.per_kind), "--seed", str(args.planted_seed),
                    "--holdout", str(args.holdout)], check=True)
    raw_sizes = raw_set(planted / "data.jsonl", planted / "holdout.jsonl", work / "raw")
    curated = curated_set(planted / "data.jsonl", work, work / "curated", args.score, args.model,
                          planted / "eval.jsonl")

    started = time.perf_counter()
    compare_args = ["compare", str(work / "raw"), str(work / "curated"), "--holdout", str(planted / "holdout.jsonl"),
                    "--seeds", args.seeds, "--steps", str(args.steps), "--batch-size", str(args.batch_size),
                    "--max-length", str(args.max_length), "--out", str(work / "compare"), "--json"]
    if args.model:
        compare_args += ["--model", args.model]
    proc = curator(*compare_args, ok=(0, 1, 3))
    seconds = time.perf_counter() - started
    report = json.loads(proc.stdout)
    result = {"raw": raw_sizes, "curated": {k: v for k, v in curated.items() if k != "import"},
              "curated_sizes": curated["export"].get("counts"), "compare": report, "compare_seconds": round(seconds, 1),
              "args": vars(args) | {"work": str(work)}}
    (work / "proof.json").write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    print(report["summary"])
    print(f"raw train {raw_sizes['train']}, curated splits {result['curated_sizes']}; compare took {seconds:.0f} s")


if __name__ == "__main__":
    main()
