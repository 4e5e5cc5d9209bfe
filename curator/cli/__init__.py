"""The `curator` command. Thin: parse, call the core, print. Each command lives in its own module.

Heavy front ends (the TUI, the trainer) are imported inside their commands so that
`curator validate` starts fast.
"""

from __future__ import annotations

import os
import sys

import click

from curator import __version__
from curator.cli.output import SafeGroup


@click.group(cls=SafeGroup, context_settings={"help_option_names": ["-h", "--help"]})
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


# Command registration: one line per command module.
from curator.cli import convert as _convert  # noqa: E402,F401
from curator.cli import export as _export  # noqa: E402,F401
from curator.cli import pipeline as _pipeline  # noqa: E402,F401
from curator.cli import report as _report  # noqa: E402,F401
from curator.cli import review as _review  # noqa: E402,F401
from curator.cli import stats as _stats  # noqa: E402,F401
from curator.cli import train as _train  # noqa: E402,F401
from curator.cli import validate as _validate  # noqa: E402,F401
from curator.cli import workspace as _workspace  # noqa: E402,F401
