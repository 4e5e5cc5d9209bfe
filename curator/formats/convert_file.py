"""Convert a whole file: detect, convert every row, write output and rejects atomically.

The CLI (`curator convert`) is a thin front end over `convert_file`.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from curator.formats.detect import FormatTally, detect_format, row_detection_issue
from curator.formats.from_chat import TARGETS, from_chat
from curator.formats.preference import PREFERENCE_TARGETS, from_preference, to_preference
from curator.formats.result import ConversionResult, locate
from curator.formats.to_chat import DEFAULT_ALPACA_SEP, to_chat
from curator.io import Row, RowsLost, Source, atomic_writer, open_source, read_rows
from curator.issues import Issue

#: `--to` names -> target format names
TARGET_ALIASES = {
    "chat": "openai-chat",
    "prompt-completion": "prompt-completion",
    "trl-messages": "trl-messages",
    "trl-prompt-completion": "trl-conversational-prompt-completion",
    "sharegpt": "sharegpt",
    "alpaca": "alpaca",
    "openai-preference": "openai-preference",
    "trl-preference": "trl-preference",
    "sharegpt-preference": "sharegpt-preference",
}


@dataclass(slots=True)
class ConvertReport:
    """What a file conversion did. `issues` holds every issue when `keep_issues` was set."""

    source: str
    target: str
    detected: str | None
    format_counts: dict[str, int]
    rows: int = 0
    converted: int = 0
    rejected: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    issues: list[Issue] = field(default_factory=list)
    pc_options: dict[str, Any] = field(default_factory=dict)
    #: parts of the file that could not be read (e.g. after a JSON syntax error), as messages
    unreadable: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "target": self.target,
            "detected_format": self.detected,
            "format_counts": self.format_counts,
            "rows": self.rows,
            "converted": self.converted,
            "rejected": self.rejected,
            "counts": dict(sorted(self.counts.items())),
            "issues": [i.to_dict() for i in self.issues],
            "unreadable": self.unreadable,
        }


class _PromptCompletionStats:
    """The legacy conventions a prompt-completion file shares: separator, stop, leading space."""

    def __init__(self) -> None:
        self.n = 0
        self.prompt_suffix: str | None = None
        self.completion_suffix: str | None = None
        self.all_leading_space = True

    def add(self, row: dict[str, Any]) -> None:
        prompt, completion = row.get("prompt"), row.get("completion")
        if not isinstance(prompt, str) or not isinstance(completion, str):
            return
        self.n += 1
        self.prompt_suffix = _common_suffix(self.prompt_suffix, prompt)
        self.completion_suffix = _common_suffix(self.completion_suffix, completion)
        self.all_leading_space &= completion.startswith(" ")

    def options(self) -> dict[str, Any]:
        if self.n < 2:
            return {}
        return {"pc_separator": _marker(self.prompt_suffix, PROMPT_SEPARATORS),
                "pc_stop": _marker(self.completion_suffix, COMPLETION_STOPS),
                "pc_strip_leading_space": self.all_leading_space}


def _common_suffix(current: str | None, text: str) -> str:
    if current is None:
        return text
    n = 0
    while n < min(len(current), len(text)) and current[-1 - n] == text[-1 - n]:
        n += 1
    return current[len(current) - n:]


#: the legacy markers the OpenAI data-prep tool suggested (formats.md §2.2); only these are
#: stripped, so a suffix the rows merely happen to share ("?", ".") is never cut off
PROMPT_SEPARATORS = ("\n\n###\n\n", "\n###\n", "###", " ->", "->", "\n\n")
COMPLETION_STOPS = ("\n###", " END", "END", "###", "\n")


def _marker(suffix: str | None, known: tuple[str, ...]) -> str | None:
    """The longest known marker that every row ends with, if any."""
    if not suffix:
        return None
    matches = [m for m in known if suffix.endswith(m)]
    return max(matches, key=len) if matches else None


def convert_row(row: Row, fmt: str | None, target: str,
                options: dict[str, Any]) -> ConversionResult:
    """Convert one read row to `target`; the issues carry the row's file and line."""
    if row.data is None or any(i.severity == "error" for i in row.issues):
        # a row the reader found wrong (a duplicate key, a bad CSV cell) is rejected, as import does
        issues = row.issues or [Issue("json.not_object", "error", "row is not a JSON object")]
        return ConversionResult(None, locate(issues, row.file, row.line, row.example_index))
    if fmt is None:
        issue = row_detection_issue(row.data) or Issue("format.undetected", "error",
                                                       "format not detected")
        return ConversionResult(None, locate([issue], row.file, row.line, row.example_index))
    ex = row.example_index
    if target in PREFERENCE_TARGETS:
        first = to_preference(row.data, fmt, example_index=ex)
        second = (from_preference(first.example, target, example_index=ex)
                  if first.example is not None else None)
    else:
        chat_opts = {k: v for k, v in options.items() if k.startswith(("pc_", "alpaca_"))}
        first = to_chat(row.data, fmt, example_index=ex, **chat_opts)
        second = (from_chat(first.example, target, example_index=ex)
                  if first.example is not None and target != "openai-chat" else None)
    issues = first.issues + (second.issues if second is not None else [])
    example = second.example if second is not None else first.example
    return ConversionResult(example, locate(issues, row.file, row.line, ex))


