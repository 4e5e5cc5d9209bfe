"""Workspace commands (import lives in cli/pipeline.py): accept, reject, label, labels, note, undo, redo, log, show, ls.

Exit codes: 0 done, 1 done but with problems (rows rejected on import, an edit refused),
2 usage or I/O error (no workspace, bad filter, unknown id, busy workspace).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click
import orjson

from curator.cli import cli
from curator.store import FILTER_HELP, Change, JournalEntry, Workspace, WorkspaceError

F = TypeVar("F", bound=Callable[..., Any])


def workspace_option(f: F) -> F:
    return click.option(
        "-w", "--workspace", "workspace", envvar="CURATOR_WORKSPACE", required=True,
        type=click.Path(dir_okay=False, path_type=Path),
        help="Workspace file (or env CURATOR_WORKSPACE).",
    )(f)


def where_option(f: F) -> F:
    return click.option(
        "--where", "where", multiple=True, metavar="FILTER",
        help="Filter such as status=pending or issue=chat.empty_content; repeat to AND them.",
    )(f)


def _fail(message: str, code: int = 2) -> None:
    click.echo(f"error: {message}", err=True)
    raise click.exceptions.Exit(code)


def handle_errors(f: F) -> F:
    """Workspace errors become one line on stderr and exit code 2, never a traceback."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return f(*args, **kwargs)
        except WorkspaceError as exc:
            _fail(str(exc))
        except BrokenPipeError:
            raise  # the reader went away (`| head`); main() exits quietly
        except OSError as exc:
            _fail(f"{exc.filename or ''}: {exc.strerror or exc}")
        return None

    return wrapper  # type: ignore[return-value]


def parse_ids(values: Sequence[str]) -> Iterator[int]:
    """Ids as `12`, `3,4,5` or `10-20` (inclusive)."""
    for value in values:
        for part in value.split(","):
            part = part.strip()
            if not part:
                continue
            lo, sep, hi = part.partition("-")
            try:
                if sep:
                    yield from range(int(lo), int(hi) + 1)
                else:
                    yield int(part)
            except ValueError:
                raise click.BadParameter(
                    f"{part!r} is not an id (use 12, 3,4,5 or 10-20)", param_hint="IDS"
                ) from None


def _selection(ids: Sequence[str], where: Sequence[str]) -> tuple[list[int] | None, list[str] | None]:
    if not ids and not where:
        raise click.UsageError("give record ids, --where filters, or both")
    return (list(parse_ids(ids)) if ids else None), (list(where) if where else None)


def _report_change(change: Change) -> None:
    if change.entry_id is None:
        click.echo(f"nothing changed ({change.selected} records selected)")
    else:
        click.echo(f"{change.summary}  [journal #{change.entry_id}]")


def _status_command(name: str, status: str, verb: str) -> None:
    help_text = (
        f"{verb} records by id (12, 3,4,5, 10-20) and/or by filter.\n\n"
        f"With both ids and filters, only the ids that match the filters change.\n\n"
        f"Example: curator {name} --where status=pending --where issue=none -w work.db"
    )

    @cli.command(name, help=help_text, epilog="\b\n" + FILTER_HELP)
    @click.argument("ids", nargs=-1)
    @workspace_option
    @where_option
    @click.option("--reason", help="Why; kept with the record and in the journal.")
    @handle_errors
    def command(ids: tuple[str, ...], workspace: Path, where: tuple[str, ...],
                reason: str | None) -> None:
        sel_ids, sel_where = _selection(ids, where)
        with Workspace.open(workspace) as ws:
            _report_change(ws.set_status(sel_ids, status, reason, where=sel_where))


_status_command("accept", "accepted", "Accept")
_status_command("reject", "rejected", "Reject")
_status_command("reset", "pending", "Set back to pending")


