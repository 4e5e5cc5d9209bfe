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
from typing import Any

import click
import pytest
from click.testing import CliRunner
from probe_helpers import probe_imports

import curator
from curator.cli import cli, load_all_commands

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("textual", "torch", "transformers", "peft", "bitsandbytes", "accelerate", "trl")

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
    # through click's own listing, which imports the command modules the group loads lazily
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
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
    assert result.output.startswith(f"Usage: cli {' '.join(command)} "), result.output[:200]
    assert "Example" in result.output, f"`curator {' '.join(command)} --help` shows no example"


# Modules a command that only reads or edits the workspace must not import (issue 15: such a
# command answers in under 0.3 s; numpy alone costs 0.1 s, numba 0.3 s, the token counter 1 s).
NOT_FOR_WORKSPACE = ("numpy", "numba", "pandas", "pyarrow", "datasets", "pydantic", "tiktoken", "bpe_openai",
                     "rich", "textual", "torch", "transformers", "jinja2", "curator.validate", "curator.dedup",
                     "curator.formats", "curator.export", "curator.workspace.importer")

def _light_probe(args: list[str], cwd: Path) -> dict[str, Any]:
    return probe_imports(args, NOT_FOR_WORKSPACE, cwd)


def test_commands_that_do_not_compute_import_nothing_heavy(tmp_path: Path) -> None:
    # A fresh interpreter per command, as a user's shell runs it.
    rows = [{"messages": [{"role": "user", "content": f"question {i}?"},
                          {"role": "assistant", "content": f"answer {i}."}]} for i in range(3)]
    (tmp_path / "d.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    ws = str(tmp_path / "w.db")
    imported = CliRunner().invoke(cli, ["import", str(tmp_path / "d.jsonl"), "-w", ws])
    assert imported.exit_code == 0, imported.output
    for args in (["--version"], ["ls", "-w", ws], ["show", "1", "-w", ws], ["log", "-w", ws],
                 ["accept", "1", "-w", ws], ["reject", "2", "-w", ws, "--reason", "dup"], ["reset", "2", "-w", ws],
                 ["labels", "-w", ws, "--add", "good"], ["label", "1", "-w", ws, "--add", "good"],
                 ["note", "1", "-w", ws, "ok"],
                 ["undo", "-w", ws], ["redo", "-w", ws], ["ls", "--help"]):
        result = _light_probe(args, tmp_path)
        assert result["exit_code"] == 0, (args, result)
        assert result["loaded"] == [], (args, result["loaded"])


def test_the_probe_would_see_a_heavy_command(tmp_path: Path) -> None:
    # validate needs the counter and numpy: the probe above must be able to see them
    sample = tmp_path / "one.jsonl"
    sample.write_text(json.dumps({"messages": [{"role": "user", "content": "hi"},
                                               {"role": "assistant", "content": "hello"}]}) + "\n")
    result = _light_probe(["validate", str(sample), "--workers", "1"], tmp_path)
    assert result["exit_code"] == 1
    assert "numpy" in result["loaded"] and "bpe_openai" not in result["loaded"]


def test_the_lazy_command_table_names_each_command_where_it_is_defined() -> None:
    # `curator NAME` imports only _COMMAND_MODULES[NAME]: a command missing from the table would
    # still be found (a miss loads every module), but slowly; one in the wrong module, not at all.
    from curator.cli import _COMMAND_MODULES

    load_all_commands()
    assert sorted(cli.commands) == sorted(_COMMAND_MODULES)
    for name, command in cli.commands.items():
        assert command.callback is not None
        assert command.callback.__module__ == f"curator.cli.{_COMMAND_MODULES[name]}", name


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
