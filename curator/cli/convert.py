"""`curator convert`: one file from any detected format to a target format."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import orjson

from curator.cli import cli
from curator.cli.output import echo
from curator.formats import FORMATS
from curator.formats.convert_file import TARGET_ALIASES, ConvertReport, convert_file
from curator.io import ReadError, same_file
from curator.issues import Issue


def _where(issue: Issue) -> str:
    loc = issue.file or "-"
    if issue.line is not None:
        loc += f":{issue.line}"
    extra = []
    if issue.example_index is not None:
        extra.append(f"example {issue.example_index}")
    if issue.message_index is not None:
        extra.append(f"message {issue.message_index}")
    if issue.path:
        extra.append(issue.path)
    return loc + (f" [{', '.join(extra)}]" if extra else "")


def _print_summary(report: ConvertReport, out: str, rejects: str | None) -> None:
    counts = ", ".join(f"{n} {f}" for f, n in sorted(report.format_counts.items()))
    echo(f"{report.source}: detected {report.detected or 'no format'}"
          + (f" ({counts})" if counts else ""), err=True)
    shown: dict[str, int] = {}
    for issue in report.issues:
        limit = 10 if issue.severity == "error" else 3 if issue.severity == "warning" else 0
        if shown.get(issue.code, 0) >= limit:
            continue
        shown[issue.code] = shown.get(issue.code, 0) + 1
        text = f"{_where(issue)}: {issue.severity} {issue.code}: {issue.message}"
        if issue.hint:
            text += f" (hint: {issue.hint})"
        echo(text, err=True)
    for code, n in sorted(report.counts.items()):
        more = n - shown.get(code, 0)
        echo(f"  {n:>7}  {code}" + (f"  ({more} not shown; see --json)" if more > 0 and
                                            shown.get(code) else ""), err=True)
    echo(f"converted {report.converted} of {report.rows} rows to {report.target} -> {out}",
          err=True)
    if report.rejected:
        where = f"written to {rejects}" if rejects else "use --rejects FILE to keep them"
        echo(f"rejected {report.rejected} rows ({where})", err=True)


@cli.command()
@click.argument("source", type=click.Path(exists=True, dir_okay=True, allow_dash=True, path_type=Path))
@click.option("--to", "to", required=True, type=click.Choice(sorted(TARGET_ALIASES)),
              help="Target format.")
@click.option("--from", "source_format", type=click.Choice(FORMATS),
              help="Source format of every row (default: detected per row).")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Output JSONL file (written atomically; `-` is stdout).")
@click.option("--rejects", type=click.Path(dir_okay=False, path_type=Path),
              help="Write rows that could not be converted here, exactly as they were.")
@click.option("--alpaca-sep", default="\n\n", show_default=repr("\n\n"),
              help="Joins an Alpaca instruction and its input in the user message.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the report as JSON on stdout (shape: ConvertReport.to_dict).")
def convert(source: Path, to: str, source_format: str | None, output: Path,
            rejects: Path | None, alpaca_sep: str, as_json: bool) -> None:
    """Convert SOURCE (JSONL, JSON, CSV, Parquet, HF folder, .gz; `-` is stdin) to another format.

    Each row's format is detected (openai-chat, prompt-completion, alpaca, sharegpt,
    lf-v1-messages, TRL and preference layouts) unless --from is given. Lossy or guessed
    steps are reported per code on stderr; rows that cannot be converted are listed with
    file:line and written to --rejects as they were. Exit 0 when every row converted, 1 when
    some were rejected, 2 on usage or I/O errors.

    Example: curator convert data.json --to chat -o chat.jsonl --rejects bad.jsonl

    \b
    --json prints {"source", "target", "detected_format", "format_counts", "rows",
    "converted", "rejected", "counts": {code: n}, "issues": [{code, severity, message, file,
    line, example_index, message_index, path, hint, fix}], "unreadable": [message]}
    ("unreadable": parts of SOURCE that could not be read, e.g. after a JSON syntax error;
    they make the exit code 1).
    """
    to_stdout = str(output) == "-"
    if to_stdout:
        if as_json:
            raise click.UsageError("-o - and --json would both write to stdout; give -o FILE")
        output = Path("/dev/stdout")  # written to as it is (io.atomic_writer)
    if same_file(source, output) or (rejects is not None and (
            same_file(source, rejects) or same_file(output, rejects))):
        raise click.UsageError("SOURCE, --output and --rejects must be different files")
    try:
        report = convert_file(source, output, to, source_format=source_format, rejects=rejects,
                              alpaca_sep=alpaca_sep, keep_issues=as_json)
    except ReadError as exc:
        echo(f"error: {exc.issue.message}" + (f" ({exc.issue.hint})" if exc.issue.hint else ""),
                   err=True)
        sys.exit(2)
    except (OSError, UnicodeError) as exc:
        echo(f"error: {exc}", err=True)
        sys.exit(2)
    _print_summary(report, "<stdout>" if to_stdout else str(output), str(rejects) if rejects else None)
    if as_json:
        click.echo(orjson.dumps(report.to_dict(), option=orjson.OPT_INDENT_2).decode())
    for message in report.unreadable:
        echo(f"error: {message}", err=True)
    sys.exit(1 if report.rejected or report.unreadable else 0)
