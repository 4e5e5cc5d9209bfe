"""Bounds of the CLI's numbers, checked when the command line is parsed (exit 2, nothing done).

A number is bounded by what it can mean: record ids and counts by SQLite's signed 64-bit
integers (a larger one would fail inside a query), sizes by what fits in memory (--num-perm
costs 4 bytes per record per permutation), process counts by what a machine can run. The
limits are listed in each option's --help and in docs/reliability.md.
"""

from __future__ import annotations

import click

from curator.workspace import INT64_MAX, INT64_MIN

#: a record id: SQLite's integers end at 2**63-1.
RECORD_ID = click.IntRange(min=1, max=INT64_MAX)
#: how many rows, actions or lines to show or take (--limit, -n); SHOWN also takes 0 (all).
COUNT = click.IntRange(min=1, max=INT64_MAX)
SHOWN = click.IntRange(min=0, max=INT64_MAX)
#: token limits: ten million is above every model's context.
MAX_TOKENS_LIMIT = 10_000_000
MAX_TOKENS = click.IntRange(min=1, max=MAX_TOKENS_LIMIT)
#: worker processes.
MAX_WORKERS = 256
WORKERS = click.IntRange(min=1, max=MAX_WORKERS)
#: torch threads (--threads of score).
THREADS = click.IntRange(min=1, max=1024)
#: a seed stored with what it made: a signed 64-bit integer.
SEED = click.IntRange(min=INT64_MIN, max=INT64_MAX)
#: MinHash permutations: a power of two; 1024 already costs 4 KiB per record.
NUM_PERM_MIN, NUM_PERM_MAX = 8, 1024


def power_of_two(ctx: click.Context, param: click.Parameter, value: int) -> int:
    if value & (value - 1):
        raise click.BadParameter(
            f"{value} is not a power of two (use 8, 16, 32, 64, 128, 256, 512 or 1024)")
    return value


def keeper_ids(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """--keeper: a rule name, or record ids each a valid record id (checked against the
    workspace later)."""
    if value in ("best", "longest", "earliest", "accepted", "accepted_first"):
        return value
    for part in value.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            number = int(part)
        except ValueError:
            raise click.BadParameter(
                f"unknown keeper {value!r}: use best, longest, earliest, accepted or record ids "
                f"(12,40)") from None
        if not 1 <= number <= INT64_MAX:
            raise click.BadParameter(f"{part} is not a record id (1 to {INT64_MAX})")
    return value
