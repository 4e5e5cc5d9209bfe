"""Split a workspace into train / validation / holdout, leakage-free, sealed (curator.split).

Which records: every record with a chat form that is not rejected. Rejected records get no new
split (a split they already have stays: nothing sealed moves).

Units. Records that must land together form one unit: the transitive components of every
verified duplicate pair, the clusters dedup marked, and the `group_by` values. The pairs are
the last dedup run's when nothing it compared has changed since (same eligible records, same
edits, same settings: `workspace.dedup.content_key`); otherwise they are found afresh on the current
texts with that run's settings, so an edit or an import since dedup is seen. A unit
never straddles two splits, unless its records were already sealed apart.

Sealing. Records that have a split keep it; new records fill each split towards its ratio
(curator.split.assign_splits). Nothing leaves the holdout (the store refuses it too).

Leakage. After assigning, the report counts exact and near-duplicate pairs across splits over
the records an export would write (not rejected, not marked duplicate), the label balance per
split and the classes a split lacks. A split with leaks is not written unless `force`; the
report is stored in meta `split.report` with the split, and the parameters in `split.params`.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from curator.dedup import DedupResult
from curator.dedup.settings import DedupSettings
from curator.split import (
    DEFAULT_NAMES,
    LeakageReport,
    SplitItem,
    assign_splits,
    check_ratios,
    leakage_report,
)
from curator.workspace import Change, Workspace, WorkspaceError
from curator.workspace.dedup import (
    ELIGIBLE_SQL,
    Eligible,
    cache_settings,
    content_key,
    run_find,
    save_pairs,
)
from curator.workspace.export import sizes_line
from curator.workspace.selection import RECORDS_MARKED

_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
MAX_LISTED_PAIRS = 100
NO_LABEL = "(none)"


@dataclass(frozen=True)
class SplitOutcome:
    params: dict[str, Any]
    report: LeakageReport
    records: int  # records split (sealed + new)
    new: int  # records that got a split in this run
    straddling: list[str]  # units whose sealed records already sat in two splits
    written: bool
    change: Change | None = None
    warnings: list[str] = field(default_factory=list)
    #: split -> records placed there that dedup marked duplicate (not exported, not in `sizes`)
    duplicates: dict[str, int] = field(default_factory=dict)
    #: splits with a share above 0 that hold no exported record; not written unless forced
    empty: list[str] = field(default_factory=list)
    #: why the splits are empty and how to fix it (None when none is)
    empty_message: str | None = None

    @property
    def leaks(self) -> int:
        return self.report.leaks

    def report_dict(self) -> dict[str, Any]:
        """The leakage report as stored in meta `split.report`."""
        r = self.report

        def pairs(leaks: Sequence[Any]) -> list[dict[str, Any]]:
            return [{"a": p.a, "b": p.b, "split_a": p.split_a, "split_b": p.split_b,
                     "similarity": round(p.similarity, 4)} for p in leaks[:MAX_LISTED_PAIRS]]

        return {
            "sizes": r.sizes,
            "exact_leaks": len(r.exact_leaks),
            "near_leaks": len(r.near_leaks),
            "exact_leak_pairs": pairs(r.exact_leaks),
            "near_leak_pairs": pairs(r.near_leaks),
            "label_counts": {name: {NO_LABEL if k is None else k: v for k, v in sorted(
                counts.items(), key=lambda kv: kv[0] or "")} for name, counts in
                r.label_counts.items()},
            "missing_classes": {name: [NO_LABEL if k is None else k for k in labels]
                                for name, labels in r.missing_classes.items()},
            "straddling_units": self.straddling[:MAX_LISTED_PAIRS],
        }

    def to_dict(self) -> dict[str, Any]:
        return {"params": self.params, "records": self.records, "new": self.new,
                "written": self.written, "leaks": self.leaks,
                "journal_entry": self.change.entry_id if self.change is not None else None,
                "warnings": self.warnings, "report": self.report_dict(),
                "sizes": dict(self.report.sizes), "duplicates": dict(self.duplicates),
                "empty_splits": list(self.empty), "empty_message": self.empty_message}

    def summary(self) -> str:
        """The one count per split (records an export writes from it), duplicates apart: the
        same line in `curator split`'s output, the journal and the stats screen."""
        return sizes_line(self.report.sizes, self.duplicates)


def _dedup_settings(ws: Workspace) -> DedupSettings:
    """The last dedup run's parameters, or dedup's defaults."""
    stored = ws.meta("dedup.params")
    return DedupSettings.from_meta(None if stored is None else orjson.loads(stored))


