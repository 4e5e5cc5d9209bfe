"""validate imports pydantic and the schema models only when a row needs the schema check: plain
chat rows (most rows of most files) never do, and the models cost about 0.1 s of CPU per start."""

from __future__ import annotations

import json
from pathlib import Path

from probe_helpers import probe_imports

from curator import schema
from curator.validate import chat, rows


def _validate(path: Path, *extra: str) -> dict[str, object]:
    found = probe_imports(["validate", str(path), "--workers", "1", "--json", *extra],
                          ("pydantic", "curator.schema"), path.parent)
    # the two modules themselves (their submodules come with them)
    return {"exit_code": found["exit_code"],
            "pydantic": [m for m in found["loaded"] if m in ("pydantic", "curator.schema")]}


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
