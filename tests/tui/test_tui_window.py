"""The record list's paging model: any index reads the right row, forward, backward, far."""

from __future__ import annotations

import pytest
from store_helpers import chat, write_jsonl

from curator.tui.window import KEEP, PAGE, RecordWindow
from curator.workspace import Workspace
from curator.workspace.importer import import_files
from curator.workspace.prepare import Preparer

N = 1234


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    folder = tmp_path_factory.mktemp("win")
    rows = [chat(f"question {i}", f"answer {i}") for i in range(N)]
    w = Workspace.open(folder / "w.db", create=True)
    import_files(w, [write_jsonl(folder / "a.jsonl", rows)], Preparer("openai", count_tokens=False))
    w.set_status([i for i in range(1, N + 1) if i % 3 == 0], "accepted")
    return w


def test_every_index_reads_its_row_both_ways(ws: Workspace) -> None:
    win = RecordWindow(ws)
    win.reset()
    assert len(win) == N
    forward = [win.get(i).summary.id for i in range(N)]  # type: ignore[union-attr]
    assert forward == list(range(1, N + 1))
    assert len(win.rows) <= KEEP + PAGE  # the cache stays small
    backward = [win.get(i).summary.id for i in reversed(range(N))]  # type: ignore[union-attr]
    assert backward == list(range(N, 0, -1))
    assert win.get(N) is None and win.get(-1) is None


def test_far_jumps_and_filters(ws: Workspace) -> None:
    win = RecordWindow(ws)
    win.reset(["status=accepted"])
    assert len(win) == N // 3
    last = win.get(len(win) - 1)
    assert last is not None and last.summary.id == (N // 3) * 3
    middle = win.get(200)
    assert middle is not None and middle.summary.id == 603
    assert win.get(5).summary.id == 18  # type: ignore[union-attr]
    assert win.index_of(603) == 200
    assert win.index_of(604) is None  # not accepted: not in this list
    assert win.next_matching(603, []) == 606
    assert win.next_matching((N // 3) * 3, []) is None
    first = win.get(0)
    assert first is not None and first.turns == 2


def test_refresh_keeps_rows_sticky_until_refiltered(ws: Workspace) -> None:
    win = RecordWindow(ws)
    win.reset(["status=pending"])
    first = win.get(0)
    assert first is not None and first.summary.id == 1
    ws.set_status_one(1, "rejected")
    win.refresh_ids([1])
    again = win.get(0)
    assert again is not None and again.summary.id == 1 and again.summary.status == "rejected"
    win.refresh_all()  # a re-read drops what no longer matches
    assert win.get(0).summary.id == 2  # type: ignore[union-attr]
    ws.undo()


def test_a_scan_in_two_threads_finds_what_the_filter_selects(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    from curator.tui import window

    monkeypatch.setattr(window, "SCAN_CHUNK", 37)  # many chunks, split over the threads
    where = ["text~answer 1", "status=pending"]
    seen: list[tuple[int, int]] = []
    result = window.scan(ws, where, lambda done, total: seen.append((done, total)),
                         lambda: False)
    assert result is not None
    ids, rows = result
    expected = list(ws.select_ids(where))
    assert list(ids) == expected and len(expected) > 100  # in id order, none lost or doubled
    assert [r.summary.id for r in rows] == expected[:PAGE]
    assert len(seen) == -(-N // 37) and max(seen) == (N, N)
    assert window.scan(ws, where, lambda d, t: None, lambda: True) is None  # cancelled


def test_a_scans_first_matches_are_the_start_of_its_final_list(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two threads finish chunks in any order; what `partial` is given must still be the first
    # matches of the final list, in its order, each call longer than the one before.
    from curator.tui import window

    monkeypatch.setattr(window, "SCAN_CHUNK", 37)
    monkeypatch.setattr(window, "PARTIAL_EVERY", 0.0)  # every chunk may hand more over
    where = ["text~answer 1", "status=pending"]
    calls: list[tuple[list[int], list[int] | None]] = []
    result = window.scan(ws, where, lambda d, t: None, lambda: False,
                         lambda ids, rows: calls.append(
                             (list(ids), None if rows is None else [r.summary.id for r in rows])))
    assert result is not None
    final = list(result[0])
    assert calls and calls[0][1] == final[:PAGE]  # the first call brings the first page's rows
    assert all(rows is None for _, rows in calls[1:])
    for ids, _ in calls:
        assert PAGE <= len(ids) < len(final) and ids == final[:len(ids)]
    assert sorted({len(ids) for ids, _ in calls}) == [len(ids) for ids, _ in calls]
