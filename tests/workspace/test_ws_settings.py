"""curator.workspace.settings: the one-target rule, the settings read-only commands use, and the
split names (issue 14: each rule in one place)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from store_helpers import chat, write_jsonl

from curator.workspace import Workspace
from curator.workspace.export import export_workspace
from curator.workspace.importer import import_files
from curator.workspace.prepare import Preparer
from curator.workspace.report import gather_facts
from curator.workspace.settings import (
    SettingsConflict,
    SplitNames,
    resolve,
    settings_for,
    settings_meta,
    split_names,
    split_params,
)


@pytest.fixture
def ws(tmp_path: Path) -> Any:
    src = write_jsonl(tmp_path / "data.jsonl", [chat(f"question {i}?", f"answer {i}")
                                                 for i in range(10)])
    w = Workspace.open(tmp_path / "w.db", create=True)
    import_files(w, [src], prepare=Preparer("azure"), meta=settings_meta("azure", None, 900))
    yield w
    w.close()


def test_resolve_keeps_the_workspaces_settings_and_refuses_others(ws: Workspace) -> None:
    got = resolve(ws)
    assert (got.target, got.model, got.max_tokens, got.limit) == ("azure", None, 900, 900)
    assert resolve(ws, target="azure", max_tokens=900) == got
    with pytest.raises(SettingsConflict, match=r"importing with --target trl would judge records "
                                               r"by two rules\. Import without --target"):
        resolve(ws, target="trl")
    with pytest.raises(SettingsConflict, match=r"--target trl would judge its records by two "
                                               r"rules\. Open it without --target"):
        resolve(ws, target="trl", purpose="open")
    with pytest.raises(SettingsConflict, match="--model gpt-4o would mix two tokenizers"):
        resolve(ws, model="gpt-4o")
    with pytest.raises(SettingsConflict, match="--max-tokens 100 would mix two limits"):
        resolve(ws, max_tokens=100)


def test_a_new_workspace_takes_the_options(tmp_path: Path) -> None:
    with Workspace.open(tmp_path / "new.db", create=True) as w:
        got = resolve(w, target="trl", max_tokens=64)
        assert (got.target, got.model, got.limit) == ("trl", None, 64)
        assert resolve(w).target == "openai"


def test_read_only_commands_may_name_another_target(ws: Workspace) -> None:
    assert settings_for(ws).target == "azure"
    other = settings_for(ws, target="trl", max_tokens=50)
    assert (other.target, other.limit, other.stored.target) == ("trl", 50, "azure")


def test_an_unknown_model_has_no_limit_unless_one_is_required(tmp_path: Path) -> None:
    with Workspace.open(tmp_path / "m.db", create=True) as w:
        w.set_meta("workspace.target", '"openai"')
        w.set_meta("workspace.model", '"no-such-model-anywhere"')
        got = resolve(w)
        assert got.limit is None
        with pytest.raises(ValueError):
            got.require_limit()


def test_split_names_map_both_ways() -> None:
    names = SplitNames.from_params({"names": ["fit", "dev", "exam"], "seed": 1})
    assert names.to_canonical("dev") == "validation" and names.to_workspace("holdout") == "exam"
    assert names.to_canonical("other") == "other"
    assert names.by_canonical() == {"train": "fit", "validation": "dev", "holdout": "exam"}
    for bad in (None, "not json", {"names": ["a", "b"]}, {"names": [1, 2, 3]}):
        assert SplitNames.from_params(bad) == SplitNames()


def _legacy_split(ws: Workspace) -> None:
    """Splits as an older curator left them: the parameters only under meta `split_params`."""
    ids = sorted(ws.select_ids([]))
    names = ["fit"] * 6 + ["dev"] * 2 + ["exam"] * 2
    ws.set_splits({i: names[k] for k, i in enumerate(ids)})
    ws.set_meta("split_params", json.dumps({"names": ["fit", "dev", "exam"], "seed": 3}))
    assert ws.meta("split.params") is None


def test_a_workspace_with_only_the_legacy_split_params_exports_with_its_names(
        ws: Workspace, tmp_path: Path) -> None:
    _legacy_split(ws)
    assert split_params(ws) == {"names": ["fit", "dev", "exam"], "seed": 3}
    assert split_names(ws).names == ("fit", "dev", "exam")
    res = export_workspace(ws, tmp_path / "out")
    assert res.counts == {"train": 6, "validation": 2, "holdout": 2}
    assert res.manifest["parameters"]["split_names"] == {"train": "fit", "validation": "dev",
                                                         "holdout": "exam"}
    assert res.manifest["parameters"]["seed"] == 3
    assert gather_facts(ws).split_counts == res.counts
