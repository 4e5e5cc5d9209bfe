"""The dedup workers read an example of the plain chat shape from its JSON in compiled code
(`kernels.plain_chat`): its comparison text and its `padded` flag must be exactly what the JSON
parser, `example_text` and `padded` give, for every example and every way of writing its JSON;
every other shape goes the parser's way."""

from __future__ import annotations

import json
import random
from typing import Any

import numpy as np
import orjson
import pytest

from curator.dedup import near
from curator.dedup.exact import as_text
from curator.dedup.minhash import DEFAULT_SHINGLING
from curator.dedup.normalize import padded

_WORDS = ["hello", "World", "  ", "\n", "\n\n\n", "   ", "\t", "\r", "x", "Ünïcödé", "ｆｕｌｌ",
          "e\u0301", "\u200b", "\ufeff", "😀", "𝔘", "\"quoted\"", "back\\slash", "/", "\x00",
          "\x1f", "\u2028", "日本語", "ß", "İ", "<|user|>", "{", "}", "[", "]", ":", ",",
          "ﬁ", "\u00ad", "Ω", "\x7f", "tab\tbed", "a  b", "end "]
_ROLES = ["user", "assistant", "system", "developer", "tool", "", "System", "rôle", "sys\ntem"]


def _string(rng: random.Random) -> str:
    return "".join(rng.choice(_WORDS) for _ in range(rng.randint(0, 6)))


def _message(rng: random.Random) -> dict[str, Any]:
    shape = rng.random()
    message: dict[str, Any] = {"role": rng.choice(_ROLES), "content": _string(rng)}
    if shape < 0.08:
        message["content"] = [{"type": "text", "text": _string(rng)},
                              {"type": "image_url", "image_url": {"url": "http://x/y.png"}}]
    elif shape < 0.12:
        message["content"] = None
        message["tool_calls"] = [{"id": "c1", "type": "function", "function": {
            "name": "f", "arguments": json.dumps({"q": _string(rng)})}}]
    elif shape < 0.14:
        message["function_call"] = {"name": "g", "arguments": "{}"}
    elif shape < 0.16:
        del message["role"]
    elif shape < 0.18:
        del message["content"]
    elif shape < 0.20:
        message["weight"] = 0
    elif shape < 0.22:
        message["content"] = 3
    elif shape < 0.24:
        message["name"] = _string(rng)
    return message


def _example(rng: random.Random) -> Any:
    shape = rng.random()
    messages = [_message(rng) if rng.random() < 0.3 else
                {"role": rng.choice(_ROLES), "content": _string(rng)}
                for _ in range(rng.randint(0, 5))]
    if shape < 0.05:
        return {"prompt": messages[:1], "chosen": messages[1:2], "rejected": messages[2:3]}
    if shape < 0.08:
        return {"prompt": messages[:1], "completion": messages[1:2], "label": rng.random() < .5}
    if shape < 0.10:
        return {"messages": messages, "tools": []}
    if shape < 0.12:
        return {"conversation": messages}
    return {"messages": messages}


def _dumps(rng: random.Random, example: Any) -> bytes:
    way = rng.randrange(5)
    if way == 0:
        return orjson.dumps(example, option=orjson.OPT_SORT_KEYS)  # as the workspace keeps it
    if way == 1:
        return orjson.dumps(example)
    if way == 2:  # every non-ASCII character escaped (surrogate pairs too)
        return json.dumps(example, ensure_ascii=True).encode()
    if way == 3:
        return json.dumps(example, ensure_ascii=False, indent=rng.choice([None, 1, "\t"]),
                          separators=rng.choice([(",", ":"), (", ", ": "), (" ,\r\n", " :\t")]),
                          ).encode("utf-8")
    return b" \n" + orjson.dumps(example, option=orjson.OPT_INDENT_2) + b"\r\n "


def _python_way(item: bytes, include_system: bool) -> tuple[bytes, int]:
    example = orjson.loads(item)
    return (as_text(example, include_system=include_system, raw_ascii=True).encode("utf-8"),
            padded(example) if isinstance(example, dict) else 0)


def _job(items: list[bytes], include_system: bool, flag: Any = padded) -> near._BatchJob:
    return near._BatchJob(list(items), include_system, 128, DEFAULT_SHINGLING, 16, 8,
                          flag=flag)


