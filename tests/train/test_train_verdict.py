"""The verdict's statistics on synthetic per-example numbers (no model, no torch)."""

from __future__ import annotations

import numpy as np
import pytest

from curator.train.verdict import (
    EXIT_CODES,
    FAIL,
    INCONCLUSIVE,
    MIN_EXAMPLES,
    PASS,
    decide,
    degenerate,
    paired_gain,
    trend,
)


def synthetic(n: int, gain_per_token: float, noise: float, seed: int = 1) -> tuple[list[float], list[float], list[int]]:
    """n examples of 5..40 trained tokens; the tuned model's summed loss is the base's minus
    gain_per_token per token, plus per-example noise (nats per token, scaled by the tokens)."""
    rng = np.random.default_rng(seed)
    tokens = rng.integers(5, 41, size=n)
    base = tokens * rng.uniform(2.0, 4.0, size=n)
    tuned = base - tokens * (gain_per_token + rng.normal(0.0, noise, size=n))
    return base.tolist(), tuned.tolist(), tokens.tolist()


def test_an_obvious_gain_has_an_interval_above_zero() -> None:
    g = paired_gain(*synthetic(40, 0.3, 0.2))
    assert g.examples == 40 and g.low is not None and g.high is not None
    assert 0 < g.low < g.mean < g.high  # type: ignore[operator]
    assert g.mean == pytest.approx(0.3, abs=0.1)
    assert g.outcome == "better"


def test_pure_noise_has_an_interval_that_includes_zero() -> None:
    g = paired_gain(*synthetic(40, 0.0, 0.3, seed=7))
    assert g.low is not None and g.high is not None
    assert g.low < 0 < g.high and g.outcome == "no difference"


def test_a_worse_model_has_an_interval_below_zero() -> None:
    g = paired_gain(*synthetic(40, -0.3, 0.2))
    assert g.high is not None and g.high < 0 and g.outcome == "worse"


def test_the_mean_is_token_weighted_and_equals_the_difference_of_reported_losses() -> None:
    base, tuned, tokens = synthetic(30, 0.1, 0.5)
    g = paired_gain(base, tuned, tokens)
    assert g.tokens == sum(tokens)
    assert g.mean == pytest.approx(sum(base) / sum(tokens) - sum(tuned) / sum(tokens))
    # a fixed seed: the same numbers give the same interval
    assert paired_gain(base, tuned, tokens) == g


def test_too_few_examples_give_no_interval() -> None:
    g = paired_gain(*synthetic(MIN_EXAMPLES - 1, 0.5, 0.01))
    assert g.mean is not None and g.mean > 0
    assert g.low is None and g.high is None and g.outcome == "too few examples"
    # examples without trained tokens do not count
    base, tuned, tokens = synthetic(MIN_EXAMPLES, 0.5, 0.01)
    tokens[0], base[0], tuned[0] = 0, 0.0, 0.0
    assert paired_gain(base, tuned, tokens).examples == MIN_EXAMPLES - 1


def _flat(n: int = 10) -> list[float]:
    return [2.0 + 0.05 * ((-1) ** i) for i in range(n)]


def test_decide_pass_fail_inconclusive() -> None:
    better, noise, worse = paired_gain(*synthetic(40, 0.3, 0.2)), paired_gain(*synthetic(40, 0.0, 0.3, seed=7)), \
        paired_gain(*synthetic(40, -0.3, 0.2))
    falling = trend([3.0, 2.9, 2.6, 2.7, 2.3, 2.2])
    assert decide({"validation": better, "holdout": better}, falling, 10).verdict == PASS
    d = decide({"validation": better, "holdout": noise}, falling, 10)
    assert d.verdict == INCONCLUSIVE and any("holdout" in s for s in d.next_steps)
    d = decide({"validation": better, "holdout": worse}, falling, 10)
    assert d.verdict == FAIL and "significantly worse on holdout" in d.reasons[0]
    few = paired_gain(*synthetic(5, 0.5, 0.01))
    d = decide({"validation": better, "holdout": few}, falling, 10)
    assert d.verdict == INCONCLUSIVE and f"at least {MIN_EXAMPLES}" in d.next_steps[0]
    # a diverging run fails even with gains measured
    rising = trend([1.0, 1.2, 1.5, 1.9, 2.4, 3.0])
    assert rising.diverged
    assert decide({"validation": better, "holdout": better}, rising, 10).verdict == FAIL
    nan = trend([1.0, float("nan")])
    assert decide({"validation": better, "holdout": better}, nan, 10).verdict == FAIL
    assert EXIT_CODES == {PASS: 0, FAIL: 1, INCONCLUSIVE: 3}


def test_trend_reads_a_noisy_falling_curve_as_falling() -> None:
    # The shape issue 13 reports: raw batches at the ends say "did not fall" (the last batch is
    # above the first; the first and last quarters have the same mean), the curve fell.
    losses = [2.0, 2.3, 2.7, 2.6, 2.5, 2.4, 2.3, 2.2, 2.1, 2.2]
    assert losses[-1] > losses[0] and sum(losses[-2:]) >= sum(losses[:2]) - 1e-9
    tr = trend(losses)
    assert tr.fell and not tr.diverged
    assert not trend(_flat()).diverged


def test_degenerate_generations_are_detected() -> None:
    assert degenerate("chain-worn-out-of-the-car-cycle-cycle-cycle") is not None
    assert degenerate("the bike the bike the bike is here") is not None
    assert degenerate("ababababababab") is not None
    assert degenerate("Arr, matey! Ye be askin' a fine question.") is None
    assert degenerate("Check the brake pads first; if they are worn, replace them and adjust the cable.") is None
    assert degenerate("") is None


def test_a_consistent_but_negligible_shift_does_not_pass() -> None:
    # Every example 1e-6 nats/token better: "significant", and meaningless (issue 13: PASS on noise).
    base, _, tokens = synthetic(40, 0.0, 0.0)
    tuned = [b - 1e-6 * n for b, n in zip(base, tokens, strict=True)]
    g = paired_gain(base, tuned, tokens)
    assert g.low is not None and g.low > 0 and g.outcome == "too small"
    d = decide({"validation": g, "holdout": g}, trend([3.0, 2.9, 2.8]), 10)
    assert d.verdict == INCONCLUSIVE and "too small to count" in d.reasons[0]
    assert paired_gain(base, tuned, tokens, min_gain=0.0).outcome == "better"
