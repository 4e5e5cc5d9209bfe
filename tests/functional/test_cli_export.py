"""`curator export` as a user runs it, and a real export process killed mid-way."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner
from store_helpers import chat, write_jsonl

from curator.cli import cli
from curator.workspace import Workspace
from curator.workspace.importer import import_files
from curator.workspace.prepare import Preparer

ROOT = Path(__file__).resolve().parents[2]


def _workspace(tmp_path: Path, n: int, name: str = "w.db") -> Path:
    src = write_jsonl(tmp_path / f"{name}.jsonl",
                      [chat(f"question {i} " + "word " * (i % 40), f"answer {i}") for i in range(n)])
    db = tmp_path / name
    with Workspace.open(db, create=True) as ws:
        import_files(ws, [src], Preparer("openai", count_tokens=False))
        names = ["train"] * 8 + ["validation", "holdout"]
        ws.set_splits({i: names[i % 10] for i in ws.select_ids()}, {"seed": 3})
    return db


def run(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(cli, list(args))
    return r.exit_code, r.stdout, r.stderr


def test_export_json_summary_and_files(tmp_path: Path) -> None:
    db = _workspace(tmp_path, 40)
    with Workspace.open(db) as ws:
        ws.set_status([5], "rejected", "wrong")
    out = tmp_path / "out"
    code, stdout, stderr = run("export", "-w", str(db), "--out", str(out), "--json",
                               "--target", "azure", "--parquet", "--llamafactory", "mine")
    assert code == 0, stderr
    summary = json.loads(stdout)
    assert summary["counts"] == {"train": 31, "validation": 4, "holdout": 4}
    assert summary["excluded"] == 1 and summary["excluded_by_reason"] == {"rejected": 1}
    assert (summary["format"], summary["target"]) == ("openai-chat", "azure")
    assert sorted(summary["files"]) == ["dataset_info.json", "holdout.jsonl", "parquet/holdout.parquet",
                                        "parquet/train.parquet", "parquet/validation.parquet",
                                        "train.jsonl", "validation.jsonl"]
    for rel, digest in summary["files"].items():
        assert hashlib.sha256((out / rel).read_bytes()).hexdigest() == digest
    assert "mine_validation" in json.loads((out / "dataset_info.json").read_text())
    assert stderr == ""  # no progress when not on a terminal


def test_export_text_output_and_usage_errors(tmp_path: Path) -> None:
    db = _workspace(tmp_path, 20)
    code, stdout, _ = run("export", "-w", str(db), "--out", str(tmp_path / "o"), "--llamafactory")
    assert code == 0
    assert "openai-chat for openai: train 16, validation 2, holdout 2; 0 excluded" in stdout
    assert "curator" in json.loads((tmp_path / "o" / "dataset_info.json").read_text())
    code, _, stderr = run("export", "-w", str(db), "--out", str(tmp_path / "x"),
                          "--format", "alpaca", "--target", "openai")
    assert code == 2 and "target openai does not read alpaca" in stderr
    code, _, stderr = run("export", "-w", str(tmp_path / "missing.db"), "--out", str(tmp_path / "x"))
    assert code == 2 and "no workspace" in stderr
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    code, _, stderr = run("export", "-w", str(db), "--out", str(tmp_path / "busy"))
    assert code == 2 and "refusing to replace files" in stderr
    assert (tmp_path / "busy" / "notes.txt").read_text() == "mine"


def test_unsplit_records_exit_2(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "d.jsonl", [chat("q", "a"), chat("q2", "a2")])
    db = tmp_path / "w.db"
    with Workspace.open(db, create=True) as ws:
        import_files(ws, [src], Preparer("openai", count_tokens=False))
    code, _, stderr = run("export", "-w", str(db), "--out", str(tmp_path / "o"))
    assert code == 2 and "run `curator split" in stderr
    assert not (tmp_path / "o").exists()


def test_unconvertible_records_exit_1(tmp_path: Path) -> None:
    db = _workspace(tmp_path, 20)
    with Workspace.open(db) as ws:
        ws.edit(3, {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
                                 {"role": "user", "content": "c"}, {"role": "assistant", "content": "d"}]})
    code, stdout, _ = run("export", "-w", str(db), "--out", str(tmp_path / "o"),
                          "--format", "prompt-completion")
    assert code == 1
    assert "excluded unconvertible: 1" in stdout


def _intact(out: Path) -> dict[str, str]:
    manifest = json.loads((out / "manifest.json").read_text())
    for rel, digest in manifest["files"].items():
        assert hashlib.sha256((out / rel).read_bytes()).hexdigest() == digest, rel
    return manifest["files"]  # type: ignore[no-any-return]


def test_sigkill_during_export_keeps_the_previous_export(tmp_path: Path) -> None:
    db = _workspace(tmp_path, 20_000)
    out = tmp_path / "out"
    first = run("export", "-w", str(db), "--out", str(out), "--hf-dataset", "--parquet")
    assert first[0] == 0, first[2]
    good = _intact(out)
    with Workspace.open(db) as ws:  # the next export would differ from the one on disk
        ws.set_status(None, "rejected", "second thoughts", where=["id<=5000"])
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    landed = 0
    for delay in (0.0, 0.05, 0.2, 0.5, 1.0, 2.0):
        proc = subprocess.Popen(
            [sys.executable, "-m", "curator", "export", "-w", str(db), "--out", str(out),
             "--hf-dataset", "--parquet"], env=env, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while not list(tmp_path.glob(".out.export-*")) and proc.poll() is None:
            assert time.monotonic() < deadline
            time.sleep(0.005)
        time.sleep(delay)
        in_flight = bool(list(tmp_path.glob(".out.export-*")))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if proc.returncode == -signal.SIGKILL and in_flight:
            landed += 1
            assert _intact(out) == good  # the previous export, whole
        else:
            good = _intact(out)  # it finished first: the new export is whole too
    assert landed >= 3
    with Workspace.open(db) as ws:
        assert ws.integrity_check() == "ok"
    final = run("export", "-w", str(db), "--out", str(out), "--json")
    assert final[0] == 0
    assert not list(tmp_path.glob(".out.export-*"))  # the dead exports' folders are cleared
    assert json.loads(final[1])["excluded"] == 5000


def test_a_second_export_into_the_same_folder_is_refused(tmp_path: Path) -> None:
    import fcntl

    db = _workspace(tmp_path, 20)
    out = tmp_path / "out"
    assert run("export", "-w", str(db), "--out", str(out))[0] == 0
    before = _intact(out)
    stale = tmp_path / ".out.export-dead"  # what a killed export leaves
    stale.mkdir()
    with (tmp_path / ".out.export.lock").open("a") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a running export holds it
        code, _, stderr = run("export", "-w", str(db), "--out", str(out))
        assert code == 2 and "another export into" in stderr
        assert stale.exists()  # not touched while the lock is held by someone else
    assert _intact(out) == before
    assert run("export", "-w", str(db), "--out", str(out))[0] == 0
    assert not stale.exists()


def test_reexport_over_a_workspace_kept_in_the_export_folder_exits_2(tmp_path: Path) -> None:
    """The issue's case: a workspace inside the previous export folder survives `export --out`
    of that folder (exit 2, the file named), with every decision in it."""
    db = _workspace(tmp_path, 20)
    out = tmp_path / "out"
    assert run("export", "-w", str(db), "--out", str(out))[0] == 0
    inner = _workspace(out, 20, name="kept.db")  # a workspace made inside the export folder
    with Workspace.open(inner) as ws:
        ws.set_status([3], "rejected", "my decision")
    before = _intact(out)
    code, _, stderr = run("export", "-w", str(db), "--out", str(out))
    assert code == 2 and "kept.db" in stderr and "refusing to replace" in stderr
    assert len(stderr.strip().splitlines()) == 1
    code, _, stderr = run("export", "-w", str(inner), "--out", str(out))
    assert code == 2 and "holds the open workspace" in stderr
    assert _intact(out) == before
    with Workspace.open(inner) as ws:
        assert ws.get(3).reason == "my decision" and ws.integrity_check() == "ok"


def test_an_empty_split_exits_1_with_a_warning(tmp_path: Path) -> None:
    db = _workspace(tmp_path, 8)  # ids 1-8: seven in train, the eighth in validation
    code, stdout, stderr = run("export", "-w", str(db), "--out", str(tmp_path / "o"), "--json")
    assert code == 1
    assert stderr.startswith("warning: holdout is empty: no holdout.jsonl written")
    summary = json.loads(stdout)
    assert summary["empty_splits"] == ["holdout"] and summary["counts"]["holdout"] == 0
    assert not (tmp_path / "o" / "holdout.jsonl").exists()
