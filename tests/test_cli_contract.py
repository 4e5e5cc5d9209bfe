"""The CLI's promises: the core stays free of the UI and the trainer, every command documents
itself, and `curator --version` names the installed version."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import curator
from curator.cli import cli

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("textual", "torch", "transformers", "peft", "bitsandbytes", "accelerate")

# Runs in a fresh interpreter, so modules imported by other tests cannot hide a heavy import.
_PROBE = """
import json, sys
from click.testing import CliRunner
import curator.cli
runner = CliRunner()
results = [runner.invoke(curator.cli.cli, args).exit_code for args in json.loads(sys.argv[1])]
heavy = sorted(m for m in sys.modules if m.split(".")[0] in json.loads(sys.argv[2]))
print(json.dumps({"exit_codes": results, "heavy": heavy}))
"""


def _probe(*invocations: list[str]) -> dict[str, list[object]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-c", _PROBE, json.dumps(list(invocations)), json.dumps(HEAVY)],
                         capture_output=True, text=True, cwd=ROOT, env=env, check=True, timeout=120)
    result: dict[str, list[object]] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def test_core_and_validate_import_neither_ui_nor_trainer(tmp_path: Path) -> None:
    sample = tmp_path / "one.jsonl"
    sample.write_text(json.dumps({"messages": [{"role": "user", "content": "hi"},
                                               {"role": "assistant", "content": "hello"}]}) + "\n")
    result = _probe(["validate", "--help"], ["validate", str(sample), "--workers", "1"],
                    ["convert", "--help"], ["stats", "--help"])
    # validate finds dataset.too_few_examples in a one-row file: exit 1 is a finished run
    assert result["exit_codes"] == [0, 1, 0, 0]
    assert result["heavy"] == []


def test_the_probe_would_see_a_heavy_import() -> None:
    # The check above is only worth something if importing a heavy module shows up in it.
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    code = ("import json, sys, curator.cli, textual; "
            "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'textual')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert "textual" in json.loads(out.stdout)


def _commands(group: click.Group, prefix: list[str]) -> Iterator[list[str]]:
    for name, command in sorted(group.commands.items()):
        yield [*prefix, name]
        if isinstance(command, click.Group):
            yield from _commands(command, [*prefix, name])


COMMANDS = list(_commands(cli, []))


def test_the_expected_commands_exist() -> None:
    names = {c[0] for c in COMMANDS}
    assert {"validate", "convert", "stats"} <= names


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_every_command_has_help_with_an_example(command: list[str]) -> None:
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert f"Usage: cli {' '.join(command)}" in result.output or "Usage:" in result.output
    assert "Example" in result.output, f"`curator {' '.join(command)} --help` shows no example"


def test_version_matches_the_package_metadata() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-m", "curator", "--version"], capture_output=True, text=True,
                         env=env, check=True)
    match = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.MULTILINE)
    assert match is not None
    declared = match.group(1)
    assert out.stdout.strip() == f"curator, version {declared}"
    assert curator.__version__ == declared


def test_unknown_option_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["validate", "--no-such-option", "x.jsonl"])
    assert result.exit_code == 2
