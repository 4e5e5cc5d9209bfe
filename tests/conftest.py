"""Fixtures shared by several test files."""

from __future__ import annotations

from pathlib import Path

import pytest
from tui_helpers import make_workspace


@pytest.fixture
def ws_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The review app's small sample workspace (tui_helpers.make_workspace) in a temporary
    folder that is also the working directory."""
    monkeypatch.chdir(tmp_path)
    return make_workspace(tmp_path)
