"""`curator import`: every record prepared as `curator validate` judges it, in worker processes."""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from pathlib import Path

import pytest
from click.testing import CliRunner
from store_helpers import chat, write_jsonl

from curator.cli import cli
from curator.validate.engine import validate_file
from curator.workspace import Workspace
from curator.workspace.importer import WorkspaceSettings, import_files, workspace_settings
from curator.workspace.prepare import Preparer

SAMPLES = Path(__file__).resolve().parents[2] / "sample_data"
ROW_FILES = ["bad_roles.jsonl", "empty_content.jsonl", "mixed_formats.jsonl", "over_long.jsonl",
             "placeholders.jsonl", "prompt_completion.jsonl", "not_utf8.jsonl", "alpaca.json"]


def run(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(cli, list(args))
    return r.exit_code, r.stdout, r.stderr


def _record_codes(ws: Workspace) -> dict[tuple[str, int], set[str]]:
    out: dict[tuple[str, int], set[str]] = defaultdict(set)
    for source, line, code in ws.connection.execute(
        "SELECT r.source_file, r.source_line, i.code FROM issues i JOIN records r "
        "ON r.id = i.record_id"
    ):
        out[(source, line)].add(code)
    return out


@pytest.mark.parametrize("name", ROW_FILES)
def test_records_carry_the_issues_validate_reports(tmp_path: Path, name: str) -> None:
    src = tmp_path / name
    shutil.copy(SAMPLES / name, src)
    db = tmp_path / "w.db"
    code, _, err = run("import", str(src), "-w", str(db), "--workers", "1")
    assert code in (0, 1), err
    expected: dict[tuple[str, int], set[str]] = defaultdict(set)
    expected_rejected = set()
    for issue in validate_file(src, "openai", workers=1).issues:
        # dataset-level findings describe the file, not one record; rows in another format are
        # converted on import, so "needs conversion" and "mixed formats" do not apply
        if issue.line is None or issue.code.startswith("dataset.") \
                or issue.code in ("format.mixed_in_file", "format.needs_conversion"):
            continue
        if issue.severity == "error":
            expected_rejected.add(issue.line)
        if not issue.code.startswith("file."):  # file.* are also reported once per file
            expected[(str(src), issue.line)].add(issue.code)
    with Workspace.open(db) as ws:
        got = {k: {c for c in v if not c.startswith("file.")} for k, v in _record_codes(ws).items()}
        assert {k: v for k, v in got.items() if v} == {k: v for k, v in expected.items() if v}
        rejected = {r[0] for r in ws.connection.execute(
            "SELECT source_line FROM records WHERE status = 'rejected'")}
        assert rejected == expected_rejected


def test_other_formats_are_stored_as_canonical_chat_with_token_counts(tmp_path: Path) -> None:
    rows = [{"instruction": "Name a colour.", "input": "", "output": "Blue."},
            {"conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello"}]},
            chat("What is 2+2?", "4.")]
    src = write_jsonl(tmp_path / "mixed.jsonl", rows)
    db = tmp_path / "w.db"
    run("import", str(src), "-w", str(db))
    preparer = Preparer("openai")
    with Workspace.open(db) as ws:
        for record_id in (1, 2, 3):
            r = ws.get(record_id)
            assert r.canonical is not None and "messages" in r.canonical
            check = preparer.check(r.canonical)
            assert (r.tokens_total, r.tokens_trained) == (check.tokens_total, check.tokens_trained)
            assert r.tokens_total is not None and r.tokens_total > 0
        assert ws.get(1).canonical["messages"][-1] == {"role": "assistant", "content": "Blue."}


def test_workers_give_the_same_workspace_as_one_process(tmp_path: Path) -> None:
    rows: list[object] = [chat(f"question {i}", f"answer {i % 7}") for i in range(1_300)]
    rows[5] = rows[4]  # an exact repeat: numbered the same way in both runs
    rows[700] = {"messages": [{"role": "robot", "content": "x"}]}
    src = write_jsonl(tmp_path / "d.jsonl", rows, raw_lines={900: "{broken"})
    dumps = []
    for workers in (1, 2):
        with Workspace.open(tmp_path / f"w{workers}.db", create=True) as ws:
            import_files(ws, [src], prepare=Preparer("openai"), workers=workers, batch_size=400)
            dumps.append(ws.connection.execute(
                "SELECT id, uid, source_line, status, reason, canonical, tokens_total, "
                "tokens_trained, (SELECT group_concat(code) FROM issues WHERE record_id = r.id) "
                "FROM records r ORDER BY id").fetchall())
    assert len(dumps[0]) == 1_301
    assert dumps[0] == dumps[1]


