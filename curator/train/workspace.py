"""A workspace as the trainer's data source, and the run's result written back to it.

Read: every record with a split, in its current form (the edit if there is one), that is not
rejected and not marked as a duplicate (what `curator export` writes). `load_workspace` reads the
chat records (SFT), `load_workspace_pairs` the preference records (DPO); each leaves the other
kinds out and says so. `curator split` names the three splits (meta
`split.params`, key `names`; `split_params` in an older workspace); they map in order onto
train, validation and holdout (`curator.workspace.settings.split_names`).

Write back, as one journal entry (one `curator undo` takes it all back): the highest-loss records
of train (with --rank-train) and validation get the label `review:high-loss` (taken off the
records of an earlier run) and a note line with their loss, and meta `train.last_run` holds the
run's figures and verdict. Holdout records are never labelled or noted.

A DPO run writes nothing back: it ranks no review queue, and `train.last_run` keeps the last SFT
run's figures. Either way the holdout stays sealed: its records are only measured.

No torch here: the CLI reads the workspace before the trainer loads.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sized
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from curator.labels import HIGH_LOSS_LABEL as REVIEW_LABEL
from curator.split import DEFAULT_NAMES as SPLITS
from curator.train.data import (
    Example,
    PreferenceExample,
    PreferenceSplits,
    Rejected,
    RowRules,
    Splits,
    canonical_pair,
)
from curator.train.errors import UsageError
from curator.workspace import Change, Workspace
from curator.workspace.settings import LAST_RUN_KEY, split_names
from curator.workspace.views.train import kind_counts, split_ids, split_records, trainer_notes

#: the note line the trainer owns; a later run replaces it, the rest of a note is the user's.
NOTE_PREFIX = "[train] "


@dataclass
class WorkspaceData:
    """The splits read from a workspace, and what was left out and why."""

    splits: Splits
    names: dict[str, str]  # train|validation|holdout -> the workspace's split name
    skipped: dict[str, list[int]] = field(default_factory=dict)  # reason -> record ids

    def notes(self) -> Iterator[str]:
        yield from _skipped_notes(self.skipped)


def _skipped_notes(skipped: dict[str, list[int]]) -> Iterator[str]:
    for reason, ids in skipped.items():
        shown = ", ".join(map(str, ids[:5])) + (" ..." if len(ids) > 5 else "")
        yield f"workspace: {len(ids)} record(s) with a split left out ({reason}): {shown}"


def _no_split_yet(ws: Workspace) -> UsageError:
    return UsageError(f"{ws.path}: no record has a split yet, so there is no train, validation or holdout set",
                      fix=f"run `curator split -w {ws.path}` first (it also seals the holdout)")


def _unknown_split(split: str, names: dict[str, str]) -> str:
    return f"split {split!r} is not one of {', '.join(names.values())}"


def _left_out_reason(why: str, split: str, by_name: dict[str, str], names: dict[str, str]) -> str:
    """Why the selection leaves a record out (`selection.REASONS`), in the trainer's words."""
    if why in ("rejected", "duplicate"):
        return "rejected" if why == "rejected" else "marked duplicate"
    return _unknown_split(split, names) if split not in by_name else "no parsed content"


def load_workspace(ws: Workspace) -> WorkspaceData:
    """Read the three splits; a workspace without splits is a usage error that says what to run."""
    names = split_names(ws).by_canonical()
    by_name = {v: k for k, v in names.items()}
    found = split_records(ws)  # what an export writes, and why the rest is left out
    if not found.included and not found.excluded:
        raise _no_split_yet(ws)

    def unknown(split: str) -> str:
        return f"split {split!r} is not one of {', '.join(names.values())}"

    loaded: dict[str, list[Example]] = {k: [] for k in SPLITS}
    rejected: dict[str, list[Rejected]] = {}
    left_out: list[tuple[int, str]] = [  # (id, reason); the selection's reasons in our words
        (r.id, "rejected" if r.why == "rejected" else "marked duplicate" if r.why == "duplicate"
         else unknown(r.split) if r.split not in by_name else "no chat form")
        for r in found.excluded]
    rules = RowRules()  # the same rules as `curator validate` and `import`, for the trainer's target
    for row in found.included:
        rid, split = row.id, row.split
        reason = None
        chat = None
        if split not in by_name:
            reason = unknown(split)
        else:
            try:
                value = orjson.loads(row.text)
            except orjson.JSONDecodeError:
                value = None
            if not isinstance(value, dict) or "messages" not in value:
                reason = "not a chat example (a preference row, or invalid)"
            else:
                chat, bad = rules.example(value, f"record {rid}")
                if bad is not None:
                    reason = "rejected by the validation rules"
                    rejected.setdefault(by_name[split], []).append(bad)
        if chat is None:
            left_out.append((rid, reason or "unusable"))
            continue
        loaded[by_name[split]].append(Example(chat, str(row.source_file or ws.path), row.source_line,
                                              row.example_index or 0, record_id=rid))
    skipped = _left_out_by_reason(ws, names, loaded, left_out, "record")
    return WorkspaceData(Splits(loaded["train"], loaded["validation"], loaded["holdout"], rejected), names, skipped)


