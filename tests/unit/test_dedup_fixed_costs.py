"""Dedup's fixed costs: what every run pays whatever its size (numba readied once for all
processes, ...). Each test checks the behaviour that saves the time, never a time."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# A fresh interpreter (pytest's own process may have readied numba already, and the workers
# fork from the process that runs dedup): each worker notes, when it reads its first batch and
# before it signs anything, whether the signing kernels are loaded in it already.
_WORKERS_SCRIPT = """
import json, os, sys
from curator.dedup import kernels
from curator.dedup.near import find_duplicates

OUT = sys.argv[1]

def fetch(ids):
    with open(OUT, "a") as f:
        f.write(json.dumps([os.getpid(), len(kernels._signatures.signatures),
                            len(kernels._normalise_utf8.signatures)]) + "\\n")
    return [json.dumps({"messages": [{"role": "user", "content": f"question {i % 7} " * 9},
                                     {"role": "assistant", "content": "an answer " * 8}]}
                       ).encode() for i in ids]

if __name__ == "__main__":
    result = find_duplicates(ids=list(range(60)), fetch=fetch, processes=2, batch_size=5)
    print(json.dumps([os.getpid(), result.stats.records, len(result.clusters)]))
"""


def test_the_workers_start_with_numba_readied_and_the_signing_kernels_loaded(
        tmp_path: Path) -> None:
    # numba's first compiled call in a process sets up its CPU target (0.28 s); the parent
    # does it before the workers fork, so they inherit it instead of each paying it again
    script = tmp_path / "run.py"
    script.write_text(_WORKERS_SCRIPT)
    seen = tmp_path / "seen.jsonl"
    out = subprocess.run([sys.executable, str(script), str(seen)], capture_output=True,
                         text=True, check=True, cwd=ROOT, timeout=300)
    parent, records, clusters = json.loads(out.stdout)
    assert (records, clusters) == (60, 7)
    batches = [json.loads(line) for line in seen.read_text().splitlines()]
    assert len(batches) == 12
    assert {pid for pid, *_ in batches} - {parent}  # read in the workers, not here
    assert all(signing > 0 and normalising > 0 for _, signing, normalising in batches)


def test_the_command_line_freezes_the_collector_before_the_interpreter_exits(
        tmp_path: Path) -> None:
    # the collections at exit walked every object left (numba's registries: 0.15-0.2 CPU s
    # of a small `curator dedup`) only to free what the process gives back whole
    code = ("import atexit, gc, sys\n"
            "atexit.register(lambda: print('frozen', gc.get_freeze_count() > 0))\n"
            "from curator.cli import main\n"
            "sys.argv = ['curator', '--version']\n"
            "main()\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=tmp_path, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == "frozen True"
