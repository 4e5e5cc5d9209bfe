"""The collector every rule writes to: it resolves severity through the target profile."""

from __future__ import annotations

from typing import Any

from curator.issues import Issue, Severity
from curator.validate.codes import CODES
from curator.validate.profiles import Profile

#: warnings that `--strict` turns into errors (formats.md §6, "--strict" row)
STRICT_ESCALATE = frozenset({"example.unknown_key", "quality.empty_or_whitespace",
                             "chat.first_turn_not_user", "tokens.over_limit"})


class Ctx:
    """Issues of one example, without location; the engine adds file, line and example index."""

    __slots__ = ("converted", "issues", "profile", "simple", "strict")

    def __init__(self, profile: Profile, strict: bool = False) -> None:
        self.profile = profile
        self.strict = strict
        self.issues: list[Issue] = []
        #: the row in canonical chat form, when it was converted from another format to be checked
        self.converted: dict[str, Any] | None = None
        #: set by the chat rules: the row is only {messages: [{role, content: str}...]} with plain
        #: roles, a shape the pydantic model accepts whenever the rules do (no safety net needed)
        self.simple = False

    def add(self, code: str, message: str, *, mi: int | None = None, path: str | None = None,
            hint: str | None = None, fix: str | None = None, severity: Severity | None = None) -> None:
        entry = CODES[code]
        sev = severity or self.profile.severity(code, entry.severity)
        if self.strict and sev == "warning" and code in STRICT_ESCALATE:
            sev = "error"
        self.issues.append(Issue(code, sev, message, message_index=mi, path=path,
                                 hint=hint or entry.hint, fix=fix))

    def has_error(self) -> bool:
        return any(i.severity == "error" for i in self.issues)
