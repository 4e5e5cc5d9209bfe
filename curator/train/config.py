"""Options of a training run: one dataclass, filled from defaults, a YAML file, then flags.

The YAML keys are the field names below (the CLI flags are the same names with dashes). See
configs/smoke.yaml for a commented example and docs/train.md for what each key means.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from curator.train.errors import UsageError

Quant = Literal["nf4", "none"]
Overlong = Literal["drop", "truncate"]
Device = Literal["auto", "cpu", "cuda"]

#: default steps when `steps` is not set: a GPU does a real smoke run, a CPU a short one.
DEFAULT_STEPS_GPU = 60
DEFAULT_STEPS_CPU = 10


@dataclass
class TrainConfig:
    data: str | None = None
    model: str | None = None  # None: the embedded SmolLM2-135M-Instruct default
    out: str | None = None
    steps: int | None = None  # None: 60 on a GPU, 10 on a CPU (capped at one epoch on neither)
    batch_size: int = 4
    lr: float = 2e-4
    warmup_ratio: float = 0.1
    weight_decay: float = 0.0
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    target_modules: str | list[str] = "all-linear"
    quant: Quant = "nf4"
    device: Device = "auto"
    max_length: int | None = None  # None: the data's own p99, capped by the model
    overlong: Overlong = "drop"
    chat_template: str = "auto"  # auto | fallback | PATH to a .jinja file
    eval_batch_size: int = 8
    generate: int = 3  # holdout prompts generated before and after
    max_new_tokens: int = 48
    review_top_k: int = 20
    explode_factor: float = 4.0  # stop when a step's loss exceeds this many times the first
    seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    def check(self) -> None:
        """Reject values that cannot work, with the fix."""
        positive = ("batch_size", "lora_r", "lora_alpha", "eval_batch_size", "max_new_tokens")
        for name in positive:
            if getattr(self, name) < 1:
                raise UsageError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.steps is not None and self.steps < 1:
            raise UsageError(f"steps must be at least 1, got {self.steps}")
        if self.max_length is not None and self.max_length < 8:
            raise UsageError(f"max_length must be at least 8, got {self.max_length}")
        if not 0.0 <= self.lora_dropout < 1.0:
            raise UsageError(f"lora_dropout must be in [0, 1), got {self.lora_dropout}")
        if not 0.0 <= self.warmup_ratio < 1.0:
            raise UsageError(f"warmup_ratio must be in [0, 1), got {self.warmup_ratio}")
        if not self.lr > 0:
            raise UsageError(f"lr must be positive, got {self.lr}")
        for name, allowed in (("quant", Quant), ("overlong", Overlong), ("device", Device)):
            choices = allowed.__args__  # type: ignore[attr-defined]
            if getattr(self, name) not in choices:
                raise UsageError(f"{name} must be one of {', '.join(choices)}, got {getattr(self, name)!r}")
        if self.data is None:
            raise UsageError("no data given", fix="pass --data DIR (train/validation/holdout .jsonl) or set `data:` in the config")
        if self.out is None:
            raise UsageError("no run directory given", fix="pass --out RUN_DIR or set `out:` in the config")

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d.pop("extra")
        return d


FIELDS = {f.name for f in dataclasses.fields(TrainConfig)} - {"extra"}


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a config file into a dict of known keys; unknown keys and bad YAML name the file."""
    p = Path(path)
    try:
        loaded = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"{p}: cannot read the config: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{p}:{mark.line + 1}" if mark is not None else str(p)
        raise UsageError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from exc
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise UsageError(f"{p}: the config must be a mapping of keys to values, got {type(loaded).__name__}")
    unknown = sorted(set(loaded) - FIELDS)
    if unknown:
        raise UsageError(f"{p}: unknown config key(s): {', '.join(map(str, unknown))}",
                         fix=f"use only: {', '.join(sorted(FIELDS))}")
    # Paths in a config file are relative to the file, so a config can travel with its data.
    for key in ("data", "out"):
        if isinstance(loaded.get(key), str) and not Path(loaded[key]).is_absolute():
            loaded[key] = os.path.normpath(p.parent / loaded[key])
    return loaded


def build_config(file_values: dict[str, Any], flag_values: dict[str, Any]) -> TrainConfig:
    """Defaults, then the config file, then the flags the user actually gave."""
    values = {**file_values, **flag_values}
    try:
        cfg = TrainConfig(**values)
    except TypeError as exc:
        raise UsageError(f"bad config: {exc}") from exc
    for name in ("batch_size", "lora_r", "lora_alpha", "eval_batch_size", "generate",
                 "max_new_tokens", "review_top_k", "seed"):
        if not isinstance(getattr(cfg, name), int):
            raise UsageError(f"{name} must be an integer, got {getattr(cfg, name)!r}")
    for name in ("lr", "warmup_ratio", "weight_decay", "lora_dropout", "explode_factor"):
        v = getattr(cfg, name)
        if isinstance(v, str):  # PyYAML reads `2e-4` (no dot) as a string
            with contextlib.suppress(ValueError):
                v = float(v)
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise UsageError(f"{name} must be a number, got {v!r}")
        setattr(cfg, name, float(v))
    cfg.check()
    return cfg
