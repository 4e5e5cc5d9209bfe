"""Where a workspace dedup spends its time: each phase's wall seconds and this process's CPU.

    python bench/bench_dedup_phases.py WORKSPACE_COPY [--keep]

Runs `dedup_workspace` (keeper best, the defaults of `curator dedup`) on the given workspace,
which it WRITES (marks, pairs): give it a fresh copy. Each phase is timed by wrapping the
function that does it (a wrapper around a module-level name; nothing else changes), with the
wall seconds, this process's CPU seconds (every thread) and its main thread's CPU; the pool
workers' CPU comes from getrusage(RUSAGE_CHILDREN) at the end. Phases that run on a thread
beside the main one (the keeper ranks' read, the boilerplate count) show their own wall time
and overlap others. A phase's line is printed when it ends, so the order is the run's order.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import resource
import sys
import threading
import time
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

T0 = time.perf_counter()
LINES: list[tuple[float, str]] = []

#: (module, function name) of every phase timed
PHASES = [
    ("curator.workspace.dedup", "content_key"),
    ("curator.workspace.dedup", "save_pairs"),
    ("curator.workspace.engine", "Workspace.mark_duplicates"),  # old code
    ("curator.workspace.dedup", "mark_with_pairs"),
    ("curator.workspace.engine", "Workspace.save_dedup_pairs"),
    ("curator.workspace.dedup", "Eligible.read"),
    ("curator.workspace.dedup", "find_duplicates"),
    ("curator.dedup.near", "_exact_groups"),
    ("curator.dedup.near", "_representatives"),
    ("curator.dedup.near", "candidate_pairs"),
    ("curator.dedup.near", "screen_pairs"),
    ("curator.dedup.near", "limit_per_record"),
    ("curator.dedup.near", "_possible"),
    ("curator.dedup.near", "_frequent_shingles"),
    ("curator.dedup.near", "cluster"),
    ("curator.dedup.near", "assemble"),
    ("curator.dedup.near", "priority"),
    ("curator.workspace.dedup", "BestRanks.rank_array"),  # new in fix/dedup4
    ("curator.dedup.near", "_ready_kernels"),  # new in fix/dedup5: numba set up before the fork
    ("curator.workspace.dedup", "write_stamp"),  # fix/dedup5: the check under the write lock
    ("curator.workspace.dedup", "cluster_report"),  # fix/dedup5: on a thread beside the marks
    ("concurrent.futures.process", "ProcessPoolExecutor.shutdown"),  # the workers' exit
]


def _wrap(module: Any, name: str) -> None:
    owner_name, _, name = name.rpartition(".")
    owner = getattr(module, owner_name) if owner_name else module
    if name not in vars(owner):  # a phase the code under test does not have (old or new)
        return
    raw = owner.__dict__[name] if owner_name else getattr(module, name)
    fn = raw.__func__ if isinstance(raw, classmethod) else raw

    @functools.wraps(fn)
    def timed(*args: Any, **kwargs: Any) -> Any:
        w0, c0, t0 = time.perf_counter(), time.process_time(), time.thread_time()
        try:
            return fn(*args, **kwargs)
        finally:
            w1, c1, t1 = time.perf_counter(), time.process_time(), time.thread_time()
            where = "main" if threading.current_thread() is threading.main_thread() else "thread"
            LINES.append((w1 - T0, f"{w0 - T0:7.2f} {w1 - T0:7.2f}  {w1 - w0:6.2f} wall "
                                    f"{c1 - c0:6.2f} proc-cpu {t1 - t0:6.2f} {where}-cpu  "
                                    f"{module.__name__.rsplit('.', 1)[-1]}.{owner_name or ''}{'.' if owner_name else ''}{name}"))

    setattr(owner, name, classmethod(timed) if isinstance(raw, classmethod) else timed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workspace", type=Path)
    args = parser.parse_args()
    for mod_name, name in PHASES:
        _wrap(importlib.import_module(mod_name), name)
    from curator.workspace import Workspace
    from curator.workspace.dedup import dedup_workspace

    w0, c0 = time.perf_counter(), time.process_time()
    with Workspace.open(args.workspace) as ws:
        opened = time.perf_counter()
        result = dedup_workspace(ws, keeper="best")
        done = time.perf_counter()
        # what `curator dedup --json` does next: the report as JSON
        r0, rc0 = time.perf_counter(), time.process_time()
        text = orjson.dumps(result.to_dict(), option=orjson.OPT_INDENT_2)
        LINES.append((time.perf_counter() - T0,
                      f"{r0 - T0:7.2f} {time.perf_counter() - T0:7.2f}  "
                      f"{time.perf_counter() - r0:6.2f} wall {time.process_time() - rc0:6.2f} "
                      f"proc-cpu  (the --json report: to_dict and orjson, {len(text)} bytes)"))
    closed = time.perf_counter()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    for _, line in sorted(LINES):
        print(line)
    print(f"open {opened - w0:.2f} s, dedup_workspace {done - opened:.2f} s, close "
          f"{closed - done:.2f} s; total {closed - w0:.2f} s wall, parent CPU "
          f"{time.process_time() - c0:.2f} s, workers CPU "
          f"{children.ru_utime + children.ru_stime:.2f} s")
    print(f"{result.records} records, {len(result.clusters)} clusters, {result.duplicates} "
          f"duplicates, {result.candidate_pairs} candidates, {result.verified_pairs} verified")


if __name__ == "__main__":
    main()
