"""What curator's checks catch on a planted-defect set (bench/gen_planted.py), kind by kind.

    python bench/gen_planted.py --out /tmp/planted
    python bench/bench_planted.py --data /tmp/planted [--json] [--list-clean]
    python bench/bench_planted.py --data /tmp/planted --score [MODEL]   # the whole pipeline
    python bench/bench_planted.py --data D --workspace COPY --score --signals-rule R1   # under a rule

With `--score`, `curator score` (the default SmolLM2 model, or MODEL) runs after the cheap
signals, so its issue codes (quality.answer_off_prompt, quality.answer_cut_off) count with every
other flag. `--workspace WS` runs in that file and keeps it; one that exists is not imported again,
so a workspace scored earlier (`curator import` + `curator score`, slow on a CPU) is measured
through the whole pipeline with nothing left to score. `--list-clean` lists the clean rows
flagged, with their flags, the line a duplicate was marked against, and the start of the text.

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
import sqlite3
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

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


def measure(data: Path, dedup: bool = True, steps: tuple[tuple[str, ...], ...] = (),
            workspace: Path | None = None, scored_only: bool = False,
            signals_rule: tuple[str | None, bool] | None = None) -> dict[str, Any]:
    truth = {t["line"]: t for t in map(json.loads, (data / "truth.jsonl").open())}
    counted = set(truth)
    with tempfile.TemporaryDirectory() as tmp:
        ws_path = workspace or Path(tmp) / "planted.curator.db"
        if not ws_path.exists():
            run(["import", str(data / "data.jsonl"), "-w", str(ws_path)])
        if dedup:
            run(["dedup", "-w", str(ws_path)])
        for step in steps:
            run([*step, "-w", str(ws_path)])
        if signals_rule is not None:  # the model signals again from the stored scores, under a rule
            from _signal_rules import rewrite_signals

            rewrite_signals(str(ws_path), *signals_rule)
        if scored_only:  # rows `curator score` got to, and those it never would (rejected)
            conn = sqlite3.connect(f"file:{ws_path}?mode=ro", uri=True)
            counted = {line for (line,) in conn.execute(
                "SELECT r.source_line FROM records r LEFT JOIN scores s ON s.record_id = r.id "
                "WHERE s.record_id IS NOT NULL OR r.status = 'rejected'")}
            conn.close()
        flags: dict[int, set[str]] = {}
        texts: dict[int, str] = {}
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
                texts[r.source_line] = json.dumps(r.example, ensure_ascii=False)
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
    clean_hits: list[dict[str, Any]] = []
    for line, t in truth.items():
        if line not in counted:
            continue
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
        if t["kind"] == "clean" and why:
            clean_hits.append({"line": line, "flags": sorted(why),
                               "dup_of_line": line_of.get(dup_of[line]) if line in dup_of else None,
                               "text": texts.get(line, "")[:300]})
    clean_total, clean_flagged = by_kind.get("clean", [0, 0])
    flagged_rows = sum(c for _n, c in by_kind.values())
    return {
        "rows": len(truth),
        "counted": len(counted),
        "recall": {k: {"planted": n, "caught": c, "recall": round(c / n, 3)}
                   for k, (n, c) in sorted(by_kind.items()) if k != "clean"},
        "clean_flagged": {"clean": clean_total, "flagged": clean_flagged,
                          "share": round(clean_flagged / max(clean_total, 1), 3)},
        # every flag together: the share of the rows flagged by anything that are planted defects
        "precision_all_flags": round(1 - clean_flagged / flagged_rows, 3) if flagged_rows else None,
        "kept_the_copy": dict(kept_copy),
        "clean_duplicates_of_clean": natural,
        "codes": {code: {"flagged": sum(c.values()),
                         "precision": round(1 - c["clean"] / sum(c.values()), 3),
                         "kinds": dict(c.most_common())}
                  for code, c in sorted(codes.items())},
        "clean_rows_flagged": clean_hits,
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
    ap.add_argument("--score", nargs="?", const="", default=None, metavar="MODEL",
                    help="also run `curator score` (MODEL, or the default SmolLM2 model when none is "
                         "given) after the cheap signals: the whole pipeline, model signals included")
    ap.add_argument("--threads", type=int, default=None, help="torch threads for --score")
    ap.add_argument("--workspace", type=Path, default=None,
                    help="run in this workspace file and keep it; one that exists is not imported "
                         "again (e.g. one `curator score` already scored: only new records are "
                         "scored then)")
    ap.add_argument("--scored-only", action="store_true",
                    help="count only the rows that have a score (or were rejected, so never get "
                         "one); every step still runs on all rows: for a `curator score` run "
                         "stopped before the end")
    ap.add_argument("--signals-rule", default=None, metavar="RULE",
                    help="after the steps, write the model signals again from the stored scores "
                         "under RULE (R0, R1, R2 of bench/_signal_rules.py; `code`: the code's own), "
                         "as `curator score` writes them (use it on a copy of a scored workspace)")
    ap.add_argument("--no-spare", action="store_true",
                    help="with --signals-rule: do not spare records with a more specific code "
                         "quality.answer_off_prompt (the rule before change P)")
    ap.add_argument("--list-clean", action="store_true",
                    help="list the clean rows flagged, with their flags and text")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    steps: list[tuple[str, ...]] = []
    if not args.baseline:
        steps.append(("signals",))
        if not args.no_semantic:
            steps.append(("dedup", "--semantic"))
        steps.append(("decontaminate", "--against", str(args.data / "eval.jsonl")))
    if args.score is not None:
        steps.append(("score", *(["--model", args.score] if args.score else []),
                      *(["--threads", str(args.threads)] if args.threads else [])))
    rule = None if args.signals_rule is None else (
        None if args.signals_rule == "code" else args.signals_rule, not args.no_spare)
    result = measure(args.data, dedup=not args.no_dedup, steps=tuple(steps), workspace=args.workspace,
                     scored_only=args.scored_only, signals_rule=rule)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{result['rows']} rows" + (f", {result['counted']} counted (scored or rejected)"
                                      if args.scored_only else ""))
    print(f"{'kind':15} {'planted':>7} {'caught':>6} {'recall':>6}")
    for kind, r in result["recall"].items():
        print(f"{kind:15} {r['planted']:7} {r['caught']:6} {r['recall']:6.2f}")
    cf = result["clean_flagged"]
    print(f"clean rows flagged: {cf['flagged']} of {cf['clean']} ({cf['share']:.1%}); "
          f"precision of every flag together: {result['precision_all_flags']}")
    print(f"  of which marked as near duplicates of other clean rows (in the sources): "
          f"{result['clean_duplicates_of_clean']}")
    if result["kept_the_copy"]:
        kept = ", ".join(f"{k} {n}" for k, n in result["kept_the_copy"].items())
        print(f"dedup kept the planted copy and flagged its source: {kept}")
    print(f"\n{'flag':36} {'rows':>5} {'prec.':>5}  kinds")
    for code, c in result["codes"].items():
        kinds = ", ".join(f"{k} {n}" for k, n in c["kinds"].items())
        print(f"{code:36} {c['flagged']:5} {c['precision']:5.2f}  {kinds}")
    if args.list_clean:
        print("\nclean rows flagged:")
        for hit in result["clean_rows_flagged"]:
            dup = f" (duplicate of line {hit['dup_of_line']})" if hit["dup_of_line"] else ""
            print(f"line {hit['line']}: {', '.join(hit['flags'])}{dup}\n    {hit['text'][:200]}")


if __name__ == "__main__":
    main()
