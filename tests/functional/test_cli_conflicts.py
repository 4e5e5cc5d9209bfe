"""`curator conflicts -w WS [keep ID | prefer ID --over ID] [--json]`: the listing (human and
JSON), resolving, exit codes, and `curator undo` taking a resolution back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from curator.cli import cli
from curator.workspace import Workspace

CAPITAL = "What is the capital city of Australia? Answer in one short sentence."
ROWS = [
    (CAPITAL, "Canberra is the capital city of Australia."),
    ("Write a haiku about the sea at night.", "Dark waves fold the moon."),
    (CAPITAL, "Sydney, the largest harbour city, is the capital."),
]


def _ws(tmp_path: Path, signals: bool = True) -> Path:
    data = tmp_path / "data.jsonl"
    data.write_text("".join(json.dumps({"messages": [{"role": "user", "content": p},
                                                     {"role": "assistant", "content": a}]}) + "\n"
                            for p, a in ROWS), encoding="utf-8")
    ws = tmp_path / "w.curator.db"
    assert _run("import", str(data), "-w", str(ws)).exit_code == 0
    if signals:
        assert _run("signals", "-w", str(ws)).exit_code == 1
    return ws


def _run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


def test_conflicts_lists_clusters_as_json_and_exits_1_while_one_is_open(tmp_path: Path) -> None:
    ws = _ws(tmp_path)
    r = _run("conflicts", "-w", str(ws), "--json")
    assert r.exit_code == 1, r.output
    out = json.loads(r.stdout)
    assert (out["open"], out["resolved"], out["chat_vs_preference"]) == (1, 0, [])
    [cluster] = out["clusters"]
    assert (cluster["id"], cluster["status"], cluster["prompt"]) == (1, "open", CAPITAL)
    assert [(m["id"], m["status"], m["reason"], m["answer"]) for m in cluster["records"]] == [
        (1, "pending", None, ROWS[0][1]), (3, "pending", None, ROWS[2][1])]
    human = _run("conflicts", "-w", str(ws))
    assert human.exit_code == 1
    assert "cluster 1 (open, 2 records)" in human.output and "Sydney" in human.output


def test_keep_resolves_the_cluster_and_undo_reopens_it(tmp_path: Path) -> None:
    ws = _ws(tmp_path)
    r = _run("conflicts", "-w", str(ws), "keep", "3", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["changed"] == 2
    listed = _run("conflicts", "-w", str(ws), "--json")
    assert listed.exit_code == 0  # nothing left to resolve
    [cluster] = json.loads(listed.stdout)["clusters"]
    assert cluster["status"] == "resolved"
    assert [(m["status"], m["reason"]) for m in cluster["records"]] == [
        ("rejected", "conflict: kept #3"), ("accepted", None)]
    assert _run("undo", "-w", str(ws)).exit_code == 0
    assert _run("conflicts", "-w", str(ws)).exit_code == 1


def test_prefer_makes_a_pair_listed_against_nothing_and_undo_restores(tmp_path: Path) -> None:
    ws = _ws(tmp_path)
    r = _run("conflicts", "-w", str(ws), "prefer", "1", "--over", "3", "--json")
    assert r.exit_code == 0, r.output
    done = json.loads(r.stdout)
    assert (done["chosen"], done["rejected"], done["preference_record"], done["reused"]) == (
        1, 3, 4, False)
    with Workspace.open(ws) as w:
        pair = w.get(4)
        assert pair.kind == "preference" and pair.status == "pending"
        assert [w.get(i).reason for i in (1, 3)] == ["conflict: turned into preference pair #4"] * 2
    assert _run("undo", "-w", str(ws)).exit_code == 0
    with Workspace.open(ws) as w:
        assert [w.get(i).status for i in (1, 3, 4)] == ["pending", "pending", "rejected"]


def test_usage_errors_exit_2_with_one_line(tmp_path: Path) -> None:
    ws = _ws(tmp_path)
    for args, says in [
        (["keep"], "needs a record id"),
        (["prefer", "1"], "needs --over"),
        (["keep", "1", "--over", "3"], "--over goes with prefer"),
        (["keep", "2"], "in no conflict cluster"),
        (["keep", "9"], "no record with id 9"),
        (["prefer", "1", "--over", "2"], "do not ask the same thing"),
        (["1"], "Invalid value"),
    ]:
        r = _run("conflicts", "-w", str(ws), *args)
        assert r.exit_code == 2, (args, r.output)
        assert says in r.output, (args, r.output)
        assert "Traceback" not in r.output


def test_no_clusters_before_signals_is_clean(tmp_path: Path) -> None:
    ws = _ws(tmp_path, signals=False)
    r = _run("conflicts", "-w", str(ws))
    assert r.exit_code == 0 and "no conflict clusters" in r.output


RAW = ("\x1b", "\x07", "\x00", "\x9b", "\u202e")


def test_the_listing_shows_control_characters_visibly(tmp_path: Path) -> None:
    hostile = "\x1b]0;owned\x07 \x1b[31mred\x1b[0m \u202e \x9b31m"
    data = tmp_path / "data.jsonl"
    data.write_text("".join(json.dumps({"messages": [
        {"role": "user", "content": CAPITAL + hostile},
        {"role": "assistant", "content": a + hostile}]}) + "\n" for a in (
            "Canberra is the capital city of Australia.",
            "Sydney, the largest harbour city, is the capital.")), encoding="utf-8")
    ws = tmp_path / "w.db"
    assert _run("import", str(data), "-w", str(ws)).exit_code == 0
    assert _run("signals", "-w", str(ws)).exit_code == 1
    r = _run("conflicts", "-w", str(ws))
    assert r.exit_code == 1 and "cluster 1 (open, 2 records)" in r.output
    assert not any(c in r.output for c in RAW), r.output
    exact = json.loads(_run("conflicts", "-w", str(ws), "--json").stdout)
    assert exact["clusters"][0]["records"][0]["answer"].endswith(hostile)  # JSON stays exact
