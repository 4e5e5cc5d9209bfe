"""Import sends JSONL files to its workers as chunks of bytes, parsed there: every record must
still get the line, example index, raw text and content the reader gives it, whatever chunk it
falls in (the example index feeds converted tool-call ids), and the file's hash is the file's."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
from pathlib import Path
from typing import Any

import pytest
from store_helpers import chat

from curator.io import Reader
from curator.workspace import Workspace, importer
from curator.workspace.importer import import_files
from curator.workspace.prepare import Preparer

SHAREGPT_CALLS = {
    "conversations": [
        {"from": "human", "value": "weather in Paris?"},
        {"from": "function_call", "value": json.dumps({"name": "weather", "arguments": {"city": "Paris"}})},
        {"from": "observation", "value": "sunny"},
        {"from": "gpt", "value": "Paris is sunny."},
    ],
}


def awkward_file(path: Path) -> bytes:
    """Chat rows and converted rows among blank, whitespace-only and CRLF lines, a broken line,
    a line that is no object, and a last line cut off without its newline."""
    lines: list[bytes] = []
    for i in range(120):
        row: dict[str, Any] = SHAREGPT_CALLS if i % 7 == 3 else chat(f"question {i} " + "x" * (i % 13), f"a{i}")
        line = json.dumps(row).encode()
        if i % 11 == 5:
            line += b"\r"
        lines.append(line)
        if i % 9 == 2:
            lines.append(b"")
        if i % 17 == 8:
            lines.append(b" \t\x0c ")
    lines[40] = b'{"messages": [broken'
    lines[77] = b"[1, 2, 3]"
    data = b"\n".join(lines) + b'\n{"messages": [{"role": "user", "con'
    path.write_bytes(data)
    return data


@pytest.mark.parametrize("workers", [1, 2])
def test_every_record_keeps_its_line_index_and_content_across_chunks(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int) -> None:
    src = tmp_path / "awkward.jsonl"
    data = awkward_file(src)
    monkeypatch.setattr(importer, "CHUNK_BYTES", 700)  # dozens of chunks, cut mid-pattern
    expected = [(r.line, r.example_index, r.raw) for r in Reader(src)]
    with Workspace.open(tmp_path / "w.db", create=True) as ws:
        cache = ws.connection.execute("PRAGMA cache_size").fetchone()[0]
        report = import_files(ws, [src], Preparer("openai", count_tokens=False), workers=workers)
        rows = ws.connection.execute(
            "SELECT source_line, example_index, raw, canonical, status, reason FROM records "
            "ORDER BY id").fetchall()
        assert ws.connection.execute("PRAGMA cache_size").fetchone()[0] == cache
        source = ws.sources()[0]
    assert report.rows == len(expected) == len(rows)
    assert [(line, index, raw) for line, index, raw, *_ in rows] == expected
    for _, index, raw, canonical, _, _ in rows:
        if raw.startswith('{"conversations"'):  # call ids are numbered by the example index
            calls = json.loads(canonical)["messages"][1]["tool_calls"]
            assert calls[0]["id"] == f"call_{index}_0"
    by_line = {line: (status, reason) for line, _, _, _, status, reason in rows}
    assert by_line[41] == ("rejected", "json.invalid")
    assert by_line[max(by_line)][0] == "rejected"  # the cut-off last line, stored not lost
    assert source["sha256"] == hashlib.sha256(data).hexdigest() and source["size"] == len(data)
    assert source["complete"] == 1 and source["rows"] == len(expected)


def test_a_file_changed_after_the_parent_read_a_chunk_stores_the_bytes_it_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The workers read their chunk from the file themselves (the parent sends where it lies
    and its XXH3); a chunk whose bytes changed after the parent read, hashed and counted them
    must still be stored from the parent's bytes, every clean line included."""
    src = tmp_path / "changing.jsonl"
    data = b"".join(json.dumps(chat(f"question {i}", f"answer {i}")).encode() + b"\n"
                    for i in range(60))
    src.write_bytes(data)
    monkeypatch.setattr(importer, "CHUNK_BYTES", 700)
    first_end = importer.chunk_bounds(src, 0, len(data), 700)[0][1]
    changed = data[:first_end].replace(b"question", b"QUESTION").replace(b"answer", b"ANSWER")
    line_jobs = importer._line_jobs

    def changed_after_the_first_read(*args: Any) -> Any:
        jobs = line_jobs(*args)
        first = next(jobs)  # the parent has read (hashed, counted) the first chunk...
        with src.open("r+b") as fh:  # ...and its bytes change before a worker reads them
            fh.write(changed)
        yield first
        yield from jobs

    monkeypatch.setattr(importer, "_line_jobs", changed_after_the_first_read)
    with Workspace.open(tmp_path / "w.db", create=True) as ws:
        import_files(ws, [src], Preparer("openai"), workers=2)
        rows = ws.connection.execute("SELECT raw, canonical, status FROM records ORDER BY id").fetchall()
        source = ws.sources()[0]
    assert src.read_bytes()[:first_end] == changed != data[:first_end]
    expected = data.decode().splitlines()  # what the parent read and hashed
    assert [raw for raw, _, _ in rows] == expected
    assert [json.loads(c) for _, c, _ in rows] == [json.loads(line) for line in expected]
    assert {status for _, _, status in rows} == {"pending"}  # clean rows: the lines travel back
    assert source["sha256"] == hashlib.sha256(data).hexdigest()


