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


def imported_workspace(tmp_path: Path, rows: list[Any]) -> Path:
    """A new workspace `w.db` in `tmp_path` holding `rows` (written to `d.jsonl` and imported,
    without token counts: the dedup and marks tests need records, not counts)."""
    from curator.workspace import Workspace
    from curator.workspace.importer import import_files
    from curator.workspace.prepare import Preparer

    src = write_jsonl(tmp_path / "d.jsonl", rows)
    db = tmp_path / "w.db"
    with Workspace.open(db, create=True) as ws:
        import_files(ws, [src], prepare=Preparer("openai", count_tokens=False))
    return db
