"""One curator home: CURATOR_HOME (empty = unset) and tiktoken's cache under it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from curator import tokens
from curator.home import curator_home, tiktoken_cache_dir


@pytest.fixture
def fake_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    monkeypatch.delenv("TIKTOKEN_CACHE_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path / "user"


def test_an_empty_curator_home_means_the_default_for_tiktoken_too(fake_home: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # Before: tokens.py read CURATOR_HOME="" as a home in the working directory ("tiktoken/")
    # while the trainer read it as unset; both now use curator.home.
    monkeypatch.setenv("CURATOR_HOME", "")
    default = fake_home / ".cache" / "curator"
    assert curator_home() == default
    assert tiktoken_cache_dir() == default / "tiktoken"
    assert tokens._cache_dir() == default / "tiktoken"
    assert os.environ["TIKTOKEN_CACHE_DIR"] == str(default / "tiktoken")  # what tiktoken reads


def test_curator_home_and_tiktokens_own_variable(fake_home: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CURATOR_HOME")
    assert curator_home() == fake_home / ".cache" / "curator"
    monkeypatch.setenv("CURATOR_HOME", str(tmp_path / "home"))
    assert tokens._cache_dir() == tmp_path / "home" / "tiktoken"
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "tk"))
    assert tokens._cache_dir() == tmp_path / "tk"


def test_the_suite_runs_in_a_temporary_home_with_the_encodings_seeded() -> None:
    # tests/conftest.py: nothing in the suite reads or writes the developer's ~/.cache/curator.
    home = Path(os.environ["CURATOR_HOME"])
    assert home != Path.home() / ".cache" / "curator" and home.name == "curator-home"
    assert tiktoken_cache_dir() == home / "tiktoken"
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    for name in tokens.OPENAI_ENCODINGS:
        assert tokens._tiktoken_file(name).is_file()
    enc = tokens.get_encoding("o200k_base")
    assert enc.decode(enc.encode_ordinary("hello world")) == "hello world"
