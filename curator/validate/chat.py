"""Rules for OpenAI chat rows: messages, content parts, tools and tool calls (formats.md §5.3-5.5).

The rules are a strict superset of `curator.schema.ChatExample`: a row they pass, pydantic
accepts (a test checks both directions). They run instead of pydantic on the hot path because
they are cheaper and say more: which message, which key, and what to do.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import re
from typing import Any

import orjson

from curator.issues import Severity
from curator.validate.context import Ctx

#: curator.schema.TOOL_NAME_PATTERN (a test checks they agree), written here so that validating
#: does not import pydantic and the schema models before a row needs them
TOOL_NAME_PATTERN = r"^[a-zA-Z0-9_-]{1,64}$"
_TOOL_NAME = re.compile(TOOL_NAME_PATTERN)
_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_DATA_URL = re.compile(r"^data:image/[a-zA-Z0-9.+-]+;base64,[A-Za-z0-9+/=\s]+$")
TOP_KEYS = frozenset({"messages", "tools", "parallel_tool_calls", "functions"})
ROLE_KEYS: dict[str, frozenset[str]] = {
    "system": frozenset({"role", "content", "name"}),
    "developer": frozenset({"role", "content", "name"}),
    "user": frozenset({"role", "content", "name"}),
    "assistant": frozenset({"role", "content", "name", "tool_calls", "function_call", "refusal", "weight"}),
    "tool": frozenset({"role", "content", "tool_call_id"}),
    "function": frozenset({"role", "content", "name"}),
}
PART_TYPES: dict[str, frozenset[str]] = {
    "system": frozenset({"text"}), "developer": frozenset({"text"}), "tool": frozenset({"text"}),
    "user": frozenset({"text", "image_url"}), "assistant": frozenset({"text", "refusal"}),
    "function": frozenset(),
}
#: formats.md §7.1: names people use for the canonical roles
ROLE_ALIASES = {
    "human": "user", "prompter": "user", "question": "user", "gpt": "assistant", "model": "assistant",
    "bot": "assistant", "chatgpt": "assistant", "ai": "assistant", "gpt-4": "assistant",
    "observation": "tool", "function_response": "tool", "ipython": "tool", "sys": "system",
}
MAX_IMAGES = 10
_SIMPLE_ROLES = frozenset({"system", "user", "assistant"})
MAX_IMAGE_BYTES = 10 * 1024 * 1024
IMAGE_FORMATS = frozenset({"jpeg", "jpg", "png", "webp"})


def check_chat(ex: dict[str, Any], ctx: Ctx, *, top_keys: frozenset[str] = TOP_KEYS) -> list[str]:
    """Check one chat example; return the texts' roles in order (for the quality pass)."""
    for key in ex:
        if key not in top_keys:
            ctx.add("example.unknown_key", f"top-level key {key!r} is not part of the chat format",
                    path=f"/{_esc(key)}", hint="remove it (trainers reject or silently ignore it)")
    tool_names = check_tools(ex, ctx)
    if "messages" not in ex or ex["messages"] is None:
        ctx.add("chat.messages_missing", "the example has no 'messages' list", path="/messages")
        return []
    msgs = ex["messages"]
    if not isinstance(msgs, list):
        ctx.add("chat.messages_not_list", f"'messages' is a {type(msgs).__name__}, not a list",
                path="/messages")
        return []
    if not msgs:
        ctx.add("chat.messages_empty", "'messages' is empty", path="/messages")
        return []
    roles = check_messages(msgs, ctx, tool_names=tool_names,
                           parallel=ex.get("parallel_tool_calls") is not False, base="/messages")
    ctx.simple = ctx.simple and len(ex) == 1
    return roles


