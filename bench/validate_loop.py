"""Validate's worker loop over K 1 MB ranges of a file, after one warm-up range: a fixed amount
of work for an instruction count that the machine's load does not move.

    valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.0 python bench/validate_loop.py FILE 0
    valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.2 python bench/validate_loop.py FILE 2

A third argument `compiled` turns on the compiled ASCII count (`RowChecker.use_compiled_ascii`,
what validate does for files of 256 MB and more).

(Instructions per row: the difference of the two totals over the rows the second run prints.
Run each checkout's pair from a folder without a `curator` package, with PYTHONPATH set to the
checkout, after one plain run so that its byte-code is written.)
"""

from __future__ import annotations

import os
import sys

from curator.io import chunk_bounds
from curator.validate.engine import Options, RowChecker, check_range


def main() -> int:
    path, k = sys.argv[1], int(sys.argv[2])
    checker = RowChecker(Options())
    if sys.argv[3:] == ["compiled"] and not checker.use_compiled_ascii():
        raise SystemExit("the compiled ASCII count is not available here")
    size = os.path.getsize(path)
    bounds = chunk_bounds(path, 0, size, 1 << 20)
    check_range(checker, path, *bounds[0], False)
    rows = sum(check_range(checker, path, s, e, e >= size).examples for s, e in bounds[1:1 + k])
    print("rows", rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
