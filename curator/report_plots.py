"""The SVG plots of the HTML report: token lengths on a log axis, bars, the loss curve and the
baseline-against-tuned interval. Inline SVG only (no script, nothing fetched); every text escaped."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

#: exponential moving average weight of the smoothed loss curve (debiased, as TensorBoard draws it)
SMOOTHING = 0.6
#: a loss curve over more steps than this is drawn as lines only (no dot with a tooltip per step)
MAX_POINTS = 200


def _e(value: object) -> str:
    """Escape any value for HTML text or a quoted attribute."""
    return html.escape(str(value), quote=True)


def _none(line: str) -> str:
    return f'<p class="none">{_e(line)}</p>'


def _num(value: Any) -> float | None:
    """A finite number from untrusted JSON, else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    v = float(value)
    return v if math.isfinite(v) else None


def _get(d: Any, *keys: str) -> Any:
    for k in keys:
        if not isinstance(d, dict):
            return None
        d = d.get(k)
    return d


def _tick_label(v: float) -> str:
    return f"{v:,.0f}" if v >= 1 else f"{v:g}"


def _nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step + 1e-9) + 1)]


def log_histogram(tokens: Sequence[int], limit: int | None, width: int = 720,
                  height: int = 220) -> str:
    """Token lengths in bins of equal width on a log axis (a tenth or a fifth of a decade), the
    limit as a dashed line; bars past the limit in red. An axis that spans 10 to 65,536 keeps a
    set of 30-to-300-token examples spread over a dozen bars instead of one."""
    if not tokens:
        return _none("No token counts yet (import counts them for the workspace's model).")
    values = [max(1, int(t)) for t in tokens]
    lo_exp = math.floor(math.log10(min(min(values), max(limit or values[0], 1))))
    hi_exp = math.ceil(math.log10(max(max(values), limit or 1)))
    if hi_exp <= lo_exp:
        hi_exp = lo_exp + 1
    decades = hi_exp - lo_exp
    per_decade = 10 if decades <= 4 else 5
    bins = decades * per_decade
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, int((math.log10(v) - lo_exp) * per_decade))] += 1
    peak = max(counts)
    left, top, bottom = 48, 14, 34
    plot_w, plot_h = width - left - 36, height - top - bottom

    def x_of(v: float) -> float:
        return left + (math.log10(v) - lo_exp) / decades * plot_w

    parts = [f'<svg class="hist" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
             f'role="img" aria-label="token lengths, log axis">']
    for t in _nice_ticks(0, peak, 4):
        y = top + plot_h - t / peak * plot_h
        parts.append(f'<line class="grid" x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{t:,.0f}</text>')
    bar_w = plot_w / bins
    for i, c in enumerate(counts):
        if not c:
            continue
        a, b = 10 ** (lo_exp + i / per_decade), 10 ** (lo_exp + (i + 1) / per_decade)
        h = c / peak * plot_h
        over = " over" if limit is not None and a >= limit else ""
        parts.append(f'<rect class="bar{over}" x="{left + i * bar_w + 0.5:.1f}" '
                     f'y="{top + plot_h - h:.1f}" width="{max(bar_w - 1, 1):.1f}" height="{h:.1f}">'
                     f"<title>{math.ceil(a):,} to {math.ceil(b) - 1:,} tokens: {c:,} "
                     f"example{'s' if c != 1 else ''}</title></rect>")
    base = top + plot_h
    parts.append(f'<line class="axis" x1="{left}" x2="{left + plot_w}" y1="{base}" y2="{base}"/>')
    for k in range(lo_exp, hi_exp + 1):
        for m in range(1, 10):
            if k == hi_exp and m > 1:
                break
            x = x_of(m * 10.0 ** k)
            parts.append(f'<line class="axis" x1="{x:.1f}" x2="{x:.1f}" y1="{base}" '
                         f'y2="{base + (6 if m == 1 else 3)}"/>')
            if m == 1:
                parts.append(f'<text class="xtick" data-value="{10 ** k}" x="{x:.1f}" '
                             f'y="{base + 18}" text-anchor="middle">{_tick_label(10.0 ** k)}</text>')
    parts.append(f'<text x="{left + plot_w}" y="{height - 2}" text-anchor="end">'
                 "tokens per example (log scale)</text>")
    if limit is not None:
        x = x_of(max(limit, 1))
        parts.append(f'<line class="limit" data-value="{limit}" x1="{x:.1f}" x2="{x:.1f}" '
                     f'y1="{top - 4}" y2="{base}"/><text class="limit-label" x="{x - 4:.1f}" '
                     f'y="{top + 8}" text-anchor="end">limit {limit}</text>')
    parts.append("</svg>")
    ordered = sorted(values)
    p50, p95 = ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]
    over_n = sum(1 for v in values if limit is not None and v > limit)
    limit_text = (f"{over_n:,} over the limit of {limit:,}" if limit is not None
                  else "no limit known (pass --max-tokens)")
    parts.append(f'<p class="summary">{len(values):,} examples; median {p50:,}, 95th percentile '
                 f"{p95:,}, longest {ordered[-1]:,} tokens; {limit_text}.</p>")
    return "".join(parts)


