"""`curator score`: numbers stored per record, incremental, resumable, and the IFD they mean."""

from __future__ import annotations

import json
import math
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from click.testing import CliRunner
from train_helpers import chat, write_split

from curator.cli import cli
from curator.workspace import Workspace
from curator.workspace import scores as store
from curator.workspace.importer import import_files


@pytest.fixture(autouse=True)
def _isolated(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CURATOR_HOME", str(tmp_path_factory.getbasetemp() / "curator-home"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("CURATOR_WORKSPACE", raising=False)


def make_workspace(tmp_path: Path, rows: list[dict[str, Any]]) -> Path:
    src = tmp_path / "rows.jsonl"
    write_split(src, rows)
    db = tmp_path / "work.db"
    with Workspace.open(db, create=True) as ws:
        import_files(ws, [src])
    return db


def qa(n: int) -> list[dict[str, Any]]:
    return [chat(f"What is {i} plus {i}?", f"It is {2 * i}.") for i in range(n)]


def score(db: Path, *args: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(cli, ["score", "-w", str(db), "--model", "tiny", "--json", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, json.loads(result.stdout)


def stored(db: Path) -> dict[int, store.ScoreRow]:
    with Workspace.open(db) as ws:
        return {r.record_id: r for r in store.read(ws)}


def test_scores_are_stored_for_every_record_and_a_second_run_scores_nothing(tmp_path: Path) -> None:
    db = make_workspace(tmp_path, qa(6))
    code, out = score(db)
    assert code == 0 and out["to_score"] == 6 and out["scored"] == 6 and out["unscored"] == []
    rows = stored(db)
    assert sorted(rows) == [1, 2, 3, 4, 5, 6]
    for r in rows.values():
        assert r.model == "tiny" and r.note is None and r.answer_tokens > 0
        assert r.loss_prompted is not None and r.loss_alone is not None and r.ifd is not None
        assert r.ifd == pytest.approx(r.loss_prompted / r.loss_alone)
        assert r.end_prob is not None and 0 < r.end_prob < 1
    code, again = score(db)
    assert code == 0 and again["to_score"] == 0 and again["scored"] == 0 and again["up_to_date"] == 6
    assert stored(db) == rows  # nothing rewritten, not even the time


def test_an_edited_record_is_scored_again_and_only_it(tmp_path: Path) -> None:
    db = make_workspace(tmp_path, qa(4))
    score(db)
    before = stored(db)
    with Workspace.open(db) as ws:
        ws.edit(2, chat("What is 1 plus 1?", "It is two, and that is the whole answer."))
        assert store.get(ws, 2) is not None and store.get(ws, 2).stale  # type: ignore[union-attr]
    code, out = score(db)
    assert code == 0 and out["to_score"] == 1 and out["scored"] == 1
    after = stored(db)
    assert after[2].content_hash != before[2].content_hash and after[2].answer_tokens > before[2].answer_tokens
    assert {k: v for k, v in after.items() if k != 2} == {k: v for k, v in before.items() if k != 2}
    with Workspace.open(db) as ws:
        assert not store.get(ws, 2).stale  # type: ignore[union-attr]
    # Undoing the edit brings back the old text, whose score is no longer the stored one.
    with Workspace.open(db) as ws:
        ws.undo()
    assert score(db)[1]["to_score"] == 1


def test_ifd_is_the_ratio_of_the_answer_losses_with_and_without_the_prompt(tmp_path: Path) -> None:
    """The stored numbers against the same losses computed here with plain torch and full logits."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from curator.train.models import resolve_model

    question, answer = "Name a colour.", "Blue is a colour."
    db = make_workspace(tmp_path, [chat(question, answer)])
    code, out = score(db)
    assert code == 0 and out["scored"] == 1
    got = stored(db)[1]

    folder = resolve_model("tiny").path
    tok = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    # The tiny tokenizer is byte-level: the tokens of a concatenation are the concatenated tokens.
    prompt = tok("<|im_start|>user\n" + question + "<|im_end|>\n<|im_start|>assistant\n",
                 add_special_tokens=False)["input_ids"]
    header = tok("<|im_start|>assistant\n", add_special_tokens=False)["input_ids"]
    ans = tok(answer, add_special_tokens=False)["input_ids"]
    end = tok.convert_tokens_to_ids("<|im_end|>")

    def losses(context: list[int], with_end: bool) -> tuple[list[float], float]:
        seq = context + ans + ([end] if with_end else [])
        with torch.no_grad():
            logp = torch.log_softmax(model(torch.tensor([seq])).logits[0].double(), -1)
        per_token = [-float(logp[len(context) + k - 1, t]) for k, t in enumerate(ans)]
        p_end = float(logp[len(context) + len(ans) - 1, end].exp())
        return per_token, p_end

    prompted, p_end = losses(prompt, True)
    alone, _ = losses(header, False)
    loss_p, loss_a = sum(prompted) / len(ans), sum(alone) / len(ans)
    assert got.answer_tokens == len(ans) == len(answer)
    assert got.loss_prompted == pytest.approx(loss_p, rel=1e-4)
    assert got.loss_alone == pytest.approx(loss_a, rel=1e-4)
    assert got.ifd == pytest.approx(loss_p / loss_a, rel=1e-4)
    assert got.end_prob == pytest.approx(p_end, rel=1e-3)


def test_only_the_last_answer_is_scored_whatever_its_weight(tmp_path: Path) -> None:
    row = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello there, friend"},
                        {"role": "user", "content": "bye"},
                        {"role": "assistant", "content": "Goodbye.", "weight": 0}]}
    db = make_workspace(tmp_path, [row])
    assert score(db)[0] == 0
    assert stored(db)[1].answer_tokens == len("Goodbye.")


def test_a_record_that_cannot_be_scored_gets_a_note_exit_1_and_is_not_tried_again(tmp_path: Path) -> None:
    tool_call = {"messages": [
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "weather", "arguments": "{}"}}]}]}
    db = make_workspace(tmp_path, [*qa(2), tool_call])
    code, out = score(db)
    assert code == 1 and out["scored"] == 2
    assert out["unscored"] == [{"note": "the answer is empty", "count": 1, "records": [3]}]
    row = stored(db)[3]
    assert row.note == "the answer is empty" and row.ifd is None and row.loss_prompted is None
    code, again = score(db)
    assert code == 0 and again["to_score"] == 0


def test_records_longer_than_the_context_share_one_note(tmp_path: Path) -> None:
    # The tiny model's context is 1024 positions and its tokenizer byte-level.
    db = make_workspace(tmp_path, [*qa(1), chat("long?", "x " * 600), chat("longer?", "y " * 700)])
    code, out = score(db)
    assert code == 1 and out["scored"] == 1
    assert out["unscored"] == [{"note": "longer than the model's context of 1024 tokens", "count": 2,
                                "records": [2, 3]}]


def test_where_and_limit_choose_the_records(tmp_path: Path) -> None:
    db = make_workspace(tmp_path, qa(6))
    with Workspace.open(db) as ws:
        ws.set_status([1, 2], "accepted")
        ws.set_status([6], "rejected", "off topic")
    code, out = score(db, "--where", "status=pending", "--limit", "1")
    assert code == 0 and out["eligible"] == 3 and out["to_score"] == 1 and out["left_by_limit"] == 2
    assert sorted(stored(db)) == [3]
    code, out = score(db)
    assert out["eligible"] == 5 and out["to_score"] == 4  # rejected records are not scored
    assert sorted(stored(db)) == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("args", [["--limit", "0"], ["--batch-tokens", "0"], ["--where", "nonsense"],
                                  ["--where", "label=nosuch"]])
def test_bad_usage_is_one_line_and_exit_2(tmp_path: Path, args: list[str]) -> None:
    db = make_workspace(tmp_path, qa(1))
    result = CliRunner().invoke(cli, ["score", "-w", str(db), "--model", "tiny", *args])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert stored(db) == {}


def test_a_missing_workspace_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["score", "-w", str(tmp_path / "none.db"), "--model", "tiny"])
    assert result.exit_code == 2 and result.output.count("\n") == 1 and "no workspace" in result.output


def start_and_signal(db: Path, sig: int, *args: str) -> subprocess.Popen[str]:
    """Start `curator score` in a child and send it `sig` once at least 20 records are stored."""
    # One sequence a batch (a tiny token budget), so there are many commits to stop between.
    proc = subprocess.Popen([sys.executable, "-m", "curator", "score", "-w", str(db), "--model", "tiny",
                             "--batch-tokens", "16", *args], env=os.environ.copy(), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            done = conn.execute("SELECT count(*) FROM scores").fetchone()[0]
        except sqlite3.OperationalError:
            done = 0  # not migrated yet
        finally:
            conn.close()
        if done >= 20:
            break
        time.sleep(0.02)
    proc.send_signal(sig)
    return proc


def test_a_killed_run_keeps_its_batches_and_the_next_run_goes_on(tmp_path: Path) -> None:
    n = 600
    db = make_workspace(tmp_path, qa(n))
    proc = start_and_signal(db, signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    kept = stored(db)
    assert 20 <= len(kept) < n
    assert all(r.ifd is not None and math.isfinite(r.ifd) for r in kept.values())
    code, out = score(db)
    assert code == 0 and out["up_to_date"] == len(kept) and out["to_score"] == n - len(kept)
    final = stored(db)
    assert sorted(final) == list(range(1, n + 1))
    assert {k: final[k] for k in kept} == kept  # what the killed run stored is kept as it was


def test_buckets_are_sorted_by_length_pad_little_and_stay_under_the_budget() -> None:
    from curator.train.score import Item, Seq, buckets

    items = [Item(i, "h", [0] * length, 1, length, None, [0] * (length // 2), 1) for i, length in
             enumerate([50, 20, 30, 21, 40, 22, 60], start=1)]
    seqs = [Seq(it, kind) for it in items for kind in (True, False)]
    out = list(buckets(seqs, max_tokens=100, max_records=3, slack=0.1))
    lengths = [[len(q.ids) for q in b] for b in out]
    assert sorted(x for b in lengths for x in b) == [x for b in lengths for x in b]  # shortest first
    assert sorted((q.item.record_id, q.prompted) for b in out for q in b) == sorted(
        (q.item.record_id, q.prompted) for q in seqs)  # each sequence once
    assert all(len(b) <= 3 and len(b) * max(b) <= 100 and max(b) <= min(b) * 1.1 for b in lengths)
    assert [20, 20, 21] in lengths  # near-equal lengths do share a bucket


def test_ctrl_c_stops_with_exit_130_and_reports_what_it_kept(tmp_path: Path) -> None:
    n = 600
    db = make_workspace(tmp_path, qa(n))
    proc = start_and_signal(db, signal.SIGINT, "--json")
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130
    report = json.loads(out)
    kept = stored(db)
    assert report["interrupted"] is True and 20 <= report["scored"] == len(kept) < n
