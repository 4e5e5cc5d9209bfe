"""Reading rows with their locations, and writing files atomically.

Every reader keeps where a row came from (file, physical line or row number, 1-based example
index) and never drops a row: a line that cannot be parsed becomes a `Row` with `data=None` and
an error saying why. Problems that belong to the whole file (BOM, CRLF, wrong container) go to
`Reader.file_issues`.

JSONL is the fast path: lines are parsed with orjson straight from bytes. orjson rejects NaN and
lone surrogates (we re-parse those lines with the standard library to name the problem) but keeps
the last of two duplicate keys without a word, so `parse_json_bytes` runs an exact, cheap
duplicate-key test on every line (see `parse.same_colon_count`) and only re-parses the rare line it
cannot clear.
"""

# The package's modules: rows (Row and the errors), parse (one JSON document), jsonl, arrays
# (a JSON array streamed), probe (what a file holds), reader (read_rows), sources (stdin, pipes,
# FIFOs, gzip), atomic (atomic writes).

from curator.io.atomic import atomic_write_bytes, atomic_writer, fsync_dir
from curator.io.jsonl import (
    ChunkScan,
    LineRecord,
    chunk_bounds,
    jsonl_scan_issues,
    read_line,
    scan_jsonl,
    split_lines,
)
from curator.io.parse import MAX_DEPTH, Parsed, parse_json_bytes
from curator.io.probe import GZIP_MAGIC, PARQUET_MAGIC, Probe, probe
from curator.io.reader import Reader, read_rows
from curator.io.rows import (
    BOM,
    CSV_SUFFIXES,
    JSONL_SUFFIXES,
    PARQUET_SUFFIXES,
    ReadError,
    Row,
    RowsLost,
)
from curator.io.sources import (
    STDIN,
    STDIN_NAME,
    Source,
    is_stream,
    open_source,
    precheck,
    same_file,
)

__all__ = [
    "BOM", "CSV_SUFFIXES", "GZIP_MAGIC", "JSONL_SUFFIXES", "MAX_DEPTH", "PARQUET_MAGIC", "PARQUET_SUFFIXES",
    "STDIN", "STDIN_NAME", "ChunkScan", "LineRecord", "Parsed", "Probe", "ReadError", "Reader", "Row",
    "RowsLost", "Source", "atomic_write_bytes", "atomic_writer", "chunk_bounds", "fsync_dir", "is_stream",
    "jsonl_scan_issues", "open_source", "parse_json_bytes", "precheck", "probe", "read_line",
    "read_rows", "same_file", "scan_jsonl", "split_lines",
]