def check_messages(msgs: list[Any], ctx: Ctx, *, tool_names: set[str] | None, parallel: bool = True,
                   base: str = "/messages", conversation: bool = True) -> list[str]:
    """Per-message rules, then the rules about the conversation as a whole."""
    profile = ctx.profile
    roles: list[str] = []
    call_ids: set[str] = set()
    open_calls: dict[str, int] = {}
    weights: list[Any] = []
    simple = 0
    simple_roles = _SIMPLE_ROLES & profile.roles
    for i, m in enumerate(msgs):
        # The common message, {role: system|user|assistant, content: non-empty string}, breaks no
        # per-message rule; skipping the general path for it is most of validation's speed.
        if type(m) is dict and len(m) == 2:
            role = m.get("role")
            content = m.get("content")
            if type(content) is str and content and type(role) is str and role in simple_roles:
                roles.append(role)
                if role == "assistant":
                    weights.append(1)
                simple += 1
                continue
        path = f"{base}/{i}"
        if not isinstance(m, dict):
            ctx.add("chat.message_not_object", f"message {i} is a {type(m).__name__}, not an object",
                    mi=i, path=path)
            roles.append("?")
            continue
        role = m.get("role")
        if "role" not in m or role is None:
            ctx.add("chat.role_missing", f"message {i} has no 'role'", mi=i, path=f"{path}/role")
            roles.append("?")
            continue
        if not isinstance(role, str):
            ctx.add("chat.role_not_string", f"role is a {type(role).__name__}, not a string", mi=i,
                    path=f"{path}/role")
            roles.append("?")
            continue
        if role not in ROLE_KEYS or role not in profile.roles:
            _bad_role(role, i, path, ctx)
            roles.append("?")
            continue
        roles.append(role)
        if role == "developer" and profile.name in ("openai", "azure"):
            ctx.add("chat.role_not_allowed_for_method",
                    "role 'developer' is only in OpenAI's reinforcement fine-tuning schema",
                    mi=i, path=f"{path}/role")
        allowed = ROLE_KEYS[role]
        for key in m:
            if key in allowed:
                continue
            if key == "weight":
                ctx.add("chat.weight_not_allowed", f"'weight' is only allowed on assistant messages, not {role}",
                        mi=i, path=f"{path}/weight")
            elif role == "tool" and key == "name" and not profile.arguments_as_string:
                continue  # TRL's tool messages carry the function name
            else:
                ctx.add("chat.message_unknown_key", f"key {key!r} is not allowed on a {role} message "
                        f"(allowed: {', '.join(sorted(allowed))})", mi=i, path=f"{path}/{_esc(key)}")
        if "name" in m and (role != "tool" or profile.arguments_as_string):
            name = m["name"]
            if not isinstance(name, str):
                if not (name is None and role != "function"):
                    ctx.add("chat.name_invalid", f"'name' is a {type(name).__name__}, not a string", mi=i,
                            path=f"{path}/name", severity="error")
            elif role != "function" and not _NAME.match(name):
                ctx.add("chat.name_invalid", f"name {name!r} has characters other than a-z, 0-9, _ and -",
                        mi=i, path=f"{path}/name")
        has_calls = False
        if role == "assistant":
            has_calls = _check_assistant_extras(m, i, path, ctx, call_ids, open_calls, tool_names, parallel)
            weights.append(m.get("weight", 1))
        elif role == "tool":
            tcid = m.get("tool_call_id")
            if not isinstance(tcid, str):
                ctx.add("toolmsg.tool_call_id_missing", "tool message has no string 'tool_call_id'", mi=i,
                        path=f"{path}/tool_call_id")
            elif tcid not in call_ids:
                ctx.add("toolmsg.orphan", f"tool_call_id {tcid!r} answers no earlier assistant tool call",
                        mi=i, path=f"{path}/tool_call_id")
            else:
                open_calls.pop(tcid, None)
        elif role == "function" and not isinstance(m.get("name"), str):
            ctx.add("functionmsg.name_missing", "function message has no string 'name'", mi=i, path=f"{path}/name")
        _check_content(m, role, i, path, ctx, has_calls)
    # Rules about the order of turns mean nothing while a role is unknown or missing.
    if conversation and "?" not in roles:
        _conversation_rules(msgs, roles, weights, open_calls, ctx)
    ctx.simple = simple == len(msgs)
    return roles


