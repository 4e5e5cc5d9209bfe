"""Run the rules for a row's format.

The format comes from `curator.formats.detect.classify`, the one detector, and its names are the
only format vocabulary (what `--from` takes, what a workspace stores, what `--json` reports).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from curator.formats.detect import AMBIGUOUS, UNKNOWN, classify
from curator.formats.preference import from_preference, to_preference
from curator.formats.to_chat import to_chat
from curator.issues import Issue
from curator.validate.chat import check_chat, check_messages, check_tools
from curator.validate.codes import STRUCTURAL_PREFIXES
from curator.validate.context import Ctx
from curator.validate.quality import TextItem, check_text, check_texts

if TYPE_CHECKING:
    from pydantic import BaseModel

#: the formats that have a pydantic model, the source of truth for them (curator.schema.SCHEMA_MODELS,
#: whose keys a test compares with these). The models are imported on the first row that needs
#: one: pydantic and the models cost about 0.1 s of CPU at every start, and plain chat rows, most
#: rows of most files, never need them.
MODEL_FORMATS = frozenset({"openai-chat", "prompt-completion", "trl-conversational-prompt-completion",
                           "openai-preference", "alpaca", "sharegpt"})
_FORMAT_VERDICTS = frozenset({"format.needs_conversion", "format.method_mismatch"})
#: formats checked after conversion to chat when the target does not read them as they are
CONVERTIBLE = frozenset({"alpaca", "sharegpt", "lf-v1-messages", "sharegpt-preference",
                         "trl-conversational-prompt-completion"})
#: formats that are always checked in their converted form (their own layout has no rules here)
ALWAYS_CONVERTED = frozenset({"alpaca", "sharegpt", "lf-v1-messages", "sharegpt-preference"})
AFTER_CONVERSION = " (found after converting the row to chat)"
AFTER_CONVERSION_PREF = " (found after converting the row to OpenAI's preference layout)"


def check_row(ex: dict[str, Any], ctx: Ctx, *, schema_check: bool = True, fmt: str | None = None) -> str:
    """Run every rule for the row's format; return the format name (`curator.formats.detect`'s).

    `fmt`: the row's format when the caller has already classified it (each row is detected
    once); None classifies it here.
    """
    if fmt is None:
        fmt = classify(ex)
    if fmt == UNKNOWN:
        ctx.add("format.undetected", f"keys {sorted(map(str, ex))[:8]} match no known format")
        return fmt
    if fmt == AMBIGUOUS:
        ctx.add("format.ambiguous", f"keys {sorted(map(str, ex))[:8]} belong to more than one format")
        return fmt
    convert = fmt in ALWAYS_CONVERTED or (fmt in CONVERTIBLE and fmt not in ctx.profile.formats)
    if fmt not in ctx.profile.formats:
        if fmt in CONVERTIBLE:
            ctx.add("format.needs_conversion",
                    f"this row is in {fmt} format, which {ctx.profile.name} does not read as it is; "
                    "it was converted to chat and checked in that form",
                    fix="convert-to-chat", hint="convert it: curator convert FILE --to chat -o OUT.jsonl")
        else:
            ctx.add("format.method_mismatch", f"{fmt} rows are not accepted by {ctx.profile.name}",
                    hint=f"choose a target that trains on {fmt} data")
    if fmt == "openai-chat":
        roles = check_chat(ex, ctx)
        _chat_quality(ex.get("messages"), roles, ctx, "/messages")
    elif fmt == "prompt-completion":
        _prompt_completion(ex, ctx)
    elif fmt == "sharegpt-preference":
        _check_converted_preference(ex, ctx)
    elif convert:
        ctx.converted = _check_converted(ex, fmt, ctx)
    elif fmt == "trl-conversational-prompt-completion":
        _conversational_pc(ex, ctx)
    elif fmt == "openai-preference":
        _preference(ex, ctx)
    elif fmt == "trl-preference":
        _trl_preference(ex, ctx)
    elif fmt == "trl-text" and not isinstance(ex.get("text"), str):
        ctx.add("schema.invalid", "'text' must be a string", path="/text")
    if schema_check and not convert and not (fmt == "openai-chat" and ctx.simple) and fmt in MODEL_FORMATS \
            and not any(i.code.startswith(STRUCTURAL_PREFIXES) and i.code not in _FORMAT_VERDICTS for i in ctx.issues):
        from curator.schema import SCHEMA_MODELS

        schema_invalid(ex, SCHEMA_MODELS[fmt], ctx)
    return fmt


def schema_invalid(ex: dict[str, Any], model: type[BaseModel], ctx: Ctx) -> None:
    """The safety net: pydantic rejects a row the rules passed (a rule is missing)."""
    from pydantic import ValidationError

    try:
        model.model_validate(ex)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = "/" + "/".join(str(p) for p in err["loc"])
        ctx.add("schema.invalid", f"{model.__name__}: {err['msg']} at {loc}", path=loc)


def _chat_quality(msgs: Any, roles: list[str], ctx: Ctx, base: str) -> None:
    if not isinstance(msgs, list):
        return
    if ctx.simple:  # every message is {role, content: str}: no parts, no weights to look at
        _simple_chat_quality(msgs, roles, ctx, base)
        return
    items: list[TextItem] = []
    last_user: str | None = None
    for i, m in enumerate(msgs):
        if not isinstance(m, dict) or i >= len(roles):
            continue
        role = roles[i]
        content = m.get("content")
        trained = role == "assistant" and m.get("weight", 1) != 0
        if isinstance(content, str):
            if role == "assistant" and last_user is not None and content and \
                    abs(len(content) - len(last_user)) < 16 and content.strip() == last_user.strip():
                ctx.add("quality.response_equals_prompt", "the assistant answer repeats the user's message "
                        "word for word", mi=i, path=f"{base}/{i}/content")
            elif role == "user":
                last_user = content
            items.append((content, role, i, None, trained))
        elif isinstance(content, list):
            for j, part in enumerate(content):
                if isinstance(part, dict) and isinstance(part.get("text"), str):
                    items.append((part["text"], role, i, f"{base}/{i}/content/{j}/text", trained))
    check_texts(items, ctx, base)


def _simple_chat_quality(msgs: list[dict[str, Any]], roles: list[str], ctx: Ctx, base: str) -> None:
    last_user: str | None = None
    for i, m in enumerate(msgs):
        role = roles[i]
        if role == "user":
            last_user = m["content"]
        elif role == "assistant" and last_user is not None:
            content = m["content"]
            if abs(len(content) - len(last_user)) < 16 and content.strip() == last_user.strip():
                ctx.add("quality.response_equals_prompt", "the assistant answer repeats the user's message "
                        "word for word", mi=i, path=f"{base}/{i}/content")
    check_texts([(m["content"], roles[i], i, None, roles[i] == "assistant") for i, m in enumerate(msgs)],
                ctx, base)


def _prompt_completion(ex: dict[str, Any], ctx: Ctx) -> None:
    strict_keys = ctx.profile.name in ("openai", "azure")
    for key in ex:
        if key in ("prompt", "completion"):
            continue
        if isinstance(key, str) and key.lower() in ("prompt", "completion"):
            ctx.add("pc.key_case", f"key {key!r} must be written {key.lower()!r}", path=f"/{key}", fix="lower-case-keys")
        elif strict_keys:
            ctx.add("pc.extra_keys", f"key {key!r}: prompt/completion rows hold exactly prompt and completion",
                    path=f"/{key}")
        else:
            ctx.add("example.unknown_key", f"top-level key {key!r} is not part of prompt/completion", path=f"/{key}")
    for key in ("prompt", "completion"):
        if key not in ex:
            if not any(isinstance(k, str) and k.lower() == key for k in ex):
                ctx.add(f"pc.{key}_missing", f"no {key!r}", path=f"/{key}")
            continue
        if not isinstance(ex[key], str):
            ctx.add("pc.not_string", f"{key!r} is a {type(ex[key]).__name__}, not a string", path=f"/{key}")
    prompt, completion = ex.get("prompt"), ex.get("completion")
    if isinstance(completion, str):
        if not completion.strip():
            ctx.add("pc.completion_empty", "the completion is empty", path="/completion")
        else:
            check_text(completion, "assistant", ctx, mi=None, path="/completion", trained=True)
    if isinstance(prompt, str):
        if prompt == "":
            ctx.add("pc.prompt_empty", "the prompt is empty (open-ended generation)", path="/prompt")
        else:
            check_text(prompt, "user", ctx, mi=None, path="/prompt", trained=False)


def _conversational_pc(ex: dict[str, Any], ctx: Ctx) -> None:
    for key in ex:
        if key not in ("prompt", "completion", "tools"):
            ctx.add("example.unknown_key", f"top-level key {key!r} is not part of prompt/completion", path=f"/{key}")
    names = check_tools(ex, ctx)
    roles: dict[str, list[str]] = {}
    for key in ("prompt", "completion"):
        msgs = ex.get(key)
        if not isinstance(msgs, list) or not msgs:
            ctx.add("pc.not_string" if key in ex else f"pc.{key}_missing",
                    f"{key!r} must be a non-empty list of messages", path=f"/{key}")
            continue
        roles[key] = check_messages(msgs, ctx, tool_names=names, base=f"/{key}", conversation=False)
        _chat_quality(msgs, roles[key], ctx, f"/{key}")
    if roles.get("prompt") and roles["prompt"][-1] not in ("user", "tool", "assistant", "?"):
        ctx.add("pref.prompt_last_role_invalid", f"the prompt ends with a {roles['prompt'][-1]} message",
                path="/prompt")
    if "completion" in roles and "assistant" not in roles["completion"]:
        ctx.add("chat.no_assistant_message", "the completion has no assistant message", path="/completion")


def _preference(ex: dict[str, Any], ctx: Ctx) -> None:
    for old, new in (("preferred_completion", "preferred_output"), ("non_preferred_completion", "non_preferred_output")):
        if old in ex:
            ctx.add("pref.legacy_field_name", f"{old!r} is the old name of {new!r}", path=f"/{old}", fix="rename-dpo-fields")
    for key in ex:
        if key not in ("input", "preferred_output", "non_preferred_output", "preferred_completion",
                       "non_preferred_completion"):
            ctx.add("example.unknown_key", f"top-level key {key!r} is not part of the preference format", path=f"/{key}")
    inp = ex.get("input")
    if not isinstance(inp, dict) or not isinstance(inp.get("messages"), list) or not inp["messages"]:
        ctx.add("pref.input_invalid", "'input' must be an object with a non-empty 'messages' list", path="/input")
    else:
        for key in inp:
            if key not in ("messages", "tools", "parallel_tool_calls"):
                ctx.add("example.unknown_key", f"key {key!r} is not part of a preference input", path=f"/input/{key}")
        names = check_tools(inp, ctx)
        roles = check_messages(inp["messages"], ctx, tool_names=names, base="/input/messages", conversation=False)
        _chat_quality(inp["messages"], roles, ctx, "/input/messages")
        if roles and roles[-1] == "assistant":
            ctx.add("pref.input_ends_with_assistant", "the input ends with an assistant message; it must end with "
                    "the user turn the outputs answer", mi=len(roles) - 1, path="/input/messages")
        elif "assistant" in roles:
            ctx.add("pref.multi_turn_input", "the input has earlier assistant turns (only the final turn is trained)")
        if any(isinstance(m, dict) and isinstance(m.get("content"), list)
               and any(isinstance(p, dict) and p.get("type") == "image_url" for p in m["content"])
               for m in inp["messages"]):
            ctx.add("pref.text_only", "DPO takes text only; this input has images", path="/input/messages")
    outputs: list[Any] = []
    for key in ("preferred_output", "non_preferred_output"):
        out = ex.get(key)
        if not isinstance(out, list):
            if key in ex or not any(k.endswith("_completion") for k in ex):
                ctx.add("pref.output_missing", f"{key!r} is missing or not a list", path=f"/{key}")
            continue
        if len(out) != 1:
            ctx.add("pref.output_count", f"{key!r} has {len(out)} messages; it must hold exactly one", path=f"/{key}")
        for j, m in enumerate(out):
            if not isinstance(m, dict):
                ctx.add("chat.message_not_object", f"{key} message {j} is not an object", path=f"/{key}/{j}")
            elif m.get("role") != "assistant":
                ctx.add("pref.output_role_invalid", f"{key} message role is {m.get('role')!r}, not assistant",
                        path=f"/{key}/{j}/role")
        good = [m for m in out if isinstance(m, dict) and m.get("role") == "assistant"]
        roles = check_messages(good, ctx, tool_names=None, base=f"/{key}", conversation=False)
        _chat_quality(good, roles, ctx, f"/{key}")
        outputs.append(out)
    if len(outputs) == 2 and outputs[0] == outputs[1]:
        ctx.add("pref.identical_outputs", "the preferred and non-preferred outputs are identical")


def _trl_preference(ex: dict[str, Any], ctx: Ctx) -> None:
    keys = frozenset(k for k in ex if k != "tools")
    if keys not in (frozenset({"prompt", "chosen", "rejected"}), frozenset({"chosen", "rejected"})):
        ctx.add("pref.trl_keys_invalid", f"keys {sorted(keys)}; TRL accepts prompt/chosen/rejected or chosen/rejected")
    kinds = {type(ex[k]) for k in ("prompt", "chosen", "rejected") if k in ex}
    if kinds - {str, list} or len(kinds) > 1:
        ctx.add("pref.format_mismatch", "prompt/chosen/rejected must all be strings or all message lists")
        return
    for key in ("prompt", "chosen", "rejected"):
        val = ex.get(key)
        if isinstance(val, list):
            roles = check_messages(val, ctx, tool_names=None, base=f"/{key}", conversation=False)
            _chat_quality(val, roles, ctx, f"/{key}")
        elif isinstance(val, str):
            check_text(val, "user" if key == "prompt" else "assistant", ctx, mi=None, path=f"/{key}",
                       trained=key != "prompt")
    if ex.get("chosen") == ex.get("rejected"):
        ctx.add("pref.identical_outputs", "chosen and rejected are identical")
    elif "prompt" not in ex and _common_prefix_empty(ex.get("chosen"), ex.get("rejected")):
        ctx.add("pref.implicit_prompt_empty", "no prompt key, and chosen and rejected do not start alike: "
                "the prompt TRL extracts (their common beginning) is empty")


def _common_prefix_empty(chosen: Any, rejected: Any) -> bool:
    if isinstance(chosen, list) and isinstance(rejected, list):
        return not chosen or not rejected or chosen[0] != rejected[0]
    if isinstance(chosen, str) and isinstance(rejected, str):
        return not chosen or not rejected or chosen[0] != rejected[0]
    return False


def _add_converter_issues(issues: list[Issue], ctx: Ctx) -> None:
    for issue in issues:
        ctx.add(issue.code, issue.message, mi=issue.message_index, path=issue.path,
                hint=issue.hint, fix=issue.fix, severity=issue.severity)


def _check_converted_preference(ex: dict[str, Any], ctx: Ctx) -> None:
    """A LLaMA-Factory ranking row, checked by the preference rules in OpenAI's DPO layout."""
    first = to_preference(ex, "sharegpt-preference")
    _add_converter_issues(first.issues, ctx)
    if first.example is None:
        return
    second = from_preference(first.example, "openai-preference")
    _add_converter_issues(second.issues, ctx)
    if second.example is None:
        return
    pref_ctx = Ctx(ctx.profile, ctx.strict)
    _preference(second.example, pref_ctx)
    for issue in pref_ctx.issues:
        ctx.issues.append(replace(issue, message=issue.message + AFTER_CONVERSION_PREF))


def _check_converted(ex: dict[str, Any], fmt: str, ctx: Ctx) -> dict[str, Any] | None:
    """Convert a row to canonical chat, then run the chat rules on that form.

    The conversion's own findings (a mapped role, a dropped key, a row it cannot convert) are
    reported as they are; the chat rules' findings carry a note that they concern the converted
    row, whose message indexes may differ from the source's turns (a top-level system becomes
    message 0). Returns the converted example, or None when the row cannot be converted.
    """
    result = to_chat(ex, fmt)
    _add_converter_issues(result.issues, ctx)
    if result.example is None:
        return None
    chat_ctx = Ctx(ctx.profile, ctx.strict)
    roles = check_chat(result.example, chat_ctx)
    _chat_quality(result.example.get("messages"), roles, chat_ctx, "/messages")
    for issue in chat_ctx.issues:
        ctx.issues.append(replace(issue, message=issue.message + AFTER_CONVERSION))
    return result.example
