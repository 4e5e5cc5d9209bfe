"""The file engine and the CLI: parallel results equal serial ones, counts are exact, nothing is lost."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from curator.cli import cli
from curator.tokens import get_encoding
from curator.validate import engine
from curator.validate.engine import validate_file

WORDS = ["the", "chain", "gear", "wheel", "brake", "tyre", "spoke", "café", "東京", "pedal", "saddle", "—", "rim", "hub"]


def _example(rng: random.Random) -> dict[str, Any]:
    msgs: list[dict[str, Any]] = [{"role": "system", "content": "Be helpful."}]
    for _ in range(rng.randint(1, 3)):
        msgs.append({"role": "user", "content": " ".join(rng.choices(WORDS, k=rng.randint(3, 30)))})
        msgs.append({"role": "assistant", "content": " ".join(rng.choices(WORDS, k=rng.randint(3, 60)))})
    return {"messages": msgs}


def _make_file(path: Path, n: int, bad_at: dict[int, bytes]) -> list[bytes]:
    rng = random.Random(3)
    lines = []
    for i in range(1, n + 1):
        lines.append(bad_at.get(i, json.dumps(_example(rng), ensure_ascii=False).encode()))
    path.write_bytes(b"\n".join(lines) + b"\n")
    return lines


BAD = {
    7: b'{"messages": [{"role": "human", "content": "hi"}, {"role": "assistant", "content": "yo"}]}',
    300: b"not json at all",
    301: b'{"messages": [{"role": "user", "content": "caf\xe9"}]}',
    777: b'{"messages": [{"role": "user", "content": "a", "role": "user"}, {"role": "assistant", "content": "b"}]}',
    1499: b'{"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": ""}]}',
}


def _cookbook_total(enc: Any, ex: dict[str, Any]) -> int:
    n = 3
    for m in ex["messages"]:
        n += 3 + sum(len(enc.encode(v)) for v in m.values())
    return n


def test_parallel_equals_serial_with_exact_locations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "d.jsonl"
    lines = _make_file(path, 1500, BAD)
    monkeypatch.setattr(engine, "CHUNK_BYTES", 16_384)  # dozens of ranges, cut mid-file
    serial = validate_file(path, workers=1)
    parallel = validate_file(path, workers=2)
    assert serial.issues == parallel.issues
    assert serial.tokens == parallel.tokens
    assert parallel.examples == 1500
    errors = {(i.line, i.code) for i in parallel.issues if i.severity == "error"}
    assert errors == {(7, "chat.role_invalid"), (300, "json.invalid"), (301, "file.not_utf8"),
                      (777, "json.duplicate_key"), (1499, "chat.content_empty")}
    assert all(i.example_index == i.line for i in parallel.issues if i.line)
    # token totals equal an independent cookbook count over the rows that were counted
    enc = get_encoding("o200k_base")
    good = [json.loads(x) for n, x in enumerate(lines, 1) if n not in BAD]
    assert parallel.tokens["total"] == sum(_cookbook_total(enc, ex) for ex in good)
    assert parallel.tokens["counted"] == len(good)


def test_quarantine_holds_the_rejected_lines_byte_for_byte(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    _make_file(path, 400, {k: v for k, v in BAD.items() if k <= 400})
    q = tmp_path / "rejected.jsonl"
    result = CliRunner().invoke(cli, ["validate", str(path), "--quarantine", str(q)])
    assert result.exit_code == 1
    assert q.read_bytes() == BAD[7] + b"\n" + BAD[300] + b"\n" + BAD[301] + b"\n"


def test_duplicates_found_across_ranges(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(5)
    rows = [json.dumps(_example(rng)) for _ in range(300)]
    dup = json.dumps(json.loads(rows[10]), indent=None, separators=(",", ":"))  # same content, other bytes
    rows[250] = dup
    (tmp_path / "d.jsonl").write_text("\n".join(rows) + "\n")
    monkeypatch.setattr(engine, "CHUNK_BYTES", 4096)
    rep = validate_file(tmp_path / "d.jsonl", workers=2)
    [issue] = [i for i in rep.issues if i.code == "dataset.duplicate_example"]
    assert issue.line == 251 and "example 11" in issue.message


def test_duplicates_are_reported_in_file_order(tmp_path: Path) -> None:
    # the duplicate issues follow the copies' lines, whatever order their hashes sort in
    rng = random.Random(9)
    rows = [json.dumps(_example(rng)) for _ in range(40)]
    copies = list(range(12))
    rng.shuffle(copies)
    rows += [rows[k] for k in copies]
    (tmp_path / "d.jsonl").write_text("\n".join(rows) + "\n")
    rep = validate_file(tmp_path / "d.jsonl", workers=1)
    found = [(i.line, i.message) for i in rep.issues if i.code == "dataset.duplicate_example"]
    assert [line for line, _ in found] == list(range(41, 53))
    assert [msg for _, msg in found] == [f"exact duplicate of example {k + 1} (line {k + 1})" for k in copies]


def test_a_failing_range_is_reported_not_lost(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "d.jsonl"
    _make_file(path, 200, {})
    monkeypatch.setattr(engine, "CHUNK_BYTES", 4096)
    real = engine.check_range

    def flaky(checker: Any, p: str, start: int, end: int, at_eof: bool) -> engine.ChunkResult:
        if start > 0 and not at_eof and start < 9000:
            raise MemoryError("injected")
        return real(checker, p, start, end, at_eof)

    monkeypatch.setattr(engine, "check_range", flaky)
    rep = validate_file(path, workers=1)
    failed = [i for i in rep.issues if i.code == "internal.chunk_failed"]
    assert failed and all(i.severity == "error" for i in failed) and rep.io_error


def test_token_limit_and_truncation(tmp_path: Path) -> None:
    long_answer = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "word " * 300}]}
    long_prompt = {"messages": [{"role": "user", "content": "word " * 300}, {"role": "assistant", "content": "ok"}]}
    (tmp_path / "d.jsonl").write_text(json.dumps(long_answer) + "\n" + json.dumps(long_prompt) + "\n")
    rep = validate_file(tmp_path / "d.jsonl", "trl", max_tokens=100)
    got = {(i.line, i.code, i.severity) for i in rep.issues if i.code.startswith("tokens.")}
    assert got == {(1, "tokens.over_limit", "warning"), (2, "tokens.truncation_removes_target", "error"),
                   (None, "tokens.approximate", "info")}


def test_cli_json_shape_summary_and_exit_codes(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    _make_file(path, 60, {5: BAD[7], 6: BAD[7], 9: BAD[7]})
    runner = CliRunner()
    res = runner.invoke(cli, ["validate", str(path), "--json", "--max-issues-per-code", "2"])
    assert res.exit_code == 1
    out = json.loads(res.stdout)
    assert set(out) == {"version", "target", "model", "strict", "files", "summary", "issues"}
    assert out["summary"]["counts"]["chat.role_invalid"] == 3
    assert [i["line"] for i in out["issues"] if i["code"] == "chat.role_invalid"] == [5, 6]
    assert set(out["issues"][0]) == {"file", "line", "example_index", "message_index", "path", "code", "severity",
                                     "message", "hint", "fix"}
    assert out["files"][0]["examples"] == 60 and out["files"][0]["rejected"] == 3
    # version 2: `formats` speaks curator.formats' names (docs/json-output.md, "changes in 2")
    assert out["version"] == 2 and out["files"][0]["formats"] == {"openai-chat": 60}
    res = runner.invoke(cli, ["validate", str(path), "--summary"])
    assert "chat.role_invalid" in res.output and "x3" in res.output and "FAIL" in res.output
    res = runner.invoke(cli, ["validate", str(path)])
    assert f"{path}:5: error chat.role_invalid [example 5, message 0]" in res.output
    clean = tmp_path / "ok.jsonl"
    _make_file(clean, 60, {})
    assert runner.invoke(cli, ["validate", str(clean)]).exit_code == 0
    assert runner.invoke(cli, ["validate", str(tmp_path / "missing.jsonl")]).exit_code == 2
    assert runner.invoke(cli, ["validate", str(clean), "--target", "nope"]).exit_code == 2
    assert runner.invoke(cli, ["validate", str(clean), "--model", "llama-3"]).exit_code == 2
