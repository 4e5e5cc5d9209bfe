"""`curator report --html`: one self-contained page, to look at rather than read.

No script, no stylesheet, font or image from anywhere else: the CSS is inline, the plots are inline
SVG drawn here, and a Content-Security-Policy forbids the browser any fetch or script, so the page
opens the same from a mail attachment, offline. Every text that comes from the data (record text,
messages, label and split names, the training run's report) goes through `_e` (HTML escaping,
quotes included); numbers are formatted here.

Sections: the readiness checklist; token lengths on a log axis with the limit marked; issues by
code; duplicates and clusters; splits and labels (curator's own `review:` labels apart); the
topics of the prompts with their sizes (coverage, when `curator coverage` ran); the last
training run (loss curve raw and smoothed, baseline against tuned with the paired interval and
the verdict, generations before and after, the highest-loss examples). A section without data
says so in one line.
"""

from __future__ import annotations

from typing import Any

from curator.labels import is_curator_label
from curator.quality.coverage import OVER, UNDER, findings
from curator.report import Check, Details, Facts, TrainRun, verdict
from curator.report_plots import (
    _e,
    _get,
    _hbars,
    _none,
    _num,
    gain_plot,
    log_histogram,
    loss_curve,
)

#: longest text shown for a message, a prompt or a generation (the rest is cut, with a mark)
MAX_TEXT = 600
SPLIT_ORDER = ("train", "validation", "holdout")

_CSS = """
:root { --pass: #1a7f37; --warn: #9a6700; --fail: #cf222e; --ink: #1f2328; --mute: #656d76;
  --line: #d0d7de; --bar: #4c72b0; --bar2: #dd8452; --bg2: #f6f8fa; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink);
  margin: 0 auto; padding: 1.5em 2em 4em; max-width: 68em; }
h1 { font-size: 1.6em; margin: 0 0 .2em; } h2 { font-size: 1.2em; margin: 2em 0 .5em;
  padding-bottom: .2em; border-bottom: 1px solid var(--line); }
h3 { font-size: 1em; margin: 1.2em 0 .4em; }
nav a { margin-right: 1em; } a { color: #0969da; }
.badge { display: inline-block; padding: .1em .6em; border-radius: 1em; font-weight: 600;
  color: #fff; font-size: .9em; }
.b-pass { background: var(--pass); } .b-warn { background: var(--warn); }
.b-fail { background: var(--fail); } .b-none { background: var(--mute); }
.summary { color: var(--mute); margin: .3em 0 1em; }
table { border-collapse: collapse; margin: .4em 0; }
th, td { padding: .25em .7em; border-bottom: 1px solid var(--line); text-align: left;
  vertical-align: top; }
th { background: var(--bg2); font-weight: 600; } td.n, th.n { text-align: right;
  font-variant-numeric: tabular-nums; }
tr.pass td.st { color: var(--pass); } tr.warn td.st { color: var(--warn); }
tr.fail td.st { color: var(--fail); font-weight: bold; }
.none { color: var(--mute); font-style: italic; }
.text { white-space: pre-wrap; word-break: break-word; max-width: 28em; font-size: .92em; }
.cut { color: var(--mute); }
.flag { color: var(--fail); font-size: .85em; }
ul.tight { margin: .2em 0; padding-left: 1.3em; }
svg { display: block; margin: .4em 0; max-width: 100%; height: auto; }
svg text { font: 11px system-ui, sans-serif; fill: var(--ink); }
svg .axis { stroke: var(--mute); stroke-width: 1; } svg .grid { stroke: #eaeef2; }
svg .bar { fill: var(--bar); } svg .bar.over { fill: var(--fail); }
svg .bar.under { fill: var(--warn); }
svg .limit { stroke: var(--fail); stroke-width: 2; stroke-dasharray: 5 3; }
svg text.limit-label { fill: var(--fail); font-weight: 600; }
svg .raw { fill: none; stroke: #9fb6d9; stroke-width: 1.2; } svg .rawpt { fill: #9fb6d9; }
svg .smooth { fill: none; stroke: var(--bar); stroke-width: 2.5; }
svg .trend { stroke: var(--bar2); stroke-width: 1.5; stroke-dasharray: 6 4; }
svg .zero { stroke: var(--ink); stroke-width: 1; }
svg .floor { stroke: var(--pass); stroke-width: 1; stroke-dasharray: 4 3; }
svg .ci { stroke: var(--ink); stroke-width: 2; }
svg .pt-better { fill: var(--pass); } svg .pt-worse { fill: var(--fail); }
svg .pt-other { fill: var(--warn); }
svg .seg-train { fill: #4c72b0; } svg .seg-validation { fill: #dd8452; }
svg .seg-holdout { fill: #55a868; } svg .seg-other { fill: #8172b3; }
.key span { display: inline-block; width: .8em; height: .8em; margin: 0 .3em 0 1em;
  vertical-align: -.05em; }
.key span.seg-train { background: #4c72b0; } .key span.seg-validation { background: #dd8452; }
.key span.seg-holdout { background: #55a868; } .key span.seg-other { background: #8172b3; }
"""

