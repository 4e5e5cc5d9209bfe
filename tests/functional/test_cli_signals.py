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