def _bad_role(role: str, i: int, path: str, ctx: Ctx) -> None:
    allowed = ", ".join(sorted(ctx.profile.roles))
    guess = ROLE_ALIASES.get(role.strip().lower())
    if guess is None and role.strip().lower() in ctx.profile.roles:
        guess = role.strip().lower()
    dym = f" Did you mean {guess!r}?" if guess in ctx.profile.roles else ""
    ctx.add("chat.role_invalid", f"role {role!r} is not allowed for {ctx.profile.name} (allowed: {allowed}).{dym}",
            mi=i, path=f"{path}/role", fix="map-roles" if dym else None,
            hint="map the role names (curator convert maps human/gpt/observation)")


def _check_assistant_extras(m: dict[str, Any], i: int, path: str, ctx: Ctx, call_ids: set[str],
                            open_calls: dict[str, int], tool_names: set[str] | None, parallel: bool) -> bool:
    has_calls = False
    if "weight" in m:
        w = m["weight"]
        if type(w) is not int or w not in (0, 1):
            ctx.add("chat.weight_invalid", f"weight is {w!r}; it must be the integer 0 or 1", mi=i,
                    path=f"{path}/weight")
    if "refusal" in m and m["refusal"] is not None and not isinstance(m["refusal"], str):
        ctx.add("chat.content_type_invalid", "'refusal' must be a string", mi=i, path=f"{path}/refusal")
    if "function_call" in m and m["function_call"] is not None:
        fc = m["function_call"]
        ctx.add("tools.functions_deprecated", "'function_call' is deprecated in favour of 'tool_calls'",
                mi=i, path=f"{path}/function_call")
        if not (isinstance(fc, dict) and set(fc) == {"name", "arguments"}
                and isinstance(fc.get("name"), str) and isinstance(fc.get("arguments"), str)):
            ctx.add("functioncall.invalid", "function_call must be {name: string, arguments: string}",
                    mi=i, path=f"{path}/function_call")
        else:
            has_calls = True
    if "tool_calls" in m and m["tool_calls"] is not None:
        calls = m["tool_calls"]
        if not isinstance(calls, list):
            ctx.add("toolcall.not_list", "'tool_calls' is not a list", mi=i, path=f"{path}/tool_calls")
        elif not calls:
            ctx.add("toolcall.empty", "'tool_calls' is empty; remove it or add a call", mi=i,
                    path=f"{path}/tool_calls")
        else:
            has_calls = True
            if not parallel and len(calls) > 1:
                ctx.add("toolcall.parallel_disabled",
                        f"{len(calls)} calls in one message while parallel_tool_calls is false",
                        mi=i, path=f"{path}/tool_calls")
            for j, call in enumerate(calls):
                _check_call(call, i, f"{path}/tool_calls/{j}", ctx, call_ids, open_calls, tool_names)
    return has_calls


