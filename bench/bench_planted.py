"""What curator's checks catch on a planted-defect set (bench/gen_planted.py), kind by kind.

    python bench/gen_planted.py --out /tmp/planted
    python bench/bench_planted.py --data /tmp/planted [--json]

Runs what a user runs (`curator import`, `curator dedup`, then the signal commands unless
`--baseline`: `curator signals`, `curator dedup --semantic`,
`curator decontaminate --against DATA/eval.jsonl`) into a fresh workspace, then reads every record back and counts,
for each planted kind, the rows curator flagged: stored as rejected, any issue of severity
warning or error, marked as a duplicate (not the keeper), or given a signal label
(`same-answer`, `conflict`, `paraphrase`, `contaminated`). Clean rows
flagged are false positives. Per issue code (and for "duplicate") it prints how many flagged rows
were defects (precision) and which kinds it caught, so a new signal can be judged on its own.

A duplicate's keeper is not flagged; when dedup keeps the defective copy of a pair (a `near_dup`
that differs from its source), the source row is flagged instead, which this table shows as a
clean row flagged by "duplicate". A `conflict` or `paraphrase` label is a pair for review, like
a duplicate: a planted copy counts as caught when either it or its source has one, and a clean
source flagged only as the other half of its own planted copy is not a false positive.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from curator.workspace import Workspace

FLAG_SEVERITIES = {"warning", "error"}
#: labels the signal commands put on records (curator/quality); each counts as a flag
SIGNAL_LABELS = {"same-answer", "conflict", "paraphrase", "contaminated"}
#: flags that mark one record of a pair (a planted copy and its source) for review
PAIR_FLAGS = {"duplicate", "label:conflict", "label:paraphrase"}


def run(args: list[str]) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-m", "curator", *args, "--json"], capture_output=True,
                          text=True, check=False)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"curator {' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
    out: dict[str, Any] = json.loads(proc.stdout)
    return out


def measure(data: Path, dedup: bool = True, steps: tuple[tuple[str, ...], ...] = ()) -> dict[str, Any]:
    truth = {t["line"]: t for t in map(json.loads, (data / "truth.jsonl").open())}
    with tempfile.TemporaryDirectory() as tmp:
        ws_path = Path(tmp) / "planted.curator.db"
        run(["import", str(data / "data.jsonl"), "-w", str(ws_path)])
        if dedup:
            run(["dedup", "-w", str(ws_path)])
        for step in steps:
            run([*step, "-w", str(ws_path)])
        flags: dict[int, set[str]] = {}
        line_of: dict[int, int] = {}
        dup_of: dict[int, int] = {}
        with Workspace.open(ws_path) as ws:
            for rid in ws.select_ids(()):
                r = ws.get(rid)
                if r.source_line is None:
                    continue
                why = {i.code for i in r.issues if i.severity in FLAG_SEVERITIES}
                if r.status == "rejected":
                    why.add(f"rejected:{r.reason}")
                if r.dup_of is not None:
                    why.add("duplicate")
                    dup_of[r.source_line] = r.dup_of
                why.update(f"label:{lb}" for lb in r.labels if lb in SIGNAL_LABELS)
                line_of[rid] = r.source_line
                flags[r.source_line] = why
    # A planted copy and its source are one duplicate pair: flagging either one catches it, and
    # a source flagged only as the duplicate of its own copy is the keeper rule's choice, not a
    # false positive (counted apart: for a `conflict` it means the wrong answer was kept).
    copies: dict[int, list[int]] = defaultdict(list)
    for line, t in truth.items():
        if t["of"] is not None and t["kind"] in ("exact_dup", "near_dup", "conflict"):
            copies[t["of"]].append(line)
    kept_copy: Counter[str] = Counter()
    natural = 0  # clean rows marked as duplicates of other clean rows: the source's own
    by_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    codes: dict[str, Counter[str]] = defaultdict(Counter)
    for line, t in truth.items():
        why = set(flags.get(line, set()))
        if t["kind"] == "clean" and why and why <= PAIR_FLAGS and copies.get(line):
            for c in copies[line]:
                kept_copy[truth[c]["kind"]] += 1
            why = set()
        elif t["kind"] == "clean" and why == {"duplicate"} and \
                truth[line_of[dup_of[line]]]["kind"] == "clean":
            natural += 1
        if t["kind"] in ("exact_dup", "near_dup", "conflict") and not why and \
                flags.get(t["of"], set()) & PAIR_FLAGS:
            why = flags[t["of"]] & PAIR_FLAGS
        by_kind[t["kind"]][0] += 1
        by_kind[t["kind"]][1] += bool(why)
        for code in why:
            codes[code][t["kind"]] += 1
    clean_total, clean_flagged = by_kind.get("clean", [0, 0])
    return {
        "rows": len(truth),
        "recall": {k: {"planted": n, "caught": c, "recall": round(c / n, 3)}
                   for k, (n, c) in sorted(by_kind.items()) if k != "clean"},
        "clean_flagged": {"clean": clean_total, "flagged": clean_flagged,
                          "share": round(clean_flagged / max(clean_total, 1), 3)},
        "kept_the_copy": dict(kept_copy),
        "clean_duplicates_of_clean": natural,
        "codes": {code: {"flagged": sum(c.values()),
                         "precision": round(1 - c["clean"] / sum(c.values()), 3),
                         "kinds": dict(c.most_common())}
                  for code, c in sorted(codes.items())},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--no-dedup", action="store_true")
    ap.add_argument("--baseline", action="store_true",
                    help="only import and dedup (what main did before the signal commands)")
    ap.add_argument("--no-semantic", action="store_true",
                    help="leave out `dedup --semantic` (paraphrase labels are about coverage, "
                         "not defects: this shows the clean rows flagged without them)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    steps: list[tuple[str, ...]] = []
    if not args.baseline:
        steps.append(("signals",))
        if not args.no_semantic:
            steps.append(("dedup", "--semantic"))
        steps.append(("decontaminate", "--against", str(args.data / "eval.jsonl")))
    result = measure(args.data, dedup=not args.no_dedup, steps=tuple(steps))
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{result['rows']} rows")
    print(f"{'kind':15} {'planted':>7} {'caught':>6} {'recall':>6}")
    for kind, r in result["recall"].items():
        print(f"{kind:15} {r['planted']:7} {r['caught']:6} {r['recall']:6.2f}")
    cf = result["clean_flagged"]
    print(f"clean rows flagged: {cf['flagged']} of {cf['clean']} ({cf['share']:.1%})")
    print(f"  of which marked as near duplicates of other clean rows (in the sources): "
          f"{result['clean_duplicates_of_clean']}")
    if result["kept_the_copy"]:
        kept = ", ".join(f"{k} {n}" for k, n in result["kept_the_copy"].items())
        print(f"dedup kept the planted copy and flagged its source: {kept}")
    print(f"\n{'flag':36} {'rows':>5} {'prec.':>5}  kinds")
    for code, c in result["codes"].items():
        kinds = ", ".join(f"{k} {n}" for k, n in c["kinds"].items())
        print(f"{code:36} {c['flagged']:5} {c['precision']:5.2f}  {kinds}")


if __name__ == "__main__":
    main()
