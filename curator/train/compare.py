"""`curator compare A B`: does data set B make a better model than data set A?

Both sets train the same model with the same settings and the same seeds, and both are judged
on one shared holdout that neither trained on. Per holdout example, A's tuned loss minus B's
(summed over the example's trained tokens, averaged over the seeds) is the paired difference;
its token-weighted mean and 95 % bootstrap interval come from `curator.train.verdict.paired_gain`,
the statistics the single-run verdict uses. Positive: B's model is better on data neither saw.

The interval resamples examples, not seeds: the seed average takes most of the seed-to-seed
noise out of each example's difference, and each seed's own mean difference is reported beside
it, so a conclusion that rests on one lucky seed shows.

The shared holdout is A's holdout.jsonl unless `--holdout FILE` names another. A holdout example
whose prompt appears in either set's train or validation split (same turns, ignoring case and
spacing) is left out of the comparison and listed, so neither side is judged on what it saw.

Only the holdout's tuned losses decide, so the runs do the least that gives them: the base model
is evaluated on the shared holdout once per compare and reused by every run (`RunPlan.baseline`;
it is the same model on the same examples whatever the seed or the set; `--fresh-baseline`
evaluates it in each run, with the same result), and validation is not evaluated unless asked
(`--validation`, for each run's own verdict on it). Each run's report.json says what it skipped
and reused (`evaluation`).
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from curator.io import atomic_write_bytes
from curator.train.config import RunPlan, TrainConfig
from curator.train.data import Example, Rejected, Splits, load_data_dir, read_chat_jsonl
from curator.train.errors import UsageError
from curator.train.summary import clock
from curator.train.verdict import EXIT_CODES, FAIL, INCONCLUSIVE, PASS, Gain, paired_gain

COMPARE_SCHEMA = 1
_SPACE = re.compile(r"\s+")

#: what each outcome of the paired A-minus-B gain means for the comparison
_VERDICTS = {"better": PASS, "worse": FAIL}


def prompt_key(example: Example) -> str:
    """The turns before the last assistant answer, case and spacing folded: two examples with
    the same key ask the same thing."""
    messages = [m.model_dump(mode="json", exclude_none=True) for m in example.chat.messages]
    last = max((i for i, m in enumerate(messages) if m.get("role") == "assistant"), default=len(messages))
    shown = [(m.get("role"), _fold(m.get("content"))) for m in messages[:last]]
    return json.dumps(shown, ensure_ascii=False)


def _fold(content: Any) -> str:
    text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False, sort_keys=True)
    return _SPACE.sub(" ", text).strip().lower()


def shared_holdout(a: Splits, b: Splits, holdout: Sequence[Example]) -> tuple[list[Example], list[str]]:
    """The holdout examples neither set saw in train or validation, and where the others are."""
    seen = {prompt_key(e) for s in (a, b) for e in (*s.train, *s.validation)}
    kept = [e for e in holdout if prompt_key(e) not in seen]
    leaked = [e.where for e in holdout if prompt_key(e) in seen]
    return kept, leaked


def load_holdout(path: Path) -> tuple[list[Example], list[Rejected]]:
    if not path.is_file():
        raise UsageError(f"{path}: no such file", fix="pass --holdout FILE.jsonl (chat rows), or leave it out to use A's holdout.jsonl")
    bad: list[Rejected] = []
    rows = list(read_chat_jsonl(path, rejected=bad))
    return rows, bad


@dataclasses.dataclass(frozen=True, slots=True)
class Outcome:
    verdict: str
    gain: Gain
    per_seed: list[dict[str, Any]]
    runs: list[dict[str, Any]]
    leaked: list[str]
    unpaired: int


RunFn = Callable[[TrainConfig, Callable[[], Splits], RunPlan], tuple[dict[str, Any], int]]


def compare(cfg: TrainConfig, a_dir: Path, b_dir: Path, holdout_file: Path | None, seeds: Sequence[int],
            out: Path, run: RunFn, say: Callable[[str], None], validation: bool = False,
            share_baseline: bool = True) -> tuple[dict[str, Any], int]:
    """Train A and B under each seed on the shared holdout; return (report, exit code).
    `validation`: also evaluate each run's validation split (its own verdict; compare's does not
    use it). `share_baseline`: evaluate the base model on the holdout once and reuse it in every
    run (False: in each run, as a lone `curator train` does)."""
    if len(set(seeds)) != len(seeds) or not seeds:
        raise UsageError(f"seeds must be distinct and at least one, got {list(seeds)}")
    if a_dir.resolve() == b_dir.resolve():
        raise UsageError(f"A and B are the same folder ({a_dir})", fix="compare two different data sets")
    sets = {"A": load_data_dir(a_dir), "B": load_data_dir(b_dir)}
    if holdout_file is not None:
        holdout, bad = load_holdout(holdout_file)
        source = str(holdout_file)
    else:
        holdout, bad = sets["A"].holdout, sets["A"].rejected.get("holdout", [])
        source = str(a_dir / "holdout.jsonl")
    kept, leaked = shared_holdout(sets["A"], sets["B"], holdout)
    if leaked:
        say(f"{len(leaked)} holdout example(s) ask what A or B trains on; left out of the comparison: "
            + ", ".join(leaked[:10]) + (" ..." if len(leaked) > 10 else ""))
    if not kept:
        raise UsageError(f"{source}: no holdout example left that neither set trains on",
                         fix="pass --holdout FILE with examples kept apart from both sets")

    runs: list[dict[str, Any]] = []
    losses: dict[str, dict[int, dict[str, tuple[float, int]]]] = {"A": {}, "B": {}}
    baseline: dict[Any, tuple[Any, Any, str]] | None = {} if share_baseline else None
    total, index = 2 * len(seeds), 0
    took: list[float] = []  # seconds each run took, for the time left
    for seed in seeds:
        for name, splits in sets.items():
            index += 1
            shared = dataclasses.replace(splits, holdout=kept,
                                         rejected={k: v for k, v in splits.rejected.items() if k != "holdout"})
            run_cfg = dataclasses.replace(cfg, data=str(a_dir if name == "A" else b_dir), workspace=None,
                                          seed=seed, out=str(out / f"{name}-seed{seed}"),
                                          generate=cfg.generate if seed == seeds[0] else 0)
            label = f"{name} seed {seed}, run {index} of {total}"
            say(f"[{index}/{total}] training {name} ({run_cfg.data}), seed {seed}" + _eta(took, total - index + 1))
            started = time.perf_counter()
            plan = RunPlan(label, validation=validation, baseline=baseline)
            report, code = run(run_cfg, lambda s=shared: s, plan)  # type: ignore[misc]
            took.append(time.perf_counter() - started)
            say(f"[{index}/{total}] {name} seed {seed} done in {clock(took[-1])}: {report.get('verdict')}"
                + _eta(took, total - index))
            evaluation = report.get("evaluation") or {}
            runs.append({"set": name, "seed": seed, "out": run_cfg.out, "verdict": report.get("verdict"),
                         "exit_code": code, "reasons": report.get("reasons", []),
                         "baseline_evaluated": bool(((evaluation.get("baseline") or {}).get("holdout") or {})
                                                    .get("evaluated"))})
            per = (report.get("per_example") or {}).get("holdout")
            if per is None:
                reasons = "; ".join(report.get("reasons", [])) or "no holdout losses in its report"
                raise UsageError(f"the {name} run with seed {seed} stopped before its evaluation: {reasons}",
                                 fix=f"see {run_cfg.out}/summary.txt; fix the data set, then compare again")
            losses[name][seed] = {w: (s, n) for w, s, n in zip(per["where"], per["tuned_loss_sum"], per["tokens"], strict=True)}

    outcome = _judge(losses, seeds, cfg.min_gain, runs, leaked, len(kept))
    report = {
        "schema": COMPARE_SCHEMA, "verdict": outcome.verdict, "a": str(a_dir), "b": str(b_dir),
        "holdout": {"source": source, "examples": len(holdout), "rejected": [str(r) for r in bad],
                    "leaked": outcome.leaked, "paired": outcome.gain.examples, "unpaired": outcome.unpaired},
        "seeds": list(seeds), "gain": outcome.gain.to_dict(), "per_seed": outcome.per_seed, "runs": outcome.runs,
        "evaluation": {"validation": validation, "baseline_shared": share_baseline,
                       "baseline_evaluations": sum(r["baseline_evaluated"] for r in runs)},
        "config": {k: v for k, v in cfg.to_dict().items() if k not in ("data", "workspace", "out", "seed")},
    }
    report["summary"] = summarize(report)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out / "compare.json", (json.dumps(report, indent=2, allow_nan=False) + "\n").encode())
    atomic_write_bytes(out / "summary.txt", (report["summary"] + "\n").encode())
    return report, EXIT_CODES[outcome.verdict]


def _judge(losses: dict[str, dict[int, dict[str, tuple[float, int]]]], seeds: Sequence[int], min_gain: float,
           runs: list[dict[str, Any]], leaked: list[str], kept: int) -> Outcome:
    # Only examples every run evaluated are paired (a run can drop an over-long one).
    tables = [losses[name][seed] for name in ("A", "B") for seed in seeds]
    common = sorted(set.intersection(*(set(t) for t in tables)), key=_where_order)
    a_sums, b_sums, tokens = [], [], []
    for w in common:
        counts = {t[w][1] for t in tables}
        if len(counts) != 1:
            raise AssertionError(f"{w}: trained-token counts differ between runs ({sorted(counts)})")
        a_sums.append(_mean(losses["A"][s][w][0] for s in seeds))
        b_sums.append(_mean(losses["B"][s][w][0] for s in seeds))
        tokens.append(counts.pop())
    gain = paired_gain(a_sums, b_sums, tokens, min_gain=min_gain)
    per_seed = []
    for s in seeds:
        g = paired_gain([losses["A"][s][w][0] for w in common], [losses["B"][s][w][0] for w in common], tokens,
                        min_gain=min_gain)
        per_seed.append({"seed": s, "mean_gain": g.mean, "ci_low": g.low, "ci_high": g.high})
    verdict = _VERDICTS.get(gain.outcome, INCONCLUSIVE)
    return Outcome(verdict, gain, per_seed, runs, leaked, kept - len(common))


def _eta(took: Sequence[float], left: int) -> str:
    """"; about N left" at the pace of the runs so far. The first run also evaluates the base
    model on the holdout, which the later ones reuse, so once there are later ones they set it."""
    if not took or left <= 0:
        return ""
    later = took[1:] or took
    pace = sum(later) / len(later)
    return f"; about {clock(pace * left)} left for {left} run(s)"


def _where_order(where: str) -> tuple[str, int]:
    path, _, line = where.rpartition(":")
    return (path, int(line)) if line.isdigit() else (where, 0)


def _mean(values: Iterable[float]) -> float:
    v = list(values)
    return sum(v) / len(v)


def summarize(report: dict[str, Any]) -> str:
    g = report["gain"]
    lines = [f"compare: {report['verdict']}  (B = {report['b']} against A = {report['a']})"]
    if g["mean_gain"] is None:
        lines.append("no paired holdout example with trained tokens")
    else:
        interval = (f"95% interval [{g['ci_low']:+.4f}, {g['ci_high']:+.4f}]" if g["ci_low"] is not None
                    else f"no interval: fewer than {g['min_examples']} examples")
        lines.append(f"holdout loss, A minus B: {g['mean_gain']:+.4f} nats/token, {interval}, "
                     f"{g['examples']} examples, {g['tokens']} tokens, {len(report['seeds'])} seed(s)")
    for s in report["per_seed"]:
        if s["mean_gain"] is not None:
            lines.append(f"  seed {s['seed']}: {s['mean_gain']:+.4f}")
    signs = {s["mean_gain"] > 0 for s in report["per_seed"] if s["mean_gain"] is not None}
    if len(signs) > 1:
        lines.append("warning: the seeds disagree on which set is better; add seeds (--seeds) before trusting it")
    h = report["holdout"]
    if h["leaked"]:
        lines.append(f"left out: {len(h['leaked'])} holdout example(s) that A or B trains on")
    if h["unpaired"]:
        lines.append(f"left out: {h['unpaired']} holdout example(s) some run did not evaluate (over its length limit)")
    ev = report.get("evaluation")
    if ev:
        lines.append(f"base model evaluated on the holdout {ev['baseline_evaluations']} time(s) for {len(report['runs'])} runs"
                     + ("" if ev["validation"] else "; validation not evaluated (--validation does)"))
    meaning = {PASS: "B's model is better on the holdout, beyond the noise",
               FAIL: "B's model is worse on the holdout, beyond the noise",
               INCONCLUSIVE: {"too small": "B is better but by less than --min-gain of the loss",
                              "no difference": "no difference beyond the noise: more holdout examples or seeds would decide",
                              "too few examples": "too few holdout examples for an interval (at least 10)"}.get(g["outcome"], "")}
    lines.append(str(meaning[report["verdict"]]))
    return "\n".join(lines)
