"""`curator swap`: exchange the chosen and rejected answers of preference pairs (the review app's
`w` key), each pair checked again and journaled as its own undoable entry.

Exit codes: 0 every record swapped (or already alike on both sides), 1 some record is not a
preference pair or is missing (the others are swapped), 2 usage or I/O error.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from curator.cli import cli
from curator.cli.output import echo, one_line
from curator.cli.workspace import handle_errors, parse_ids, workspace_option
from curator.workspace import UnknownRecords, Workspace


@cli.command()
@click.argument("ids", nargs=-1, required=True)
@workspace_option
@handle_errors
def swap(ids: tuple[str, ...], workspace: Path) -> None:
    """Swap chosen and rejected of the preference pairs IDS (12, 3,4,5 or 10-20).

    Each pair is checked again as an import checks it (pref.refusal_chosen may appear or go)
    and its per-side token counts follow the sides; each swap is one journal entry
    (curator undo takes it back). A record that is not a pair is left as it is.

    Example: curator swap 12 40-42 -w work.db
    """
    from curator.workspace.pair_edit import NotAPair, default_prepare

    problems = 0
    with Workspace.open(workspace) as ws:
        ranges = parse_ids(ids).check(ws)
        prepare = default_prepare(ws)
        for rid in ranges:
            try:
                change = ws.swap_sides(rid, prepare)
            except (NotAPair, UnknownRecords) as exc:
                problems += 1
                echo(f"record {rid}: {one_line(str(exc))}")
                continue
            if change.entry_id is None:
                echo(one_line(change.summary))
            else:
                echo(f"{one_line(change.summary)}  [journal #{change.entry_id}]")
    if problems:
        sys.exit(1)