@dataclass
class WorkspacePairs:
    """The preference pairs of a workspace's three splits (for `--method dpo`), and what was left
    out and why."""

    splits: PreferenceSplits
    names: dict[str, str]  # train|validation|holdout -> the workspace's split name
    skipped: dict[str, list[int]] = field(default_factory=dict)  # reason -> record ids
    unsplit: int = 0  # preference records an export would write that have no split

    def notes(self) -> Iterator[str]:
        yield from _skipped_notes(self.skipped)
        if self.unsplit:
            yield (f"workspace: {self.unsplit} preference record(s) have no split (imported after `curator split`?) "
                   "and are left out; `curator split` again places them")


def load_workspace_pairs(ws: Workspace) -> WorkspacePairs:
    """Read the preference records of the three splits, as `load_workspace` reads chat records:
    only what an export writes (not rejected, not marked duplicate), in its current form, in the
    split `curator split` assigned. Chat and feedback records are left out (and counted in the
    notes); a workspace without splits, or without a preference record in a split, is a usage
    error that says what it holds and what to run."""
    names = split_names(ws).by_canonical()
    by_name = {v: k for k, v in names.items()}
    found = split_records(ws)
    if not found.included and not found.excluded:
        raise _no_split_yet(ws)
    counts = kind_counts(ws)
    pairs_split, pairs_unsplit = counts.get("preference", (0, 0))
    if pairs_split == 0:
        chats = sum(counts.get("chat", (0, 0)))
        held = f"it holds {chats} chat record(s) and no preference pair with a split" if chats else \
            "it holds no preference pair with a split"
        if pairs_unsplit:
            raise UsageError(f"{ws.path}: {pairs_unsplit} preference record(s) have no split yet, so DPO has no "
                             "train, validation or holdout pairs", fix=f"run `curator split -w {ws.path}` again")
        fix = (f"train the chat records with --method sft (`curator train -w {ws.path}`), or import preference "
               "pairs (OpenAI DPO, TRL prompt/chosen/rejected, LLaMA-Factory ranking) and split again")
        raise UsageError(f"{ws.path}: no preference record to train with --method dpo ({held})", fix=fix)

    loaded: dict[str, list[PreferenceExample]] = {k: [] for k in SPLITS}
    rejected: dict[str, list[Rejected]] = {}
    left_out = [(r.id, _left_out_reason(r.why, r.split, by_name, names)) for r in found.excluded]
    for row in found.included:
        rid, split = row.id, row.split
        if split not in by_name:
            left_out.append((rid, _unknown_split(split, names)))
            continue
        if row.kind != "preference":
            left_out.append((rid, "a chat record: --method sft trains it" if row.kind == "chat"
                             else f"a {row.kind} record, not a pair"))
            continue
        try:
            value = orjson.loads(row.text)
        except orjson.JSONDecodeError:
            value = None
        if not isinstance(value, dict):
            left_out.append((rid, "unusable"))
            continue
        ex, bad = canonical_pair(value, f"record {rid}", str(row.source_file or ws.path), row.source_line,
                                 row.example_index or 0, record_id=rid)
        if ex is None:
            assert bad is not None
            left_out.append((rid, "rejected by the pair checks"))
            rejected.setdefault(by_name[split], []).append(bad)
            continue
        loaded[by_name[split]].append(ex)
    skipped = _left_out_by_reason(ws, names, loaded, left_out, "preference pair")
    splits = PreferenceSplits(loaded["train"], loaded["validation"], loaded["holdout"], rejected,
                              {k: {"workspace": len(v)} for k, v in loaded.items()})
    return WorkspacePairs(splits, names, skipped, pairs_unsplit)


