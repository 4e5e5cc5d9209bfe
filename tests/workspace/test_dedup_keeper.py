"""The default keeper of a duplicate cluster is the best copy (issue 12): accepted first, then
fewest issues (a copy padded with blanks counts one more), then the earliest. The old default,
"longest", kept a padded copy whose answer was wrong and dropped the right one."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from store_helpers import chat, imported_workspace

from curator.cli import cli
from curator.workspace import Workspace
from curator.workspace.dedup import best_keeper_ranks, dedup_workspace

Q = "At what temperature does water boil at sea level, in degrees Celsius?"
RIGHT = ("Water boils at 100 degrees Celsius at sea level, where the air pressure is one "
         "standard atmosphere.")
# the same answer with the number changed and padded with blanks: longer, and wrong
PADDED_WRONG = "  " + RIGHT.replace("100", "1000") + "   \n\n\n"


def _workspace(tmp_path: Path, rows: list[object]) -> Path:
    return imported_workspace(tmp_path, rows)


def test_default_dedup_keeps_the_clean_copy_not_the_longer_padded_wrong_one(tmp_path: Path) -> None:
    db = _workspace(tmp_path, [chat(Q, RIGHT), chat(Q, PADDED_WRONG)])
    r = CliRunner().invoke(cli, ["dedup", "-w", str(db), "--json"])
    assert r.exit_code in (0, 1), r.output
    out = json.loads(r.stdout)
    assert out["params"]["keeper"] == "best"
    assert [(c["keeper"], [m["id"] for m in c["members"]]) for c in out["cluster_list"]] == [(1, [2])]
    with Workspace.open(db) as ws:
        assert ws.get(2).dup_of == 1 and ws.get(1).dup_of is None
        # the old rule, still there by name, keeps the longer copy
        assert dedup_workspace(ws, keeper="longest", processes=1).clusters[0].keeper == 2


def test_accepted_first_then_fewest_issues_then_earliest(tmp_path: Path) -> None:
    with_issue = RIGHT + " Questions: write to ana@example.com"  # an e-mail: a warning
    rows = [chat(Q, with_issue), chat(Q, RIGHT + " Yes."), chat(Q, RIGHT + " Indeed.")]
    db = _workspace(tmp_path, rows)
    with Workspace.open(db) as ws:
        ranks, prefer = best_keeper_ranks(ws)
        assert ranks[2] == ranks[3] < ranks[1] and prefer == set()
        # 1 has an issue: the earliest clean copy, 2, is kept
        assert dedup_workspace(ws, threshold=0.5, processes=1).clusters[0].keeper == 2
        ws.set_status([3], "accepted")
        assert dedup_workspace(ws, threshold=0.5, processes=1).clusters[0].keeper == 3
        ws.set_status([1], "accepted")  # two accepted: the one without an issue wins
        assert dedup_workspace(ws, threshold=0.5, processes=1).clusters[0].keeper == 3


def test_padding_counts_as_one_more_problem(tmp_path: Path) -> None:
    db = _workspace(tmp_path, [chat(Q, RIGHT + "   and more"), chat(Q, RIGHT + " and more!")])
    with Workspace.open(db) as ws:
        ranks, _ = best_keeper_ranks(ws)
        assert ranks[2] < ranks[1]
        assert dedup_workspace(ws, threshold=0.5, processes=1).clusters[0].keeper == 2


def _score(ws: Workspace, rid: int, ifd: float) -> None:
    from curator.workspace import scores

    (_, _, h), = scores.texts(ws, [rid])
    scores.save(ws, [scores.ScoreRow(rid, "m", h, ifd * 2.0, 2.0, ifd, 0.5, 10)])


def test_after_accepted_and_fewest_issues_the_lower_ifd_wins_before_the_earliest(tmp_path: Path) -> None:
    rows = [chat(Q, RIGHT + " Yes."), chat(Q, RIGHT + " Indeed."), chat(Q, RIGHT + " Sure."),
            chat(Q, RIGHT + " Questions: write to ana@example.com")]  # 4: an e-mail, a warning
    db = _workspace(tmp_path, rows)
    with Workspace.open(db) as ws:
        assert dedup_workspace(ws, threshold=0.5, processes=1).clusters[0].keeper == 1  # no scores: earliest
        _score(ws, 1, 0.8)
        _score(ws, 3, 0.4)
        _score(ws, 4, 0.1)  # the best score, but one issue more
        assert dedup_workspace(ws, threshold=0.5, processes=1).clusters[0].keeper == 3
        ws.set_status([2], "accepted")  # accepted first, scored or not
        assert dedup_workspace(ws, threshold=0.5, processes=1).clusters[0].keeper == 2
        ws.set_status([2], "pending")
        # 3 edited since it was scored: its score is about another text and does not count
        ws.edit(3, chat(Q, RIGHT + " Sure!"))
        assert dedup_workspace(ws, threshold=0.5, processes=1).clusters[0].keeper == 1


def test_exact_copies_keep_the_better_scored_one(tmp_path: Path) -> None:
    db = _workspace(tmp_path, [chat(Q, RIGHT), chat(Q, RIGHT), chat(Q, RIGHT)])
    with Workspace.open(db) as ws:
        _score(ws, 2, 0.9)
        _score(ws, 3, 0.5)
        (cluster,) = dedup_workspace(ws, processes=1).clusters
        assert (cluster.keeper, [m.id for m in cluster.members]) == (3, [1, 2])


def test_padded_in_python_is_the_padded_sql_on_random_examples() -> None:
    """The dedup workers judge padding on the examples they parse (`padded`); it must say what
    the SQL of best_keeper_ranks says of the same JSON: random contents of blanks, tabs, CRs,
    line feeds and letters, list and non-string contents, odd message lists."""
    import random
    import sqlite3

    import orjson

    from curator.workspace.dedup import _PADDED_SQL, padded

    rng = random.Random(4)
    pieces = [" ", "  ", "   ", "\t", "\r", "\n", "\n\n", "\n\n\n", "a", "b c", "\u00e9", "\x0b"]

    def content() -> object:
        kind = rng.random()
        if kind < 0.7:
            return "".join(rng.choice(pieces) for _ in range(rng.randint(0, 6)))
        if kind < 0.8:
            return [{"type": "text", "text": "  padded in a part  "}]
        return rng.choice([None, 5, {"text": "   "}, ["   "]])

    docs = []
    for _ in range(3000):
        messages: object = [{"role": rng.choice(["user", "assistant", "system"]),
                             "content": content()} for _ in range(rng.randint(0, 3))]
        odd = rng.random()
        if odd < 0.05:
            messages = {"a": {"content": content()}, "b": {"content": content()}}
        elif odd < 0.1:
            messages = [5, [1, 2], {"content": content()}]
        elif odd < 0.12:
            messages = None
        docs.append({"messages": messages} if messages is not None else {"prompt": "  x"})
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE records (id INTEGER PRIMARY KEY, current TEXT, canonical TEXT)")
    conn.executemany("INSERT INTO records VALUES (?, ?, ?)",
                     [(k, None, orjson.dumps(d).decode()) for k, d in enumerate(docs)])
    got = dict(conn.execute(f"SELECT r.id, ({_PADDED_SQL}) FROM records r"))
    want = {k: padded(d) for k, d in enumerate(docs)}
    assert got == want
    assert 300 < sum(want.values()) < 2700


def test_dedup_ranks_from_the_workers_equal_best_keeper_ranks(tmp_path: Path) -> None:
    """dedup's `best` rule takes each text's padding from the signing workers (BestRanks);
    the ranks it orders records by are best_keeper_ranks' (which reads the padding in SQL)."""
    import orjson

    from curator.workspace.dedup import BestRanks, padded

    rows = [chat(Q, RIGHT + tail) for tail in (" A.", "   B.", " C. ", "\n\n\nD.", " E.")]
    rows += [chat(Q + "  ", RIGHT), chat("\tQ", "x"), chat(Q, RIGHT + " ana@example.com  ")]
    db = _workspace(tmp_path, rows)
    with Workspace.open(db) as ws:
        texts = dict(ws.connection.execute(
            "SELECT id, coalesce(current, canonical) FROM records"))
        flags = {rid: padded(orjson.loads(text)) for rid, text in texts.items()}
        assert sum(flags.values()) == 6
        ranks, prefer = best_keeper_ranks(ws)
        best = BestRanks.read(ws)
        assert best(flags) == ranks and best.prefer == prefer
        # and dedup with it keeps the clean copy of the padded pair, processes or not
        for processes in (1, 2):
            assert dedup_workspace(ws, threshold=0.5, processes=processes,
                                   dry_run=True).clusters[0].keeper == 1


