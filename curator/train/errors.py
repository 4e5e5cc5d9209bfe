"""Typed failures of a training run. Each says what went wrong and what to do."""

from __future__ import annotations


class TrainError(Exception):
    """A run cannot go on. `exit_code` 2 is a usage or input error, 1 a failed run."""

    exit_code = 1

    def __init__(self, message: str, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        return self.message if not self.fix else f"{self.message}\n  fix: {self.fix}"


class UsageError(TrainError):
    """Bad options, a missing or malformed file, a model that cannot be found."""

    exit_code = 2


class PreflightError(TrainError):
    """The data or the model setup would train wrongly or not at all: stop before any step."""


class WatchdogError(TrainError):
    """Training went off the rails (NaN/Inf, exploding loss, out of memory twice)."""