# Content-Security-Policy: nothing may load or run; inline styles only.
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'"




def _cut(text: str, limit: int = MAX_TEXT) -> str:
    if len(text) <= limit:
        return _e(text)
    return f'{_e(text[:limit])}<span class="cut"> … ({len(text) - limit:,} more characters)</span>'








def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _f(value: Any, spec: str = ".4f", signed: bool = False) -> str:
    v = _num(value)
    if v is None:
        return "—"
    return format(v, ("+" if signed else "") + spec)


def _strs(value: Any) -> list[str]:
    return [str(x) for x in value] if isinstance(value, list) else []


def _badge(status: str) -> str:
    cls = {"pass": "pass", "warn": "warn", "fail": "fail", "inconclusive": "warn"}.get(
        status.lower(), "none")
    return f'<span class="badge b-{cls}">{_e(status.upper())}</span>'






# -- sections -------------------------------------------------------------------------------------

def _checklist(checks: list[Check]) -> str:
    rows = "".join(
        f'<tr class="{_e(c.status)}"><td class="st">{_e(c.status.upper())}</td>'
        f"<td>{_e(c.name)}</td><td>{_e(c.detail)}</td></tr>" for c in checks)
    return f"<table><tr><th>status</th><th>check</th><th>numbers</th></tr>{rows}</table>"




def _issues(details: Details | None) -> str:
    if details is None:
        return _none("Not gathered.")
    if not details.issue_codes:
        return _none("No issues: every record passed the validator without a warning.")
    codes = details.issue_codes
    peak = max(c.records for c in codes) or 1
    rows = []
    for k, c in enumerate(codes):
        name = f'<a href="#issue-{k}">{_e(c.code)}</a>' if c.examples else _e(c.code)
        w = c.records / peak * 160
        rows.append(f"<tr><td>{name}</td><td>{_e(c.severity)}</td><td class=n>{c.records:,}</td>"
                    f"<td class=n>{c.included:,}</td><td><svg width=\"164\" height=\"12\">"
                    f'<rect class="bar" x="0" y="1" width="{w:.1f}" height="10"/></svg></td></tr>')
    out = [f'<p class="summary">{details.issue_records:,} records carry at least one issue; '
           f"{len(codes)} code{'s' if len(codes) != 1 else ''}. "
           "&ldquo;Included&rdquo;: of them, records an export would still write.</p>",
           "<table><tr><th>code</th><th>severity</th><th class=n>records</th>"
           f"<th class=n>included</th><th></th></tr>{''.join(rows)}</table>"]
    for k, c in enumerate(codes):
        if not c.examples:
            continue
        items = "".join(f"<li>record {rid}: {_cut(msg, 200)}</li>" for rid, msg in c.examples)
        more = c.records - len(c.examples)
        tail = f"<li class=\"none\">and {more:,} more</li>" if more > 0 else ""
        out.append(f'<h3 id="issue-{k}">{_e(c.code)}</h3><ul class="tight">{items}{tail}</ul>')
    out.append('<p class="summary">See one with <code>curator show -w WS ID</code>, all of a code '
               "with <code>curator ls -w WS --where issue=CODE</code>.</p>")
    return "".join(out)


