"""Hostile variants found by the review of issue 11's merged work.

Text typed on the command line with bytes that are not UTF-8 (a note, a label, a filter) is a
one-line error, exit 2, nothing changed; a file name with such bytes is imported under its
name with those bytes escaped; the journal names a stream or gzip input as the user gave it,
never the temporary file it was spooled into.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from curator.cli import cli
from curator.workspace import Workspace

ROW = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}


def _data(path: Path, n: int = 3) -> Path:
    path.write_text("".join(json.dumps({"messages": [
        {"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"a{i}"}]}) + "\n"
        for i in range(n)), encoding="utf-8")
    return path


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    db = tmp_path / "w.db"
    r = CliRunner().invoke(cli, ["import", "-w", str(db), str(_data(tmp_path / "d.jsonl"))])
    assert r.exit_code == 0, r.output
    return db


# what the shell hands Python for the byte 0x9d in an argument (os.fsdecode)
NOT_UTF8 = "x\udc9d"


@pytest.mark.parametrize("args", [
    ["note", "1", NOT_UTF8],
    ["label", "--add", NOT_UTF8, "1"],
    ["labels", "--add", NOT_UTF8],
    ["ls", "--where", f"label={NOT_UTF8}"],
    ["accept", "--where", f"text~{NOT_UTF8}"],
])
def test_text_not_utf8_on_the_command_line_is_one_line_exit_2(ws: Path, args: list[str]) -> None:
    before = Workspace.open(ws)
    journal = len(before.log(limit=None))
    before.close()
    r = CliRunner().invoke(cli, [args[0], "-w", str(ws), *args[1:]])
    assert r.exit_code == 2, (r.output, r.exception)
    assert r.exception is None or isinstance(r.exception, SystemExit)
    assert len(r.stderr.strip().splitlines()) == 1 and "not UTF-8" in r.stderr
    after = Workspace.open(ws)
    try:
        assert len(after.log(limit=None)) == journal  # nothing changed
        assert after.labels() == []
    finally:
        after.close()


def test_file_name_not_utf8_is_imported_under_an_escaped_name(tmp_path: Path) -> None:
    """A real process (argv decoded by Python, the lock file written with the command line)."""
    name = os.fsencode(tmp_path) + b"/h\x9d.jsonl"
    _data(Path(os.fsdecode(name)))
    db = tmp_path / "w.db"
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    r = subprocess.run([sys.executable, "-m", "curator", "import", "-w", str(db), name],
                       capture_output=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    assert b"Traceback" not in r.stderr
    log = CliRunner().invoke(cli, ["log", "-w", str(db)])
    assert log.exit_code == 0
    assert "h\\x9d.jsonl: 3 rows, 3 new" in log.stdout


def test_journal_names_stdin_not_the_spool_file(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    text = _data(tmp_path / "d.jsonl").read_text()
    r = CliRunner().invoke(cli, ["import", "-w", str(db), "-"], input=text)
    assert r.exit_code == 0, r.output
    log = CliRunner().invoke(cli, ["log", "-w", str(db), "--json"])
    summaries = [json.loads(line)["summary"] for line in log.stdout.splitlines()]
    assert summaries and all("curator-stream" not in s for s in summaries), summaries
    assert summaries[0].startswith("import <stdin>: 3 rows"), summaries


def test_convert_to_a_fifo_writes_through_it_never_replaces_it(tmp_path: Path) -> None:
    """`-o /dev/stdout`, `-o /dev/null` or a FIFO: the old atomic rename replaced the node (as
    root, /dev/null became a regular file). A FIFO stands in for them here."""
    import stat
    import threading

    src = _data(tmp_path / "d.jsonl")
    fifo = tmp_path / "out"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    r = CliRunner().invoke(cli, ["convert", str(src), "--to", "chat", "-o", str(fifo)])
    assert r.exit_code == 0, r.output
    assert stat.S_ISFIFO(os.stat(fifo).st_mode), "the FIFO was replaced by a regular file"
    reader.join(timeout=30)
    assert got and len(got[0].splitlines()) == 3


def test_convert_dash_output_is_stdout(tmp_path: Path) -> None:
    src = _data(tmp_path / "d.jsonl")
    r = subprocess.run([sys.executable, "-m", "curator", "convert", str(src), "--to", "chat",
                        "-o", "-"], capture_output=True, cwd=tmp_path, timeout=120)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    assert not (tmp_path / "-").exists()
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert [row["messages"][0]["content"] for row in rows] == ["q0", "q1", "q2"]


def test_checkpoint_of_a_read_only_workspace_is_no_error(ws: Path) -> None:
    """The review app checkpoints as it closes: on a workspace it could only read, quitting
    printed 'attempt to write a readonly database' and exited 2."""
    import shutil

    prefix: list[str] = []
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: file permissions would not apply")
        prefix = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"]
    ws.chmod(0o444)
    code = ("import sys; from curator.workspace import Workspace, WorkspaceReadOnly\n"
            "Workspace.open(sys.argv[1]).close()  # as `curator review` checks what it opens\n"
            "with Workspace.open(sys.argv[1]) as ws:\n"
            "    try:\n"
            "        ws.set_note(1, 'x')  # what pressing a key that writes does\n"
            "    except WorkspaceReadOnly:\n"
            "        pass\n"
            "    print(len(list(ws.log(None))), ws.checkpoint())\n")
    r = subprocess.run([*prefix, sys.executable, "-c", code, str(ws)], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[0] == "1"


def test_unknown_label_with_a_newline_is_a_one_line_error(ws: Path) -> None:
    r = CliRunner().invoke(cli, ["label", "-w", str(ws), "--add", "a\nb", "1"])
    assert r.exit_code == 2
    assert len(r.stderr.strip().splitlines()) == 1 and "unknown label a b" in r.stderr, r.stderr
