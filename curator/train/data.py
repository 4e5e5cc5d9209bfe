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


def where_of(source: str, line: int | None, record_id: int | None) -> str:
    """Where an example or pair came from, as reports name it: the workspace record, else
    FILE:LINE, else the file."""
    if record_id is not None:
        return f"record {record_id}"
    return f"{source}:{line}" if line is not None else source

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
        return where_of(self.source, self.line, self.record_id)


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


# --- preference (DPO) rows ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PreferenceExample:
    """One preference pair in curator's canonical form (TRL's conversational explicit-prompt row:
    `prompt`, `chosen`, `rejected` as lists of OpenAI messages, `tools` optional) and where it came
    from. `chosen` and `rejected` each hold at least one assistant message."""

    prompt: list[dict[str, Any]]
    chosen: list[dict[str, Any]]
    rejected: list[dict[str, Any]]
    source: str
    line: int | None
    example_index: int
    tools: list[dict[str, Any]] | None = None
    record_id: int | None = None  # set when the pair comes from a workspace

    @property
    def where(self) -> str:
        return where_of(self.source, self.line, self.record_id)

    def to_trl(self) -> dict[str, Any]:
        """The row as TRL's DPOTrainer reads it (conversational, explicit prompt)."""
        row: dict[str, Any] = {"prompt": self.prompt, "chosen": self.chosen, "rejected": self.rejected}
        if self.tools:
            row["tools"] = self.tools
        return row


@dataclass(frozen=True, slots=True)
class PreferenceSplits:
    train: list[PreferenceExample]
    validation: list[PreferenceExample]
    holdout: list[PreferenceExample]
    rejected: dict[str, list[Rejected]] = field(default_factory=dict)  # split -> rows left out
    formats: dict[str, dict[str, int]] = field(default_factory=dict)  # split -> layout -> rows

    def items(self) -> Iterator[tuple[str, list[PreferenceExample]]]:
        yield "train", self.train
        yield "validation", self.validation
        yield "holdout", self.holdout


def preference_row(row: Row) -> tuple[PreferenceExample | None, str | None, Rejected | None]:
    """One row in any preference layout `curator.formats.preference.to_preference` reads (OpenAI
    DPO, TRL prompt/chosen/rejected, LLaMA-Factory ranking), converted to the canonical form; or
    why it is left out. Returns (example, layout, rejection)."""
    from curator.formats.detect import PREFERENCE_FORMATS, classify
    from curator.formats.preference import to_preference

    where = f"{row.file}:{row.line}" if row.line is not None else row.file
    if row.data is None:
        errors = [i for i in row.issues if i.severity == "error"] or row.issues
        return None, None, Rejected(where, [i.code for i in errors] or ["json.not_object"],
                                    errors[0].message if errors else "the row is not a JSON object")
    fmt = classify(row.data)
    if fmt not in PREFERENCE_FORMATS:
        return None, fmt, Rejected(where, ["format.method_mismatch"],
                                   f"not a preference row (format {fmt}): DPO needs a prompt with a chosen and a rejected answer")
    result = to_preference(row.data, fmt, example_index=row.example_index)
    errors = [i for i in result.issues if i.severity == "error"]
    if result.example is None or errors:
        codes = sorted({i.code for i in errors}) or ["convert.field_invalid"]
        return None, fmt, Rejected(where, codes, errors[0].message if errors else "cannot convert the row")
    ex, bad = canonical_pair(result.example, where, row.file, row.line, row.example_index)
    return ex, fmt, bad


def canonical_pair(pref: dict[str, Any], where: str, source: str, line: int | None, example_index: int,
                   record_id: int | None = None) -> tuple[PreferenceExample | None, Rejected | None]:
    """A pair in the canonical form (`{"prompt", "chosen", "rejected", "tools"?}`, as a workspace
    stores it) as a trainer's example; or why it says nothing to train on."""
    for side in ("chosen", "rejected"):
        msgs = pref.get(side) or []
        if not isinstance(msgs, list) or not any(isinstance(m, dict) and m.get("role") == "assistant" for m in msgs):
            return None, Rejected(where, ["pref.output_missing"], f"{side} holds no assistant message")
    prompt = pref.get("prompt") or []
    if not isinstance(prompt, list) or not all(isinstance(m, dict) for m in prompt):
        return None, Rejected(where, ["convert.field_invalid"], "the prompt is not a list of messages")
    if pref["chosen"] == pref["rejected"]:
        return None, Rejected(where, ["pref.identical_outputs"],
                              "chosen and rejected are identical: the pair says nothing")
    return PreferenceExample(prompt, pref["chosen"], pref["rejected"], source, line, example_index,
                             pref.get("tools") or None, record_id), None


def load_preference_dir(directory: str | os.PathLike[str]) -> PreferenceSplits:
    """Read DIR/train.jsonl, DIR/validation.jsonl and DIR/holdout.jsonl of preference rows (each
    row in any layout `preference_row` reads; layouts may mix). Rows left out are listed in
    `PreferenceSplits.rejected`; a missing split, or one with no usable pair, is a usage error."""
    from curator.io import ReadError

    d = Path(directory)
    if not d.is_dir():
        raise UsageError(f"{d}: no such directory",
                         fix="pass --data DIR holding train.jsonl, validation.jsonl, holdout.jsonl of preference pairs")
    loaded: dict[str, list[PreferenceExample]] = {}
    rejected: dict[str, list[Rejected]] = {}
    formats: dict[str, dict[str, int]] = {}
    for name in SPLITS:
        f = d / f"{name}.jsonl"
        if not f.is_file():
            raise UsageError(f"{f}: missing; a DPO run needs all three splits",
                             fix="put train.jsonl, validation.jsonl and holdout.jsonl (preference pairs) in the folder")
        bad: list[Rejected] = []
        kept: list[PreferenceExample] = []
        seen: dict[str, int] = {}
        try:
            for row in read_rows(f):
                ex, fmt, why = preference_row(row)
                if fmt is not None:
                    seen[fmt] = seen.get(fmt, 0) + 1
                if ex is None:
                    assert why is not None
                    bad.append(why)
                else:
                    kept.append(ex)
        except ReadError as exc:
            raise UsageError(f"{f}: {exc}") from exc
        loaded[name], formats[name] = kept, seen
        if bad:
            rejected[name] = bad
        if not kept:
            why_text = f"; every row is rejected: {'; '.join(map(str, bad[:3]))}" if bad else ""
            raise UsageError(f"{f}: no usable preference pairs{why_text}",
                             fix=f"put at least one prompt/chosen/rejected pair in the {name} split")
    return PreferenceSplits(loaded["train"], loaded["validation"], loaded["holdout"], rejected, formats)
