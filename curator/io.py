"""Reading rows with their locations, and writing files atomically.

Every reader keeps where a row came from (file, physical line or row number, 1-based example
index) and never drops a row: a line that cannot be parsed becomes a `Row` with `data=None` and
an error saying why. Problems that belong to the whole file (BOM, CRLF, wrong container) go to
`Reader.file_issues`.

JSONL is the fast path: lines are parsed with orjson straight from bytes. orjson rejects NaN and
lone surrogates (we re-parse those lines with the standard library to name the problem) but keeps
the last of two duplicate keys without a word, so `parse_json_bytes` runs an exact, cheap
duplicate-key test on every line (see `_same_colon_count`) and only re-parses the rare line it
cannot clear.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import json
import os
import re
import shutil
import stat
import sys
import tempfile
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import orjson

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


# --- one JSON document from bytes -------------------------------------------------------------


@dataclass(slots=True)
class Parsed:
    """The outcome of parsing one JSON text: the value (None when unusable) and what was wrong.

    `problems` holds (code, message, hint) triples; the caller adds the location.
    """

    value: Any
    problems: list[tuple[str, str, str | None]]
    column: int | None = None


def _same_colon_count(raw: bytes, value: Any) -> bool:
    """True when `raw` cannot contain a duplicate key that orjson silently collapsed.

    Every member of a JSON object is written with exactly one structural colon, and orjson writes
    colons inside strings verbatim. So for the source, colons = members + colons in its strings
    (escaped ones, `\\u003a`, are counted separately); for the re-serialised value, colons = kept
    members + colons in kept strings. The two totals are equal exactly when no member was dropped
    and no `\\u003a` text was counted wrongly; any mismatch sends the line to the slow parser.
    """
    escaped = raw.count(b"\\u003a") + raw.count(b"\\u003A") if b"\\u003" in raw else 0
    try:
        again = orjson.dumps(value)
    except (TypeError, orjson.JSONEncodeError):
        return False
    return raw.count(b":") + escaped == again.count(b":")


def _walk_strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _walk_strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _walk_strings(v)


#: deepest nesting of arrays and objects a row may have. orjson reads up to 1024 levels, but
#: Python code walking such a value (the rules, pickling it to a worker) runs out of stack long
#: before; real rows nest a dozen levels or so.
MAX_DEPTH = 128
_TOO_DEEP = ("json.invalid", f"invalid JSON: nested more than {MAX_DEPTH} levels deep",
             "flatten the data; no fine-tuning row nests this deep")


def _too_deep(raw: bytes | str, value: Any) -> bool:
    """True when `value` nests deeper than MAX_DEPTH (only walked when `raw` has enough brackets)."""
    if isinstance(raw, bytes):
        opened = raw.count(b"[") + raw.count(b"{")
    else:
        opened = raw.count("[") + raw.count("{")
    if opened <= MAX_DEPTH:
        return False
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        v, depth = stack.pop()
        children = v.values() if isinstance(v, dict) else v
        if depth > MAX_DEPTH:
            return True
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False


def _slow_parse(text: str) -> Parsed:
    """Standard-library parse that names every problem orjson would only refuse."""
    duplicates: list[str] = []
    constants: list[str] = []

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, val in pairs:
            if key in out:
                duplicates.append(key)
            out[key] = val
        return out

    def constant_hook(name: str) -> None:
        constants.append(name)

    try:
        value = json.loads(text, object_pairs_hook=pairs_hook, parse_constant=constant_hook)
    except json.JSONDecodeError as exc:
        return Parsed(None, [("json.invalid", f"invalid JSON: {exc.msg} (column {exc.colno})", None)],
                      column=exc.colno)
    except RecursionError:
        return Parsed(None, [_TOO_DEEP])
    if isinstance(value, (dict, list)) and _too_deep(text, value):
        return Parsed(None, [_TOO_DEEP])
    problems: list[tuple[str, str, str | None]] = []
    if constants:
        names = ", ".join(sorted(set(constants)))
        problems.append(("json.nonstandard_constant",
                         f"non-standard JSON constant {names} (standard JSON has no NaN/Infinity)",
                         "write null or a number; most JSON writers have an allow_nan=False option"))
    if any(_SURROGATE.search(s) for s in _walk_strings(value)):
        problems.append(("json.lone_surrogate",
                         "a string holds an unpaired UTF-16 surrogate escape (e.g. \\ud83d); "
                         "it cannot be encoded as UTF-8",
                         "fix the broken escape at the source (often a string cut in the middle of an emoji)"))
    if duplicates:
        problems.append(("json.duplicate_key",
                         f"duplicate key {', '.join(repr(k) for k in dict.fromkeys(duplicates))} in one "
                         "object; parsers keep only the last one",
                         "remove the duplicate key so the intended value is unambiguous"))
    if constants or any(p[0] == "json.lone_surrogate" for p in problems):
        return Parsed(None, problems)
    return Parsed(value, problems)


def parse_json_bytes(raw: bytes) -> Parsed:
    """Parse one JSON text. orjson first; the standard library only to explain a failure."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    else:
        if isinstance(value, (dict, list)) and _too_deep(raw, value):
            return Parsed(None, [_TOO_DEEP])
        if _same_colon_count(raw, value):
            return Parsed(value, [])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = raw[exc.start:exc.start + 4]
        return Parsed(None, [("file.not_utf8",
                              f"bytes {bad!r} at byte {exc.start} of the line are not valid UTF-8",
                              "re-encode the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)")],
                      column=exc.start + 1)
    return _slow_parse(text)