def _group_sql(group_by: str) -> str:
    if group_by == "source":
        return "source_file"
    if not _KEY_RE.match(group_by):
        raise WorkspaceError(
            f"--group-by {group_by!r}: give 'source' (the file a record came from) or a key of "
            f"the example such as user_id or metadata.conversation"
        )
    return f"json_extract(coalesce(current, canonical), '$.{group_by}')"


#: A preference or feedback record's prompt (its messages' JSON), NULL for chat: records that
#: share a prompt are one split unit, so pairs on one prompt never straddle two splits.
_PROMPT_SQL = ("CASE WHEN kind != 'chat' THEN "
               "json_extract(coalesce(current, canonical), '$.prompt') END")


def _duplicate_pairs(
    ws: Workspace, settings: DedupSettings, processes: int | None,
    progress: Callable[[int, int], None] | None, ids: list[int] | None = None,
) -> tuple[list[tuple[int, int, float]], list[list[int]], bool]:
    """(near pairs, exact groups, reused): the last dedup run's pairs when the content and
    settings are still those it saw, else found afresh (and kept for the next split).
    `ids`: the eligible records in id order, when the caller has read them already."""
    eligible = Eligible.read(ws) if ids is None else Eligible.with_ids(ws, ids)
    key = content_key(ws, cache_settings(settings), eligible)
    if ws.meta("dedup.cache") == key:
        near: list[tuple[int, int, float]] = []
        groups: dict[int, list[int]] = {}
        for a, b, similarity, exact in ws.dedup_pairs():
            if exact:
                groups.setdefault(a, [a]).append(b)
            else:
                near.append((a, b, similarity))
        return near, list(groups.values()), True
    found: DedupResult = run_find(ws, settings, processes=processes, progress=progress,
                                  eligible=eligible, key=key)
    save_pairs(ws, key, found)
    return found.pairs, [list(g.ids) for g in found.exact_groups], False


def _duplicate_units(links: Sequence[tuple[int, int, float]],
                     exact_groups: Sequence[Sequence[int]]) -> dict[int, str]:
    """curator.split.duplicate_groups (record id -> "dup:<smallest id of its component>" for
    every record in a link or a group), its union-find compiled: at 1M records it walked
    700,000 links in Python."""
    import numpy as np

    from curator.dedup import kernels

    ends = np.fromiter(itertools.chain.from_iterable((a, b) for a, b, _ in links),
                       dtype=np.int64, count=2 * len(links))
    members = [np.fromiter(g, dtype=np.int64) for g in exact_groups]
    group_left = [np.full(len(m), m[0]) for m in members if len(m)]
    left = np.concatenate([ends[0::2], *group_left])
    right = np.concatenate([ends[1::2], *(m for m in members if len(m))])
    nodes, index = np.unique(np.concatenate([left, right]), return_inverse=True)
    roots = kernels.components(index[: len(left)], index[len(left) :], len(nodes))
    return dict(zip(nodes.tolist(), [f"dup:{r}" for r in nodes[roots].tolist()], strict=True))