def _duplicates(facts: Facts, details: Details | None) -> str:
    if not facts.dedup_run:
        return _none("Dedup has not been run (curator dedup -w WS).")
    lines = [f"{facts.duplicates_marked:,} records marked as duplicates, in {facts.clusters:,} "
             f"clusters; {facts.exact_duplicates_included:,} exact-duplicate groups still included"]
    if facts.clusters_without_copy:
        lines.append(f"{len(facts.clusters_without_copy):,} clusters with no copy exported")
    if facts.clusters_with_copies:
        lines.append(f"{len(facts.clusters_with_copies):,} clusters exporting more than one copy")
    if facts.leakage_pairs is not None:
        lines.append(f"{facts.leakage_pairs:,} duplicate pairs across splits")
    out = [f'<p class="summary">{_e("; ".join(lines))}.</p>']
    if details is None or not details.largest_clusters:
        out.append(_none("No duplicate clusters."))
        return "".join(out)
    out.append("<h3>Clusters by size</h3>" + _hbars({f"{size} members": n for size, n
                                                      in details.cluster_sizes.items()}))
    rows = "".join(
        f"<tr><td class=n>{c.cluster_id}</td><td class=n>{c.size}</td>"
        f"<td>{_e(', '.join(map(str, c.members)))}{' …' if c.size > len(c.members) else ''}</td>"
        f"<td>{_e(', '.join(map(str, c.kept))) or '<span class=flag>none</span>'}"
        f"{' <span class=flag>more than one</span>' if len(c.kept) > 1 else ''}</td></tr>"
        for c in details.largest_clusters)
    out.append("<h3>Largest clusters</h3><table><tr><th class=n>cluster</th><th class=n>size</th>"
               f"<th>member records</th><th>exported (one is right)</th></tr>{rows}</table>")
    return "".join(out)




def _coverage(details: Details | None) -> str:
    if details is None:
        return _none("Not gathered.")
    cov = details.coverage
    if cov is None:
        return _none("Coverage not computed: run curator coverage -w WS to group the prompts "
                     "into topics.")
    out = [f'<p class="summary">{cov.records:,} prompts in {len(cov.topics)} topics, computed '
           f"{_e(cov.computed_at)}; median topic size {cov.median:g}"
           + (f"; {cov.without_prompt:,} records without prompt text" if cov.without_prompt
              else "") + ".</p>"]
    if cov.stale:
        out.append(f'<p class="flag">{_e(cov.staleness())}</p>')
    if not cov.topics:
        out.append(_none("No prompts to group."))
        return "".join(out)
    out.append('<ul class="tight">' + "".join(f"<li>{_e(line)}</li>" for line in findings(cov))
               + "</ul>")
    peak = max(t.size for t in cov.topics) or 1
    rows = []
    for t in cov.topics:
        cls = {OVER: "bar over", UNDER: "bar under"}.get(t.flag or "", "bar")
        mark = {OVER: '<span class="flag">over-represented</span>',
                UNDER: '<span class="flag">under-represented</span>'}.get(t.flag or "", "")
        w = t.size / peak * 200
        rec = f"record {t.example_record}: " if t.example_record is not None else ""
        rows.append(f"<tr><td class=n>{t.topic}</td><td class=n>{t.size:,}</td>"
                    f"<td class=n>{t.share:.1%}</td><td><svg width=\"204\" height=\"12\">"
                    f'<rect class="{cls}" x="0" y="1" width="{w:.1f}" height="10"/></svg>{mark}'
                    f"</td><td>{_e(', '.join(t.words))}</td>"
                    f"<td class=text>{_e(rec)}{_cut(t.example, 160)}</td></tr>")
    out.append("<table><tr><th class=n>topic</th><th class=n>size</th><th class=n>share</th>"
               "<th></th><th>characteristic words</th><th>most central prompt</th></tr>"
               f"{''.join(rows)}</table>")
    out.append('<p class="summary">Topics: k-means clusters of the prompts\' static embeddings '
               "(<code>curator coverage</code>); flagged against the median topic size. See one "
               "with <code>curator ls -w WS --where topic=N</code>, or T in the review app.</p>")
    return "".join(out)


