"""The schema files match the models, and JSON Schema and pydantic agree on what is valid."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pydantic import ValidationError

from curator.formats.schemas import DIALECT, drift, expected_files, render, write
from curator.schema import SCHEMA_MODELS

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"


def test_committed_schemas_have_not_drifted() -> None:
    assert drift(SCHEMA_DIR) == [], "run: python scripts/gen_schemas.py"


def test_drift_detects_a_stale_a_missing_and_an_extra_file(tmp_path: Path) -> None:
    write(tmp_path)
    assert drift(tmp_path) == []
    (tmp_path / "alpaca.json").write_text("{}\n")
    (tmp_path / "sharegpt.json").unlink()
    (tmp_path / "orphan.json").write_text("{}\n")
    problems = drift(tmp_path)
    assert any("alpaca.json: differs" in p for p in problems)
    assert any("sharegpt.json: missing" in p for p in problems)
    assert any("orphan.json: no model" in p for p in problems)


@pytest.mark.parametrize("name", sorted(SCHEMA_MODELS))
def test_schema_file_shape(name: str) -> None:
    text = render(name)
    data = json.loads(text)
    assert text.endswith("}\n")
    assert data["$schema"] == DIALECT
    assert data["$id"].endswith(name)
    assert text == json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    jsonschema.Draft202012Validator.check_schema(data)


def test_every_model_has_a_file() -> None:
    assert set(expected_files()) == {f"{n}.json" for n in SCHEMA_MODELS}


USER = {"role": "user", "content": "hi"}
ASSISTANT = {"role": "assistant", "content": "hello"}
CALL = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}

# (schema name, row, valid?) — validity judged from reference/formats.md §2, not from the code.
SAMPLES: list[tuple[str, Any, bool]] = [
    ("openai-chat", {"messages": [USER, ASSISTANT]}, True),
    ("openai-chat", {"messages": [{"role": "system", "content": "s"}, USER,
                                  {"role": "assistant", "tool_calls": [CALL]},
                                  {"role": "tool", "content": "ok", "tool_call_id": "c1"},
                                  {**ASSISTANT, "weight": 0}],
                     "tools": [{"type": "function", "function": {"name": "f"}}]}, True),
    ("openai-chat", {"messages": [USER, {"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": "low"}}]}]}, True),
    ("openai-chat", {"messages": []}, False),
    ("openai-chat", {"messages": [{"role": "human", "content": "hi"}]}, False),
    ("openai-chat", {"messages": [USER, {**ASSISTANT, "weight": 2}]}, False),
    ("openai-chat", {"messages": [USER, {**ASSISTANT, "weight": "1"}]}, False),
    ("openai-chat", {"messages": [USER, {**ASSISTANT, "weight": True}]}, False),
    ("openai-chat", {"messages": [{"role": "tool", "content": "x"}]}, False),
    ("openai-chat", {"messages": [USER], "extra": 1}, False),
    ("openai-chat", {"messages": [{"role": "assistant", "content": [
        {"type": "image_url", "image_url": {"url": "https://x"}}]}]}, False),
    ("openai-chat", {"messages": [USER], "tools": [
        {"type": "function", "function": {"name": "bad name!"}}]}, False),
    ("openai-chat", {"messages": [{"role": "assistant", "tool_calls": [
        {**CALL, "function": {"name": "f", "arguments": {"a": 1}}}]}]}, False),
    ("prompt-completion", {"prompt": "p", "completion": "c"}, True),
    ("prompt-completion", {"prompt": "p"}, False),
    ("prompt-completion", {"prompt": "p", "completion": 3}, False),
    ("prompt-completion", {"prompt": "p", "completion": "c", "label": True}, False),
    ("trl-conversational-prompt-completion", {"prompt": [USER], "completion": [ASSISTANT]}, True),
    ("trl-conversational-prompt-completion", {"prompt": "p", "completion": [ASSISTANT]}, False),
    ("openai-preference", {"input": {"messages": [USER]}, "preferred_output": [ASSISTANT],
                           "non_preferred_output": [{"role": "assistant", "content": "no"}]}, True),
    ("openai-preference", {"input": {"messages": [USER]}, "preferred_output": [ASSISTANT],
                           "non_preferred_output": [ASSISTANT, ASSISTANT]}, False),
    ("openai-preference", {"input": {"messages": [USER]}, "preferred_completion": [ASSISTANT],
                           "non_preferred_completion": [ASSISTANT]}, False),
    ("alpaca", {"instruction": "i", "input": "", "output": "o"}, True),
    ("alpaca", {"instruction": "i", "output": "o", "system": "s",
                "history": [["u", "a"]], "category": "x"}, True),
    ("alpaca", {"instruction": "i", "output": "o", "history": [["u"]]}, False),
    ("alpaca", {"instruction": "i"}, False),
    ("sharegpt", {"conversations": [{"from": "human", "value": "hi"},
                                    {"from": "gpt", "value": "yo"}], "tools": "[]"}, True),
    ("sharegpt", {"conversations": []}, False),
    ("sharegpt", {"conversations": [{"from": "human"}]}, False),
]


@pytest.mark.parametrize(("name", "row", "valid"), SAMPLES,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(SAMPLES)])
def test_jsonschema_and_pydantic_agree(name: str, row: Any, valid: bool) -> None:
    schema = json.loads((SCHEMA_DIR / f"{name}.json").read_text(encoding="utf-8"))
    schema_ok = jsonschema.Draft202012Validator(schema).is_valid(row)
    try:
        SCHEMA_MODELS[name].model_validate_json(json.dumps(row))
        model_ok = True
    except ValidationError:
        model_ok = False
    assert (schema_ok, model_ok) == (valid, valid)


def test_model_rejects_a_float_weight_that_json_schema_cannot() -> None:
    # JSON Schema's "integer" admits 1.0; OpenAI does not (formats.md chat.weight_invalid), so
    # the model is the stricter of the two here and curator.validate relies on it.
    row = '{"messages": [{"role": "assistant", "content": "x", "weight": 1.0}]}'
    with pytest.raises(ValidationError):
        SCHEMA_MODELS["openai-chat"].model_validate_json(row)
