"""`curator export`: write the workspace's splits as trainer-ready files plus a manifest.

Exit codes: 0 written; 1 written, but some selected records could not be converted to the
format (listed in the manifest) or a split is empty (no file written for it; a warning on
stderr and in the manifest); 2 usage or I/O error, records without a split, or an --out folder
holding files the previous export did not write (or the workspace itself).
"""

from __future__ import annotations

from pathlib import Path

import click
import orjson

from curator.cli import cli
from curator.cli.output import echo
from curator.cli.pipeline import progress_bar
from curator.cli.workspace import _fail, handle_errors, workspace_option
from curator.export import EXPORT_FORMATS, ExportError
from curator.workspace import Workspace
from curator.workspace.export import export_workspace
from curator.workspace.settings import EXPORT_TARGETS


@cli.command("export")
@workspace_option
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Export folder (created; a previous curator export there is replaced atomically; "
                   "a folder holding anything else is refused).")
@click.option("--format", "fmt", type=click.Choice(EXPORT_FORMATS), default=None,
              help="Row shape [default: the target's: openai-chat, trl-messages for trl, "
                   "sharegpt for lf].")
@click.option("--target", type=click.Choice(EXPORT_TARGETS), default=None,
              help="Who reads the files [default: the workspace's import target, else openai].")
@click.option("--only-accepted", is_flag=True,
              help="Export accepted records only (default: everything not rejected).")
@click.option("--hf-dataset", is_flag=True,
              help="Also write a Hugging Face dataset folder (datasets save_to_disk) in hf/.")
@click.option("--parquet", is_flag=True, help="Also write parquet/<split>.parquet.")
@click.option("--llamafactory", "llamafactory", is_flag=False, flag_value="curator", default=None,
              metavar="[NAME]",
              help="Also write LLaMA-Factory's dataset_info.json (entries NAME, NAME_validation, "
                   "NAME_holdout; NAME defaults to curator).")
@click.option("--kind", "kind", type=click.Choice(("chat", "preference", "feedback")), default=None,
              help="Which records to export when the workspace holds several kinds (one export, "
                   "one training method) [default: the only kind there is]. Preference pairs "
                   "are written in the target's layout: OpenAI DPO (openai, azure), "
                   "prompt/chosen/rejected (trl), ShareGPT ranking + dataset_info.json (lf).")
@click.option("--bom/--no-bom", "bom", default=None,
              help="UTF-8 byte-order mark at the start of each file [default: on for azure].")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@handle_errors
def export(workspace: Path, out: Path, fmt: str | None, target: str | None, only_accepted: bool,
           hf_dataset: bool, parquet: bool, llamafactory: str | None, kind: str | None,
           bom: bool | None, as_json: bool) -> None:
    """Export train/validation/holdout JSONL and manifest.json from a workspace.

    Every record that is not rejected is exported (records dedup marked as duplicates count as
    rejected), in its current edited form; each one left out is listed in manifest.json with its
    reason. Records must have a split (run `curator split` first). A split with no records gets no
    file, with a warning (exit 1). Same workspace, same options: byte-identical files.

    Example: curator export -w work.db --out export/ --target azure --hf-dataset
    """
    hf = tuple(name for name, on in (("dataset", hf_dataset), ("parquet", parquet)) if on)
    try:
        with Workspace.open(workspace) as ws, progress_bar("exporting", as_json) as progress:
            outcome = export_workspace(
                ws, out, fmt=fmt, target=target, only_accepted=only_accepted, bom=bom, hf=hf,
                llamafactory=llamafactory is not None, llamafactory_name=llamafactory,
                progress=progress, kind=kind,
            )
    except ExportError as exc:
        _fail(str(exc))
        return
    summary = outcome.to_dict()
    if as_json:
        click.echo(orjson.dumps(summary, option=orjson.OPT_INDENT_2).decode())
    else:
        counts = outcome.counts
        echo(f"{outcome.out_dir}: {outcome.fmt} for {outcome.target}: "
              f"train {counts['train']}, validation {counts['validation']}, "
              f"holdout {counts['holdout']}; {outcome.excluded} excluded")
        for reason, n in summary["excluded_by_reason"].items():
            echo(f"  excluded {reason}: {n}")
        for extra in ("hf_dataset", "parquet", "llamafactory"):
            if outcome.manifest.get(extra):
                echo(f"  wrote {extra}")
    for warning in outcome.warnings:
        echo(f"warning: {warning}", err=True)
    if summary["excluded_by_reason"].get("unconvertible") or outcome.warnings:
        raise click.exceptions.Exit(1)
