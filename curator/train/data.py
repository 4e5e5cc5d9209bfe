"""The three splits a run trains and judges on.

A source is any function that returns `Splits`; `load_data_dir` reads an exported folder and
`curator.train.workspace.load_workspace` reads a workspace's split records. The recipe never knows
where the examples came from: it only needs each example's chat form and where to point the user
back to (a file and line, or a workspace record id).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from curator.io import Row, read_rows
from curator.schema import AssistantMessage, ChatExample
from curator.split import DEFAULT_NAMES as SPLITS
from curator.train.errors import UsageError

#: the validation target whose rules a training row must pass: a chat template trainer (TRL's
#: rules: an empty or whitespace-only answer is an error there, as it is for any trainer).
TRAIN_TARGET = "trl"


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
class Rejected:
    """A row left out because `curator validate` (the same rules as `import`) rejects it."""

    where: str
    codes: list[str]
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {', '.join(self.codes)}: {self.message}"


@dataclass(frozen=True, slots=True)
class Splits:
    train: list[Example]
    validation: list[Example]
    holdout: list[Example]
    rejected: dict[str, list[Rejected]] = field(default_factory=dict)  # split -> rows left out

    def items(self) -> Iterator[tuple[str, list[Example]]]:
        yield "train", self.train
        yield "validation", self.validation
        yield "holdout", self.holdout


class RowRules:
    """The validate engine's rules for one training row (`curator.workspace.prepare.Preparer`, as `import`
    runs them, target trl, no token counting: the pre-flight counts with the model's own tokenizer).
    Rows in another chat format (Alpaca, ShareGPT, ...) are converted as `import` converts them."""

    def __init__(self) -> None:
        from curator.workspace.prepare import Preparer

        self._preparer = Preparer(TRAIN_TARGET, count_tokens=False)

    def row(self, row: Row) -> tuple[ChatExample | None, Rejected | None]:
        where = f"{row.file}:{row.line}" if row.line is not None else row.file
        if row.data is None:
            errors = [i for i in row.issues if i.severity == "error"] or row.issues
            return None, Rejected(where, [i.code for i in errors] or ["json.not_object"],
                                  errors[0].message if errors else "the row is not a JSON object")
        prepared = self._preparer(row)
        return self._verdict(prepared.format, prepared.canonical, prepared.issues, where)

    def example(self, data: dict[str, Any], where: str) -> tuple[ChatExample | None, Rejected | None]:
        checked = self._preparer.check(data)
        return self._verdict(checked.format, data, checked.issues, where)

    @staticmethod
    def _verdict(fmt: str | None, data: dict[str, Any], issues: list[Any],
                 where: str) -> tuple[ChatExample | None, Rejected | None]:
        errors = [i for i in issues if i.severity == "error"]
        if errors:
            return None, Rejected(where, sorted({i.code for i in errors}), errors[0].message)
        if fmt is None or "messages" not in data:
            return None, Rejected(where, ["format.undetected"], f"not a chat example (format {fmt})")
        try:
            chat = ChatExample.model_validate(data)
        except ValidationError as exc:
            return None, Rejected(where, ["schema.invalid"], f"not an OpenAI chat example {_first_error(exc)}")
        if not any(isinstance(m, AssistantMessage) for m in chat.messages):
            return None, Rejected(where, ["chat.no_assistant_message"], "no assistant message, so nothing to train")
        return chat, None


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = "/".join(str(x) for x in err["loc"])
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"at /{loc}: {err['msg']}{more}"


def read_chat_jsonl(path: str | os.PathLike[str], rules: RowRules | None = None,
                    rejected: list[Rejected] | None = None) -> Iterator[Example]:
    """Stream the rows of a file that pass `curator validate`'s rules; each row it rejects is
    appended to `rejected` (file:line, codes, message) and left out, never trained."""
    rules = rules or RowRules()
    for row in read_rows(path):
        chat, bad = rules.row(row)
        if chat is None:
            assert bad is not None
            if rejected is not None:
                rejected.append(bad)
            continue
        yield Example(chat, row.file, row.line, row.example_index)


def load_data_dir(directory: str | os.PathLike[str]) -> Splits:
    """Read DIR/train.jsonl, DIR/validation.jsonl and DIR/holdout.jsonl (as `curator export` writes).
    Rows `curator validate` rejects are left out and listed in `Splits.rejected`; a split with no
    row left is a usage error naming the first rejections."""
    d = Path(directory)
    if not d.is_dir():
        raise UsageError(f"{d}: no such directory", fix="pass --data DIR holding train.jsonl, validation.jsonl, holdout.jsonl")
    loaded: dict[str, list[Example]] = {}
    rejected: dict[str, list[Rejected]] = {}
    rules = RowRules()
    for name in SPLITS:
        f = d / f"{name}.jsonl"
        if not f.is_file():
            raise UsageError(f"{f}: missing; a run needs all three splits",
                             fix="export the set with `curator export` (it writes train/validation/holdout.jsonl)")
        bad: list[Rejected] = []
        loaded[name] = list(read_chat_jsonl(f, rules, bad))
        if bad:
            rejected[name] = bad
        if not loaded[name]:
            why = f"; every row is rejected: {'; '.join(map(str, bad[:3]))}" if bad else ""
            raise UsageError(f"{f}: no usable examples{why}",
                             fix=f"put at least one valid example in the {name} split (`curator validate {f}` lists every problem)")
    return Splits(loaded["train"], loaded["validation"], loaded["holdout"], rejected)
