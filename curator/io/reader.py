"""The reader: rows with their locations from JSONL, JSON, CSV and Parquet files."""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from curator.io.arrays import _lines_in, iter_json_document
from curator.io.jsonl import (
    ChunkScan,
    LineRecord,
    _json_type,
    chunk_bounds,
    jsonl_scan_issues,
    scan_jsonl,
)
from curator.io.parse import Parsed, parse_json_bytes
from curator.io.probe import probe
from curator.io.rows import _ESCAPED, CSV_FIELD_LIMIT, JSON_CELL_KEYS, ReadError, Row, RowsLost
from curator.io.sources import open_source
from curator.issues import Issue

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
        return row_from_line(self.name, rec, index)

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


def row_from_line(name: str, rec: LineRecord, index: int) -> Row:
    """The Row of one scanned JSONL line, the `index`-th record of file `name` (the reader's
    own conversion; import's workers call it on the chunks they scan)."""
    issues = [Issue(code, "error", msg, name, rec.line, index, hint=hint)
              for code, msg, hint in rec.issues]
    return Row(name, rec.line, index, line_text(rec), rec.value, issues, rec.raw)


def line_text(rec: LineRecord) -> str:
    """A scanned line's text as a Row keeps it: without a trailing CR, bad UTF-8 replaced."""
    return rec.raw.rstrip(b"\r").decode("utf-8", "replace")


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