def _hbars(values: dict[str, int], width: int = 560) -> str:
    if not values:
        return _none("None.")
    peak = max(values.values()) or 1
    rows = []
    for i, (name, v) in enumerate(values.items()):
        w = v / peak * (width - 220)
        rows.append(f'<text x="0" y="{i * 22 + 15}">{_e(name)}</text>'
                    f'<rect class="bar" x="160" y="{i * 22 + 3}" width="{w:.1f}" height="16"/>'
                    f'<text x="{166 + w:.1f}" y="{i * 22 + 15}">{v:,}</text>')
    h = len(values) * 22
    return f'<svg viewBox="0 0 {width} {h}" width="{width}" height="{h}">{"".join(rows)}</svg>'


def smooth(values: Sequence[float | None], weight: float = SMOOTHING) -> list[float | None]:
    """Exponential moving average, debiased (the first points are not pulled towards zero);
    a missing (non-finite) value stays missing and does not move the average."""
    out: list[float | None] = []
    avg, norm = 0.0, 0.0
    for v in values:
        if v is None:
            out.append(None)
            continue
        avg = avg * weight + (1 - weight) * v
        norm = norm * weight + (1 - weight)
        out.append(avg / norm)
    return out


def _polylines(points: list[tuple[float, float] | None], cls: str) -> str:
    runs: list[list[tuple[float, float]]] = [[]]
    for p in points:
        if p is None:
            runs.append([])
        else:
            runs[-1].append(p)
    return "".join(f'<polyline class="{cls}" points="'
                   + " ".join(f"{x:.1f},{y:.1f}" for x, y in run) + '"/>'
                   for run in runs if len(run) > 1)


def loss_curve(losses: Sequence[float | None], trend: Any = None, width: int = 720,
               height: int = 240) -> str:
    finite = [v for v in losses if v is not None]
    if not finite:
        return _none("No training step finished, so there is no loss curve.")
    sm = smooth(losses)
    fit = [_num(_get(trend, "fitted_start")), _num(_get(trend, "fitted_end"))]
    span = finite + [v for v in fit if v is not None]
    lo, hi = min(span), max(span)
    pad = (hi - lo) * 0.08 or max(abs(hi) * 0.05, 0.05)
    lo, hi = lo - pad, hi + pad
    left, top, bottom = 52, 12, 36
    pw, ph = width - left - 16, height - top - bottom
    n = len(losses)

    def xy(i: int, v: float) -> tuple[float, float]:
        x = left + (i / (n - 1) * pw if n > 1 else pw / 2)
        return x, top + (hi - v) / (hi - lo) * ph

    parts = [f'<svg class="loss" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
             'role="img" aria-label="training loss per step">']
    for t in _nice_ticks(lo, hi, 5):
        _, y = xy(0, t)
        parts.append(f'<line class="grid" x1="{left}" x2="{left + pw}" y1="{y:.1f}" y2="{y:.1f}"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{t:g}</text>')
    base = top + ph
    parts.append(f'<line class="axis" x1="{left}" x2="{left + pw}" y1="{base}" y2="{base}"/>')
    for s in _nice_ticks(1, n, min(10, max(n - 1, 1))):
        if float(s).is_integer() and 1 <= s <= n:
            x, _ = xy(int(s) - 1, lo)
            parts.append(f'<text x="{x:.1f}" y="{base + 16}" text-anchor="middle">{int(s)}</text>')
    parts.append(f'<text x="{left + pw}" y="{height - 2}" text-anchor="end">step</text>')
    raw = [xy(i, v) if v is not None else None for i, v in enumerate(losses)]
    parts.append(_polylines(raw, "raw"))
    parts.extend(f'<circle class="rawpt" cx="{p[0]:.1f}" cy="{p[1]:.1f}" r="2.5">'
                 f"<title>step {i + 1}: {losses[i]:.4f}</title></circle>"
                 for i, p in enumerate(raw) if p is not None and n <= MAX_POINTS)
    parts.append(_polylines([xy(i, v) if v is not None else None for i, v in enumerate(sm)],
                            "smooth"))
    if fit[0] is not None and fit[1] is not None:
        (x1, y1), (x2, y2) = xy(0, fit[0]), xy(n - 1, fit[1])
        parts.append(f'<line class="trend" x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}"/>')
    parts.append("</svg>")
    parts.append('<p class="key"><span style="background:#9fb6d9"></span>each step'
                 '<span style="background:#4c72b0"></span>smoothed (moving average, weight '
                 f'{SMOOTHING})<span style="background:#dd8452"></span>fitted line (what the '
                 "verdict reads)</p>")
    return "".join(parts)


