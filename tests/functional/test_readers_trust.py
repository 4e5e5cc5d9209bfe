"""The readers keep every row or say which they could not read, in validate, stats, convert and
import alike: JSON arrays with bad elements, stdin/pipes/FIFOs/gzip, inputs never overwritten,
deep nesting, unreadable files (issue 11, items 3, 4, 5, 8, 11, 12)."""

from __future__ import annotations

import base64
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from store_helpers import chat, write_jsonl

from curator import io as cio
from curator.cli import cli
from curator.io import probe, read_rows
from curator.validate.engine import validate_file
from curator.workspace import Workspace


def invoke(*args: str, stdin: bytes | None = None) -> Result:
    result = CliRunner().invoke(cli, list(args), input=stdin)
    # a crash would show up as an exception other than the SystemExit of an exit code
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def curator(*args: str, stdin: bytes | None = None, env: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[bytes]:
    """The real command in a child process (stdin is then a real pipe)."""
    return subprocess.run([sys.executable, "-m", "curator", *args], input=stdin, capture_output=True,
                          timeout=timeout, env={**os.environ, **(env or {})}, check=False)


def rows(n: int) -> list[dict[str, Any]]:
    return [chat(f"question number {i}?", f"The answer to question {i} is {i * 7} apples.") for i in range(n)]


def json_array(path: Path, elements: list[str]) -> Path:
    path.write_text("[\n" + ",\n".join(elements) + "\n]\n", encoding="utf-8")
    return path


def validate_json(*args: str, stdin: bytes | None = None) -> tuple[int, dict[str, Any]]:
    r = invoke("validate", *args, "--json", "--no-tokens", stdin=stdin)
    return r.exit_code, json.loads(r.stdout)


# --- item 3: a JSON array with one bad element ------------------------------------------------


def _array_with_bad_element(tmp_path: Path, bad: str, name: str = "data.json") -> Path:
    elements = [json.dumps(r) for r in rows(1000)]
    elements[10] = bad
    return json_array(tmp_path / name, elements)


BAD_BUT_BALANCED = '{"messages": [{"role": "user", "content": unquoted}, {"role": "assistant", "content": "x"}]}'
UNBALANCED = '{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]'


def test_a_bad_array_element_loses_no_other_row_in_any_command(tmp_path: Path) -> None:
    src = _array_with_bad_element(tmp_path, BAD_BUT_BALANCED)
    read = list(read_rows(src))
    assert len(read) == 1000
    assert [r.example_index for r in read if r.data is None] == [11]
    assert read[10].line == 12 and read[10].issues[0].code == "json.invalid"

    code, out = validate_json(str(src))
    assert code == 1 and out["files"][0]["examples"] == 1000 and out["files"][0]["rejected"] == 1

    r = invoke("stats", str(src), "--json")
    assert r.exit_code == 1 and json.loads(r.stdout)["examples"] == 999

    r = invoke("convert", str(src), "--to", "chat", "-o", str(tmp_path / "out.jsonl"), "--json")
    assert r.exit_code == 1
    assert json.loads(r.stdout)["converted"] == 999 and json.loads(r.stdout)["rejected"] == 1

    r = invoke("import", str(src), "-w", str(tmp_path / "w.db"), "--json")
    report = json.loads(r.stdout)
    assert r.exit_code == 1 and report["new"] == 1000 and report["rejected"] == 1
    with Workspace.open(tmp_path / "w.db") as ws:
        assert ws.count() == 1000


def test_an_array_that_cannot_be_split_after_a_bad_element_names_the_lost_lines(tmp_path: Path) -> None:
    src = _array_with_bad_element(tmp_path, UNBALANCED)
    got = []
    with pytest.raises(cio.RowsLost) as lost:
        got.extend(read_rows(src))
    assert len(got) == 11 and got[10].data is None  # ten rows and the bad spot, then RowsLost
    assert lost.value.issue.code == "file.rest_unreadable" and "lines 12-1002" in lost.value.issue.message

    code, out = validate_json(str(src))
    assert code == 1 and out["files"][0]["counts"].get("file.rest_unreadable") == 1

    r = invoke("stats", str(src), "--json")
    assert r.exit_code == 1
    assert "file.rest_unreadable" in {p["code"] for p in json.loads(r.stdout)["problems"]}

    r = invoke("convert", str(src), "--to", "chat", "-o", str(tmp_path / "out.jsonl"), "--json")
    assert r.exit_code == 1 and json.loads(r.stdout)["unreadable"]
    assert "file.rest_unreadable" in r.stderr

    r = invoke("import", str(src), "-w", str(tmp_path / "w.db"), "--json")
    report = json.loads(r.stdout)
    assert r.exit_code == 1 and report["new"] == 11
    assert len(report["unreadable"]) == 1 and "lines 12-1002" in report["unreadable"][0]
    assert "lines 12-1002" in r.stderr


def test_two_arrays_back_to_back_do_not_hide_the_second(tmp_path: Path) -> None:
    src = tmp_path / "two.json"
    src.write_text(json.dumps(rows(2)) + "\n" + json.dumps(rows(3)) + "\n", encoding="utf-8")
    code, out = validate_json(str(src))
    assert code == 1 and out["files"][0]["counts"].get("file.rest_unreadable") == 1


def test_a_missing_comma_costs_one_row_not_the_rest(tmp_path: Path) -> None:
    src = tmp_path / "comma.json"
    src.write_text("[" + json.dumps(rows(1)[0]) + "\n" + ",".join(json.dumps(r) for r in rows(3)) + "]",
                   encoding="utf-8")
    read = list(read_rows(src))
    assert len(read) == 4 and [r.data is None for r in read] == [False, True, False, False]


# --- item 4: --quarantine never overwrites an input -------------------------------------------


@pytest.mark.parametrize("how", ["same", "symlink", "hardlink", "dotted"])
def test_quarantine_on_an_input_is_refused_and_writes_nothing(tmp_path: Path, how: str) -> None:
    src = write_jsonl(tmp_path / "data.jsonl", rows(12), raw_lines={5: "{broken"})
    before = src.read_bytes()
    target = {"same": src, "symlink": tmp_path / "link.jsonl", "hardlink": tmp_path / "hard.jsonl",
              "dotted": tmp_path / "." / "sub" / ".." / "data.jsonl"}[how]
    (tmp_path / "sub").mkdir()
    if how == "symlink":
        target.symlink_to(src)
    elif how == "hardlink":
        os.link(src, target)
    other = write_jsonl(tmp_path / "other.jsonl", rows(3))
    r = invoke("validate", str(other), str(src), "--quarantine", str(target))
    assert r.exit_code == 2 and "quarantine" in r.stderr
    assert src.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["data.jsonl", "other.jsonl", "sub"] + ([target.name] if how in ("symlink", "hardlink") else []))


