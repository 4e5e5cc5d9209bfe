"""The `curator` command. Thin: parse, call the core, print. Each command lives in its own module.

A command's module is imported only when that command runs (`_COMMAND_MODULES`), so
`curator ls` or `curator --version` does not pay for numpy, numba, pydantic or the token
counter, which other commands need. `curator --help` and a mistyped command name import them all.
Heavy front ends (the TUI, the trainer) are imported inside their commands on top of that.
"""

from __future__ import annotations

import gc
import importlib
import os
import sys

import click

from curator import __version__
from curator.cli.output import SafeGroup

#: command name -> the module under curator.cli that defines it (registered on import)
_COMMAND_MODULES: dict[str, str] = {
    "validate": "validate", "convert": "convert", "stats": "stats", "export": "export",
    "import": "pipeline", "dedup": "pipeline", "split": "pipeline", "report": "report",
    "review": "review", "train": "train", "compare": "compare", "score": "score",
    "signals": "signals", "decontaminate": "decontaminate",
    "swap": "pairs",
    "conflicts": "conflicts",
    "coverage": "coverage",
    **dict.fromkeys(("accept", "reject", "reset", "label", "labels", "note", "undo", "redo", "log", "show",
                     "ls"), "workspace"),
}


def load_all_commands() -> None:
    """Import every command module (for the help listing and for tests that walk all commands)."""
    for module in sorted(set(_COMMAND_MODULES.values())):
        importlib.import_module(f"curator.cli.{module}")


class _LazyGroup(SafeGroup):
    """A group whose commands are imported on first use; the listing imports them all."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        load_all_commands()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            module = _COMMAND_MODULES.get(cmd_name)
            if module is not None:
                importlib.import_module(f"curator.cli.{module}")
            else:  # unknown here: perhaps a module registers it without an entry above
                load_all_commands()
        return super().get_command(ctx, cmd_name)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="curator")
def cli() -> None:
    """Curate fine-tuning data: validate, convert, dedup, review, split, export, smoke-train.

    Example: curator validate data.jsonl --target openai
    """


def main() -> None:
    try:
        cli()
    except BrokenPipeError:
        # The reader of our output went away (`curator ls | head`): not an error worth a
        # traceback. Point stdout at devnull so the interpreter's final flush stays quiet.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(141)
    finally:
        # The command is over: the interpreter's collections at exit would walk every object
        # left (numba's registries alone, once a compiled kernel ran: 0.15-0.2 CPU s of a
        # 2,000-record `curator dedup`, more on a busy machine) to free what the process is
        # about to give back whole. Frozen objects are skipped; objects are still freed as
        # the modules go, atexit handlers and weakref finalizers still run.
        gc.freeze()
