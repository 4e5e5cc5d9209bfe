"""The readers: every row kept with its location, every file-level problem named."""

from __future__ import annotations

import itertools
import json
import os
import random
from pathlib import Path

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curator import io as cio
from curator.io import (
    ChunkScan,
    Reader,
    ReadError,
    chunk_bounds,
    parse_json_bytes,
    read_rows,
    scan_jsonl,
)
from curator.io import parse as cio_parse

ROW = {"messages": [{"role": "user", "content": "Hi: there"}, {"role": "assistant", "content": "a:b"}]}


def _codes(parsed: cio.Parsed) -> set[str]:
    return {p[0] for p in parsed.problems}


# --- the duplicate-key test ----------------------------------------------------------------------

def _reference_has_duplicate(text: str) -> bool:
    found = False

    def hook(pairs: list[tuple[str, object]]) -> dict[str, object]:
        nonlocal found
        keys = [k for k, _ in pairs]
        found = found or len(keys) != len(set(keys))
        return dict(pairs)

    json.loads(text, object_pairs_hook=hook)
    return found


def _random_json(rng: random.Random, depth: int = 0) -> str:
    """Raw JSON text built by hand so that duplicate keys can occur (json.dumps cannot make them)."""
    atoms = ['"a"', '"x:y"', '"\\u003a"', '"\\\\u003a"', '"\\u003A:"', "1", "null", "true", '"::"', '""']
    if depth > 2 or rng.random() < 0.3:
        return rng.choice(atoms)
    if rng.random() < 0.3:
        return "[" + ",".join(_random_json(rng, depth + 1) for _ in range(rng.randint(0, 3))) + "]"
    keys = ['"k"', '"role"', '"a:b"', '"\\u003a"', '"c"']
    members = [f"{rng.choice(keys)}:{_random_json(rng, depth + 1)}" for _ in range(rng.randint(0, 4))]
    return "{" + ",".join(members) + "}"


def test_duplicate_key_check_agrees_with_a_full_parse_on_random_json() -> None:
    rng = random.Random(7)
    dup_seen = clean_seen = 0
    for _ in range(3000):
        text = '{"top":' + _random_json(rng) + "}"
        expected = _reference_has_duplicate(text)
        got = "json.duplicate_key" in _codes(parse_json_bytes(text.encode()))
        assert got == expected, text
        dup_seen += expected
        clean_seen += not expected
    assert dup_seen > 100 and clean_seen > 100  # both sides were really exercised


def test_duplicate_key_hidden_by_an_escaped_colon_is_still_found() -> None:
    # the dropped member has a colon in its value, the kept one an escaped colon: the raw colon
    # count alone would balance, so the escape count must be part of the test
    text = b'{"a": "\\u003a", "a": "x:"}'
    assert "json.duplicate_key" in _codes(parse_json_bytes(text))


def test_clean_rows_never_take_the_slow_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = cio_parse._slow_parse

    def counting(text: str) -> cio.Parsed:
        calls.append(text)
        return real(text)

    monkeypatch.setattr(cio_parse, "_slow_parse", counting)
    rows = [{"messages": [{"role": "user", "content": f"time {i}:{i} ratio 1:{i} — café 東京"},
                          {"role": "assistant", "content": "ok", "weight": 1}]} for i in range(500)]
    for r in rows:
        assert parse_json_bytes(json.dumps(r).encode()).value == r  # ensure_ascii escapes too
        assert parse_json_bytes(json.dumps(r, ensure_ascii=False).encode()).value == r
    assert calls == []


@pytest.mark.parametrize(("raw", "code"), [
    (b'{"a": NaN}', "json.nonstandard_constant"),
    (b'{"a": -Infinity}', "json.nonstandard_constant"),
    (b'{"a": "\\ud83d"}', "json.lone_surrogate"),
    (b'{"a": 1,}', "json.invalid"),
    (b'{"a": "caf\xe9"}', "file.not_utf8"),
    (b'{"a": {"b": 1, "b": 2}}', "json.duplicate_key"),
])
def test_bad_json_is_named(raw: bytes, code: str) -> None:
    assert code in _codes(parse_json_bytes(raw))


