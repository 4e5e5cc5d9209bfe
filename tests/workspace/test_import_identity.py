"""What import stores does not depend on how it writes: deferred indexes or not, workers or not,
every record, issue, journal entry, sources row and meta key is the same, and each uid is the
SHA-256 of the record's canonical JSON (issue 15 made the write faster; this holds it still)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

from curator.workspace import Workspace
from curator.workspace.importer import import_files
from curator.workspace.prepare import Preparer

TIMES = {"created", "imported_at", "ts"}


def _lines() -> list[str]:
    out = []
    for i in range(700):
        if i % 50 == 3:
            out.append('{"messages": [')  # does not parse
        elif i % 50 == 4:
            out.append("[1, 2, 3]")  # JSON, not an object
        elif i % 50 == 5:
            out.append(json.dumps({"instruction": f"Name {i % 9}", "input": "",
                                   "output": f"Item {i % 9}"}))  # converted from alpaca
        else:
            answer = "" if i % 13 == 0 else f"Answer {i % 40}."  # repeats of one content
            out.append(json.dumps({"messages": [
                {"role": "user", "content": f"Question {i % 40}?"},
                {"role": "assistant", "content": answer}]}, indent=None if i % 2 else 1)
                .replace("\n", ""))
    return out


def _dump(db: Path) -> dict[str, list[tuple[object, ...]]]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        out = {}
        for table in ("records", "issues", "sources", "journal", "journal_changes", "meta",
                      "record_labels"):
            cols = [r[1] for r in conn.execute(f"PRAGMA table_info({table})") if r[1] not in TIMES]
            rows = conn.execute(f"SELECT {', '.join(cols)} FROM {table} ORDER BY 1, 2").fetchall()
            if table == "meta":
                rows = [r for r in rows if r[0] not in ("created", "migrated_at")
                        and not str(r[0]).endswith("file_stamp")]
            out[table] = rows
        out["indexes"] = sorted(conn.execute(
            "SELECT name, coalesce(sql, '') FROM sqlite_master WHERE type = 'index'"))
        return out
    finally:
        conn.close()


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("identity") / "data.jsonl"
    src.write_text("\n".join(_lines()) + "\n", encoding="utf-8")
    return src


def _imported(folder: Path, src: Path, name: str, **kw: object) -> Path:
    db = folder / f"{name}.db"
    with Workspace.open(db, create=True) as ws:
        import_files(ws, [src], Preparer("openai", count_tokens=False), batch_size=100,
                     **kw)  # type: ignore[arg-type]
    return db


def test_deferred_indexes_and_workers_store_the_same(tmp_path: Path, source: Path) -> None:
    plain = _dump(_imported(tmp_path, source, "plain"))
    assert len(plain["records"]) == 700 and plain["issues"]
    assert _dump(_imported(tmp_path, source, "deferred", defer_indexes=True)) == plain
    assert _dump(_imported(tmp_path, source, "workers", defer_indexes=True, workers=2)) == plain


def test_uids_are_the_hash_of_the_canonical_json_numbered_by_repeat(tmp_path: Path,
                                                                    source: Path) -> None:
    db = _imported(tmp_path, source, "uids", defer_indexes=True, workers=2)
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    rows = conn.execute("SELECT uid, raw, canonical FROM records ORDER BY id").fetchall()
    conn.close()
    seen: dict[str, int] = {}
    for uid, raw, canonical in rows:
        data = b"raw\x00" + raw.encode() if canonical is None else canonical.encode()
        base = hashlib.sha256(data).hexdigest()[:40]
        k = seen.get(base, -1) + 1
        seen[base] = k
        assert uid == (f"{base}#{k}" if k else base)
    assert any(k for k in seen.values())  # the file has repeats


class _Called(Preparer):
    """A Preparer that import may not take the clean-row shortcut with (its type is not
    Preparer): every row goes through `Preparer.__call__`."""


def test_the_clean_row_shortcut_stores_what_the_preparer_makes(tmp_path: Path) -> None:
    src = tmp_path / "mixed.jsonl"
    lines = _lines()
    lines[10] = lines[10] + "\r"  # a CRLF line: raw is stored without the \r
    lines[12] = '{"messages": [{"role": "user", "content": "Hi"}, {"role": "user", "content": "x"}], "messages": []}'
    lines[14] = json.dumps({"messages": [{"role": "user", "content": "Long question? " * 40},
                                         {"role": "assistant", "content": "A long answer. " * 40}]})
    lines[16] = json.dumps({"messages": [{"role": "user", "content": "Question 7?"},
                                         {"role": "assistant", "content": "Answer 7."}]},
                           sort_keys=True, separators=(",", ":"))  # canonical already
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    dumps = []
    for cls in (Preparer, _Called):
        db = tmp_path / f"{cls.__name__}.db"
        with Workspace.open(db, create=True) as ws:
            import_files(ws, [src], cls("openai", max_tokens=200), batch_size=100)
        dumps.append(_dump(db))
    fast, called = dumps
    assert fast == called
    assert len(fast["records"]) == 700
    # the rows cover both ways: clean rows counted, a row over the limit, rows with issues
    conn = sqlite3.connect(f"file:{tmp_path / 'Preparer.db'}?mode=ro", uri=True)
    clean = conn.execute("SELECT count(*) FROM records WHERE tokens_total IS NOT NULL AND id NOT IN "
                         "(SELECT record_id FROM issues)").fetchone()[0]
    codes = {r[0] for r in conn.execute("SELECT DISTINCT code FROM issues")}
    conn.close()
    assert clean > 400
    assert {"tokens.over_limit", "json.duplicate_key", "chat.content_empty"} <= codes, codes


def test_a_large_import_stores_the_same_with_the_compiled_ascii_count(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # a large input makes import count ASCII text with the compiled counter; every record,
    # count and issue is what the plain count stores (in one process and with two workers)
    from curator import tokens_ascii

    src = tmp_path / "mixed.jsonl"
    src.write_text("\n".join(_lines()) + "\n", encoding="utf-8")
    plain_db = tmp_path / "plain.db"
    with Workspace.open(plain_db, create=True) as ws:
        import_files(ws, [src], Preparer("openai", max_tokens=200), batch_size=100)
    monkeypatch.setattr(tokens_ascii, "COMPILED_MIN_BYTES", 0)
    for workers in (1, 2):
        db = tmp_path / f"compiled{workers}.db"
        prepare = Preparer("openai", max_tokens=200)
        with Workspace.open(db, create=True) as ws:
            import_files(ws, [src], prepare, batch_size=100, workers=workers)
        assert prepare.compiled_ascii
        if workers == 1:
            counter = prepare._rows().counter
            assert counter is not None and getattr(counter, "compiled_ascii", False)
        assert _dump(db) == _dump(plain_db)


def test_clean_rows_store_their_line_and_canonical_json_as_text(tmp_path: Path) -> None:
    """Import's workers send a clean row's line and canonical JSON as UTF-8 bytes; the store
    must keep them as TEXT (a TEXT column would keep bytes as a BLOB), the same value as the
    decoded line, whatever the characters."""
    texts = ["plain ascii", "café crème", "日本語の質問", "emoji 😀 and ß", "tab\tquote \" slash \\"]
    lines = []
    for i in range(60):
        text = f"{texts[i % len(texts)]} {i}"
        row = {"messages": [{"role": "user", "content": f"Q: {text}?"},
                            {"role": "assistant", "content": f"A: {text}."}]}
        lines.append(json.dumps(row, ensure_ascii=i % 2 == 0))
    src = tmp_path / "utf8.jsonl"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for workers in (1, 2):
        db = tmp_path / f"w{workers}.db"
        with Workspace.open(db, create=True) as ws:
            import_files(ws, [src], Preparer("openai"), defer_indexes=True, workers=workers)
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        rows = conn.execute("SELECT typeof(raw), typeof(canonical), raw, canonical, status, "
                            "tokens_total FROM records ORDER BY id").fetchall()
        conn.close()
        assert len(rows) == len(lines)
        for line, (t_raw, t_canonical, raw, canonical, status, tokens) in zip(lines, rows,
                                                                             strict=True):
            assert (t_raw, t_canonical) == ("text", "text")
            assert raw == line
            assert canonical == json.dumps(json.loads(line), sort_keys=True, ensure_ascii=False,
                                           separators=(",", ":"))
            assert status == "pending" and tokens is not None  # the clean-row path took it


def test_clean_rows_store_the_same_by_every_insert_path(tmp_path: Path, source: Path) -> None:
    """Clean rows go to the store in a short form (`sources.CLEAN_ROW_LEN`) with their shared
    fields written by the statement: the deferred-index owner's batch insert, the row-by-row
    insert through the uid index (no deferral, or a second file) and the Preparer called on
    every row (no shortcut) store the same."""
    def imported(name: str, prepare: Preparer, **kw: object) -> Path:
        db = tmp_path / f"{name}.db"
        with Workspace.open(db, create=True) as ws:
            import_files(ws, [source], prepare, batch_size=64, **kw)  # type: ignore[arg-type]
        return db

    called = _dump(imported("called", _Called("openai")))
    assert _dump(imported("owner", Preparer("openai"), defer_indexes=True, workers=2)) == called
    assert _dump(imported("checked", Preparer("openai"))) == called
    conn = sqlite3.connect(f"file:{tmp_path / 'checked.db'}?mode=ro", uri=True)
    clean = conn.execute("SELECT count(*) FROM records WHERE format = 'openai-chat' AND status = "
                         "'pending' AND tokens_total IS NOT NULL AND id NOT IN "
                         "(SELECT record_id FROM issues)").fetchone()[0]
    conn.close()
    assert clean > 400


def test_a_row_the_quick_path_turns_down_is_not_screened_again(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A chat row that the checker's quick path turns down (its `is_clean` said no) goes to the
    full rules without `is_clean` asked a second time (`Preparer.screened`), and stores exactly
    what calling the Preparer stores."""
    from curator.validate import engine

    lines = [json.dumps({"messages": [{"role": "user", "content": f"Question {i}?"},
                                      {"role": "assistant", "content": "" if i % 2 else "   "}]})
             for i in range(40)]  # plain chat with an empty answer: never clean
    src = tmp_path / "empty.jsonl"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    asked: list[int] = []
    is_clean = engine.is_clean_simple_chat

    def counted(*args: object) -> bool:
        asked.append(1)
        return is_clean(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(engine, "is_clean_simple_chat", counted)
    with Workspace.open(tmp_path / "screened.db", create=True) as ws:
        import_files(ws, [src], Preparer("openai"))
    assert len(asked) == len(lines)  # once per row: the quick path's
    with Workspace.open(tmp_path / "called.db", create=True) as ws:
        import_files(ws, [src], _Called("openai"))
    called = _dump(tmp_path / "called.db")
    assert _dump(tmp_path / "screened.db") == called
    assert {r[0] for r in called["issues"]} and len(called["records"]) == len(lines)
