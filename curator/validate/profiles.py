"""Target profiles: what one service or trainer accepts, and so which findings are errors.

A profile never adds rules; it picks severities, the allowed roles and formats, the minimum
number of examples and the token limit (reference/formats.md §3 and §6).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from curator.issues import Severity

#: Max tokens per training example by model (formats.md §3.1); prefixes match dated names.
OPENAI_MODEL_LIMITS: dict[str, int] = {
    "gpt-4o-mini": 65_536,
    "gpt-4o": 65_536,
    "gpt-4.1-nano": 32_768,
    "gpt-4.1-mini": 65_536,
    "gpt-4.1": 65_536,
    "o4-mini": 65_536,
    "gpt-3.5-turbo-0613": 4_096,
    "gpt-3.5-turbo": 16_385,
    "gpt-35-turbo": 16_385,
    "gpt-4": 8_192,
    "babbage-002": 16_384,
    "davinci-002": 16_384,
}
#: Which tiktoken encoding a model family uses (formats.md §3.2).
CL100K_MODELS = ("gpt-4-", "gpt-4", "gpt-3.5", "gpt-35", "babbage-002", "davinci-002")


def openai_limit(model: str) -> int:
    """Training limit for an OpenAI model name (longest known prefix wins)."""
    name = model.removeprefix("ft:")
    for prefix in sorted(OPENAI_MODEL_LIMITS, key=len, reverse=True):
        if name.startswith(prefix):
            return OPENAI_MODEL_LIMITS[prefix]
    raise ValueError(f"unknown OpenAI model {model!r}; pass --max-tokens to set the limit")


def encoding_for(model: str) -> str:
    name = model.removeprefix("ft:")
    if name.startswith("gpt-4o") or name.startswith("gpt-4.1") or name.startswith("o"):
        return "o200k_base"
    return "cl100k_base" if name.startswith(CL100K_MODELS) else "o200k_base"


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    #: row formats (curator.formats.detect names) the target reads as they are; others get
    #: format.needs_conversion
    formats: frozenset[str]
    roles: frozenset[str]
    min_examples: int
    default_model: str | None
    default_max_tokens: int
    want_bom: bool = False
    severities: dict[str, Severity] = field(default_factory=dict)
    #: string tool-call arguments (OpenAI) vs objects (TRL templates)
    arguments_as_string: bool = True
    requires_alternation: bool = False

    def severity(self, code: str, default: Severity) -> Severity:
        return self.severities.get(code, default)


_OPENAI_ROLES = frozenset({"system", "user", "assistant", "tool", "function"})

PROFILES: dict[str, Profile] = {
    "openai": Profile(
        name="openai",
        description="OpenAI fine-tuning (chat SFT, DPO; legacy prompt/completion for babbage/davinci)",
        formats=frozenset({"openai-chat", "openai-preference", "prompt-completion"}),
        roles=_OPENAI_ROLES,
        min_examples=10,
        default_model="gpt-4o-mini",
        default_max_tokens=65_536,
    ),
    "azure": Profile(
        name="azure",
        description="Azure OpenAI fine-tuning (as openai; the docs ask for a UTF-8 BOM)",
        formats=frozenset({"openai-chat", "openai-preference", "prompt-completion"}),
        roles=_OPENAI_ROLES,
        min_examples=10,
        default_model="gpt-4o-mini",
        default_max_tokens=65_536,
        want_bom=True,
    ),
    "trl": Profile(
        name="trl",
        description="Hugging Face TRL SFTTrainer/DPOTrainer (max_length 1024 by default)",
        formats=frozenset({"openai-chat", "prompt-completion", "trl-conversational-prompt-completion",
                           "trl-preference", "trl-text"}),
        roles=frozenset({"system", "developer", "user", "assistant", "tool"}),
        min_examples=1,
        default_model=None,
        default_max_tokens=1024,
        severities={"toolcall.arguments_not_string": "info", "pc.completion_no_leading_space": "info",
                    "chat.role_not_allowed_for_method": "info"},
        arguments_as_string=False,
    ),
    "together": Profile(
        name="together",
        description="Together AI fine-tuning (strict alternation, no extra columns, min 100)",
        formats=frozenset({"openai-chat", "prompt-completion", "openai-preference", "trl-text"}),
        roles=frozenset({"system", "user", "assistant", "tool"}),
        min_examples=100,
        default_model=None,
        default_max_tokens=32_768,
        severities={"chat.consecutive_same_role": "error", "example.unknown_key": "error",
                    "chat.last_not_assistant": "error"},
        requires_alternation=True,
    ),
    "lf": Profile(
        name="lf",
        description="LLaMA-Factory openai/sharegpt layout (alternation, system first, cutoff_len 2048)",
        formats=frozenset({"openai-chat", "alpaca", "sharegpt", "sharegpt-preference", "lf-v1-messages"}),
        roles=frozenset({"system", "user", "assistant", "tool"}),
        min_examples=1,
        default_model=None,
        default_max_tokens=2048,
        severities={"chat.consecutive_same_role": "error", "chat.system_not_first": "error",
                    "chat.last_not_assistant": "error", "toolcall.arguments_not_string": "info"},
        arguments_as_string=False,
        requires_alternation=True,
    ),
}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown target {name!r}; choose one of {', '.join(PROFILES)}") from None