@cli.command(epilog="\b\n" + FILTER_HELP)
@click.argument("ids", nargs=-1)
@workspace_option
@where_option
@click.option("--add", "add", multiple=True, metavar="LABEL", help="Label to put on.")
@click.option("--remove", "remove", multiple=True, metavar="LABEL", help="Label to take off.")
@handle_errors
def label(ids: tuple[str, ...], workspace: Path, where: tuple[str, ...],
          add: tuple[str, ...], remove: tuple[str, ...]) -> None:
    """Put labels on records or take them off, by id and/or filter.

    Labels must be in the workspace's label set (see `curator labels`).

    Example: curator label 4 7-9 --add refund --remove billing -w work.db
    """
    if not add and not remove:
        raise click.UsageError("give --add LABEL and/or --remove LABEL")
    sel_ids, sel_where = _selection(ids, where)
    with Workspace.open(workspace) as ws:
        if add:
            _report_change(ws.add_labels(sel_ids, add, where=sel_where))
        if remove:
            _report_change(ws.remove_labels(sel_ids, remove, where=sel_where))


@cli.command()
@workspace_option
@click.option("--add", "add", multiple=True, metavar="NAME", help="Add a name to the set.")
@click.option("--remove", "remove", multiple=True, metavar="NAME",
              help="Remove a name from the set and from every record (undoable).")
@click.option("--json", "as_json", is_flag=True, help="Print the set as JSON.")
@handle_errors
def labels(workspace: Path, add: tuple[str, ...], remove: tuple[str, ...], as_json: bool) -> None:
    """Show or change the workspace's label set, with how many records carry each label.

    Example: curator labels --add refund --add billing -w work.db
    """
    with Workspace.open(workspace) as ws:
        if add:
            _report_change(ws.add_label_names(add))
        if remove:
            _report_change(ws.remove_label_names(remove))
        if as_json:
            click.echo(orjson.dumps([{"name": n, "records": c} for n, c in ws.labels()]).decode())
        elif not add and not remove:
            for name, n in ws.labels():
                click.echo(f"{name}\t{n}")


@cli.command()
@click.argument("record_id", type=int)
@click.argument("text")
@workspace_option
@handle_errors
def note(record_id: int, text: str, workspace: Path) -> None:
    """Set a record's note ("" clears it).

    Example: curator note 12 "answer cites an outdated policy" -w work.db
    """
    with Workspace.open(workspace) as ws:
        _report_change(ws.set_note(record_id, text))


def _print_entries(entries: list[JournalEntry], verb: str) -> None:
    if not entries:
        click.echo(f"nothing to {verb}")
    for e in entries:
        click.echo(f"{verb}ne #{e.id}: {e.summary}" if verb == "undo"
                   else f"redone #{e.id}: {e.summary}")


@cli.command()
@workspace_option
@click.option("-n", "n", default=1, show_default=True, type=click.IntRange(min=1),
              help="How many actions.")
@handle_errors
def undo(workspace: Path, n: int) -> None:
    """Undo the last N actions (imports are not undone). Works across restarts.

    A new action after an undo discards what could have been redone.

    Example: curator undo -n 2 -w work.db
    """
    with Workspace.open(workspace) as ws:
        _print_entries(ws.undo(n), "undo")


@cli.command()
@workspace_option
@click.option("-n", "n", default=1, show_default=True, type=click.IntRange(min=1),
              help="How many actions.")
@handle_errors
def redo(workspace: Path, n: int) -> None:
    """Redo the last N undone actions.

    Example: curator redo -w work.db
    """
    with Workspace.open(workspace) as ws:
        _print_entries(ws.redo(n), "redo")


@cli.command()
@workspace_option
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@handle_errors
def log(workspace: Path, limit: int, as_json: bool) -> None:
    """Show the journal, newest first: who did what, when, and whether it is undone.

    Example: curator log --limit 5 -w work.db
    """
    with Workspace.open(workspace) as ws:
        for e in ws.log(limit):
            if as_json:
                click.echo(orjson.dumps(e.to_dict()).decode())
            else:
                state = "" if e.state == "done" else f" ({e.state})"
                click.echo(f"#{e.id}  {e.ts}  {e.actor}  {e.summary}{state}")