@pytest.mark.parametrize("seed", range(4))
def test_the_compiled_read_gives_the_parsers_text_and_padding(seed: int) -> None:
    rng = random.Random(seed)
    items = [_dumps(rng, _example(rng)) for _ in range(1_500)]
    for include_system in (False, True):
        texts, flags = near._read_items(_job(items, include_system), items)
        want = [_python_way(item, include_system) for item in items]
        assert texts == [w[0] for w in want]
        assert flags.tolist() == [w[1] for w in want]
        # without a flag asked for, the same texts and no flags
        texts, flags = near._read_items(_job(items, include_system, None), items)
        assert texts == [w[0] for w in want] and len(flags) == 0


def test_plain_chat_examples_are_read_compiled_and_other_shapes_are_not() -> None:
    from curator.dedup import kernels

    def kinds(*examples: bytes) -> list[int]:
        data = np.frombuffer(b"".join(examples), dtype=np.uint8)
        bounds = np.cumsum([0, *map(len, examples)]).astype(np.int64)
        return kernels.plain_chat(data, bounds, False)[2].tolist()

    plain = {"messages": [{"role": "user", "content": "Hi there"},
                          {"role": "assistant", "content": "Hello\\n \"you\""}]}
    assert kinds(orjson.dumps(plain, option=orjson.OPT_SORT_KEYS), orjson.dumps(plain),
                 json.dumps(plain, indent=2).encode(), b'{"messages":[]}',
                 json.dumps({"messages": [{"role": "user", "content": "caf\u00e9"}]}).encode(),
                 ) == [0, 0, 0, 0, 1]
    assert kinds(orjson.dumps({"messages": [{"role": "user", "content": "😀"}]}),
                 json.dumps({"messages": [{"role": "user", "content": "😀"}]}).encode(),
                 orjson.dumps({"messages": [{"role": "user", "content": None}]}),
                 orjson.dumps({"messages": [{"role": "user", "content": "a", "name": "b"}]}),
                 orjson.dumps({"messages": [{"role": "user"}]}),
                 orjson.dumps({"messages": [], "tools": []}),
                 orjson.dumps({"prompt": [], "chosen": [], "rejected": []}),
                 b'{"messages":[{"role":"user","content":"a","content":"b"}]}',
                 b'{"messages":[{"role":"user","content":"a"}]} x',
                 b'{"messages":[{"role":"user","content":"a\tb"}]}',
                 ) == [1, -1, -1, -1, -1, -1, -1, -1, -1, -1]


def test_json_the_parser_refuses_is_refused_as_before() -> None:
    for bad in (b'{"messages":[{"role":"user","content":"a"}]} x',
                b'{"messages":[{"role":"user","content":"a\tb"}]}',
                b'{"messages":[{"role":"user","content":"\xff\xfe"}]}',
                b'{"messages":[{"role":"user","content":"\xc3"}]}'):
        with pytest.raises(orjson.JSONDecodeError):
            orjson.loads(bad)
        with pytest.raises(orjson.JSONDecodeError):
            near._read_items(_job([bad], False), [bad])


def test_dedup_of_json_items_equals_dedup_of_the_parsed_examples() -> None:
    # the whole pipeline: the same clusters, pairs and keepers (the padding ranks the
    # keepers) whether the workers read each example's JSON or get it parsed
    rng = random.Random(5)
    base = [{"messages": [{"role": "user", "content": f"Question {k}: {_string(rng)} tell me "
                           f"about item {k % 40} please"},
                          {"role": "assistant", "content": f"Answer about {k % 40} " * 3}]}
            for k in range(300)]
    examples: list[Any] = []
    for k, ex in enumerate(base):
        examples.append(ex)
        if k % 3 == 0:  # a padded copy, an edited one, a copy with a tool call
            copy = json.loads(json.dumps(ex))
            copy["messages"][1]["content"] = " " + copy["messages"][1]["content"]
            examples.append(copy)
        if k % 5 == 0:
            copy = json.loads(json.dumps(ex))
            copy["messages"][0]["content"] += " Ünïcödé"
            examples.append(copy)
    items = [_dumps(rng, ex) for ex in examples]

    def run(records: list[tuple[int, Any]]) -> Any:
        result = near.find_duplicates(records, threshold=0.7, processes=1, flag=padded,
                                      ranks_from_flags=lambda ids, flags: flags,
                                      batch_size=97)
        return ([(c.keeper, [(m.id, m.similarity, m.exact) for m in c.members])
                 for c in result.clusters], result.pairs, result.stats)

    by_json = run(list(enumerate(items)))
    assert by_json == run([(k, orjson.loads(item)) for k, item in enumerate(items)])
    assert by_json[0]  # it found clusters
