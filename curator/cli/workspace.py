"""Workspace commands (import lives in cli/pipeline.py): accept, reject, label, labels, note, undo, redo, log, show, ls.

Exit codes: 0 done, 1 done but with problems (rows rejected on import, an edit refused),
2 usage or I/O error (no workspace, bad filter, unknown id, busy workspace).
"""

from __future__ import annotations

import functools
import itertools
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click
import orjson

from curator.cli import cli
from curator.cli.bounds import COUNT, RECORD_ID
from curator.cli.output import echo, fail, one_line
from curator.workspace import (
    FILTER_HELP,
    INT64_MAX,
    Change,
    JournalEntry,
    Workspace,
    WorkspaceError,
)

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
        help="Filter such as status=pending or issue=chat.content_empty; repeat to AND them.",
    )(f)


_fail = fail  # the name other command modules import


def _refuse_not_utf8(kwargs: dict[str, Any]) -> None:
    """Text typed on the command line (a note, a label, a filter) with bytes that are not UTF-8
    reaches Python as lone surrogates, which neither SQLite nor the journal can store: refuse it
    up front (exit 2, nothing changed). File names are Paths and may hold any bytes."""
    for name, value in kwargs.items():
        values = value if isinstance(value, (tuple, list)) else (value,)
        for item in values:
            if isinstance(item, str):
                try:
                    item.encode()
                except UnicodeEncodeError:
                    _fail(f"{name.replace('_', '-')} {one_line(item)!s}: holds bytes that are "
                          f"not UTF-8; give it as UTF-8 text. Nothing was changed")


def handle_errors(f: F) -> F:
    """Workspace errors become one line on stderr and exit code 2, never a traceback."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _refuse_not_utf8(kwargs)
        try:
            return f(*args, **kwargs)
        except WorkspaceError as exc:
            _fail(str(exc))
        except sqlite3.DatabaseError as exc:
            # The store turns the errors it expects (read-only, full disk, not a database) into
            # WorkspaceErrors; anything else from SQLite mid-command (a page damaged after the
            # file was opened) is still one line, not a traceback.
            path = kwargs.get("workspace") or kwargs.get("source") or "FILE"
            _fail(f"the workspace could not be read or written (SQLite: {exc}); check it with "
                  f"sqlite3 {path} 'PRAGMA integrity_check' and restore it from a copy if "
                  f"it is damaged")
        except BrokenPipeError:
            raise  # the reader went away (`| head`); main() exits quietly
        except OSError as exc:
            _fail(f"{exc.filename or ''}: {exc.strerror or exc}")
        return None

    return wrapper  # type: ignore[return-value]


class IdRanges:
    """Record ids as given (`12`, `3,4,5`, `10-20` inclusive), kept as ranges.

    Iterating yields the ids one by one, afresh each time, so a range is never held in memory
    as a list (`1-999999999` is two numbers, not a billion)."""

    def __init__(self, ranges: Sequence[tuple[int, int]]) -> None:
        self.ranges = list(ranges)

    def __iter__(self) -> Iterator[int]:
        return itertools.chain.from_iterable(range(lo, hi + 1) for lo, hi in self.ranges)

    @property
    def highest(self) -> int:
        return max(hi for _, hi in self.ranges)

    def check(self, ws: Workspace) -> IdRanges:
        """Refuse at once ids beyond the workspace's last record (before any is expanded)."""
        rows = ws.page(order="-id", limit=1).rows
        last = rows[0].id if rows else 0
        if self.highest > last:
            have = f"its last record is {last}" if last else "it has no records"
            raise WorkspaceError(
                f"no record with id {self.highest} in this workspace ({have}); nothing changed")
        return self


def parse_ids(values: Sequence[str]) -> IdRanges:
    """Ids as `12`, `3,4,5` or `10-20` (inclusive); each between 1 and 2**63-1."""
    ranges: list[tuple[int, int]] = []
    for value in values:
        for part in value.split(","):
            part = part.strip()
            if not part:
                continue
            lo, sep, hi = part.partition("-")
            try:
                first, last = (int(lo), int(hi)) if sep else (int(part), int(part))
            except ValueError:
                raise click.BadParameter(
                    f"{part!r} is not an id (use 12, 3,4,5 or 10-20)", param_hint="IDS"
                ) from None
            if not 1 <= first <= last <= INT64_MAX:
                why = "ids start at 1" if first < 1 else (
                    f"{first} is above {last}" if first > last else "too large")
                raise click.BadParameter(f"{part!r}: {why} (use 12, 3,4,5 or 10-20)",
                                         param_hint="IDS")
            ranges.append((first, last))
    if not ranges:
        raise click.BadParameter("no id given (use 12, 3,4,5 or 10-20)", param_hint="IDS")
    return IdRanges(ranges)


