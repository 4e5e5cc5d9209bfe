"""`curator decontaminate -w WS --against FILE...`: label the records that share text with an
evaluation set, and the training records that share text with the split's holdout.

Exit codes: 0 nothing found, 1 records labelled, 2 usage or an evaluation file unreadable
(nothing changed).
"""

from __future__ import annotations

from pathlib import Path

import click
import orjson

from curator.cli import cli
from curator.cli.bounds import SHOWN
from curator.cli.output import echo, echo_findings, fail, findings_result, one_line
from curator.cli.workspace import handle_errors, workspace_option
from curator.workspace import Workspace

#: the split parts that evaluate a model: training records must not share text with them
EVAL_SPLITS = ("validation", "holdout")


@cli.command()
@workspace_option
@click.option("--against", "against", multiple=True, metavar="FILE",
              type=click.Path(dir_okay=False, path_type=Path),
              help="An evaluation file (JSON Lines or a JSON array: chat, prompt/completion, "
                   "Alpaca, question/answer or text rows); repeat for several.")
@click.option("--no-split", "no_split", is_flag=True,
              help="Do not check training records against the split's validation and holdout.")
@click.option("--dry-run", is_flag=True, help="Print what would be labelled, change nothing.")
@click.option("--show", type=SHOWN, default=20, show_default=True,
              help="Findings to print (0: all).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@handle_errors
def decontaminate(workspace: Path, against: tuple[Path, ...], no_split: bool, dry_run: bool,
                  show: int, as_json: bool) -> None:
    """Label records that overlap an evaluation set as `contaminated`.

    A record is contaminated when its text shares 13 words in a row with an evaluation row
    (GPT-3's test; a shorter evaluation text must appear whole; lines and n-grams shared by many
    texts are ignored as boilerplate), or when its prompt is a near duplicate (character 5-gram
    similarity 0.8 or more) of an evaluation prompt. The reason, in the record's note where that
    is empty or a signal's, names the file and line. When the workspace is split, training
    records are checked the same way against its validation and holdout records. A run replaces
    the last run's labels in one undoable entry.

    Example: curator decontaminate -w work.db --against eval.jsonl
    """
    from curator.quality.contamination import (
        CONTAMINATED,
        EvalRow,
        find_contamination,
        read_eval,
    )
    from curator.workspace.signals import eligible_items, splits_by_id, write_flags

    evals: list[EvalRow] = []
    unreadable_rows = 0
    for path in against:
        try:
            rows, bad = read_eval(path)
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            fail(f"cannot read {path}: {one_line(exc)[:200]}; give a JSON Lines file or a JSON "
                 f"array of examples")
        if not rows:
            fail(f"no example could be read from {path}: give a JSON Lines file or a JSON array "
                 f"of chat, prompt/completion, Alpaca, question/answer or text rows")
        evals += rows
        unreadable_rows += bad
    with Workspace.open(workspace) as ws:
        items = eligible_items(ws)
        split_of = splits_by_id(ws)
        held = [] if no_split else [it for it in items if split_of.get(it.id) in EVAL_SPLITS]
        if not evals and not held:
            fail("nothing to check against: give --against FILE, or split the workspace first "
                 "(curator split) to check training records against the holdout")
        findings = find_contamination(items, evals) if evals else []
        if held:
            seen = {f.record for f in findings}
            train = [it for it in items if split_of.get(it.id) == "train" and it.id not in seen]
            refs = [EvalRow(f"{split_of[it.id]} record {it.id}", it.prompt,
                            f"{it.prompt}\n{it.answer}") for it in held]
            findings += find_contamination(train, refs, what="the split's")
            findings.sort(key=lambda f: f.record)
        flagged = {CONTAMINATED: {f.record: f.reason for f in findings}}
        changes = [] if dry_run else write_flags(ws, [CONTAMINATED], flagged)
        result = findings_result({"records": len(items), "evaluation_rows": len(evals),
                                  "unreadable_evaluation_rows": unreadable_rows, "split_checked": bool(held),
                                  "contaminated": len(findings), "dry_run": dry_run},
                                 changes, findings, others=False)
        if as_json:
            click.echo(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
        else:
            echo_findings(findings, show, with_kind=False)
            if unreadable_rows:
                echo(f"warning: {unreadable_rows} evaluation rows could not be read as examples "
                     f"and were not checked", err=True)
            verb = "would label" if dry_run else "labelled"
            echo(f"{len(items)} records against {len(evals)} evaluation rows"
                 f"{' and the split' if held else ''}: {verb} {len(findings)} contaminated")
    if findings:
        raise click.exceptions.Exit(1)
