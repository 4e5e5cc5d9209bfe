"""JSON Lines: scanning chunks of bytes into lines, and the file-level issues of a scan."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from curator.io.parse import parse_json_bytes
from curator.issues import Issue

# --- JSONL ------------------------------------------------------------------------------------


@dataclass(slots=True)
class LineRecord:
    """A parsed JSONL line before it becomes a Row (the workers ship these, not Rows)."""

    line: int
    offset: int  # byte offset of the line in the file
    raw: bytes
    value: dict[str, Any] | None
    issues: list[tuple[str, str, str | None]]
    #: the value as canonical JSON (sorted keys) when parsing made it (`Parsed.canonical`)
    canonical: bytes | None = None


@dataclass(slots=True)
class ChunkScan:
    """Counters a JSONL scan collects besides the rows themselves."""

    lines: int = 0
    crlf_first: int | None = None
    crlf_lines: int = 0
    blank_lines: list[int] = field(default_factory=list)


def scan_jsonl(buf: bytes, *, first_line: int, base_offset: int, at_eof: bool,
               scan: ChunkScan) -> Iterator[LineRecord]:
    """Yield a LineRecord for every non-blank line of `buf` (lines numbered from `first_line`).

    Blank lines are recorded in `scan.blank_lines`; `at_eof` says whether `buf` ends the file (a
    final line without a newline that does not parse then looks truncated).
    """
    line_no = first_line - 1
    for raw, line_no, offset, last_unended in split_lines(buf, first_line, base_offset, at_eof):
        rec = read_line(raw, line_no, offset, last_unended, scan)
        if rec is not None:
            yield rec
    scan.lines = line_no - first_line + 1


def split_lines(buf: bytes, first_line: int, base_offset: int,
                at_eof: bool) -> Iterator[tuple[bytes, int, int, bool]]:
    """(line without its newline, line number from `first_line`, byte offset in the file, whether
    it ends the file without a newline) for every line of `buf`, blank ones included: the one
    cut of a chunk into lines that the scan and the workers' quick paths share."""
    pos = 0
    n = len(buf)
    line_no = first_line - 1
    while pos < n:
        end = buf.find(b"\n", pos)
        has_newline = end != -1
        if not has_newline:
            end = n
        line_no += 1
        yield buf[pos:end], line_no, base_offset + pos, at_eof and not has_newline
        pos = end + 1


def read_line(raw: bytes, line_no: int, offset: int, last_unended: bool, scan: ChunkScan) -> LineRecord | None:
    """One line of a JSONL file (without its newline) as a LineRecord; None for a blank line
    (recorded in `scan.blank_lines`). `last_unended`: the line ends the file without a newline
    (one that does not parse then looks truncated). A line ending in CR is counted in `scan`."""
    if raw.endswith(b"\r"):  # kept in raw (JSON whitespace) so quarantine copies bytes exactly
        scan.crlf_lines += 1
        if scan.crlf_first is None:
            scan.crlf_first = line_no
    if not raw or raw.isspace():  # what `not raw.strip()` says, without copying the line
        scan.blank_lines.append(line_no)
        return None
    parsed = parse_json_bytes(raw)
    problems = parsed.problems
    if problems and problems[0][0] == "file.not_utf8" and parsed.column is not None:
        at = offset + parsed.column - 1
        problems[0] = ("file.not_utf8", f"bytes {raw[parsed.column - 1:parsed.column + 3]!r} at byte "
                       f"offset {at} (column {parsed.column}) are not valid UTF-8", problems[0][2])
    if parsed.value is None and problems and problems[0][0] == "json.invalid" and last_unended:
        code, msg, _ = problems[0]
        problems[0] = (code, msg + "; this last line has no final newline and looks truncated",
                       "the file was probably cut off while being written: regenerate it or "
                       "delete the partial last line")
    value = parsed.value
    if not isinstance(value, dict) and (value is not None or not problems):  # `null` parses to None
        problems = [*problems, ("json.not_object",
                                f"line is a JSON {_json_type(value)}, not an object",
                                "each line must be one JSON object: {\"messages\": [...]}")]
        value = None
    return LineRecord(line_no, offset, raw, value, problems, parsed.canonical if value is not None else None)


def _json_type(value: Any) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    return "number"


def chunk_bounds(path: str | os.PathLike[str], start: int, size: int,
                 chunk_bytes: int) -> list[tuple[int, int]]:
    """Split bytes [start, size) into ranges that end just after a newline (or at EOF)."""
    bounds: list[tuple[int, int]] = []
    with open(path, "rb") as fh:
        pos = start
        while pos < size:
            target = pos + chunk_bytes
            if target >= size:
                bounds.append((pos, size))
                break
            fh.seek(target)
            while True:
                block = fh.read(1 << 16)
                if not block:
                    end = size
                    break
                nl = block.find(b"\n")
                if nl != -1:
                    end = target + nl + 1
                    break
                target += len(block)
            bounds.append((pos, end))
            pos = end
    return bounds



def jsonl_scan_issues(name: str, scan: ChunkScan) -> list[Issue]:
    """File-level issues from a JSONL scan: CRLF once, each blank line."""
    out: list[Issue] = []
    if scan.crlf_lines:
        out.append(Issue("file.crlf", "info", f"{scan.crlf_lines} line(s) end with CRLF (Windows line endings)",
                         name, scan.crlf_first, hint="harmless for JSON; exports use LF"))
    out.extend(Issue("json.blank_line", "warning", "blank line", name, ln,
                     hint="remove blank lines; some readers crash on them") for ln in scan.blank_lines)
    return out
