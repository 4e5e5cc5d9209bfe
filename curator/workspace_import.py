"""Streaming files into a workspace: read, prepare (detect, convert, validate, count), store.

`prepare` is the seam where curator.formats and curator.validate plug in: it turns one parsed
row into a `PreparedRecord`. `default_prepare` is a minimal stand-in (OpenAI chat rows checked
against schema.ChatExample; anything else kept pending with a `format.undetected` warning).

Identity. A record's uid is the SHA-256 of its canonical JSON (sorted keys), or of the raw line
when it does not parse, plus `#k` for the k-th repeat of the same content inside one file. So:
re-importing a file adds nothing; exact duplicates inside a file are kept as separate records
for dedup to mark (not silently merged); a row already present from another file is counted as
"already present" and not stored twice.

Crash safety. Rows are inserted in batches, one transaction each, and each commit also updates
the file's `sources` row; a kill loses at most the batch in flight, and running the same import
again adds exactly the rows that are missing.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from curator.io import Row, read_rows
from curator.issues import Issue
from curator.schema import ChatExample
from curator.store import NewRecord, Workspace, WorkspaceError

BATCH_SIZE = 5000
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


Prepare = Callable[[Row], PreparedRecord]


def default_prepare(row: Row) -> PreparedRecord:
    """OpenAI chat rows checked with schema.ChatExample; other rows kept with format.undetected."""
    data = row.data
    assert data is not None
    if "messages" not in data:
        return PreparedRecord(None, data, [Issue(
            "format.undetected", "warning",
            "not an OpenAI chat row (no 'messages' key); no converter ran on it",
            row.file, row.line, row.example_index,
            hint="convert it to the chat form, or import it with a converter that knows it",
        )])
    try:
        ChatExample.model_validate(data)
    except ValidationError as exc:
        issues = []
        for err in exc.errors()[:MAX_ISSUES_PER_ROW]:
            loc = err["loc"]
            message_index = loc[1] if len(loc) > 1 and loc[0] == "messages" else None
            issues.append(Issue(
                "schema.invalid", "error", err["msg"], row.file, row.line, row.example_index,
                message_index if isinstance(message_index, int) else None,
                "/" + "/".join(str(p) for p in loc),
            ))
        return PreparedRecord("openai-chat", data, issues)
    return PreparedRecord("openai-chat", data)


@dataclass(slots=True)
class FileReport:
    path: str
    rows: int = 0
    new: int = 0
    already_present: int = 0
    rejected: int = 0
    #: reason code -> count, over the new records stored as rejected
    reasons: Counter[str] = field(default_factory=Counter)
    sha256: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "rows": self.rows, "new": self.new,
                "already_present": self.already_present, "rejected": self.rejected,
                "reasons": dict(sorted(self.reasons.items())), "sha256": self.sha256}


@dataclass(slots=True)
class ImportReport:
    files: list[FileReport] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)

    @property
    def new(self) -> int:
        return sum(f.new for f in self.files)

    @property
    def already_present(self) -> int:
        return sum(f.already_present for f in self.files)

    @property
    def rejected(self) -> int:
        return sum(f.rejected for f in self.files)

    @property
    def reasons(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for f in self.files:
            total.update(f.reasons)
        return total

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "new": self.new, "already_present": self.already_present,
                "rejected": self.rejected, "reasons": dict(sorted(self.reasons.items())),
                "files": [f.to_dict() for f in self.files]}


class ImportFailed(WorkspaceError):
    pass


def _sha256(path: Path) -> tuple[str | None, int | None]:
    if not path.is_file():
        return None, None
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest(), path.stat().st_size


def _record(row: Row, prepare: Prepare, repeats: dict[bytes, int]) -> NewRecord:
    if row.data is None:
        issues = list(row.issues) or [Issue(
            "json.not_object", "error", "the row is valid JSON but not an object",
            row.file, row.line, row.example_index)]
        canonical_text = None
        digest = hashlib.sha256(b"raw\x00" + row.raw.encode("utf-8", "surrogatepass")).digest()
        fmt, status = None, "rejected"
        tokens: tuple[int | None, int | None] = (None, None)
    else:
        prepared = prepare(row)
        issues = list(row.issues) + prepared.issues
        canonical_text = orjson.dumps(prepared.canonical, option=orjson.OPT_SORT_KEYS).decode()
        digest = hashlib.sha256(canonical_text.encode()).digest()
        fmt = prepared.format
        tokens = (prepared.tokens_total, prepared.tokens_trained)
        status = prepared.status or (
            "rejected" if any(i.severity == "error" for i in issues) else "pending")
    key = digest[:16]
    k = repeats.get(key, -1) + 1
    repeats[key] = k
    uid = digest.hex()[:40] + (f"#{k}" if k else "")
    reason = next((i.code for i in issues if i.severity == "error"), None) \
        if status == "rejected" else None
    return NewRecord(uid, row.file, row.line, row.example_index, row.raw, fmt, canonical_text,
                     status, reason, tokens[0], tokens[1], issues)


def _flush(ws: Workspace, import_id: int, batch: list[NewRecord], fr: FileReport,
           progress: Callable[[FileReport], None] | None) -> None:
    totals = {"rows": fr.rows, "new": fr.new, "already_present": fr.already_present,
              "rejected": fr.rejected}
    is_new = ws.import_batch(import_id, batch, totals)
    for rec, new in zip(batch, is_new, strict=True):
        if not new:
            fr.already_present += 1
            continue
        fr.new += 1
        if rec.status == "rejected":
            fr.rejected += 1
            fr.reasons[rec.reason or "rejected"] += 1
    batch.clear()
    if progress is not None:
        progress(fr)


def import_files(
    ws: Workspace,
    paths: Iterable[str | os.PathLike[str]],
    prepare: Prepare = default_prepare,
    progress: Callable[[FileReport], None] | None = None,
    batch_size: int = BATCH_SIZE,
) -> ImportReport:
    """Import files into a workspace, streaming; see the module docstring for the guarantees.

    `progress` is called with the file's running report after each committed batch. A file that
    cannot be read raises ImportFailed after the batches read so far are committed.
    """
    report = ImportReport()
    for path in paths:
        p = Path(path)
        fr = FileReport(str(p))
        report.files.append(fr)
        import_id = ws.begin_import(str(p))
        # Counts the repeats of each content in this file; 16-byte keys keep it near 70 MB at
        # a million distinct rows.
        repeats: dict[bytes, int] = {}
        batch: list[NewRecord] = []
        try:
            for row in read_rows(p):
                fr.rows += 1
                batch.append(_record(row, prepare, repeats))
                if len(batch) >= batch_size:
                    _flush(ws, import_id, batch, fr, progress)
        except OSError as exc:
            _flush(ws, import_id, batch, fr, progress)
            raise ImportFailed(
                f"cannot read {p}: {exc.strerror or exc}; the {fr.rows} rows read before the "
                f"error are stored, run the import again once the file is readable"
            ) from exc
        _flush(ws, import_id, batch, fr, progress)
        fr.sha256, size = _sha256(p)
        summary = (f"import {p}: {fr.rows} rows, {fr.new} new, {fr.already_present} already "
                   f"present, {fr.rejected} rejected")
        ws.finish_import(import_id, fr.sha256, size, summary, fr.new)
    return report


def check_readable(paths: Sequence[str | os.PathLike[str]]) -> list[str]:
    """Problems that would stop an import before it starts (missing, unreadable paths)."""
    problems = []
    for path in paths:
        p = Path(path)
        if not p.exists():
            problems.append(f"{p}: no such file")
        elif not os.access(p, os.R_OK):
            problems.append(f"{p}: not readable (permission denied)")
    return problems
