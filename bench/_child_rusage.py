"""Run a command, pass its output through, then print its CPU time and peak RSS as JSON on stderr.

    python bench/_child_rusage.py CMD ARGS...

A fresh process per measurement, so RUSAGE_CHILDREN holds only the command's own figures.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys


def main() -> int:
    rc = subprocess.call(sys.argv[1:])
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({"cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
                      "max_rss_mb": round(usage.ru_maxrss / 1024, 1)}), file=sys.stderr)
    return rc


if __name__ == "__main__":
    sys.exit(main())