# --- item 5: stdin, pipes, FIFOs, gzip -------------------------------------------------------


def _data(n: int = 13) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows(n)).encode()


def test_dash_is_stdin_for_validate_stats_convert_and_import(tmp_path: Path) -> None:
    code, out = validate_json("-", stdin=_data())
    assert code == 0 and out["files"][0]["examples"] == 13 and out["files"][0]["file"] == "<stdin>"
    r = invoke("stats", "-", "--json", stdin=_data())
    assert r.exit_code == 0 and json.loads(r.stdout)["examples"] == 13
    r = invoke("convert", "-", "--to", "sharegpt", "-o", str(tmp_path / "out.jsonl"), stdin=_data())
    assert r.exit_code == 0 and len((tmp_path / "out.jsonl").read_text().splitlines()) == 13
    r = invoke("import", "-", "-w", str(tmp_path / "w.db"), "--json", stdin=_data())
    assert r.exit_code == 0 and json.loads(r.stdout)["new"] == 13
    with Workspace.open(tmp_path / "w.db") as ws:
        assert ws.count() == 13


def test_dash_twice_is_a_usage_error(tmp_path: Path) -> None:
    assert invoke("validate", "-", "-", stdin=_data()).exit_code == 2
    assert invoke("import", "-", "-", "-w", str(tmp_path / "w.db"), stdin=_data()).exit_code == 2


