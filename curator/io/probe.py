"""Sniffing a file: what it holds (JSONL, a JSON document, CSV, Parquet) before reading it."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from curator.io.rows import BOM, CSV_SUFFIXES, PARQUET_SUFFIXES
from curator.issues import Issue

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
