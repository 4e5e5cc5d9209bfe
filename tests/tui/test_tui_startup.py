"""How much the review app loads before its first screen (issue 15: the first screen within 1.5 s
of the command on a million records, start-up included). The validator (numpy, pydantic, the
schema) and the export chain are loaded only when an edit is checked or a
job runs; opening the app and moving in the list never needs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from tui_helpers import ROWS

from curator.cli import cli

ROOT = Path(__file__).resolve().parents[2]

#: not needed to open the app, draw the first screen and move in the list
NOT_AT_START = ("numpy", "numba", "pandas", "pyarrow", "pydantic", "tiktoken", "bpe_openai",
                "torch", "transformers", "curator.validate", "curator.schema",
                "curator.export", "curator.workspace.export", "curator.workspace.prepare",
                "curator.workspace.importer", "curator.dedup")

# A fresh interpreter, so modules that other tests imported cannot hide an import.
_PROBE = """
import asyncio, json, sys
from pathlib import Path
from curator.tui.app import ReviewApp

watched = json.loads(sys.argv[2])

async def main():
    app = ReviewApp(Path(sys.argv[1]), cursor_blink=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        first = app.main.current_id()
        await pilot.press("j", "j", "k")
        await pilot.pause()
        moved = app.main.current_id()
    return first, moved

first, moved = asyncio.run(main())
loaded = sorted(m for m in sys.modules for h in watched if m == h or m.startswith(h + "."))
print(json.dumps({"first": first, "moved": moved, "loaded": loaded}))
"""


def _workspace(folder: Path) -> Path:
    """A workspace as `curator import` makes it (it stores the target, tokenizer and limit)."""
    data, ws = folder / "d.jsonl", folder / "w.db"
    data.write_text("".join(json.dumps(r) + "\n" for r in ROWS), encoding="utf-8")
    result = CliRunner().invoke(cli, ["import", str(data), "-w", str(ws), "--workers", "1"])
    assert result.exit_code in (0, 1), result.output
    return ws


def _probe(ws: Path, watched: tuple[str, ...]) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-c", _PROBE, str(ws), json.dumps(watched)],
                         capture_output=True, text=True, cwd=ROOT, env=env, check=True, timeout=120)
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def test_the_first_screen_loads_neither_the_validator_nor_the_exporter(tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    result = _probe(ws, NOT_AT_START)
    assert result["first"] == 1 and result["moved"] == 2  # it did open, draw and move
    assert result["loaded"] == []


def test_the_probe_sees_what_an_edit_check_loads(tmp_path: Path) -> None:
    # The check above is worth something only if the probe sees these modules when they load:
    # checking an edit (the app's validator) loads them.
    ws = _workspace(tmp_path)
    probe = _PROBE.replace("    return first, moved",
                           "    app.check({'messages': [{'role': 'user', 'content': 'q'}]})\n"
                           "    return first, moved")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-c", probe, str(ws), json.dumps(NOT_AT_START)],
                         capture_output=True, text=True, cwd=ROOT, env=env, check=True, timeout=120)
    loaded = json.loads(out.stdout.strip().splitlines()[-1])["loaded"]
    assert "curator.validate" in loaded and "curator.workspace.prepare" in loaded
