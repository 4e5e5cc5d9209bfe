"""The workspace API: decisions, labels, edits, dedup and split marks, undo/redo, filters, pages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from store_helpers import chat, write_jsonl

from curator.issues import Issue
from curator.workspace import (
    DuplicateCluster,
    EditRefused,
    FilterError,
    UnknownRecords,
    Workspace,
    WorkspaceError,
    WorkspaceNotFound,
)
from curator.workspace.importer import import_files
from curator.workspace.prepare import Preparer
from curator.workspace.split import split_workspace


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    rows = [chat(f"question {i}", f"answer {i} " + "word " * i) for i in range(20)]
    src = write_jsonl(tmp_path / "data.jsonl", rows)
    w = Workspace.open(tmp_path / "w.db", create=True, actor="tester")
    import_files(w, [src], Preparer("openai", count_tokens=False))
    return w


def statuses(w: Workspace) -> dict[int, str]:
    return {i: w.get(i).status for i in w.select_ids()}


def test_open_missing_without_create_is_refused(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceNotFound, match="curator import"):
        Workspace.open(tmp_path / "none.db")
    assert not (tmp_path / "none.db").exists()


def test_set_status_by_ids_and_filters_is_journaled(ws: Workspace) -> None:
    change = ws.set_status([1, 2, 3], "accepted")
    assert (change.selected, change.changed) == (3, 3)
    assert {i for i, s in statuses(ws).items() if s == "accepted"} == {1, 2, 3}
    again = ws.set_status([1, 2], "accepted")
    assert again.entry_id is None and again.changed == 0  # nothing changed, nothing journaled
    rej = ws.set_status([2, 3, 4], "rejected", "off-topic", where=["status=accepted"])
    assert rej.changed == 2  # 4 was not accepted, so the filter left it out
    assert ws.get(3).reason == "off-topic" and ws.get(4).status == "pending"
    entry = ws.log(1)[0]
    assert entry.action == "reject" and entry.actor == "tester"
    fields = {(rid, f): (b, a) for rid, f, b, a in ws.changes(entry.id)}
    assert fields[(2, "status")] == ("accepted", "rejected")
    assert fields[(3, "reason")] == (None, "off-topic")


def test_unknown_ids_change_nothing(ws: Workspace) -> None:
    with pytest.raises(UnknownRecords, match="999"):
        ws.set_status([1, 999], "accepted")
    assert ws.get(1).status == "pending"
    assert ws.log(1)[0].action == "import"


def test_undo_redo_survive_reopen_and_new_action_discards_redo(ws: Workspace,
                                                               tmp_path: Path) -> None:
    ws.set_status(None, "accepted", where=["id<=5"])
    ws.add_label_names(["good"])
    ws.add_labels([1, 2], ["good"])
    ws.set_note(1, "check this")
    ws.close()

    w = Workspace.open(tmp_path / "w.db")
    undone = w.undo(2)
    assert [e.action for e in undone] == ["note", "label"]
    assert w.get(1).note is None and w.get(1).labels == []
    w.close()

    w = Workspace.open(tmp_path / "w.db")
    assert [e.action for e in w.redo(1)] == ["label"]
    assert w.get(2).labels == ["good"]
    w.set_status([9], "rejected")  # a new action: the undone note can no longer be redone
    assert w.redo(1) == []
    assert w.get(1).note is None
    states = {e.action: e.state for e in w.log(10)}
    assert states["note"] == "discarded"
    # undo skips the import and walks back through every real action
    w.undo(10)
    assert set(statuses(w).values()) == {"pending"}
    assert w.labels() == []


def test_remove_label_name_is_undoable(ws: Workspace) -> None:
    ws.add_label_names(["a", "b"])
    ws.add_labels(None, ["a"], where=["id<=4"])
    ws.add_labels([4], ["b"])
    ws.remove_label_names(["a"])
    assert ws.labels() == [("b", 1)]
    assert ws.get(4).labels == ["b"]
    ws.undo()
    assert ws.labels() == [("a", 4), ("b", 1)]
    assert ws.get(4).labels == ["a", "b"]
    ws.redo()
    assert ws.labels() == [("b", 1)]


def test_unknown_label_is_refused(ws: Workspace) -> None:
    with pytest.raises(WorkspaceError, match="labels --add typo"):
        ws.add_labels([1], ["typo"])


def test_edit_refused_when_invalid_and_undoable_when_valid(ws: Workspace) -> None:
    def validate(example: dict[str, object]) -> list[Issue]:
        msgs = example.get("messages")
        if not isinstance(msgs, list) or not msgs:
            return [Issue("chat.empty", "error", "no messages")]
        return [Issue("chat.short", "warning", "short", message_index=0)]

    with pytest.raises(EditRefused) as info:
        ws.edit(1, {"messages": []}, validate=validate)
    assert info.value.issues[0].code == "chat.empty"
    assert ws.get(1).current is None and ws.log(1)[0].action == "import"

    new = chat("better question", "better answer")
    ws.edit(1, new, validate=validate, tokens=(12, 4))
    r = ws.get(1)
    assert r.current == new and r.example == new and r.tokens_total == 12
    assert [i.code for i in r.issues] == ["chat.short"]
    ws.undo()
    r = ws.get(1)
    assert r.current is None and r.issues == [] and r.tokens_total is None
    # editing back to the canonical form stores "unchanged"
    ws.edit(2, ws.get(2).canonical or {})
    assert ws.get(2).current is None


def test_duplicates_marked_and_cleared(ws: Workspace) -> None:
    ws.mark_duplicates([DuplicateCluster(1, {2: 1.0, 3: 0.91}), DuplicateCluster(5, {6: 0.85})],
                       {"threshold": 0.8})
    assert (ws.get(3).cluster_id, ws.get(3).dup_of, ws.get(3).similarity) == (1, 1, 0.91)
    assert (ws.get(1).cluster_id, ws.get(1).dup_of) == (1, None)
    assert ws.count(["dup=yes"]) == 3 and ws.count(["cluster=5"]) == 2
    with pytest.raises(WorkspaceError, match="two duplicate clusters"):
        ws.mark_duplicates([DuplicateCluster(7, {8: 0.9}), DuplicateCluster(9, {8: 0.9})])
    ws.clear_duplicates()
    assert ws.count(["dup=yes"]) == 0
    ws.undo()
    assert ws.count(["dup=yes"]) == 3


def test_splits_keep_the_holdout_sealed(ws: Workspace) -> None:
    ids = list(ws.select_ids())
    ws.set_splits({i: ("holdout" if i <= 2 else "train") for i in ids}, {"seed": 7})
    assert ws.count(["split=holdout"]) == 2
    assert ws.log(1)[0].params == {"seed": 7}  # journaled with the entry
    with pytest.raises(WorkspaceError, match="sealed holdout"):
        ws.set_splits({1: "train"})
    assert ws.get(1).split == "holdout"
    ws.set_splits({1: "train"}, allow_holdout_move=True)
    assert ws.get(1).split == "train"
    ws.undo(2)
    assert ws.count(["split=none"]) == len(ids)


def test_a_split_keeps_its_parameters_under_one_meta_key(ws: Workspace) -> None:
    """A split's parameters live in meta `split.params` (workspace/split.py writes them), not
    also in the legacy `split_params` that set_splits used to write beside it (issue 14: the
    two could drift); undo takes them back with the split."""
    split_workspace(ws, seed=7, processes=1)
    assert json.loads(ws.meta("split.params") or "")["seed"] == 7
    assert ws.meta("split_params") is None
    ws.set_splits({1: "train"}, {"seed": 8}, allow_holdout_move=True)  # direct, with params
    assert ws.meta("split_params") is None
    ws.undo(2)
    assert ws.meta("split.params") is None and ws.count(["split=none"]) == ws.count()


def test_filters_match_an_independent_python_check(ws: Workspace) -> None:
    ws.set_status([1, 2, 3], "accepted")
    ws.set_status([4], "rejected", "bad")
    ws.add_label_names(["x"])
    ws.add_labels([2, 4, 6], ["x"])
    ws.set_splits({i: "train" for i in range(1, 11)})
    ws.mark_duplicates([DuplicateCluster(7, {8: 0.95})])
    ws.edit(5, chat("a refund please", "sure"),
            validate=lambda e: [Issue("chat.no_system_message", "info", "fyi")], tokens=(40, 10))
    records = [ws.get(i) for i in ws.select_ids()]

    def expect(pred: object) -> set[int]:
        return {r.id for r in records if pred(r)}  # type: ignore[operator]

    cases = {
        ("status=accepted",): expect(lambda r: r.status == "accepted"),
        ("status!=pending",): expect(lambda r: r.status != "pending"),
        ("label=x",): expect(lambda r: "x" in r.labels),
        ("label!=x", "status=accepted"): expect(
            lambda r: "x" not in r.labels and r.status == "accepted"),
        ("issue=chat.no_system_message",): expect(
            lambda r: any(i.code == "chat.no_system_message" for i in r.issues)),
        ("issue=chat.*",): expect(lambda r: any(i.code.startswith("chat.") for i in r.issues)),
        ("issue=none",): expect(lambda r: not r.issues),
        ("severity=info",): expect(lambda r: any(i.severity == "info" for i in r.issues)),
        ("split=train",): expect(lambda r: r.split == "train"),
        ("split=none",): expect(lambda r: r.split is None),
        ("cluster=7",): expect(lambda r: r.cluster_id == 7),
        ("dup=no",): expect(lambda r: r.dup_of is None),
        ("tokens>30",): expect(lambda r: (r.tokens_total or 0) > 30),
        ("text~REFUND",): expect(lambda r: "refund" in str(r.example).lower()),
        ("text~answer 1",): expect(lambda r: "answer 1" in str(r.example)),
        ("format=openai-chat", "id>=15"): expect(lambda r: r.format == "openai-chat" and r.id >= 15),
    }
    for filters, expected in cases.items():
        assert set(ws.select_ids(list(filters))) == expected, filters
        assert ws.count(list(filters)) == len(expected), filters


@pytest.mark.parametrize("bad", ["status=done", "colour=red", "tokens>many", "text=abc",
                                 "dup=maybe", "nonsense", "cluster=x"])
def test_bad_filters_are_clear_errors(ws: Workspace, bad: str) -> None:
    with pytest.raises(FilterError, match="bad filter"):
        ws.count([bad])


def test_page_keyset_walk_covers_everything_once(ws: Workspace) -> None:
    ws.set_status(None, "accepted", where=["id>10"])
    for order in ("id", "-id", "tokens", "-tokens"):
        seen: list[int] = []
        page = ws.page(order=order, limit=3)
        seen += [r.id for r in page.rows]
        while page.next_key is not None:
            page = ws.page(order=order, after=page.next_key, limit=3)
            seen += [r.id for r in page.rows]
        assert sorted(seen) == list(ws.select_ids()) and len(seen) == len(set(seen)), order
    first = ws.page(["status=accepted"], limit=2)
    assert [r.id for r in first.rows] == [11, 12]
    assert first.rows[0].preview == "question 10"
    assert ws.page(["status=accepted"], offset=8, limit=5).rows[-1].id == 20
    with pytest.raises(FilterError):
        ws.page(order="colour")


def test_set_meta_is_journaled_and_undone(tmp_path: Path) -> None:
    with Workspace.open(tmp_path / "m.db", create=True) as ws:
        ws.set_meta("train.last_run", '{"verdict": "PASS"}')
        assert ws.meta("train.last_run") == '{"verdict": "PASS"}'
        ws.undo()
        assert ws.meta("train.last_run") is None
        ws.redo()
        assert ws.meta("train.last_run") == '{"verdict": "PASS"}'
