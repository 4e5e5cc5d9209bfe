"""Preparer: conversion to canonical chat, the validator's issues, token counts."""

from __future__ import annotations

from curator.io import Row
from curator.workspace.prepare import Preparer


def _row(data: dict) -> Row:  # type: ignore[type-arg]
    return Row("f.jsonl", 3, 2, "{}", data, [])


def test_alpaca_row_becomes_chat_with_counts() -> None:
    p = Preparer("openai")
    rec = p(_row({"instruction": "Say hi", "input": "", "output": "hi"}))
    assert rec.format == "alpaca"
    assert [m["role"] for m in rec.canonical["messages"]] == ["user", "assistant"]
    assert rec.tokens_total is not None and rec.tokens_trained is not None
    assert 0 < rec.tokens_trained < rec.tokens_total


def test_chat_error_is_placed_on_the_row() -> None:
    p = Preparer("openai")
    rec = p(_row({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": ""}]}))
    errors = [i for i in rec.issues if i.severity == "error"]
    assert [(i.code, i.file, i.line, i.example_index, i.message_index) for i in errors] == [
        ("chat.content_empty", "f.jsonl", 3, 2, 1)]


def test_unknown_row_is_reported_not_converted() -> None:
    rec = Preparer("openai")(_row({"foo": 1}))
    assert rec.format is None and rec.canonical == {"foo": 1}
    assert [i.code for i in rec.issues] == ["format.undetected"]


def test_check_agrees_with_edit_revalidation() -> None:
    p = Preparer("openai")
    good = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}
    assert p.check(good).ok
    bad = {"messages": [{"role": "user", "content": "q"}, {"role": "robot", "content": "a"}]}
    assert not p.check(bad).ok
