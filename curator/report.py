"""The readiness report: the checklist fine-tuning guides ask for, made measurable.

`assess(facts)` is a pure function from measured facts to pass / warn / fail lines, each carrying
the numbers behind it; the workspace gathers the facts (`curator.workspace.report.gather_facts`), the
CLI renders them as a table, JSON or an HTML page with plots.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from curator.labels import is_curator_label
from curator.quality.coverage import HOW_TO, CoverageSummary, findings, table_lines

Status = Literal["pass", "warn", "fail"]

#: OpenAI and Azure refuse fewer than 10 training examples; OpenAI's guide sees clear gains from
#: 50 to 100 well-made examples and recommends starting with about 50.
MIN_EXAMPLES = 10
RECOMMENDED_EXAMPLES = 50


@dataclass(slots=True)
class Facts:
    total: int
    rejected: int
    accepted: int
    pending: int
    with_errors: int  # included records with an error under the target profile
    split_counts: dict[str, int]
    dedup_run: bool
    duplicates_marked: int
    exact_duplicates_included: int  # exact duplicate groups still with 2+ included members
    leakage_pairs: int | None  # cross-split duplicate pairs; None when no split has been made
    tokens: list[int]  # total tokens of each included record (counted ones)
    token_limit: int | None
    target: str
    labels: dict[str, dict[str, int]] = field(default_factory=dict)  # label -> split -> count
    baseline_loss: float | None = None  # from the smoke-test trainer, when it has run
    clusters: int = 0  # duplicate clusters (2+ members) marked by dedup
    # clusters none of whose members would be exported although not all were rejected by hand
    clusters_without_copy: list[int] = field(default_factory=list)
    clusters_with_copies: list[int] = field(default_factory=list)  # 2+ members exported
    pairs: int = 0  # included preference pairs
    chosen_longer: int = 0  # of them, pairs whose chosen answer is the longer one
    contradicting_pairs: int = 0  # pairs labelled review:contradiction


@dataclass(slots=True)
class IssueCode:
    """One issue code in the workspace, for the HTML page."""

    code: str
    severity: str
    records: int  # records carrying it, whatever their status
    included: int  # of them, records an export would write
    examples: list[tuple[int, str]]  # a few (record id, message)


@dataclass(slots=True)
class ClusterInfo:
    cluster_id: int
    size: int
    members: list[int]  # the first few member ids
    kept: list[int]  # members an export would write (one is right)


@dataclass(slots=True)
class TrainRun:
    """The last `curator train` run: meta `train.last_run` and what its run folder still holds."""

    last_run: dict[str, Any]
    report: dict[str, Any] | None  # the run's report.json, when it could be read
    report_problem: str | None  # why it could not be (moved, deleted, not JSON)
    queue: list[dict[str, Any]]  # the first rows of its review_queue.jsonl
    flagged: list[int]  # records labelled review:high-loss now


@dataclass(slots=True)
class Details:
    """What the HTML page shows beyond `Facts` (`curator.workspace.report.gather_details`)."""

    issue_codes: list[IssueCode]  # most records first
    issue_records: int  # records with at least one issue
    cluster_sizes: dict[int, int]  # cluster size -> clusters of that size
    largest_clusters: list[ClusterInfo]
    train: TrainRun | None
    coverage: CoverageSummary | None = None  # the topics of `curator coverage`, when computed


@dataclass(slots=True)
class Check:
    name: str
    status: Status
    detail: str
    numbers: dict[str, Any] = field(default_factory=dict)


MAX_LISTED = 20
#: share of pairs whose chosen answer is longer above which the report warns (length bias)
LENGTH_BIAS_WARN = 0.8


def _ids(ids: list[int]) -> str:
    shown = ", ".join(map(str, ids[:5]))
    return shown + (", ..." if len(ids) > 5 else "")


def _worst(statuses: list[Status]) -> Status:
    for s in ("fail", "warn"):
        if s in statuses:
            return s  # type: ignore[return-value]
    return "pass"


def assess(f: Facts) -> list[Check]:
    checks: list[Check] = []
    included = f.total - f.rejected
    train = f.split_counts.get("train", 0)
    n = train if f.split_counts else included
    what = "training examples" if f.split_counts else "usable examples (no split yet)"
    if n < MIN_EXAMPLES:
        status: Status = "fail"
    elif n < RECOMMENDED_EXAMPLES:
        status = "warn"
    else:
        status = "pass"
    checks.append(Check(
        "enough examples", status,
        f"{n} {what}; the minimum is {MIN_EXAMPLES}, guides recommend {RECOMMENDED_EXAMPLES} to a few "
        "hundred well-made examples to start",
        {"examples": n, "minimum": MIN_EXAMPLES, "recommended": RECOMMENDED_EXAMPLES},
    ))

    checks.append(Check(
        f"format matches target {f.target}",
        "pass" if f.with_errors == 0 else "fail",
        "every included record passes the target's validator" if f.with_errors == 0 else
        f"{f.with_errors} included record(s) have errors for {f.target}; fix or reject them",
        {"records_with_errors": f.with_errors},
    ))

    reviewed = f.accepted + f.rejected
    share = reviewed / f.total if f.total else 0.0
    checks.append(Check(
        "records reviewed", "pass" if share >= 0.999 else "warn",
        f"{reviewed} of {f.total} reviewed ({share:.0%}); {f.pending} pending",
        {"reviewed": reviewed, "total": f.total, "share": round(share, 4)},
    ))

    if not f.dedup_run:
        checks.append(Check("duplicates resolved", "warn", "dedup has not been run", {}))
    else:
        checks.append(Check(
            "duplicates resolved",
            "pass" if f.exact_duplicates_included == 0 else "fail",
            f"{f.duplicates_marked} marked as duplicates; "
            f"{f.exact_duplicates_included} exact duplicate group(s) still included",
            {"marked": f.duplicates_marked, "exact_groups_included": f.exact_duplicates_included},
        ))

    if f.clusters:
        lost, many = f.clusters_without_copy, f.clusters_with_copies
        problems = ([f"{len(lost)} with no copy exported (clusters {_ids(lost)})"] if lost else []) \
            + ([f"{len(many)} with more than one (clusters {_ids(many)})"] if many else [])
        checks.append(Check(
            "one copy per duplicate cluster", "fail" if problems else "pass",
            f"{f.clusters} duplicate clusters; " + ("; ".join(problems) + ": pick a keeper on the "
            "duplicates screen (d in curator review) or `curator dedup` again" if problems
            else "each has exactly one member in the export"),
            {"clusters": f.clusters, "without_copy": lost[:MAX_LISTED],
             "with_copies": many[:MAX_LISTED], "without_copy_count": len(lost),
             "with_copies_count": len(many)},
        ))

    holdout = f.split_counts.get("holdout", 0)
    validation = f.split_counts.get("validation", 0)
    if not f.split_counts:
        checks.append(Check("holdout present, no leakage", "fail", "no split has been made", {}))
    else:
        leak = f.leakage_pairs or 0
        ok = holdout > 0 and validation > 0 and leak == 0
        checks.append(Check(
            "holdout present, no leakage", "pass" if ok else "fail",
            f"validation {validation}, holdout {holdout}, cross-split duplicate pairs {leak}",
            {"validation": validation, "holdout": holdout, "leakage_pairs": leak},
        ))

    if not f.tokens:
        checks.append(Check("length within limit", "warn", "no token counts yet", {}))
    else:
        over = sum(1 for t in f.tokens if f.token_limit is not None and t > f.token_limit)
        longest = max(f.tokens)
        checks.append(Check(
            "length within limit", "pass" if over == 0 else "warn",
            f"{over} of {len(f.tokens)} examples over the limit of {f.token_limit} tokens "
            f"(longest {longest}); over-long examples are truncated from the end",
            {"over_limit": over, "limit": f.token_limit, "max": longest},
        ))

    # labels curator adds itself (review:..., e.g. the trainer's review:high-loss) are not classes
    user_labels = {lab: per for lab, per in f.labels.items() if not is_curator_label(lab)}
    if user_labels:
        totals = {lab: sum(per.values()) for lab, per in user_labels.items()}
        biggest, smallest = max(totals.values()), min(totals.values())
        ratio = biggest / smallest if smallest else float("inf")
        missing = sorted(
            f"{lab} not in {split}" for lab in user_labels
            for split in ("train", "validation", "holdout")
            if f.split_counts.get(split) and not user_labels[lab].get(split)
        )
        status = "fail" if missing else ("warn" if ratio > 10 else "pass")
        checks.append(Check(
            "label balance", status,
            f"largest/smallest label {ratio:.1f}x" + (f"; missing: {', '.join(missing)}" if missing else ""),
            {"counts": totals, "imbalance": ratio if smallest else None, "missing": missing,
             "not_counted": sorted(set(f.labels) - set(user_labels))},
        ))

    if f.pairs:  # only a workspace with preference pairs has this check
        share = f.chosen_longer / f.pairs
        biased = share > LENGTH_BIAS_WARN
        problems = ([f"pref.length_bias: the chosen answer is the longer one in {share:.0%} of "
                     f"pairs (above {LENGTH_BIAS_WARN:.0%}): the model may learn that longer is "
                     "better"] if biased else []) + \
            ([f"pref.contradiction: {f.contradicting_pairs} pairs contradict another pair on "
              "their prompt (label review:contradiction)"] if f.contradicting_pairs else [])
        checks.append(Check(
            "preference pairs", "warn" if problems else "pass",
            "; ".join(problems) if problems else
            f"{f.pairs} pairs; chosen longer in {share:.0%}; no contradicting pairs",
            {"pairs": f.pairs, "chosen_longer_share": round(share, 4), "length_bias": biased,
             "contradicting_pairs": f.contradicting_pairs},
        ))

    checks.append(Check(
        "baseline measured",
        "pass" if f.baseline_loss is not None else "warn",
        f"base model validation loss {f.baseline_loss:.4f}" if f.baseline_loss is not None
        else "no base-model evaluation yet; run `curator train` to measure the baseline",
        {"baseline_loss": f.baseline_loss},
    ))
    return checks


def coverage_lines(cov: CoverageSummary | None) -> list[str]:
    """The text report's Coverage section: the topic table (one line a topic, sizes as bars)
    and the over- and under-represented topics named; how to compute it when it was not."""
    if cov is None:
        return ["coverage: not computed; " + HOW_TO]
    lines = [f"coverage: {cov.records:,} prompts in {len(cov.topics)} topics "
             f"(computed {cov.computed_at})"]
    if cov.stale:
        lines.append("  " + cov.staleness())
    if cov.topics:
        lines += ["  " + line for line in table_lines(cov, examples=False)]
        lines += ["  " + line for line in findings(cov)]
    return lines


def verdict(checks: list[Check]) -> Status:
    return _worst([c.status for c in checks])


def to_json(checks: list[Check]) -> dict[str, Any]:
    return {"version": 1, "verdict": verdict(checks), "checks": [asdict(c) for c in checks]}


def to_html(checks: list[Check], facts: Facts, title: str, details: Details | None = None) -> str:
    """The self-contained HTML page (`curator.report_html.render`): the checklist and its plots,
    with the issues, clusters and training-run sections when `details` is given."""
    from curator.report_html import render

    return render(checks, facts, title, details)
