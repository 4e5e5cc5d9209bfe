"""Dedup's settings in one object (curator/dedup/settings.py): defaults, validation, meta."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import orjson
import pytest

from curator.dedup.settings import SHINGLINGS, DedupSettings, Shingling

ROOT = Path(__file__).resolve().parents[2]


def test_to_dict_keeps_the_keys_and_order_written_to_meta() -> None:
    # These bytes are hashed into the pair cache's key and written into dedup.params and a
    # split's params["dedup"]: a change here would orphan every stored cache.
    assert orjson.dumps(DedupSettings().to_dict()) == (
        b'{"threshold":0.8,"num_perm":128,"shingling":"char5","include_system":false}')
    assert DedupSettings(0.9, 64, "word5", True).to_dict() == {
        "threshold": 0.9, "num_perm": 64, "shingling": "word5", "include_system": True}


def test_from_meta_takes_the_stored_settings_and_defaults_for_the_rest() -> None:
    assert DedupSettings.from_meta(None) == DedupSettings()
    stored = {"threshold": 0.7, "shingling": "word5", "bands": 9, "keeper": "earliest",
              "clusters": 3}  # a dedup.params summary carries more than the settings
    assert DedupSettings.from_meta(stored) == DedupSettings(threshold=0.7, shingling="word5")
    again = DedupSettings(0.9, 256, "char5", True)
    assert DedupSettings.from_meta(again.to_dict()) == again


@pytest.mark.parametrize(("settings", "message"), [
    (DedupSettings(shingling="char3"), "unknown shingling 'char3'; choose char5, word5"),
    (DedupSettings(threshold=0.0), "threshold 0.0 must be above 0 and at most 1"),
    (DedupSettings(threshold=1.5), "threshold 1.5 must be above 0 and at most 1"),
    (DedupSettings(num_perm=100), "num_perm must be a power of two, not 100"),
])
def test_validate_says_what_is_wrong(settings: DedupSettings, message: str) -> None:
    with pytest.raises(ValueError) as err:
        settings.validate()
    assert str(err.value) == message


def test_valid_settings_pass_and_name_their_shingles() -> None:
    assert DedupSettings().validate().shingles == Shingling("char", 5)
    assert DedupSettings(shingling="word5").shingles == Shingling("word", 5)
    assert set(SHINGLINGS) == {"char5", "word5"}


def test_the_cli_defaults_are_the_settings_defaults() -> None:
    from curator.cli import cli, load_all_commands

    load_all_commands()
    command = cli.commands["dedup"]
    params = {p.name: p for p in command.params}
    defaults = DedupSettings()
    assert params["threshold"].default == defaults.threshold
    assert params["num_perm"].default == defaults.num_perm
    assert params["shingling"].default == defaults.shingling
    assert params["include_system"].default is defaults.include_system
    choice = params["shingling"].type
    assert isinstance(choice, click.Choice) and list(choice.choices) == list(SHINGLINGS)


def test_the_settings_load_without_numba_or_numpy() -> None:
    # the CLI reads the defaults for `curator import/dedup/split --help`; the search's heavy
    # modules load only when it runs
    code = ("import json, sys, curator.dedup.settings, curator.cli.pipeline; "
            "print(json.dumps(sorted(m for m in ('numba', 'numpy', 'curator.dedup.near') "
            "if m in sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=ROOT, timeout=120)
    assert json.loads(out.stdout) == []