# --- JSONL files ---------------------------------------------------------------------------------

def _write(tmp_path, name: str, data: bytes):  # type: ignore[no-untyped-def]
    p = tmp_path / name
    p.write_bytes(data)
    return p


def test_bom_crlf_blank_lines_and_locations(tmp_path) -> None:  # type: ignore[no-untyped-def]
    line = json.dumps(ROW).encode()
    p = _write(tmp_path, "d.jsonl", cio.BOM + line + b"\r\n\r\n" + line + b"\r\n" + b"[1]\r\n")
    reader = Reader(p)
    rows = list(reader)
    assert [(r.line, r.example_index) for r in rows] == [(1, 1), (3, 2), (4, 3)]
    assert rows[0].data == ROW and rows[1].data == ROW
    assert rows[2].data is None and rows[2].issues[0].code == "json.not_object"
    assert rows[0].raw_bytes == line + b"\r"  # exact bytes, line ending included
    codes = {i.code: i for i in reader.file_issues}
    assert codes["file.bom_present"].severity == "info"
    assert codes["file.crlf"].line == 1
    assert codes["json.blank_line"].line == 2


def test_not_utf8_reports_the_byte_offset(tmp_path) -> None:  # type: ignore[no-untyped-def]
    good = json.dumps(ROW).encode() + b"\n"
    bad = b'{"messages": [{"role": "user", "content": "caf\xe9"}]}\n'
    data = good + bad
    rows = list(Reader(_write(tmp_path, "d.jsonl", data)))
    issue = rows[1].issues[0]
    assert issue.code == "file.not_utf8" and issue.line == 2
    offset = data.index(b"\xe9")
    assert f"offset {offset}" in issue.message


def test_truncated_last_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    line = json.dumps(ROW)
    rows = list(Reader(_write(tmp_path, "d.jsonl", (line + "\n" + line[:20]).encode())))
    assert rows[1].issues[0].code == "json.invalid"
    assert "truncated" in rows[1].issues[0].message
    # the same bad line with a newline after it is plain invalid JSON
    rows = list(Reader(_write(tmp_path, "e.jsonl", (line[:20] + "\n" + line + "\n").encode())))
    assert "truncated" not in rows[0].issues[0].message


def test_multi_megabyte_line_and_chunk_cuts(tmp_path) -> None:  # type: ignore[no-untyped-def]
    big = {"messages": [{"role": "user", "content": "word " * 700_000}, {"role": "assistant", "content": "ok"}]}
    lines = [json.dumps(ROW), json.dumps(big), json.dumps(ROW), "oops", json.dumps(ROW)]
    p = _write(tmp_path, "d.jsonl", ("\n".join(lines) + "\n").encode())
    size = p.stat().st_size
    assert size > 3_000_000
    whole = list(scan_jsonl(p.read_bytes(), first_line=1, base_offset=0, at_eof=True, scan=ChunkScan()))
    for chunk in (100, 4096, 1 << 20):
        bounds = chunk_bounds(p, 0, size, chunk)
        assert bounds[0][0] == 0 and bounds[-1][1] == size
        assert all(a[1] == b[0] for a, b in itertools.pairwise(bounds))
        got, line = [], 1
        for s, e in bounds:
            part = ChunkScan()
            buf = p.read_bytes()[s:e]
            got += [(r.line + line - 1, r.raw, r.value) for r in
                    scan_jsonl(buf, first_line=1, base_offset=s, at_eof=e == size, scan=part)]
            line += part.lines
        assert got == [(r.line, r.raw, r.value) for r in whole]
    assert [r.value is None for r in whole] == [False, False, False, True, False]


