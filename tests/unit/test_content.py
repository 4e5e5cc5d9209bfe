"""One rule for "message content to text" (curator/formats/content.py) and its four readers."""

from __future__ import annotations

from typing import Any

import pytest

from curator.dedup import exact_groups, normalize_example
from curator.formats import from_chat
from curator.formats.content import ContentError, content_text, parts
from curator.schema import ChatExample
from curator.tui.text import content_text as screen_text

IMAGE = {"type": "image_url", "image_url": {"url": "https://x.test/cat.png"}}
AUDIO = {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}


def text(t: str) -> dict[str, Any]:
    return {"type": "text", "text": t}


def test_parts_reads_dicts_and_pydantic_parts_alike() -> None:
    user = [text("Hi "), IMAGE]
    answer = [text("Well, "), {"type": "refusal", "refusal": "no"}]
    chat = ChatExample.model_validate({"messages": [{"role": "user", "content": user},
                                                    {"role": "assistant", "content": answer}]})
    from_dicts = [(p.kind, p.text, p.type) for p in parts(user) + parts(answer)]
    from_models = [(p.kind, p.text, p.type)
                   for m in chat.messages for p in parts(getattr(m, "content", None))]
    assert from_dicts == from_models == [
        ("text", "Hi ", "text"), ("image", "https://x.test/cat.png", "image_url"),
        ("text", "Well, ", "text"), ("refusal", "no", "refusal")]
    assert [p.kind for p in parts("plain")] == ["text"] and parts(None) == []
    assert [(p.kind, p.type) for p in parts([AUDIO, 7])] == [("other", "input_audio"), ("other", "int")]


def test_text_parts_join_with_nothing_by_default() -> None:
    # what chat templates and the converters do: the text the model sees
    assert content_text([text("Hello"), text(" world")]) == "Hello world"
    assert content_text([text("Hello"), text("world")]) == "Helloworld"
    assert content_text([text("a"), IMAGE]) == "a<image https://x.test/cat.png>"
    assert content_text([text("a"), AUDIO, text("b")], others="skip") == "ab"
    assert content_text(None) == "" and content_text("as is") == "as is"


def test_refused_parts_say_which_and_where() -> None:
    with pytest.raises(ContentError) as err:
        content_text([text("a"), IMAGE], images="error")
    assert (err.value.index, err.value.part.type) == (1, "image_url")
    with pytest.raises(ContentError):
        content_text([AUDIO], others="error")
    with pytest.raises(ContentError):
        content_text([{"type": "refusal", "refusal": "no"}], refusals="error")
    with pytest.raises(ContentError) as whole:
        content_text({"not": "a list"}, others="error")
    assert whole.value.index is None


def test_dedup_compares_multi_part_content_as_the_model_reads_it() -> None:
    # Before: dedup joined parts with a space, so ["Hello", "world"] was "hello world" and a
    # duplicate of the single string "Hello world", which a model reads as another text.
    def example(content: Any) -> dict[str, Any]:
        return {"messages": [{"role": "user", "content": "Say it"},
                             {"role": "assistant", "content": content}]}

    split = example([text("Hello"), text("world")])
    assert normalize_example(split) != normalize_example(example("Hello world"))
    assert normalize_example(split) == normalize_example(example("Helloworld"))
    assert exact_groups([(1, split), (2, example("Hello world"))]) == []
    assert normalize_example(example([text("Hello "), text("world")])) == (
        normalize_example(example("Hello world")))


def test_the_review_app_shows_one_part_per_line_and_the_rest_as_json() -> None:
    shown = screen_text([text("first"), text("second"), IMAGE])
    lines = shown.split("\n")
    assert lines[:2] == ["first", "second"] and '"image_url"' in shown


def test_the_converter_refuses_an_image_and_warns_when_it_joins() -> None:
    joined = from_chat({"messages": [{"role": "user", "content": [text("a"), text("b")]},
                                     {"role": "assistant", "content": "c"}]}, "alpaca")
    assert joined.example is not None and joined.example["instruction"] == "ab"
    assert [i.code for i in joined.issues] == ["convert.lossy"]
    refused = from_chat({"messages": [{"role": "user", "content": [text("a"), IMAGE]},
                                      {"role": "assistant", "content": "c"}]}, "alpaca")
    assert not refused.ok
    issue = refused.issues[0]
    assert issue.code == "convert.unrepresentable" and issue.path == "/messages/0/content/1"
    assert "'image_url' content part" in issue.message
