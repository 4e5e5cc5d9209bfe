"""What a workspace's records are judged by, and the rules about it, in one place.

One target per workspace. The first import stores the target, the tokenizer (model) and the
length limit in meta (`workspace.*`, `settings_meta`); every record's issues and token counts
were computed with them. A command that judges records again and writes the judgement into the
workspace (an import, the review app and its edits) must use the same three: `resolve` refuses
another one with `SettingsConflict`, because mixing them would leave records judged by two
rules. A command that only reads (export, report) may ask for another target by name:
`settings_for` takes the option where given and the workspace's settings otherwise.

The target lists: `curator.tokens.TARGETS` are the targets a workspace can be prepared for (each
has a token counter); `EXPORT_TARGETS` adds `lf` (LLaMA-Factory), which export and report
accept, because sharegpt and alpaca exist for it.

Splits: `curator split` may name the three splits (`names`); `split_names` maps them in order
onto train, validation and holdout, from the split's parameters (`split_params`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import orjson

from curator.split import DEFAULT_NAMES
from curator.workspace import WorkspaceError

if TYPE_CHECKING:
    from curator.validate.engine import Options
    from curator.workspace import Workspace

#: Export formats each target reads as they are. `lf` (LLaMA-Factory) is offered beside the
#: three targets of the issue, because sharegpt and alpaca exist for it.
TARGET_FORMATS: dict[str, tuple[str, ...]] = {
    "openai": ("openai-chat", "prompt-completion"),
    "azure": ("openai-chat", "prompt-completion"),
    "trl": ("trl-messages", "prompt-completion", "openai-chat"),
    "lf": ("sharegpt", "alpaca", "openai-chat", "trl-messages"),
}
EXPORT_TARGETS = tuple(TARGET_FORMATS)
DEFAULT_FORMAT = {"openai": "openai-chat", "azure": "openai-chat", "trl": "trl-messages",
                  "lf": "sharegpt"}
DEFAULT_TARGET = "openai"
#: The preference (DPO) layout each target reads: the Preparer checks a pair with that layout's
#: rules, export writes it (docs/preference.md).
PREFERENCE_LAYOUT: dict[str, str] = {
    "openai": "openai-preference", "azure": "openai-preference", "together": "openai-preference",
    "trl": "trl-preference", "lf": "sharegpt-preference",
}
#: Targets that train on KTO's unpaired feedback rows (prompt, completion, label)
FEEDBACK_TARGETS = frozenset({"trl"})
#: The layout an export writes each record kind in, per target (chat: `TARGET_FORMATS`)
KIND_LAYOUTS: dict[str, dict[str, str]] = {
    "preference": PREFERENCE_LAYOUT,
    "feedback": {"trl": "trl-kto"},
}

#: The meta keys of the split's parameters: `split.params` now, `split_params` in workspaces
#: split by an older curator (read as a fallback, never written).
SPLIT_PARAMS_KEYS = ("split.params", "split_params")
#: meta key: the figures of the last `curator train` run on this workspace
LAST_RUN_KEY = "train.last_run"


class SettingsConflict(WorkspaceError):
    """An option asks for another target, tokenizer or limit than the workspace was prepared
    with (the CLI exits 2 with the message)."""


# -- what the workspace stores --------------------------------------------------------------------


def settings_meta(target: str, model: str | None, max_tokens: int) -> dict[str, str]:
    """The meta an import writes with its first batch: the target, tokenizer and length limit
    the workspace's records are judged by (`workspace.*`, JSON values)."""
    return {"workspace.target": orjson.dumps(target).decode(),
            "workspace.model": orjson.dumps(model).decode(),
            "workspace.max_tokens": orjson.dumps(max_tokens).decode()}


@dataclass(frozen=True)
class WorkspaceSettings:
    """What a workspace's records are judged by, as its first import stored it (`settings_meta`);
    every field is None before anything was imported."""

    target: str | None
    model: str | None
    max_tokens: int | None


