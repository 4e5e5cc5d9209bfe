"""What the review app's keys ask for, as values rather than strings parsed back: a bulk action
(BulkChoice dismisses one; `bulk_job` applies it in a worker), the terms of the filter on screen
(the `/` search and the `v` status view read and replace theirs), and the small rules behind
other keys (a reject's default reason, the label set typed as text, why a filter failed)."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeAlias

from curator.issues import Issue
from curator.tui.jobs import JobFn, JobReport, Progress
from curator.workspace import STATUSES, Workspace, WorkspaceError

#: the reason a bulk reject records
BULK_REJECT_REASON = "bulk reject in review"
#: the reason a reject offers when the record has no error
DEFAULT_REASON = "rejected in review"
#: what applying a filter may raise and the app reports (the list stays as it was): the
#: filter language's errors, and what SQLite says of values it cannot take (an integer beyond
#: 64 bits) should one get past the language's own checks
FILTER_FAILURES = (WorkspaceError, OverflowError, sqlite3.Error)


@dataclass(frozen=True)
class SetStatus:
    """Set every chosen record's status (with `reason` when rejecting)."""

    status: str
    reason: str | None = None

    @property
    def verb(self) -> str:
        return {"accepted": "Accept", "rejected": "Reject"}.get(self.status,
                                                                  "Set back to pending")


@dataclass(frozen=True)
class AddLabel:
    """Put `label` on every chosen record."""

    label: str

    @property
    def verb(self) -> str:
        return f"Label {self.label!r} on"


BulkAction: TypeAlias = SetStatus | AddLabel


def bulk_job(action: BulkAction, ids: list[int] | None, where: list[str]) -> JobFn:
    """Apply `action` to the records `ids` (the marked ones), or when None to those matching
    `where`: in chunks with progress, as one transaction and one journal entry (one undo takes
    it back); cancelling rolls it all back."""

    def run(ws: Workspace, progress: Progress, cancelled: Callable[[], bool]) -> JobReport:
        sel_where = None if ids is not None else where
        if isinstance(action, AddLabel):
            change = ws.add_labels(ids, [action.label], where=sel_where, progress=progress)
        else:
            change = ws.set_status(ids, action.status, action.reason, where=sel_where,
                                   progress=progress)
        return JobReport(change.summary)
    return run


# -- the terms of a filter --------------------------------------------------------------------

#: KEY OP VALUE, as the workspace's filter language reads one term (compile_filters)
_TERM_RE = re.compile(r"^\s*([a-z_]+)\s*(!=|>=|<=|=|>|<|~)\s*(.*?)\s*$", re.DOTALL)


@dataclass(frozen=True)
class FilterTerm:
    key: str
    op: str
    value: str


def parse_term(text: str) -> FilterTerm | None:
    """One filter term split as the filter language splits it; None when it is not one (the
    workspace says why when the filter is applied)."""
    m = _TERM_RE.match(text)
    return FilterTerm(m.group(1), m.group(2), m.group(3)) if m else None


def _is(text: str, key: str, op: str | None) -> bool:
    term = parse_term(text)
    return term is not None and term.key == key and (op is None or term.op == op)


def term_value(where: Sequence[str], key: str, op: str) -> str | None:
    """The value of the first `key op VALUE` term in `where`, if there is one."""
    for text in where:
        term = parse_term(text)
        if term is not None and term.key == key and term.op == op:
            return term.value
    return None


def without(where: Sequence[str], key: str, op: str | None = None) -> list[str]:
    """`where` less its terms on `key` (with operator `op`, or any)."""
    return [text for text in where if not _is(text, key, op)]


def next_status_view(where: Sequence[str]) -> list[str]:
    """`where` with its `status=` term moved on one step: none, then each status in turn."""
    now = term_value(where, "status", "=")
    order: list[str | None] = [None, *STATUSES]
    nxt = order[(order.index(now) + 1) % len(order)] if now in order else None
    return without(where, "status", "=") + ([f"status={nxt}"] if nxt else [])


def filter_failure(where: Sequence[str], exc: Exception) -> str:
    """Why a filter (one of FILTER_FAILURES) was not applied, for the status line."""
    if isinstance(exc, OverflowError):
        why = f"a number is too large (at most {2**63 - 1:,})"
    elif isinstance(exc, WorkspaceError):
        why = str(exc)
    else:
        why = f"{type(exc).__name__}: {exc}"
    return f"filter {' '.join(where)} not applied: {why}"


# -- other keys -------------------------------------------------------------------------------


def default_reason(issues: Iterable[Issue]) -> str:
    """The reason a reject offers: the record's first error code, else DEFAULT_REASON."""
    return next((i.code for i in issues if i.severity == "error"), DEFAULT_REASON)


def label_set(text: str) -> list[str]:
    """The label set typed as `a, b, c`: names in order, blanks and repeats dropped."""
    return list(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
