"""Split benchmark: assign splits and build the leakage report for N generated records.

    python bench/gen_dedup.py --n 100000 --out /tmp/dedup100k
    python bench/bench_split.py --data /tmp/dedup100k

Dedup runs first (not timed here; see bench_dedup.py) to give the duplicate groups; then the
timed part: duplicate_groups, assign_splits (stratified by a synthetic label), leakage_report.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_dedup import load

from curator.dedup import find_duplicates
from curator.split import SplitItem, assign_splits, duplicate_groups, leakage_report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    args = parser.parse_args()
    records, _ = load(args.data)
    dups = find_duplicates(enumerate(records))
    exact = [g.ids for g in dups.exact_groups]
    labels = {i: f"label{i % 7}" for i in range(len(records))}
    start = time.perf_counter()
    groups = duplicate_groups(dups.pairs, exact)
    items = [SplitItem(i, groups.get(i), labels[i]) for i in range(len(records))]
    result = assign_splits(items, (0.8, 0.1, 0.1), seed=1, stratify=True)
    mid = time.perf_counter()
    report = leakage_report(result.splits, exact_groups=exact, near_pairs=dups.pairs, labels=labels)
    end = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"n={len(records)} split={mid - start:.2f}s report={end - mid:.2f}s "
        f"({len(records) / (end - start):,.0f} records/s) leaks={report.leaks} "
        f"sizes={report.sizes} peak={peak:,.0f} MB (whole process, data included)"
    )


if __name__ == "__main__":
    main()
