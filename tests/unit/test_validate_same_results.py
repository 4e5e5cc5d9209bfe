"""validate's speed-ups change no result: on real-text-like rows (digits, e-mails, markers, answers
cut off, non-ASCII text, duplicates in another key order), the hash of every row is the hash of its
canonical JSON whichever path made it, a JSON array and a JSONL file of the same rows hash alike,
and the whole --json report is the same from one process as from two workers on many ranges."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import orjson
import pytest
import xxhash
from click.testing import CliRunner

from curator.cli import cli
from curator.validate import engine
from curator.validate.engine import NO_HASH, validate_file

SENTENCES = [
    "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May.",
    "How many clips did Natalia sell altogether in April and May?",
    "Natalia sold 48/2 = 24 clips in May.\nNatalia sold 48+24 = 72 clips altogether in April and May.\n#### 72",
    "Weng earns $12 an hour for babysitting. Yesterday, she just did 50 minutes of babysitting.",
    "In 2019 the shop sold 1,250 bikes; in 2020, 1,870 (49.6% more).",
    "Write to ana@example.com for the invoice.",
    "Call me at +1 415 555 0100 tonight.",
    "Dear {{name}}, your order has shipped.",
    "As an AI language model, I cannot ride a bicycle.",
    "Zürich has good bike lanes, and São Paulo is building more — 🚲 everywhere.",
    "def add(a, b):\n    return a + b",
    "The total is 10 * 9",
    "Plants take carbon dioxide from the air and water from the soil, and",
    "Rewrite the sentence in the passive voice.",
    "The cat chased the mouse.",
    "THE CAT CHASED THE MOUSE",
    "Generate a list of five adjectives that describe a sunny day: bright, warm, cheerful, golden and",
    "N/A", "TODO", "line one\\nline two\\nline three", "Sure.<|im_end|>", "x" * 3,
]
SYSTEMS = ["You are a helpful assistant.", "You are a math tutor. Show your working step by step."]


def _row(rng: random.Random) -> dict[str, Any]:
    msgs: list[dict[str, Any]] = []
    if rng.random() < 0.3:
        msgs.append({"role": "system", "content": rng.choice(SYSTEMS)})
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        for role in ("user", "assistant"):
            text = " ".join(rng.choice(SENTENCES) for _ in range(rng.randint(1, 3)))
            msgs.append({"role": role, "content": text} if rng.random() < 0.5 else {"content": text, "role": role})
    if rng.random() < 0.03:
        msgs.append({"role": "user", "content": "and then?"})
    return {"messages": msgs}


def _rows(n: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows = [_row(rng) for _ in range(n)]
    # exact duplicates written with their keys in another order, and a few that are not rows
    for i in rng.sample(range(n), n // 10):
        rows.append({"messages": [dict(reversed(list(m.items()))) for m in rows[i]["messages"]]})
    return rows


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    lines = [json.dumps(r, ensure_ascii=i % 2 == 0).encode() for i, r in enumerate(rows)]
    lines[5] = b'{"messages": [{"role": "user", "content": "a", "role": "user"}, {"role": "assistant", "content": "b"}]}'
    lines[9] = b"not json"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def test_every_row_is_hashed_as_its_canonical_json(tmp_path: Path) -> None:
    path = _write(tmp_path / "real.jsonl", _rows(600, 1))
    rep = validate_file(path, workers=1)
    want = bytearray()
    for line in path.read_bytes().splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            want += NO_HASH
            continue
        want += xxhash.xxh3_64_digest(orjson.dumps(value, option=orjson.OPT_SORT_KEYS))
    # the duplicate-key row (line 6) is reported and hashed as parsed (the last value of the key),
    # by the slow parser's path; the others by the canonical JSON the fast parser wrote
    assert rep.example_hashes == bytes(want)
    assert rep.counts["dataset.duplicate_example"] >= 60


def test_a_json_array_and_a_jsonl_file_of_the_same_rows_hash_alike(tmp_path: Path) -> None:
    rows = _rows(50, 2)[:50]
    train = tmp_path / "train.json"
    train.write_text(json.dumps(rows), encoding="utf-8")
    valid = tmp_path / "valid.jsonl"
    valid.write_text("".join(json.dumps({"messages": [dict(reversed(list(m.items()))) for m in r["messages"]]},
                                        ensure_ascii=False) + "\n" for r in rows[::-1]), encoding="utf-8")
    result = CliRunner().invoke(cli, ["validate", str(train), str(valid), "--json"])
    overlap = [i for i in json.loads(result.output)["issues"] if i["code"] == "dataset.train_val_overlap"]
    assert len(overlap) == 1 and overlap[0]["message"].startswith(f"{len({json.dumps(r) for r in rows})} example(s)")


def test_the_whole_json_report_is_the_same_from_one_process_and_from_two_workers(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path / "real.jsonl", _rows(3000, 3))

    def report(workers: int) -> Any:
        result = CliRunner().invoke(cli, ["validate", str(path), "--json", "--workers", str(workers)])
        assert result.exit_code == 1, result.output
        return json.loads(result.output)

    serial = report(1)
    monkeypatch.setattr(engine, "CHUNK_BYTES", 8192)  # dozens of ranges, cut mid-file
    assert report(2) == serial
    counts = serial["files"][0]["counts"]
    # the rows take every path: clean, full rules with findings, duplicates, unparsable lines
    assert {"quality.pii.email", "quality.pii.phone", "quality.placeholder", "quality.refusal",
            "quality.truncated_answer", "dataset.duplicate_example", "json.invalid",
            "json.duplicate_key"} <= set(counts)
    assert serial["files"][0]["tokens"]["counted"] > 2000