def gain_plot(comparison: dict[str, Any], width: int = 720) -> str:
    """The paired gain per split (baseline loss minus tuned loss, nats per trained token) with its
    interval, zero and the smallest gain that counts."""
    rows = [(name, comparison[name]) for name in ("validation", "holdout")
            if isinstance(comparison.get(name), dict)]
    rows = [(n, g) for n, g in rows if _num(g.get("mean_gain")) is not None]
    if not rows:
        return ""
    vals = [0.0]
    for _, g in rows:
        vals += [v for v in (_num(g.get(k)) for k in ("mean_gain", "ci_low", "ci_high",
                                                        "min_gain_nats")) if v is not None]
    lo, hi = min(vals), max(vals)
    pad = (hi - lo) * 0.1 or 0.1
    lo, hi = lo - pad, hi + pad
    left, pw, row_h = 110, width - 110 - 20, 34
    height = 20 + row_h * len(rows) + 30

    def x_of(v: float) -> float:
        return left + (v - lo) / (hi - lo) * pw

    parts = [f'<svg class="gain" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
             'role="img" aria-label="paired gain with its interval">']
    bottom = 20 + row_h * len(rows)
    for t in _nice_ticks(lo, hi, 6):
        x = x_of(t)
        parts.append(f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="10" y2="{bottom}"/>'
                     f'<text x="{x:.1f}" y="{bottom + 14}" text-anchor="middle">{t:+.3g}</text>')
    parts.append(f'<line class="zero" x1="{x_of(0):.1f}" x2="{x_of(0):.1f}" y1="10" y2="{bottom}"/>')
    for i, (name, g) in enumerate(rows):
        y = 20 + row_h * i + row_h / 2
        floor = _num(g.get("min_gain_nats"))
        if floor is not None:
            parts.append(f'<line class="floor" x1="{x_of(floor):.1f}" x2="{x_of(floor):.1f}" '
                         f'y1="{y - 12:.1f}" y2="{y + 12:.1f}"><title>smallest gain that counts: '
                         f"{floor:.4f}</title></line>")
        low, high, mean = _num(g.get("ci_low")), _num(g.get("ci_high")), _num(g.get("mean_gain"))
        assert mean is not None
        if low is not None and high is not None:
            parts.append(f'<line class="ci" x1="{x_of(low):.1f}" x2="{x_of(high):.1f}" '
                         f'y1="{y:.1f}" y2="{y:.1f}"/>'
                         f'<line class="ci" x1="{x_of(low):.1f}" x2="{x_of(low):.1f}" y1="{y - 6:.1f}" '
                         f'y2="{y + 6:.1f}"/><line class="ci" x1="{x_of(high):.1f}" '
                         f'x2="{x_of(high):.1f}" y1="{y - 6:.1f}" y2="{y + 6:.1f}"/>')
        outcome = str(g.get("outcome", ""))
        cls = {"better": "better", "worse": "worse"}.get(outcome, "other")
        parts.append(f'<circle class="pt-{cls}" cx="{x_of(mean):.1f}" cy="{y:.1f}" r="5">'
                     f"<title>{_e(name)}: {mean:+.4f} nats/token ({_e(outcome)})</title></circle>"
                     f'<text x="0" y="{y + 4:.1f}">{_e(name)}</text>')
    parts.append(f'<text x="{left + pw}" y="{height - 2}" text-anchor="end">gain: baseline minus '
                 "tuned loss, nats per trained token (right of zero: tuned is better)</text></svg>")
    return "".join(parts)