def split_workspace(
    ws: Workspace,
    *,
    ratios: Sequence[float] = (0.8, 0.1, 0.1),
    seed: int = 0,
    stratify: str | None = None,
    group_by: str | None = None,
    force: bool = False,
    names: Sequence[str] = DEFAULT_NAMES,
    processes: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SplitOutcome:
    """Assign splits to the workspace's records; see the module docstring."""
    check_ratios(ratios, names)
    if stratify not in (None, "label"):
        raise WorkspaceError(f"--stratify {stratify!r}: only 'label' is known")
    conn = ws.connection
    group_col = _group_sql(group_by) if group_by else "NULL"
    rows = conn.execute(
        f"SELECT id, split, cluster_id, dup_of, {group_col}, {_PROMPT_SQL} FROM {RECORDS_MARKED} "
        f"WHERE {ELIGIBLE_SQL} ORDER BY id"
    ).fetchall()
    # a record's class is its sorted labels; balance is reported whether or not it stratifies
    labels: dict[int, str | None] = dict(conn.execute(
        "SELECT record_id, group_concat(label, ',') FROM (SELECT record_id, label FROM "
        "record_labels ORDER BY record_id, label) GROUP BY record_id"
    ).fetchall())

    dedup_settings = _dedup_settings(ws)
    near_pairs, exact_groups, reused = _duplicate_pairs(ws, dedup_settings, processes, progress,
                                                        [r[0] for r in rows])

    # union-find links: verified pairs, exact groups, marked clusters, group-by values
    links: list[tuple[int, int, float]] = list(near_pairs)
    by_cluster: dict[int, int] = {}
    by_group: dict[Any, int] = {}
    by_prompt: dict[Any, int] = {}
    for record_id, _, cluster_id, _, group, prompt in rows:
        for key, seen in ((cluster_id, by_cluster), (group, by_group), (prompt, by_prompt)):
            if key is None:
                continue
            first = seen.setdefault(key, record_id)
            if first != record_id:
                links.append((first, record_id, 1.0))
    unit_of = _duplicate_units(links, exact_groups)

    existing = {r[0]: r[1] for r in rows if r[1] is not None}
    unknown = sorted({s for s in existing.values() if s not in names})
    if unknown:
        raise WorkspaceError(
            f"records sit in split {', '.join(unknown)}, not one of {', '.join(names)}"
        )
    items = [SplitItem(r[0], unit_of.get(r[0]), labels.get(r[0])) for r in rows]
    result = assign_splits(items, ratios, seed=seed, names=names,
                           stratify=stratify == "label", existing=existing)

    exported = dict(result.splits)
    duplicates = dict.fromkeys(names, 0)
    for record_id, _, _, dup_of, _, _ in rows:
        if dup_of is not None and record_id in exported:
            name = exported.pop(record_id)
            duplicates[name] = duplicates.get(name, 0) + 1
    report = leakage_report(
        exported, exact_groups=exact_groups, near_pairs=near_pairs,
        labels={i: labels.get(i) for i in exported}, names=names,
    )
    params = {"ratios": list(ratios), "seed": seed, "stratify": stratify, "group_by": group_by,
              "names": list(names), "dedup": dedup_settings.to_dict(), "dedup_pairs_reused": reused}
    new = {i: s for i, s in result.splits.items() if existing.get(i) != s}
    warnings = []
    if result.straddling:
        warnings.append(f"{len(result.straddling)} units were already split apart by an "
                        f"earlier run; sealed records are never moved")
    empty = [name for name, ratio in zip(names, ratios, strict=True)
             if ratio > 0 and not report.sizes.get(name)] if rows else []
    message = None
    if empty:
        units = len({unit_of.get(r[0], f"r:{r[0]}") for r in rows})
        message = _empty_message(empty, report.sizes, len(rows), units, len(existing),
                                 group_by, sum(1 for r in ratios if r > 0))
    outcome = SplitOutcome(params, report, len(result.splits), len(new),
                           result.straddling, written=False, warnings=warnings,
                           duplicates=duplicates, empty=empty, empty_message=message)
    if (report.leaks or empty) and not force:
        return outcome
    report_json = orjson.dumps(outcome.report_dict(), option=orjson.OPT_SORT_KEYS).decode()
    change = ws.set_splits(new, params, meta={
        "split.params": orjson.dumps(params, option=orjson.OPT_SORT_KEYS).decode(),
        "split.report": report_json,
    }, summary=f"split: {outcome.summary()}; {len(new):,} newly placed")
    return SplitOutcome(params, report, len(result.splits), len(new), result.straddling,
                        written=True, change=change, warnings=warnings, duplicates=duplicates,
                        empty=empty, empty_message=message)


def _empty_message(empty: list[str], sizes: dict[str, int], records: int, units: int,
                   sealed: int, group_by: str | None, wanted: int) -> str:
    """Why a split comes out empty, and what to do about it."""
    shown = ", ".join(f"{k} {v}" for k, v in sizes.items())
    head = f"{' and '.join(empty)} would be empty ({shown})"
    if sealed == records:
        why = ("every record already has its split from an earlier run, and records keep "
               "theirs; undo that split (`curator log`, then `curator undo`) and split again")
    elif units < wanted:
        grouped = (f"--group-by {group_by} gives" if group_by else "duplicate clusters give")
        why = (f"{grouped} only {units} group(s) for {wanted} splits, and a group never "
               f"straddles two splits; " + ("group by a key with more distinct values (or "
               "none)" if group_by else "resolve the duplicates or add records"))
    else:
        why = (f"the {records} records form {units} unit(s) (records that must stay together "
               "count as one), too few for these ratios; add records, or change --ratios or "
               "--seed")
    return f"{head}: {why}. --force writes it anyway."
