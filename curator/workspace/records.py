"""What the workspace stores and returns: statuses, the changeable fields, and the result types
(a change, a journal entry, a list row, a page, a record's details, a duplicate cluster, a record
as import stores it)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from curator.issues import Issue

Status = Literal["pending", "accepted", "rejected"]
STATUSES: tuple[str, ...] = ("pending", "accepted", "rejected")
#: what a record holds: a chat example, a preference pair (DPO/ORPO), or KTO's unpaired feedback
KINDS: tuple[str, ...] = ("chat", "preference", "feedback")

#: records columns an action may change; only these names are ever put into SQL text.
SCALAR_FIELDS = frozenset(
    {"status", "reason", "note", "current", "tokens_total", "tokens_trained",
     "cluster_id", "dup_of", "similarity", "split", "tokens_sides"}
)
#: the scalar fields kept in table `record_marks` (migration v9), not in `records` itself:
#: the marks split and dedup write, one narrow row a record (workspace/selection.py)
MARK_FIELDS = frozenset({"cluster_id", "dup_of", "similarity", "split"})
HOLDOUT = "holdout"


@dataclass(frozen=True, slots=True)
class Change:
    """What one mutating call did. `entry_id` is None when nothing changed (nothing journaled)."""

    entry_id: int | None
    action: str
    selected: int
    changed: int
    summary: str


@dataclass(frozen=True, slots=True)
class JournalEntry:
    id: int
    ts: str
    actor: str
    action: str
    summary: str
    params: dict[str, Any] | None
    n_changes: int
    undoable: bool
    state: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "ts": self.ts, "actor": self.actor, "action": self.action,
            "summary": self.summary, "params": self.params, "n_changes": self.n_changes,
            "undoable": self.undoable, "state": self.state,
        }


@dataclass(frozen=True, slots=True)
class RecordSummary:
    """A light row for a list view: no big JSON, a short preview instead."""

    id: int
    status: str
    reason: str | None
    split: str | None
    cluster_id: int | None
    dup_of: int | None
    tokens_total: int | None
    edited: bool
    labels: tuple[str, ...]
    issue_codes: tuple[str, ...]
    preview: str


@dataclass(frozen=True, slots=True)
class Page:
    rows: list[RecordSummary]
    #: pass as `after` to get the next page; None when this page is the last.
    next_key: tuple[Any, int] | None


@dataclass(frozen=True, slots=True)
class RecordDetail:
    id: int
    uid: str
    source_file: str | None
    source_line: int | None
    example_index: int | None
    raw: str
    format: str | None
    canonical: dict[str, Any] | None
    current: dict[str, Any] | None
    status: str
    reason: str | None
    note: str | None
    tokens_total: int | None
    tokens_trained: int | None
    cluster_id: int | None
    dup_of: int | None
    similarity: float | None
    split: str | None
    created: str
    labels: list[str]
    issues: list[Issue]
    #: chat, preference or feedback (KINDS)
    kind: str = "chat"
    #: a pair's token counts per side ({"prompt", "chosen", "rejected"}); None for chat
    tokens_sides: dict[str, int] | None = None

    @property
    def example(self) -> dict[str, Any] | None:
        """The form to use: the edit when there is one, else the canonical form."""
        return self.current if self.current is not None else self.canonical

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "uid": self.uid, "source_file": self.source_file,
            "source_line": self.source_line, "example_index": self.example_index,
            "raw": self.raw, "format": self.format, "canonical": self.canonical,
            "current": self.current, "status": self.status, "reason": self.reason,
            "note": self.note, "tokens_total": self.tokens_total,
            "tokens_trained": self.tokens_trained, "cluster_id": self.cluster_id,
            "dup_of": self.dup_of, "similarity": self.similarity, "split": self.split,
            "created": self.created, "labels": self.labels,
            "issues": [i.to_dict() for i in self.issues],
            "kind": self.kind, "tokens_sides": self.tokens_sides,
        }


@dataclass(frozen=True, slots=True)
class DuplicateCluster:
    """A keeper and its duplicates, each with its similarity to the keeper (1.0 = exact)."""

    keeper: int
    duplicates: Mapping[int, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class NewRecord:
    """A record as import stores it. `canonical` is canonical JSON text (None: unparseable)."""

    uid: str
    source_file: str
    source_line: int | None
    example_index: int | None
    raw: str
    format: str | None
    canonical: str | None
    status: str
    reason: str | None
    tokens_total: int | None
    tokens_trained: int | None
    issues: Sequence[Issue]
    kind: str = "chat"
    #: JSON text of the per-side token counts of a pair (None for chat)
    tokens_sides: str | None = None