def convert_file(source: str | os.PathLike[str], output: str | os.PathLike[str], to: str, *,
                 source_format: str | None = None, rejects: str | os.PathLike[str] | None = None,
                 alpaca_sep: str = DEFAULT_ALPACA_SEP, keep_issues: bool = True,
                 sample_per_code: int = 10) -> ConvertReport:
    """Convert every row of `source` to target `to` (a `--to` name or a format name).

    Rows that convert go to `output` (JSONL); rows that do not are written to `rejects` exactly
    as they were read. Both files are written atomically. Raises OSError on I/O failure.
    With `keep_issues` the report holds every issue; without, the first `sample_per_code` of
    each code (the counts are always complete), so memory stays flat on big files.
    """
    target = TARGET_ALIASES.get(to, to)
    if target not in TARGETS and target not in PREFERENCE_TARGETS:
        raise ValueError(f"unknown target {to!r}")
    with open_source(source) as src:  # stdin, a pipe or a gzip file is read once, into a spool
        return _convert_source(src, output, target, source_format, rejects, alpaca_sep, keep_issues,
                               sample_per_code)


def _rows(src: Source, lost: list[Issue]) -> Iterator[Row]:
    """The rows of `src`; a RowsLost at the end goes into `lost` (a file that cannot be read at
    all still raises)."""
    try:
        yield from read_rows(src.path, src.name)
    except RowsLost as exc:
        lost.append(exc.issue)


def _convert_source(src: Source, output: str | os.PathLike[str], target: str, source_format: str | None,
                    rejects: str | os.PathLike[str] | None, alpaca_sep: str, keep_issues: bool,
                    sample_per_code: int) -> ConvertReport:
    # Pass 1: the file's majority format and its legacy prompt-completion conventions.
    tally, pc = FormatTally(), _PromptCompletionStats()
    for row in _rows(src, []):
        fmt = tally.add(row) if source_format is None else source_format
        if fmt == "prompt-completion" and row.data is not None:
            pc.add(row.data)
    detection = tally.result()
    options: dict[str, Any] = {"alpaca_sep": alpaca_sep, **pc.options()}
    report = ConvertReport(src.name, target, source_format or detection.format,
                           detection.counts, pc_options=pc.options())
    out_path = Path(output)
    rej_path = Path(rejects) if rejects is not None else None
    lost: list[Issue] = []
    with atomic_writer(out_path) as out, (
            atomic_writer(rej_path) if rej_path is not None else _null()) as rej:
        for row in _rows(src, lost):
            report.rows += 1
            fmt = source_format
            if fmt is None and row.data is not None:
                fmt = detect_format(row.data)
            result = convert_row(row, fmt, target, options)
            issues = result.issues
            if (source_format is None and fmt is not None and detection.format is not None
                    and fmt != detection.format):
                # The output is uniform, so a mixed input is worth a warning, not a rejection.
                issues.append(Issue("format.mixed_in_file", "warning",
                                    f"row is {fmt}, the file is mostly {detection.format}; "
                                    "converted as " + fmt, row.file, row.line,
                                    row.example_index))
            if result.example is None:
                report.rejected += 1
                if rej is not None:
                    rej.write(row.raw.encode("utf-8", "surrogateescape") + b"\n")
            else:
                report.converted += 1
                out.write(_dumps(result.example) + b"\n")
            for issue in issues:
                report.counts[issue.code] += 1
                if keep_issues or report.counts[issue.code] <= sample_per_code:
                    report.issues.append(issue)
        for issue in lost:  # rows after a syntax error that could not be read: named, never dropped
            report.counts[issue.code] += 1
            report.issues.append(issue)
            report.unreadable.append(issue.message)
    return report


def _dumps(example: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(example)
    except TypeError:  # integers beyond 64 bits, which orjson refuses; json keeps them exact
        return json.dumps(example, ensure_ascii=False, separators=(",", ":")).encode()


@contextmanager
def _null() -> Iterator[None]:
    yield None
