"""The pipeline commands over a workspace: import, dedup, split.

Exit codes: 0 done, 1 done with problems (rows rejected, a file unreadable while others
imported, a split refused for leakage), 2 usage or I/O error (nothing done).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import click
import orjson

from curator.cli import cli
from curator.cli.bounds import (
    MAX_TOKENS,
    NUM_PERM_MAX,
    NUM_PERM_MIN,
    SEED,
    SHOWN,
    WORKERS,
    keeper_ids,
    power_of_two,
)
from curator.cli.output import echo, fail, one_line
from curator.cli.workspace import handle_errors, workspace_option
from curator.dedup.settings import SHINGLINGS, DedupSettings
from curator.io import STDIN
from curator.tokens import TARGETS
from curator.workspace import Workspace
from curator.workspace.importer import FileReport, check_readable, import_files
from curator.workspace.pairs import CONTRADICTION_LABEL, flag_contradictions
from curator.workspace.settings import resolve, settings_meta

_fail = fail


def _dump(obj: Any) -> str:
    return orjson.dumps(obj, option=orjson.OPT_INDENT_2).decode()


@contextlib.contextmanager
def progress_bar(label: str, quiet: bool) -> Iterator[Callable[[int, int], None]]:
    """A `(done, total)` callback drawing a bar on stderr; silent when not a tty or `quiet`."""
    if quiet or not sys.stderr.isatty():
        yield lambda done, total: None
        return
    bar: Any = None
    seen = 0
    try:
        def update(done: int, total: int) -> None:
            nonlocal bar, seen
            if bar is None:
                bar = click.progressbar(length=max(total, 1), label=label, file=sys.stderr)
                bar.__enter__()
            bar.length = max(total, 1)
            bar.update(max(done - seen, 0))
            seen = max(seen, done)

        yield update
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)


# --- import --------------------------------------------------------------------------------------


def _refuse_own_files(workspace: Path, files: Sequence[Path]) -> None:
    """The workspace's own file (or -wal, -shm) given as data: said before any file is sniffed
    (by stat only: opening it outside SQLite would drop the locks of a connection to it)."""
    own = []
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(OSError):
            st = os.stat(f"{workspace}{suffix}")
            own.append((st.st_dev, st.st_ino, f"{workspace.name}{suffix}"))
    for f in files:
        if str(f) == STDIN:
            continue
        try:
            st = os.stat(f)
        except OSError:
            continue
        for dev, ino, name in own:
            if (st.st_dev, st.st_ino) == (dev, ino):
                _fail(f"{f} is the workspace's own file ({name}), not data; give the files "
                      f"to import")


@cli.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@workspace_option
@click.option("--target", type=click.Choice(TARGETS), default=None,
              help="Service or trainer whose rules judge the records (default: the workspace's, "
                   "else openai). Fixed for a workspace by its first import.")
@click.option("--model", default=None,
              help="Model name or local tokenizer folder for token counts and the length limit.")
@click.option("--max-tokens", type=MAX_TOKENS, default=None,
              help="Token limit per example (default: the model's or the target's).")
@click.option("--workers", type=WORKERS, default=2, show_default=True,
              help="Processes that prepare (convert, validate, count) rows.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@handle_errors
def import_(files: tuple[Path, ...], workspace: Path, target: str | None, model: str | None,
            max_tokens: int | None, workers: int, as_json: bool) -> None:
    """Import files into a workspace (created if missing), each row converted to chat form,
    validated and token-counted as `curator validate` does.

    Re-importing a file adds nothing twice; a line that does not parse is kept as a rejected
    record with its error. A file that cannot be read is named and the others are imported.
    FILES may be .gz files, pipes or FIFOs; `-` reads stdin.
    Exits 1 when any new row was rejected or a file could not be read, 2 when nothing could.

    Example: curator import data.jsonl more.jsonl -w work.db --target openai --model gpt-4o-mini
    """
    from curator.workspace.prepare import Preparer

    if [str(f) for f in files].count(STDIN) > 1:
        _fail("'-' (stdin) can be read only once; name it once")
    _refuse_own_files(workspace, files)
    problems = check_readable(files)
    readable = [f for f in files if not any(p.startswith(f"{f}:") for p in problems)]
    for problem in problems:
        echo(f"error: {problem}", err=True)
    if not readable:
        raise click.exceptions.Exit(2)
    if not workspace.exists():
        try:  # a bad --model must not leave an empty workspace behind
            Preparer(target or "openai", model=model, max_tokens=max_tokens).limit  # noqa: B018
        except ValueError as exc:
            _fail(str(exc))
    with Workspace.open(workspace, create=True) as ws:
        # one workspace, one target's judgement: another target, tokenizer or limit is refused
        settings = resolve(ws, target=target, model=model, max_tokens=max_tokens)
        target, model, max_tokens = settings.target, settings.model, settings.max_tokens
        preparer = Preparer(target, model=model, max_tokens=max_tokens)
        try:
            limit = preparer.limit
        except ValueError as exc:
            _fail(str(exc))
        meta = settings_meta(target, model, limit)
        sizes = {str(f): _size(f) for f in readable}
        total = sum(sizes.values())
        with progress_bar("import", as_json) as bar:
            finished = 0
            current = ""

            def progress(fr: FileReport) -> None:
                nonlocal finished, current
                if fr.path != current:
                    finished += sizes.get(current, 0)
                    current = fr.path
                bar(finished + min(fr.bytes_read, sizes.get(fr.path, 0)), total)

            report = import_files(ws, readable, prepare=preparer, progress=progress,
                                  workers=workers, meta=meta, keep_going=True,
                                  defer_indexes=True)
            # pairs on one prompt that prefer opposite answers: labelled for review
            contra = flag_contradictions(ws) if report.new else None
    failed = [fr for fr in report.files if fr.error]
    for fr in failed:
        echo(f"error: {fr.error}", err=True)
    if as_json:
        out = report.to_dict()
        out["target"], out["model"], out["max_tokens"] = target, model, limit
        out["unreadable"] = problems + [fr.error for fr in failed]
        if contra is not None:  # only a workspace with preference pairs has this field
            out["contradicting_pairs"] = contra.selected
        click.echo(_dump(out))
    else:
        for fr in report.files:
            echo(f"{fr.path}: {fr.rows} rows, {fr.new} new, {fr.already_present} already "
                  f"present, {fr.rejected} rejected")
            for reason, n in sorted(fr.reasons.items()):
                echo(f"  rejected {reason}: {n}")
        if len(report.files) > 1:
            echo(f"total: {report.rows} rows, {report.new} new, {report.already_present} "
                  f"already present, {report.rejected} rejected")
        if contra is not None and contra.selected:
            echo(f"{contra.selected} preference pairs contradict another pair on their prompt: "
                 f"labelled {CONTRADICTION_LABEL} (curator ls --where label={CONTRADICTION_LABEL})")
    if failed and len(failed) == len(report.files) and report.rows == 0:
        raise click.exceptions.Exit(2)  # no file could be read: nothing was imported
    if report.rejected or problems or failed:
        raise click.exceptions.Exit(1)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size if path.is_file() else 0
    except OSError:
        return 0


# --- dedup ---------------------------------------------------------------------------------------


def _preview(ws: Workspace, record_id: int) -> str:
    page = ws.page([f"id={record_id}"], limit=1)
    return one_line(page.rows[0].preview)[:70] if page.rows else ""


@cli.command()
@workspace_option
@click.option("--threshold", type=click.FloatRange(0.0, 1.0, min_open=True),
              default=DedupSettings().threshold,
              show_default=True, help="Least Jaccard similarity of shingle sets for a near copy.")
@click.option("--num-perm", type=click.IntRange(NUM_PERM_MIN, NUM_PERM_MAX),
              default=DedupSettings().num_perm,
              show_default=True, callback=power_of_two,
              help=f"MinHash permutations: a power of two from {NUM_PERM_MIN} to {NUM_PERM_MAX} "
                   f"(memory: 4 bytes per record per permutation).")
@click.option("--shingling", type=click.Choice(list(SHINGLINGS)), default=DedupSettings().shingling,
              show_default=True,
              help="Shingles: character 5-grams (finds 1-3 edited words) or word 5-grams.")
@click.option("--include-system", is_flag=True, default=DedupSettings().include_system,
              help="Compare system prompts too (by default two answers that differ only in "
                   "their system prompt are duplicates).")
@click.option("--keeper", default="best", show_default=True, metavar="RULE|IDS",
              callback=keeper_ids,
              help="Which record of a cluster is kept: best (accepted first, then fewest "
                   "issues, a padded copy counting one more, then the lower IFD of `curator score`, then "
                   "earliest), longest, earliest, "
                   "accepted (accepted first), or record ids (12,40) to keep first.")
@click.option("--dry-run", is_flag=True, help="Print the clusters, mark nothing.")
@click.option("--no-screen", "no_screen", is_flag=True,
              help="Verify every pair that shares an LSH band, without first dropping those "
                   "whose signatures put them far below the threshold (slower; in practice "
                   "the same pairs).")
@click.option("--show", type=SHOWN, default=20, show_default=True,
              help="Clusters to print (0: all).")
@click.option("--workers", type=WORKERS, default=2, show_default=True,
              help="Processes that compute signatures and verify pairs.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--semantic", is_flag=True,
              help="Instead: label paraphrase clusters of prompts (static embeddings; "
                   "--threshold is then a cosine similarity, default 0.85) for review; "
                   "nothing is marked duplicate (docs/quality.md).")
@handle_errors
@click.pass_context
def dedup(ctx: click.Context, workspace: Path, threshold: float, num_perm: int, shingling: str,
          include_system: bool, keeper: str, dry_run: bool, no_screen: bool, show: int,
          workers: int, as_json: bool, semantic: bool) -> None:
    """Find exact and near duplicates and mark them duplicate-of their cluster's keeper.

    Nothing is deleted and statuses stay; marked records are left out of exports. One run is
    one journal entry (`curator undo` takes it back) and replaces the last run's marks.
    Near duplicates come from MinHash LSH; pairs that share a band are screened by their
    whole signatures (those more than six standard deviations below the threshold are
    dropped, --no-screen keeps them), every remaining pair is verified by its true Jaccard
    similarity, and clusters form around keepers without chaining.

    Example: curator dedup -w work.db --threshold 0.8 --dry-run
    """
    if semantic:
        from curator.cli.signals import semantic_dedup

        default = ctx.get_parameter_source("threshold") == click.core.ParameterSource.DEFAULT
        semantic_dedup(workspace, None if default else threshold, dry_run, show, as_json)
        return
    from curator.workspace.dedup import dedup_workspace

    with Workspace.open(workspace) as ws:
        with progress_bar("dedup", as_json) as bar:
            result = dedup_workspace(ws, threshold=threshold, num_perm=num_perm,
                                     shingling=shingling, include_system=include_system,
                                     keeper=keeper, dry_run=dry_run, processes=workers,
                                     progress=bar, screen=not no_screen)
        for warning in result.warnings:
            echo(f"warning: {warning}", err=True)
        if as_json:
            click.echo(_dump(result.to_dict()))
            return
        shown = result.clusters if show == 0 else result.clusters[:show]
        for c in shown:
            echo(f"cluster {c.keeper}: keep {c.keeper}  {_preview(ws, c.keeper)}")
            for m in c.members:
                kind = "exact" if m.exact else f"{m.similarity:.3f}"
                echo(f"    dup {m.id} ({kind})  {_preview(ws, m.id)}")
    if len(shown) < len(result.clusters):
        echo(f"... {len(result.clusters) - len(shown)} more clusters (--show 0 lists all)")
    d = result.to_dict()
    echo(f"{d['records']} records: {d['clusters']} clusters, {d['duplicates']} duplicates "
          f"({d['exact_duplicates']} exact, {d['near_duplicates']} near)")
    if result.capped_buckets or result.limited_records:
        echo(f"candidates capped: {result.capped_buckets} buckets ({result.capped_records} "
             f"records), {result.limited_records} records cut to their best candidates "
             f"(see the warnings: recall may be lower there)")
    if dry_run:
        echo("dry run: nothing marked")
    elif result.change is not None and result.change.entry_id is not None:
        echo(f"marked  [journal #{result.change.entry_id}]  (undo: curator undo)")
    else:
        echo("marks unchanged")


# --- split ---------------------------------------------------------------------------------------


def _ratios(ctx: click.Context, param: click.Parameter, value: str) -> tuple[float, ...]:
    try:
        return tuple(float(x) for x in value.split(","))
    except ValueError:
        raise click.BadParameter(f"{value!r}: give numbers such as 0.8,0.1,0.1") from None


@cli.command()
@workspace_option
@click.option("--ratios", default="0.8,0.1,0.1", show_default=True, callback=_ratios,
              help="Shares of train,validation,holdout (they must sum to 1).")
@click.option("--seed", type=SEED, default=0, show_default=True,
              help="Seed of the hash that places each unit (a signed 64-bit integer).")
@click.option("--stratify", type=click.Choice(["label"]), default=None,
              help="Keep label proportions in every split.")
@click.option("--group-by", default=None, metavar="KEY",
              help="Records with the same value of KEY (a key of the example, e.g. "
                   "metadata.user_id, or 'source' for the file) stay in one split.")
@click.option("--force", is_flag=True,
              help="Write the split even when duplicates leak across splits.")
@click.option("--workers", type=WORKERS, default=2, show_default=True,
              help="Processes for the duplicate check.")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
@handle_errors
def split(workspace: Path, ratios: tuple[float, ...], seed: int, stratify: str | None,
          group_by: str | None, force: bool, workers: int, as_json: bool) -> None:
    """Split records into train, validation and holdout, then report leakage.

    Deterministic (hash of seed and unit); a duplicate cluster or a --group-by group never
    straddles two splits; records that already have a split keep it, and nothing leaves the
    holdout. The leakage report (duplicate pairs across splits, label balance, classes missing
    from a split) is printed and stored; a split with leaks is not written unless --force
    (exit 1). Nor is one that leaves a split empty (exit 1, with why and how to fix it; --force
    writes it, still exit 1). Sizes count the records an export writes; records marked
    duplicate are counted apart.

    Example: curator split -w work.db --ratios 0.8,0.1,0.1 --seed 7 --stratify label
    """
    from curator.split import SplitError
    from curator.workspace.split import split_workspace

    with Workspace.open(workspace) as ws:
        try:
            with progress_bar("duplicate check", as_json) as bar:
                outcome = split_workspace(ws, ratios=ratios, seed=seed, stratify=stratify,
                                          group_by=group_by, force=force, processes=workers,
                                          progress=bar)
        except SplitError as exc:
            _fail(str(exc))
    if as_json:
        click.echo(_dump(outcome.to_dict()))
    else:
        _print_split(outcome.report_dict(), outcome.records, outcome.new, outcome.duplicates)
        for w in outcome.warnings:
            echo(f"warning: {w}", err=True)
    if outcome.empty:
        if outcome.written:
            echo(f"warning: written with an empty split (--force): {outcome.empty_message}",
                       err=True)
        else:
            echo(f"error: the split was not written: {outcome.empty_message}", err=True)
    if outcome.leaks and not outcome.written:
        echo(f"error: {outcome.leaks} duplicate pairs would sit in two splits; the split "
              f"was not written. Resolve them (curator dedup, reject, or --group-by) or pass "
              f"--force.", err=True)
        raise click.exceptions.Exit(1)
    if outcome.leaks:
        echo(f"warning: written with {outcome.leaks} leaking pairs (--force)", err=True)
    if not as_json:
        entry = outcome.change.entry_id if outcome.change is not None else None
        echo(f"split written  [journal #{entry}]" if entry else "nothing changed")
    if outcome.empty:
        raise click.exceptions.Exit(1)


def _print_split(report: dict[str, Any], records: int, new: int,
                 duplicates: dict[str, int]) -> None:
    echo(f"{records} records split, {new} newly placed; per split, the records an export "
               f"writes (duplicates apart):")
    for name, size in report["sizes"].items():
        counts = report["label_counts"].get(name, {})
        balance = ", ".join(f"{one_line(k)} {v}" for k, v in counts.items()) if set(counts) - {"(none)"} else ""
        dups = f" (+{duplicates[name]} marked duplicate)" if duplicates.get(name) else ""
        echo(f"  {name}: {size}{dups}" + (f"  ({balance})" if balance else ""))
    echo(f"leakage: {report['exact_leaks']} exact and {report['near_leaks']} near-duplicate "
               f"pairs across splits")
    for kind in ("exact_leak_pairs", "near_leak_pairs"):
        for p in report[kind][:10]:
            echo(f"  {p['a']} ({p['split_a']}) ~ {p['b']} ({p['split_b']}) "
                  f"similarity {p['similarity']}")
    for name, missing in report["missing_classes"].items():
        if missing:
            echo(f"  {name} lacks class {', '.join(missing)}")
