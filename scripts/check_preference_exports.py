"""Import a preference file (e.g. LLaMA-Factory's dpo_en_demo.json), split it, export it in the
OpenAI, TRL and LLaMA-Factory layouts, and check that each export loads where it is meant to:
every layout with `datasets`, the TRL layout through TRL's DPOTrainer data preparation as well
(its tokenisation of every split with the given model's tokenizer; no training step).

    python scripts/check_preference_exports.py ../shared/data/llamafactory_dpo_en_demo.json --model tiny

Prints one line per layout and exits 1 if a row is lost anywhere.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

SPLITS = ("train", "validation", "holdout")


def curator(*args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "curator", *args], capture_output=True, text=True, check=False)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"curator {' '.join(args)} exited {proc.returncode}: {proc.stderr.strip()}")
    return proc.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("file", type=Path)
    ap.add_argument("--model", default="tiny", help="whose tokenizer TRL uses (default: tiny)")
    args = ap.parse_args()

    import datasets
    from trl.trainer.dpo_config import DPOConfig
    from trl.trainer.dpo_trainer import DPOTrainer

    from curator.train import models

    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        imported = json.loads(curator("import", str(args.file), "-w", str(t / "ws.db"), "--target", "trl", "--json"))
        curator("split", "-w", str(t / "ws.db"))
        print(f"import: {json.dumps(imported.get('files', imported))[:300]}")
        source = models.resolve_model(args.model)
        tok = models.load_tokenizer(source)
        for target in ("openai", "trl", "lf"):
            out = t / target
            summary = json.loads(curator("export", "-w", str(t / "ws.db"), "--out", str(out), "--target", target,
                                         "--json"))
            counts = summary["counts"]
            files = {s: str(out / f"{s}.jsonl") for s in SPLITS if (out / f"{s}.jsonl").is_file()}
            if not files:  # LLaMA-Factory's layout is one JSON file per split
                files = {s: str(p) for s in SPLITS for p in out.glob(f"*{s}*.json")}
            loaded = datasets.load_dataset("json", data_files=files, cache_dir=str(t / "cache"))
            rows = {s: loaded[s].num_rows for s in files}
            line = f"{target}: exported {counts}, loaded with datasets {rows}"
            ok &= all(rows[s] == counts[s] for s in rows)
            if target == "trl":
                model = models.load_model(source, "none", "cpu", None)
                cfg = DPOConfig(output_dir=str(t / "trl-tmp"), use_cpu=True, bf16=False, report_to="none",
                                max_length=None, max_steps=1, save_strategy="no", disable_tqdm=True)
                trainer = DPOTrainer(model=model, args=cfg, train_dataset=loaded["train"],
                                     eval_dataset={"validation": loaded["validation"], "holdout": loaded["holdout"]},
                                     processing_class=tok)
                prepared = {"train": trainer.train_dataset.num_rows,
                            **{k: v.num_rows for k, v in trainer.eval_dataset.items()}}
                line += f"; tokenised by TRL's DPOTrainer {prepared}"
                ok &= prepared == rows
            print(line)
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
