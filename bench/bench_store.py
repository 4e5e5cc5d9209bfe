"""Workspace benchmark: import + validate, then the reads a review list makes.

    python bench/bench_store.py --n 100000 [--keep DIR]

Generates N chat examples (with some broken lines and exact repeats), imports them with this
file's own `schema_prepare` (pydantic validation of every row, the work the importer's old
stand-in did; not curator's Preparer with its rules and token counts, so the figure stays the
store's throughput), samples memory after every committed batch,
then times a count per filter and page reads at the start and deep in the set. Prints a table
and one JSON line. Figures depend on the machine; say how loaded it was when you quote them.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pydantic import ValidationError

from curator.io import Row
from curator.issues import Issue
from curator.schema import ChatExample
from curator.workspace import Workspace
from curator.workspace.importer import FileReport, import_files
from curator.workspace.prepare import PreparedRecord


def schema_prepare(row: Row) -> PreparedRecord:
    """A minimal prepare: chat rows checked with schema.ChatExample, other rows kept pending."""
    data = row.data
    assert data is not None
    if "messages" not in data:
        return PreparedRecord(None, data, [Issue("format.undetected", "warning", "no 'messages' key",
                                                 row.file, row.line, row.example_index)])
    try:
        ChatExample.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        return PreparedRecord("openai-chat", data, [Issue(
            "schema.invalid", "error", err["msg"], row.file, row.line, row.example_index,
            path="/" + "/".join(str(p) for p in err["loc"]))])
    return PreparedRecord("openai-chat", data)

WORDS = ["refund", "order", "account", "password", "shipping", "invoice", "the", "a", "to", "of", "and", "is", "please", "help", "thanks", "update", "change", "cancel", "delivery", "address", "card", "payment", "error", "login", "reset", "plan", "upgrade", "billing", "support", "team", "today", "week", "month", "price", "discount", "code", "email", "phone"]


def generate(path: Path, n: int, seed: int = 1) -> None:
    """Chat rows of 2 to 6 turns; 0.1 % broken lines, 5 % exact repeats of earlier rows."""
    rng = random.Random(seed)
    kept: list[str] = []
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            if i and rng.random() < 0.001:
                fh.write('{"messages": [{"role": "user", "content": "truncated\n')
                continue
            if kept and rng.random() < 0.05:
                fh.write(rng.choice(kept))
                continue
            msgs = [{"role": "system", "content": "You are a helpful support agent."}]
            for t in range(rng.randint(1, 3)):
                msgs.append({"role": "user", "content": f"#{i}.{t} " + " ".join(
                    rng.choices(WORDS, k=rng.randint(8, 40)))})
                msgs.append({"role": "assistant", "content": " ".join(
                    rng.choices(WORDS, k=rng.randint(20, 80)))})
            line = json.dumps({"messages": msgs}) + "\n"
            if len(kept) < 1000:
                kept.append(line)
            fh.write(line)


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def timed(fn, repeat: int = 3) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--keep", type=Path, help="work in this folder and keep the files")
    args = ap.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench_store_"))
    folder.mkdir(parents=True, exist_ok=True)
    src, db = folder / "gen.jsonl", folder / "bench.db"
    for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
        p.unlink(missing_ok=True)
    generate(src, args.n)

    samples: list[float] = []
    rss0 = rss_mb()

    def progress(fr: FileReport) -> None:
        samples.append(rss_mb())

    ws = Workspace.open(db, create=True)
    t0 = time.perf_counter()
    report = import_files(ws, [src], schema_prepare, progress=progress)
    t_import = time.perf_counter() - t0

    results: dict[str, object] = {
        "n": args.n, "import_s": round(t_import, 2),
        "rows_per_s": round(report.rows / t_import),
        "new": report.new, "rejected": report.rejected,
        "rss_start_mb": round(rss0), "rss_first_batch_mb": round(samples[0]),
        "rss_last_batch_mb": round(samples[-1]),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "file_mb": round(src.stat().st_size / 2**20), "db_mb": round(db.stat().st_size / 2**20),
    }
    for label, where in [("count all", []), ("count status=rejected", ["status=rejected"]),
                         ("count issue=json.invalid", ["issue=json.invalid"]),
                         ("count status=pending issue=none", ["status=pending", "issue=none"]),
                         ("count text~refund order", ["text~refund order"])]:
        results[label + " ms"] = round(timed(lambda w=where: ws.count(w)) * 1000, 1)
    results["page first 100 ms"] = round(timed(lambda: ws.page(limit=100)) * 1000, 1)
    deep = ws.page(where=["id>=" + str(report.new - 200)], limit=1).rows[0].id
    results["page keyset deep ms"] = round(
        timed(lambda: ws.page(after=(deep, deep), limit=100)) * 1000, 1)
    results["page offset deep ms"] = round(
        timed(lambda: ws.page(offset=report.new - 200, limit=100)) * 1000, 1)
    results["page filtered status=rejected ms"] = round(
        timed(lambda: ws.page(["status=rejected"], limit=100)) * 1000, 1)
    results["bulk accept all ms"] = round(
        timed(lambda: ws.set_status(None, "accepted", where=[]), repeat=1) * 1000)
    results["undo bulk ms"] = round(timed(lambda: ws.undo(), repeat=1) * 1000)
    ws.close()

    if args.keep is None:
        for p in folder.iterdir():
            p.unlink()
        folder.rmdir()

    width = max(len(k) for k in results)
    for k, v in results.items():
        print(f"{k:<{width}}  {v}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