def _splits_in(per: dict[str, dict[str, int]], facts: Facts) -> list[str]:
    seen = set(facts.split_counts) | {s for counts in per.values() for s in counts}
    return [s for s in SPLIT_ORDER if s in seen] + sorted(seen - set(SPLIT_ORDER))


def _label_table(per: dict[str, dict[str, int]], splits: list[str]) -> str:
    peak = max((sum(c.values()) for c in per.values()), default=0) or 1
    head = "".join(f"<th class=n>{_e(s)}</th>" for s in splits)
    rows = []
    for label, counts in sorted(per.items()):
        total = sum(counts.values())
        x, segs = 0.0, []
        for s in splits:
            w = counts.get(s, 0) / peak * 200
            if w:
                cls = s if s in SPLIT_ORDER else "other"
                segs.append(f'<rect class="seg-{cls}" x="{x:.1f}" y="1" width="{w:.1f}" '
                            f'height="12"><title>{_e(s)}: {counts.get(s, 0):,}</title></rect>')
                x += w
        cells = "".join(f"<td class=n>{counts.get(s, 0):,}</td>" for s in splits)
        rows.append(f"<tr><td>{_e(label)}</td>{cells}<td class=n>{total:,}</td>"
                    f'<td><svg width="204" height="14">{"".join(segs)}</svg></td></tr>')
    return (f"<table><tr><th>label</th>{head}<th class=n>total</th><th></th></tr>"
            f"{''.join(rows)}</table>")


def _labels(facts: Facts) -> str:
    out = []
    if facts.split_counts:
        out.append("<h3>Records per split</h3>" + _hbars(facts.split_counts))
    else:
        out.append(_none("No split yet (curator split -w WS)."))
    user = {k: v for k, v in facts.labels.items() if not is_curator_label(k)}
    own = {k: v for k, v in facts.labels.items() if is_curator_label(k)}
    splits = _splits_in(facts.labels, facts)
    keys = "".join(f'<span class="seg-{s if s in SPLIT_ORDER else "other"}"></span>{_e(s)}'
                   for s in splits)
    out.append("<h3>Labels by split</h3>")
    if user:
        out.append(f'<p class="key">{keys}</p>' + _label_table(user, splits))
    else:
        out.append(_none("No labels on included records."))
    if own:
        out.append("<h3>Labels curator adds itself</h3><p class=\"summary\">Marks to look at, not "
                   "classes of the data: left out of the label balance.</p>"
                   + _label_table(own, splits))
    return "".join(out)


# -- the training run -----------------------------------------------------------------------------









