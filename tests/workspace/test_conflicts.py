"""Conflict clusters (workspace/conflicts.py): listing, keep one, turn two chat answers into a
preference pair (a valid pair that export --kind preference writes), undo, another process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from store_helpers import chat, write_jsonl

from curator.export import iter_export_rows
from curator.quality.answers import CONFLICT, SAME_ANSWER, find_answer_signals
from curator.workspace import Workspace, WorkspaceError
from curator.workspace.conflicts import (
    UNDONE_REASON,
    PreferRefused,
    clusters,
    keep,
    pair_conflicts,
    prefer,
)
from curator.workspace.export import export_workspace
from curator.workspace.importer import import_files
from curator.workspace.prepare import Preparer
from curator.workspace.signals import eligible_items, write_flags
from curator.workspace.split import split_workspace

CAPITAL = "What is the capital city of Australia? Answer in one short sentence."
DEFINE = "Give me a short definition of the word 'ephemeral'."
ROWS = [
    chat(CAPITAL, "Canberra is the capital city of Australia."),            # 1
    chat("Write a haiku about the sea at night.", "Dark waves fold the moon."),  # 2
    chat(CAPITAL, "Sydney, the largest harbour city, is the capital."),     # 3
    chat(DEFINE, "Ephemeral means lasting for a very short time."),         # 4
    chat(DEFINE + " Please.", "A large sea mammal that breathes through a blowhole."),  # 5
    chat(DEFINE, "Something green that grows on the north side of trees."),  # 6
    chat("Name three primary colours.", "Red, yellow and blue."),           # 7
]


def _signals(ws: Workspace) -> None:
    items = eligible_items(ws)
    flagged: dict[str, dict[int, str]] = {SAME_ANSWER: {}, CONFLICT: {}}
    for f in find_answer_signals(items):
        flagged[f.kind][f.record] = f.reason
    write_flags(ws, [SAME_ANSWER, CONFLICT], flagged)


def _workspace(tmp_path: Path, rows: list[dict[str, object]] | None = None,
               split: bool = True) -> Workspace:
    src = write_jsonl(tmp_path / "src.jsonl", rows or ROWS)
    ws = Workspace.open(tmp_path / "w.db", create=True)
    import_files(ws, [src], Preparer("openai"))
    if split:
        split_workspace(ws, seed=1, force=True)
    _signals(ws)
    return ws


def _status(ws: Workspace, *ids: int) -> list[tuple[str, str | None]]:
    return [(ws.get(i).status, ws.get(i).reason) for i in ids]


def test_clusters_group_the_conflicting_records_in_a_stable_order(tmp_path: Path) -> None:
    with _workspace(tmp_path) as ws:
        found = clusters(ws)
        assert [(c.id, [m.id for m in c.members], c.status) for c in found] == [
            (1, [1, 3], "open"), (4, [4, 5, 6], "open")]
        assert found[0].prompt == CAPITAL
        assert found[0].member(3).answer.startswith("Sydney")
        assert [c.id for c in clusters(ws)] == [1, 4]  # the same ids on every call


def test_keep_accepts_one_rejects_the_rest_in_one_undoable_entry(tmp_path: Path) -> None:
    with _workspace(tmp_path) as ws:
        change = keep(ws, 5)
        assert change.entry_id is not None and change.changed == 3
        assert _status(ws, 4, 5, 6) == [("rejected", "conflict: kept #5"), ("accepted", None),
                                        ("rejected", "conflict: kept #5")]
        assert [c.status for c in clusters(ws)] == ["open", "resolved"]
        assert ws.log(1)[0].id == change.entry_id
        ws.undo()
        assert _status(ws, 4, 5, 6) == [("pending", None)] * 3
        assert [c.status for c in clusters(ws)] == ["open", "open"]


def test_keep_refuses_a_record_in_no_cluster(tmp_path: Path) -> None:
    with _workspace(tmp_path) as ws:
        with pytest.raises(WorkspaceError, match="in no conflict cluster"):
            keep(ws, 2)
        with pytest.raises(WorkspaceError, match="no record with id 99"):
            keep(ws, 99)
        with pytest.raises(WorkspaceError, match="not in conflict cluster 1"):
            keep(ws, 4, clusters(ws)[0])  # the cluster as a caller listed it
        assert _status(ws, 1, 3, 4) == [("pending", None)] * 3


def test_prefer_makes_a_valid_pair_that_export_writes_and_rejects_both(tmp_path: Path) -> None:
    with _workspace(tmp_path) as ws:
        before = ws.log(1)[0].id
        done = prefer(ws, 1, 3)
        assert not done.reused and ws.log(1)[0].id == done.change.entry_id != before
        pair = ws.get(done.record)
        assert pair.kind == "preference" and pair.status == "pending"
        assert pair.source_file == "conflict #1 over #3"
        assert pair.canonical == {
            "prompt": [{"role": "user", "content": CAPITAL}],
            "chosen": [{"role": "assistant", "content": "Canberra is the capital city of Australia."}],
            "rejected": [{"role": "assistant",
                          "content": "Sydney, the largest harbour city, is the capital."}]}
        assert pair.tokens_sides is not None and pair.tokens_sides["chosen"] > 0
        splits = {ws.get(1).split, ws.get(3).split}
        assert pair.tokens_total is not None
        assert pair.split == ("holdout" if "holdout" in splits else ws.get(1).split)
        assert not [i for i in pair.issues if i.severity == "error"]
        why = f"conflict: turned into preference pair #{done.record}"
        assert _status(ws, 1, 3) == [("rejected", why)] * 2
        # exported as a pair; neither conflicting chat answer is exported
        out = export_workspace(ws, tmp_path / "pref", fmt=None, kind="preference")
        rows = [r for s, n in out.counts.items() if n
                for r in iter_export_rows(str(out.out_dir / f"{s}.jsonl"))]
        assert rows == [{"input": {"messages": [{"role": "user", "content": CAPITAL}]},
                         "preferred_output": pair.canonical["chosen"],
                         "non_preferred_output": pair.canonical["rejected"]}]
        chat_out = export_workspace(ws, tmp_path / "chat", kind="chat")
        texts = [json.dumps(r) for s, n in chat_out.counts.items() if n
                 for r in iter_export_rows(str(chat_out.out_dir / f"{s}.jsonl"))]
        assert not any("Canberra" in t or "Sydney" in t for t in texts)


def test_undo_takes_the_pair_out_and_restores_both_redo_and_again(tmp_path: Path) -> None:
    with _workspace(tmp_path) as ws:
        done = prefer(ws, 3, 1)
        ws.undo()
        assert _status(ws, 1, 3) == [("pending", None)] * 2
        assert _status(ws, done.record) == [("rejected", UNDONE_REASON)]
        out = export_workspace(ws, tmp_path / "none", fmt=None, kind="preference")
        assert sum(out.counts.values()) == 0  # the pair is out of every export
        ws.redo()
        assert _status(ws, done.record) == [("pending", None)]
        ws.undo()
        again = prefer(ws, 3, 1)  # the same answers again: the same record, brought back
        assert again.reused and again.record == done.record
        assert _status(ws, done.record) == [("pending", None)]


def test_prefer_needs_one_question_and_a_pair_that_validates(tmp_path: Path) -> None:
    rows = [*ROWS, chat(CAPITAL, "Canberra is the capital city of Australia.")]
    with _workspace(tmp_path, rows) as ws:
        with pytest.raises(WorkspaceError, match="do not ask the same thing"):
            prefer(ws, 1, 2)
        with pytest.raises(WorkspaceError, match="two different records"):
            prefer(ws, 1, 1)
        with pytest.raises(PreferRefused, match=r"pref\.identical_outputs"):
            prefer(ws, 1, 8)  # the same answer on both sides is no preference
        assert _status(ws, 1, 2, 8) == [("pending", None)] * 3


def test_chat_records_asking_a_pairs_prompt_are_shown_not_merged(tmp_path: Path) -> None:
    with _workspace(tmp_path) as ws:
        assert pair_conflicts(ws) == []
        done = prefer(ws, 4, 5)  # 6 asks the same and answers a third way
        found = pair_conflicts(ws)
        assert [(p.chat, p.preference, p.matches) for p in found] == [(6, done.record, "neither")]
        assert _status(ws, 6) == [("pending", None)]
        ws.undo()
        assert pair_conflicts(ws) == []


READ_BACK = """
import sys
from curator.workspace import Workspace
from curator.workspace.conflicts import clusters
with Workspace.open(sys.argv[1]) as ws:
    print([(c.id, c.status) for c in clusters(ws)], ws.get(int(sys.argv[2])).kind)
"""


def test_another_process_sees_a_resolution_and_its_undo(tmp_path: Path) -> None:
    with _workspace(tmp_path) as ws:
        done = prefer(ws, 1, 3)

        def read() -> str:
            return subprocess.run([sys.executable, "-c", READ_BACK, str(ws.path),
                                   str(done.record)], capture_output=True, text=True,
                                  check=True, timeout=120).stdout.strip()

        assert read() == "[(1, 'resolved'), (4, 'open')] preference"
        ws.undo()
        assert read() == "[(1, 'open'), (4, 'open')] preference"
