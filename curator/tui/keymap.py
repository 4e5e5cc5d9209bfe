"""The keymap file: binding id -> keys, in YAML (or JSON), e.g.

    accept: a,enter
    reject: x
    label_1: "1"

Ids are listed in the app's help screen (`?`) and by `curator review --help`."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import yaml


class KeymapError(ValueError):
    pass


def load_keymap(path: Path, known: Iterable[str]) -> dict[str, str]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise KeymapError(f"{path}: cannot read the keymap ({exc.strerror or exc})") from None
    except yaml.YAMLError as exc:
        raise KeymapError(f"{path}: not a YAML/JSON keymap ({exc})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise KeymapError(f"{path}: a keymap maps binding ids to keys, as in 'accept: a'")
    known = set(known)
    out: dict[str, str] = {}
    for key, value in data.items():
        if key not in known:
            raise KeymapError(f"{path}: unknown binding id {key!r}; known ids: "
                              f"{', '.join(sorted(known))}")
        if isinstance(value, int):
            value = str(value)
        if not isinstance(value, str) or not value.strip():
            raise KeymapError(f"{path}: keys for {key!r} must be text such as 'a' or 'a,enter'")
        out[str(key)] = ",".join(k.strip() for k in value.split(",") if k.strip())
    return out