def test_a_real_pipe_through_dev_stdin_is_read_to_its_end(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    done = curator("import", "/dev/stdin", "-w", str(db), "--json", stdin=_data())
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["new"] == 13
    done = curator("validate", "/dev/stdin", "--json", "--no-tokens", stdin=_data())
    assert done.returncode == 0 and json.loads(done.stdout)["files"][0]["examples"] == 13


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_is_read_as_a_stream(tmp_path: Path) -> None:
    fifo = tmp_path / "data.fifo"
    os.mkfifo(fifo)

    def write() -> None:
        with open(fifo, "wb") as fh:
            fh.write(_data(20))

    writer = threading.Thread(target=write)
    writer.start()
    done = curator("validate", str(fifo), "--json", "--no-tokens")
    writer.join(timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["files"][0]["examples"] == 20


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_nobody_writes_is_given_up_on_with_exit_2(tmp_path: Path) -> None:
    fifo = tmp_path / "lonely.fifo"
    os.mkfifo(fifo)
    done = curator("validate", str(fifo), env={"CURATOR_FIFO_WAIT": "0.5"}, timeout=60)
    assert done.returncode == 2
    assert b"FIFO" in done.stdout + done.stderr and b"Traceback" not in done.stderr


def test_gzip_files_are_read_in_every_command(tmp_path: Path) -> None:
    src = tmp_path / "train.jsonl.gz"
    src.write_bytes(gzip.compress(_data(13)))
    code, out = validate_json(str(src))
    assert code == 0 and out["files"][0]["examples"] == 13
    assert "file.extension" not in out["summary"]["counts"]
    r = invoke("stats", str(src), "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["examples"] == 13
    r = invoke("convert", str(src), "--to", "sharegpt", "-o", str(tmp_path / "out.jsonl"))
    assert r.exit_code == 0 and len((tmp_path / "out.jsonl").read_text().splitlines()) == 13
    r = invoke("import", str(src), "-w", str(tmp_path / "w.db"), "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["new"] == 13


def test_a_truncated_gzip_file_exits_2(tmp_path: Path) -> None:
    src = tmp_path / "cut.jsonl.gz"
    src.write_bytes(gzip.compress(_data(200))[:-30])
    assert invoke("validate", str(src)).exit_code == 2
    assert invoke("stats", str(src)).exit_code == 2
    assert invoke("convert", str(src), "--to", "chat", "-o", str(tmp_path / "o.jsonl")).exit_code == 2
    assert not (tmp_path / "o.jsonl").exists()


def test_a_spool_that_would_fill_the_disk_stops_with_exit_2(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A gzip file (a bomb, say) or an endless stream is spooled to a temporary file: the copy
    stops, one line, exit 2, before it leaves less than the reserve free, and the temporary
    folder is removed. The reserve is set above the disk's free space here to make it bite."""
    spool = tmp_path / "tmp"
    spool.mkdir()
    monkeypatch.setenv("TMPDIR", str(spool))
    monkeypatch.setattr(tempfile, "tempdir", None)  # TMPDIR is read again
    monkeypatch.setenv("CURATOR_SPOOL_RESERVE", str(shutil.disk_usage(spool).free + (1 << 30)))
    src = tmp_path / "train.jsonl.gz"
    src.write_bytes(gzip.compress(_data(13)))
    for args in (["validate", str(src)], ["stats", str(src)],
                 ["convert", str(src), "--to", "chat", "-o", str(tmp_path / "o.jsonl")],
                 ["import", str(src), "-w", str(tmp_path / "w.db")]):
        r = invoke(*args)
        assert r.exit_code == 2, (args, r.output)
        assert "would leave less than" in r.output and "Traceback" not in r.output
        assert list(spool.iterdir()) == [], args
    assert not (tmp_path / "o.jsonl").exists()
    monkeypatch.setenv("CURATOR_SPOOL_RESERVE", "0")  # with room, the same file reads
    assert invoke("validate", str(src)).exit_code == 0


# --- item 8: convert rejects duplicate keys as import does -------------------------------------


def test_convert_rejects_a_duplicate_key_like_import(tmp_path: Path) -> None:
    dup = '{"messages": [{"role": "user", "content": "a", "content": "b"}, {"role": "assistant", "content": "c"}]}'
    src = write_jsonl(tmp_path / "d.jsonl", rows(3), raw_lines={1: dup})
    r = invoke("convert", str(src), "--to", "chat", "-o", str(tmp_path / "out.jsonl"),
               "--rejects", str(tmp_path / "rej.jsonl"), "--json")
    assert r.exit_code == 1
    report = json.loads(r.stdout)
    assert report["converted"] == 3 and report["rejected"] == 1
    assert report["counts"].get("json.duplicate_key") == 1
    assert (tmp_path / "rej.jsonl").read_text().strip() == dup
    r = invoke("import", str(src), "-w", str(tmp_path / "w.db"), "--json")
    assert json.loads(r.stdout)["reasons"] == {"json.duplicate_key": 1}


# --- item 11: deep nesting on line 1; unreadable files exit 2 everywhere ----------------------


@pytest.mark.parametrize(("name", "first"), [
    ("deep.jsonl", "[" * 100_000 + "]" * 100_000),
    ("deepobj.jsonl", '{"a":' * 100_000 + "1" + "}" * 100_000),
    ("mid.jsonl", '{"messages":' + "[" * 900 + "]" * 900 + "}"),
])
def test_deep_nesting_on_the_first_line_is_a_row_error_in_every_command(tmp_path: Path, name: str,
                                                                        first: str) -> None:
    src = tmp_path / name
    src.write_text(first + "\n" + json.dumps(rows(1)[0]) + "\n", encoding="utf-8")
    code, out = validate_json(str(src))
    assert code == 1 and out["files"][0]["examples"] == 2
    assert out["files"][0]["counts"]["json.invalid"] == 1
    r = invoke("stats", str(src), "--json")
    assert r.exit_code == 1 and json.loads(r.stdout)["examples"] == 1
    r = invoke("convert", str(src), "--to", "chat", "-o", str(tmp_path / "o.jsonl"))
    assert r.exit_code == 1
    r = invoke("import", str(src), "-w", str(tmp_path / "w.db"), "--json")
    assert r.exit_code == 1 and json.loads(r.stdout)["new"] == 2
    assert json.loads(r.stdout)["reasons"] == {"json.invalid": 1}


def test_a_deep_json_document_is_a_row_error(tmp_path: Path) -> None:
    src = tmp_path / "deep.json"
    src.write_text("[" + "[" * 100_000 + "]" * 100_000 + ", " + json.dumps(rows(1)[0]) + "]", encoding="utf-8")
    read = list(read_rows(src))
    assert len(read) == 2 and read[0].data is None and read[1].data is not None
    assert invoke("validate", str(src)).exit_code == 1


def _bad_parquet(tmp_path: Path) -> Path:
    p = tmp_path / "bad.parquet"
    p.write_bytes(b"PAR1" + b"\x00garbage" * 50)
    return p


def _bad_hf(tmp_path: Path) -> Path:
    p = tmp_path / "not_a_dataset"
    p.mkdir()
    (p / "notes.txt").write_text("hello")
    return p


@pytest.mark.parametrize("make", [_bad_parquet, _bad_hf])
def test_an_unreadable_file_exits_2_in_every_command_and_changes_nothing(tmp_path: Path, make: Any) -> None:
    src = make(tmp_path)
    r = invoke("validate", str(src))
    assert r.exit_code == 2 and "file.unreadable" in r.stdout
    r = invoke("stats", str(src))
    assert r.exit_code == 2 and "error:" in r.stderr
    r = invoke("convert", str(src), "--to", "chat", "-o", str(tmp_path / "o.jsonl"))
    assert r.exit_code == 2 and not (tmp_path / "o.jsonl").exists()
    r = invoke("import", str(src), "-w", str(tmp_path / "w.db"))
    assert r.exit_code == 2 and not (tmp_path / "w.db").exists()


# --- item 12: validator gaps -------------------------------------------------------------------


def test_a_null_line_is_an_error(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "n.jsonl", rows(3), raw_lines={1: "null"})
    code, out = validate_json(str(src))
    assert code == 1 and out["summary"]["counts"].get("json.not_object") == 1
    [issue] = [i for i in out["issues"] if i["code"] == "json.not_object"]
    assert issue["line"] == 2 and "null" in issue["message"]
    assert [r.data is None for r in read_rows(src)] == [False, True, False, False]


def _tool_row(name: str) -> dict[str, Any]:
    return {"messages": [
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function",
                                             "function": {"name": name, "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
        {"role": "assistant", "content": "It is sunny."}]}


@pytest.mark.parametrize(("name", "bad"), [("get_weather", False), ("get weather", True), ("x" * 65, True),
                                           ("", True), ("get.weather", True), ("ok\n", True)])
def test_tool_call_function_names_are_checked(tmp_path: Path, name: str, bad: bool) -> None:
    src = write_jsonl(tmp_path / "t.jsonl", [_tool_row(name)])
    _, out = validate_json(str(src))
    assert ("toolcall.name_invalid" in out["summary"]["counts"]) == bad


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 40
WEBP = b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 40
GIF = b"GIF89a" + b"\x00" * 40


def _image_row(mime: str, data: bytes) -> dict[str, Any]:
    url = f"data:image/{mime};base64," + base64.b64encode(data).decode()
    return {"messages": [
        {"role": "user", "content": [{"type": "text", "text": "what is this?"},
                                     {"type": "image_url", "image_url": {"url": url}}]},
        {"role": "assistant", "content": "A picture."}]}


@pytest.mark.parametrize(("mime", "data", "code"), [
    ("png", PNG, None), ("jpeg", JPEG, None), ("jpg", JPEG, None), ("webp", WEBP, None),
    ("png", b"hello, this is plain text and not an image at all", "image.not_an_image"),
    ("jpeg", PNG, "image.mime_mismatch"), ("png", WEBP, "image.mime_mismatch"),
    ("png", GIF, "image.format_unsupported"),
])
def test_image_data_urls_are_sniffed(tmp_path: Path, mime: str, data: bytes, code: str | None) -> None:
    src = write_jsonl(tmp_path / "i.jsonl", [_image_row(mime, data)])
    _, out = validate_json(str(src))
    image_codes = {c for c in out["summary"]["counts"] if c.startswith("image.") and c != "image.remote_url"}
    assert image_codes == ({code} if code else set())


def test_a_single_jsonl_row_over_64k_is_jsonl(tmp_path: Path) -> None:
    long = chat("Summarise this: " + "lorem ipsum dolor sit amet " * 4000, "It is filler text.")
    src = write_jsonl(tmp_path / "one.jsonl", [long])
    assert src.stat().st_size > 100_000
    assert probe(src).kind == "jsonl"
    _, out = validate_json(str(src))
    assert "file.is_json_not_jsonl" not in out["summary"]["counts"]
    assert out["files"][0]["examples"] == 1


def test_a_binary_file_is_named_as_such_and_exits_2(tmp_path: Path) -> None:
    elf = tmp_path / "prog.jsonl"
    elf.write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 40)
    r = invoke("validate", str(elf))
    assert r.exit_code == 2 and "ELF" in r.stdout and "UTF-16" not in r.stdout
    zipped = tmp_path / "data.jsonl"
    zipped.write_bytes(b"PK\x03\x04" + b"\x00\x01" * 100)
    r = invoke("validate", str(zipped))
    assert r.exit_code == 2 and "zip" in r.stdout


def test_utf16_without_a_bom_is_still_named(tmp_path: Path) -> None:
    src = tmp_path / "u.jsonl"
    src.write_bytes(_data(3).decode().encode("utf-16-le"))
    issues = probe(src).issues
    assert [i.code for i in issues] == ["file.not_utf8"] and "UTF-16LE" in issues[0].message


def test_validate_file_reads_stdin_names_it_and_counts_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    class FakeStdin(io.TextIOWrapper):
        def isatty(self) -> bool:
            return False

    monkeypatch.setattr(sys, "stdin", FakeStdin(io.BytesIO(_data(5) + b"{bad\n")))
    report = validate_file("-", count_tokens=False)
    assert report.file == "<stdin>" and report.examples == 6
    [bad] = [i for i in report.issues if i.code == "json.invalid"]
    assert bad.file == "<stdin>" and bad.line == 6


# --- bytes are never changed silently; long CSV cells ---------------------------------------


def test_non_utf8_bytes_in_a_json_document_are_an_error_on_their_record(tmp_path: Path) -> None:
    good = json.dumps(rows(1)[0]).encode()
    bad = b'{"messages": [{"role": "user", "content": "caf\xe9"}, {"role": "assistant", "content": "ok"}]}'
    src = tmp_path / "d.json"
    src.write_bytes(b"[" + good + b",\n" + bad + b",\n" + good + b"]")
    read = list(read_rows(src))
    assert [r.data is None for r in read] == [False, True, False]
    assert [i.code for i in read[1].issues] == ["file.not_utf8"] and read[1].line == 2
    code, out = validate_json(str(src))
    assert code == 1 and out["summary"]["counts"].get("file.not_utf8") == 1


def test_non_utf8_bytes_in_a_csv_row_are_an_error_on_that_row(tmp_path: Path) -> None:
    src = tmp_path / "d.csv"
    src.write_bytes(b"prompt,completion\n\"caf\xe9\",yes\nhello,world\n")
    read = list(read_rows(src))
    assert [r.data is None for r in read] == [True, False]
    assert read[0].issues[0].code == "file.not_utf8" and read[0].line == 2


def test_a_csv_cell_over_128k_is_read(tmp_path: Path) -> None:
    long = "word " * 40_000
    src = tmp_path / "long.csv"
    src.write_text(f'prompt,completion\n"{long}",yes\nhello,world\n', encoding="utf-8")
    read = list(read_rows(src))
    assert len(read) == 2 and read[0].data == {"prompt": long, "completion": "yes"}
    assert invoke("validate", str(src), "--no-tokens").exit_code in (0, 1)


def test_a_slow_writer_on_a_pipe_or_fifo_is_waited_for(tmp_path: Path) -> None:
    # only the open of a FIFO has a time limit; a writer that has opened it may take its time
    env = {**os.environ, "CURATOR_FIFO_WAIT": "0.5"}
    proc = subprocess.Popen([sys.executable, "-m", "curator", "validate", "/dev/stdin", "--json", "--no-tokens"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdin is not None
    threading.Event().wait(2.0)
    proc.stdin.write(_data(13))
    out, err = proc.communicate(timeout=120)  # flushes and closes stdin
    assert proc.returncode == 0, err
    assert json.loads(out)["files"][0]["examples"] == 13

    fifo = tmp_path / "slow.fifo"
    os.mkfifo(fifo)

    def write_late() -> None:
        with open(fifo, "wb") as fh:
            threading.Event().wait(2.0)
            fh.write(_data(12))

    writer = threading.Thread(target=write_late)
    writer.start()
    done = curator("validate", str(fifo), "--json", "--no-tokens", env={"CURATOR_FIFO_WAIT": "0.5"})
    writer.join(timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["files"][0]["examples"] == 12


def test_json_lines_under_a_json_name_are_read_line_by_line(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "data.json", rows(12), raw_lines={4: "{broken"})
    read = list(read_rows(src))
    assert len(read) == 13 and [r.line for r in read if r.data is None] == [5]
    code, out = validate_json(str(src))
    assert code == 1 and out["files"][0]["examples"] == 13 and out["files"][0]["rejected"] == 1
