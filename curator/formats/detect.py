"""Which format a row is in, and which format a file is in.

Format names are stable strings (users pass them to `--from`):

=====================================  ==========================================================
name                                   row shape
=====================================  ==========================================================
``openai-chat``                        ``{"messages": [{"role", "content"}...], "tools"?}``
                                       (TRL conversational language modelling is the same shape)
``prompt-completion``                  ``{"prompt": str, "completion": str}`` (OpenAI legacy, TRL)
``trl-conversational-prompt-completion``  ``{"prompt": [msg...], "completion": [msg...]}``
``trl-text``                           ``{"text": str}`` (already rendered; cannot become chat)
``alpaca``                             ``{"instruction", "input"?, "output", "system"?, "history"?}``
``sharegpt``                           ``{"conversations": [{"from", "value"}...], "system"?, "tools"?}``
``lf-v1-messages``                     LLaMA-Factory v1: ``messages`` whose content is a list of
                                       ``{"type", "value"}`` parts, with per-message ``loss_weight``
``openai-preference``                  ``{"input": {"messages"}, "preferred_output", "non_preferred_output"}``
``trl-preference``                     ``{"prompt"?, "chosen", "rejected"}`` (strings or message lists)
``sharegpt-preference``                ``{"conversations", "chosen": {from, value}, "rejected": {...}}``
=====================================  ==========================================================
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from curator.io import Row
from curator.issues import Issue

CHAT_FORMATS = (
    "openai-chat",
    "prompt-completion",
    "trl-conversational-prompt-completion",
    "trl-text",
    "alpaca",
    "sharegpt",
    "lf-v1-messages",
)
PREFERENCE_FORMATS = ("openai-preference", "trl-preference", "sharegpt-preference")
FORMATS = CHAT_FORMATS + PREFERENCE_FORMATS

#: what `classify` answers for a row no format matches, and for a row several formats match
UNKNOWN = "unknown"
AMBIGUOUS = "ambiguous"


def _first_message(value: Any) -> dict[str, Any] | None:
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return value[0]
    return None


def _is_lf_v1(messages: Any) -> bool:
    """LLaMA-Factory v1 rows: a per-message `loss_weight`, or content parts holding `value`."""
    if not isinstance(messages, list):
        return False
    for m in messages:
        if type(m) is dict and len(m) == 2 and "role" in m and type(m.get("content")) is not list:
            continue  # {role, content: str}: neither a loss_weight nor typed parts (the common case)
        if not isinstance(m, dict):
            continue
        if "loss_weight" in m:
            return True
        content = m.get("content")
        if isinstance(content, list) and any(
            isinstance(p, dict) and "value" in p and "text" not in p for p in content
        ):
            return True
    return False


def candidates(row: dict[str, Any]) -> list[str]:
    """Every format whose defining keys the row has (more than one means ambiguous).

    The rules, and the choices where two readings were possible (each one is pinned in
    tests/unit/test_formats_detect.py):

    * `prompt` or `completion` alone is prompt/completion with a key missing (the checks then
      say which), not an unknown row.
    * `text` counts only when no other format matched: `{"text", "label"}` is trl-text with an
      extra key, `{"messages", "text"}` is chat with an extra key.
    * OpenAI preference: `input` with either current or either legacy output key.
    * `messages` with `chosen` and `rejected` is axolotl's DPO layout: trl-preference.
    * No format matched, but the keys are `prompt` and `completion` in another case: that is
      prompt/completion with mis-cased keys (the checks say so).
    """
    keys = row.keys()
    found: list[str] = []
    if "messages" in keys:
        first = _first_message(row["messages"])
        if first is not None and "from" in first and "role" not in first:
            found.append("sharegpt")
        elif _is_lf_v1(row["messages"]):
            found.append("lf-v1-messages")
        else:
            found.append("openai-chat")
    pair = "chosen" in keys and "rejected" in keys
    if "conversations" in keys:
        found.append("sharegpt-preference" if pair else "sharegpt")
    if "input" in keys and (
        "preferred_output" in keys or "non_preferred_output" in keys
        or "preferred_completion" in keys or "non_preferred_completion" in keys
    ):
        found.append("openai-preference")
    if pair and "conversations" not in keys:
        found.append("trl-preference")
    if "completion" in keys or ("prompt" in keys and not pair):
        found.append(
            "trl-conversational-prompt-completion"
            if isinstance(row.get("prompt"), list) or isinstance(row.get("completion"), list)
            else "prompt-completion"
        )
    if "instruction" in keys and "output" in keys:
        found.append("alpaca")
    if not found and "text" in keys:
        found.append("trl-text")
    # `messages` + `chosen`/`rejected` is axolotl's DPO layout: a preference row, not two formats.
    if pair and "openai-chat" in found and "trl-preference" in found:
        found.remove("openai-chat")
    if not found and {"prompt", "completion"} <= {k.lower() for k in keys if isinstance(k, str)}:
        found.append("prompt-completion")
    return found


def classify(row: dict[str, Any]) -> str:
    """The row's format name, or "unknown" (no format matched) or "ambiguous" (several did).

    The one detector: validate, import, stats and convert all ask it. Its first branch decides
    the common row, `{"messages": [{"role", "content": str}, ...]}`, without the general walk.
    """
    if len(row) == 1 and "messages" in row:
        msgs = row["messages"]
        first = msgs[0] if type(msgs) is list and msgs else None
        if type(first) is dict and len(first) == 2 and "role" in first \
                and type(first.get("content")) is str and not _is_lf_v1(msgs):
            return "openai-chat"
    found = candidates(row)
    if not found:
        return UNKNOWN
    return found[0] if len(found) == 1 else AMBIGUOUS


def detect_format(row: dict[str, Any]) -> str | None:
    """The row's format name, or None when no format or more than one matches."""
    fmt = classify(row)
    return None if fmt in (UNKNOWN, AMBIGUOUS) else fmt


