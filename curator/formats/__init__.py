"""Detect a row's format and convert it to and from the canonical chat form (OpenAI chat).

Public API:

* ``detect_format(row) -> str | None`` and ``detect_file_format(rows) -> FileDetection``
  (format names in ``FORMATS``; see ``curator.formats.detect``).
* ``to_chat(row, fmt, **options) -> ConversionResult`` and
  ``from_chat(example, target, **options) -> ConversionResult`` (targets in ``TARGETS``).
* ``to_preference(row, fmt)`` / ``from_preference(pref, target)`` for DPO rows
  (targets in ``PREFERENCE_TARGETS``).

Converters never raise on bad data and never drop anything silently: every lossy or guessed
step is an Issue (codes in ``curator.formats.result``).
"""

from curator.formats.detect import (
    CHAT_FORMATS,
    FORMATS,
    PREFERENCE_FORMATS,
    FileDetection,
    FormatTally,
    detect_file_format,
    detect_format,
)
from curator.formats.from_chat import TARGETS, from_chat
from curator.formats.preference import PREFERENCE_TARGETS, from_preference, to_preference
from curator.formats.result import ConversionResult
from curator.formats.to_chat import to_chat

__all__ = [
    "CHAT_FORMATS",
    "FORMATS",
    "PREFERENCE_FORMATS",
    "PREFERENCE_TARGETS",
    "TARGETS",
    "ConversionResult",
    "FileDetection",
    "FormatTally",
    "detect_file_format",
    "detect_format",
    "from_chat",
    "from_preference",
    "to_chat",
    "to_preference",
]