def _check_call(call: Any, i: int, path: str, ctx: Ctx, call_ids: set[str], open_calls: dict[str, int],
                tool_names: set[str] | None) -> None:
    if not isinstance(call, dict):
        ctx.add("toolcall.field_missing", "a tool call must be {id, type, function}", mi=i, path=path)
        return
    for key in call:
        if key not in ("id", "type", "function"):
            ctx.add("chat.message_unknown_key", f"key {key!r} is not part of a tool call", mi=i,
                    path=f"{path}/{_esc(key)}")
    cid = call.get("id")
    if not isinstance(cid, str):
        ctx.add("toolcall.field_missing", "tool call has no string 'id'", mi=i, path=f"{path}/id")
    elif cid in call_ids:
        ctx.add("toolcall.duplicate_id", f"tool call id {cid!r} is used twice in this example", mi=i,
                path=f"{path}/id")
    else:
        call_ids.add(cid)
        open_calls[cid] = i
    if "type" not in call:
        ctx.add("toolcall.field_missing", "tool call has no 'type'", mi=i, path=f"{path}/type")
    elif call["type"] != "function":
        ctx.add("toolcall.type_invalid", f"tool call type is {call['type']!r}, not 'function'", mi=i,
                path=f"{path}/type")
    fn = call.get("function")
    if not isinstance(fn, dict):
        ctx.add("toolcall.field_missing", "tool call has no 'function' object", mi=i, path=f"{path}/function")
        return
    for key in fn:
        if key not in ("name", "arguments"):
            ctx.add("chat.message_unknown_key", f"key {key!r} is not part of a tool call's function",
                    mi=i, path=f"{path}/function/{_esc(key)}")
    name = fn.get("name")
    if not isinstance(name, str):
        ctx.add("toolcall.field_missing", "tool call has no string function.name", mi=i,
                path=f"{path}/function/name")
    elif not _TOOL_NAME.fullmatch(name):
        ctx.add("toolcall.name_invalid", f"function name {name[:80]!r} must be 1-64 letters, digits, '_' or '-'",
                mi=i, path=f"{path}/function/name")
    elif tool_names is not None and name not in tool_names:
        ctx.add("toolcall.unknown_function", f"call to {name!r}, which is not among the example's tools", mi=i,
                path=f"{path}/function/name")
    if "arguments" not in fn:
        ctx.add("toolcall.field_missing", "tool call has no function.arguments", mi=i,
                path=f"{path}/function/arguments")
        return
    args = fn["arguments"]
    if isinstance(args, str):
        try:
            ok = isinstance(orjson.loads(args), dict)
        except orjson.JSONDecodeError:
            ok = False
        if not ok:
            ctx.add("toolcall.arguments_invalid_json", "function.arguments is not a JSON object string", mi=i,
                    path=f"{path}/function/arguments")
    elif isinstance(args, dict) and not ctx.profile.arguments_as_string:
        pass  # TRL and LLaMA-Factory templates expect a dict
    else:
        ctx.add("toolcall.arguments_not_string",
                f"function.arguments is a {type(args).__name__}; OpenAI expects a JSON string",
                mi=i, path=f"{path}/function/arguments", fix="json-dumps-arguments")


def _check_content(m: dict[str, Any], role: str, i: int, path: str, ctx: Ctx, has_calls: bool) -> None:
    cpath = f"{path}/content"
    if "content" not in m:
        if role == "assistant":
            if not has_calls and not isinstance(m.get("refusal"), str):
                ctx.add("chat.content_missing", "assistant message has no content and no tool_calls", mi=i,
                        path=cpath)
        else:
            ctx.add("chat.content_missing", f"{role} message has no 'content'", mi=i, path=cpath)
        return
    content = m["content"]
    if content is None:
        if role == "assistant":
            if not has_calls and not isinstance(m.get("refusal"), str):
                ctx.add("chat.content_missing", "assistant content is null and there are no tool_calls",
                        mi=i, path=cpath)
        elif role != "function":
            ctx.add("chat.content_null_not_allowed", f"content of a {role} message cannot be null", mi=i,
                    path=cpath)
        return
    if isinstance(content, str):
        if content == "" and not has_calls:
            ctx.add("chat.content_empty", f"{role} message has empty content", mi=i, path=cpath)
        return
    if not isinstance(content, list) or role == "function":
        ctx.add("chat.content_type_invalid",
                f"content is a {type(content).__name__}; it must be a string or a list of parts", mi=i,
                path=cpath)
        return
    if not content:
        ctx.add("content.parts_empty", "content is an empty list", mi=i, path=cpath)
        return
    allowed = PART_TYPES[role]
    refusals = images = 0
    for j, part in enumerate(content):
        ppath = f"{cpath}/{j}"
        if not isinstance(part, dict) or not isinstance(part.get("type"), str):
            ctx.add("content.part_invalid", "a content part must be an object with a 'type'", mi=i, path=ppath)
            continue
        ptype = part["type"]
        if ptype in ("input_audio", "file", "audio"):
            ctx.add("content.part_unsupported_for_ft", f"{ptype!r} parts are not supported for fine-tuning",
                    mi=i, path=ppath)
            continue
        if ptype == "image_url" and role != "user":
            ctx.add("image.in_assistant", f"an image in a {role} message; images are allowed only in user "
                    "messages", mi=i, path=ppath)
            continue
        if ptype not in allowed:
            ctx.add("content.part_type_not_allowed", f"part type {ptype!r} is not allowed in a {role} message "
                    f"(allowed: {', '.join(sorted(allowed))})", mi=i, path=ppath)
            continue
        if ptype == "text":
            if set(part) != {"type", "text"} and "text" in part:
                ctx.add("content.part_invalid", "a text part has only 'type' and 'text'", mi=i, path=ppath)
            if not isinstance(part.get("text"), str):
                ctx.add("content.text_missing", "text part without a string 'text'", mi=i, path=f"{ppath}/text")
        elif ptype == "refusal":
            refusals += 1
            if set(part) != {"type", "refusal"} or not isinstance(part.get("refusal"), str):
                ctx.add("content.part_invalid", "a refusal part is {type: 'refusal', refusal: string}", mi=i,
                        path=ppath)
        else:
            images += 1
            _check_image(part, i, ppath, ctx)
    if refusals and (refusals > 1 or len(content) > 1):
        ctx.add("content.refusal_invalid", "use one or more text parts, or exactly one refusal part", mi=i,
                path=cpath)
    if images > MAX_IMAGES:
        ctx.add("image.too_many", f"{images} images in one message; the limit is {MAX_IMAGES}", mi=i, path=cpath)


