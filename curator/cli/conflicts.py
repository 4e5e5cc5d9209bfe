"""`curator conflicts`: list the conflict clusters `curator signals` found and resolve them
(keep one record, or turn two answers into a preference pair); chat records that ask what a
preference pair asks are listed too (shown, never merged). docs/quality.md, docs/preference.md.

One command with an action word rather than a group, so that its options are the command's own:

    curator conflicts -w WS [--json]                list
    curator conflicts -w WS keep ID                 accept ID, reject the rest of its cluster
    curator conflicts -w WS prefer ID --over ID     a new preference pair, both records rejected

Exit codes: listing: 0 nothing to resolve, 1 open clusters or chat records that ask a pair's
prompt; keep / prefer: 0 done, 1 the pair does not validate (nothing changed); 2 usage or I/O
error (an unknown id, a record in no cluster, two records that ask different things).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import orjson

from curator.cli import cli
from curator.cli.bounds import RECORD_ID, SHOWN
from curator.cli.output import echo, fail, one_line
from curator.cli.workspace import handle_errors, workspace_option
from curator.workspace import Workspace

#: characters of a prompt or answer in the human listing (--json has them whole)
PREVIEW = 100


def _short(text: str) -> str:
    flat = one_line(text)
    return flat if len(flat) <= PREVIEW else flat[:PREVIEW - 1] + "…"


def _emit(result: dict[str, Any]) -> None:
    click.echo(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())


@cli.command()
@click.argument("action", required=False, default="list",
                type=click.Choice(["list", "keep", "prefer"]))
@click.argument("record", required=False, type=RECORD_ID)
@workspace_option
@click.option("--over", "over", type=RECORD_ID, metavar="ID",
              help="prefer: the record whose answer is the rejected side of the pair.")
@click.option("--show", type=SHOWN, default=20, show_default=True,
              help="Clusters to print (0: all); --json lists all.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@handle_errors
def conflicts(action: str, record: int | None, workspace: Path, over: int | None, show: int,
              as_json: bool) -> None:
    """List conflict clusters and resolve them: keep one, or make a preference pair.

    A cluster is the records `curator signals` labelled conflict that ask the same thing
    (near-identical prompts) and answer it differently; its id is its lowest record id. It is
    open while two or more of its records are not rejected. `keep ID` accepts ID and rejects
    the cluster's other records ("conflict: kept #ID"). `prefer ID --over OTHER` makes a new
    preference record (chosen: ID's answer, rejected: OTHER's), checked and counted as an
    imported pair, and rejects both chat records. Each is one journal entry: `curator undo`
    takes it back. Chat records whose prompt is a preference pair's prompt are listed too,
    never merged.

    Example: curator conflicts -w work.db prefer 12 --over 14
    """
    from curator.workspace.conflicts import PreferRefused, clusters, keep, pair_conflicts, prefer

    if action == "list" and (record is not None or over is not None):
        fail("`conflicts` lists clusters; to resolve one give `keep ID` or `prefer ID --over ID`")
    if action in ("keep", "prefer") and record is None:
        fail(f"`conflicts {action}` needs a record id, e.g. `curator conflicts -w WS {action} 12"
             + (" --over 14`" if action == "prefer" else "`"))
    if action == "keep" and over is not None:
        fail("--over goes with prefer; `keep ID` keeps one record and rejects the others")
    if action == "prefer" and over is None:
        fail("`conflicts prefer ID` needs --over OTHER: the record whose answer is rejected")
    with Workspace.open(workspace) as ws:
        if action == "keep":
            assert record is not None
            change = keep(ws, record)
            if as_json:
                _emit({"action": "keep", "record": record, "journal_entry": change.entry_id,
                       "changed": change.changed, "summary": change.summary})
            else:
                echo(f"{one_line(change.summary)}  [journal #{change.entry_id}]"
                     if change.entry_id is not None else "nothing changed")
            return
        if action == "prefer":
            assert record is not None and over is not None
            try:
                done = prefer(ws, record, over)
            except PreferRefused as exc:
                fail(f"{exc}; nothing changed", code=1)
            if as_json:
                _emit({"action": "prefer", "chosen": record, "rejected": over,
                       "preference_record": done.record, "reused": done.reused,
                       "journal_entry": done.change.entry_id, "changed": done.change.changed,
                       "summary": done.change.summary})
            else:
                echo(f"{one_line(done.change.summary)}  [journal #{done.change.entry_id}]"
                     if done.change.entry_id is not None else "nothing changed")
            return
        found = clusters(ws)
        against = pair_conflicts(ws)
    open_ = [c for c in found if c.open]
    if as_json:
        _emit({
            "clusters": [{"id": c.id, "status": c.status, "prompt": c.prompt,
                          "records": [{"id": m.id, "status": m.status, "reason": m.reason,
                                       "prompt": m.prompt, "answer": m.answer}
                                      for m in c.members]} for c in found],
            "open": len(open_),
            "resolved": len(found) - len(open_),
            "chat_vs_preference": [{"chat": p.chat, "preference": p.preference,
                                    "prompt": p.prompt, "answer": p.answer,
                                    "chosen": p.chosen, "rejected": p.rejected,
                                    "matches": p.matches} for p in against],
        })
    else:
        shown = found if show == 0 else found[:show]
        for c in shown:
            echo(f"cluster {c.id} ({c.status}, {len(c.members)} records): {_short(c.prompt)}")
            for m in c.members:
                why = f" ({one_line(m.reason)})" if m.reason else ""
                echo(f"  {m.id:>7} {m.status:<8} {_short(m.answer)}{why}")
        if len(shown) < len(found):
            echo(f"... {len(found) - len(shown)} more clusters (--show 0 lists all)")
        for p in against:
            side = {"chosen": "the pair's chosen answer", "rejected": "the pair's rejected answer",
                    "neither": "neither side of the pair"}[p.matches]
            echo(f"chat record {p.chat} asks what preference pair {p.preference} asks; its "
                 f"answer is {side}: {_short(p.answer)}")
        if not found:
            echo("no conflict clusters (`curator signals` labels conflicts first)")
        else:
            hint = (f"; resolve with `curator conflicts -w {one_line(str(workspace))} keep ID` "
                    f"or `prefer ID --over ID`") if open_ else ""
            echo(f"{len(found)} conflict cluster{'s' if len(found) != 1 else ''}: "
                 f"{len(open_)} open, {len(found) - len(open_)} resolved{hint}")
    if open_ or against:
        raise click.exceptions.Exit(1)
