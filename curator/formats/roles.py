"""Role-name mapping on the input side (reference/formats.md §7.1).

Names are compared case-insensitively after trimming. Role *values* are never passed through
unmapped: an unknown name is an error with a "did you mean" hint, not a silent new role.
"""

from __future__ import annotations

import difflib

# Canonical role -> accepted aliases. "function_call" is not a role: it marks an assistant turn
# that carries tool calls (LLaMA-Factory), so the sharegpt converter handles it itself.
ROLE_ALIASES: dict[str, tuple[str, ...]] = {
    "system": ("system",),
    "developer": ("developer",),
    "user": ("user", "human", "prompter", "question"),
    "assistant": ("assistant", "gpt", "model", "bot", "ai", "chatgpt", "bard", "bing", "gpt-4"),
    "tool": ("tool", "observation", "function_response", "ipython", "function"),
}

FUNCTION_CALL_TAG = "function_call"

_LOOKUP: dict[str, str] = {
    alias: canonical for canonical, aliases in ROLE_ALIASES.items() for alias in aliases
}

#: aliases that are the normal spelling in some format, so mapping them is not worth a note
STANDARD_NAMES = frozenset(
    {"system", "developer", "user", "assistant", "tool", "human", "gpt", "observation", "function"}
)


def canonical_role(name: str) -> str | None:
    """The canonical role for a role name, or None when the name is unknown."""
    return _LOOKUP.get(name.strip().lower())


def did_you_mean(name: str) -> str | None:
    choices = [*_LOOKUP, FUNCTION_CALL_TAG]
    close = difflib.get_close_matches(name.strip().lower(), choices, n=1, cutoff=0.6)
    return close[0] if close else None


def unknown_role_hint(name: str) -> str:
    guess = did_you_mean(name)
    known = ", ".join(sorted(ROLE_ALIASES))
    if guess:
        return f"did you mean '{guess}'? Known roles: {known} (and their aliases)"
    return f"known roles: {known} (and their aliases, reference/formats.md §7.1)"
