"""validate imports pydantic and the schema models only when a row needs the schema check: plain
chat rows (most rows of most files) never do, and the models cost about 0.1 s of CPU per start."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from curator import schema
from curator.validate import chat, rows

ROOT = Path(__file__).resolve().parents[2]

_PROBE = """
import json, sys
from curator.cli import main
sys.argv = ["curator", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
print(json.dumps({"exit_code": code, "pydantic": sorted(m for m in sys.modules
                                                     if m in ("pydantic", "curator.schema"))}), file=sys.stderr)
"""


def _validate(path: Path, *extra: str) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-c", _PROBE, json.dumps(["validate", str(path), "--workers", "1",
                                                                    "--json", *extra])],
                         capture_output=True, text=True, cwd=path.parent, env=env, check=False, timeout=120)
    result: dict[str, object] = json.loads(out.stderr.strip().splitlines()[-1])
    return result


def test_plain_chat_is_validated_without_pydantic(tmp_path: Path) -> None:
    path = tmp_path / "plain.jsonl"
    path.write_text("".join(json.dumps({"messages": [{"role": "user", "content": f"Is {i} even?"},
                                                     {"role": "assistant", "content": "Yes, it is."}]}) + "\n"
                            for i in range(60)))
    assert _validate(path) == {"exit_code": 0, "pydantic": []}


def test_a_row_that_needs_the_schema_check_still_gets_it(tmp_path: Path) -> None:
    # a weighted message is not the plain shape, so the pydantic net runs (and finds nothing)
    path = tmp_path / "weighted.jsonl"
    path.write_text("".join(json.dumps({"messages": [{"role": "user", "content": f"Is {i} even?"},
                                                     {"role": "assistant", "content": "Yes.", "weight": 1}]}) + "\n"
                            for i in range(60)))
    assert _validate(path) == {"exit_code": 0, "pydantic": ["curator.schema", "pydantic"]}


def test_the_names_written_twice_agree_with_the_schema() -> None:
    assert frozenset(schema.SCHEMA_MODELS) == rows.MODEL_FORMATS
    assert chat.TOOL_NAME_PATTERN == schema.TOOL_NAME_PATTERN
