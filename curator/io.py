"""Reading rows with their locations, and writing files atomically.

SKELETON: the interface below is what the rest of curator calls. The hardened implementation
(BOM, CRLF, bad UTF-8, huge lines, duplicate keys, NaN, CSV/Parquet/HF folders) replaces it.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curator.issues import Issue


@dataclass(slots=True)
class Row:
    """One data row as read.

    `data` is the parsed object, or None when the row could not be parsed; then `issues` holds
    at least one error saying why. `raw` is the row's text exactly as it was in the file (for
    quarantine and for the workspace), decoded with errors replaced.
    """

    file: str
    line: int | None
    example_index: int
    raw: str
    data: dict[str, Any] | None
    issues: list[Issue] = field(default_factory=list)


def read_rows(path: str | os.PathLike[str]) -> Iterator[Row]:
    """Yield every row of a file: JSONL, JSON array, CSV, Parquet or a HF `save_to_disk` folder."""
    p = Path(path)
    with p.open("r", encoding="utf-8-sig", errors="replace") as fh:
        index = 0
        for line_no, text in enumerate(fh, start=1):
            if not text.strip():
                continue
            index += 1
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as exc:
                yield Row(str(p), line_no, index, text.rstrip("\r\n"), None,
                          [Issue("json.invalid", "error", str(exc), str(p), line_no, index)])
                continue
            yield Row(str(p), line_no, index, text.rstrip("\r\n"), obj if isinstance(obj, dict) else None)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write a file so that a reader sees either the old file or the whole new one."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
