"""`curator signals`: set-level answer signals (one answer under unrelated prompts, conflicts)
marked on the workspace's records as labels for review (docs/quality.md).

A command of its own rather than a step of `dedup`: dedup marks copies to leave out of the
export, while these are questions for a reviewer (which answer is right?), and they need none of
dedup's settings. Exit codes: 0 nothing found, 1 records flagged, 2 usage or I/O error.
"""

from __future__ import annotations

from pathlib import Path

import click
import orjson

from curator.cli import cli
from curator.cli.bounds import SHOWN
from curator.cli.output import echo, echo_findings, findings_result
from curator.cli.workspace import handle_errors, workspace_option
from curator.workspace import Workspace


@cli.command()
@workspace_option
@click.option("--dry-run", is_flag=True, help="Print what would be flagged, change nothing.")
@click.option("--show", type=SHOWN, default=20, show_default=True,
              help="Findings to print (0: all).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@handle_errors
def signals(workspace: Path, dry_run: bool, show: int, as_json: bool) -> None:
    """Flag answers shared by unrelated prompts and conflicting answers for review.

    same-answer: one answer (six words or more) under prompts that share little text; the
    record whose prompt the answer fits best (most shared words) is spared. conflict:
    near-identical prompts (character 5-gram similarity 0.8 or more, same numbers, boilerplate
    lines shared by many records left out) whose answers differ materially (below 0.5). Each
    flagged record gets the label and, where its note is empty or a signal's, the reason as its
    note. A run replaces the last run's labels, one undoable entry per label.

    Example: curator signals -w work.db --dry-run
    """
    from curator.quality.answers import CONFLICT, SAME_ANSWER, find_answer_signals
    from curator.workspace.signals import eligible_items, write_flags

    with Workspace.open(workspace) as ws:
        items = eligible_items(ws)
        findings = find_answer_signals(items)
        flagged: dict[str, dict[int, str]] = {SAME_ANSWER: {}, CONFLICT: {}}
        for f in findings:
            flagged[f.kind][f.record] = f.reason
        changes = [] if dry_run else write_flags(ws, [SAME_ANSWER, CONFLICT], flagged)
        result = findings_result({"records": len(items), "same_answer": len(flagged[SAME_ANSWER]),
                                  "conflict": len(flagged[CONFLICT]), "dry_run": dry_run}, changes, findings)
        if as_json:
            click.echo(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
        else:
            echo_findings(findings, show)
            verb = "would flag" if dry_run else "flagged"
            echo(f"{len(items)} records: {verb} {result['same_answer']} same-answer, "
                 f"{result['conflict']} conflict")
    if findings:
        raise click.exceptions.Exit(1)


def semantic_dedup(workspace: Path, threshold: float | None, dry_run: bool, show: int,
                   as_json: bool) -> None:
    """`curator dedup --semantic`: label paraphrase clusters of prompts for review."""
    from curator.quality.embed import EmbeddingUnavailable
    from curator.quality.semantic import PARAPHRASE, THRESHOLD, paraphrase_clusters
    from curator.workspace.signals import eligible_items, write_flags

    cut = THRESHOLD if threshold is None else threshold
    with Workspace.open(workspace) as ws:
        items = eligible_items(ws)
        try:
            findings = paraphrase_clusters(items, cut)
        except EmbeddingUnavailable as exc:
            echo(f"error: {exc}", err=True)
            raise click.exceptions.Exit(2) from None
        flagged = {PARAPHRASE: {f.record: f.reason for f in findings}}
        changes = [] if dry_run else write_flags(ws, [PARAPHRASE], flagged)
        clusters = sum(1 for f in findings if f.reason.startswith("its prompt has paraphrases"))
        result = findings_result({"records": len(items), "semantic": True, "threshold": cut, "clusters": clusters,
                                  "paraphrase": len(findings), "dry_run": dry_run}, changes, findings)
        if as_json:
            click.echo(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
        else:
            echo_findings(findings, show)
            verb = "would label" if dry_run else "labelled"
            echo(f"{len(items)} records: {verb} {len(findings)} records in {clusters} paraphrase "
                 f"clusters (cosine >= {cut})")
    if findings:
        raise click.exceptions.Exit(1)
