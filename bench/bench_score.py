"""`curator score` against a bare forward loop of the same model, and how well the scores rank
planted bad answers.

    python bench/gen_planted.py --out /tmp/planted --clean 200 --per-kind 10 --seed 0 --shared ../shared/data
    python bench/bench_score.py --data /tmp/planted [--rows 320] [--model tiny] [--threads N] [--repeat R]
    python bench/bench_score.py --data /tmp/planted --rank-only WS   # rank a workspace scored by hand
    python bench/bench_score.py --data /tmp/planted --rank-only WS --rules R0,R1,R2   # signals per rule

1. Imports DATA/data.jsonl (its first --rows rows) into a fresh workspace.
2. Bare loop, in a child process: the model (fp32 on a CPU, the same threads) runs a plain
   `model(input_ids).logits` forward pass over exactly the token sequences `score` builds (each
   record's prompted and answer-alone sequence, tokenized before the clock starts), one sequence
   at a time (no padding: every token is real). Tokens/s = real tokens / time. With --bare-rows N,
   over the first N records' sequences only (the set is shuffled, so their lengths are typical).
3. `curator score -w WS --json` in a child process: its own tokens/s and records/s (wall time of
   the scoring, model load excluded), peak RSS (bench/_child_rusage.py).
4. Ranking: with bench/gen_planted.py's truth.jsonl, the recall of each planted kind among the top
   k records by IFD (highest first; k = the wrong and swapped answers scored, and twice that), and
   by end probability (lowest first; k = the truncated answers scored, and twice that).

The two timed parts run one after the other on the same machine (--repeat R alternates them R
times, each on a fresh workspace); the load average is printed with each, since other work on the
machine moves both.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def _child(cmd: list[str], env: dict[str, str]) -> tuple[str, dict[str, Any]]:
    out = subprocess.run([sys.executable, str(HERE / "_child_rusage.py"), *cmd], capture_output=True, text=True,
                         env=env, check=False)
    usage = json.loads(out.stderr.strip().splitlines()[-1])
    if out.returncode not in (0, 1):
        raise SystemExit(f"{cmd}: exit {out.returncode}\n{out.stderr[-2000:]}")
    return out.stdout, usage


def bare(ws: str, model: str | None, threads: int, rows: int | None) -> None:
    """The bare loop (run in a child): prints {"tokens", "seconds", "sequences"} as JSON."""
    import torch

    from curator.train import models
    from curator.train.score import Item, Scorer
    from curator.workspace import Workspace
    from curator.workspace import scores as store

    scorer = Scorer(models.resolve_model(model), "cpu", threads)
    with Workspace.open(ws) as w:
        todo = store.pending(w, scorer.name, limit=rows)
        items = [scorer.prepare(rid, text, digest) for rid, text, digest in store.texts(w, todo.ids)]
    seqs = [torch.tensor([s]) for it in items if isinstance(it, Item) for s in (it.prompted, it.alone)]
    model_ = scorer.model
    with torch.inference_mode():
        model_(seqs[0])  # warm-up
        start = time.perf_counter()
        for x in seqs:
            model_(input_ids=x).logits  # noqa: B018  (the forward pass is the work)
        seconds = time.perf_counter() - start
    print(json.dumps({"tokens": sum(int(x.shape[1]) for x in seqs), "seconds": seconds, "sequences": len(seqs),
                      "threads": scorer.threads}))


def ranking(ws: str, truth_path: Path) -> dict[str, Any]:
    """Recall of the planted kinds among the top k by an order, for k = the number of rows of the
    target kinds that were scored and twice that; precision is over the target kinds together."""
    truth = {int(t["line"]): t["kind"] for t in map(json.loads, truth_path.read_text().splitlines())}
    conn = sqlite3.connect(f"file:{ws}?mode=ro", uri=True)
    rows = conn.execute("SELECT r.source_line, s.ifd, s.end_prob FROM scores s JOIN records r ON r.id = s.record_id "
                        "WHERE s.ifd IS NOT NULL").fetchall()
    conn.close()
    kinds = [truth[line] for line, _, _ in rows]
    count = {k: kinds.count(k) for k in sorted(set(kinds))}
    orders = {
        "highest_ifd": [truth[line] for line, _, _ in sorted(rows, key=lambda r: -r[1])],
        "lowest_end_prob": [truth[line] for line, _, _ in sorted(rows, key=lambda r: (r[2] if r[2] is not None else 2.0))],
    }
    out: dict[str, Any] = {"scored_rows": len(rows), "kinds_scored": count}
    for order_name, targets in (("highest_ifd", ("wrong", "swapped")), ("lowest_end_prob", ("truncated",))):
        order = orders[order_name]
        planted = sum(count.get(k, 0) for k in targets)
        res: dict[str, Any] = {"targets": list(targets), "planted": planted}
        for mult in (1, 2):
            k = planted * mult
            top = order[:k]
            res[f"top_{k}"] = {
                "precision": round(sum(x in targets for x in top) / k, 3) if k else None,
                "recall": {kind: round(top.count(kind) / count[kind], 3)
                           for kind in ("wrong", "swapped", "truncated", "placeholder", "prompt_repeat", "same_answer")
                           if count.get(kind)},
                "clean_in_top": top.count("clean")}
        out[order_name] = res
    out["signals"] = signals(ws, truth)
    return out


#: planted kinds whose answer is no answer to its prompt (another row's answer, a stub, the prompt
#: itself): the second reading of `quality.answer_off_prompt`'s precision
NOT_AN_ANSWER = ("wrong", "swapped", "conflict", "same_answer", "placeholder", "prompt_repeat")


def signals(ws: str, truth: dict[int, str], rule: str | None = None, spare: bool = True) -> dict[str, Any]:
    """Precision and recall of the issue codes `curator score` writes (curator/quality/
    score_signals.py), recomputed from the stored numbers (and the record's other issue codes),
    so a workspace scored before they existed is measured too; under `rule` and with or without
    sparing records with a more specific code (bench/_signal_rules.py). Precision: the share of
    flagged rows of the target kinds, of the kinds whose answer is no answer to its prompt
    (answer_off_prompt only), and of any planted kind; recall: per target kind, over the rows of
    that kind that were scored."""
    from _signal_rules import applied

    from curator.quality.score_signals import SIGNAL_CODES, score_signals
    from curator.workspace.scores import _last_answer

    conn = sqlite3.connect(f"file:{ws}?mode=ro", uri=True)
    rows = conn.execute("SELECT r.id, r.source_line, coalesce(r.current, r.canonical), s.ifd, s.loss_prompted, "
                        "s.loss_alone, s.end_prob FROM scores s JOIN records r ON r.id = s.record_id "
                        "WHERE s.ifd IS NOT NULL").fetchall()
    other: dict[int, set[str]] = {}
    for rid, code in conn.execute("SELECT record_id, code FROM issues"):
        if code not in SIGNAL_CODES:
            other.setdefault(rid, set()).add(code)
    conn.close()
    kinds = [truth[r[1]] for r in rows]
    flagged: dict[str, list[str]] = {"quality.answer_off_prompt": [], "quality.answer_cut_off": []}
    with applied(rule, spare):
        for (rid, _, text, *numbers), kind in zip(rows, kinds, strict=True):
            found = _last_answer(text)
            for code, _why in score_signals(found[1] if found else "", *numbers,
                                            other_codes=other.get(rid, set())):
                flagged[code].append(kind)
    out: dict[str, Any] = {}
    for code, targets in (("quality.answer_off_prompt", ("wrong", "swapped")), ("quality.answer_cut_off", ("truncated",))):
        got = flagged[code]
        out[code] = {"flagged": len(got), "targets": list(targets),
                     "precision": round(sum(k in targets for k in got) / len(got), 3) if got else None,
                     "precision_any_planted": round(sum(k != "clean" for k in got) / len(got), 3) if got else None,
                     "recall": {k: round(got.count(k) / kinds.count(k), 3) for k in targets if kinds.count(k)},
                     "caught": {k: f"{got.count(k)}/{kinds.count(k)}" for k in targets},
                     "clean_flagged": f"{got.count('clean')}/{kinds.count('clean')}",
                     "by_kind": {k: got.count(k) for k in sorted(set(got))}}
        if code == "quality.answer_off_prompt":
            out[code]["precision_not_an_answer"] = (
                round(sum(k in NOT_AN_ANSWER for k in got) / len(got), 3) if got else None)
    return out


def by_rule(ws: str, truth_path: Path, rules: list[str]) -> dict[str, Any]:
    """`signals` under each named rule, with and without sparing records with a more specific
    code: {"R0": {"spare": ..., "no_spare": ...}, ...}."""
    truth = {int(t["line"]): t["kind"] for t in map(json.loads, truth_path.read_text().splitlines())}
    return {rule: {"spare": signals(ws, truth, rule, True), "no_spare": signals(ws, truth, rule, False)}
            for rule in rules}


def timed_pair(args: argparse.Namespace, threads: int, env: dict[str, str], tmp: str, rep: int) -> tuple[dict[str, Any], str]:
    """One side-by-side measurement on a fresh workspace: the bare loop, then `curator score`."""
    model = ["--model", args.model] if args.model else []
    src = Path(tmp) / "data.jsonl"
    ws = str(Path(tmp) / f"w{rep}.db")
    subprocess.run([sys.executable, "-m", "curator", "import", str(src), "-w", ws], env=env, check=False,
                   capture_output=True)
    load_bare = os.getloadavg()[0]
    out, bare_usage = _child([sys.executable, str(Path(__file__).resolve()), "--bare", ws, *model,
                              "--threads", str(threads),
                              *(["--bare-rows", str(args.bare_rows)] if args.bare_rows else [])], env)
    bare_res = json.loads(out.strip().splitlines()[-1])
    load_score = os.getloadavg()[0]
    out, score_usage = _child([sys.executable, "-m", "curator", "score", "-w", ws, *model, "--json",
                               "--threads", str(threads)], env)
    score_res = json.loads(out)
    bare_tps = bare_res["tokens"] / bare_res["seconds"]
    return {
        "bare": {"tokens": bare_res["tokens"], "seconds": round(bare_res["seconds"], 1),
                 "tokens_per_second": round(bare_tps, 1), "peak_rss_mb": bare_usage["max_rss_mb"],
                 "load_average_before": round(load_bare, 2)},
        "score": {"records": score_res["scored"] + sum(u["count"] for u in score_res["unscored"]),
                  "tokens": score_res["tokens"], "seconds": score_res["seconds"],
                  "tokens_per_second": score_res["tokens_per_second"],
                  "records_per_second": score_res["records_per_second"],
                  "peak_rss_mb": score_usage["max_rss_mb"], "load_average_before": round(load_score, 2),
                  "unscored": score_res["unscored"]},
        "score_vs_bare": round(score_res["tokens_per_second"] / bare_tps, 3) if score_res["tokens_per_second"] else None,
    }, ws


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, help="a folder bench/gen_planted.py wrote")
    ap.add_argument("--rows", type=int, default=320)
    ap.add_argument("--model", default=None, help="as for `curator score` (default: the SmolLM2 default)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads for both (default: usable cores)")
    ap.add_argument("--repeat", type=int, default=1, help="side-by-side measurements, one after the other")
    ap.add_argument("--bare-rows", type=int, default=None,
                    help="run the bare loop on the sequences of the first N records only (tokens/s is compared)")
    ap.add_argument("--rank-only", metavar="WS",
                    help="only rank: a workspace of DATA/data.jsonl that `curator score` has scored (all or part)")
    ap.add_argument("--rules", default=None, metavar="R0,R1,...",
                    help="with --rank-only: only the model signals, under each named rule of "
                         "bench/_signal_rules.py, with and without sparing records with a more "
                         "specific code")
    ap.add_argument("--bare", metavar="WS", help=argparse.SUPPRESS)  # the child's part
    args = ap.parse_args()
    if args.bare:
        bare(args.bare, args.model, args.threads, args.bare_rows)
        return
    if args.data is None:
        ap.error("--data is required")
    if args.rank_only and args.rules:
        print(json.dumps(by_rule(args.rank_only, args.data / "truth.jsonl", args.rules.split(",")), indent=2))
        return
    if args.rank_only:
        print(json.dumps(ranking(args.rank_only, args.data / "truth.jsonl"), indent=2))
        return
    from curator.train.score import usable_cores

    threads = args.threads or usable_cores()
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    with tempfile.TemporaryDirectory() as tmp:
        lines = (args.data / "data.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)[: args.rows]
        (Path(tmp) / "data.jsonl").write_text("".join(lines), encoding="utf-8")
        runs = []
        ws = ""
        for rep in range(args.repeat):
            pair, ws = timed_pair(args, threads, env, tmp, rep)
            runs.append(pair)
            print(json.dumps(pair), file=sys.stderr)
        result: dict[str, Any] = {"rows": len(lines), "model": args.model or "default", "threads": threads,
                                  "cores": usable_cores(), "runs": runs}
        truth = args.data / "truth.jsonl"
        if truth.is_file():
            result["ranking"] = ranking(ws, truth)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