def test_the_workers_inherit_the_checker_the_parent_built_before_forking(tmp_path: Path) -> None:
    """With fork, the row checker (its counter's tables, about a second a process) is built
    once in the parent before the workers fork and is theirs by inheritance, as validate does;
    the records are those of an import in one process."""
    src = tmp_path / "rows.jsonl"
    src.write_bytes(b"".join(json.dumps(chat(f"question {i}", f"answer {i}")).encode() + b"\n"
                             for i in range(40)))
    stored = []
    for workers in (1, 2):
        prepare = Preparer("openai")
        with Workspace.open(tmp_path / f"w{workers}.db", create=True) as ws:
            import_files(ws, [src], prepare, workers=workers)
            stored.append(ws.connection.execute(
                "SELECT raw, canonical, status, tokens_total FROM records ORDER BY id").fetchall())
        if workers == 2 and "fork" in multiprocessing.get_all_start_methods():
            assert prepare._checker is not None  # built here, before the fork
    assert stored[0] == stored[1] and len(stored[0]) == 40


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(),
                    reason="the shared slots are for forked workers")
def test_rows_come_back_through_shared_memory_or_the_pipe_and_are_the_same(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Forked workers put each job's rows into the slot of shared memory the parent gave the job
    (`importer._Slots`) and answer only their length; rows that do not fit come through the
    pool's pipe instead. Either way the records, issues and report are those of an import in
    one process."""
    src = tmp_path / "awkward.jsonl"
    awkward_file(src)
    monkeypatch.setattr(importer, "CHUNK_BYTES", 700)  # dozens of jobs
    loaded: list[int] = []
    load = importer._Slots.load

    def counted(self: importer._Slots, slot: int, n: int) -> list[Any]:
        loaded.append(n)
        return load(self, slot, n)

    monkeypatch.setattr(importer._Slots, "load", counted)

    def stored(workers: int, name: str) -> Any:
        with Workspace.open(tmp_path / name, create=True) as ws:
            report = import_files(ws, [src], Preparer("openai"), workers=workers)
            return (report.to_dict()["files"][0], ws.connection.execute(
                "SELECT uid, source_line, example_index, raw, canonical, status, reason, "
                "tokens_total, tokens_trained FROM records ORDER BY id").fetchall(),
                ws.connection.execute("SELECT record_id, code, message_index FROM issues "
                                      "ORDER BY id").fetchall())

    one = stored(1, "one.db")
    assert len(one[1]) > 100 and loaded == []
    jobs = len(importer.chunk_bounds(src, 0, src.stat().st_size, 700))
    assert stored(2, "slots.db") == one
    assert len(loaded) == jobs  # every job's rows through its slot
    # slots the size of the middle job's rows: some fit, the others come through the pipe
    sizes = sorted(loaded)
    monkeypatch.setattr(importer, "SLOT_BYTES", sizes[len(sizes) // 2])
    loaded.clear()
    assert stored(2, "mixed.db") == one
    assert 0 < len(loaded) < jobs and max(loaded) <= sizes[len(sizes) // 2]
