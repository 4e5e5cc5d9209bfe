"""Token counts: exactness against tiktoken, the cookbook formula, model tables, HF counter."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tokenizer_helpers import CHAT, GEN_TEMPLATE, PLAIN_TEMPLATE, make_tokenizer

from curator.tokens import (
    IMAGE_TOKENS_LOW_DETAIL,
    ChatCount,
    HFTokenCounter,
    TiktokenCounter,
    TokenizerError,
    encoding_for_model,
    get_counter,
    get_encoding,
    training_limit,
)

ENCODINGS = ("o200k_base", "cl100k_base")

VARIED = [
    "",
    "Hello, world!",
    "naïve café Zürich façade résumé",
    "机器学习是人工智能的一个分支。" * 40,
    "自然言語処理 데이터 Привет שלום مرحبا",
    "🙂🚀👍🏽🇫🇷 family: 👨‍👩‍👧‍👦",
    " " * 1000,
    "a" + " " * 777 + "b",
    "\n\n\n\t\t  \r\n x  \n",
    "x" * 50_000,
    "1234567890" * 300,
    "It's they're we'll I'VE he'd",
    "<|endoftext|>",
    "before <|endoftext|> after <|endofprompt|> <|fim_prefix|><|im_start|>user",
    "def f(x):\n    return {'a': [1, 2, 3]}  # comment\n",
    "The quick brown fox jumps over the lazy dog. " * 2000,
    "\u200b\u200d\u00ad\ufeff zero width",
    "\u0301\u0301combining",
]


@pytest.fixture(scope="module", params=ENCODINGS)
def encoding(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def counters(encoding: str) -> dict[str, TiktokenCounter]:
    return {b: TiktokenCounter(encoding, backend=b) for b in ("bpe-openai", "tiktoken")}


def _fuzz(seed: int, n: int) -> list[str]:
    rng = random.Random(seed)
    alphabet = [*" \t\n\r  abcXYZ019'.,!?<|>_-éü中文😀🏽\u200b\u0301'sllve",
                "<|endoftext|>", "<|endofprompt|>", "   ", "\n\n", "'re", "'S", "http://", "你好"]
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80))) for _ in range(n)]


def test_fast_backend_is_used(counters: dict[str, TiktokenCounter]) -> None:
    assert counters["bpe-openai"].backend == "bpe-openai"
    assert counters["tiktoken"].backend == "tiktoken"


@pytest.mark.parametrize("backend", ["bpe-openai", "tiktoken"])
def test_count_text_equals_tiktoken(counters: dict[str, TiktokenCounter], encoding: str,
                                    backend: str) -> None:
    enc = get_encoding(encoding)
    for text in [*VARIED, *_fuzz(1, 3000)]:
        assert counters[backend].count_text(text) == len(enc.encode_ordinary(text)), repr(text[:60])


def test_special_token_text_is_plain_text(counters: dict[str, TiktokenCounter]) -> None:
    # As a special token it would be 1 token; as plain text it is several.
    for c in counters.values():
        assert c.count_text("<|endoftext|>") > 1


def test_lone_surrogate_does_not_raise(counters: dict[str, TiktokenCounter], encoding: str) -> None:
    enc = get_encoding(encoding)
    text = "abc\ud800def"
    for c in counters.values():
        assert c.count_text(text) == len(enc.encode_ordinary(text))


def _expected(enc: Any, example: dict[str, Any]) -> ChatCount:
    """The documented method, written out directly with tiktoken."""
    def n(s: str) -> int:
        return len(enc.encode_ordinary(s))

    total, trained = 3, 0
    for m in example["messages"]:
        body = 0
        head = 3 + n(m["role"])
        content = m.get("content")
        if isinstance(content, str):
            body += n(content)
        elif isinstance(content, list):
            for p in content:
                body += n(p["text"]) if p["type"] == "text" else IMAGE_TOKENS_LOW_DETAIL
        for tc in m.get("tool_calls") or []:
            body += n(tc["function"]["name"]) + n(tc["function"]["arguments"])
        if "name" in m:
            head += n(m["name"]) + 1
        if "tool_call_id" in m:
            head += n(m["tool_call_id"])
        total += head + body
        if m["role"] == "assistant" and m.get("weight", 1) != 0:
            trained += body
    if "tools" in example:
        import json

        total += n(json.dumps(example["tools"], separators=(",", ":"), ensure_ascii=False))
    return ChatCount(total, trained)


EXAMPLES: list[dict[str, Any]] = [
    {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]},
    {"messages": [
        {"role": "system", "content": "You are terse. 你好"},
        {"role": "user", "content": "Name three colours.", "name": "alice"},
        {"role": "assistant", "content": "Red, green, blue.", "weight": 0},
        {"role": "user", "content": "Again"},
        {"role": "assistant", "content": "Cyan, magenta, yellow 🙂", "weight": 1},
    ]},
    {"messages": [
        {"role": "user", "content": [{"type": "text", "text": "What is this?"},
                                     {"type": "image_url", "image_url": {"url": "https://x/y.png",
                                                                         "detail": "low"}}]},
        {"role": "assistant", "content": [{"type": "text", "text": "A cat."}]},
    ]},
    {"tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather",
                                                 "parameters": {"type": "object", "properties": {
                                                     "city": {"type": "string"}}}}}],
     "messages": [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function", "function": {
            "name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "18C, sunny"},
        {"role": "assistant", "content": "It is 18C and sunny. <|endoftext|>"},
    ]},
]


@pytest.mark.parametrize("idx", range(len(EXAMPLES)))
def test_count_chat_matches_documented_method(counters: dict[str, TiktokenCounter], encoding: str,
                                              idx: int) -> None:
    expected = _expected(get_encoding(encoding), EXAMPLES[idx])
    for c in counters.values():
        assert c.count_chat(EXAMPLES[idx]) == expected


def test_name_adds_one_and_weight_zero_is_not_trained(counters: dict[str, TiktokenCounter]) -> None:
    c = counters["bpe-openai"]
    base = {"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "yes"}]}
    named = {"messages": [{"role": "user", "content": "x", "name": "bob"},
                          {"role": "assistant", "content": "yes"}]}
    muted = {"messages": [{"role": "user", "content": "x"},
                          {"role": "assistant", "content": "yes", "weight": 0}]}
    assert c.count_chat(named).total == c.count_chat(base).total + c.count_text("bob") + 1
    assert c.count_chat(base).trained == c.count_text("yes")
    assert c.count_chat(muted) == ChatCount(c.count_chat(base).total, 0)


def test_repeated_system_prompt_counts_the_same(counters: dict[str, TiktokenCounter]) -> None:
    c = counters["bpe-openai"]
    ex = {"messages": [{"role": "system", "content": "Be kind. " * 30},
                       {"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}
    first = c.count_chat(ex)
    assert [c.count_chat(ex) for _ in range(3)] == [first] * 3
    assert first == counters["tiktoken"].count_chat(ex)


def test_plain_chat_counts_as_the_documented_method(counters: dict[str, TiktokenCounter], encoding: str) -> None:
    # count_plain_chat is validate's count of a clean row; it must count what count_chat and
    # the documented method count, lone surrogates and repeated system prompts included
    enc = get_encoding(encoding)
    rng = random.Random(4)
    texts = [*VARIED[:9], *_fuzz(2, 300), "abc\ud800def"]
    for _ in range(300):
        roles = (["system"] if rng.random() < 0.4 else []) + ["user", "assistant"] * rng.randint(1, 3)
        ex = {"messages": [{"role": r, "content": rng.choice(texts)} for r in roles]}
        want = _expected(enc, ex)
        for c in counters.values():
            assert c.count_plain_chat(ex["messages"]) == (want.total, want.trained) == \
                (c.count_chat(ex).total, c.count_chat(ex).trained)


def test_malformed_example_does_not_raise(counters: dict[str, TiktokenCounter]) -> None:
    c = counters["bpe-openai"]
    assert c.count_chat({}) == ChatCount(3, 0)
    assert c.count_chat({"messages": "nope"}) == ChatCount(3, 0)
    odd = {"messages": [None, 5, {"role": "assistant", "content": None},
                        {"role": "user", "content": [{"type": "weird"}, "x"]}]}
    assert c.count_chat(odd) == ChatCount(3 + (3 + 1) + (3 + 1), 0)


# --- models ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("model", "enc"), [
    ("gpt-4o-2024-08-06", "o200k_base"), ("gpt-4o-mini-2024-07-18", "o200k_base"),
    ("gpt-4.1-nano-2025-04-14", "o200k_base"), ("o4-mini-2025-04-16", "o200k_base"),
    ("o1", "o200k_base"), ("o3-mini", "o200k_base"), ("gpt-5", "o200k_base"),
    ("ft:gpt-4o-mini-2024-07-18:acme::abc123", "o200k_base"),
    ("gpt-4-0613", "cl100k_base"), ("gpt-3.5-turbo-0125", "cl100k_base"),
    ("gpt-35-turbo", "cl100k_base"), ("babbage-002", "cl100k_base"),
    ("davinci-002", "cl100k_base"), ("GPT-4o", "o200k_base"),
])
def test_encoding_for_model(model: str, enc: str) -> None:
    assert encoding_for_model(model) == enc


def test_unknown_model_lists_known_ones() -> None:
    with pytest.raises(TokenizerError, match=r"gpt-4o.*gpt-3\.5-turbo"):
        encoding_for_model("llama-3-8b")


@pytest.mark.parametrize(("model", "limit"), [
    ("gpt-4o-2024-08-06", 65_536), ("gpt-4o-mini-2024-07-18", 65_536),
    ("gpt-4.1-2025-04-14", 65_536), ("gpt-4.1-mini-2025-04-14", 65_536),
    ("gpt-4.1-nano-2025-04-14", 32_768), ("o4-mini-2025-04-16", 65_536),
    ("gpt-3.5-turbo-0125", 16_385), ("gpt-3.5-turbo-1106", 16_385),
    ("gpt-3.5-turbo-0613", 4_096), ("gpt-4-0613", 8_192), ("babbage-002", 16_384),
    ("ft:gpt-4.1-nano-2025-04-14:org::x", 32_768),
])
def test_training_limit(model: str, limit: int) -> None:
    assert training_limit(model) == limit


def test_training_limit_unknown() -> None:
    with pytest.raises(TokenizerError, match="--max-tokens"):
        training_limit("gpt-5")


def test_get_counter_defaults_and_errors(tmp_path: Path) -> None:
    c = get_counter()
    assert c.name == "o200k_base"
    assert get_counter("azure", "gpt-35-turbo").name == "cl100k_base"
    with pytest.raises(TokenizerError, match="--model"):
        get_counter("trl")
    with pytest.raises(TokenizerError, match="not found"):
        get_counter("trl", str(tmp_path / "missing"))
    with pytest.raises(TokenizerError, match="unknown target"):
        get_counter("vertex")


# --- HF counter, with a tokenizer built here -------------------------------------------------

# the tiny word-level tokenizer, its two templates and CHAT: tests/helpers/tokenizer_helpers.py


@pytest.mark.parametrize("template", [GEN_TEMPLATE, PLAIN_TEMPLATE], ids=["mask", "prefix"])
def test_hf_counter(tmp_path: Path, template: str) -> None:
    folder = make_tokenizer(tmp_path / "tok", template)
    c = get_counter("trl", str(folder))
    assert isinstance(c, HFTokenCounter)
    assert c.has_generation_marks == (template == GEN_TEMPLATE)
    assert c.count_text("hello world") == 2
    assert c.count_chat(CHAT) == ChatCount(22, 7)


def test_hf_counter_weight_zero(tmp_path: Path) -> None:
    folder = make_tokenizer(tmp_path / "tok", GEN_TEMPLATE)
    muted = {"messages": [dict(m) for m in CHAT["messages"]]}
    muted["messages"][2]["weight"] = 0
    assert HFTokenCounter(str(folder)).count_chat(muted) == ChatCount(22, 2)


def test_hf_counter_without_template(tmp_path: Path) -> None:
    folder = make_tokenizer(tmp_path / "tok", None)
    with pytest.raises(TokenizerError, match="no chat template"):
        HFTokenCounter(str(folder))


def test_hf_counter_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(TokenizerError, match="not found"):
        HFTokenCounter(str(tmp_path / "nothing"))


def test_self_check_counts_are_tiktokens(encoding: str) -> None:
    from curator.tokens import SELF_CHECK_COUNTS, SELF_CHECK_PROBES

    enc = get_encoding(encoding)
    assert SELF_CHECK_COUNTS[encoding] == tuple(len(enc.encode_ordinary(p))
                                                for p in SELF_CHECK_PROBES)


def test_the_fast_counter_loads_without_the_bpe_openai_package() -> None:
    # `import bpe_openai` decodes three whole vocabularies in Python (over a second of CPU at
    # every start of validate, import and each import worker); the counter needs only the Rust
    # extension. A fresh interpreter, so no other test's import can hide it.
    code = ("import json, sys; from curator.tokens import TiktokenCounter; c = TiktokenCounter('o200k_base'); "
            "print(json.dumps([c.backend, c.count_text('Hello, world!'), "
            "sorted(m for m in sys.modules if m.startswith('bpe_openai'))]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    backend, count, modules = json.loads(out.stdout)
    assert (backend, count) == ("bpe-openai", 4)
    assert modules == ["bpe_openai._bindings"]
