"""`curator stats` and curator.stats: aggregation, limits, epochs, problems, histogram."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from curator.cli import cli
from curator.stats import compute_stats, default_epochs, histogram
from curator.tokens import TiktokenCounter, get_encoding


@pytest.fixture(scope="module")
def counter() -> TiktokenCounter:
    return TiktokenCounter("o200k_base")


def _chat(user: str | None, answer: str, system: str | None = None) -> dict[str, Any]:
    msgs = [] if system is None else [{"role": "system", "content": system}]
    if user is not None:
        msgs.append({"role": "user", "content": user})
    msgs.append({"role": "assistant", "content": answer})
    return {"messages": msgs}


def _write(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows),
                    encoding="utf-8")
    return path


def _cookbook_total(ex: dict[str, Any]) -> int:
    enc = get_encoding("o200k_base")
    return 3 + sum(3 + len(enc.encode_ordinary(m["role"])) + len(enc.encode_ordinary(m["content"]))
                   for m in ex["messages"])


@pytest.mark.parametrize(("n", "epochs"), [
    (1, 25), (5, 20), (10, 10), (33, 3), (34, 3), (40, 3), (8333, 3), (8334, 2),
    (10_000, 2), (12_500, 2), (12_501, 1), (30_000, 1),
])
def test_default_epochs(n: int, epochs: int) -> None:
    # n=33: 99 < 100 -> 100 // 33 = 3; n=8334: 25002 > 25000 -> 25000 // 8334 = 2.
    assert default_epochs(n) == epochs


def test_compute_stats(tmp_path: Path, counter: TiktokenCounter) -> None:
    examples = [
        _chat("hello there", "hi! " * k, system="Be brief." if k % 2 else None)
        for k in range(1, 21)
    ] + [_chat(None, "no user here")]
    path = _write(tmp_path / "a.jsonl", examples)
    limit = 30
    s = compute_stats([path], counter, limit)

    totals = np.array([_cookbook_total(e) for e in examples])
    enc = get_encoding("o200k_base")
    trained = np.array([len(enc.encode_ordinary(e["messages"][-1]["content"])) for e in examples])
    assert s.examples == 21 and s.formats == {"openai-chat": 21} and s.problems == []
    assert s.missing_system == 11 and s.missing_user == 1
    assert s.total_tokens is not None and s.trained_tokens is not None
    assert s.total_tokens.min == totals.min() and s.total_tokens.max == totals.max()
    assert s.total_tokens.p50 == pytest.approx(np.percentile(totals, 50))
    assert s.total_tokens.p95 == pytest.approx(np.percentile(totals, 95), abs=0.01)
    assert s.trained_tokens.mean == pytest.approx(trained.mean(), abs=0.01)
    assert s.over_limit == int((totals > limit).sum()) > 0
    assert s.trained_tokens_per_epoch == trained.sum()
    assert s.billed_tokens_per_epoch == np.minimum(totals, limit).sum()
    assert s.default_epochs == 100 // 21
    assert s.estimated_billed_tokens == s.default_epochs * s.billed_tokens_per_epoch
    h = s.histogram
    assert h is not None and sum(h.counts) == 21
    over = sum(c for c, lo in zip(h.counts, h.edges, strict=False) if lo > limit)
    assert over == s.over_limit


def test_rows_not_counted_are_problems(tmp_path: Path, counter: TiktokenCounter) -> None:
    path = _write(tmp_path / "mixed.jsonl", [
        {"prompt": "Say hi ->", "completion": " hi"},
        "{not json",
        {"instruction": "Add", "input": "1+1", "output": "2"},
        {"conversations": [{"from": "human", "value": "x"}]},
        {"foo": 1},
        _chat("a", "b"),
    ])
    s = compute_stats([path], counter, 100)
    assert s.examples == 4
    assert s.formats == {"alpaca": 1, "openai-chat": 1, "prompt-completion": 1, "sharegpt": 1}
    assert [(p.line, p.code) for p in s.problems] == [(2, "json.invalid"), (5, "stats.format_not_counted")]
    # the Alpaca row is counted as the chat it converts to: user "Add\n\n1+1", assistant "2"
    alpaca = counter.count_chat({"messages": [{"role": "user", "content": "Add\n\n1+1"},
                                              {"role": "assistant", "content": "2"}]})
    assert s.trained_tokens is not None and s.trained_tokens_per_epoch == sum(
        counter.count_chat(c).trained for c in (_chat("a", "b"),)) + alpaca.trained + counter.count_text(" hi")
    pc = counter.count_text("Say hi ->") + counter.count_text(" hi")
    assert s.total_tokens is not None and pc in (s.total_tokens.min, s.total_tokens.max)


def test_empty_file(tmp_path: Path, counter: TiktokenCounter) -> None:
    s = compute_stats([_write(tmp_path / "e.jsonl", [])], counter, 100)
    assert s.examples == 0 and s.total_tokens is None and s.to_dict()["histogram"] == {
        "edges": [], "counts": []}


def test_histogram_bins_cover_all_values() -> None:
    rng = np.random.default_rng(0)
    values = rng.lognormal(5, 1.2, 5000).astype(np.int64) + 1
    h = histogram(values, limit=1000)
    assert sum(h.counts) == values.size
    assert h.edges == sorted(h.edges) and h.edges[-1] > values.max()
    assert 1001 in h.edges
    assert sum(c for c, lo in zip(h.counts, h.edges, strict=False) if lo > 1000) == int((values > 1000).sum())


def test_cli_json_and_exit_codes(tmp_path: Path) -> None:
    good = _write(tmp_path / "g.jsonl", [_chat("q", "a"), _chat("q2", "a2 a2")])
    r = CliRunner().invoke(cli, ["stats", str(good), "--json", "--max-tokens", "10"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["examples"] == 2 and out["limit"] == 10 and out["counter"] == "o200k_base"
    assert set(out["tokens_total"]) == {"min", "p5", "p50", "mean", "p95", "p99", "max"}
    assert out["problems"] == [] and out["not_counted"] == 0
    # version 2 (no version field was 1): `formats` speaks curator.formats' names
    assert out["version"] == 2 and out["formats"] == {"openai-chat": 2}

    bad = _write(tmp_path / "b.jsonl", [_chat("q", "a"), "{oops"])
    r = CliRunner().invoke(cli, ["stats", str(bad)])
    assert r.exit_code == 1
    assert "b.jsonl:2" in r.stderr and "json.invalid" in r.stderr
    assert "examples" in r.stdout


@pytest.mark.parametrize("args", [
    ["stats", "missing.jsonl"],
    ["stats", "{f}", "--target", "trl"],
    ["stats", "{f}", "--model", "llama-3"],
    ["stats", "{f}", "--model", "gpt-5"],
])
def test_cli_usage_errors(tmp_path: Path, args: list[str]) -> None:
    f = _write(tmp_path / "g.jsonl", [_chat("q", "a")])
    r = CliRunner().invoke(cli, [a.format(f=f) for a in args])
    assert r.exit_code == 2
    assert "error" in r.stderr.lower()


def test_cli_gpt5_with_max_tokens(tmp_path: Path) -> None:
    f = _write(tmp_path / "g.jsonl", [_chat("q", "a")])
    r = CliRunner().invoke(cli, ["stats", str(f), "--model", "gpt-5", "--max-tokens", "5"])
    assert r.exit_code == 0 and "over the limit" in r.stdout


def test_stats_of_a_large_input_count_the_same_with_the_compiled_ascii_count(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from curator import tokens_ascii

    examples = [_chat(f"Question {k}: what's 12 * {k}?", f"It's {12 * k}.\n\nWHY? I'D say so " * k,
                      system="Be brief." if k % 2 else None) for k in range(1, 60)]
    path = _write(tmp_path / "a.jsonl", examples)
    plain = compute_stats([path], TiktokenCounter("o200k_base"), 200)
    monkeypatch.setattr(tokens_ascii, "COMPILED_MIN_BYTES", 0)
    counter = TiktokenCounter("o200k_base")
    compiled = compute_stats([path], counter, 200)
    assert counter.compiled_ascii
    assert compiled.to_dict() == plain.to_dict()