def workspace_settings(ws: Workspace) -> WorkspaceSettings:
    """The workspace's target, tokenizer and length limit (one reader for every command)."""
    target = ws.meta_json("workspace.target")
    model = ws.meta_json("workspace.model")
    limit = ws.meta_json("workspace.max_tokens")
    return WorkspaceSettings(
        target if isinstance(target, str) else None,
        model if isinstance(model, str) and model else None,
        limit if isinstance(limit, int) and not isinstance(limit, bool) else None,
    )


# -- what a command judges by -----------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """The target, tokenizer and explicit length limit a command judges records by.

    `max_tokens` is the limit given (by the option or the workspace); None means the model's or
    the target's own, which `limit` works out."""

    target: str
    model: str | None
    max_tokens: int | None
    stored: WorkspaceSettings = field(default_factory=lambda: WorkspaceSettings(None, None, None))

    @property
    def options(self) -> Options:
        from curator.validate.engine import Options

        return Options(self.target, self.model, self.max_tokens)

    def require_limit(self) -> int:
        """The token limit; raises ValueError (saying why) when it cannot be known: a model
        name the target's profile does not know, and no explicit limit. An import stops there."""
        return self.options.limit

    @property
    def limit(self) -> int | None:
        """The token limit, or None when it cannot be known (see `require_limit`): what a
        report, an export manifest or the review app shows."""
        try:
            return self.require_limit()
        except ValueError:
            return None


def resolve(ws: Workspace, *, target: str | None = None, model: str | None = None,
            max_tokens: int | None = None,
            purpose: Literal["import", "open"] = "import") -> Settings:
    """The workspace's target, tokenizer and limit, checked against the options.

    A workspace is prepared for one target: its issues and token counts were computed with it,
    so mixing targets (or tokenizers, or limits) would leave records judged by two rules; an
    option that asks for another one raises SettingsConflict. A workspace with nothing imported
    yet takes the options (the target defaults to openai). `purpose` picks the advice in the
    message: "import" (`curator import`) or "open" (`curator review`, the review app).
    """
    stored = workspace_settings(ws)
    if stored.target is None:
        return Settings(target or DEFAULT_TARGET, model, max_tokens, stored)
    ws_target, ws_model, ws_limit = stored.target, stored.model, stored.max_tokens
    if target is not None and target != ws_target:
        if purpose == "open":
            raise SettingsConflict(
                f"workspace {ws.path} is prepared for target {ws_target}; --target {target} "
                f"would judge its records by two rules. Open it without --target, or import "
                f"into a new workspace for {target}.")
        raise SettingsConflict(
            f"workspace {ws.path} is prepared for target {ws_target}; importing with "
            f"--target {target} would judge records by two rules. Import without --target, "
            f"or use a new workspace for {target}.")
    if model is not None and model != ws_model:
        raise SettingsConflict(
            f"workspace {ws.path} counts tokens with model {ws_model or '(default)'}; "
            f"--model {model} would mix two tokenizers. Import without --model, or use a new "
            f"workspace.")
    if max_tokens is not None and max_tokens != ws_limit:
        raise SettingsConflict(
            f"workspace {ws.path} checks lengths against {ws_limit} tokens; --max-tokens "
            f"{max_tokens} would mix two limits. Import without --max-tokens, or use a new "
            f"workspace.")
    return Settings(ws_target, ws_model, ws_limit, stored)


def settings_for(ws: Workspace, *, target: str | None = None,
                 max_tokens: int | None = None) -> Settings:
    """What a command that only reads (export, report) judges by: the target and limit asked
    for by name, else the workspace's; the tokenizer is always the workspace's. No conflict:
    nothing judged this way is written into the workspace."""
    stored = workspace_settings(ws)
    return Settings(target or stored.target or DEFAULT_TARGET, stored.model,
                    stored.max_tokens if max_tokens is None else max_tokens, stored)


