"""The human summary of a run's report (no torch: it reads report.json's dict)."""

from __future__ import annotations

from typing import Any

from curator.train.verdict import MIN_EXAMPLES, Gain, fmt_gain


def _gain(d: dict[str, Any]) -> Gain:
    return Gain(d["examples"], d["tokens"], d["mean_gain"], d["ci_low"], d["ci_high"], d["baseline_loss"], d["min_gain"])


def loss_lines(training: dict[str, Any], what: str) -> list[str]:
    """The training loss read from its fitted line, with the first and last step beside it."""
    finite = [x for x in training["losses"] if x is not None]
    tr = training.get("trend") or {}
    if tr.get("fitted_start") is not None:
        return [f"{what} (fitted line over {tr['steps']} steps): {tr['fitted_start']:.4f} -> "
                f"{tr['fitted_end']:.4f}; first and last step {finite[0]:.4f} -> {finite[-1]:.4f}"]
    return [f"{what}: {finite[0]:.4f} -> {finite[-1]:.4f}"] if finite else []


def clock(seconds: float) -> str:
    """12 s, 4 min 05 s, 1 h 02 min: how long, for progress lines."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


def summarize(rep: dict[str, Any]) -> str:
    """The human summary; its last line is the verdict."""
    out = [f"model: {rep['model']['spec']} ({rep['model']['kind']}, {rep['model']['quant']}, "
           f"{rep['model']['device']}, {rep['model']['compute_dtype']}, chat template: {rep['model']['chat_template']})"]
    t = rep.get("training")
    if t:
        out.append(f"training: {t['steps']}/{t['planned_steps']} steps, batch {t['batch_size']}, "
                   f"{t['seconds_per_step']:.2f} s/step, {t['tokens_per_second']:,.0f} tokens/s, "
                   f"peak memory {t['peak_memory_mb']:,.0f} MiB")
        out.extend(loss_lines(t, "train loss"))
    if "baseline" in rep and "tuned" in rep:
        out.append(f"{'':12}{'baseline loss':>14}{'tuned loss':>12}{'ppl':>16}{'token acc':>18}")
        for name in ("validation", "holdout"):
            if name not in rep["tuned"]:  # a compare run skips validation unless --validation
                continue
            b, a = rep["baseline"][name], rep["tuned"][name]
            out.append(f"{name:12}{b['loss']:>14.4f}{a['loss']:>12.4f}"
                       f"{b['perplexity']:>8.2f}->{a['perplexity']:<7.2f}"
                       f"{b['token_accuracy']:>9.3f}->{a['token_accuracy']:.3f}")
    for g in rep.get("generations", []):
        out.append(f"--- {g['source']}")
        out.append(f"  reference: {g['reference']}")
        out.append(f"  before:    {g['before']}")
        out.append(f"  after:     {g['after']}")
    if rep.get("review_queue"):
        out.append(f"review queue: {rep['review_queue']['count']} highest-loss examples in {rep['review_queue']['path']}")
    for name, g in (rep.get("comparison") or {}).items():
        out.append(fmt_gain(name, _gain(g)))
    if rep.get("comparison"):
        out.append(f"  (gain: baseline minus tuned loss per trained token on the same tokens, token-weighted; "
                   f"95% bootstrap interval over examples, 10,000 resamples, seed 0; no interval under {MIN_EXAMPLES} "
                   f"examples; a gain counts from {rep['config']['min_gain']:.0%} of the baseline loss)")
    for skipped in (rep.get("evaluation") or {}).get("skipped", []):
        out.append(f"skipped: {skipped}")
    for name, b in ((rep.get("evaluation") or {}).get("baseline") or {}).items():
        if not b["evaluated"]:
            out.append(f"baseline on {name}: reused from {b['from']} (the base model is evaluated once per compare)")
    for w in rep.get("warnings", []):
        out.append(f"warning: {w}")
    for step in rep.get("next_steps", []):
        out.append(f"to decide: {step}")
    verdict = rep["verdict"]
    judged = " and ".join((rep.get("evaluation") or {}).get("splits", ["validation", "holdout"]))
    why = "; ".join(rep["reasons"]) if rep["reasons"] else \
        f"the tuned model is significantly better than the baseline on {judged} (interval above zero)"
    out.append(f"VERDICT: {verdict}: {why}")
    return "\n".join(out) + "\n"
