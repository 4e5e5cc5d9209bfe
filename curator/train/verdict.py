"""The verdict: is the tuned model better than the base model on examples it never saw?

No torch here; numpy only, so the statistics are tested on synthetic numbers.

* `paired_gain`: per example, the base model's summed loss minus the tuned model's on the same
  trained tokens. The gain is **token-weighted**: sum of differences over sum of trained tokens,
  which is exactly "baseline loss minus tuned loss" as the report prints them (mean nats per
  trained token). Its 95 % confidence interval is a percentile bootstrap over examples (the
  example is the unit that is resampled, with its tokens; a fixed seed, 10,000 resamples), so a
  long example counts for its tokens but its tokens are not treated as independent.
* `trend`: the training loss judged on a fitted line through the per-step losses, not on two
  raw batches: "fell" when the line ends below where it starts; "diverged" when it rises by
  more than a quarter of its start.
* `degenerate`: repetition loops in a generation (a word or short phrase repeated back to back,
  or few distinct word pairs), reported as a warning.
* `decide`: PASS when the interval is above zero on validation and on holdout and the gain is
  at least 1 % of the baseline loss (a significant millionth of a nat is no gain), and training
  did not diverge; FAIL when training diverged or the tuned model is significantly worse on either;
  INCONCLUSIVE otherwise, with what would decide it.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

PASS, FAIL, INCONCLUSIVE = "PASS", "FAIL", "INCONCLUSIVE"
#: exit code of each verdict (2 stays for usage and input errors)
EXIT_CODES = {PASS: 0, FAIL: 1, INCONCLUSIVE: 3}

MIN_EXAMPLES = 10  # fewer paired examples than this: no interval, INCONCLUSIVE
RESAMPLES = 10_000
LEVEL = 0.95
SEED = 0
DIVERGE_RISE = 0.25  # the fitted training-loss line rises by over a quarter of its start
#: a gain under 1 % of the baseline loss does not count, however significant: a paired test
#: finds a consistent shift of a millionth of a nat "significant", and that says nothing.
MIN_GAIN = 0.01


@dataclass(frozen=True, slots=True)
class Gain:
    """The paired comparison on one split, in nats per trained token (positive: tuned is better)."""

    examples: int
    tokens: int
    mean: float | None  # token-weighted: (sum base - sum tuned) / sum tokens
    low: float | None  # the interval; None with too few examples
    high: float | None
    baseline: float | None = None  # the base model's loss on these tokens (nats/token)
    min_gain: float = MIN_GAIN  # the smallest gain that counts, as a share of `baseline`

    @property
    def floor(self) -> float:
        """The smallest gain that counts, in nats per token."""
        return self.min_gain * abs(self.baseline or 0.0)

    @property
    def outcome(self) -> str:
        """better | worse | too small | no difference | too few examples."""
        if self.low is None or self.high is None or self.mean is None:
            return "too few examples"
        if self.low > 0:
            return "better" if self.mean >= self.floor else "too small"
        if self.high < 0:
            return "worse"
        return "no difference"

    def to_dict(self) -> dict[str, Any]:
        return {"examples": self.examples, "tokens": self.tokens, "mean_gain": self.mean,
                "ci_low": self.low, "ci_high": self.high, "level": LEVEL, "resamples": RESAMPLES,
                "seed": SEED, "weighting": "token", "min_examples": MIN_EXAMPLES,
                "baseline_loss": self.baseline, "min_gain": self.min_gain, "min_gain_nats": self.floor,
                "outcome": self.outcome}


def paired_gain(base_sums: Sequence[float], tuned_sums: Sequence[float], tokens: Sequence[int],
                resamples: int = RESAMPLES, seed: int = SEED, level: float = LEVEL,
                min_examples: int = MIN_EXAMPLES, min_gain: float = MIN_GAIN) -> Gain:
    """Token-weighted mean of (base - tuned) per trained token, with a percentile bootstrap
    interval over examples. Examples with no trained token carry no information and are left out."""
    b = np.asarray(base_sums, dtype=np.float64)
    t = np.asarray(tuned_sums, dtype=np.float64)
    n = np.asarray(tokens, dtype=np.float64)
    if not (len(b) == len(t) == len(n)):
        raise ValueError("base, tuned and token lists differ in length")
    keep = n > 0
    d, n = (b - t)[keep], n[keep]
    count, total = len(d), int(n.sum())
    if count == 0 or not np.all(np.isfinite(d)):
        return Gain(count, total, None, None, None, None, min_gain)
    mean = float(d.sum() / n.sum())
    base = float(b[keep].sum() / n.sum())
    if count < min_examples:
        return Gain(count, total, mean, None, None, base, min_gain)
    rng = np.random.default_rng(seed)
    stats = np.empty(resamples, dtype=np.float64)
    chunk = max(1, 4_000_000 // count)  # resample indices in blocks: memory stays flat
    for start in range(0, resamples, chunk):
        size = min(chunk, resamples - start)
        idx = rng.integers(0, count, size=(size, count))
        stats[start:start + size] = d[idx].sum(axis=1) / n[idx].sum(axis=1)
    alpha = (1.0 - level) / 2
    low, high = np.quantile(stats, [alpha, 1.0 - alpha])
    return Gain(count, total, mean, float(low), float(high), base, min_gain)


def needed_examples(g: Gain) -> int | None:
    """Roughly how many examples would put this effect's interval above zero (the half-width
    shrinks with the square root of the count); None when there is no gain to confirm."""
    if g.mean is None or g.low is None or g.high is None or g.mean <= 0:
        return None
    half = (g.high - g.low) / 2
    if half <= 0:
        return None
    return max(g.examples + 1, math.ceil(g.examples * (half / g.mean) ** 2 * 1.1))


@dataclass(frozen=True, slots=True)
class Trend:
    steps: int
    start: float | None  # the fitted line at the first and at the last step
    end: float | None
    fell: bool
    diverged: bool
    non_finite: bool

    def to_dict(self) -> dict[str, Any]:
        return {"method": "least-squares line through the per-step losses", "steps": self.steps,
                "fitted_start": self.start, "fitted_end": self.end, "fell": self.fell,
                "diverged": self.diverged, "non_finite": self.non_finite}


def trend(losses: Sequence[float | None], rise: float = DIVERGE_RISE) -> Trend:
    """The training loss on a fitted line: batch-to-batch noise does not decide it."""
    values = [math.nan if x is None else float(x) for x in losses]
    non_finite = any(not math.isfinite(x) for x in values)
    if non_finite or len(values) < 3:
        return Trend(len(values), None, None, False, non_finite, non_finite)
    y = np.asarray(values)
    x = np.arange(len(y), dtype=np.float64)
    slope, intercept = np.polyfit(x, y, 1)
    start, end = float(intercept), float(intercept + slope * (len(y) - 1))
    diverged = end - start > rise * abs(start)
    return Trend(len(values), start, end, end < start, diverged, False)


_WORD = re.compile(r"\w+")
_CHAR_LOOP = re.compile(r"(\S{1,12}?)\1{3,}")


def degenerate(text: str) -> str | None:
    """Why a generation looks like a repetition loop, or None.

    A word repeated three times back to back, a phrase of 2 to 4 words repeated three times back
    to back, a short character run repeated four times ("abababab"), or, in a text of 12 words or
    more, fewer than half of its word pairs distinct."""
    words = _WORD.findall(text.lower())
    for n in (1, 2, 3, 4):
        for i in range(0, len(words) - 3 * n + 1):
            unit = words[i:i + n]
            if words[i + n:i + 2 * n] == unit and words[i + 2 * n:i + 3 * n] == unit:
                return f"repeats {' '.join(unit)!r} back to back"
    m = _CHAR_LOOP.search(text)
    if m and any(c.isalnum() for c in m.group(1)):
        return f"repeats {m.group(1)!r} back to back"
    if len(words) >= 12:
        pairs = list(itertools.pairwise(words))
        ratio = len(set(pairs)) / len(pairs)
        if ratio < 0.5:
            return f"only {ratio:.0%} of its word pairs are distinct"
    return None


@dataclass
class Decision:
    verdict: str
    reasons: list[str] = field(default_factory=list)  # why FAIL or INCONCLUSIVE
    next_steps: list[str] = field(default_factory=list)  # what would decide an INCONCLUSIVE


def fmt_gain(name: str, g: Gain) -> str:
    if g.mean is None:
        return f"{name}: no paired examples with trained tokens"
    ci = (f"95% CI [{g.low:+.4f}, {g.high:+.4f}]" if g.low is not None and g.high is not None
          else f"no interval (fewer than {MIN_EXAMPLES} examples)")
    return (f"{name}: gain {g.mean:+.4f} nats/token, {ci}, {g.examples} examples, {g.tokens:,} tokens"
            f" ({g.outcome})")


def decide(gains: dict[str, Gain], tr: Trend, planned_steps: int) -> Decision:
    """The verdict from the paired gains on validation and holdout and the training trend."""
    reasons: list[str] = []
    if tr.non_finite:
        reasons.append("training diverged: the loss became NaN/Inf")
    elif tr.diverged:
        reasons.append(f"training diverged: the fitted training loss rose from {tr.start:.3f} to {tr.end:.3f}")
    worse = [n for n, g in gains.items() if g.outcome == "worse"]
    for n in worse:
        reasons.append(f"the tuned model is significantly worse on {n}: {fmt_gain(n, gains[n])}")
    if reasons:
        return Decision(FAIL, reasons)
    if all(g.outcome == "better" for g in gains.values()):
        return Decision(PASS)
    steps: list[str] = []
    for n, g in gains.items():
        if g.outcome == "better":
            continue
        if g.outcome == "too few examples":
            reasons.append(f"{n} has {g.examples} example(s) with trained tokens: an interval needs at least {MIN_EXAMPLES}")
            steps.append(f"add {n} examples (at least {MIN_EXAMPLES}; more give a narrower interval)")
            continue
        if g.outcome == "too small":
            reasons.append(f"the gain on {n} is significant but too small to count (under {g.min_gain:.0%} of the "
                           f"baseline loss, {g.floor:.4f} nats/token): {fmt_gain(n, g)}")
            steps.append(f"{n}: train longer (--steps, now {planned_steps}) or with a higher --lr for a gain that counts")
            continue
        reasons.append(f"no significant difference on {n}: {fmt_gain(n, g)}")
        need = needed_examples(g)
        if need is not None:
            steps.append(f"{n}: about {need} examples would make a gain of this size significant, "
                         f"or train longer (--steps, now {planned_steps}) for a larger gain")
        else:
            steps.append(f"{n}: no gain measured; train longer (--steps, now {planned_steps}) or check the data")
    if not tr.fell and tr.start is not None:
        steps.append("the fitted training loss did not fall: more steps or a higher --lr")
    return Decision(INCONCLUSIVE, reasons, steps)