def test_best_ranks_read_every_eligible_record_and_only_the_accepted_as_preferred(
        tmp_path: Path) -> None:
    # read from the indexes (ids, accepted ids), not each record's row: the same records as
    # the eligible set, the same accepted ones
    from curator.workspace.dedup import BestRanks, Eligible

    db = _workspace(tmp_path, [chat(f"q{k}", f"a{k}") for k in range(12)])
    with Workspace.open(db) as ws:
        ws.set_status([2, 5, 9], "accepted")
        ws.set_status([3, 5 + 1], "rejected")
        ws.edit(9, chat("q9 edited", "a9"))
        best = BestRanks.read(ws)
        eligible = Eligible.read(ws).ids
        assert list(best.issues) == eligible == [i for i in range(1, 13) if i not in (3, 6)]
        assert best.prefer == {2, 5, 9}
        assert set(best.issues.values()) == {0}


def test_best_ranks_as_arrays_are_the_ranks_of_the_dicts() -> None:
    # dedup ranks a million records with numpy (BestRanks.rank_array); the numbers must be
    # those of BestRanks.__call__ (best_keeper_ranks'), ties, scores, infinities and preferred
    # records included, for any order of the ids
    import random

    import numpy as np
    import pytest

    from curator.workspace.dedup import BestRanks

    rng = random.Random(4)
    for trial in range(30):
        n = rng.randint(0, 300)
        rids = rng.sample(range(1, 10 * n + 2), n)
        if trial % 3:
            rids.sort()  # as read from the index
        issues = {r: rng.choice((0, 0, 0, 1, 2)) for r in rids}
        ifd = {r: rng.choice((0.5, 1.25, 3.0, -0.0, 0.0, float("inf")))
               for r in rng.sample(rids, n // 3)}
        ifd.update({10 * n + 5 + k: 1.0 for k in range(3)})  # scored records not eligible
        prefer = set(rng.sample(rids, n // 5)) | {10 * n + 9}
        best = BestRanks(issues, ifd, prefer)
        ids = list(rids)
        rng.shuffle(ids)
        padding = [rng.choice((0, 0, 1)) for _ in ids]
        for first in (False, True):
            want = best(dict(zip(ids, padding, strict=True)), prefer_first=first)
            got = best.rank_array(np.array(ids, dtype=np.int64),
                                  np.array(padding, dtype=np.int64), prefer_first=first)
            assert got.tolist() == [want[i] for i in ids]
    best = BestRanks({1: 0, 2: 1}, {2: float("nan")}, set())  # NaN: the dicts' own order
    got = best.rank_array(np.array([2, 1]), np.array([0, 0]))
    want = best({1: 0, 2: 0})
    assert got.tolist() == [want[2], want[1]]
    with pytest.raises(KeyError):
        best.rank_array(np.array([3]), np.array([0]))
