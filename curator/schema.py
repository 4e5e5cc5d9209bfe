"""The formats curator reads and writes, as pydantic models.

These models are the single source of truth: `schemas/*.json` are generated from them by
`scripts/gen_schemas.py`, and a test fails when the files drift. Cross-field rules that JSON
Schema cannot express (alternation, tool-call pairing, token limits) live in `curator.validate`.

Field names match the trainers' own keys (`messages`, `prompt`, `completion`, ...), so a model
dumped with `model_dump(exclude_none=True)` is a row the target reads as it is.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field

TOOL_NAME_PATTERN = r"^[a-zA-Z0-9_-]{1,64}$"


class _Strict(BaseModel):
    """Unknown keys are an error: a trainer would reject or silently ignore them."""

    model_config = ConfigDict(extra="forbid")


# --- content parts ---------------------------------------------------------------------------


class TextPart(_Strict):
    type: Literal["text"]
    text: str


class ImageURL(_Strict):
    url: str
    detail: Literal["auto", "low", "high"] | None = None


class ImagePart(_Strict):
    type: Literal["image_url"]
    image_url: ImageURL


class RefusalPart(_Strict):
    type: Literal["refusal"]
    refusal: str


UserPart = Annotated[Union[TextPart, ImagePart], Field(discriminator="type")]
AssistantPart = Annotated[Union[TextPart, RefusalPart], Field(discriminator="type")]


# --- tools -----------------------------------------------------------------------------------


class FunctionDefinition(_Strict):
    name: str = Field(pattern=TOOL_NAME_PATTERN)
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class Tool(_Strict):
    type: Literal["function"]
    function: FunctionDefinition


class FunctionCall(_Strict):
    """A call as the model emits it: `arguments` is a JSON *string* (OpenAI format)."""

    name: str
    arguments: str


class ToolCall(_Strict):
    id: str
    type: Literal["function"]
    function: FunctionCall


# --- messages --------------------------------------------------------------------------------


class SystemMessage(_Strict):
    role: Literal["system"]
    content: str | Annotated[list[TextPart], Field(min_length=1)]
    name: str | None = None


class DeveloperMessage(_Strict):
    role: Literal["developer"]
    content: str | Annotated[list[TextPart], Field(min_length=1)]
    name: str | None = None


class UserMessage(_Strict):
    role: Literal["user"]
    content: str | Annotated[list[UserPart], Field(min_length=1)]
    name: str | None = None


class AssistantMessage(_Strict):
    role: Literal["assistant"]
    # Required unless tool_calls or function_call is given (checked in curator.validate).
    content: str | Annotated[list[AssistantPart], Field(min_length=1)] | None = None
    name: str | None = None
    tool_calls: Annotated[list[ToolCall], Field(min_length=1)] | None = None
    function_call: FunctionCall | None = None
    refusal: str | None = None
    # Fine-tuning only: 0 excludes this turn from the loss, 1 (the default) trains it.
    weight: Literal[0, 1] | None = None


class ToolMessage(_Strict):
    role: Literal["tool"]
    content: str | Annotated[list[TextPart], Field(min_length=1)]
    tool_call_id: str


class FunctionMessage(_Strict):
    """Deprecated counterpart of `function_call`."""

    role: Literal["function"]
    content: str | None
    name: str


Message = Annotated[
    Union[
        SystemMessage,
        DeveloperMessage,
        UserMessage,
        AssistantMessage,
        ToolMessage,
        FunctionMessage,
    ],
    Field(discriminator="role"),
]


# --- examples --------------------------------------------------------------------------------


class ChatExample(_Strict):
    """OpenAI chat fine-tuning row; curator's canonical form."""

    messages: Annotated[list[Message], Field(min_length=1)]
    tools: list[Tool] | None = None
    parallel_tool_calls: bool | None = None
    functions: Annotated[list[FunctionDefinition], Field(min_length=1, max_length=128)] | None = None


class PromptCompletionExample(_Strict):
    """OpenAI legacy (babbage-002, davinci-002) and TRL standard prompt-completion."""

    prompt: str
    completion: str


class ConversationalPromptCompletionExample(_Strict):
    """TRL conversational prompt-completion: both sides are message lists."""

    prompt: Annotated[list[Message], Field(min_length=1)]
    completion: Annotated[list[Message], Field(min_length=1)]
    tools: list[Tool] | None = None


class PreferenceInput(_Strict):
    messages: Annotated[list[Message], Field(min_length=1)]
    tools: list[Tool] | None = None
    parallel_tool_calls: bool | None = None


class PreferenceExample(_Strict):
    """OpenAI preference (DPO) row: one preferred and one non-preferred assistant message."""

    input: PreferenceInput
    preferred_output: Annotated[list[AssistantMessage], Field(min_length=1, max_length=1)]
    non_preferred_output: Annotated[list[AssistantMessage], Field(min_length=1, max_length=1)]


class AlpacaExample(BaseModel):
    """Stanford Alpaca / LLaMA-Factory alpaca rows (LF adds system and history)."""

    model_config = ConfigDict(extra="allow")

    instruction: str
    input: str | None = None
    output: str
    system: str | None = None
    history: list[Annotated[list[str], Field(min_length=2, max_length=2)]] | None = None


class ShareGPTTurn(BaseModel):
    model_config = ConfigDict(extra="allow")

    from_: str = Field(alias="from")
    value: str


class ShareGPTExample(BaseModel):
    """FastChat / LLaMA-Factory sharegpt rows (turns of from/value)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    conversations: Annotated[list[ShareGPTTurn], Field(min_length=1)]
    system: str | None = None
    tools: str | list[Any] | None = None


#: name of the schema file in `schemas/` -> model. Keep the names stable: users point tools at them.
SCHEMA_MODELS: dict[str, type[BaseModel]] = {
    "openai-chat": ChatExample,
    "prompt-completion": PromptCompletionExample,
    "trl-conversational-prompt-completion": ConversationalPromptCompletionExample,
    "openai-preference": PreferenceExample,
    "alpaca": AlpacaExample,
    "sharegpt": ShareGPTExample,
}
