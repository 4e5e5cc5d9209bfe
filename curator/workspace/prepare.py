"""From a parsed row to what a workspace stores: canonical chat form, issues, token counts.

The same checks as `curator validate` run on every record (`Preparer.check`), so a record's
issues in the workspace, in the review app after an edit, and in `curator validate` agree.

Rows in another chat format (Alpaca, ShareGPT, prompt/completion, TRL keys, LLaMA-Factory v1)
are converted to OpenAI chat, the canonical form, and the conversion's own notes (a mapped
role, a lossy field) are kept with the record.

Preference rows (OpenAI DPO, TRL prompt/chosen/rejected, LLaMA-Factory ranking) become records
of kind `preference` holding the canonical pair (`curator.formats.preference`), checked by the
rules of the target's own preference layout (`settings.PREFERENCE_LAYOUT`) and counted per side.
KTO's unpaired rows (prompt, completion, boolean label) become records of kind `feedback`:
`{"prompt": [msg...], "completion": [msg...], "label": bool}`, checked as the chat they hold.

This module defines the seam the importer calls (`Prepare`: a parsed row in, a `PreparedRecord`
out); `curator.workspace.importer` imports it from here and uses a `Preparer("openai")` when
its caller passes none.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from curator.formats.content import content_text
from curator.formats.detect import (
    AMBIGUOUS,
    PREFERENCE_FORMATS,
    UNKNOWN,
    classify,
    row_detection_issue,
)
from curator.formats.preference import from_preference, to_preference
from curator.formats.to_chat import to_chat
from curator.io import Row
from curator.issues import Issue
from curator.validate.engine import NO_COUNT, Options, QuickAnswer, RowChecker
from curator.validate.quality import REFUSALS
from curator.workspace.settings import FEEDBACK_TARGETS, PREFERENCE_LAYOUT

MAX_ISSUES_PER_ROW = 50


@dataclass(slots=True)
class PreparedRecord:
    """What `prepare` makes of one parsed row.

    `status` None lets import decide: rejected (reason = first error code) when any issue is an
    error, else pending.
    """

    format: str | None
    canonical: dict[str, Any]
    issues: list[Issue] = field(default_factory=list)
    tokens_total: int | None = None
    tokens_trained: int | None = None
    status: str | None = None
    #: chat, preference or feedback (`curator.workspace.records.KINDS`)
    kind: str = "chat"
    #: a pair's token counts per side: {"prompt", "chosen", "rejected"}
    tokens_sides: dict[str, int] | None = None


#: the importer's seam: one parsed row in, what the workspace stores of it out (picklable when
#: the import runs in worker processes)
Prepare = Callable[[Row], PreparedRecord]


@dataclass(frozen=True, slots=True)
class ExampleCheck:
    """What the validator says of one example."""

    format: str
    issues: list[Issue]
    tokens_total: int | None
    tokens_trained: int | None

    @property
    def ok(self) -> bool:
        return not any(i.severity == "error" for i in self.issues)


class Preparer:
    """Checks examples for one target; call it on a `Row` to prepare it for import.

    Building the token counter is deferred to the first check, so a Preparer is cheap to
    create and safe to hand to forked workers.
    """

    def __init__(self, target: str = "openai", *, model: str | None = None,
                 max_tokens: int | None = None, count_tokens: bool = True) -> None:
        self.options = Options(target, model, max_tokens, count_tokens=count_tokens)
        self._checker: RowChecker | None = None
        #: count ASCII text with the compiled counter (`RowChecker.use_compiled_ascii`: the same
        #: counts), set by import for large inputs before the workers start
        self.compiled_ascii = False

    @property
    def target(self) -> str:
        return self.options.target

    @property
    def limit(self) -> int:
        return self.options.limit

    def ready(self) -> None:
        """Build the row checker now (its counter's tables and, with `compiled_ascii`, the
        compiled count: about a second a process): worker processes forked afterwards inherit
        it instead of each building its own (`import_paths`; validate does the same)."""
        self._rows()

    def _rows(self) -> RowChecker:
        if self._checker is None:
            self._checker = RowChecker(self.options)
            if self.compiled_ascii:
                self._checker.use_compiled_ascii()
        return self._checker

    def clean_chat(self, data: dict[str, Any]) -> tuple[int | None, int | None] | None:
        """The token counts (total, trained) of a row in the common clean shape, plain chat that
        no rule finds anything in (`RowChecker.is_clean`, the test `RowChecker.check` makes
        first), counted within the limit with trained tokens; None for any other row.

        For a row with counts here (and no parse issue), calling the Preparer returns exactly:
        format openai-chat, `data` itself as the canonical form, no issue, these counts, status
        None, kind chat (`classify` says openai-chat of every such row). Import's workers take
        this shortcut, without a Row, a detection, an ExampleCheck and a PreparedRecord per row
        (`test_import_identity.py` holds that both ways store the same)."""
        rows = self._rows()
        if not rows.is_clean(data):
            return None
        if rows.counter is None:
            return None, None
        return rows.clean_counts(data)

    @property
    def quick(self) -> Callable[[bytes], QuickAnswer] | None:
        """The checker's quick path for a JSONL line (`RowChecker.quick_line`: canonical JSON,
        total, trained of a clean plain-chat row), None where it does not apply. A line it takes
        is what `clean_chat` says of its parsed value, with the parser's canonical JSON."""
        return self._rows().quick

    def check(self, example: dict[str, Any], *, file: str | None = None, line: int | None = None,
              example_index: int | None = None, fmt: str | None = None) -> ExampleCheck:
        """Every rule and the token counts for one example (in any format curator reads).

        `fmt`: the example's format when the caller has classified it already; None detects it.
        A preference row (a stored pair, after an edit) and a KTO feedback row are checked as
        import checks them: by the target's preference layout, and as chat.
        """
        if fmt is None:
            fmt = classify(example)
        if fmt in PREFERENCE_FORMATS or (fmt in _FEEDBACK_FORMATS and is_feedback(example)):
            prepared = (self._preference(example, fmt, file, line, example_index)
                        if fmt in PREFERENCE_FORMATS
                        else self._feedback(example, fmt, file, line, example_index))
            return ExampleCheck(fmt, prepared.issues, prepared.tokens_total,
                                prepared.tokens_trained)
        return self._check_row(example, file=file, line=line, example_index=example_index, fmt=fmt)

    def _check_row(self, example: dict[str, Any], *, file: str | None = None,
                   line: int | None = None, example_index: int | None = None,
                   fmt: str | None = None, screened: bool = False) -> ExampleCheck:
        """The rules of the example's own format (`fmt`) and its token counts (`screened`:
        `RowChecker.check`'s, `is_clean` has turned this example down already)."""
        fmt, issues, total, trained, _ = self._rows().check(example, fmt=fmt, digest=False,
                                                            screened=screened)
        placed = [replace(i, file=file, line=line, example_index=example_index)
                  for i in issues[:MAX_ISSUES_PER_ROW]]
        return ExampleCheck(fmt, placed, None if total == NO_COUNT else total,
                            None if trained == NO_COUNT else trained)

    def __call__(self, row: Row) -> PreparedRecord:
        return self._prepare(row, screened=False)

    def screened(self, row: Row) -> PreparedRecord:
        """What calling the Preparer makes of `row`, for a row whose parsed value the checker's
        quick path has turned down already (`RowChecker.quick_line` said False: `is_clean` is
        False for it), so the full rules of plain chat decide without asking `is_clean` again
        (they find the same: `RowChecker.check`'s `screened`). Import's workers call it."""
        return self._prepare(row, screened=True)

    def _prepare(self, row: Row, *, screened: bool) -> PreparedRecord:
        data = row.data
        assert data is not None
        where: dict[str, Any] = {"file": row.file, "line": row.line, "example_index": row.example_index}
        fmt = classify(data)  # the one detection of this row; the checks below are told its result
        if fmt in (UNKNOWN, AMBIGUOUS):
            issue = row_detection_issue(data)
            assert issue is not None
            return PreparedRecord(None, data, [replace(issue, path=None, **where)])
        if fmt in PREFERENCE_FORMATS:
            return self._preference(data, fmt, row.file, row.line, row.example_index)
        if fmt in _FEEDBACK_FORMATS and is_feedback(data):
            return self._feedback(data, fmt, row.file, row.line, row.example_index)
        if fmt == "openai-chat":  # (`check` of this format is `_check_row`)
            checked = self._check_row(data, **where, fmt=fmt, screened=screened)
            return PreparedRecord(fmt, data, checked.issues, checked.tokens_total, checked.tokens_trained)
        converted = to_chat(data, fmt, example_index=row.example_index)
        notes = [replace(i, file=row.file, line=row.line) for i in converted.issues]
        if converted.example is None:
            return PreparedRecord(fmt, data, notes[:MAX_ISSUES_PER_ROW])
        checked = self.check(converted.example, **where, fmt="openai-chat")
        return PreparedRecord(fmt, converted.example, (notes + checked.issues)[:MAX_ISSUES_PER_ROW],
                              checked.tokens_total, checked.tokens_trained)

    # --- preference pairs and KTO feedback ----------------------------------------------------

    def _preference(self, data: dict[str, Any], fmt: str, file: str | None, line: int | None,
                    example_index: int | None) -> PreparedRecord:
        """A pair: to the canonical form, then the target's preference layout and its rules."""
        where: dict[str, Any] = {"file": file, "line": line, "example_index": example_index}
        converted = to_preference(data, fmt, example_index=example_index)
        notes = [replace(i, file=file, line=line) for i in converted.issues]
        pair = converted.example
        if pair is None:
            return PreparedRecord(fmt, data, notes[:MAX_ISSUES_PER_ROW], kind="preference")
        layout = PREFERENCE_LAYOUT.get(self.target, "openai-preference")
        shown = from_preference(pair, layout, example_index=example_index)
        notes += [replace(i, file=file, line=line, message=f"{i.message} (as {layout})")
                  for i in shown.issues if (i.code, i.message) not in {(n.code, n.message) for n in notes}]
        issues = list(notes)
        if shown.example is not None:
            issues += self._check_row(shown.example, **where, fmt=layout).issues
        issues += [replace(i, **where) for i in pair_issues(pair)]
        total = trained = None
        sides: dict[str, int] | None = None
        if not any(i.severity == "error" for i in issues):
            sides = self._count_sides(pair)
            if sides is not None:
                longer = max(sides["chosen"], sides["rejected"])
                total, trained = sides["prompt"] + longer, longer
                if total > self.limit:
                    issues.append(Issue("tokens.over_limit", "warning",
                                        f"{total:,} tokens (prompt + the longer side) > limit "
                                        f"{self.limit:,}: the end will be cut off", **where))
        return PreparedRecord(fmt, pair, issues[:MAX_ISSUES_PER_ROW], total, trained,
                              kind="preference", tokens_sides=sides)

    def _count_sides(self, pair: dict[str, Any]) -> dict[str, int] | None:
        """Tokens of the prompt and of each side as the target's tokenizer counts them (a side:
        the prompt and that side rendered together, less the prompt alone)."""
        counter = self._rows().counter
        if counter is None:
            return None
        tools = {"tools": pair["tools"]} if pair.get("tools") else {}
        try:
            prompt = counter.count_chat({"messages": pair["prompt"], **tools}).total \
                if pair["prompt"] else 0
            sides = {"prompt": prompt}
            for side in ("chosen", "rejected"):
                both = counter.count_chat({"messages": pair["prompt"] + pair[side], **tools})
                sides[side] = max(both.total - prompt, 0)
        except Exception:  # a local model's template refused the pair: leave it uncounted
            return None
        return sides

    def _feedback(self, data: dict[str, Any], fmt: str, file: str | None, line: int | None,
                  example_index: int | None) -> PreparedRecord:
        """KTO's unpaired row: stored as {prompt, completion, label}, checked as its chat."""
        where: dict[str, Any] = {"file": file, "line": line, "example_index": example_index}
        canonical = feedback_form(data)
        chat: dict[str, Any] = {"messages": canonical["prompt"] + canonical["completion"]}
        if data.get("tools"):
            chat["tools"] = data["tools"]
        checked = self._check_row(chat, **where, fmt="openai-chat")
        issues = list(checked.issues)
        if self.target not in FEEDBACK_TARGETS:
            issues.insert(0, Issue(
                "format.method_mismatch", "error",
                f"KTO feedback rows (prompt, completion, label) are not accepted by {self.target}",
                **where, hint=f"import them into a workspace for {', '.join(sorted(FEEDBACK_TARGETS))}"))
        return PreparedRecord(fmt, canonical, issues[:MAX_ISSUES_PER_ROW], checked.tokens_total,
                              checked.tokens_trained, kind="feedback")


