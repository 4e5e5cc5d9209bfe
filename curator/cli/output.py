"""What the CLI prints for people: every line through `textsafe.literal`, errors one line.

Record text, file names, labels, notes and values typed on the command line may hold escape
sequences (an OSC sequence sets the terminal's title or writes its clipboard, and click strips
only CSI colour codes when the output is piped). `echo` shows each control character as a
visible symbol (ESC as ␛) and keeps newlines and tabs; `--json` output bypasses it and stays
exact (JSON escapes control characters itself). Rich output takes `rich.text.Text`, never markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NoReturn

import click

from curator.textsafe import literal


def echo(message: object = "", *, err: bool = False) -> None:
    """click.echo for a human-facing line: control characters shown, nothing interpreted."""
    click.echo(literal(message, keep_tabs=True), err=err)


def one_line(value: object) -> str:
    """A field inside a line (a preview, a label, a file name): visible and on one line."""
    return literal(value, one_line=True)


def fail(message: str, code: int = 2) -> NoReturn:
    echo(f"error: {message}", err=True)
    raise click.exceptions.Exit(code)


class SafeGroup(click.Group):
    """A group whose usage errors quote what the user typed with its control characters shown
    (click's own messages repeat option values and file names as given)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.ClickException as exc:
            exc.message = literal(exc.message)  # type: ignore[misc]  # click marks it Final
            raise

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.ClickException as exc:
            exc.message = literal(exc.message)  # type: ignore[misc]  # click marks it Final
            raise


def echo_findings(findings: Sequence[Any], show: int, *, with_kind: bool = True) -> None:
    """A signal command's findings, one line each (record id, label, reason), the first `show`
    of them (0: all), then how many more there are."""
    shown = findings if show == 0 else findings[:show]
    for f in shown:
        label = f"{f.kind:<12} " if with_kind else ""
        echo(f"{f.record:>7} {label}{one_line(f.reason)}")
    if len(shown) < len(findings):
        echo(f"... {len(findings) - len(shown)} more (--show 0 lists all)")


def findings_result(fields: dict[str, Any], changes: Sequence[Any], findings: Sequence[Any], *,
                    others: bool = True) -> dict[str, Any]:
    """A signal command's `--json` object: its own `fields`, then the journal entries its labels
    were written in and one object per finding (record, label, the records it goes with when
    `others`, reason), in that order."""
    def one(f: Any) -> dict[str, Any]:
        return ({"record": f.record, "label": f.kind, "others": list(f.others), "reason": f.reason} if others
                else {"record": f.record, "label": f.kind, "reason": f.reason})
    return {**fields, "journal_entries": [c.entry_id for c in changes if c.entry_id is not None],
            "findings": [one(f) for f in findings]}
