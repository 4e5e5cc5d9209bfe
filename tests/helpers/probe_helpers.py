"""Run one curator command in a fresh interpreter, as a user's shell does, and say which of the
watched modules (or their submodules) it loaded: for tests of what a command imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

_PROBE = """
import json, sys
from curator.cli import main
args, watched = json.loads(sys.argv[1]), json.loads(sys.argv[2])
sys.argv = ["curator", *args]
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
loaded = sorted(m for m in sys.modules for h in watched if m == h or m.startswith(h + "."))
print(json.dumps({"exit_code": code, "loaded": loaded}), file=sys.stderr)
"""


def probe_imports(args: Sequence[str], watched: Sequence[str], cwd: Path) -> dict[str, Any]:
    """{"exit_code": ..., "loaded": [the watched modules and submodules the command imported]}."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-c", _PROBE, json.dumps(list(args)), json.dumps(list(watched))],
                         capture_output=True, text=True, cwd=cwd, env=env, check=False, timeout=120)
    result: dict[str, Any] = json.loads(out.stderr.strip().splitlines()[-1])
    return result
