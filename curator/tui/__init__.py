"""The review app (Textual). The only package that imports textual; the CLI imports it lazily."""

from __future__ import annotations

from curator.tui.app import ReviewApp

__all__ = ["ReviewApp"]