def _comparison_table(run: TrainRun) -> str:
    rep = run.report or {}
    comparison = _dict(rep.get("comparison")) or _dict(run.last_run.get("comparison"))
    rows = []
    for name in ("validation", "holdout"):
        g = _dict(comparison.get(name))
        base = _get(rep, "baseline", name, "loss") if rep else _get(run.last_run, "baseline", name, "loss")
        tuned = _get(rep, "tuned", name, "loss") if rep else _get(run.last_run, "tuned", name, "loss")
        if base is None and tuned is None and not g:
            continue
        low, high = _num(g.get("ci_low")), _num(g.get("ci_high"))
        ci = f"[{low:+.4f}, {high:+.4f}]" if low is not None and high is not None else \
            "no interval" if g else "—"
        rows.append(f"<tr><td>{_e(name)}</td><td class=n>{_f(base)}</td><td class=n>{_f(tuned)}</td>"
                    f"<td class=n>{_f(g.get('mean_gain'), '.4f', signed=True)}</td><td class=n>{ci}</td>"
                    f"<td class=n>{_f(g.get('examples'), ',.0f')}</td>"
                    f"<td class=n>{_f(g.get('tokens'), ',.0f')}</td><td>{_e(g.get('outcome', '—'))}</td></tr>")
    if not rows:
        return _none("No evaluation: the run stopped before the baseline.")
    table = ("<table><tr><th>split</th><th class=n>baseline loss</th><th class=n>tuned loss</th>"
             "<th class=n>gain</th><th class=n>95% interval</th><th class=n>examples</th>"
             f"<th class=n>tokens</th><th>outcome</th></tr>{''.join(rows)}</table>")
    return table + gain_plot(comparison) + (
        '<p class="summary">Gain: the base model\'s loss minus the tuned model\'s on the same '
        "trained tokens of each example, token-weighted; the interval is a bootstrap over "
        "examples; the dashed green tick is the smallest gain that counts.</p>")