# --- JSONL ------------------------------------------------------------------------------------


@dataclass(slots=True)
class LineRecord:
    """A parsed JSONL line before it becomes a Row (the workers ship these, not Rows)."""

    line: int
    offset: int  # byte offset of the line in the file
    raw: bytes
    value: dict[str, Any] | None
    issues: list[tuple[str, str, str | None]]


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
    pos = 0
    n = len(buf)
    line_no = first_line - 1
    while pos < n:
        end = buf.find(b"\n", pos)
        has_newline = end != -1
        if not has_newline:
            end = n
        line_no += 1
        raw = buf[pos:end]
        offset = base_offset + pos
        pos = end + 1
        if raw.endswith(b"\r"):  # kept in raw (JSON whitespace) so quarantine copies bytes exactly
            scan.crlf_lines += 1
            if scan.crlf_first is None:
                scan.crlf_first = line_no
        if not raw.strip():
            scan.blank_lines.append(line_no)
            continue
        parsed = parse_json_bytes(raw)
        problems = parsed.problems
        if problems and problems[0][0] == "file.not_utf8" and parsed.column is not None:
            at = offset + parsed.column - 1
            problems[0] = ("file.not_utf8", f"bytes {raw[parsed.column - 1:parsed.column + 3]!r} at byte "
                           f"offset {at} (column {parsed.column}) are not valid UTF-8", problems[0][2])
        if parsed.value is None and problems and problems[0][0] == "json.invalid" and at_eof \
                and not has_newline:
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
        yield LineRecord(line_no, offset, raw, value, problems)
    scan.lines = line_no - first_line + 1


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


# --- file sniffing ----------------------------------------------------------------------------


@dataclass(slots=True)
class Probe:
    """What the first bytes of a file say about it."""

    kind: str  # jsonl | json | csv | parquet | hf
    start: int = 0  # first byte of data (after a BOM)
    size: int = 0
    issues: list[Issue] = field(default_factory=list)
    fatal: bool = False


