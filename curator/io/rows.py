"""The row as read, and the errors a reader raises."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from curator.issues import Issue

JSONL_SUFFIXES = (".jsonl", ".ndjson", ".jsonlines")
CSV_SUFFIXES = (".csv", ".tsv")
PARQUET_SUFFIXES = (".parquet", ".pq")
#: CSV cells under these keys that hold JSON lists/objects are parsed (a CSV cannot nest).
JSON_CELL_KEYS = frozenset(
    {"messages", "conversations", "tools", "prompt", "completion", "chosen", "rejected",
     "input", "preferred_output", "non_preferred_output", "history", "functions"}
)
BOM = b"\xef\xbb\xbf"
_SURROGATE = re.compile("[\ud800-\udfff]")
#: bytes that were not UTF-8, as `decode("utf-8", "surrogateescape")` leaves them
_ESCAPED = re.compile("[\udc80-\udcff]")
#: the largest CSV cell read (the csv module's default is 128 KiB)
CSV_FIELD_LIMIT = 1 << 30


@dataclass(slots=True)
class Row:
    """One data row as read.

    `data` is the parsed object, or None when the row could not be parsed; then `issues` holds
    at least one error saying why. `raw` is the row's text exactly as it was in the file (for
    quarantine and for the workspace), decoded with errors replaced; `raw_bytes` keeps the exact
    bytes of a JSONL line (without its line ending) so a quarantine file can reproduce it.
    """

    file: str
    line: int | None
    example_index: int
    raw: str
    data: dict[str, Any] | None
    issues: list[Issue] = field(default_factory=list)
    raw_bytes: bytes | None = None


class ReadError(OSError):
    """A file that cannot be read at all (missing, not UTF-8 text, not a dataset)."""

    def __init__(self, issue: Issue) -> None:
        super().__init__(issue.message)
        self.issue = issue


class RowsLost(ReadError):
    """The rows read so far were yielded, but the rest of the file cannot be read.

    Raised by `read_rows` after its last row, e.g. after a JSON syntax error that leaves the rest
    of an array unreadable; `issue` (code `file.rest_unreadable`) names the lines lost.
    """