def message_lines(m: dict[str, Any]) -> list[str]:
    """One message as `show` prints it: `[role] content`, then each tool call as
    `  tool call NAME(ARGUMENTS)  id ID`; content that is not a string is printed as JSON, and
    a message with neither content nor tool calls says so (never `None`)."""
    content = m.get("content")
    if content is None or isinstance(content, str):
        text = content or ""
    else:
        text = orjson.dumps(content).decode()
    head = f"[{m.get('role')}]"
    if m.get("tool_call_id"):
        head += f" (result of {m['tool_call_id']})"
    if m.get("weight") == 0 and not isinstance(m.get("weight"), bool):
        head += " (weight 0: not trained)"
    listed = m.get("tool_calls")
    calls: list[Any] = listed if isinstance(listed, list) else []
    lines = [f"{head} {text}" if text else head + ("" if calls else " (no content)")]
    for call in calls:
        fn = call.get("function") if isinstance(call, dict) else None
        if not isinstance(fn, dict):
            lines.append(f"  tool call {orjson.dumps(call).decode()}")
            continue
        args = fn.get("arguments", "")
        args = args if isinstance(args, str) else orjson.dumps(args).decode()
        ident = f"  id {call['id']}" if isinstance(call, dict) and call.get("id") else ""
        lines.append(f"  tool call {fn.get('name', '?')}({args}){ident}")
    return lines


@cli.command()
@click.argument("record_id", type=int)
@workspace_option
@click.option("--json", "as_json", is_flag=True, help="The full record as JSON.")
@handle_errors
def show(record_id: int, workspace: Path, as_json: bool) -> None:
    """Show one record: where it came from, its decision, labels, issues and messages.

    Example: curator show 12 -w work.db
    """
    with Workspace.open(workspace) as ws:
        r = ws.get(record_id)
    if as_json:
        click.echo(orjson.dumps(r.to_dict(), option=orjson.OPT_INDENT_2).decode())
        return
    click.echo(f"record {r.id}  {r.source_file}:{r.source_line}  format {r.format or '?'}")
    reason = f" ({r.reason})" if r.reason else ""
    click.echo(f"status {r.status}{reason}  split {r.split or '-'}  tokens "
               f"{r.tokens_total if r.tokens_total is not None else '-'}"
               f"  edited {'yes' if r.current is not None else 'no'}")
    if r.cluster_id is not None:
        dup = f", duplicate of {r.dup_of} ({r.similarity:.3f})" if r.dup_of else ", keeper"
        click.echo(f"cluster {r.cluster_id}{dup}")
    if r.labels:
        click.echo("labels " + ", ".join(r.labels))
    if r.note:
        click.echo(f"note {r.note}")
    for i in r.issues:
        where = f" message {i.message_index}" if i.message_index is not None else ""
        click.echo(f"issue {i.severity} {i.code}{where}: {i.message}")
    example = r.example
    if example is None:
        click.echo(f"raw: {r.raw}")
    elif isinstance(example.get("messages"), list):
        for m in example["messages"]:
            if isinstance(m, dict):
                for line in message_lines(m):
                    click.echo(line)
    else:
        click.echo(orjson.dumps(example, option=orjson.OPT_INDENT_2).decode())


@cli.command("ls", epilog="\b\n" + FILTER_HELP)
@workspace_option
@where_option
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@handle_errors
def ls(workspace: Path, where: tuple[str, ...], limit: int, as_json: bool) -> None:
    """List records (id, status, split, labels, issues, a preview) and how many match.

    Example: curator ls --where issue=schema.invalid --limit 20 -w work.db
    """
    with Workspace.open(workspace) as ws:
        total = ws.count(where)
        page = ws.page(where, limit=limit)
    for r in page.rows:
        if as_json:
            click.echo(orjson.dumps({
                "id": r.id, "status": r.status, "reason": r.reason, "split": r.split,
                "cluster_id": r.cluster_id, "dup_of": r.dup_of, "tokens_total": r.tokens_total,
                "edited": r.edited, "labels": list(r.labels), "issues": list(r.issue_codes),
                "preview": r.preview}).decode())
        else:
            extra = " ".join(filter(None, [r.split or "", ",".join(r.labels),
                                           ",".join(r.issue_codes)]))
            click.echo(f"{r.id}\t{r.status}\t{extra}\t{r.preview[:80]}")
    if not as_json:
        click.echo(f"{len(page.rows)} of {total} matching records shown", err=True)