@pytest.mark.parametrize("body", [json.dumps([ROW, ROW], indent=2), json.dumps(ROW, indent=2)])
def test_json_document_in_a_jsonl_file(tmp_path, body: str) -> None:  # type: ignore[no-untyped-def]
    reader = Reader(_write(tmp_path, "d.jsonl", body.encode()))
    rows = list(reader)
    assert [i.code for i in reader.file_issues] == ["file.is_json_not_jsonl"]
    assert all(r.data == ROW for r in rows) and len(rows) in (1, 2)


def test_json_array_lines_and_duplicate_keys(tmp_path) -> None:  # type: ignore[no-untyped-def]
    text = '[\n  {"a": 1},\n  {"a": 1, "a": 2},\n  {"b": NaN}\n]\n'
    rows = list(Reader(_write(tmp_path, "d.json", text.encode())))
    assert [r.line for r in rows] == [2, 3, 4]
    assert rows[1].issues[0].code == "json.duplicate_key"
    assert rows[2].issues[0].code == "json.nonstandard_constant" and rows[2].data is None


def test_utf16_empty_and_missing_files(tmp_path) -> None:  # type: ignore[no-untyped-def]
    p = _write(tmp_path, "u.jsonl", (json.dumps(ROW) + "\n").encode("utf-16"))
    assert [i.code for i in Reader(p).file_issues] == ["file.not_utf8"]
    assert "UTF-16" in Reader(p).file_issues[0].message
    assert [i.code for i in Reader(_write(tmp_path, "e.jsonl", b"\n\n")).file_issues] == ["file.empty"]
    with pytest.raises(ReadError) as exc:
        list(read_rows(tmp_path / "missing.jsonl"))
    assert exc.value.issue.code == "file.not_found"


def test_csv_cells_holding_json(tmp_path) -> None:  # type: ignore[no-untyped-def]
    text = 'messages,note\n"' + json.dumps(ROW["messages"]).replace('"', '""') + '",hello\n"[broken",x\n'
    rows = list(Reader(_write(tmp_path, "d.csv", text.encode())))
    assert rows[0].data == {"messages": ROW["messages"], "note": "hello"}
    assert rows[1].issues[0].code == "json.invalid" and rows[1].issues[0].path == "/messages"
    assert [r.line for r in rows] == [2, 3]


def test_parquet_and_hf_folder(tmp_path) -> None:  # type: ignore[no-untyped-def]
    tool_row = {"messages": [{"role": "user", "content": "q"},
                             {"role": "assistant", "content": "a", "weight": 0}]}
    pq.write_table(pa.Table.from_pylist([ROW, tool_row]), tmp_path / "d.parquet")
    rows = list(read_rows(tmp_path / "d.parquet"))
    # Arrow fills absent struct fields with null; the reader drops them again
    assert [r.data for r in rows] == [ROW, tool_row]
    datasets.DatasetDict({"train": datasets.Dataset.from_list([ROW, ROW]),
                          "test": datasets.Dataset.from_list([ROW])}).save_to_disk(str(tmp_path / "hf"))
    rows = list(read_rows(tmp_path / "hf"))
    assert sorted(r.file.rsplit("[", 1)[1] for r in rows) == ["test]", "train]", "train]"]
    assert all(r.data == ROW for r in rows)


def test_atomic_writer_replaces_only_a_whole_file(tmp_path: Path) -> None:
    from curator.io import atomic_write_bytes, atomic_writer

    target = tmp_path / "sub" / "out.jsonl"
    atomic_write_bytes(target, b"old\n")
    with pytest.raises(RuntimeError), atomic_writer(target) as fh:
        fh.write(b"half of the new")
        raise RuntimeError("killed halfway")
    assert target.read_bytes() == b"old\n"
    with atomic_writer(target) as fh:
        fh.write(b"new\n")
    assert target.read_bytes() == b"new\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.jsonl"]  # no temp left
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask  # as open() would make it