_FEEDBACK_FORMATS = ("prompt-completion", "trl-conversational-prompt-completion")


def is_feedback(data: dict[str, Any]) -> bool:
    """KTO's unpaired layout: prompt, completion and a boolean label (TRL's KTOTrainer)."""
    return isinstance(data.get("label"), bool) and "prompt" in data and "completion" in data \
        and set(data) <= {"prompt", "completion", "label", "tools"}


def feedback_form(data: dict[str, Any]) -> dict[str, Any]:
    """The stored form of a KTO row: prompt and completion as message lists, and the label."""
    def msgs(value: Any, role: str) -> list[Any]:
        if isinstance(value, list):
            return list(value)
        return [{"role": role, "content": value}] if value not in (None, "") else []

    out: dict[str, Any] = {"prompt": msgs(data["prompt"], "user"),
                           "completion": msgs(data["completion"], "assistant"),
                           "label": data["label"]}
    if data.get("tools"):
        out["tools"] = data["tools"]
    return out


def _side_text(side: Any) -> str:
    if not isinstance(side, list):
        return ""
    return "\n".join(content_text(m.get("content")) for m in side if isinstance(m, dict)).strip()


def _refusal(text: str) -> bool:
    low = text.lower()
    return any(phrase in low for phrase in REFUSALS)


def pair_issues(pair: dict[str, Any]) -> list[Issue]:
    """Checks of one pair that no layout's rules make: one side empty while the other is not;
    the chosen side a refusal while the rejected one is not."""
    chosen, rejected = _side_text(pair.get("chosen")), _side_text(pair.get("rejected"))
    if bool(chosen) != bool(rejected):
        empty = "chosen" if not chosen else "rejected"
        return [Issue("pref.one_side_empty", "error",
                      f"the {empty} answer is empty and the other is not", path=f"/{empty}")]
    if chosen and _refusal(chosen) and not _refusal(rejected):
        return [Issue("pref.refusal_chosen", "warning",
                      "the chosen answer is a refusal and the rejected one is not (swapped?)",
                      path="/chosen")]
    return []
