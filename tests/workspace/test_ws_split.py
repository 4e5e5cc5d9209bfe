"""Split over a workspace: units never straddle, sealed assignments, leakage report and refusal."""

from __future__ import annotations

import json
import shutil
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from store_helpers import chat, write_jsonl

from curator.cli import cli
from curator.workspace import Workspace
from curator.workspace.dedup import dedup_workspace
from curator.workspace.importer import import_files
from curator.workspace.prepare import Preparer
from curator.workspace.split import split_workspace

WORDS = [
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
    "juliet", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra",
    "tango", "uniform", "victor", "whiskey", "xray",
]


def _text(i: int, n: int = 14) -> str:
    # distinct texts: each record's words come from its own number
    return " ".join(WORDS[(i * 7 + k * (i % 5 + 1)) % len(WORDS)] + str(i * 31 + k)
                    for k in range(n))


def _rows(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [chat(f"question {_text(i, 6)}", _text(i)) for i in range(start, start + n)]


PREPARE = Preparer("openai", count_tokens=False)


def _import(db: Path, path: Path, rows: list[Any]) -> None:
    write_jsonl(path, rows)
    with Workspace.open(db, create=True) as ws:
        import_files(ws, [path], prepare=PREPARE)


def _splits(ws: Workspace) -> dict[int, str | None]:
    return dict(ws.connection.execute(
        "SELECT id, split FROM records "
        "LEFT JOIN record_marks ON record_marks.record_id = records.id").fetchall())


def test_duplicates_and_groups_never_straddle(tmp_path: Path) -> None:
    rows: list[Any] = _rows(300)
    for i in range(0, 60, 3):  # near copies (one word changed) and exact copies
        near = json.loads(json.dumps(rows[i]))
        near["messages"][1]["content"] = near["messages"][1]["content"].replace("alpha", "omega", 1)
        near["messages"][1]["content"] += " extra"
        rows.append(near)
        rows.append(rows[i + 1])
    for i, row in enumerate(rows[:300]):
        row["user_id"] = f"u{i // 10}"  # 30 users of 10 records each
    db = tmp_path / "w.db"
    _import(db, tmp_path / "d.jsonl", rows)
    with Workspace.open(db) as ws:
        dedup = dedup_workspace(ws, processes=1)
        assert dedup.duplicates >= 20
        outcome = split_workspace(ws, seed=1, group_by="user_id", processes=1)
        assert outcome.written and outcome.leaks == 0
        splits = _splits(ws)
        for c in dedup.clusters:
            assert len({splits[i] for i in c.ids}) == 1, c
        by_user: dict[str, set[str | None]] = defaultdict(set)
        for record_id, user in ws.connection.execute(
                "SELECT id, json_extract(canonical, '$.user_id') FROM records"):
            if user is not None:
                by_user[user].add(splits[record_id])
        assert all(len(s) == 1 for s in by_user.values())
        assert len({s for v in by_user.values() for s in v}) == 3
        assert set(Counter(splits.values())) == {"train", "validation", "holdout"}


def test_deterministic_by_seed(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    _import(db, tmp_path / "d.jsonl", _rows(200))
    shutil.copy(db, tmp_path / "copy.db")
    with Workspace.open(db) as ws:
        split_workspace(ws, seed=7, processes=1)
        first = _splits(ws)
    with Workspace.open(tmp_path / "copy.db") as ws:
        split_workspace(ws, seed=7, processes=1)
        assert _splits(ws) == first
    with Workspace.open(tmp_path / "other.db", create=True) as ws:
        import_files(ws, [tmp_path / "d.jsonl"], prepare=PREPARE)
        split_workspace(ws, seed=8, processes=1)
        assert _splits(ws) != first
    counts = Counter(first.values())
    assert 130 <= counts["train"] <= 190 and counts["holdout"] >= 5


def test_existing_assignments_are_sealed(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    _import(db, tmp_path / "a.jsonl", _rows(150))
    with Workspace.open(db) as ws:
        split_workspace(ws, seed=2, stratify="label", processes=1)
        first = _splits(ws)
    _import(db, tmp_path / "b.jsonl", _rows(150, start=150))
    with Workspace.open(db) as ws:
        # another seed and other ratios: earlier records still do not move
        outcome = split_workspace(ws, seed=99, ratios=(0.5, 0.25, 0.25), processes=1)
        after = _splits(ws)
        assert outcome.new == 150
        assert all(after[i] == s for i, s in first.items())
        assert all(after[i] is not None for i in range(151, 301))
        assert json.loads(ws.meta("split.params") or "")["seed"] == 99


def test_leak_between_sealed_records_refuses_unless_forced(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    _import(db, tmp_path / "d.jsonl", _rows(120))
    runner = CliRunner()
    r = runner.invoke(cli, ["split", "-w", str(db), "--seed", "4", "--json"])
    assert r.exit_code == 0, r.output
    with Workspace.open(db) as ws:
        splits = _splits(ws)
        a = next(i for i, s in splits.items() if s == "train")
        b = next(i for i, s in splits.items() if s == "holdout")
        # an edit makes a sealed train record a copy of a holdout record
        ws.edit(a, ws.get(b).example or {})
        entries = len(ws.log(None))
        report_before = ws.meta("split.report")
    r = runner.invoke(cli, ["split", "-w", str(db), "--seed", "4"])
    assert r.exit_code == 1
    assert "1 exact and 0 near-duplicate pairs" in r.stdout
    assert f"{min(a, b)} (" in r.stdout and "not written" in r.stderr
    with Workspace.open(db) as ws:
        assert len(ws.log(None)) == entries and ws.meta("split.report") == report_before
    r = runner.invoke(cli, ["split", "-w", str(db), "--seed", "4", "--force", "--json"])
    assert r.exit_code == 0 and "--force" in r.stderr
    out = json.loads(r.stdout)
    assert out["written"] and out["report"]["exact_leaks"] == 1
    with Workspace.open(db) as ws:
        stored = json.loads(ws.meta("split.report") or "")
        assert stored["exact_leak_pairs"][0]["a"] == min(a, b)
        # marking the copy a duplicate resolves the leak: duplicates are not exported
        dedup_workspace(ws, processes=1)
        assert split_workspace(ws, seed=4, processes=1).leaks == 0


def test_stratified_balance_and_missing_classes(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    _import(db, tmp_path / "d.jsonl", _rows(205))
    with Workspace.open(db) as ws:
        ws.add_label_names(["billing", "refund", "rare"])
        ws.add_labels(range(1, 101), ["billing"])
        ws.add_labels(range(101, 201), ["refund"])
        ws.add_labels([201], ["rare"])
        outcome = split_workspace(ws, seed=0, stratify="label", processes=1)
        counts = outcome.report.label_counts
        for label in ("billing", "refund"):
            assert [counts[s][label] for s in ("train", "validation", "holdout")] == [80, 10, 10]
        missing = outcome.report_dict()["missing_classes"]
        assert sum("rare" in v for v in missing.values()) == 2
        stored = json.loads(ws.meta("split.report") or "")
        assert stored["label_counts"]["train"]["billing"] == 80


def test_undo_takes_the_split_and_its_report_back(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    _import(db, tmp_path / "d.jsonl", _rows(50))
    with Workspace.open(db) as ws:
        split_workspace(ws, processes=1)
        assert ws.meta("split.report") is not None
        ws.undo()
        assert set(_splits(ws).values()) == {None}
        assert ws.meta("split.report") is None and ws.meta("split.params") is None


def test_bad_options_exit_2(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    _import(db, tmp_path / "d.jsonl", _rows(5))
    for args, message in ((["--ratios", "0.8,0.3,0.1"], "sum to"),
                          (["--ratios", "a,b"], "numbers"),
                          (["--group-by", "x;drop"], "--group-by")):
        r = CliRunner().invoke(cli, ["split", "-w", str(db), *args])
        assert r.exit_code == 2 and message in r.stderr + r.stdout, (args, r.output)


def test_pairs_from_dedup_are_reused_until_the_content_changes(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    rows: list[Any] = _rows(80)
    rows.append(rows[3])
    _import(db, tmp_path / "d.jsonl", rows)
    with Workspace.open(db) as ws:
        dedup_workspace(ws, processes=1)
        outcome = split_workspace(ws, seed=1, processes=1)
        assert outcome.params["dedup_pairs_reused"] and outcome.leaks == 0
        assert (4, 81, 1.0, True) in ws.dedup_pairs()
        # an edit changes what dedup compared: the pairs are found again, on the edited text
        a = next(i for i, s in _splits(ws).items() if s == "train" and i not in (4, 81))
        b = next(i for i, s in _splits(ws).items() if s == "holdout")
        ws.edit(a, ws.get(b).example or {})
        again = split_workspace(ws, seed=1, processes=1)
        assert not again.params["dedup_pairs_reused"] and again.leaks == 1
        assert (min(a, b), max(a, b), 1.0, True) in ws.dedup_pairs()
        # a rejection changes which records count: found again, and the leak is gone
        ws.set_status([a], "rejected")
        third = split_workspace(ws, seed=1, processes=1)
        assert not third.params["dedup_pairs_reused"] and third.leaks == 0
        assert split_workspace(ws, seed=1, processes=1).params["dedup_pairs_reused"]


# -- an empty split is refused; one count per split everywhere (issue 11, item 15) --------------


def _cli(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(cli, list(args))
    return r.exit_code, r.stdout, r.stderr


def test_group_by_with_too_few_groups_is_refused_and_says_how_to_fix_it(tmp_path: Path) -> None:
    a = write_jsonl(tmp_path / "a.jsonl", _rows(30))
    b = write_jsonl(tmp_path / "b.jsonl", _rows(30, start=30))
    db = tmp_path / "w.db"
    with Workspace.open(db, create=True) as ws:
        import_files(ws, [a, b], PREPARE)
    code, _, err = _cli("split", "-w", str(db), "--group-by", "source")
    assert code == 1
    assert "would be empty" in err and "--group-by source gives only 2 group(s) for 3 splits" in err
    assert "group by a key with more distinct values" in err and "--force" in err
    with Workspace.open(db) as ws:
        assert ws.count(["split=none"]) == 60  # nothing written, nothing sealed
    code, out, err = _cli("split", "-w", str(db), "--json")  # a plain split places them all
    assert code == 0, err
    assert min(json.loads(out)["sizes"].values()) > 0
    with Workspace.open(db) as ws:
        assert ws.count(["split=none"]) == 0

    c = tmp_path / "c.db"
    with Workspace.open(c, create=True) as ws:
        import_files(ws, [a, b], PREPARE)
    code, _, err = _cli("split", "-w", str(c), "--group-by", "source", "--force")
    assert code == 1 and "written with an empty split (--force)" in err
    code, _, err = _cli("split", "-w", str(c))  # the sealed records keep it: said so, exit 1
    assert code == 1 and "every record already has its split" in err and "curator undo" in err
    with Workspace.open(c) as ws:
        ws.undo()
        assert ws.count(["split=none"]) == 60
    assert _cli("split", "-w", str(c))[0] == 0


def test_split_counts_agree_everywhere(tmp_path: Path) -> None:
    """`split`'s output, the journal, the stats screen's numbers, `ls --where`, the export and
    the report give one count per split (what an export writes), duplicates counted apart."""
    from curator.report import Facts
    from curator.workspace.export import export_workspace
    from curator.workspace.report import gather_facts
    from curator.workspace.views.review import stats as gather

    rows = _rows(40)
    rows += [rows[i] for i in range(0, 12, 2)]  # 6 exact repeats: marked duplicate by dedup
    src = write_jsonl(tmp_path / "d.jsonl", rows)
    db = tmp_path / "w.db"
    with Workspace.open(db, create=True) as ws:
        import_files(ws, [src], PREPARE)
        ws.set_status([4], "rejected", "bad")  # row 3, which has no repeat
        assert dedup_workspace(ws).duplicates == 6
    code, out, err = _cli("split", "-w", str(db), "--json")
    assert code == 0, err
    result = json.loads(out)
    sizes = result["report"]["sizes"]
    assert sum(sizes.values()) == 40 - 1

    def ls(*where: str) -> int:
        args = [a for w in where for a in ("--where", w)]
        code, out, _ = _cli("ls", "-w", str(db), *args, "--json", "--limit", "1000")
        assert code == 0
        return len(out.splitlines())

    dups = {name: ls(f"split={name}", "status!=rejected", "dup=yes") for name in sizes}
    assert sum(dups.values()) == 6
    with Workspace.open(db) as ws:
        journal = next(e for e in ws.log(None) if e.action == "split").summary
        stats = gather(ws, None)
        facts: Facts = gather_facts(ws)
        exported = export_workspace(ws, tmp_path / "out").counts
    for name in sizes:
        assert ls(f"split={name}", "status!=rejected", "dup=no") == sizes[name]
        assert exported[name] == facts.split_counts[name] == sizes[name]
        assert f"{name} {sizes[name]}" in journal, journal
        assert dict(stats.splits)[name] == sizes[name]
        assert stats.split_duplicates[name] == dups[name]
    code, text, _ = _cli("split", "-w", str(db))  # again: nothing new, same numbers printed
    for name in sizes:
        line = f"  {name}: {sizes[name]}" + (
            f" (+{dups[name]} marked duplicate)" if dups[name] else "")
        assert line in text.splitlines(), (line, text)
    assert result["duplicates"] == dups
    assert f"+{sum(dups.values())} marked duplicate" in journal
