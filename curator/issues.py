"""The problem record every check produces, in the CLI, the workspace and `--json` alike."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem found in one place.

    `line` is the 1-based physical line (JSONL) or row number (tabular files); `example_index`
    counts data rows only (1-based, as OpenAI's "Example N"); `message_index` is the 0-based index
    into `messages` (None when the problem is not about one message); `path` is a JSON pointer.
    """

    code: str
    severity: Severity
    message: str
    file: str | None = None
    line: int | None = None
    example_index: int | None = None
    message_index: int | None = None
    path: str | None = None
    hint: str | None = None
    fix: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
