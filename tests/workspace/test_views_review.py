"""The review app's read-only views (curator.workspace.views.review) on a small workspace: each
answers from the file as it is now, and none of them writes."""

from __future__ import annotations

import json
from pathlib import Path

from curator.workspace import DuplicateCluster, Workspace
from curator.workspace.importer import import_files
from curator.workspace.prepare import Preparer
from curator.workspace.views import review


def _chat(*texts: str) -> dict[str, object]:
    roles = ["user", "assistant"] * len(texts)
    return {"messages": [{"role": r, "content": t} for r, t in zip(roles, texts, strict=False)]}


def make(tmp_path: Path) -> Path:
    src = tmp_path / "data.jsonl"
    rows = [_chat("Hi", "Hello"), _chat("Q", "A", "Q2", "A2"), _chat("Hi!", "Hello"),
            _chat("x", "")]  # the last: an empty answer, rejected at import and not counted
    src.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    path = tmp_path / "w.db"
    with Workspace.open(path, create=True, actor="tester") as ws:
        import_files(ws, [src], Preparer("openai"))
    return path


def test_the_views_answer_from_the_file_and_write_nothing(tmp_path: Path) -> None:
    path = make(tmp_path)
    with Workspace.open(path, actor="tester") as ws:
        before = review.data_version(ws)
        assert review.id_range(ws) == (1, 4)
        assert review.turn_counts(ws, [1, 2, 4, 99]) == {1: 2, 2: 4, 4: 2}
        assert review.turn_counts(ws, []) == {}
        assert review.duplicate_clusters(ws) == []
        s = review.stats(ws, limit=None)
        assert (s.total, s.status["pending"], s.status["rejected"], s.uncounted) == (4, 3, 1, 1)
        assert s.issues == [("chat.content_empty", "error", 1)]
        assert sum(n for _, _, n in s.histogram) == 3 and s.over_limit == 0
        assert review.data_version(ws) == before  # reading changed nothing
        ws.mark_duplicates([DuplicateCluster(1, {3: 0.9})])
        assert review.duplicate_clusters(ws) == [1]
        after_dedup = review.data_version(ws)
        assert after_dedup != before
        ws.set_status([2], "accepted")
        assert review.data_version(ws) != after_dedup
        assert review.stats(ws, limit=None).status["accepted"] == 1


def test_stats_counts_records_over_the_limit_and_widens_the_histogram(tmp_path: Path) -> None:
    path = make(tmp_path)
    with Workspace.open(path) as ws:
        full = review.stats(ws, limit=None)
        top = full.histogram[-1][1]
        low = full.histogram[0][0]
        s = review.stats(ws, limit=low)  # every record but the shortest is over
        assert s.over_limit == sum(1 for n in _tokens(ws) if n > low)
        assert s.histogram[0][0] == low and s.histogram[-1][1] >= top


def test_an_empty_workspace(tmp_path: Path) -> None:
    with Workspace.open(tmp_path / "e.db", create=True) as ws:
        assert review.id_range(ws) is None
        assert review.data_version(ws) == (0, 0, 0)
        s = review.stats(ws, limit=100)
        assert (s.total, s.histogram, s.over_limit) == (0, [], 0)


def _tokens(ws: Workspace) -> list[int]:
    return [t for t in (ws.get(i).tokens_total for i in range(1, 5)) if t is not None]
