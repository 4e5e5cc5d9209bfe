"""The workspace commands, run through click as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from store_helpers import chat, write_jsonl

from curator.cli import cli
from curator.workspace import Workspace


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    src = write_jsonl(tmp_path / "d.jsonl", [chat(f"q{i}", f"a{i}") for i in range(5)],
                      raw_lines={1: "not json"})
    db = tmp_path / "w.db"
    result = CliRunner().invoke(cli, ["import", str(src), "-w", str(db)])
    assert result.exit_code == 1, result.output  # one row rejected
    assert "6 rows, 6 new, 0 already present, 1 rejected" in result.output
    assert "rejected json.invalid: 1" in result.output
    return {"CURATOR_WORKSPACE": str(db), "SRC": str(src)}


def run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    r = CliRunner(env=env).invoke(cli, list(args))
    return r.exit_code, r.stdout, r.stderr


def test_reimport_json_report(env: dict[str, str]) -> None:
    code, out, _ = run(env, "import", env["SRC"], "--json")
    assert code == 0
    report = json.loads(out)
    assert (report["new"], report["already_present"], report["rejected"]) == (0, 6, 0)


def test_accept_reject_label_note_undo_redo_log(env: dict[str, str]) -> None:
    code, out, _ = run(env, "accept", "--where", "status=pending", "--where", "id<=3")
    assert code == 0 and "2 of 2 selected records set accepted" in out
    code, out, _ = run(env, "reject", "5-6", "--reason", "too short")
    assert code == 0 and "2 of 2" in out
    assert run(env, "labels", "--add", "refund")[0] == 0
    code, out, _ = run(env, "label", "1,3", "--add", "refund")
    assert code == 0 and "added refund on 2 of 2" in out
    assert run(env, "note", "1", "look again")[0] == 0
    code, out, _ = run(env, "log", "--json", "--limit", "3")
    entries = [json.loads(line) for line in out.splitlines()]
    assert [e["action"] for e in entries] == ["note", "label", "labels"]
    assert set(entries[0]) == {"id", "ts", "actor", "action", "summary", "params",
                               "n_changes", "undoable", "state"}
    code, out, _ = run(env, "undo", "-n", "2")
    assert code == 0 and out.count("undone #") == 2
    with Workspace.open(env["CURATOR_WORKSPACE"]) as ws:
        assert ws.get(1).labels == [] and ws.get(1).note is None
        assert ws.get(5).reason == "too short"
    assert "redone #" in run(env, "redo")[1]
    code, out, _ = run(env, "show", "1", "--json")
    assert json.loads(out)["labels"] == ["refund"]
    code, out, _ = run(env, "show", "2")
    assert "json.invalid" in out and "raw: not json" in out
    code, out, _ = run(env, "ls", "--where", "label=refund", "--json")
    assert code == 0
    assert [json.loads(line)["id"] for line in out.splitlines()] == [1, 3]


@pytest.mark.parametrize("args, message", [
    (["accept", "--where", "colour=red"], "bad filter"),
    (["accept", "999"], "no record with id 999"),
    (["accept"], "give record ids"),
    (["label", "1", "--add", "nope"], "unknown label nope"),
    (["show", "77"], "no record with id 77"),
    (["accept", "x-y"], "not an id"),
])
def test_usage_errors_exit_2_with_a_message(env: dict[str, str], args: list[str],
                                            message: str) -> None:
    code, out, err = run(env, *args)
    assert code == 2 and message in err + out


def test_missing_workspace_and_missing_file(tmp_path: Path) -> None:
    code, _, err = run({}, "accept", "1", "-w", str(tmp_path / "none.db"))
    assert code == 2 and "no workspace" in err
    code, _, err = run({}, "import", str(tmp_path / "nope.jsonl"), "-w", str(tmp_path / "w.db"))
    assert code == 2 and "no such file" in err
    assert not (tmp_path / "w.db").exists()


def test_every_workspace_command_has_help_with_an_example() -> None:
    for name in ("import", "accept", "reject", "reset", "label", "labels", "note", "undo",
                 "redo", "log", "show", "ls"):
        result = CliRunner().invoke(cli, [name, "--help"])
        assert result.exit_code == 0 and "Example: curator" in result.output, name


def test_a_workspace_damaged_after_it_opens_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    """A page of the records table overwritten (a disk fault, a bad copy): opening still works,
    reading the records fails inside SQLite; the command says so in one line, exit 2."""
    import subprocess
    import sys

    src = write_jsonl(tmp_path / "d.jsonl", [chat(f"q{i} " + "x" * 900, f"a{i}") for i in range(300)])
    db = tmp_path / "w.db"
    assert CliRunner().invoke(cli, ["import", str(src), "-w", str(db)]).exit_code == 0
    with Workspace.open(db) as ws:
        ws.checkpoint()
        pages = [p for (p,) in ws.connection.execute(
            "SELECT pageno FROM dbstat WHERE name = 'records' AND pagetype = 'leaf'")]
        page_size = ws.connection.execute("PRAGMA page_size").fetchone()[0]
    assert len(pages) > 10
    with db.open("r+b") as f:  # no connection is open in this process now
        for page in pages[len(pages) // 2:]:
            f.seek((page - 1) * page_size)
            f.write(b"\xff" * 64)
    for args in (["ls", "--limit", "300", "-w", str(db)], ["show", "299", "-w", str(db)],
                 ["report", "-w", str(db)]):
        p = subprocess.run([sys.executable, "-m", "curator", *args], capture_output=True,
                           text=True, check=False)
        assert p.returncode == 2, (args, p.returncode, p.stderr)
        assert "Traceback" not in p.stderr
        assert len(p.stderr.strip().splitlines()) == 1, p.stderr
