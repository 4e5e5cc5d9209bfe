"""The three splits a run trains and judges on.

A source is any function that returns `Splits`; `load_data_dir` reads an exported folder and
`curator.train.workspace.load_workspace` reads a workspace's split records. The recipe never knows
where the examples came from: it only needs each example's chat form and where to point the user
back to (a file and line, or a workspace record id).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from curator.io import read_rows
from curator.schema import AssistantMessage, ChatExample
from curator.train.errors import UsageError

SPLITS = ("train", "validation", "holdout")


@dataclass(frozen=True, slots=True)
class Example:
    """One chat example and where it came from (file and 1-based line, or a workspace record)."""

    chat: ChatExample
    source: str
    line: int | None
    example_index: int
    record_id: int | None = None  # set when the example comes from a workspace

    @property
    def where(self) -> str:
        if self.record_id is not None:
            return f"record {self.record_id}"
        return f"{self.source}:{self.line}" if self.line is not None else self.source


@dataclass(frozen=True, slots=True)
class Splits:
    train: list[Example]
    validation: list[Example]
    holdout: list[Example]

    def items(self) -> Iterator[tuple[str, list[Example]]]:
        yield "train", self.train
        yield "validation", self.validation
        yield "holdout", self.holdout


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = "/".join(str(x) for x in err["loc"])
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"at /{loc}: {err['msg']}{more}"


def read_chat_jsonl(path: str | os.PathLike[str]) -> Iterator[Example]:
    """Stream a JSONL file of OpenAI chat rows; the first bad row stops it with file:line and a fix."""
    for row in read_rows(path):
        errors = [i for i in row.issues if i.severity == "error"]
        if errors:
            raise UsageError(f"{row.file}:{row.line}: {errors[0].message}",
                             fix="fix or remove that line (`curator validate` lists every problem)")
        if row.data is None:
            raise UsageError(f"{row.file}:{row.line}: the row is not a JSON object",
                             fix="each line must be one {\"messages\": [...]} object")
        try:
            chat = ChatExample.model_validate(row.data)
        except ValidationError as exc:
            raise UsageError(f"{row.file}:{row.line}: not an OpenAI chat example {_first_error(exc)}",
                             fix="convert the file with `curator convert --to openai-chat` or fix that line") from exc
        if not any(isinstance(m, AssistantMessage) for m in chat.messages):
            raise UsageError(f"{row.file}:{row.line}: the example has no assistant message, so nothing to train",
                             fix="add the assistant reply or remove the example")
        yield Example(chat, row.file, row.line, row.example_index)


def load_data_dir(directory: str | os.PathLike[str]) -> Splits:
    """Read DIR/train.jsonl, DIR/validation.jsonl and DIR/holdout.jsonl (as `curator export` writes)."""
    d = Path(directory)
    if not d.is_dir():
        raise UsageError(f"{d}: no such directory", fix="pass --data DIR holding train.jsonl, validation.jsonl, holdout.jsonl")
    loaded: dict[str, list[Example]] = {}
    for name in SPLITS:
        f = d / f"{name}.jsonl"
        if not f.is_file():
            raise UsageError(f"{f}: missing; a run needs all three splits",
                             fix="export the set with `curator export` (it writes train/validation/holdout.jsonl)")
        loaded[name] = list(read_chat_jsonl(f))
        if not loaded[name]:
            raise UsageError(f"{f}: no examples", fix=f"put at least one example in the {name} split")
    return Splits(loaded["train"], loaded["validation"], loaded["holdout"])
