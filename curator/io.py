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
import io
import json
import os
import re
import tempfile
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
        return Parsed(None, [("json.invalid", "invalid JSON: nested too deeply", None)])
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
        if value is not None and not isinstance(value, dict):
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


def probe(path: str | os.PathLike[str]) -> Probe:
    """Decide how to read `path` and find the file-level problems visible up front."""
    p = Path(path)
    name = str(path)
    if not p.exists():
        return Probe("jsonl", issues=[Issue("file.not_found", "error", f"{name}: no such file or folder",
                                            name, hint="check the path")], fatal=True)
    if p.is_dir():
        return Probe("hf")
    suffix = p.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        return Probe("parquet", size=p.stat().st_size)
    size = p.stat().st_size
    with p.open("rb") as fh:
        head = fh.read(1 << 16)
    pr = Probe("csv" if suffix in CSV_SUFFIXES else "json" if suffix == ".json" else "jsonl", size=size)
    if size == 0 or not head.strip(b" \t\r\n" + BOM):
        pr.issues.append(Issue("file.empty", "error", "the file is empty (no data rows)", name,
                               hint="write at least one example"))
        pr.fatal = True
        return pr
    wide = _wide_encoding(head)
    if wide:
        pr.issues.append(Issue("file.not_utf8", "error", f"the file looks {wide}-encoded, not UTF-8", name,
                               line=1, hint=f"re-encode as UTF-8: iconv -f {wide} -t UTF-8 IN > OUT"))
        pr.fatal = True
        return pr
    if head.startswith(BOM):
        pr.start = 3
        pr.issues.append(Issue("file.bom_present", "info",
                               "the file starts with a UTF-8 byte-order mark (ignored while reading)",
                               name, line=1, hint="harmless here; many JSON parsers reject it"))
    if pr.kind == "jsonl":
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
    for bom, enc in ((b"\x00\x00\xfe\xff", "UTF-32BE"), (b"\xff\xfe\x00\x00", "UTF-32LE"),
                     (b"\xfe\xff", "UTF-16BE"), (b"\xff\xfe", "UTF-16LE")):
        if head.startswith(bom):
            return enc
    sample = head[:4096]
    if sample.count(0) * 4 >= len(sample):
        return "UTF-16LE" if sample[1:2] == b"\x00" else "UTF-16BE"
    return None


def _whole_file_is_json(p: Path, start: int, head: bytes) -> bool:
    """A .jsonl file whose first line is not a complete object but the whole file is JSON."""
    body = head[start:]
    nl = body.find(b"\n")
    first_line = body if nl == -1 else body[:nl]
    if first_line.strip().startswith(b"{"):
        try:
            if isinstance(orjson.loads(first_line), dict):
                return False
        except orjson.JSONDecodeError:
            pass
    elif nl != -1 and body.strip().startswith(b"[") and first_line.strip() not in (b"[",):
        try:  # a one-line array followed by more lines is JSONL with a bad first row
            orjson.loads(first_line)
            return False
        except orjson.JSONDecodeError:
            pass
    try:
        json.loads(p.read_bytes()[start:].decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return False
    return True


# --- the reader -------------------------------------------------------------------------------


class Reader:
    """Iterate the rows of one file; `file_issues` fills up with file-level problems.

    Iterate once; `file_issues` is complete after the iteration ends.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.name = str(path)
        self.probe = probe(path)
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
        text = self.path.read_bytes()[self.probe.start:].decode("utf-8", "replace")
        for index, (line, raw, parsed) in enumerate(iter_json_document(text), start=1):
            issues = [Issue(code, "error", msg, self.name, line, index, hint=hint)
                      for code, msg, hint in parsed.problems]
            value = parsed.value
            if value is not None and not isinstance(value, dict):
                issues.append(Issue("json.not_object", "error",
                                    f"record is a JSON {_json_type(value)}, not an object",
                                    self.name, line, index, hint="each record must be a JSON object"))
                value = None
            yield Row(self.name, line, index, raw, value, issues, raw.encode("utf-8", "replace"))

    def _csv(self) -> Iterator[Row]:
        text = self.path.read_bytes()[self.probe.start:].decode("utf-8", "replace")
        dialect = "excel-tab" if self.path.suffix.lower() == ".tsv" else "excel"
        reader = csv.DictReader(io.StringIO(text, newline=""), dialect=dialect)
        index = 0
        _ = reader.fieldnames  # reads the header, so line_num points at it
        line = reader.line_num + 1
        for record in reader:
            index += 1
            issues: list[Issue] = []
            data: dict[str, Any] = {}
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
        for batch in pf.iter_batches(batch_size=4096):
            for record in batch.to_pylist():
                index += 1
                yield _arrow_row(self.name, index, record)

    def _hf(self) -> Iterator[Row]:
        try:
            import datasets
            loaded = datasets.load_from_disk(str(self.path))
        except (FileNotFoundError, ValueError, OSError) as exc:
            self._unreadable(f"not a Hugging Face save_to_disk folder: {exc}")
            return
        splits = loaded.items() if isinstance(loaded, datasets.DatasetDict) else [(None, loaded)]
        for split, ds in splits:
            name = self.name if split is None else f"{self.name}[{split}]"
            for index, record in enumerate(ds, start=1):
                yield _arrow_row(name, index, record)

    def _unreadable(self, message: str) -> None:
        self.file_issues.append(Issue("file.unreadable", "error", message, self.name,
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


def iter_json_document(text: str) -> Iterator[tuple[int, str, Parsed]]:
    """Yield (line, raw text, Parsed) for each element of a JSON array, or the one object.

    A syntax error ends the document: it is yielded as one unparsable record at its line.
    """
    decoder = json.JSONDecoder()
    n = len(text)
    pos = _skip_ws(text, 0)
    line = 1 + text.count("\n", 0, pos)
    if pos < n and text[pos] == "[":
        pos = _skip_ws(text, pos + 1)
        if pos < n and text[pos] == "]":
            return
        counted = 0
        while pos < n:
            line += text.count("\n", counted, pos)
            counted = pos
            try:
                _, end = decoder.raw_decode(text, pos)
            except json.JSONDecodeError as exc:
                yield exc.lineno, text[pos:pos + 200], Parsed(None, [(
                    "json.invalid", f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
                    "; the rest of the file cannot be read", None)], exc.colno)
                return
            raw = text[pos:end]
            yield line, raw, _slow_parse(raw)
            pos = _skip_ws(text, end)
            if pos < n and text[pos] == ",":
                pos = _skip_ws(text, pos + 1)
            elif pos < n and text[pos] == "]":
                return
            else:
                at = 1 + text.count("\n", 0, pos)
                yield at, text[pos:pos + 200], Parsed(None, [(
                    "json.invalid", "invalid JSON: expected ',' or ']' between array elements"
                    "; the rest of the file cannot be read", None)])
                return
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


def read_rows(path: str | os.PathLike[str]) -> Iterator[Row]:
    """Yield every row of a file: JSONL, JSON array, CSV, Parquet or a HF `save_to_disk` folder.

    Raises ReadError when the file cannot be read at all (missing, UTF-16); an empty file
    yields nothing. Row-level
    problems are in each `Row.issues`; use `Reader` to also get file-level ones (BOM, CRLF, ...).
    """
    reader = Reader(path)
    if reader.probe.fatal:
        fatal = next(i for i in reader.file_issues if i.severity == "error")
        if fatal.code == "file.empty":  # nothing to read is not a failure to read
            return
        raise ReadError(fatal)
    yield from reader


def _process_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _process_umask()  # read once, at import: setting it back and forth is not thread-safe


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
