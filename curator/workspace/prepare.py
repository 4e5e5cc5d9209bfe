"""From a parsed row to what a workspace stores: canonical chat form, issues, token counts.

The same checks as `curator validate` run on every record (`Preparer.check`), so a record's
issues in the workspace, in the review app after an edit, and in `curator validate` agree.

Rows in another chat format (Alpaca, ShareGPT, prompt/completion, TRL keys, LLaMA-Factory v1)
are converted to OpenAI chat, the canonical form, and the conversion's own notes (a mapped
role, a lossy field) are kept with the record. Preference rows are stored as they are: they
are validated now and curated later.

This module defines the seam the importer calls (`Prepare`: a parsed row in, a `PreparedRecord`
out); `curator.workspace.importer` imports it from here and uses a `Preparer("openai")` when
its caller passes none.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from curator.formats.detect import (
    AMBIGUOUS,
    PREFERENCE_FORMATS,
    UNKNOWN,
    classify,
    row_detection_issue,
)
from curator.formats.to_chat import to_chat
from curator.io import Row
from curator.issues import Issue
from curator.validate.engine import NO_COUNT, Options, RowChecker

MAX_ISSUES_PER_ROW = 50


@dataclass(slots=True)
class PreparedRecord:
    """What `prepare` makes of one parsed row.

    `status` None lets import decide: rejected (reason = first error code) when any issue is an
    error, else pending.
    """

    format: str | None
    canonical: dict[str, Any]
    issues: list[Issue] = field(default_factory=list)
    tokens_total: int | None = None
    tokens_trained: int | None = None
    status: str | None = None


#: the importer's seam: one parsed row in, what the workspace stores of it out (picklable when
#: the import runs in worker processes)
Prepare = Callable[[Row], PreparedRecord]


@dataclass(frozen=True, slots=True)
class ExampleCheck:
    """What the validator says of one example."""

    format: str
    issues: list[Issue]
    tokens_total: int | None
    tokens_trained: int | None

    @property
    def ok(self) -> bool:
        return not any(i.severity == "error" for i in self.issues)


class Preparer:
    """Checks examples for one target; call it on a `Row` to prepare it for import.

    Building the token counter is deferred to the first check, so a Preparer is cheap to
    create and safe to hand to forked workers.
    """

    def __init__(self, target: str = "openai", *, model: str | None = None,
                 max_tokens: int | None = None, count_tokens: bool = True) -> None:
        self.options = Options(target, model, max_tokens, count_tokens=count_tokens)
        self._checker: RowChecker | None = None

    @property
    def target(self) -> str:
        return self.options.target

    @property
    def limit(self) -> int:
        return self.options.limit

    def _rows(self) -> RowChecker:
        if self._checker is None:
            self._checker = RowChecker(self.options)
        return self._checker

    def check(self, example: dict[str, Any], *, file: str | None = None, line: int | None = None,
              example_index: int | None = None, fmt: str | None = None) -> ExampleCheck:
        """Every rule and the token counts for one example (in any format curator reads).

        `fmt`: the example's format when the caller has classified it already; None detects it.
        """
        fmt, issues, total, trained, _ = self._rows().check(example, fmt=fmt)
        placed = [replace(i, file=file, line=line, example_index=example_index)
                  for i in issues[:MAX_ISSUES_PER_ROW]]
        return ExampleCheck(fmt, placed, None if total == NO_COUNT else total,
                            None if trained == NO_COUNT else trained)

    def __call__(self, row: Row) -> PreparedRecord:
        data = row.data
        assert data is not None
        where: dict[str, Any] = {"file": row.file, "line": row.line, "example_index": row.example_index}
        fmt = classify(data)  # the one detection of this row; the checks below are told its result
        if fmt in (UNKNOWN, AMBIGUOUS):
            issue = row_detection_issue(data)
            assert issue is not None
            return PreparedRecord(None, data, [replace(issue, path=None, **where)])
        if fmt == "openai-chat" or fmt in PREFERENCE_FORMATS:
            checked = self.check(data, **where, fmt=fmt)
            return PreparedRecord(fmt, data, checked.issues, checked.tokens_total, checked.tokens_trained)
        converted = to_chat(data, fmt, example_index=row.example_index)
        notes = [replace(i, file=row.file, line=row.line) for i in converted.issues]
        if converted.example is None:
            return PreparedRecord(fmt, data, notes[:MAX_ISSUES_PER_ROW])
        checked = self.check(converted.example, **where, fmt="openai-chat")
        return PreparedRecord(fmt, converted.example, (notes + checked.issues)[:MAX_ISSUES_PER_ROW],
                              checked.tokens_total, checked.tokens_trained)
