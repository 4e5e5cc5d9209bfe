"""A small workspace for the review app's tests, imported from a relative path so that what the
app draws (the source file name) is the same on every machine."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from curator.workspace import DuplicateCluster, Workspace
from curator.workspace.importer import import_files
from curator.workspace.prepare import Preparer

HOSTILE = ("[bold]red[/] [link=https://evil.example]click[/link] [/] \x1b[31mANSI\x1b[0m "
           "\x07bell \x1b]0;title\x07 \u202eRTL override \x00nul [reverse]x")


def _chat(user: str, answer: str, system: str | None = None) -> dict[str, Any]:
    m: list[dict[str, Any]] = [{"role": "user", "content": user},
                               {"role": "assistant", "content": answer}]
    if system:
        m.insert(0, {"role": "system", "content": system})
    return {"messages": m}


ROWS: list[dict[str, Any]] = [
    _chat("How do I reset my password?", "Use the forgot password link.",
          "You are a support agent for a bike shop."),
    _chat("Where is my order?", "It ships tomorrow from the warehouse."),
    {"messages": [{"role": "user", "content": "Say something"},
                  {"role": "assistant", "content": ""}]},  # chat.content_empty: rejected
    _chat("Refund please", "Refunds take five days."),
    {"messages": [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [{
            "id": "call_1", "type": "function",
            "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "{\"temp\": 21}"},
        {"role": "assistant", "content": "It is 21 degrees in Paris."}]},
    _chat("Where is my order? I paid yesterday.", "It ships tomorrow from the warehouse."),
    _chat(HOSTILE, "Reply with " + HOSTILE),
    _chat("Can I change my delivery address?", "Yes, until the parcel ships."),
]


def make_workspace(folder: Path, rows: list[dict[str, Any]] | None = None,
                   labels: tuple[str, ...] = ("refund", "tone"),
                   cluster: bool = True) -> Path:
    """`folder` must be the current directory (the test chdirs there)."""
    src = Path("data.jsonl")
    src.write_text("\n".join(json.dumps(r) for r in (rows or ROWS)) + "\n", encoding="utf-8")
    path = folder / "w.db"
    with Workspace.open(path, create=True, actor="tester") as ws:
        import_files(ws, [src], Preparer("openai"))
        if labels:
            ws.add_label_names(labels)
        if cluster:
            ws.mark_duplicates([DuplicateCluster(2, {6: 0.82})])
    return path
