"""One trained-token mask (curator/chat_template.py) for the token counter and the trainer."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from tokenizer_helpers import CHAT, GEN_TEMPLATE, PLAIN_TEMPLATE, make_tokenizer

from curator.chat_template import has_generation_blocks, template_messages, trained_spans
from curator.schema import ChatExample
from curator.tokens import ChatCount, HFTokenCounter
from curator.train.chat import encode
from curator.train.data import Example
from curator.train.errors import PreflightError


def _tokenizer(folder: Path) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(folder), local_files_only=True)


def _example(example: dict[str, Any]) -> Example:
    return Example(ChatExample(**example), "test.jsonl", 1, 0)


# An answer in two text parts and a turn with weight 0: the shapes where the counter and the
# trainer used to part ways (the counter rendered the raw parts list and, once a turn had weight
# 0, left the {% generation %} mask for length differences).
MIXED = {"messages": [
    {"role": "system", "content": "the cat"},
    {"role": "user", "content": "hello world"},
    {"role": "assistant", "content": [{"type": "text", "text": "good day"},
                                      {"type": "text", "text": " to you"}]},
    {"role": "user", "content": "how are you"},
    {"role": "assistant", "content": "good day", "weight": 0},
    {"role": "user", "content": "the mat"},
    {"role": "assistant", "content": "good"},
]}


@pytest.mark.parametrize("template", [GEN_TEMPLATE, PLAIN_TEMPLATE], ids=["mask", "prefix"])
@pytest.mark.parametrize("example", [CHAT, MIXED], ids=["plain", "parts-and-weight-0"])
def test_the_counter_counts_what_the_trainer_trains(tmp_path: Path, template: str,
                                                    example: dict[str, Any]) -> None:
    folder = make_tokenizer(tmp_path / "tok", template)
    counted = HFTokenCounter(str(folder)).count_chat(copy.deepcopy(example))
    encoded = encode(_tokenizer(folder), _example(example))
    assert counted == ChatCount(len(encoded.input_ids), encoded.n_trained)


@pytest.mark.parametrize("template", [GEN_TEMPLATE, PLAIN_TEMPLATE], ids=["mask", "prefix"])
def test_the_spans_are_the_trained_turns_through_their_end_token(tmp_path: Path, template: str) -> None:
    tok = _tokenizer(make_tokenizer(tmp_path / "tok", template))
    found = trained_spans(tok, MIXED["messages"])
    assert found.problem is None
    words = [tok.convert_ids_to_tokens(found.ids[a:b]) for a, b in found.spans]
    # the weight-0 turn ("good day") is not trained; each trained turn ends with its <|end|>
    assert words == [["good", "day", "to", "you", "<|end|>"], ["good", "<|end|>"]]
    assert found.trained == 7


def test_template_messages_are_what_templates_expect() -> None:
    shaped = template_messages([
        {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
        {"role": "assistant", "content": None, "weight": 0, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"x": 1}'}}]},
    ])
    assert shaped[0] == {"role": "user", "content": "ab"}
    assert "weight" not in shaped[1] and shaped[1]["content"] == ""
    assert shaped[1]["tool_calls"][0]["function"]["arguments"] == {"x": 1}


def test_generation_blocks_in_any_spelling() -> None:
    assert all(has_generation_blocks(t) for t in (
        "{% generation %}", "{%- generation %}", "{% generation -%}", "{%-generation-%}",
        "{%  generation  %}"))
    assert not has_generation_blocks(PLAIN_TEMPLATE) and not has_generation_blocks(None)


# A template that drops earlier answers once a later turn exists (as some reasoning models' do):
# the trained tokens cannot be found by prefix.
REWRITING = (
    "{% for m in messages %}<|{{ m['role'] }}|>"
    "{% if m['role'] == 'assistant' and not loop.last %}the{% else %}{{ m['content'] }}{% endif %}"
    " <|end|>{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def test_where_the_rule_cannot_find_the_tokens_train_stops_and_the_counter_estimates(
        tmp_path: Path) -> None:
    folder = make_tokenizer(tmp_path / "tok", REWRITING)
    found = trained_spans(_tokenizer(folder), CHAT["messages"])
    assert found.problem is not None and "renders message 2 differently" in found.problem
    with pytest.raises(PreflightError) as err:
        encode(_tokenizer(folder), _example(CHAT))
    assert err.value.message.startswith(f"{_example(CHAT).where}: the chat template renders message 2")
    assert err.value.fix is not None and "{% generation %}" in err.value.fix
    counted = HFTokenCounter(str(folder)).count_chat(CHAT)  # validate never raises for it
    assert counted.total > 0 and counted.trained > 0


def test_an_image_is_refused_by_the_trainer_and_estimated_by_the_counter(tmp_path: Path) -> None:
    folder = make_tokenizer(tmp_path / "tok", PLAIN_TEMPLATE)
    example = {"messages": [
        {"role": "user", "content": [{"type": "text", "text": "the cat"},
                                     {"type": "image_url", "image_url": {"url": "https://x.test/c.png"}}]},
        {"role": "assistant", "content": "good"},
    ]}
    with pytest.raises(PreflightError, match="image content part"):
        encode(_tokenizer(folder), _example(example))
    assert HFTokenCounter(str(folder)).count_chat(example).trained > 0
