"""`curator coverage -w WS`: the prompts of the records an export would write grouped into
topics, stored (`--where topic=N`), shown as a table or JSON; `curator report` gets a Coverage
section (text, --json and --html), which says how to compute it when it was not and when the
records changed since."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from html_helpers import Page
from topic_helpers import astronomy, code, cooking

from curator.cli import cli
from curator.workspace import Workspace


def _cli(*args: str, ok: tuple[int, ...] = (0,)) -> str:
    r = CliRunner().invoke(cli, list(args))
    assert r.exit_code in ok, r.output
    return r.stdout


def _ws(tmp_path: Path, sizes: tuple[int, int, int] = (12, 12, 12)) -> tuple[Path, list[int]]:
    """A workspace of the three planted groups, interleaved; returns it and each record's group."""
    groups = [make(n) for make, n in zip((cooking, code, astronomy), sizes, strict=True)]
    rows, group = [], []
    for i in range(max(sizes)):
        for g, prompts in enumerate(groups):
            if i < len(prompts):
                rows.append({"messages": [{"role": "user", "content": prompts[i]},
                                          {"role": "assistant", "content": f"Answer {len(rows)}."}]})
                group.append(g)
    data = tmp_path / "data.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    db = tmp_path / "w.db"
    _cli("import", str(data), "-w", str(db), ok=(0, 1))
    return db, group


def _report(db: Path, *extra: str) -> str:
    return _cli("report", "-w", str(db), *extra, ok=(0, 1))


def test_coverage_json_groups_planted_topics_and_topic_filters_them(tmp_path: Path) -> None:
    db, group = _ws(tmp_path)
    out: dict[str, Any] = json.loads(_cli("coverage", "-w", str(db), "--json", "--topics", "3"))
    assert out["records"] == 36 and out["without_prompt"] == 0 and out["topics_asked"] == 3
    assert [t["size"] for t in out["topics"]] == [12, 12, 12]
    assert [t["topic"] for t in out["topics"]] == [1, 2, 3]
    assert out["stale"] is False and out["over_represented"] == [] == out["under_represented"]
    assert all(t["words"] and t["example"] and isinstance(t["example_record"], int)
               for t in out["topics"])
    seen = set()
    with Workspace.open(db) as ws:
        for t in out["topics"]:
            ids = list(ws.select_ids([f"topic={t['topic']}"]))
            assert len(ids) == 12
            assert len({group[i - 1] for i in ids}) == 1  # one planted group per topic
            seen.add(group[ids[0] - 1])
            assert t["example_record"] in ids
        assert len(list(ws.select_ids(["topic!=1"]))) == 24
    assert seen == {0, 1, 2}
    # the same records and seed give the same table
    again = json.loads(_cli("coverage", "-w", str(db), "--json", "--topics", "3"))
    assert again["topics"] == out["topics"]


def test_coverage_human_output_and_an_over_represented_topic_exits_1(tmp_path: Path) -> None:
    db, _ = _ws(tmp_path, (40, 6, 6))
    r = CliRunner().invoke(cli, ["coverage", "-w", str(db), "--topics", "3"])
    assert r.exit_code == 1, r.output
    lines = r.stdout.splitlines()
    assert lines[0].split()[:3] == ["topic", "size", "share"]
    assert lines[1].split()[:3] == ["1", "40", "76.9%"] and "OVER" in lines[1]
    assert "over-represented (more than 3x the median topic size 6): topic 1 (" in r.stdout
    assert lines[-1] == "52 prompts in 3 topics; filter one with --where topic=N"


def test_coverage_refuses_bad_usage(tmp_path: Path) -> None:
    db, _ = _ws(tmp_path, (3, 3, 3))
    for args in (["--topics", "0"], ["--topics", "x"]):
        r = CliRunner().invoke(cli, ["coverage", "-w", str(db), *args])
        assert r.exit_code == 2
    r = CliRunner().invoke(cli, ["ls", "-w", str(db), "--where", "topic=first"])
    assert r.exit_code == 2 and "not a whole number" in r.output


def test_report_says_how_to_compute_coverage_then_shows_the_topic_table(tmp_path: Path) -> None:
    db, _ = _ws(tmp_path)
    text = _report(db)
    assert "coverage: not computed; run `curator coverage -w WS`" in text
    assert text.rstrip().splitlines()[-1].startswith("verdict: ")
    assert json.loads(_report(db, "--json"))["coverage"] is None
    page = tmp_path / "r.html"
    _report(db, "--html", str(page))
    assert "Coverage not computed: run curator coverage -w WS" in " ".join(
        Page(page.read_text(encoding="utf-8")).text["coverage"])

    _cli("coverage", "-w", str(db), "--topics", "3")
    text = _report(db)
    assert "coverage: 36 prompts in 3 topics (computed " in text
    table = [line.split() for line in text.splitlines() if line.startswith("      ")]
    assert [row[:3] for row in table] == [["1", "12", "33.3%"], ["2", "12", "33.3%"],
                                          ["3", "12", "33.3%"]]
    assert "no topic above 3x or under 1/3 of the median topic size 12" in text
    assert "stale" not in text
    data = json.loads(_report(db, "--json"))["coverage"]
    assert [t["size"] for t in data["topics"]] == [12, 12, 12]
    _report(db, "--html", str(page))
    html = Page(page.read_text(encoding="utf-8"))
    words = " ".join(html.text["coverage"])
    assert "36 prompts in 3 topics" in words
    bars = [a for tag, a, sec in html.elements if sec == "coverage" and tag == "rect"]
    assert len(bars) == 3 and all(a["class"] == "bar" for a in bars)
    assert [float(a["width"]) for a in bars] == [200.0, 200.0, 200.0]
    rows = [a for tag, a, sec in html.elements if sec == "coverage" and tag == "tr"]
    assert len(rows) == 4  # the head and one row a topic
    assert any(tag == "a" and a.get("href") == "#coverage" for tag, a, _ in html.elements)


def test_report_says_when_the_topics_are_stale(tmp_path: Path) -> None:
    db, _ = _ws(tmp_path)
    _cli("coverage", "-w", str(db), "--topics", "3")
    _cli("reject", "-w", str(db), "--where", "id=1", "--reason", "off topic")
    with Workspace.open(db) as ws:
        ws.edit(2, {"messages": [{"role": "user", "content": "Something else entirely?"},
                                 {"role": "assistant", "content": "Yes."}]})
    text = _report(db)
    assert "stale: 1 prompts edited, 1 records rejected or marked duplicate since " in text
    assert "run `curator coverage` again" in text
    data = json.loads(_report(db, "--json"))["coverage"]
    assert data["stale"] is True and data["since"] == {"added": 0, "changed": 1, "removed": 1}
    _cli("coverage", "-w", str(db), "--topics", "3", ok=(0, 1))
    assert "stale" not in _report(db)
    assert json.loads(_report(db, "--json"))["coverage"]["records"] == 35
