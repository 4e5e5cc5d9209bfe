"""Rows in other formats checked after conversion, the profiles without OpenAI encodings, and the
codes added from reference/formats.md §5 (alternation, sizes, images, dataset-level checks)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from tokenizer_helpers import PLAIN_TEMPLATE, make_tokenizer

from curator.cli import cli
from curator.issues import Issue
from curator.validate import engine
from curator.validate.context import Ctx
from curator.validate.profiles import get_profile
from curator.validate.rows import AFTER_CONVERSION, check_row


def _check(row: dict[str, Any], target: str = "openai") -> tuple[str, list[Issue], Ctx]:
    ctx = Ctx(get_profile(target))
    fmt = check_row(row, ctx)
    return fmt, ctx.issues, ctx


def _codes(issues: list[Issue]) -> set[str]:
    return {i.code for i in issues}


def _write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


SHAREGPT = {"conversations": [
    {"from": "human", "value": "What is the weather in Oslo?"},
    {"from": "function_call", "value": json.dumps({"name": "weather", "arguments": {"city": "Oslo"}})},
    {"from": "observation", "value": "{\"temp\": 3}"},
    {"from": "gpt", "value": "It is 3 degrees in Oslo."},
], "tools": json.dumps([{"name": "weather", "parameters": {"type": "object"}}])}


# --- rows in other formats ----------------------------------------------------------------------


def test_sharegpt_row_is_converted_then_checked_as_chat() -> None:
    fmt, issues, ctx = _check(SHAREGPT)
    assert fmt == "sharegpt"
    assert _codes(issues) == {"format.needs_conversion"}
    assert ctx.converted is not None
    roles = [m["role"] for m in ctx.converted["messages"]]
    assert roles == ["user", "assistant", "tool", "assistant"]


def test_problems_of_the_converted_row_are_reported_with_a_note() -> None:
    row = {"conversations": [{"from": "human", "value": "Hi {{name}}"},
                             {"from": "gpt", "value": ""}]}
    _, issues, _ = _check(row)
    by_code = {i.code: i for i in issues}
    assert {"format.needs_conversion", "chat.content_empty", "quality.placeholder"} <= set(by_code)
    assert by_code["chat.content_empty"].message.endswith(AFTER_CONVERSION)
    assert by_code["chat.content_empty"].message_index == 1


def test_row_that_cannot_be_converted_says_why() -> None:
    row = {"conversations": [{"from": "narrator", "value": "Once"}, {"from": "gpt", "value": "upon"}]}
    _, issues, ctx = _check(row)
    assert "chat.role_invalid" in _codes(issues)
    assert ctx.converted is None


def test_alpaca_is_native_for_llama_factory_but_still_checked() -> None:
    row = {"instruction": "Greet", "input": "", "output": "Call me at +1 415 555 0100."}
    _, issues, ctx = _check(row, "lf")
    assert "format.needs_conversion" not in _codes(issues)
    assert "quality.pii.phone" in _codes(issues)
    assert ctx.converted is not None


def test_converted_rows_are_token_counted(tmp_path: Path) -> None:
    rows = [{"instruction": f"Say {i}", "input": "", "output": f"Number {i}."} for i in range(12)]
    rep = engine.validate_file(_write_jsonl(tmp_path / "a.jsonl", rows), "openai", workers=1)
    assert rep.formats == {"alpaca": 12}
    assert rep.counts["format.needs_conversion"] == 12
    assert rep.tokens["counted"] == 12
    assert rep.tokens["trained"] > 0


# --- targets without an OpenAI encoding ----------------------------------------------------------


@pytest.mark.parametrize("target", ["lf", "together", "trl"])
def test_every_target_validates_without_a_model(tmp_path: Path, target: str) -> None:
    rows = [{"messages": [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"a{i}"}]}
            for i in range(3)]
    path = _write_jsonl(tmp_path / "c.jsonl", rows)
    result = CliRunner().invoke(cli, ["validate", str(path), "--target", target, "--json"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    data = json.loads(result.output)
    assert data["files"][0]["tokens"]["counted"] == 3
    assert data["summary"]["counts"]["tokens.approximate"] == 1


def test_template_failure_is_reported_on_the_row(tmp_path: Path) -> None:
    template = ("{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}"
                "{% endif %}" + PLAIN_TEMPLATE)
    folder = make_tokenizer(tmp_path / "tok", template)
    rows = [{"messages": [{"role": "system", "content": "the cat"}, {"role": "user", "content": "hello"},
                          {"role": "assistant", "content": "good day"}]},
            {"messages": [{"role": "user", "content": "hello"}, {"role": "assistant", "content": "good day"}]}]
    rep = engine.validate_file(_write_jsonl(tmp_path / "t.jsonl", rows), "trl", model=str(folder), workers=1)
    bad = [i for i in rep.issues if i.code == "template.render_error"]
    assert [(i.line, i.severity) for i in bad] == [(1, "error")]
    assert "System role not supported" in bad[0].message
    assert rep.tokens["counted"] == 1


# --- new rules -------------------------------------------------------------------------------------


def test_alternation_is_an_error_only_where_the_target_requires_it() -> None:
    row = {"messages": [{"role": "system", "content": "s"}, {"role": "assistant", "content": "hello"},
                        {"role": "user", "content": "hi"}, {"role": "assistant", "content": "yes"}]}
    _, lf_issues, _ = _check(row, "lf")
    alt = [i for i in lf_issues if i.code == "chat.roles_not_alternating"]
    assert [(i.message_index, i.severity) for i in alt] == [(1, "error")]
    _, oa_issues, _ = _check(row, "openai")
    assert "chat.roles_not_alternating" not in _codes(oa_issues)


def test_parallel_tool_results_take_one_user_position() -> None:
    calls = [{"id": f"c{k}", "type": "function", "function": {"name": "f", "arguments": "{}"}} for k in (1, 2)]
    row = {"messages": [{"role": "user", "content": "go"},
                        {"role": "assistant", "content": None, "tool_calls": calls},
                        {"role": "tool", "tool_call_id": "c1", "content": "one"},
                        {"role": "tool", "tool_call_id": "c2", "content": "two"},
                        {"role": "assistant", "content": "done"}]}
    _, issues, _ = _check(row, "lf")
    assert "chat.roles_not_alternating" not in _codes(issues)


def test_functions_limits() -> None:
    fns = [{"name": f"f{k}", "parameters": {"type": "object"}} for k in range(129)]
    row = {"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}], "functions": fns}
    assert "tools.functions_too_many" in _codes(_check(row)[1])
    row = {**row, "functions": fns[:1],
           "tools": [{"type": "function", "function": {"name": "g"}}]}
    codes = _codes(_check(row)[1])
    assert "tools.mixed_legacy_and_tools" in codes
    assert "tools.functions_too_many" not in codes


def _image_row(url: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": [{"type": "text", "text": "what is it"},
                                                      {"type": "image_url", "image_url": {"url": url}}]},
                         {"role": "assistant", "content": "a dot"}]}


def test_image_format_and_size() -> None:
    small = base64.b64encode(b"\x89PNG" + b"\0" * 30).decode()
    assert not {"image.format_unsupported", "image.too_large"} & _codes(
        _check(_image_row(f"data:image/png;base64,{small}"))[1])
    assert "image.format_unsupported" in _codes(_check(_image_row(f"data:image/gif;base64,{small}"))[1])
    big = "A" * (14 * 1024 * 1024)
    assert "image.too_large" in _codes(_check(_image_row(f"data:image/jpeg;base64,{big}"))[1])


def test_answer_that_repeats_the_prompt() -> None:
    row = {"messages": [{"role": "user", "content": "Describe the bike."},
                        {"role": "assistant", "content": " Describe the bike. "}]}
    assert "quality.response_equals_prompt" in _codes(_check(row)[1])
    row["messages"][1]["content"] = "It is red."
    assert "quality.response_equals_prompt" not in _codes(_check(row)[1])


def test_literal_escapes() -> None:
    row = {"messages": [{"role": "user", "content": "List two."},
                        {"role": "assistant", "content": "one\\ntwo\\nthree"}]}
    assert "quality.literal_escapes" in _codes(_check(row)[1])
    row["messages"][1]["content"] = "print('a\\n')\nprint('b\\n')"  # code with real line breaks
    assert "quality.literal_escapes" not in _codes(_check(row)[1])


def test_implicit_prompt_without_common_start() -> None:
    row = {"chosen": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}],
           "rejected": [{"role": "user", "content": "c"}, {"role": "assistant", "content": "d"}]}
    assert "pref.implicit_prompt_empty" in _codes(_check(row, "trl")[1])
    row["rejected"][0] = row["chosen"][0]
    assert "pref.implicit_prompt_empty" not in _codes(_check(row, "trl")[1])


# --- file and dataset level --------------------------------------------------------------------------


def _chat(i: int, answer: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": f"question {i}"}, {"role": "assistant", "content": answer}]}


def test_refusal_share(tmp_path: Path) -> None:
    rows = [_chat(i, "As an AI language model, I cannot." if i < 3 else f"answer {i}") for i in range(20)]
    rep = engine.validate_file(_write_jsonl(tmp_path / "r.jsonl", rows), "openai", workers=1)
    assert rep.counts["quality.refusal"] == 3
    assert rep.counts["dataset.refusal_share"] == 1
    rows = [_chat(i, "As an AI language model, I cannot." if i < 1 else f"answer {i}") for i in range(20)]
    rep = engine.validate_file(_write_jsonl(tmp_path / "r.jsonl", rows), "openai", workers=1)
    assert rep.counts["dataset.refusal_share"] == 0


def test_size_limits_per_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write_jsonl(tmp_path / "s.jsonl", [_chat(i, "ok") for i in range(10)])
    size = path.stat().st_size
    monkeypatch.setattr(engine, "FILES_API_LIMIT", size - 1)
    monkeypatch.setattr(engine, "AZURE_LARGE", size - 2)
    oa = engine.validate_file(path, "openai", workers=1)
    assert [(i.code, i.severity) for i in oa.issues if i.code.startswith("file.")] == [("file.too_large", "warning")]
    az = engine.validate_file(path, "azure", workers=1)
    assert ("file.too_large", "error") in {(i.code, i.severity) for i in az.issues}
    monkeypatch.setattr(engine, "FILES_API_LIMIT", size + 100)
    az = engine.validate_file(path, "azure", workers=1)
    assert az.counts["file.large"] == 1 and az.counts["file.too_large"] == 0


def test_overlap_between_files_is_reported_on_the_later_file(tmp_path: Path) -> None:
    train = _write_jsonl(tmp_path / "train.jsonl", [_chat(i, f"a{i}") for i in range(10)])
    valid = _write_jsonl(tmp_path / "valid.jsonl", [_chat(i, f"a{i}") for i in (3, 50, 7)])
    result = CliRunner().invoke(cli, ["validate", str(train), str(valid), "--json"])
    data = json.loads(result.output)
    overlap = [i for i in data["issues"] if i["code"] == "dataset.train_val_overlap"]
    assert [(i["file"], i["line"]) for i in overlap] == [(str(valid), 1)]
    assert overlap[0]["message"].startswith(f"2 example(s) also in {train}; the first is line 1 here and line 4 there")
    assert data["files"][0]["counts"].get("dataset.train_val_overlap") is None


@pytest.mark.parametrize(("text", "flagged"), [
    ("card 4111 1111 1111 1111 ok", True),
    ("4111111111111111", True),
    ("amex 3782 822463 10005", True),
    ("The area is 50.26548245743669 cm", False),  # digits after a decimal point
    ("01010100 01110011 00100000 01110011 01101001 00100000 01100010", False),  # binary
    ("pi is 3.1415926535897932384626433832795", False),
    ("So the sum is 1007411131329104.", False),  # passes Luhn, but no card scheme starts with 1
])
def test_card_numbers_are_told_from_other_digit_runs(text: str, flagged: bool) -> None:
    row = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": text}]}
    assert ("quality.pii.credit_card" in _codes(_check(row)[1])) is flagged


LF_RANKING = {"conversations": [{"from": "human", "value": "Pick a colour"}],
              "chosen": {"from": "gpt", "value": "Blue."}, "rejected": {"from": "gpt", "value": "Blue."}}
LF_V1 = {"messages": [{"role": "user", "content": [{"type": "text", "value": "Hi {{name}}"}], "loss_weight": 0.0},
                      {"role": "assistant", "content": [{"type": "text", "value": "Hello."}], "loss_weight": 1.0}]}


def test_llama_factory_ranking_rows_get_the_preference_rules() -> None:
    fmt, issues, _ = _check(LF_RANKING)
    assert fmt == "sharegpt-preference"
    codes = _codes(issues)
    assert {"format.needs_conversion", "pref.identical_outputs"} <= codes
    assert "chat.last_not_assistant" not in codes
    fmt, issues, _ = _check(LF_RANKING, "lf")
    assert "format.needs_conversion" not in _codes(issues)


def test_llama_factory_v1_rows_are_converted_not_misread_as_chat() -> None:
    fmt, issues, ctx = _check(LF_V1)
    assert fmt == "lf-v1-messages"
    codes = _codes(issues)
    assert "chat.message_unknown_key" not in codes and "content.text_missing" not in codes
    assert {"format.needs_conversion", "quality.placeholder"} <= codes
    assert ctx.converted is not None and ctx.converted["messages"][1]["content"] == "Hello."
