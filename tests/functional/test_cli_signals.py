"""`curator signals -w WS`: shared answers and conflicts become labels with their reason in the
note (never over a reviewer's own note), a rerun replaces the last run, undo takes it back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from curator.cli import cli
from curator.workspace import Workspace

OWN = ("Photosynthesis lets plants turn sunlight, water and carbon dioxide into glucose, "
       "releasing oxygen as they do.")
ROWS = [
    ("Explain how photosynthesis works in plants.", OWN),
    ("Write a haiku about the sea at night.", OWN),
    ("Give me a short definition of the word 'ephemeral'.", "Ephemeral means lasting for a very short time."),
    ("Give me a short definition of the word 'ephemeral' please.",
     "A large sea mammal that breathes air through a blowhole."),
    ("What is the capital of Australia?", "Canberra is the capital of Australia."),
]


def _ws(tmp_path: Path, rows: list[tuple[str, str]]) -> Path:
    data = tmp_path / "data.jsonl"
    data.write_text("".join(json.dumps({"messages": [{"role": "user", "content": p},
                                                     {"role": "assistant", "content": a}]}) + "\n"
                            for p, a in rows), encoding="utf-8")
    ws = tmp_path / "w.curator.db"
    r = CliRunner().invoke(cli, ["import", str(data), "-w", str(ws)])
    assert r.exit_code in (0, 1), r.output
    return ws


def _state(ws_path: Path) -> dict[int, tuple[set[str], str | None]]:
    with Workspace.open(ws_path) as ws:
        out = {}
        for rid in ws.select_ids(()):
            d = ws.get(rid)
            out[rid] = ({lb for lb in d.labels if lb in ("same-answer", "conflict")}, d.note)
        return out


def _signals(ws: Path, *extra: str) -> Any:
    return CliRunner().invoke(cli, ["signals", "-w", str(ws), *extra])


def test_signals_labels_records_with_the_reason_in_the_note(tmp_path: Path) -> None:
    ws = _ws(tmp_path, ROWS)
    r = _signals(ws, "--json")
    assert r.exit_code == 1, r.output  # found something
    out = json.loads(r.stdout)
    assert (out["same_answer"], out["conflict"]) == (1, 2)
    state = _state(ws)
    assert state[2][0] == {"same-answer"} and "fits record 1's prompt best" in (state[2][1] or "")
    assert state[3][0] == state[4][0] == {"conflict"}
    assert (state[4][1] or "").startswith("[signal] conflict: its prompt is near-identical to record 3")
    assert state[1] == (set(), None) and state[5] == (set(), None)


def test_a_reviewers_note_is_kept_and_a_rerun_replaces_the_last_run(tmp_path: Path) -> None:
    ws = _ws(tmp_path, ROWS)
    assert CliRunner().invoke(cli, ["note", "3", "checked by Ana", "-w", str(ws)]).exit_code == 0
    assert _signals(ws).exit_code == 1
    assert _state(ws)[3] == ({"conflict"}, "checked by Ana")
    # the conflicting answer is rejected: the next run no longer sees the conflict
    assert CliRunner().invoke(cli, ["reject", "4", "-w", str(ws)]).exit_code == 0
    r = _signals(ws)
    assert r.exit_code == 1, r.output  # the shared answer is still there
    state = _state(ws)
    assert state[3] == (set(), "checked by Ana") and state[4] == (set(), None)
    assert state[2][0] == {"same-answer"}


def test_dry_run_changes_nothing_and_undo_takes_a_run_back(tmp_path: Path) -> None:
    ws = _ws(tmp_path, ROWS)
    before = _state(ws)
    r = _signals(ws, "--dry-run")
    assert r.exit_code == 1 and "would flag 1 same-answer, 2 conflict" in r.stdout
    assert _state(ws) == before
    assert _signals(ws).exit_code == 1
    for _ in range(2):  # one entry per label
        assert CliRunner().invoke(cli, ["undo", "-w", str(ws)]).exit_code == 0
    assert _state(ws) == before


def test_clean_set_exits_0(tmp_path: Path) -> None:
    ws = _ws(tmp_path, [ROWS[0], ROWS[2], ROWS[4]])
    r = _signals(ws)
    assert r.exit_code == 0, r.output
    assert "flagged 0 same-answer, 0 conflict" in r.stdout


def test_dedup_semantic_labels_paraphrases_and_marks_no_duplicate(tmp_path: Path) -> None:
    ws = _ws(tmp_path, [("What is the capital city of Australia?", "Canberra."),
                        ("Which city is the capital of Australia?", "Canberra is its capital."),
                        ("Describe the life cycle of a butterfly.", "Egg, larva, pupa, adult.")])
    r = CliRunner().invoke(cli, ["dedup", "--semantic", "--threshold", "0.8", "-w", str(ws),
                                 "--json"])
    assert r.exit_code == 1, r.output
    out = json.loads(r.stdout)
    assert (out["clusters"], out["paraphrase"], out["threshold"]) == (1, 2, 0.8)
    with Workspace.open(ws) as w:
        for rid, labelled in ((1, True), (2, True), (3, False)):
            d = w.get(rid)
            assert ("paraphrase" in d.labels) is labelled
            assert d.dup_of is None  # for review, never a silent duplicate
        assert "paraphrases record 1's" in (w.get(2).note or "")


def test_decontaminate_labels_records_naming_the_file_and_line(tmp_path: Path) -> None:
    q = ("Natalia sold clips to 48 of her friends in April, and then she sold half as many "
         "clips in May. How many clips did Natalia sell altogether in April and May?")
    ws = _ws(tmp_path, [(q, "72"), ROWS[0], ROWS[4]])
    ev = tmp_path / "gsm8k_test.jsonl"
    ev.write_text("\n" + json.dumps({"question": q, "answer": "72"}) + "\n")
    r = CliRunner().invoke(cli, ["decontaminate", "-w", str(ws), "--against", str(ev), "--json"])
    assert r.exit_code == 1, r.output
    out = json.loads(r.stdout)
    assert out["contaminated"] == 1 and out["split_checked"] is False
    with Workspace.open(ws) as w:
        assert "contaminated" in w.get(1).labels and "contaminated" not in w.get(2).labels
        assert w.get(1).note == ("[signal] contaminated: shares 13 words in a row with evaluation "
                                 "row gsm8k_test.jsonl line 2")


def test_decontaminate_refuses_without_anything_to_check_or_an_unreadable_file(tmp_path: Path) -> None:
    ws = _ws(tmp_path, ROWS)
    r = CliRunner().invoke(cli, ["decontaminate", "-w", str(ws)])
    assert r.exit_code == 2 and "nothing to check against" in r.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json at all\n")
    r = CliRunner().invoke(cli, ["decontaminate", "-w", str(ws), "--against", str(bad)])
    assert r.exit_code == 2 and "no example could be read from" in r.output
    assert "Traceback" not in r.output


def test_decontaminate_checks_training_records_against_the_holdout(tmp_path: Path) -> None:
    text = ("Describe the process by which plants convert light energy into chemical energy, "
            "naming the two stages of photosynthesis and where in the cell they happen.")
    rows = [(f"{text} Version {k}.", f"Answer {k}: light reactions then the Calvin cycle.")
            for k in range(3)]
    rows += [(f"Unrelated question number {k} about {w}?", f"An answer about {w}, number {k}.")
             for k, w in enumerate(["rivers", "stars", "cheese", "trains", "bees", "chess", "tea"])]
    ws = _ws(tmp_path, rows)
    with Workspace.open(ws) as w:
        w.connection.execute("INSERT INTO record_marks(record_id, split) "
                             "SELECT id, 'train' FROM records")
        w.connection.execute("UPDATE record_marks SET split = 'holdout' WHERE record_id = 1")
        w.connection.commit()
    r = CliRunner().invoke(cli, ["decontaminate", "-w", str(ws), "--json"])
    assert r.exit_code == 1, r.output
    out = json.loads(r.stdout)
    assert out["split_checked"] is True
    assert {f["record"] for f in out["findings"]} == {2, 3}
    assert all("holdout record 1" in f["reason"] for f in out["findings"])


def test_two_signal_commands_share_a_note_and_each_clears_only_its_own_part(tmp_path: Path) -> None:
    q = ("Give me a short definition of the word 'ephemeral', as a dictionary would, in one "
         "sentence of plain English for a student.")
    ws = _ws(tmp_path, [(q, "Ephemeral means lasting for a very short time."),
                        (q + " Thanks", "A large sea mammal that breathes air through a blowhole."),
                        ROWS[4]])
    ev = tmp_path / "eval.jsonl"
    ev.write_text(json.dumps({"prompt": q, "completion": "Short-lived."}) + "\n")
    assert CliRunner().invoke(cli, ["decontaminate", "-w", str(ws), "--against", str(ev)]).exit_code == 1
    assert _signals(ws).exit_code == 1
    note = _state(ws)[2][1] or ""
    assert note.startswith("[signal] contaminated: ") and " | conflict: its prompt" in note
    # the conflict goes (its other side rejected): only the conflict part of the note goes
    assert CliRunner().invoke(cli, ["reject", "1", "-w", str(ws)]).exit_code == 0
    assert _signals(ws).exit_code == 0
    with Workspace.open(ws) as w:
        d = w.get(2)
        assert "contaminated" in d.labels and "conflict" not in d.labels
        assert (d.note or "").startswith("[signal] contaminated: ") and "conflict" not in (d.note or "")
