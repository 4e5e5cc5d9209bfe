"""Where curator keeps its own files: the curator home and tiktoken's cache under it.

`CURATOR_HOME` names the home; unset or empty means the default `~/.cache/curator` (an empty
value never means "the working directory"). The trainer writes converted models under
`models/`; tiktoken's encodings live in `tiktoken/` unless `TIKTOKEN_CACHE_DIR` says otherwise.
"""

from __future__ import annotations

import os
from pathlib import Path


def curator_home() -> Path:
    """`$CURATOR_HOME`, or `~/.cache/curator` when it is unset or empty."""
    return Path(os.environ.get("CURATOR_HOME") or Path.home() / ".cache" / "curator")


def tiktoken_cache_dir() -> Path:
    """`$TIKTOKEN_CACHE_DIR` (tiktoken's own variable) when set and not empty, else
    `curator_home()/tiktoken`."""
    return Path(os.environ.get("TIKTOKEN_CACHE_DIR") or curator_home() / "tiktoken")
