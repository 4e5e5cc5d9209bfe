"""JSON Schema files generated from the pydantic models in `curator.schema`.

`schemas/<name>.json` is the published contract (draft 2020-12) for each entry of
`SCHEMA_MODELS`. The files are generated, never edited: `scripts/gen_schemas.py` writes them and
`--check` (and tests/unit/test_schemas.py) fail when they drift from the models.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from curator.schema import SCHEMA_MODELS

DIALECT = "https://json-schema.org/draft/2020-12/schema"
ID_BASE = "urn:curator-ft:schema:"


def schema_for(name: str) -> dict[str, Any]:
    """The JSON Schema of `SCHEMA_MODELS[name]`, with `$schema` and a stable `$id`."""
    schema = SCHEMA_MODELS[name].model_json_schema(mode="validation")
    return {"$schema": DIALECT, "$id": f"{ID_BASE}{name}", **schema}


def render(name: str) -> str:
    """The exact file text: sorted keys and two-space indent, so diffs stay small and stable."""
    return json.dumps(schema_for(name), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def expected_files() -> dict[str, str]:
    return {f"{name}.json": render(name) for name in SCHEMA_MODELS}


def drift(directory: Path) -> list[str]:
    """Problems between `directory` and the models: missing, stale or unexpected files."""
    problems = []
    expected = expected_files()
    for filename, text in expected.items():
        path = directory / filename
        if not path.exists():
            problems.append(f"{path}: missing")
        elif path.read_text(encoding="utf-8") != text:
            problems.append(f"{path}: differs from the model")
    for path in sorted(directory.glob("*.json")):
        if path.name not in expected:
            problems.append(f"{path}: no model produces it")
    return problems


def write(directory: Path) -> list[Path]:
    from curator.io import atomic_write_bytes

    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for filename, text in expected_files().items():
        path = directory / filename
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            atomic_write_bytes(path, text.encode("utf-8"))
            written.append(path)
    for path in directory.glob("*.json"):
        if path.name not in expected_files():
            path.unlink()
            written.append(path)
    return written