def _metric(rep: dict[str, Any], stage: str, split: str) -> dict[str, Any] | None:
    m = (rep.get(stage) or {}).get(split)
    return None if m is None else {k: m.get(k) for k in ("loss", "perplexity", "token_accuracy")}


def last_run(report: dict[str, Any], out: Path, finished: str) -> dict[str, Any]:
    """The `train.last_run` value: enough to compare runs without opening report.json."""
    return {
        "run_dir": str(out), "report": str(out / "report.json"), "finished": finished,
        "verdict": report.get("verdict"), "reasons": report.get("reasons", []),
        "model": (report.get("model") or {}).get("spec"),
        "steps": (report.get("training") or {}).get("steps"),
        "baseline": {s: _metric(report, "baseline", s) for s in ("validation", "holdout")},
        "tuned": {s: _metric(report, "tuned", s) for s in ("validation", "holdout")},
        "review_queue": (report.get("review_queue") or {}).get("count", 0),
        "comparison": report.get("comparison"), "next_steps": report.get("next_steps", []),
        "warnings": report.get("warnings", []),
    }


def _note(old: str | None, line: str | None) -> str | None:
    kept = [x for x in (old or "").splitlines() if not x.startswith(NOTE_PREFIX)]
    if line:
        kept.append(line)
    return "\n".join(kept) or None


def write_back(ws: Workspace, report: dict[str, Any], out: Path, finished: str) -> Change:
    """Label the review queue's records, note their loss, set `train.last_run`: one journal entry.

    Records of an earlier run's queue lose the label and the trainer's note line, so the label
    always means "in the last run's queue".
    """
    queue = out / "review_queue.jsonl"
    rows = [json.loads(x) for x in queue.read_text(encoding="utf-8").splitlines() if x.strip()] \
        if report.get("review_queue") and queue.is_file() else []
    # The holdout stays sealed: its records are never labelled or noted, whatever the queue says
    # (the recipe does not rank them; this holds for a queue file written by anything else too).
    holdout = split_ids(ws, split_names(ws).to_workspace("holdout"))
    rows = [r for r in rows if r.get("record_id") is not None and r.get("split") != "holdout"
            and int(r["record_id"]) not in holdout]
    flagged = {int(r["record_id"]): r for r in rows}
    old = trainer_notes(ws, REVIEW_LABEL, NOTE_PREFIX, flagged)
    notes: dict[int, str | None] = {}
    for rid, before in old.items():
        r = flagged.get(rid)
        line = (f"{NOTE_PREFIX}loss {r['loss']:.3f} nats/token under the tuned model, rank {r['rank']} of "
                f"{len(flagged)}, {r['split']} split, run {out}") if r else None
        after = _note(before, line)
        if after != before:
            notes[rid] = after
    value = json.dumps(last_run(report, out, finished), ensure_ascii=False, allow_nan=False)
    summary = (f"train: {report.get('verdict')}; {len(flagged)} highest-loss records labelled {REVIEW_LABEL}"
               f" (run {out})")
    return ws.flag_records(REVIEW_LABEL, flagged, notes=notes, exclusive=True, meta={LAST_RUN_KEY: value},
                           action="train", summary=summary)


def _left_out_by_reason(ws: Workspace, names: dict[str, str], loaded: Mapping[str, Sized],
                        left_out: list[tuple[int, str]], what: str) -> dict[str, list[int]]:
    """reason -> the ids left out for it, in id order (as the notes list them); a split left with
    nothing to train or measure on is a usage error."""
    skipped: dict[str, list[int]] = {}
    for rid, reason in sorted(left_out):
        skipped.setdefault(reason, []).append(rid)
    for key in SPLITS:
        if not loaded[key]:
            raise UsageError(f"{ws.path}: the {key} split ({names[key]!r}) has no usable {what} "
                             "(rejected and duplicate-marked records are left out)",
                             fix=f"run `curator split -w {ws.path}` again, or accept more {what.split()[-1]}s")
    return skipped