#: magic numbers of files that are not text data; (magic, what it is, what to do)
_MAGIC: tuple[tuple[bytes, str, str], ...] = (
    (b"\x1f\x8b", "gzip-compressed data", "gzip: decompress it first (gunzip -k FILE)"),
    (b"\x7fELF", "an ELF executable, not a data file", "pass the data file"),
    (b"PK\x03\x04", "a zip archive", "extract it first (unzip FILE)"),
    (b"%PDF-", "a PDF document, not a data file", "export the data as JSONL"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image, not a data file", "pass the data file"),
    (b"\xff\xd8\xff", "a JPEG image, not a data file", "pass the data file"),
    (b"\xfd7zXZ\x00", "xz-compressed data", "decompress it first (unxz -k FILE)"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed data", "decompress it first (zstd -d FILE)"),
    (b"SQLite format 3\x00", "an SQLite database (a curator workspace?), not a data file",
     "write the records out with curator export"),
)
PARQUET_MAGIC = b"PAR1"
GZIP_MAGIC = b"\x1f\x8b"


def _unreadable_probe(kind: str, name: str, message: str, hint: str, size: int = 0) -> Probe:
    return Probe(kind, size=size, fatal=True,
                 issues=[Issue("file.unreadable", "error", f"{name}: {message}", name, hint=hint)])


def probe(path: str | os.PathLike[str], name: str | None = None) -> Probe:
    """Decide how to read `path` and find the file-level problems visible up front.

    `name` is what messages call the file (default: the path)."""
    p = Path(path)
    name = str(path) if name is None else name
    if not p.exists():
        return Probe("jsonl", issues=[Issue("file.not_found", "error", f"{name}: no such file or folder",
                                            name, hint="check the path")], fatal=True)
    if p.is_dir():
        if not any((p / marker).is_file() for marker in ("dataset_dict.json", "state.json")):
            return _unreadable_probe("hf", name, "a folder that is not a Hugging Face save_to_disk dataset "
                                     "(no dataset_dict.json or state.json)",
                                     "pass a data file, or a folder written by Dataset.save_to_disk")
        return Probe("hf")
    if not p.is_file():
        return _unreadable_probe("jsonl", name, "not a regular file (a pipe or device)",
                                 "read it through curator.io.open_source, or save it to a file first")
    suffix = p.suffix.lower()
    size = p.stat().st_size
    with p.open("rb") as fh:
        head = fh.read(1 << 16)
        tail = b""
        if (head.startswith(PARQUET_MAGIC) or suffix in PARQUET_SUFFIXES) and size >= 12:
            fh.seek(size - 4)
            tail = fh.read(4)
    is_parquet = head.startswith(PARQUET_MAGIC) and tail == PARQUET_MAGIC
    if suffix in PARQUET_SUFFIXES or is_parquet:
        if not is_parquet:
            return _unreadable_probe("parquet", name, "not a readable Parquet file (no PAR1 marker at its "
                                     "start and end: damaged, truncated or of another type)",
                                     "check that the file is complete and of the type its name says", size)
        return Probe("parquet", size=size)
    pr = Probe("csv" if suffix in CSV_SUFFIXES else "json" if suffix == ".json" else "jsonl", size=size)
    if size == 0 or not head.strip(b" \t\r\n" + BOM):
        pr.issues.append(Issue("file.empty", "error", "the file is empty (no data rows)", name,
                               hint="write at least one example"))
        pr.fatal = True
        return pr
    for magic, what, hint in _MAGIC:
        if head.startswith(magic):
            return _unreadable_probe(pr.kind, name, f"the file is {what}", hint, size)
    wide = _wide_encoding(head)
    if wide:
        pr.issues.append(Issue("file.not_utf8", "error", f"the file looks {wide}-encoded, not UTF-8", name,
                               line=1, hint=f"re-encode as UTF-8: iconv -f {wide} -t UTF-8 IN > OUT"))
        pr.fatal = True
        return pr
    if b"\x00" in head[:4096]:
        return _unreadable_probe(pr.kind, name, "binary data (NUL bytes), not UTF-8 text",
                                 "pass a JSONL, JSON, CSV or Parquet file", size)
    if head.startswith(BOM):
        pr.start = 3
        pr.issues.append(Issue("file.bom_present", "info",
                               "the file starts with a UTF-8 byte-order mark (ignored while reading)",
                               name, line=1, hint="harmless here; many JSON parsers reject it"))
    if pr.kind == "json" and _is_json_lines(p, pr.start, head):
        pr.kind = "jsonl"  # one object per line under a .json name: read it line by line
    elif pr.kind == "jsonl":
        first = head[pr.start:].lstrip(b" \t\r\n")[:1]
        if first in (b"[", b"{") and _whole_file_is_json(p, pr.start, head):
            pr.kind = "json"
            pr.issues.append(Issue(
                "file.is_json_not_jsonl", "error",
                "the file is one JSON document (array or pretty-printed object), not JSON Lines",
                name, line=1,
                hint="write one JSON object per line; its records were read so they can still be checked",
                fix="convert-json-to-jsonl"))
    return pr


def _wide_encoding(head: bytes) -> str | None:
    """UTF-16/32 by BOM, or UTF-16 text without one: ASCII-range characters leave a zero byte
    at every second position (odd positions for little-endian), and binary data does not."""
    for bom, enc in ((b"\x00\x00\xfe\xff", "UTF-32BE"), (b"\xff\xfe\x00\x00", "UTF-32LE"),
                     (b"\xfe\xff", "UTF-16BE"), (b"\xff\xfe", "UTF-16LE")):
        if head.startswith(bom):
            return enc
    sample = head[:4096]
    sample = sample[:len(sample) - len(sample) % 2]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    half = len(even)
    if odd.count(0) * 2 >= half and even.count(0) * 20 <= half:
        return "UTF-16LE"
    if even.count(0) * 2 >= half and odd.count(0) * 20 <= half:
        return "UTF-16BE"
    return None


def _first_line(p: Path, start: int, head: bytes) -> tuple[bytes, bool]:
    """The whole first line of the data (read on past `head` when it is longer), and whether
    more bytes follow it."""
    body = head[start:]
    nl = body.find(b"\n")
    if nl != -1:
        return body[:nl], True
    parts = [body]
    with p.open("rb") as fh:
        fh.seek(start + len(body))
        while block := fh.read(1 << 20):
            nl = block.find(b"\n")
            if nl != -1:
                parts.append(block[:nl])
                return b"".join(parts), True
            parts.append(block)
    return b"".join(parts), False


def _is_object(raw: bytes) -> bool:
    try:
        return isinstance(orjson.loads(raw), dict)
    except orjson.JSONDecodeError:
        return False


def _is_json_lines(p: Path, start: int, head: bytes) -> bool:
    """A .json file whose first line is a whole object with more data after it: JSON Lines."""
    if head[start:].lstrip(b" \t\r\n")[:1] != b"{":
        return False  # an array (or junk): no need to read a long first line
    first, more = _first_line(p, start, head)
    if not more or not first.strip().startswith(b"{") or not _is_object(first):
        return False
    rest = head[start + len(first) + 1:]
    return bool(rest.strip()) or p.stat().st_size > len(head)


def _whole_file_is_json(p: Path, start: int, head: bytes) -> bool:
    """A .jsonl file whose first line is not a complete object but the whole file is JSON."""
    first_line, more = _first_line(p, start, head)
    if first_line.strip().startswith(b"{"):
        if _is_object(first_line):
            return False  # a complete object on the first line: JSON Lines, however long the line
    elif more and first_line.strip().startswith(b"[") and first_line.strip() != b"[":
        try:  # a one-line array followed by more lines is JSONL with a bad first row
            orjson.loads(first_line)
            return False
        except orjson.JSONDecodeError:
            pass
    try:
        json.loads(p.read_bytes()[start:].decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return False
    return True


# --- the reader -------------------------------------------------------------------------------


class Reader:
    """Iterate the rows of one file; `file_issues` fills up with file-level problems.

    Iterate once; `file_issues` is complete after the iteration ends.
    """

    def __init__(self, path: str | os.PathLike[str], name: str | None = None) -> None:
        self.path = Path(path)
        self.name = str(path) if name is None else name
        self.probe = probe(path, self.name)
        self.file_issues: list[Issue] = list(self.probe.issues)

    @property
    def kind(self) -> str:
        return self.probe.kind

    def __iter__(self) -> Iterator[Row]:
        if self.probe.fatal:
            return
        kind = self.probe.kind
        if kind == "jsonl":
            yield from self._jsonl()
        elif kind == "json":
            yield from self._json()
        elif kind == "csv":
            yield from self._csv()
        elif kind == "parquet":
            yield from self._parquet()
        else:
            yield from self._hf()

    # JSONL: stream fixed-size chunks cut at newlines, so memory stays flat with any file size.
    def _jsonl(self, chunk_bytes: int = 8 << 20) -> Iterator[Row]:
        scan = ChunkScan()
        line, index = 1, 0
        size = self.probe.size
        with self.path.open("rb") as fh:
            for start, end in chunk_bounds(self.path, self.probe.start, size, chunk_bytes):
                fh.seek(start)
                buf = fh.read(end - start)
                part = ChunkScan()
                for rec in scan_jsonl(buf, first_line=line, base_offset=start, at_eof=end >= size,
                                      scan=part):
                    index += 1
                    yield self._row_from_record(rec, index)
                line += part.lines
                scan.crlf_lines += part.crlf_lines
                if scan.crlf_first is None:
                    scan.crlf_first = part.crlf_first
                scan.blank_lines.extend(part.blank_lines)
        self.file_issues.extend(jsonl_scan_issues(self.name, scan))
        if index == 0:
            self.file_issues.append(Issue("file.empty", "error", "the file has no data rows", self.name,
                                          hint="write at least one example"))

    def _row_from_record(self, rec: LineRecord, index: int) -> Row:
        issues = [Issue(code, "error", msg, self.name, rec.line, index, hint=hint)
                  for code, msg, hint in rec.issues]
        return Row(self.name, rec.line, index, rec.raw.rstrip(b"\r").decode("utf-8", "replace"), rec.value, issues,
                   rec.raw)

    def _json(self) -> Iterator[Row]:
        # bytes that are not UTF-8 become U+DC80-U+DCFF (surrogateescape): the record holding them
        # is reported, and its raw bytes are kept exactly
        text = self.path.read_bytes()[self.probe.start:].decode("utf-8", "surrogateescape")
        stopped: list[tuple[int, int]] = []
        index = 0
        any_bad = _ESCAPED.search(text) is not None
        for index, (line, raw, parsed) in enumerate(iter_json_document(text, stopped), start=1):
            if any_bad and _ESCAPED.search(raw):
                exact = raw.encode("utf-8", "surrogateescape")
                bad = _ESCAPED.search(raw)
                assert bad is not None
                at = len(raw[:bad.start()].encode("utf-8", "surrogateescape"))
                parsed = Parsed(None, [("file.not_utf8", f"bytes {exact[at:at + 4]!r} at byte {at} of the record "
                                        "are not valid UTF-8", "re-encode the file as UTF-8 (e.g. iconv -f latin1 "
                                        "-t utf-8)")])
                raw = exact.decode("utf-8", "replace")
            issues = [Issue(code, "error", msg, self.name, line, index, hint=hint)
                      for code, msg, hint in parsed.problems]
            value = parsed.value
            if not isinstance(value, dict) and (value is not None or not parsed.problems):
                issues.append(Issue("json.not_object", "error",
                                    f"record is a JSON {_json_type(value)}, not an object",
                                    self.name, line, index, hint="each record must be a JSON object"))
                value = None
            yield Row(self.name, line, index, raw, value, issues, raw.encode("utf-8", "replace"))
        for first, last in stopped:
            self._rest_lost(first, last, f"after the JSON syntax error at line {first} the rest of the "
                            "document cannot be split into records")

    def _rest_lost(self, first: int, last: int, why: str) -> None:
        self.file_issues.append(Issue(
            "file.rest_unreadable", "error", f"lines {first}-{last} could not be read: {why}", self.name, first,
            hint="fix the file at that line (a missing bracket or quote) and read it again"))

    def _csv(self) -> Iterator[Row]:
        text = self.path.read_bytes()[self.probe.start:].decode("utf-8", "surrogateescape")
        dialect = "excel-tab" if self.path.suffix.lower() == ".tsv" else "excel"
        if csv.field_size_limit() < CSV_FIELD_LIMIT:
            csv.field_size_limit(CSV_FIELD_LIMIT)  # a long conversation is one cell
        reader = csv.DictReader(io.StringIO(text, newline=""), dialect=dialect)
        index = 0
        line = 1
        records = iter(reader)
        while True:
            try:
                if index == 0:
                    _ = reader.fieldnames  # reads the header, so line_num points at it
                    line = reader.line_num + 1
                record = next(records, None)
            except csv.Error as exc:
                self._rest_lost(line, max(line, _lines_in(text)), f"CSV error: {exc}")
                return
            if record is None:
                return
            index += 1
            issues: list[Issue] = []
            data: dict[str, Any] = {}
            if _ESCAPED.search(json.dumps(record, ensure_ascii=False)):
                issues.append(Issue("file.not_utf8", "error", "the row holds bytes that are not valid UTF-8",
                                    self.name, line, index, hint="re-encode the file as UTF-8 (e.g. iconv -f "
                                    "latin1 -t utf-8)"))
                dumped = json.dumps(record, ensure_ascii=False).encode("utf-8", "surrogateescape")
                yield Row(self.name, line, index, dumped.decode("utf-8", "replace"), None, issues)
                line = reader.line_num + 1
                continue
            for key, cell in record.items():
                if key is None:
                    issues.append(Issue("json.invalid", "error", "the row has more cells than the header",
                                        self.name, line, index, hint="quote cells that contain commas"))
                    continue
                data[key] = _csv_cell(key, cell, issues, self.name, line, index)
            yield Row(self.name, line, index, json.dumps(record, ensure_ascii=False), data, issues)
            line = reader.line_num + 1

    def _parquet(self) -> Iterator[Row]:
        import pyarrow.parquet as pq

        try:
            pf = pq.ParquetFile(self.path)
        except Exception as exc:  # pyarrow raises several types for a damaged file
            self._unreadable(f"not a readable Parquet file: {exc}")
            return
        index = 0
        batches = pf.iter_batches(batch_size=4096)
        while True:
            try:
                batch = next(batches, None)
                records = [] if batch is None else batch.to_pylist()
            except Exception as exc:  # a damaged row group: pyarrow raises several types
                self._unreadable(f"not a readable Parquet file after row {index}: {exc}")
                return
            if batch is None:
                return
            for record in records:
                index += 1
                yield _arrow_row(self.name, index, record)

    def _hf(self) -> Iterator[Row]:
        try:
            import datasets
            loaded = datasets.load_from_disk(str(self.path))
        except Exception as exc:  # datasets raises many types for a folder it cannot load
            self._unreadable(f"not a Hugging Face save_to_disk folder: {exc}")
            return
        splits = loaded.items() if isinstance(loaded, datasets.DatasetDict) else [(None, loaded)]
        for split, ds in splits:
            name = self.name if split is None else f"{self.name}[{split}]"
            for index, record in enumerate(ds, start=1):
                yield _arrow_row(name, index, record)

    def _unreadable(self, message: str) -> None:
        self.file_issues.append(Issue("file.unreadable", "error", f"{self.name}: {message}", self.name,
                                      hint="check that the file is complete and of the type its name says"))


def jsonl_scan_issues(name: str, scan: ChunkScan) -> list[Issue]:
    """File-level issues from a JSONL scan: CRLF once, each blank line."""
    out: list[Issue] = []
    if scan.crlf_lines:
        out.append(Issue("file.crlf", "info", f"{scan.crlf_lines} line(s) end with CRLF (Windows line endings)",
                         name, scan.crlf_first, hint="harmless for JSON; exports use LF"))
    out.extend(Issue("json.blank_line", "warning", "blank line", name, ln,
                     hint="remove blank lines; some readers crash on them") for ln in scan.blank_lines)
    return out


_STRUCTURAL = re.compile(r'["\[\]{},]')
#: the rest of a JSON string after its opening quote; an unterminated one ends at the line end
_STRING_REST = re.compile(r'(?:[^"\\\n]|\\.)*"?')


def _element_end(text: str, pos: int) -> int | None:
    """Where the array element starting at `pos` ends: the index of the ',' or ']' after it at
    the array's own level, found by matching brackets outside strings (no recursion, so any
    depth). None when the brackets do not balance: then there is no telling where it ends."""
    stack: list[str] = []
    i = pos
    while True:
        m = _STRUCTURAL.search(text, i)
        if m is None:
            return None
        c = m.group()
        i = m.end()
        if c == '"':
            sm = _STRING_REST.match(text, i)
            i = sm.end() if sm else i
        elif c in "[{":
            stack.append(c)
        elif c in "]}":
            if not stack:
                return m.start() if c == "]" else None
            if (stack.pop() == "[") != (c == "]"):
                return None
        elif not stack:
            return m.start()


def _lines_in(text: str) -> int:
    return text.count("\n") + (0 if text.endswith("\n") else 1)


def iter_json_document(text: str, stopped: list[tuple[int, int]] | None = None,
                       ) -> Iterator[tuple[int, str, Parsed]]:
    """Yield (line, raw text, Parsed) for each element of a JSON array, or the one object.

    A bad element becomes one unparsable record at its line, and reading goes on after it
    wherever its brackets balance (a stray or missing comma, a bad literal, NaN, deep nesting).
    Where they do not, nothing after it can be split into elements: the bad record says so and
    `(first, last)` lines of the part not read are appended to `stopped`.
    """
    decoder = json.JSONDecoder()
    n = len(text)
    pos = _skip_ws(text, 0)
    line = 1 + text.count("\n", 0, pos)

    def lost(at: int, raw: str, message: str, column: int | None = None) -> tuple[int, str, Parsed]:
        last = max(at, _lines_in(text))
        if stopped is not None:
            stopped.append((at, last))
        return at, raw, Parsed(None, [(
            "json.invalid", f"{message}; the rest of the file (lines {at}-{last}) cannot be read",
            "fix the JSON there and read the file again")], column)

    if pos < n and text[pos] == "[":
        pos = _skip_ws(text, pos + 1)
        counted = pos
        line = 1 + text.count("\n", 0, pos)
        missing_comma = False
        while pos < n:
            line += text.count("\n", counted, pos)
            counted = pos
            if text[pos] == "]":  # closing bracket (a trailing comma before it loses nothing)
                rest = _skip_ws(text, pos + 1)
                if rest < n:
                    yield lost(1 + text.count("\n", 0, rest), text[rest:rest + 200],
                               "invalid JSON: text after the array's closing ']'")
                return
            error: str | None = None
            column: int | None = None
            end = pos
            try:
                _, end = decoder.raw_decode(text, pos)
            except json.JSONDecodeError as exc:
                error = f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
                column = exc.colno
            except RecursionError:
                error = _TOO_DEEP[1]
            if error is None and missing_comma:
                error = "invalid JSON: expected ',' between array elements before this one"
            if error is None:
                raw = text[pos:end]
                yield line, raw, _slow_parse(raw)
                pos = _skip_ws(text, end)
            else:
                stop = _element_end(text, pos)
                if stop is None:
                    yield lost(line, text[pos:pos + 200], error, column)
                    return
                yield line, text[pos:stop].rstrip(), Parsed(None, [("json.invalid", error, None)], column)
                pos = stop
            missing_comma = False
            if pos < n and text[pos] == ",":
                pos = _skip_ws(text, pos + 1)
            elif pos < n and text[pos] != "]":
                missing_comma = True  # the next element is reported, then reading goes on
        yield line, "", Parsed(None, [("json.invalid", "invalid JSON: the array is not closed with ']'",
                                       "the file looks truncated")])
    else:
        parsed = _slow_parse(text)
        yield line, text, parsed


def _skip_ws(text: str, pos: int) -> int:
    n = len(text)
    while pos < n and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _csv_cell(key: str, cell: str | None, issues: list[Issue], name: str, line: int,
              index: int) -> Any:
    if cell is None:
        return None
    stripped = cell.strip()
    if key in JSON_CELL_KEYS and stripped[:1] in ("[", "{"):
        parsed = parse_json_bytes(stripped.encode("utf-8"))
        for code, msg, hint in parsed.problems:
            issues.append(Issue(code, "error", f"column {key!r}: {msg}", name, line, index,
                                path=f"/{key}", hint=hint))
        return parsed.value if parsed.value is not None else cell
    return cell


def _drop_nulls(value: Any) -> Any:
    # Arrow gives every struct all fields of the column, filling absent ones with null; a JSON
    # row would not have them, so nulls inside nested records are removed.
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def _arrow_row(name: str, index: int, record: dict[str, Any]) -> Row:
    data = {k: (_drop_nulls(v) if isinstance(v, list | dict) else v) for k, v in record.items()}
    data = {k: v for k, v in data.items() if v is not None}
    issues: list[Issue] = []
    for key in JSON_CELL_KEYS & data.keys():
        cell = data[key]
        if isinstance(cell, str) and cell.strip()[:1] in ("[", "{") and key != "prompt":
            parsed = parse_json_bytes(cell.encode("utf-8"))
            if parsed.value is not None:
                data[key] = parsed.value
    raw = json.dumps(data, ensure_ascii=False, default=str)
    return Row(name, index, index, raw, data, issues)


def read_rows(path: str | os.PathLike[str], name: str | None = None) -> Iterator[Row]:
    """Yield every row of a file: JSONL, JSON array, CSV, Parquet or a HF `save_to_disk` folder.

    `path` may also be `-` (stdin), a pipe or FIFO, or a gzip file (see `open_source`); `name`
    is what rows and messages call it. Raises ReadError when the file cannot be read at all
    (missing, UTF-16, binary, damaged Parquet), before or after the rows it could read, and
    RowsLost (a ReadError) after the last row when the rest of the file could not be read. An
    empty file yields nothing. Row-level problems are in each `Row.issues`; use `Reader` to
    also get file-level ones (BOM, CRLF, ...).
    """
    with open_source(path, name) as src:
        reader = Reader(src.path, src.name)
        if reader.probe.fatal:
            fatal = next(i for i in reader.file_issues if i.severity == "error")
            if fatal.code == "file.empty":  # nothing to read is not a failure to read
                return
            raise ReadError(fatal)
        yield from reader
        for issue in reader.file_issues:
            if issue.code == "file.unreadable":
                raise ReadError(issue)
            if issue.code == "file.rest_unreadable":
                raise RowsLost(issue)


# --- sources that are not plain files: stdin, pipes, FIFOs, gzip ------------------------------

STDIN = "-"
STDIN_NAME = "<stdin>"
#: seconds to wait for a writer to open a FIFO before giving up (env CURATOR_FIFO_WAIT)
FIFO_WAIT = 30.0


@dataclass(frozen=True, slots=True)
class Source:
    """A file the readers can seek in (`path`) and what messages call it (`name`).

    `spooled` is True when `path` is a temporary copy (of stdin, a pipe, or a gzip file's
    contents); it is removed when the `open_source` block ends."""

    path: Path
    name: str
    spooled: bool = False


def is_stream(path: str | os.PathLike[str]) -> bool:
    """True for `-` and for paths that are neither regular files nor folders (pipes, FIFOs)."""
    if str(path) == STDIN:
        return True
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def _stream_error(name: str, message: str, hint: str) -> ReadError:
    return ReadError(Issue("file.unreadable", "error", f"{name}: {message}", name, hint=hint))


def _open_fifo(path: str | os.PathLike[str], name: str) -> int:
    """Open a FIFO for reading, waiting at most CURATOR_FIFO_WAIT seconds for a writer to open
    it. Only the open waits: a writer that is slow to send its data is waited for as long as it
    takes. (An anonymous pipe, such as /dev/stdin or <(cmd), opens at once.)"""
    try:
        limit = float(os.environ.get("CURATOR_FIFO_WAIT", FIFO_WAIT))
    except ValueError:
        limit = FIFO_WAIT
    opened: list[int | OSError] = []

    def blocking_open() -> None:
        try:
            opened.append(os.open(path, os.O_RDONLY))
        except OSError as exc:
            opened.append(exc)

    opener = threading.Thread(target=blocking_open, name="curator-fifo-open", daemon=True)
    opener.start()
    opener.join(min(limit, 1.0))
    if not opened and limit > 1.0:
        if sys.stderr is not None and sys.stderr.isatty():
            sys.stderr.write(f"waiting for a writer on FIFO {name} (up to {limit:g} s)...\n")
        opener.join(limit - 1.0)
    if not opened:
        with contextlib.suppress(OSError):  # be the writer ourselves, so the waiting open returns
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        opener.join(5.0)
        if opened and isinstance(opened[0], int):
            os.close(opened[0])
        raise _stream_error(name, f"no program opened this FIFO for writing within {limit:g} s",
                            "start the writer (e.g. cat data.jsonl > FIFO), or set CURATOR_FIFO_WAIT "
                            "to wait longer")
    result = opened[0]
    if isinstance(result, OSError):
        raise result
    return result


def _spool_reserve(folder: str) -> int:
    """Bytes a spool leaves free in its folder: CURATOR_SPOOL_RESERVE, else 5 % of the disk and
    at least 1 GiB (a gzip bomb or an endless stream must not fill the machine's disk)."""
    env = os.environ.get("CURATOR_SPOOL_RESERVE")
    if env is not None and env.strip().isdigit():
        return int(env)
    return max(1 << 30, shutil.disk_usage(folder).total // 20)


def _spool(name: str, src: BinaryIO, dest: BinaryIO) -> None:
    """Copy a stream (stdin, a pipe, decompressed gzip) into its temporary file, stopping with a
    ReadError, not a full disk, when the copy would leave less than the reserve free."""
    folder = os.path.dirname(getattr(dest, "name", "") or tempfile.gettempdir()) or "."
    reserve = _spool_reserve(folder)
    written = 0
    while chunk := src.read(1 << 20):
        if shutil.disk_usage(folder).free - len(chunk) < reserve:
            raise _stream_error(
                name, f"reading it into a temporary file in {folder} would leave less than "
                f"{reserve >> 20:,} MiB free ({written >> 20:,} MiB written; a stream or a "
                f"decompressed gzip file is spooled there)",
                "set TMPDIR to a folder with room, or decompress it yourself and name the file")
        try:
            dest.write(chunk)
        except OSError as exc:  # the disk filled all the same (another writer): say so
            raise _stream_error(name, f"cannot write its temporary copy in {folder}: "
                                f"{exc.strerror or exc}", "set TMPDIR to a folder with room") from exc
        written += len(chunk)


def _copy_stream(name: str, dest: BinaryIO, path: str | os.PathLike[str]) -> None:
    if str(path) == STDIN:
        if sys.stdin is None or sys.stdin.isatty():
            raise _stream_error(name, "stdin is a terminal, not data",
                                "pipe the data in: cat data.jsonl | curator validate -")
        _spool(name, sys.stdin.buffer, dest)
        return
    if stat.S_ISFIFO(os.stat(path).st_mode):
        with os.fdopen(_open_fifo(path, name), "rb") as fh:
            _spool(name, fh, dest)
        return
    with open(path, "rb") as fh:  # a character device or socket: read it as it comes
        _spool(name, fh, dest)


def _gunzip(src: Path, dest: BinaryIO, name: str) -> None:
    try:
        with gzip.open(src, "rb") as fh:
            _spool(name, fh, dest)  # type: ignore[arg-type]
    except ReadError:
        raise
    except (OSError, EOFError, zlib.error) as exc:
        raise _stream_error(name, f"damaged or truncated gzip data ({exc})",
                            "check the file is complete (gzip -t FILE)") from exc


def _is_gzip(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(2) == GZIP_MAGIC
    except OSError:
        return False


@contextmanager
def open_source(path: str | os.PathLike[str], name: str | None = None) -> Iterator[Source]:
    """A seekable regular file for any input the readers take, removed again afterwards.

    `-` is stdin; a pipe, FIFO (`<(cmd)`, `/dev/stdin`) or device is read to its end as a
    stream into a temporary file (a FIFO nobody opens for writing is given up on after
    CURATOR_FIFO_WAIT seconds, default 30); a gzip file (by its magic bytes, whatever its
    name) is decompressed as a stream into a temporary file named with its inner suffix
    (`train.jsonl.gz` reads as JSONL). A plain file or folder is passed through untouched.
    Raises ReadError when a stream or gzip file cannot be read.
    """
    shown = (STDIN_NAME if str(path) == STDIN else str(path)) if name is None else name
    # a file name with bytes that are not UTF-8 holds lone surrogates, which SQLite and the
    # journal cannot store: name it with those bytes escaped (`h\x9d.jsonl`)
    shown = shown.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    tmpdir: str | None = None
    try:
        current = Path(path)
        if is_stream(path):
            tmpdir = tempfile.mkdtemp(prefix="curator-stream-")
            current = Path(tmpdir) / "stream"
            try:
                with current.open("wb") as out:
                    _copy_stream(shown, out, path)
            except OSError as exc:
                if isinstance(exc, ReadError):
                    raise
                raise _stream_error(shown, f"cannot read the stream: {exc.strerror or exc}",
                                    "check the program writing it") from exc
        if current.is_file() and _is_gzip(current):
            tmpdir = tmpdir or tempfile.mkdtemp(prefix="curator-stream-")
            inner = Path(shown).name
            inner = inner[:-3] if inner.lower().endswith(".gz") else inner
            target = Path(tmpdir) / ("data" + Path(inner).suffix.lower())
            with target.open("wb") as out:
                _gunzip(current, out, shown)
            if current.parent == Path(tmpdir):
                current.unlink()
            current = target
        yield Source(current, shown, tmpdir is not None)
    finally:
        if tmpdir is not None:
            shutil.rmtree(tmpdir, ignore_errors=True)


def precheck(path: str | os.PathLike[str]) -> Issue | None:
    """The error that would stop reading `path` before its first row (missing, unreadable,
    binary, UTF-16, damaged Parquet), or None. Streams are not opened: they read only once."""
    p = Path(path)
    if is_stream(path):
        return None
    if not p.exists():
        return Issue("file.not_found", "error", f"{p}: no such file", str(p), hint="check the path")
    if not os.access(p, os.R_OK):
        return Issue("file.unreadable", "error", f"{p}: not readable (permission denied)", str(p),
                     hint="check the file's permissions")
    if p.is_file() and _is_gzip(p):
        return None
    pr = probe(p)
    if pr.fatal:
        fatal = next(i for i in pr.issues if i.severity == "error")
        return None if fatal.code == "file.empty" else fatal
    return None


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """True when two paths name one file: equal once resolved (symlinks), or the same inode
    (hard links). `-` (stdin) is never the same as a file."""
    if STDIN in (str(a), str(b)):
        return False
    pa, pb = Path(a), Path(b)
    try:
        if pa.resolve() == pb.resolve():
            return True
    except (OSError, RuntimeError):
        pass
    try:
        return pa.exists() and pb.exists() and os.path.samefile(pa, pb)
    except OSError:
        return False


def _process_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _process_umask()  # read once, at import: setting it back and forth is not thread-safe


def _not_a_plain_file(p: Path) -> bool:
    """Whether `p` names something other than a regular file a rename may replace: a device,
    FIFO or socket, or any name under /dev or /proc (`/dev/stdout` is a link to whatever fd 1
    is, a regular file when the shell redirects it)."""
    if str(p.absolute()).startswith(("/dev/", "/proc/")):
        return True
    try:
        return not stat.S_ISREG(os.stat(p).st_mode)
    except OSError:
        return False  # not there yet (or unreadable): the atomic path creates or reports it


@contextmanager
def atomic_writer(path: str | os.PathLike[str]) -> Iterator[BinaryIO]:
    """A binary file that replaces `path` only when the block ends without an exception.

    The data goes to a temp file beside `path`, is fsynced and renamed over it, so a reader (or
    a crash at any moment) sees either the old file or the whole new one; then the folder is
    fsynced where the system allows it (Windows does not), to make the rename durable. An
    exception inside the block removes the temp file and leaves `path` as it was. The new file
    gets the permissions a plain open() would give it, not the temp file's owner-only ones.
    """
    p = Path(path)
    if _not_a_plain_file(p):
        # /dev/stdout, /dev/null, a FIFO or a terminal: written to as it is. Renaming a temp
        # file over it would replace the device node (as root) or fail (as anyone else).
        with open(p, "wb") as fh:
            yield fh
        return
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
    if hasattr(os, "fchmod"):
        os.fchmod(fd, 0o666 & ~_UMASK)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    with contextlib.suppress(OSError):  # the file is in place; only durability is best effort
        fsync_dir(p.parent)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write a file so that a reader sees either the old file or the whole new one."""
    with atomic_writer(path) as fh:
        fh.write(data)


def fsync_dir(path: str | os.PathLike[str]) -> None:
    """Make a folder's entries (a rename into it) durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
