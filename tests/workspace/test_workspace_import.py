"""Import: counts, idempotence, bad lines kept, duplicates inside a file kept for dedup."""

from __future__ import annotations

from pathlib import Path

from store_helpers import chat, write_jsonl

from curator.io import Row
from curator.issues import Issue
from curator.workspace import Workspace
from curator.workspace.importer import import_files
from curator.workspace.prepare import PreparedRecord, Preparer


def test_import_counts_and_keeps_bad_rows(tmp_path: Path) -> None:
    # no `prepare` given: the real one, Preparer("openai") (the checks `curator validate` runs)
    rows = [chat("a", "b"), chat("c", "d"), {"messages": [{"role": "robot", "content": "x"}]},
            {"instruction": "i", "output": "o"}, [1, 2], {"question": "q"}]
    src = write_jsonl(tmp_path / "d.jsonl", rows, raw_lines={2: '{"messages": [oops'})
    with Workspace.open(tmp_path / "w.db", create=True) as ws:
        report = import_files(ws, [src])
        assert (report.rows, report.new, report.already_present, report.rejected) == (7, 7, 0, 4)
        assert dict(report.reasons) == {"json.invalid": 1, "chat.role_invalid": 1,
                                        "json.not_object": 1, "format.undetected": 1}
        broken = ws.get(3)
        assert (broken.status, broken.reason, broken.source_line) == ("rejected", "json.invalid", 3)
        assert broken.raw == '{"messages": [oops' and broken.canonical is None
        robot = ws.get(4)
        assert (robot.status, robot.reason) == ("rejected", "chat.role_invalid")
        assert robot.issues[0].message_index == 0 and robot.issues[0].path == "/messages/0/role"
        # an Alpaca row is converted to chat on import and checked in that form
        alpaca = ws.get(5)
        assert (alpaca.status, alpaca.format, alpaca.issues) == ("pending", "alpaca", [])
        assert alpaca.canonical == chat("i", "o")
        # a row of no known format is an error, as `curator validate` says
        other = ws.get(7)
        assert (other.status, other.reason, other.format) == ("rejected", "format.undetected", None)
        assert [(i.code, i.severity) for i in other.issues] == [("format.undetected", "error")]
        assert ws.get(1).canonical == rows[0] and ws.get(1).format == "openai-chat"
        assert ws.get(1).tokens_total is not None and ws.get(1).tokens_total > 0
        assert ws.sources()[0]["complete"] == 1 and ws.sources()[0]["sha256"]


def test_reimport_adds_nothing_and_decisions_survive(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "d.jsonl", [chat(str(i), "x") for i in range(12)])
    with Workspace.open(tmp_path / "w.db", create=True) as ws:
        import_files(ws, [src], batch_size=5)
        ws.set_status([3], "accepted")
        again = import_files(ws, [src], batch_size=5)
        assert (again.new, again.already_present) == (0, 12)
        assert ws.count() == 12 and ws.get(3).status == "accepted"
        # a second file: its new rows are added, a row the workspace already has is not
        more = write_jsonl(tmp_path / "more.jsonl", [chat("0", "x"), chat("new", "x")])
        r = import_files(ws, [more])
        assert (r.new, r.already_present) == (1, 1)


def test_exact_repeats_inside_a_file_are_separate_records(tmp_path: Path) -> None:
    row = chat("same", "same")
    src = write_jsonl(tmp_path / "d.jsonl", [row, chat("other", "x"), row, row])
    with Workspace.open(tmp_path / "w.db", create=True) as ws:
        assert import_files(ws, [src]).new == 4
        uids = [ws.get(i).uid for i in (1, 3, 4)]
        assert len(set(uids)) == 3 and uids[1] == uids[0] + "#1"
        assert import_files(ws, [src]).new == 0


def test_prepare_seam_decides_format_tokens_and_issues(tmp_path: Path) -> None:
    def prepare(row: Row) -> PreparedRecord:
        assert row.data is not None
        text = str(row.data["q"])
        return PreparedRecord("custom", {"messages": [{"role": "user", "content": text}]},
                              [Issue("quality.empty_or_whitespace", "warning", "short")] if len(text) < 3 else [],
                              tokens_total=len(text), tokens_trained=0)

    src = write_jsonl(tmp_path / "d.jsonl", [{"q": "hello"}, {"q": "hi"}])
    with Workspace.open(tmp_path / "w.db", create=True) as ws:
        import_files(ws, [src], prepare=prepare)
        assert ws.get(1).format == "custom" and ws.get(1).tokens_total == 5
        assert ws.count(["issue=quality.empty_or_whitespace"]) == 1 and ws.count(["tokens>4"]) == 1
        assert ws.page(limit=1).rows[0].preview == "hello"


def test_progress_is_reported_per_committed_batch(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "d.jsonl", [chat(str(i), "x") for i in range(25)])
    seen: list[int] = []
    with Workspace.open(tmp_path / "w.db", create=True) as ws:
        import_files(ws, [src], progress=lambda fr: seen.append(fr.rows), batch_size=10)
    assert seen == [10, 20, 25]


def test_commits_grow_from_5000_rows_to_20000(tmp_path: Path) -> None:
    """The default schedule: a first commit of 5,000 rows (what a full disk still keeps), then
    each twice the one before up to 20,000 (fewer writes of the uid index per row)."""
    src = write_jsonl(tmp_path / "d.jsonl", [chat(f"q {i}", "x") for i in range(60_000)])
    seen: list[int] = []
    with Workspace.open(tmp_path / "w.db", create=True) as ws:
        import_files(ws, [src], Preparer("openai", count_tokens=False),
                     progress=lambda fr: seen.append(fr.new))
        assert ws.count() == 60_000
    assert seen == [5000, 15_000, 35_000, 55_000, 60_000]


def test_empty_file_imports_nothing(tmp_path: Path) -> None:
    src = tmp_path / "empty.jsonl"
    src.write_text("")
    with Workspace.open(tmp_path / "w.db", create=True) as ws:
        report = import_files(ws, [src])
        assert report.rows == 0 and ws.count() == 0 and ws.sources()[0]["complete"] == 1