def resolve_target_format(ws: Workspace, fmt: str | None, target: str | None) -> tuple[str, str]:
    """(format, target) of an export: the target from the option, else the workspace's import
    target, else the one the format implies; the format from the option, else the target's
    default. Raises ExportError for an unknown format or target, or a pair that does not fit."""
    from curator.export import EXPORT_FORMATS, ExportError  # numpy: only when exporting

    if fmt is not None and fmt not in EXPORT_FORMATS:
        raise ExportError(f"unknown format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}")
    if target is not None and target not in TARGET_FORMATS:
        raise ExportError(f"unknown target {target!r}; choose one of {', '.join(EXPORT_TARGETS)}")
    if target is None:
        stored = workspace_settings(ws).target
        if fmt in ("sharegpt", "alpaca"):
            target = "lf"
        elif fmt == "trl-messages":
            target = "trl"
        elif stored is not None and stored in TARGET_FORMATS and (
                fmt is None or fmt in TARGET_FORMATS[stored]):
            target = stored
        else:
            target = DEFAULT_TARGET
    fmt = fmt or DEFAULT_FORMAT[target]
    if fmt not in TARGET_FORMATS[target]:
        raise ExportError(
            f"target {target} does not read {fmt}; for {target} use "
            f"{' or '.join(TARGET_FORMATS[target])}"
        )
    return fmt, target


def resolve_kind_layout(ws: Workspace, kind: str, fmt: str | None,
                        target: str | None) -> tuple[str, str]:
    """(layout, target) of an export of `kind` records (preference or feedback): the target
    from the option, else the workspace's import target, else openai; the layout is the
    target's (`KIND_LAYOUTS`). `fmt` names a chat format and does not apply: given, it must be
    None or that layout. Raises ExportError when the target has no layout for the kind."""
    from curator.export import ExportError

    if target is not None and target not in TARGET_FORMATS:
        raise ExportError(f"unknown target {target!r}; choose one of {', '.join(EXPORT_TARGETS)}")
    if target is None:
        stored = workspace_settings(ws).target
        target = stored if stored in TARGET_FORMATS else DEFAULT_TARGET
    layouts = KIND_LAYOUTS[kind]
    if target not in layouts:
        raise ExportError(f"{kind} records cannot be exported for {target}; targets that read "
                          f"them: {', '.join(sorted(layouts))}")
    layout = layouts[target]
    if fmt is not None and fmt != layout:
        raise ExportError(f"--format {fmt} is a chat format; {kind} records are written in the "
                          f"target's layout ({layout} for {target}): leave --format out")
    return layout, target


# -- splits -------------------------------------------------------------------------------------------


def split_params(ws: Workspace) -> Any:
    """The last split's parameters (ratios, seed, stratify, group_by, names) as `curator split`
    stored them: meta `split.params`, else the legacy `split_params` of an older workspace;
    None before any split. A value that is not JSON comes back as its string."""
    return ws.meta_json(*SPLIT_PARAMS_KEYS)


@dataclass(frozen=True)
class SplitNames:
    """The workspace's names for train, validation and holdout, in that order (`curator split`
    may name them; the default is the canonical names themselves)."""

    names: tuple[str, str, str] = DEFAULT_NAMES

    @classmethod
    def from_params(cls, params: Any) -> SplitNames:
        given = params.get("names") if isinstance(params, dict) else None
        if isinstance(given, list) and len(given) == 3 and all(isinstance(x, str) for x in given):
            return cls((given[0], given[1], given[2]))
        return cls()

    def to_canonical(self, name: str) -> str:
        """A workspace split name -> train / validation / holdout; another name unchanged."""
        return self.by_workspace().get(name, name)

    def to_workspace(self, split: str) -> str:
        """train / validation / holdout -> the workspace's name for it; another name unchanged."""
        return self.by_canonical().get(split, split)

    def by_workspace(self) -> dict[str, str]:
        """The workspace's name -> canonical name, in train, validation, holdout order."""
        return dict(zip(self.names, DEFAULT_NAMES, strict=True))

    def by_canonical(self) -> dict[str, str]:
        """Canonical name -> the workspace's name, in train, validation, holdout order."""
        return dict(zip(DEFAULT_NAMES, self.names, strict=True))


def split_names(ws: Workspace) -> SplitNames:
    """The workspace's split names, from its split parameters (`split_params`)."""
    return SplitNames.from_params(split_params(ws))
