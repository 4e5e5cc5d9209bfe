"""`curator coverage`: group the prompts into topics with sizes, so a user sees what the set over-
and under-represents (docs/quality.md, "Coverage").

Exit codes: 0 topics computed, none over-represented; 1 computed, and a topic is
over-represented (more than 3x the median topic size); 2 usage or I/O error, or the embedding
model is not installed (nothing stored).
"""

from __future__ import annotations

from pathlib import Path

import click
import orjson

from curator.cli import cli
from curator.cli.bounds import SEED
from curator.cli.output import echo
from curator.cli.workspace import handle_errors, workspace_option
from curator.workspace import Workspace

#: --topics at most: beyond this a topic table is a list of records
MAX_TOPICS_ASKED = 1000


@cli.command()
@workspace_option
@click.option("--topics", "topics", type=click.IntRange(1, MAX_TOPICS_ASKED), default=None,
              help="Number of topics [default: about sqrt(records / 2), at most 50].")
@click.option("--seed", type=SEED, default=0, show_default=True,
              help="Seed of the clustering (the same seed and records give the same topics).")
@click.option("--json", "as_json", is_flag=True, help="Print the topic table as JSON.")
@handle_errors
def coverage(workspace: Path, topics: int | None, seed: int, as_json: bool) -> None:
    """Group the prompts into topics and show their sizes.

    The prompts (user turns) of the records an export would write are embedded offline
    (WordLlama static embeddings) and clustered (k-means). Each topic shows its size, its
    share, its most characteristic words and its most central prompt; a topic over 3x the
    median size is flagged over-represented, one under a third of it under-represented. The
    table is stored in the workspace (not journaled; each run replaces it) for `curator report`,
    the review app's topics screen (T) and `--where topic=N`.

    Example: curator coverage -w work.db --topics 20
    """
    from curator.quality.coverage import OVER, findings, table_lines
    from curator.quality.embed import EmbeddingUnavailable
    from curator.workspace.coverage import compute

    with Workspace.open(workspace) as ws:
        try:
            summary = compute(ws, topics=topics, seed=seed)
        except EmbeddingUnavailable as exc:
            echo(f"error: {exc}", err=True)
            raise click.exceptions.Exit(2) from None
    if as_json:
        click.echo(orjson.dumps(summary.to_dict(), option=orjson.OPT_INDENT_2).decode())
    else:
        if summary.topics:
            for line in table_lines(summary):
                echo(line)
            for line in findings(summary):
                echo(line)
        echo(f"{summary.records:,} prompts in {len(summary.topics)} topics"
             + (f"; {summary.without_prompt:,} records without prompt text (topic 0)"
                if summary.without_prompt else "")
             + ("; filter one with --where topic=N" if summary.topics else ""))
    if summary.flagged(OVER):
        raise click.exceptions.Exit(1)
