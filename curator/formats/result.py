"""The value every converter returns, and the conversion issue codes.

Codes (severity in brackets) beyond the catalogue of reference/formats.md §5:

* ``convert.lossy`` (warning): the output lacks something the input had (a key, a weight,
  a turn boundary). The message names it. It is info when the loss is recoverable: sharegpt
  has no tool-call ids, and converting back re-synthesises them by position.
* ``convert.heuristic`` (info): the output rests on a guess (a stripped separator, positional
  pairing of tool results with calls, a synthesised prompt). The message names the guess.
* ``convert.role_alias`` (info): a non-standard role name was mapped (``bot`` -> ``assistant``).
* ``convert.unrepresentable`` (error): the target format cannot hold this example.
* ``convert.unsupported`` (error): the source format cannot be turned into chat at all.
* ``convert.field_invalid`` (error): the row lacks the structure its format requires.

Converters never raise on bad data: a row that cannot be converted comes back with
``example=None`` and at least one error issue saying why.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from curator.issues import Issue, Severity


@dataclass(slots=True)
class ConversionResult:
    example: dict[str, Any] | None
    issues: list[Issue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.example is not None


class Collector:
    """Gathers the issues of one conversion, so helpers can report without returning tuples."""

    def __init__(self, example_index: int | None = None) -> None:
        self.example_index = example_index
        self.issues: list[Issue] = []

    def add(
        self,
        code: str,
        severity: Severity,
        message: str,
        *,
        path: str | None = None,
        message_index: int | None = None,
        hint: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.issues.append(
            Issue(
                code=code,
                severity=severity,
                message=message,
                example_index=self.example_index,
                message_index=message_index,
                path=path,
                hint=hint,
                fix=fix,
            )
        )

    @property
    def failed(self) -> bool:
        return any(i.severity == "error" for i in self.issues)

    def result(self, example: dict[str, Any] | None) -> ConversionResult:
        return ConversionResult(None if self.failed else example, self.issues)

    def fail(self, code: str, message: str, **kw: Any) -> ConversionResult:
        self.add(code, "error", message, **kw)
        return ConversionResult(None, self.issues)


class ConversionError(Exception):
    """Raised inside a converter to abandon a row; the public functions turn it into an issue."""

    def __init__(self, code: str, message: str, *, path: str | None = None,
                 message_index: int | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.path = path
        self.message_index = message_index
        self.hint = hint


def locate(issues: list[Issue], file: str | None, line: int | None,
           example_index: int | None) -> list[Issue]:
    """Stamp a row's location onto issues produced without one."""
    return [replace(i, file=file, line=line, example_index=example_index) for i in issues]