def test_bad_line_is_a_rejected_record_with_its_error(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "d.jsonl", [chat("a", "b"), chat("c", "d")],
                      raw_lines={1: '{"messages": [oops'})
    db = tmp_path / "w.db"
    code, out, _ = run("import", str(src), "-w", str(db), "--json")
    assert code == 1
    assert json.loads(out)["reasons"] == {"json.invalid": 1}
    with Workspace.open(db) as ws:
        bad = ws.get(2)
        assert (bad.status, bad.reason, bad.source_line, bad.raw) == \
            ("rejected", "json.invalid", 2, '{"messages": [oops')
        assert [i.code for i in bad.issues] == ["json.invalid"]


def test_settings_are_stored_and_a_different_target_is_refused(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "d.jsonl", [chat(str(i), "x") for i in range(3)])
    db = tmp_path / "w.db"
    code, out, _ = run("import", str(src), "-w", str(db), "--target", "azure",
                       "--max-tokens", "900", "--json")
    assert code == 0 and json.loads(out)["target"] == "azure"
    with Workspace.open(db) as ws:
        assert json.loads(ws.meta("workspace.target") or "") == "azure"
        assert json.loads(ws.meta("workspace.max_tokens") or "") == 900
        assert ws.meta("workspace.model") == "null"
        assert workspace_settings(ws) == WorkspaceSettings("azure", None, 900)
    with Workspace.open(tmp_path / "empty.db", create=True) as ws:
        assert workspace_settings(ws) == WorkspaceSettings(None, None, None)
    more = write_jsonl(tmp_path / "more.jsonl", [chat("new", "x")])
    code, _, err = run("import", str(more), "-w", str(db), "--target", "openai")
    assert code == 2 and "prepared for target azure" in err and "--target openai" in err
    code, _, err = run("import", str(more), "-w", str(db), "--max-tokens", "100")
    assert code == 2 and "900" in err
    with Workspace.open(db) as ws:
        assert ws.count() == 3
    # without options the workspace's own settings are used
    code, out, _ = run("import", str(more), "-w", str(db), "--json")
    assert code == 0
    report = json.loads(out)
    assert (report["target"], report["max_tokens"], report["new"]) == ("azure", 900, 1)


def test_unknown_openai_model_is_a_usage_error(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "d.jsonl", [chat("a", "b")])
    code, _, err = run("import", str(src), "-w", str(tmp_path / "w.db"), "--model", "no-such")
    assert code == 2 and "no-such" in err
    assert not (tmp_path / "w.db").exists()


def test_unreadable_file_is_named_and_the_others_import(tmp_path: Path) -> None:
    good = write_jsonl(tmp_path / "good.jsonl", [chat("a", "b"), chat("c", "d")])
    utf16 = tmp_path / "utf16.jsonl"
    shutil.copy(SAMPLES / "utf16.jsonl", utf16)
    missing = tmp_path / "missing.jsonl"
    db = tmp_path / "w.db"
    code, out, err = run("import", str(missing), str(utf16), str(good), "-w", str(db), "--json")
    assert code == 1
    assert "missing.jsonl: no such file" in err and "utf16.jsonl" in err
    report = json.loads(out)
    assert report["new"] == 2 and len(report["unreadable"]) == 2
    with Workspace.open(db) as ws:
        assert ws.count() == 2


def test_nothing_readable_exits_2_without_creating_a_workspace(tmp_path: Path) -> None:
    code, _, err = run("import", str(tmp_path / "a.jsonl"), str(tmp_path / "b.jsonl"),
                       "-w", str(tmp_path / "w.db"))
    assert code == 2 and "a.jsonl" in err and "b.jsonl" in err
    assert not (tmp_path / "w.db").exists()


def test_commands_have_help_with_an_example() -> None:
    for name in ("import", "dedup", "split"):
        result = CliRunner().invoke(cli, [name, "--help"])
        assert result.exit_code == 0 and "Example: curator" in result.output, name
