"""Fuzzing the readers with hypothesis: random bytes, JSON-ish text, deep nesting, odd encodings,
BOMs and huge lines go through `read_rows`, `probe`, the validate engine and `convert_file`.

Properties: nothing raises but the documented `ReadError` (and its `RowsLost`); no row is lost
silently: in a file read as JSON Lines every non-blank line is a row with that line number, a
row that could not be parsed carries an error, and validate and convert see the same rows.

The default run is short (a few seconds). Set CURATOR_FUZZ_EXAMPLES to run longer, e.g.
`CURATOR_FUZZ_EXAMPLES=5000 pytest tests/unit/test_readers_fuzz.py` (see DEVELOPERS.md).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from curator.formats.convert_file import convert_file
from curator.io import BOM, ReadError, Row, probe, read_rows
from curator.validate.engine import validate_file

EXAMPLES = int(os.environ.get("CURATOR_FUZZ_EXAMPLES", "25"))
LONG_RUN = "CURATOR_FUZZ_EXAMPLES" in os.environ
# the default run is the same every time (fixed seed, no example database); a long run explores
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=not LONG_RUN,
                database=settings.default.database if LONG_RUN else None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])

ROW = json.dumps({"messages": [{"role": "user", "content": "Hi there"},
                               {"role": "assistant", "content": "Hello, how can I help?"}]})
FRAGMENTS = ["{", "}", "[", "]", '"', ":", ",", "\n", "\r\n", "\n\n", " ", "null", "true", "1", "-0.5e9", "NaN",
             '"messages"', '"role"', '"user"', '"assistant"', '"content"', '"prompt"', '"completion"', "\\",
             "\\u", "\\ud83d", "\\u0000", "\ufeff", "é", "日本", "\x00", "\x1b[2J", ROW, ROW + "\n", "[" * 300,
             "]" * 300, '{"a":' * 150, "}" * 150]


def _mutated_row(base: str, cut: int, insert: str) -> str:
    cut %= len(base) + 1
    return base[:cut] + insert + base[cut:]


json_lines = st.lists(
    st.one_of(
        st.just(ROW),
        st.builds(_mutated_row, st.just(ROW), st.integers(0, 200), st.sampled_from(FRAGMENTS)),
        st.text(max_size=40),
        st.builds(lambda d: "[" * d + "]" * d, st.integers(1, 3000)),
        st.builds(lambda d: '{"a":' * d + "1" + "}" * d, st.integers(1, 3000)),
        st.just(json.dumps({"messages": [{"role": "user", "content": "x" * 70_000},
                                         {"role": "assistant", "content": "ok"}]})),
        st.sampled_from(["null", "[]", "1", '"s"', "", "   ", '{"a":1,"a":2}', '{"x": NaN}',
                         '"' + "a" * 140_000 + '",x']),
    ),
    max_size=12,
).map("\n".join)

json_ish = st.lists(st.sampled_from(FRAGMENTS), max_size=40).map("".join)
json_arrays = st.lists(st.one_of(st.just(ROW), json_ish), max_size=10).map(
    lambda parts: "[\n" + ",\n".join(parts) + "\n]")
texts = st.one_of(json_lines, json_ish, json_arrays)


@st.composite
def files(draw: st.DrawFn) -> tuple[bytes, str]:
    """(file bytes, suffix): text in an encoding, maybe with a BOM, or raw random bytes."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=3000)), draw(st.sampled_from([".jsonl", ".json", ".csv"]))
    text = draw(texts)
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8", "utf-16-le", "utf-16", "latin-1"]))
    data = text.encode(encoding, "replace")
    if encoding == "utf-8" and draw(st.booleans()):
        data = BOM + data
    if draw(st.integers(0, 5)) == 0 and data:  # a cut in the middle of a multi-byte character
        data = data[:draw(st.integers(0, len(data)))]
    return data, draw(st.sampled_from([".jsonl", ".jsonl", ".json", ".csv"]))


def _read_all(path: Path) -> tuple[list[Row], ReadError | None]:
    rows: list[Row] = []
    try:
        for row in read_rows(path):
            rows.append(row)
    except ReadError as exc:  # the only thing a reader may raise
        return rows, exc
    return rows, None


def _nonblank_lines(data: bytes) -> list[int]:
    body = data[3:] if data.startswith(BOM) else data
    return [n for n, line in enumerate(body.split(b"\n"), start=1) if line.strip()]


def _check(tmp: Path, data: bytes, suffix: str) -> None:
    path = tmp / f"data{suffix}"
    path.write_bytes(data)
    pr = probe(path)  # never raises
    rows, error = _read_all(path)
    for row in rows:
        assert row.data is not None or any(i.severity == "error" for i in row.issues), row
        assert all(i.line == row.line for i in row.issues), row
    if pr.kind == "jsonl" and not pr.fatal:
        assert error is None
        assert [r.line for r in rows] == _nonblank_lines(data)  # every line: a row, in order
    elif error is not None:
        assert error.issue.severity == "error" and error.issue.message

    report = validate_file(path, count_tokens=False, workers=1)  # never raises
    if error is None:
        assert report.examples == len(rows)
        assert report.rejected >= sum(1 for r in rows if r.data is None)
    assert not report.io_error or error is not None or pr.fatal

    try:
        conv = convert_file(path, tmp / "out.jsonl", "chat", rejects=tmp / "rej.jsonl")
    except ReadError as exc:
        assert error is not None or pr.fatal, exc
        return
    if error is None:
        assert conv.rows == len(rows) and conv.converted + conv.rejected == conv.rows
        assert len((tmp / "rej.jsonl").read_bytes().splitlines()) >= conv.rejected


@FUZZ
@given(case=files())
def test_readers_never_crash_and_never_lose_a_line(tmp_path_factory: Any, case: tuple[bytes, str]) -> None:
    data, suffix = case
    _check(tmp_path_factory.mktemp("fuzz"), data, suffix)


@FUZZ
@given(depth=st.integers(100, 200_000), opener=st.sampled_from(["[", '{"a":']), line=st.integers(1, 3),
       suffix=st.sampled_from([".jsonl", ".json"]))
def test_deep_nesting_anywhere_is_a_row_error(tmp_path_factory: Any, depth: int, opener: str, line: int,
                                              suffix: str) -> None:
    closer = "]" if opener == "[" else "}"
    deep = opener * depth + ("" if opener == "[" else "1") + closer * depth
    lines = [ROW] * 3
    lines[line - 1] = deep
    _check(tmp_path_factory.mktemp("deep"), ("\n".join(lines) + "\n").encode(), suffix)
