"""`curator report`: the readiness checklist of a workspace, as a table, JSON or an HTML page.

Exit codes: 0 every line passes or warns; 1 a line fails; 2 usage or I/O error.
"""

from __future__ import annotations

from pathlib import Path

import click
import orjson

from curator.cli import cli
from curator.cli.bounds import MAX_TOKENS
from curator.cli.output import echo
from curator.cli.workspace import handle_errors, workspace_option
from curator.io import atomic_write_bytes
from curator.report import assess, coverage_lines, to_html, to_json, verdict
from curator.textsafe import literal
from curator.workspace import Workspace
from curator.workspace.report import gather_coverage, gather_details, gather_facts
from curator.workspace.settings import EXPORT_TARGETS

_MARK = {"pass": "PASS", "warn": "WARN", "fail": "FAIL"}
_COLOUR = {"pass": "green", "warn": "yellow", "fail": "red"}


@cli.command("report")
@workspace_option
@click.option("--target", type=click.Choice(EXPORT_TARGETS), default=None,
              help="Judge the format and lengths for this target [default: the import's].")
@click.option("--max-tokens", type=MAX_TOKENS, default=None,
              help="Per-example token limit [default: the workspace's, else the target's].")
@click.option("--html", "html_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write one self-contained HTML page (no network): the checklist, token "
              "lengths, issues, duplicates, labels, topics and the last training run, drawn.")
@click.option("--json", "as_json", is_flag=True, help="Print the checklist as JSON.")
@handle_errors
def report(workspace: Path, target: str | None, max_tokens: int | None, html_file: Path | None,
           as_json: bool) -> None:
    """Check a workspace against what fine-tuning guides ask before tuning.

    Enough examples, format matches the target, records reviewed, duplicates resolved, holdout
    present without leakage, lengths within the limit, label balance, baseline measured. Each
    line is pass / warn / fail with its numbers; exits 1 when any line fails. Then the topics of
    the prompts with their sizes, when `curator coverage` has computed them.

    Example: curator report -w work.db --html readiness.html
    """
    with Workspace.open(workspace) as ws:
        facts = gather_facts(ws, target=target, max_tokens=max_tokens)
        details = gather_details(ws) if html_file is not None else None
        topics = details.coverage if details is not None else gather_coverage(ws)
    checks = assess(facts)
    if html_file is not None:
        page = to_html(checks, facts, f"Readiness of {workspace.name} for {facts.target}", details)
        atomic_write_bytes(html_file, page.encode("utf-8"))
    if as_json:
        data = to_json(checks)
        data.update({"target": facts.target, "token_limit": facts.token_limit,
                     "records": facts.total, "splits": facts.split_counts,
                     "coverage": topics.to_dict() if topics is not None else None})
        click.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())
    else:
        for c in checks:
            mark = click.style(_MARK[c.status], fg=_COLOUR[c.status], bold=c.status == "fail")
            click.echo(f"{mark}  {c.name}: {literal(c.detail)}")  # mark: curator's colour
        for line in coverage_lines(topics):
            echo(line)
        echo(f"verdict: {verdict(checks)}")
        if html_file is not None:
            echo(f"wrote {html_file}", err=True)
    if verdict(checks) == "fail":
        raise click.exceptions.Exit(1)
