"""Export benchmark: `curator export` of an N-record workspace, as a user runs it.

    python bench/bench_export.py --n 1000000            # builds /tmp/curator_bench_export_1000000.db once
    python bench/bench_export.py --n 100000 --extras     # also --hf-dataset --parquet --llamafactory

The workspace is built quickly and cached: generated chat examples (bench/gen_chat.py) are
bulk-inserted with `Workspace.import_batch` (no validation, a rough token count), then 5 % are
rejected, 10 % marked as near duplicates of a neighbour and every record is given a split
80/10/10. Building is not timed. The timed part runs `python -m curator export ... --json` as a
child process (interpreter start included) and reports wall time, CPU time and the child's peak
RSS; a second run checks that the output is byte-identical (the files that differ are named).

    python bench/bench_export.py --n 1000000 --extras --ws W.db --root /tmp/old --out /tmp/x

With `--ws` an existing workspace with splits (e.g. an import of `bench/gen_realtext.py` rows)
is exported as it is, nothing built or changed; `--root` runs the export with another checkout's
code (an older commit, to compare), `--out` names the export folder.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import orjson
from gen_chat import _Writer

from curator.workspace import DuplicateCluster, NewRecord, Workspace

ROOT = Path(__file__).resolve().parent.parent
BATCH = 20_000


def build(path: Path, n: int, seed: int = 0) -> None:
    if path.exists():
        with Workspace.open(path) as ws:
            if ws.meta("bench.complete") == str(n):
                return
        path.unlink()
    for extra in (Path(f"{path}-wal"), Path(f"{path}-shm")):
        extra.unlink(missing_ok=True)
    t0 = time.perf_counter()
    writer = _Writer(seed)
    with Workspace.open(path, create=True, actor="bench") as ws:
        import_id = ws.begin_import("generated.jsonl")
        done = 0
        while done < n:
            batch = []
            for i in range(done, min(n, done + BATCH)):
                text = orjson.dumps(writer.example(), option=orjson.OPT_SORT_KEYS).decode()
                tokens = len(text) // 4
                batch.append(NewRecord(
                    uid=hashlib.sha256(f"{i}:{text}".encode()).hexdigest(),
                    source_file="generated.jsonl", source_line=i + 1, example_index=i + 1,
                    raw=text, format="openai-chat", canonical=text, status="pending",
                    reason=None, tokens_total=tokens, tokens_trained=tokens // 2, issues=()))
            done += len(batch)
            ws.import_batch(import_id, batch, {"rows": done - len(batch), "new": done - len(batch),
                                               "already_present": 0, "rejected": 0})
        ws.finish_import(import_id, None, None, f"generated {n}", n)
        ws.set_status(None, "rejected", "bench: rejected", where=["id<=" + str(n // 20)])
        first_dup = n // 20 + 1
        clusters = [DuplicateCluster(i + 1, {i: 0.9}) for i in range(first_dup, first_dup + n // 5, 2)]
        ws.mark_duplicates(clusters, {"threshold": 0.8})
        names = ["train"] * 8 + ["validation", "holdout"]
        ws.set_splits(((i, names[i % 10]) for i in range(1, n + 1)),
                      {"ratios": [0.8, 0.1, 0.1], "seed": seed})
        ws.set_meta("bench.complete", str(n))
    print(f"built {path} ({n:,} records) in {time.perf_counter() - t0:.0f}s", file=sys.stderr)


def run_export(ws: Path, out: Path, extras: bool, root: Path = ROOT
               ) -> tuple[float, float, float, dict[str, object]]:
    cmd = [sys.executable, str(ROOT / "bench" / "_child_rusage.py"), sys.executable, "-m",
           "curator", "export", "-w", str(ws), "--out", str(out), "--json"]
    if extras:
        cmd += ["--hf-dataset", "--parquet", "--llamafactory"]
    start = time.perf_counter()
    # cwd=root: `python -m` puts the working folder first on sys.path, ahead of PYTHONPATH
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=root,
                          env={"PYTHONPATH": str(root), "HF_HUB_OFFLINE": "1",
                               "PATH": "/usr/bin:/bin"})
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"export failed ({proc.returncode}): {proc.stderr}")
    usage = json.loads(proc.stderr.strip().splitlines()[-1])
    return wall, usage["cpu_s"], usage["max_rss_mb"], json.loads(proc.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--extras", action="store_true",
                        help="also write the HF dataset folder, Parquet and dataset_info.json")
    parser.add_argument("--cache", type=Path, default=None,
                        help="workspace file (default /tmp/curator_bench_export_N.db)")
    parser.add_argument("--ws", type=Path, default=None,
                        help="export this existing, split workspace as it is instead of building "
                             "one (e.g. an import of bench/gen_realtext.py rows); --n then only "
                             "labels the row")
    parser.add_argument("--root", type=Path, default=ROOT,
                        help="the checkout whose curator runs the export (an older one to "
                             "compare; default this one)")
    parser.add_argument("--out", type=Path, default=None,
                        help="export folder (default /tmp/curator_bench_export_out_N)")
    args = parser.parse_args()
    if args.ws is not None:
        ws = args.ws
    else:
        ws = args.cache or Path(f"/tmp/curator_bench_export_{args.n}.db")
        build(ws, args.n)
    out = args.out or Path(f"/tmp/curator_bench_export_out_{args.n}")
    shutil.rmtree(out, ignore_errors=True)
    wall, cpu, rss, summary = run_export(ws, out, args.extras, args.root)
    wall2, cpu2, rss2, summary2 = run_export(ws, out, args.extras, args.root)  # over the previous export
    same = summary["files"] == summary2["files"]
    if not same:
        first, second = summary["files"], summary2["files"]
        assert isinstance(first, dict) and isinstance(second, dict)
        print("differ between the runs: " + ", ".join(
            sorted(k for k in first.keys() | second.keys() if first.get(k) != second.get(k))),
            file=sys.stderr)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 1e6
    exported = sum(summary["counts"].values())  # type: ignore[attr-defined]
    print(f"| {args.n:,} | {'jsonl + hf + parquet + lf' if args.extras else 'jsonl'} | "
          f"{exported:,} | {summary['excluded']:,} | {wall:.1f} / {wall2:.1f} | "
          f"{cpu:.1f} / {cpu2:.1f} | {max(rss, rss2):,.0f} | {size:,.0f} | "
          f"{'yes' if same else 'NO'} |")


if __name__ == "__main__":
    main()
