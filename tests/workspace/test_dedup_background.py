"""dedup reads the `best` keeper's ranks on a thread while the records are signed, with the
accepted records folded into the ranks (BestRanks with prefer_first): the keeper order must be the
one of accepted first, then best_keeper_ranks' ranks, then the smaller id."""

from __future__ import annotations

import random
from pathlib import Path

from store_helpers import chat, write_jsonl

from curator.workspace import Workspace
from curator.workspace.dedup import _PADDED_SQL, BestRanks, best_keeper_ranks
from curator.workspace.importer import import_files
from curator.workspace.prepare import Preparer


def test_ranks_read_in_the_background_order_records_as_prefer_then_ranks(tmp_path: Path) -> None:
    rng = random.Random(11)
    rows = [chat(f"Question {k}?" + (" " if k % 5 == 0 else ""),
                 f"Answer {k}" + (" mail ana@example.com" if k % 3 == 0 else "."))
            for k in range(60)]
    src = write_jsonl(tmp_path / "d.jsonl", rows)
    db = tmp_path / "w.db"
    with Workspace.open(db, create=True) as ws:
        import_files(ws, [src], prepare=Preparer("openai", count_tokens=False))
        ids = list(ws.select_ids([]))
        ws.set_status(rng.sample(ids, 15), "accepted")
        ws.set_status(rng.sample(ids, 5), "rejected")
        ranks, prefer = best_keeper_ranks(ws)
        assert prefer and len(set(ranks.values())) > 2
        padding = dict(ws.connection.execute(f"SELECT r.id, ({_PADDED_SQL}) FROM records r"))
        best = BestRanks.read_in_background(ws).result()
        assert best == BestRanks.read(ws)
        folded = best(padding, prefer_first=True)
        assert set(folded) == set(ranks)
        want = sorted(ranks, key=lambda i: (i not in prefer, ranks[i], i))
        assert sorted(folded, key=lambda i: (folded[i], i)) == want


def test_the_background_read_starts_only_once_every_worker_is_forked() -> None:
    """A thread running while the pool forks a worker can leave the worker waiting on a lock
    the thread held (it hung the suite once): `pool_ready`, which starts the read, comes after
    every worker exists."""
    import multiprocessing

    from curator.dedup import find_duplicates

    seen: list[int] = []
    result = find_duplicates([(i, f"some text number {i % 7} of a few") for i in range(60)],
                             processes=2, pool_ready=lambda: seen.append(
                                 len(multiprocessing.active_children())))
    assert seen and seen[0] >= 2
    assert result.clusters