#: magic bytes of image types -> the MIME subtype they are
_IMAGE_MAGIC = ((b"\xff\xd8\xff", "jpeg"), (b"\x89PNG\r\n\x1a\n", "png"), (b"GIF87a", "gif"),
                (b"GIF89a", "gif"), (b"BM", "bmp"), (b"II*\x00", "tiff"), (b"MM\x00*", "tiff"))


def image_type(head: bytes) -> str | None:
    """The image type the first bytes of a file show (jpeg, png, webp, gif, ...), or None."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    for magic, kind in _IMAGE_MAGIC:
        if head.startswith(magic):
            return kind
    return None


def _sniff_image(url: str, mime: str, i: int, path: str, ctx: Ctx) -> None:
    """Decode the first bytes of a base64 data URL and check they are the image it says."""
    start = url.index(",") + 1
    chunk = "".join(url[start:start + 64].split())
    chunk = chunk[:len(chunk) - len(chunk) % 4]
    try:
        head = base64.b64decode(chunk, validate=True)
    except (binascii.Error, ValueError):
        ctx.add("image.url_invalid", "the data URL's base64 data does not decode", mi=i, path=path)
        return
    found = image_type(head)
    if found is None:
        ctx.add("image.not_an_image", f"the data URL's bytes are not an image (they start {head[:8]!r})",
                mi=i, path=path)
    elif found not in IMAGE_FORMATS:
        ctx.add("image.format_unsupported", f"the bytes are a {found.upper()} image; use JPEG, PNG or WEBP",
                mi=i, path=path)
    elif {found, mime} != {"jpeg", "jpg"} and found != mime and mime in IMAGE_FORMATS:
        ctx.add("image.mime_mismatch", f"the data URL says image/{mime}, its bytes are a {found.upper()} image",
                mi=i, path=path)


def _check_image(part: dict[str, Any], i: int, path: str, ctx: Ctx) -> None:
    if set(part) != {"type", "image_url"}:
        ctx.add("content.part_invalid", "an image part is {type: 'image_url', image_url: {url}}", mi=i, path=path)
    img = part.get("image_url")
    if not isinstance(img, dict) or not isinstance(img.get("url"), str):
        ctx.add("image.url_missing", "image part without image_url.url", mi=i, path=f"{path}/image_url/url")
        return
    if set(img) - {"url", "detail"}:
        ctx.add("content.part_invalid", "image_url has only 'url' and 'detail'", mi=i, path=f"{path}/image_url")
    url = img["url"]
    if url.startswith(("http://", "https://")):
        ctx.add("image.remote_url", "remote image: it must be reachable when training starts", mi=i,
                path=f"{path}/image_url/url")
    elif not _DATA_URL.match(url[:256] + ("" if len(url) <= 256 else "A")):
        ctx.add("image.url_invalid", "image url is neither http(s) nor data:image/<fmt>;base64,<data>", mi=i,
                path=f"{path}/image_url/url")
    else:
        mime = url[len("data:image/"):url.index(";")].lower()
        if mime not in IMAGE_FORMATS:
            ctx.add("image.format_unsupported", f"image/{mime} is not accepted; use JPEG, PNG or WEBP", mi=i,
                    path=f"{path}/image_url/url")
        _sniff_image(url, mime, i, f"{path}/image_url/url", ctx)
        size = (len(url) - url.index(",") - 1) * 3 // 4
        if size > MAX_IMAGE_BYTES:
            ctx.add("image.too_large", f"the image is about {size / 1e6:.1f} MB; the limit is 10 MB", mi=i,
                    path=f"{path}/image_url/url")
    if img.get("detail") not in (None, "auto", "low", "high"):
        ctx.add("image.detail_invalid", f"detail is {img.get('detail')!r}; use auto, low or high", mi=i,
                path=f"{path}/image_url/detail")


def _conversation_rules(msgs: list[Any], roles: list[str], weights: list[Any], open_calls: dict[str, int],
                        ctx: Ctx) -> None:
    if "assistant" not in roles:
        ctx.add("chat.no_assistant_message", "the example has no assistant message to learn from",
                path="/messages")
    elif weights and all(w == 0 for w in weights):
        ctx.add("chat.no_trainable_assistant", "every assistant message has weight 0: nothing is trained",
                path="/messages")
    if "user" not in roles:
        ctx.add("chat.no_user_message", "the example has no user message", path="/messages")
    last = len(roles) - 1
    if roles[last] not in ("assistant", "?") and "assistant" in roles:
        ctx.add("chat.last_not_assistant",
                f"the example ends with a {roles[last]} message; turns after the last assistant answer are "
                "not trained", mi=last, path=f"/messages/{last}")
    system_like = ("system", "developer")
    seen_system = 0
    first_turn: int | None = None
    for i, role in enumerate(roles):
        if role in system_like:
            seen_system += 1
            if i > 0 and any(r not in system_like for r in roles[:i]):
                ctx.add("chat.system_not_first", f"a {role} message at position {i}, after the conversation began",
                        mi=i, path=f"/messages/{i}")
        elif first_turn is None and role != "?":
            first_turn = i
        if i > 0 and role == roles[i - 1] and role not in ("tool", "?"):
            sev: Severity | None = "error" if ctx.profile.requires_alternation else None
            ctx.add("chat.consecutive_same_role", f"messages {i - 1} and {i} are both {role}", mi=i,
                    path=f"/messages/{i}", severity=sev)
    if ctx.profile.requires_alternation:
        _alternation(roles, ctx)
    if seen_system > 1:
        ctx.add("chat.multiple_system", f"{seen_system} system messages in one example", path="/messages")
    if first_turn is not None and roles[first_turn] != "user":
        ctx.add("chat.first_turn_not_user", f"the first turn is {roles[first_turn]}, not user", mi=first_turn,
                path=f"/messages/{first_turn}")
    for cid, i in open_calls.items():
        if i != last:
            ctx.add("toolcall.unanswered", f"tool call {cid!r} has no tool message answering it", mi=i,
                    path=f"/messages/{i}/tool_calls")


def _alternation(roles: list[str], ctx: Ctx) -> None:
    """Strict order (LLaMA-Factory, Together, Llama-2/Mistral templates): after leading system
    turns, user and assistant alternate; tool results sit in user positions (one position for a
    run of parallel results). Reported once, at the first turn out of place."""
    pos = 0
    prev = ""
    for i, role in enumerate(roles):
        if role in ("system", "developer") and pos == 0:
            continue
        if role == "tool" and prev == "tool":
            continue
        want = ("user", "tool") if pos % 2 == 0 else ("assistant",)
        if role not in want:
            ctx.add("chat.roles_not_alternating", f"message {i} is {role} where {' or '.join(want)} is expected "
                    "(turns must alternate user/assistant after the optional system message)", mi=i,
                    path=f"/messages/{i}")
            return
        pos += 1
        prev = role


def check_tools(ex: dict[str, Any], ctx: Ctx) -> set[str] | None:
    """Top-level tools / functions / parallel_tool_calls; return the declared names (None if none)."""
    names: set[str] | None = None
    if "parallel_tool_calls" in ex and ex["parallel_tool_calls"] is not None \
            and not isinstance(ex["parallel_tool_calls"], bool):
        ctx.add("tools.parallel_invalid", "parallel_tool_calls must be true or false", path="/parallel_tool_calls")
    for key in ("tools", "functions"):
        if key not in ex or ex[key] is None:
            continue
        tools = ex[key]
        if key == "functions":
            ctx.add("tools.functions_deprecated", "'functions' is deprecated in favour of 'tools'", path="/functions")
        if isinstance(tools, str) and not ctx.profile.arguments_as_string:
            with contextlib.suppress(orjson.JSONDecodeError):
                tools = orjson.loads(tools)  # TRL and LLaMA-Factory accept tools as a JSON string
        if not isinstance(tools, list):
            ctx.add("tools.not_list", f"'{key}' is a {type(tools).__name__}, not a list", path=f"/{key}")
            continue
        if key == "functions" and not tools:
            ctx.add("tools.item_invalid", "'functions' must hold at least one definition", path="/functions")
        elif key == "functions" and len(tools) > 128:
            ctx.add("tools.functions_too_many", f"'functions' holds {len(tools)} definitions; at most 128",
                    path="/functions")
        if key == "functions" and isinstance(ex.get("tools"), list) and ex["tools"]:
            ctx.add("tools.mixed_legacy_and_tools", "both 'functions' and 'tools' are defined", path="/functions")
        names = names if names is not None else set()
        for j, tool in enumerate(tools):
            path = f"/{key}/{j}"
            fn = tool
            if key == "tools":
                if not (isinstance(tool, dict) and tool.get("type") == "function" and set(tool) == {"type", "function"}
                        and isinstance(tool.get("function"), dict)):
                    ctx.add("tools.item_invalid", "a tool is {type: 'function', function: {name, ...}}", path=path)
                    continue
                fn = tool["function"]
                path += "/function"
            if not isinstance(fn, dict):
                ctx.add("tools.item_invalid", "a function definition must be an object", path=path)
                continue
            extra = set(fn) - {"name", "description", "parameters", "strict"}
            if extra or not isinstance(fn.get("description", ""), str | None) \
                    or not isinstance(fn.get("strict", False), bool | None):
                ctx.add("tools.item_invalid", "a function has name, description (string), parameters and "
                        "strict (boolean) only", path=path)
            name = fn.get("name")
            if not isinstance(name, str) or not _TOOL_NAME.fullmatch(name):
                ctx.add("tools.name_invalid", f"function name {name!r} must match {TOOL_NAME_PATTERN}",
                        path=f"{path}/name")
            elif name in names:
                ctx.add("tools.duplicate_name", f"function {name!r} is defined twice", path=f"{path}/name")
            else:
                names.add(name)
            params = fn.get("parameters")
            if params is not None and not isinstance(params, dict):
                ctx.add("tools.parameters_invalid", "parameters must be a JSON Schema object", path=f"{path}/parameters")
    return names


def _esc(key: str) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")
