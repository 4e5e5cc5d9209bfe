"""What curation removed from a bench_proof (or bench_planted) workspace, by planted kind.

    python bench/proof_removed.py WORK/curated.curator.db WORK/planted/truth.jsonl

A record counts as removed when it is rejected or marked a duplicate of another; the column
on the right says why (the rejection reason, the model signal behind a warning, or "dup").
Record ids are the source line numbers of a single-file import, which is what bench_proof does.
"""

from __future__ import annotations

import collections
import json
import subprocess
import sys


def main() -> None:
    ws, truth = sys.argv[1], sys.argv[2]
    out = subprocess.run([sys.executable, "-m", "curator", "ls", "-w", ws, "--limit", "10000000", "--json"],
                         capture_output=True, text=True, check=True).stdout
    records = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    with open(truth, encoding="utf-8") as f:
        kinds = {row["line"]: row["kind"] for row in map(json.loads, f)}
    total: collections.Counter[str] = collections.Counter()
    removed: collections.Counter[str] = collections.Counter()
    why: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for r in records:
        kind = kinds[r["id"]]
        total[kind] += 1
        if r["status"] == "rejected":
            model = ",".join(i for i in r["issues"] if i.startswith("quality.answer_"))
            reason = (r["reason"] or "").removeprefix("bench_proof: ")
            why[kind][f"{reason} {model}".strip()] += 1
            removed[kind] += 1
        elif r["dup_of"] is not None:
            why[kind]["dup"] += 1
            removed[kind] += 1
    for kind in sorted(total):
        print(f"{kind:14s} {removed[kind]:4d}/{total[kind]:<4d} {dict(why[kind].most_common())}")


if __name__ == "__main__":
    main()