def _selection(ids: Sequence[str], where: Sequence[str]) -> tuple[IdRanges | None, list[str] | None]:
    if not ids and not where:
        raise click.UsageError("give record ids, --where filters, or both")
    return (parse_ids(ids) if ids else None), (list(where) if where else None)


def _checked(ws: Workspace, ids: IdRanges | None) -> IdRanges | None:
    return ids.check(ws) if ids is not None else None


def check_where(ws: Workspace, where: Sequence[str] | None) -> None:
    """label=/split= names the workspace does not have are an error, not an empty match."""
    ws.check_filter_names(where)


def _report_change(change: Change) -> None:
    if change.entry_id is None:
        echo(f"nothing changed ({change.selected} records selected)")
    else:
        echo(f"{one_line(change.summary)}  [journal #{change.entry_id}]")


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
            check_where(ws, sel_where)
            _report_change(ws.set_status(_checked(ws, sel_ids), status, reason, where=sel_where))


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
        check_where(ws, sel_where)
        sel_ids = _checked(ws, sel_ids)
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
                echo(f"{one_line(name)}\t{n}")


@cli.command()
@click.argument("record_id", type=RECORD_ID)
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
        echo(f"nothing to {verb}")
    for e in entries:
        echo(f"{verb}ne #{e.id}: {one_line(e.summary)}" if verb == "undo"
             else f"redone #{e.id}: {one_line(e.summary)}")


@cli.command()
@workspace_option
@click.option("-n", "n", default=1, show_default=True, type=COUNT,
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
@click.option("-n", "n", default=1, show_default=True, type=COUNT,
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
@click.option("--limit", default=20, show_default=True, type=COUNT)
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
                echo(f"#{e.id}  {e.ts}  {one_line(e.actor)}  {one_line(e.summary)}{state}")


def message_lines(m: dict[str, Any]) -> list[str]:
    """One message as `show` prints it: `[role] content`, then each tool call as
    `  tool call NAME(ARGUMENTS)  id ID`; content that is not a string is printed as JSON, and
    a message with neither content nor tool calls says so (never `None`)."""
    content = m.get("content")
    if content is None or isinstance(content, str):
        text = content or ""
    else:
        text = orjson.dumps(content).decode()
    head = f"[{one_line(m.get('role'))}]"
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
@click.argument("record_id", type=RECORD_ID)
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
    echo(f"record {r.id}  {one_line(r.source_file)}:{r.source_line}  format {r.format or '?'}")
    reason = f" ({one_line(r.reason)})" if r.reason else ""
    echo(f"status {r.status}{reason}  split {one_line(r.split or '-')}  tokens "
         f"{r.tokens_total if r.tokens_total is not None else '-'}"
         f"  edited {'yes' if r.current is not None else 'no'}")
    if r.cluster_id is not None:
        dup = f", duplicate of {r.dup_of} ({r.similarity:.3f})" if r.dup_of else ", keeper"
        echo(f"cluster {r.cluster_id}{dup}")
    if r.labels:
        echo("labels " + ", ".join(one_line(label) for label in r.labels))
    if r.note:
        echo(f"note {r.note}")
    for i in r.issues:
        where = f" message {i.message_index}" if i.message_index is not None else ""
        echo(f"issue {i.severity} {i.code}{where}: {one_line(i.message)}")
    example = r.example
    if example is None:
        echo(f"raw: {r.raw}")
    elif isinstance(example.get("messages"), list):
        for m in example["messages"]:
            if isinstance(m, dict):
                for line in message_lines(m):
                    echo(line)
    else:
        echo(orjson.dumps(example, option=orjson.OPT_INDENT_2).decode())


@cli.command("ls", epilog="\b\n" + FILTER_HELP)
@workspace_option
@where_option
@click.option("--limit", default=50, show_default=True, type=COUNT)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@handle_errors
def ls(workspace: Path, where: tuple[str, ...], limit: int, as_json: bool) -> None:
    """List records (id, status, split, labels, issues, a preview) and how many match.

    Example: curator ls --where issue=schema.invalid --limit 20 -w work.db
    """
    with Workspace.open(workspace) as ws:
        check_where(ws, where)
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
            echo(f"{r.id}\t{r.status}\t{one_line(extra)}\t{one_line(r.preview)[:80]}")
    if not as_json:
        echo(f"{len(page.rows)} of {total} matching records shown", err=True)
