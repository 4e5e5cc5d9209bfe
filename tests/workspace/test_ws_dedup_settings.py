"""The dedup settings a run used reach meta unchanged, and a split reuses them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from store_helpers import chat, imported_workspace

from curator.workspace import Workspace, WorkspaceError
from curator.workspace.dedup import dedup_workspace
from curator.workspace.split import split_workspace


def _workspace(tmp_path: Path) -> Path:
    rows: list[Any] = [chat(f"question {i} about topic {i * 7}", f"answer {i} " * 12)
                       for i in range(30)]
    rows.append(rows[2])
    return imported_workspace(tmp_path, rows)


def test_a_runs_settings_reach_meta_and_the_split_byte_for_byte(tmp_path: Path) -> None:
    db = _workspace(tmp_path)
    with Workspace.open(db) as ws:
        dedup_workspace(ws, threshold=0.9, num_perm=64, shingling="word5", include_system=True,
                        processes=1)
        stored = json.loads(ws.meta("dedup.params") or "{}")
        assert {k: stored[k] for k in ("threshold", "num_perm", "shingling", "include_system")} == {
            "threshold": 0.9, "num_perm": 64, "shingling": "word5", "include_system": True}
        outcome = split_workspace(ws, seed=1, processes=1)
        assert outcome.params["dedup_pairs_reused"]  # same settings: the same cache key
        assert orjson.dumps(outcome.params["dedup"]) == (
            b'{"threshold":0.9,"num_perm":64,"shingling":"word5","include_system":true}')
        split_meta = json.loads(ws.meta("split.params") or "{}")
        assert split_meta["dedup"] == outcome.params["dedup"]


def test_a_split_without_a_dedup_run_uses_the_defaults(tmp_path: Path) -> None:
    db = _workspace(tmp_path)
    with Workspace.open(db) as ws:
        outcome = split_workspace(ws, seed=1, processes=1)
    assert outcome.params["dedup"] == {"threshold": 0.8, "num_perm": 128, "shingling": "char5",
                                       "include_system": False}


@pytest.mark.parametrize(("option", "message"), [
    ({"shingling": "char3"}, "unknown shingling 'char3'; choose char5, word5"),
    ({"threshold": 1.5}, "threshold 1.5 must be above 0 and at most 1"),
    ({"num_perm": 100}, "num_perm must be a power of two, not 100"),
])
def test_bad_settings_are_refused_before_anything_runs(tmp_path: Path, option: dict[str, Any],
                                                       message: str) -> None:
    db = _workspace(tmp_path)
    with Workspace.open(db) as ws:
        with pytest.raises(WorkspaceError) as err:
            dedup_workspace(ws, processes=1, **option)
        assert str(err.value) == message
        assert ws.meta("dedup.params") is None


def test_a_pair_cache_from_the_old_text_rule_is_found_again(tmp_path: Path) -> None:
    # Pairs cached before multi-part content was joined with nothing (dedup/normalize.py
    # TEXT_VERSION) were keyed by the settings alone: such a cache must not be reused.
    from curator.workspace.dedup import content_key

    db = _workspace(tmp_path)
    with Workspace.open(db) as ws:
        old_key = content_key(ws, {"threshold": 0.8, "num_perm": 128, "shingling": "char5",
                                   "include_system": False})
        ws.save_dedup_pairs(old_key, [(1, 2, 1.0, True)])  # a pair only the old rule held
        outcome = split_workspace(ws, seed=1, processes=1)
        assert not outcome.params["dedup_pairs_reused"]
        assert (1, 2, 1.0, True) not in ws.dedup_pairs()
        assert (3, 31, 1.0, True) in ws.dedup_pairs()  # rows[2] and its copy, found afresh
        assert split_workspace(ws, seed=1, processes=1).params["dedup_pairs_reused"]
