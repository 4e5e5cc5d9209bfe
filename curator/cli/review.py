"""`curator review`: the review app over a workspace (or over a file, imported beside it)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from curator.cli import cli
from curator.cli.output import echo
from curator.cli.workspace import _fail, handle_errors
from curator.tokens import TARGETS


def workspace_for(path: Path) -> Path:
    """Where `curator review FILE` keeps its workspace: beside the file, `<name>.curator.db`."""
    return path.with_name(path.name + ".curator.db")


def _is_workspace(path: Path) -> bool:
    if path.suffix == ".db" and not path.exists():
        return True
    from curator.workspace import is_sqlite_file

    return is_sqlite_file(path)  # asks SQLite: never open() a database file


def already_imported(ws_path: Path, source: Path) -> bool:
    """True when the workspace holds a complete import of exactly this file's bytes, so
    reopening a big file does not import it again; an unchanged file is not even read
    (`curator.workspace.importer.already_imported`)."""
    if not ws_path.is_file():
        return False
    from curator.workspace import Workspace
    from curator.workspace.importer import already_imported as holds

    with Workspace.open(ws_path) as ws:
        return holds(ws, source)


def _interactive() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


@cli.command()
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--target", type=click.Choice(TARGETS),
              help="Validate edits (and an import) for this target; default: the workspace's.")
@click.option("--keymap", "keymap_path", type=click.Path(path_type=Path, dir_okay=False),
              help="YAML file of binding id -> keys, e.g. 'accept: a,enter' (ids: press ?).")
@handle_errors
def review(source: Path, target: str | None, keymap_path: Path | None) -> None:
    """Review records in a terminal app: accept, reject, label, edit, dedup, split, export.

    SOURCE is a workspace (.db) or a data file; a data file is imported into a workspace
    beside it (FILE.curator.db) and opened, so one command takes you from a file to review.

    Example: curator review sample_data/chat_clean.jsonl
    """
    if not _interactive():
        _fail("curator review is interactive: run it in a terminal")
    from curator.tui.app import ReviewApp, binding_ids
    from curator.tui.keymap import KeymapError, load_keymap

    keymap = None
    if keymap_path is not None:
        try:
            keymap = load_keymap(keymap_path, binding_ids())
        except KeymapError as exc:
            _fail(str(exc))
    imports: list[Path] = []
    if _is_workspace(source):
        if not source.exists():
            _fail(f"no workspace at {source}; give a data file to import, or create one with: "
                  f"curator import FILE -w {source}")
        ws_path = source
    else:
        if not source.exists():
            _fail(f"{source}: no such file")
        ws_path = workspace_for(source)
        if not os.access(ws_path.parent, os.W_OK):
            ws_path = Path.cwd() / ws_path.name
        if already_imported(ws_path, source):
            echo(f"opening workspace {ws_path} ({source} is already in it)", err=True)
        else:
            imports = [source]
            echo(f"importing {source} into workspace {ws_path} (reused next time)",
                  err=True)
    # refuses a --target other than the workspace's (SettingsConflict, exit 2), as import does
    app = ReviewApp(ws_path, target=target, keymap=keymap, imports=imports)
    app.run()
    echo(f"every decision is saved in {ws_path}; reopen with: curator review {ws_path}",
          err=True)
