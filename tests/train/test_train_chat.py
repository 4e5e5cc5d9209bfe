"""The loss mask: assistant tokens only, EOS trained, weight-0 turns not trained."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from curator.schema import ChatExample
from curator.train.chat import IGNORE, encode, truncate
from curator.train.data import Example
from curator.train.errors import PreflightError
from curator.train.models import TINY_CHAT_TEMPLATE, tiny_tokenizer


def example(messages: list[dict[str, object]]) -> Example:
    return Example(ChatExample.model_validate({"messages": messages}), "data.jsonl", 7, 1)


CONVERSATION = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "hi"},
    {"role": "assistant", "content": "SKIPPED reply", "weight": 0},
    {"role": "user", "content": "and?"},
    {"role": "assistant", "content": "first kept"},
    {"role": "user", "content": "more"},
    {"role": "assistant", "content": "second kept", "weight": 1},
]


def trained_spans(tok: object, enc: object) -> list[str]:
    """Decode each contiguous run of trained tokens."""
    spans, run = [], []
    for i, lab in zip(enc.input_ids, enc.labels, strict=True):  # type: ignore[attr-defined]
        if lab != IGNORE:
            run.append(i)
        elif run:
            spans.append(run)
            run = []
    if run:
        spans.append(run)
    return [tok.decode(s) for s in spans]  # type: ignore[attr-defined]


def test_only_weighted_assistant_turns_are_trained_through_eos() -> None:
    tok = tiny_tokenizer()
    enc = encode(tok, example(CONVERSATION))
    # Each trained span is exactly the assistant's content plus the end-of-turn/EOS token.
    assert trained_spans(tok, enc) == ["first kept" + tok.eos_token, "second kept" + tok.eos_token]
    # Trained labels equal the input ids at their positions (the model shifts internally).
    assert all(lab in (IGNORE, i) for i, lab in zip(enc.input_ids, enc.labels, strict=True))
    # The whole sequence is the template's rendering, tokenized once.
    assert tok.decode(enc.input_ids) == tok.apply_chat_template(
        [{k: v for k, v in m.items() if k != "weight"} for m in CONVERSATION], tokenize=False)


def test_generation_blocks_give_the_same_mask_as_the_prefix_diff() -> None:
    tok = tiny_tokenizer()
    plain = encode(tok, example(CONVERSATION))
    gen_template = TINY_CHAT_TEMPLATE.replace(
        "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}",
        "{{ '<|im_start|>' + message['role'] + '\\n' }}"
        "{% if message['role'] == 'assistant' %}{% generation %}{{ message['content'] + '<|im_end|>' }}{% endgeneration %}"
        "{% else %}{{ message['content'] + '<|im_end|>' }}{% endif %}{{ '\\n' }}")
    assert "generation" in gen_template
    tok_gen = tiny_tokenizer(chat_template=gen_template)
    gen = encode(tok_gen, example(CONVERSATION))
    assert gen.input_ids == plain.input_ids
    assert gen.labels == plain.labels


def test_template_that_rewrites_earlier_turns_fails_clearly() -> None:
    # Renders the last message differently from the same message followed by others.
    template = ("{% for m in messages %}{{ m['role'] + ':' + m['content'] }}"
                "{% if loop.last %}{{ '<|im_end|>' }}{% else %}{{ '|' }}{% endif %}{% endfor %}"
                "{% if add_generation_prompt %}{{ 'assistant:' }}{% endif %}")
    tok = tiny_tokenizer(chat_template=template)
    with pytest.raises(PreflightError, match=r"data.jsonl:7: .*differently"):
        encode(tok, example(CONVERSATION))


def test_all_weight_zero_trains_nothing_and_truncation_keeps_the_start() -> None:
    tok = tiny_tokenizer()
    enc = encode(tok, example([{"role": "user", "content": "q"},
                               {"role": "assistant", "content": "a", "weight": 0}]))
    assert enc.n_trained == 0
    full = encode(tok, example(CONVERSATION))
    cut = truncate(full, 20)
    assert cut.truncated and cut.input_ids == full.input_ids[:20] and cut.labels == full.labels[:20]
    assert truncate(full, len(full.input_ids)) is full