def _message_text(msg: Any) -> str:
    content = _get(msg, "content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(_get(p, "text") or "") for p in content)
    return "" if content is None else str(content)


def _last(example: Any, role: str) -> str:
    messages = _get(example, "messages")
    if not isinstance(messages, list):
        return ""
    for m in reversed(messages):
        if _get(m, "role") == role:
            return _message_text(m)
    return ""


def _generations(rep: dict[str, Any]) -> str:
    gens = rep.get("generations")
    if not isinstance(gens, list) or not gens:
        return _none("No generations in this run (--generate 0, or the run stopped first).")
    rows = []
    for g in gens:
        if not isinstance(g, dict):
            continue
        flags = [f'<div class="flag">{_e(when)}: {_e(g[key])}</div>'
                 for key, when in (("degenerate_before", "loop before"),
                                   ("degenerate_after", "loop after")) if g.get(key)]
        rows.append(f"<tr><td>{_e(g.get('source', ''))}</td>"
                    f"<td class=text>{_cut(str(g.get('reference', '')))}</td>"
                    f"<td class=text>{_cut(str(g.get('before', '')))}</td>"
                    f"<td class=text>{_cut(str(g.get('after', '')))}{''.join(flags)}</td></tr>")
    return ("<table><tr><th>example</th><th>reference</th><th>before (base model)</th>"
            f"<th>after (tuned)</th></tr>{''.join(rows)}</table>")


def _queue(run: TrainRun) -> str:
    if run.queue:
        rows = "".join(
            f"<tr><td class=n>{_f(q.get('rank'), '.0f')}</td><td>{_e(q.get('split', ''))}</td>"
            f"<td class=n>{_e(q.get('record_id') if q.get('record_id') is not None else '—')}</td>"
            f"<td class=n>{_f(q.get('loss'))}</td><td class=n>{_f(q.get('trained_tokens'), ',.0f')}</td>"
            f"<td class=text>{_cut(_last(q.get('example'), 'user'), 300)}</td>"
            f"<td class=text>{_cut(_last(q.get('example'), 'assistant'), 300)}</td></tr>"
            for q in run.queue)
        return ("<table><tr><th class=n>rank</th><th>split</th><th class=n>record</th>"
                "<th class=n>loss</th><th class=n>trained tokens</th><th>last question</th>"
                f"<th>answer</th></tr>{rows}</table>"
                '<p class="summary">Loss under the tuned model, nats per trained token. Validation '
                "is ranked; train only with <code>--rank-train</code>; the holdout never. These "
                "records carry the label <code>review:high-loss</code>.</p>")
    if run.flagged:
        return (f'<p>Records labelled <code>review:high-loss</code>: {_e(", ".join(map(str, run.flagged)))}'
                " (the run's review_queue.jsonl is gone, so no losses here).</p>")
    return _none("No highest-loss examples recorded for this run.")


def _training(details: Details | None) -> str:
    run = details.train if details is not None else None
    if run is None:
        return _none("No training run recorded: curator train -w WS (--model tiny checks the "
                     "pipeline in seconds).")
    last, rep = run.last_run, run.report or {}
    v = str(rep.get("verdict") or last.get("verdict") or "unknown")
    model = _get(rep, "model", "spec") or last.get("model") or "?"
    t = _dict(rep.get("training"))
    steps = t.get("steps", last.get("steps"))
    facts = [f"model {model}", f"{_f(steps, '.0f')} steps"]
    if t.get("batch_size") is not None:
        facts.append(f"batch {_f(t.get('batch_size'), '.0f')}")
    if _get(rep, "model", "quant"):
        facts.append(f"quantisation {_get(rep, 'model', 'quant')} on {_get(rep, 'model', 'device')}")
    if last.get("finished"):
        facts.append(f"finished {last.get('finished')}")
    out = [f"<p>{_badge(v)} {_e(', '.join(map(str, facts)))}; run folder "
           f"<code>{_e(last.get('run_dir', '?'))}</code></p>"]
    reasons, warnings = _strs(rep.get("reasons", last.get("reasons"))), \
        _strs(rep.get("warnings", last.get("warnings")))
    steps_next = _strs(rep.get("next_steps", last.get("next_steps")))
    for title, items in (("why", reasons), ("warnings", warnings), ("to decide", steps_next)):
        if items:
            out.append(f"<p><strong>{title}:</strong></p><ul class=\"tight\">"
                       + "".join(f"<li>{_e(x)}</li>" for x in items) + "</ul>")
    if run.report is None:
        out.append(_none(f"The run's report.json could not be read ({run.report_problem}); "
                         "the loss curve and generations need it."))
    out.append("<h3>Training loss</h3>")
    losses = t.get("losses")
    out.append(loss_curve([_num(x) for x in losses], t.get("trend")) if isinstance(losses, list)
               else _none("No per-step losses recorded."))
    out.append("<h3>Baseline against tuned</h3>" + _comparison_table(run))
    if run.report is not None:
        out.append("<h3>Generations before and after</h3>" + _generations(rep))
    out.append("<h3>Highest-loss examples</h3>" + _queue(run))
    return "".join(out)


def render(checks: list[Check], facts: Facts, title: str, details: Details | None = None) -> str:
    """The page. `details` (issues, clusters, the training run) is optional: without it those
    sections say they were not gathered."""
    v = verdict(checks)
    included = facts.total - facts.rejected
    sections = [
        ("checklist", "Readiness checklist", _checklist(checks)),
        ("tokens", "Token lengths", log_histogram(facts.tokens, facts.token_limit)),
        ("issues", "Issues by code", _issues(details)),
        ("duplicates", "Duplicates and clusters", _duplicates(facts, details)),
        ("labels", "Splits and labels", _labels(facts)),
        ("coverage", "Coverage", _coverage(details)),
        ("training", "Training run", _training(details)),
    ]
    nav = "".join(f'<a href="#{sid}">{_e(name)}</a>' for sid, name, _ in sections)
    body = "".join(f'<section id="{sid}"><h2>{_e(name)}</h2>{content}</section>'
                   for sid, name, content in sections)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title>
<style>{_CSS}</style></head><body>
<h1>{_e(title)}</h1>
<p>{_badge(v)} <span class="summary">{facts.total:,} records, {included:,} included (neither
rejected nor marked duplicate), {facts.accepted:,} accepted, {facts.pending:,} pending; target
{_e(facts.target)}</span></p>
<nav>{nav}</nav>
{body}
</body></html>
"""
