"""Small builders shared by the workspace tests (not a fixture module, so imports stay explicit)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def chat(user: str, answer: str, system: str | None = None) -> dict[str, Any]:
    messages = [{"role": "user", "content": user}, {"role": "assistant", "content": answer}]
    if system is not None:
        messages.insert(0, {"role": "system", "content": system})
    return {"messages": messages}


def write_jsonl(path: Path, rows: list[Any], raw_lines: dict[int, str] | None = None) -> Path:
    """Write rows as JSONL; `raw_lines` puts a literal line at a 0-based position instead."""
    lines = [json.dumps(r) for r in rows]
    for pos, text in sorted((raw_lines or {}).items()):
        lines.insert(pos, text)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