def row_detection_issue(row: dict[str, Any]) -> Issue | None:
    """The format.undetected / format.ambiguous issue for a row, or None when it is clear."""
    found = candidates(row)
    if len(found) == 1:
        return None
    keys = ", ".join(sorted(row)) or "(none)"
    if not found:
        return Issue("format.undetected", "error",
                     f"keys {{{keys}}} match no known format",
                     path="", hint="expected e.g. messages (chat), prompt+completion, "
                     "instruction+output (alpaca), conversations (sharegpt); or pass --from FMT")
    return Issue("format.ambiguous", "error",
                 f"keys {{{keys}}} match several formats: {', '.join(found)}", path="",
                 hint="remove the keys of the formats you do not mean, or pass --from FMT")


@dataclass(slots=True)
class FileDetection:
    """The file's format (the majority of its detected rows) and what disagrees with it."""

    format: str | None
    counts: dict[str, int]
    issues: list[Issue] = field(default_factory=list)


class FormatTally:
    """Streaming file-level detection: feed rows, then ask for the verdict.

    Keeps only an array of (format id, line, example) triples, so a million rows cost a few MB.
    """

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._ids = array("h")
        self._lines = array("q")
        self._examples = array("q")
        self._file: str | None = None
        self.issues: list[Issue] = []

    def add(self, row: Row) -> str | None:
        self._file = row.file
        if row.data is None:
            return None
        fmt = detect_format(row.data)
        if fmt is None:
            issue = row_detection_issue(row.data)
            if issue is not None:
                self.issues.append(Issue(issue.code, issue.severity, issue.message, row.file,
                                         row.line, row.example_index, None, issue.path,
                                         issue.hint))
            return None
        self.counts[fmt] += 1
        self._ids.append(FORMATS.index(fmt))
        self._lines.append(row.line if row.line is not None else -1)
        self._examples.append(row.example_index)
        return fmt

    @property
    def majority(self) -> str | None:
        if not self.counts:
            return None
        # ties go to the earlier name in FORMATS so the verdict never depends on dict order
        return min(self.counts, key=lambda f: (-self.counts[f], FORMATS.index(f)))

    def result(self) -> FileDetection:
        major = self.majority
        issues = list(self.issues)
        if major is not None and len(self.counts) > 1:
            summary = ", ".join(f"{n} {f}" for f, n in self.counts.most_common())
            major_id = FORMATS.index(major)
            for fid, line, ex in zip(self._ids, self._lines, self._examples, strict=True):
                if fid != major_id:
                    issues.append(Issue(
                        "format.mixed_in_file", "error",
                        f"row is {FORMATS[fid]} but the file is mostly {major} ({summary})",
                        self._file, line if line >= 0 else None, ex,
                        hint="split the file by format, or convert it to one format"))
        return FileDetection(major, dict(self.counts), issues)


def detect_file_format(rows: Iterable[Row]) -> FileDetection:
    """Detect the format of every row; the file's format is the majority."""
    tally = FormatTally()
    for row in rows:
        tally.add(row)
    return tally.result()
