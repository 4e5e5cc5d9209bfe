"""Measure a workspace for the readiness report (`curator.report.assess` judges the facts).

What counts. The report looks at what `curator export` would write by default: records that are
not rejected, not marked duplicate by dedup and have a chat form ("included";
`curator.workspace.selection`). A duplicate counts as a decided
record (dedup decided it), so the reviewed share is (accepted + rejected + duplicates) / total.

Leakage is measured now, not read from the last split's report: records added or edited since
may have changed it. Two included records leak when they sit in different splits and share
normalised content (exact) or a dedup cluster (near).

The format line uses the issues stored with each record when the target is the one the
workspace was imported for; for another target every included record is checked again.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import orjson

from curator.dedup.exact import content_hash
from curator.dedup.normalize import normalize_example
from curator.labels import HIGH_LOSS_LABEL
from curator.quality.coverage import CoverageSummary
from curator.report import ClusterInfo, Details, Facts, IssueCode, TrainRun
from curator.split import DEFAULT_NAMES
from curator.workspace import Workspace
from curator.workspace.pairs import contradictions, length_bias
from curator.workspace.prepare import Preparer
from curator.workspace.selection import RECORDS_MARKED, RECORDS_R_MARKED, included_sql
from curator.workspace.settings import LAST_RUN_KEY, settings_for, split_names

UNSPLIT = "unsplit"
#: what an export writes by default (not rejected, not a duplicate, with a chat form)
_INCLUDED = included_sql(False)


def baseline_loss(last_run: Any) -> float | None:
    """The base model's validation loss from meta `train.last_run`, in the shapes train writes:
    `{"baseline": {"validation": {"loss": x}}}`, `{"baseline": {"validation": x}}`,
    `{"baseline_loss": x}` or `{"baseline_validation_loss": x}`."""
    if not isinstance(last_run, dict):
        return None
    candidates: list[Any] = [last_run.get("baseline_loss"),
                             last_run.get("baseline_validation_loss")]
    base = last_run.get("baseline")
    if isinstance(base, dict):
        val = base.get("validation")
        candidates += [val.get("loss") if isinstance(val, dict) else val, base.get("loss")]
    elif isinstance(base, (int, float)):
        candidates.append(base)
    for c in candidates:
        if isinstance(c, (int, float)) and not isinstance(c, bool):
            return float(c)
    return None


def _cross_split_pairs(groups: list[list[str]]) -> int:
    """Pairs of members of one group that sit in different splits."""
    total = 0
    for splits in groups:
        n = len(splits)
        same = sum(k * (k - 1) // 2 for k in Counter(splits).values())
        total += n * (n - 1) // 2 - same
    return total


def _ordered(counts: Counter[str]) -> dict[str, int]:
    first = [s for s in DEFAULT_NAMES if counts.get(s)]
    return {s: counts[s] for s in first + sorted(set(counts) - set(first))}


def gather_facts(ws: Workspace, *, target: str | None = None,
                 max_tokens: int | None = None) -> Facts:
    """Everything `report.assess` needs, measured on the workspace as it is now (one snapshot,
    so a commit by another process cannot make the numbers disagree)."""
    with ws.snapshot():
        return _gather(ws, target, max_tokens)


def _gather(ws: Workspace, target: str | None, max_tokens: int | None) -> Facts:
    c = ws.connection
    settings = settings_for(ws, target=target, max_tokens=max_tokens)
    # Stored issues hold unless another target than the import's is asked for by name.
    recheck = target is not None and target != settings.stored.target
    target, limit = settings.target, settings.limit  # limit None: unknown model, no explicit limit

    total, rejected, accepted, pending, dups = c.execute(
        "SELECT count(*), sum(status = 'rejected' OR dup_of IS NOT NULL), "
        "sum(status = 'accepted' AND dup_of IS NULL), sum(status = 'pending' AND dup_of IS NULL), "
        f"sum(dup_of IS NOT NULL) FROM {RECORDS_MARKED}").fetchone()
    total, rejected, accepted, pending, dups = (int(v or 0) for v in
                                                (total, rejected, accepted, pending, dups))

    checker = (Preparer(target, model=settings.model, max_tokens=settings.max_tokens) if recheck
               else None)
    dedup_params = ws.meta_json("dedup.params")
    include_system = bool(dedup_params.get("include_system")) if isinstance(dedup_params, dict) \
        else False

    split_counts: Counter[str] = Counter()
    tokens: list[int] = []
    with_errors = 0
    by_hash: dict[bytes, list[str]] = defaultdict(list)
    by_cluster: dict[int, list[str]] = defaultdict(list)
    errors_sql = ("EXISTS (SELECT 1 FROM issues i WHERE i.record_id = r.id "
                  "AND i.severity = 'error')")
    rows = c.execute(
        f"SELECT r.id, rm.split, coalesce(r.current, r.canonical), r.tokens_total, rm.cluster_id, "
        f"{errors_sql} FROM {RECORDS_R_MARKED} WHERE {_INCLUDED} ORDER BY r.id")
    names = split_names(ws)
    for _rid, split, text, tok, cluster, has_error in rows:
        name = names.to_canonical(split) if split is not None else UNSPLIT
        split_counts[name] += 1
        example = orjson.loads(text) if text is not None else None
        if checker is not None and example is not None:
            check = checker.check(example)
            with_errors += not check.ok
            tok = check.tokens_total
        else:
            with_errors += bool(has_error)
        if tok is not None:
            tokens.append(int(tok))
        if isinstance(example, dict):
            by_hash[content_hash(normalize_example(example, include_system=include_system))
                    ].append(name)
        if cluster is not None:
            by_cluster[cluster].append(name)

    exact = [members for members in by_hash.values() if len(members) > 1]
    del by_hash
    any_split = any(name != UNSPLIT for name in split_counts)
    leakage = (_cross_split_pairs(exact) + _cross_split_pairs(
        [m for m in by_cluster.values() if len(m) > 1])) if any_split else None

    labels: dict[str, dict[str, int]] = defaultdict(dict)
    for label, split, n in c.execute(
            f"SELECT l.label, m.split, count(*) FROM record_labels l "
            f"JOIN records r ON r.id = l.record_id LEFT JOIN record_marks m "
            f"ON m.record_id = r.id WHERE {_INCLUDED} GROUP BY 1, 2 ORDER BY 1, 2"):
        name = names.to_canonical(split) if split is not None else UNSPLIT
        labels[label][name] = labels[label].get(name, 0) + n

    # every duplicate cluster should have exactly one member in the export; none is a loss
    # unless every member was rejected (a decision, not dedup's doing)
    clusters = 0
    without_copy: list[int] = []
    with_copies: list[int] = []
    for cluster, exported, kept in c.execute(
            f"SELECT cluster_id, sum({_INCLUDED}), sum(status != 'rejected') FROM {RECORDS_MARKED} "
            "WHERE cluster_id IS NOT NULL GROUP BY cluster_id HAVING count(*) > 1 "
            "ORDER BY cluster_id"):
        clusters += 1
        if exported == 0 and kept:
            without_copy.append(cluster)
        elif exported > 1:
            with_copies.append(cluster)

    bias = length_bias(ws)
    dedup_run = dedup_params is not None or c.execute(
        "SELECT EXISTS (SELECT 1 FROM record_marks WHERE cluster_id IS NOT NULL)").fetchone()[0] == 1
    return Facts(
        total=total, rejected=rejected, accepted=accepted, pending=pending,
        with_errors=with_errors,
        split_counts=_ordered(split_counts) if any_split else {},
        dedup_run=bool(dedup_run), duplicates_marked=dups,
        exact_duplicates_included=len(exact), leakage_pairs=leakage,
        tokens=tokens, token_limit=limit, target=target, labels=dict(labels),
        baseline_loss=baseline_loss(ws.meta_json("train.last_run")),
        clusters=clusters, clusters_without_copy=without_copy, clusters_with_copies=with_copies,
        pairs=bias.pairs, chosen_longer=bias.chosen_longer,
        contradicting_pairs=sum(len(g) for g in contradictions(ws)) if bias.pairs else 0,
    )


# -- the HTML page's sections beyond the checklist ------------------------------------------------

#: report.json of a run is read for the HTML page up to this size (a hand-made or corrupt file
#: cannot make the report read gigabytes)
MAX_RUN_REPORT_BYTES = 64 << 20


def gather_details(ws: Workspace, *, codes: int = 12, examples: int = 5, clusters: int = 10,
                   queue_rows: int = 10) -> Details:
    """Issues by code (with a few example records each), cluster sizes and the largest clusters,
    and the last training run (meta `train.last_run`, its report.json and review queue), for
    `curator report --html`. One snapshot, like `gather_facts`."""
    with ws.snapshot():
        c = ws.connection
        rows = c.execute(
            f"SELECT i.code, max(i.severity = 'error'), count(DISTINCT i.record_id), "
            f"count(DISTINCT CASE WHEN {_INCLUDED} THEN i.record_id END) FROM issues i "
            "JOIN records r ON r.id = i.record_id LEFT JOIN record_marks m ON m.record_id = r.id "
            "GROUP BY i.code ORDER BY 3 DESC, 1").fetchall()
        issue_codes = [IssueCode(
            code, "error" if err else "warning", n, inc,
            [(int(rid), str(msg)) for rid, msg in c.execute(
                "SELECT record_id, min(message) FROM issues WHERE code = ? GROUP BY record_id "
                "ORDER BY record_id LIMIT ?", (code, examples))] if k < codes else [])
            for k, (code, err, n, inc) in enumerate(rows)]
        issue_records = int(c.execute("SELECT count(DISTINCT record_id) FROM issues").fetchone()[0])
        sizes: Counter[int] = Counter()
        largest: list[tuple[int, int]] = []
        for cid, size in c.execute(
                "SELECT cluster_id, count(*) FROM record_marks WHERE cluster_id IS NOT NULL "
                "GROUP BY cluster_id HAVING count(*) > 1 ORDER BY 2 DESC, 1"):
            sizes[int(size)] += 1
            if len(largest) < clusters:
                largest.append((int(cid), int(size)))
        infos = []
        for cid, size in largest:
            members = c.execute(f"SELECT id, {_INCLUDED} FROM {RECORDS_MARKED} WHERE cluster_id = ? "
                                "ORDER BY id", (cid,)).fetchall()
            infos.append(ClusterInfo(cid, size, [int(m) for m, _ in members[:examples * 2]],
                                     [int(m) for m, inc in members if inc]))
        last = ws.meta_json(LAST_RUN_KEY)
        flagged = [int(r) for (r,) in c.execute(
            "SELECT record_id FROM record_labels WHERE label = ? ORDER BY record_id LIMIT ?",
            (HIGH_LOSS_LABEL, queue_rows))]
    train = _train_run(last, ws.path, flagged, queue_rows) if isinstance(last, dict) else None
    return Details(issue_codes, issue_records, dict(sorted(sizes.items())), infos, train,
                   gather_coverage(ws))


def gather_coverage(ws: Workspace) -> CoverageSummary | None:
    """The stored topics of `curator coverage` and how the records changed since (None when
    it was never run), in one snapshot."""
    from curator.workspace.coverage import load

    with ws.snapshot():
        return load(ws)


def _run_file(name: Any, base: Path) -> Path | None:
    if not isinstance(name, str) or not name:
        return None
    path = Path(name)
    if path.is_absolute() or path.exists():
        return path
    return base / path  # train writes absolute paths; a relative one is read beside the workspace


def _train_run(last: dict[str, Any], ws_path: Path, flagged: list[int], rows: int) -> TrainRun:
    base = Path(ws_path).parent
    path = _run_file(last.get("report"), base)
    report: dict[str, Any] | None = None
    problem: str | None = None
    if path is None:
        problem = "train.last_run names no report.json"
    else:
        try:
            if path.stat().st_size > MAX_RUN_REPORT_BYTES:
                problem = f"{path} is over {MAX_RUN_REPORT_BYTES >> 20} MiB, not read"
            else:
                data = orjson.loads(path.read_bytes())
                if isinstance(data, dict):
                    report = data
                else:
                    problem = f"{path} is not a run report"
        except OSError as e:
            problem = f"{path} cannot be read ({e.strerror or e})"
        except orjson.JSONDecodeError:
            problem = f"{path} is not JSON"
    queue: list[dict[str, Any]] = []
    queue_path = _run_file(last.get("run_dir"), base)
    if queue_path is not None:
        try:
            with open(queue_path / "review_queue.jsonl", "rb") as f:
                for line in f:
                    if len(queue) >= rows:
                        break
                    try:
                        row = orjson.loads(line)
                    except orjson.JSONDecodeError:
                        continue
                    if isinstance(row, dict):
                        queue.append(row)
        except OSError:
            pass
    return TrainRun(last, report, problem, queue, flagged)
