"""Preparer: conversion to canonical chat, the validator's issues, token counts."""

from __future__ import annotations

import inspect
import subprocess
import sys
from typing import Any

import pytest

from curator.formats import detect
from curator.io import Row
from curator.validate import rows
from curator.workspace import prepare
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


def test_the_seam_points_from_the_importer_to_prepare() -> None:
    # prepare.py defines PreparedRecord and Prepare; the importer imports them (not the reverse),
    # so importing the preparer loads no importer, and the importer has no stand-in of its own
    code = ("import sys, curator.workspace.prepare as p; "
            "print('curator.workspace.importer' in sys.modules, p.PreparedRecord.__module__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "curator.workspace.prepare"]
    from curator.workspace import importer

    # (the importer names the type only for annotations and loads the preparer when it runs)
    assert "Prepare" in str(inspect.signature(importer.import_files).parameters["prepare"].annotation)
    assert not hasattr(importer, "default_prepare")


@pytest.mark.parametrize("data", [
    {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]},
    {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": ""}]},
    {"instruction": "Say hi", "input": "", "output": "hi"},
    {"prompt": "p", "chosen": "a", "rejected": "b"},
    {"question": "q"},
])
def test_each_row_is_detected_once(monkeypatch: pytest.MonkeyPatch, data: dict[str, Any]) -> None:
    # the Preparer classifies the row and tells the checks the result ("openai-chat" for the
    # row it converted) instead of the checks detecting it again
    calls: list[str] = []

    def counting(row: dict[str, Any]) -> str:
        calls.append(detect.classify(row))
        return calls[-1]

    monkeypatch.setattr(prepare, "classify", counting)
    monkeypatch.setattr(rows, "classify", counting)
    Preparer("openai", count_tokens=False)(_row(data))
    assert len(calls) == 1
