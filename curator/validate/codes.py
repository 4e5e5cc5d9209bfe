"""The catalogue of stable issue codes (reference/formats.md §5 and §8).

A code is never renamed, only deprecated. Each entry has a default severity (a profile may
override it), a short title and the fix hint shown when the rule has nothing more specific.
"""

from __future__ import annotations

from dataclasses import dataclass

from curator.issues import Severity


@dataclass(frozen=True, slots=True)
class Code:
    code: str
    severity: Severity
    title: str
    hint: str


def _c(code: str, severity: Severity, title: str, hint: str) -> Code:
    return Code(code, severity, title, hint)


E: Severity = "error"
W: Severity = "warning"
N: Severity = "info"

_ALL = [
    # §5.1 file and JSON
    _c("file.not_found", E, "file not found", "check the path"),
    _c("file.empty", E, "file has no data rows", "write at least one example"),
    _c("file.unreadable", E, "file cannot be read as its type", "check the file is complete"),
    _c("file.extension", W, "file suffix is not .jsonl", "upload JSON Lines named *.jsonl"),
    _c("file.too_large", E, "file larger than the target accepts", "split the file, or use the Uploads API"),
    _c("file.large", W, "large file (uploads of this size are reported to fail quietly)",
       "split the file or use the Uploads API"),
    _c("file.not_utf8", E, "bytes are not valid UTF-8", "re-encode the file as UTF-8"),
    _c("file.bom_present", N, "UTF-8 byte-order mark at the start", "harmless here; stripped on export"),
    _c("file.bom_missing", W, "no UTF-8 byte-order mark (Azure asks for one)", "export with --bom"),
    _c("file.crlf", N, "CRLF line endings", "harmless; exports use LF"),
    _c("file.rest_unreadable", E, "the rest of the file cannot be read after a syntax error",
       "fix the file at the line shown (a missing bracket or quote); the rows after it were not read"),
    _c("file.is_json_not_jsonl", E, "one JSON document where JSON Lines was expected",
       "write one JSON object per line (curator convert)"),
    _c("json.blank_line", W, "blank line", "remove blank lines"),
    _c("json.invalid", E, "line is not valid JSON", "fix the JSON syntax at the column shown"),
    _c("json.not_object", E, "line is not a JSON object", "each line must be one JSON object"),
    _c("json.nonstandard_constant", E, "NaN or Infinity in JSON", "write null or a number"),
    _c("json.duplicate_key", E, "a key appears twice in one object", "remove the duplicate key"),
    _c("json.lone_surrogate", E, "unpaired UTF-16 surrogate in a string", "repair the broken escape"),
    # §5.2 format detection
    _c("format.undetected", E, "keys match no known format",
       "use messages, prompt/completion, or input/preferred_output/non_preferred_output"),
    _c("format.ambiguous", E, "keys of two formats in one row", "keep the keys of one format only"),
    _c("format.mixed_in_file", E, "rows of different formats in one file", "split the file by format"),
    _c("format.needs_conversion", E, "format the target does not read directly",
       "convert it: curator convert FILE --to chat -o OUT.jsonl"),
    _c("format.method_mismatch", E, "format does not fit the target's training method",
       "choose the target that trains on this format"),
    _c("example.unknown_key", W, "top-level key not in the format", "remove the key"),
    _c("schema.invalid", E, "row does not match the format's schema", "see the message"),
    # §5.3 chat
    _c("chat.messages_missing", E, "no messages", "add a messages list"),
    _c("chat.messages_not_list", E, "messages is not a list", "messages must be a JSON array"),
    _c("chat.messages_empty", E, "messages is empty", "add at least one user and one assistant message"),
    _c("chat.message_not_object", E, "message is not an object", "each message is {role, content}"),
    _c("chat.role_missing", E, "message has no role", "add role: system, user, assistant or tool"),
    _c("chat.role_not_string", E, "role is not a string", "role must be a string"),
    _c("chat.role_invalid", E, "role not allowed for the target", "map the role to an allowed one"),
    _c("chat.role_not_allowed_for_method", W, "role not in this training method's schema",
       "use system instead of developer for supervised fine-tuning"),
    _c("chat.content_missing", E, "message has no content", "add content"),
    _c("chat.content_null_not_allowed", E, "content is null", "only assistant content may be null"),
    _c("chat.content_type_invalid", E, "content is neither text nor a list of parts",
       "content must be a string or a list of parts"),
    _c("chat.content_empty", E, "content is empty", "write the message or remove it"),
    _c("chat.message_unknown_key", E, "message key not allowed for its role", "remove the key"),
    _c("chat.name_invalid", W, "name is not a valid string", "name must match ^[a-zA-Z0-9_-]{1,64}$"),
    _c("chat.weight_invalid", E, "weight is not the integer 0 or 1", "write weight: 0 or weight: 1"),
    _c("chat.weight_not_allowed", E, "weight on a non-assistant message", "remove weight"),
    _c("chat.no_assistant_message", E, "no assistant message", "add the assistant answer to learn"),
    _c("chat.no_trainable_assistant", E, "every assistant message has weight 0",
       "set weight 1 on at least one assistant message"),
    _c("chat.last_not_assistant", W, "messages after the last assistant turn are not trained",
       "end the example with the assistant answer"),
    _c("chat.no_user_message", W, "no user message", "add the user turn the answer responds to"),
    _c("chat.no_system_message", N, "no system message", "optional; keep it consistent across rows"),
    _c("chat.system_not_first", W, "system message not first", "move the system message to the start"),
    _c("chat.multiple_system", W, "more than one system message", "merge the system messages"),
    _c("chat.first_turn_not_user", W, "first non-system turn is not user", "start with a user turn"),
    _c("chat.consecutive_same_role", W, "two adjacent messages with the same role",
       "merge them or insert the missing turn"),
    _c("chat.roles_not_alternating", E, "turns do not alternate user/assistant",
       "after the optional system message: user, assistant, user, assistant ..."),
    _c("chat.system_not_supported", E, "the template has no system role", "fold it into the first user turn"),
    # §5.4 content parts and images
    _c("content.parts_empty", E, "content list is empty", "add a text part or use a string"),
    _c("content.part_invalid", E, "content part is not {type, ...}", "each part needs a type"),
    _c("content.part_type_not_allowed", E, "content part type not allowed for the role",
       "use text parts (images only in user messages)"),
    _c("content.part_unsupported_for_ft", E, "audio/file parts are not supported for fine-tuning",
       "remove the part"),
    _c("content.text_missing", E, "text part without a string text", "add text"),
    _c("content.refusal_invalid", E, "refusal part mixed with others", "use exactly one refusal part"),
    _c("image.in_assistant", E, "image in a non-user message", "images are allowed in user messages only"),
    _c("image.url_missing", E, "image part without a url", "add image_url.url"),
    _c("image.url_invalid", E, "image url is not http(s) or a base64 data URL", "fix the url"),
    _c("image.detail_invalid", E, "image detail not auto/low/high", "use auto, low or high"),
    _c("image.format_unsupported", E, "image is not JPEG, PNG or WEBP", "convert the image"),
    _c("image.too_large", E, "image larger than 10 MB", "downscale or recompress the image"),
    _c("image.not_an_image", E, "base64 data of an image URL is not an image (magic bytes)",
       "embed the real JPEG, PNG or WEBP bytes"),
    _c("image.mime_mismatch", E, "data URL says one image type, its bytes are another",
       "write the MIME type the bytes have (data:image/png;base64,... for PNG)"),
    _c("image.too_many", E, "too many images in one example", "split the example"),
    _c("image.remote_url", N, "remote image url", "it must be reachable when training starts"),
    # §5.5 tools
    _c("tools.not_list", E, "tools is not a list", "tools must be a JSON array"),
    _c("tools.item_invalid", E, "tool is not {type: function, function: {name}}", "fix the tool"),
    _c("tools.name_invalid", E, "tool name invalid", "names match ^[a-zA-Z0-9_-]{1,64}$"),
    _c("tools.duplicate_name", E, "two tools with the same name", "rename or remove one"),
    _c("tools.parameters_invalid", E, "tool parameters is not a JSON Schema object", "fix parameters"),
    _c("tools.functions_deprecated", W, "deprecated functions/function_call used", "use tools and tool_calls"),
    _c("tools.functions_too_many", E, "more than 128 functions", "keep at most 128 definitions"),
    _c("tools.mixed_legacy_and_tools", W, "both functions and tools in one example", "use tools only"),
    _c("tools.parallel_invalid", E, "parallel_tool_calls is not a boolean", "write true or false"),
    _c("toolcall.not_list", E, "tool_calls is not a list", "tool_calls must be a JSON array"),
    _c("toolcall.empty", E, "tool_calls is empty", "remove the key or add a call"),
    _c("toolcall.field_missing", E, "tool call field missing", "a call needs id, type, function.name/arguments"),
    _c("toolcall.type_invalid", E, "tool call type is not function", "write type: function"),
    _c("toolcall.name_invalid", E, "tool call function name invalid", "names match ^[a-zA-Z0-9_-]{1,64}$"),
    _c("toolcall.arguments_not_string", E, "arguments is not a JSON string", "json.dumps the arguments"),
    _c("toolcall.arguments_invalid_json", E, "arguments string is not a JSON object", "fix the JSON"),
    _c("toolcall.unknown_function", W, "call to a function not in tools", "add the tool definition"),
    _c("toolcall.duplicate_id", E, "two tool calls with the same id", "make ids unique"),
    _c("toolcall.parallel_disabled", W, "several calls while parallel_tool_calls is false",
       "one call per message, or enable parallel calls"),
    _c("toolcall.unanswered", W, "tool call without a tool message answering it", "add the tool result"),
    _c("toolmsg.tool_call_id_missing", E, "tool message without tool_call_id", "add tool_call_id"),
    _c("toolmsg.orphan", E, "tool message answers no preceding tool call", "fix tool_call_id"),
    _c("functioncall.invalid", E, "function_call lacks string name/arguments", "fix function_call"),
    _c("functionmsg.name_missing", E, "function message without name", "add name"),
    # §5.6 prompt/completion
    _c("pc.prompt_missing", E, "no prompt", "add prompt"),
    _c("pc.completion_missing", E, "no completion", "add completion"),
    _c("pc.key_case", E, "key in the wrong case", "write prompt and completion in lower case"),
    _c("pc.extra_keys", E, "keys besides prompt and completion", "remove them"),
    _c("pc.not_string", E, "prompt/completion is not a string", "write strings"),
    _c("pc.completion_empty", E, "completion is empty", "write the completion"),
    _c("pc.prompt_empty", N, "prompt is empty", "fine for open-ended generation"),
    _c("pc.all_prompts_identical", E, "all prompts are identical", "the model cannot learn a mapping"),
    _c("pc.all_completions_identical", E, "all completions are identical", "the model learns one answer"),
    _c("pc.completion_no_leading_space", W, "completion does not start with a space",
       "OpenAI's legacy models expect a leading space"),
    # §5.7 preference
    _c("pref.input_invalid", E, "input missing or without messages", "write input: {messages: [...]}"),
    _c("pref.output_missing", E, "preferred/non_preferred output missing or not a list", "add both outputs"),
    _c("pref.output_count", E, "output must hold exactly one assistant message", "keep one message"),
    _c("pref.output_role_invalid", E, "output message role is not assistant", "use role assistant"),
    _c("pref.legacy_field_name", E, "old DPO field name", "rename *_completion to *_output"),
    _c("pref.input_ends_with_assistant", E, "input ends with an assistant message",
       "end the input with the user turn the outputs answer"),
    _c("pref.multi_turn_input", N, "input has earlier assistant turns", "only the final turn is trained"),
    _c("pref.identical_outputs", E, "preferred and non-preferred outputs are identical",
       "there is no preference to learn"),
    _c("pref.text_only", E, "images in a preference example", "DPO is text only"),
    _c("pref.trl_keys_invalid", E, "TRL preference keys not an accepted set", "use prompt/chosen/rejected"),
    _c("pref.prompt_last_role_invalid", E, "prompt ends with an unusable role", "end with user or tool"),
    _c("pref.format_mismatch", E, "prompt/chosen/rejected mix strings and message lists", "use one style"),
    _c("pref.implicit_prompt_empty", W, "chosen and rejected share no prompt",
       "give an explicit prompt, or start both with the same messages"),
    _c("pref.lf_message_count", E, "ranking conversation must have an odd number of turns",
       "end the conversation with the human turn both answers respond to"),
    _c("pref.one_side_empty", E, "one answer of the pair is empty and the other is not",
       "write the empty answer, or drop the pair"),
    _c("pref.refusal_chosen", W, "the chosen answer is a refusal and the rejected one is not",
       "check the pair is not swapped; keep preferred refusals intentional"),
    _c("pref.length_bias", W, "the chosen answer is the longer one in most pairs",
       "add pairs whose chosen answer is the shorter one, or the model learns length"),
    _c("pref.contradiction", W, "pairs on the same prompt prefer opposite answers",
       "keep one of them (label review:contradiction in the workspace)"),
    # §5.8 tokens and dataset
    _c("tokens.over_limit", W, "example longer than the target's limit", "shorten or split the example"),
    _c("tokens.truncation_removes_target", E, "truncation would remove the trained tokens",
       "shorten the prompt or split the example"),
    _c("tokens.approximate", N, "token counts approximate the model's tokenizer",
       "pass --model PATH (a local model folder) for exact counts"),
    _c("tokens.no_trainable_tokens", E, "no trainable (assistant) tokens", "add an assistant answer"),
    _c("dataset.too_few_examples", E, "fewer examples than the target's minimum", "add examples"),
    _c("dataset.few_examples", W, "few examples", "50-100 good examples is the usual start"),
    _c("dataset.duplicate_example", W, "exact duplicate of an earlier example", "curator dedup"),
    _c("dataset.refusal_share", W, "many assistant answers are refusals",
       "keep refusals to the share you want the model to learn"),
    _c("dataset.train_val_overlap", W, "an example appears in two of the files checked",
       "keep validation examples out of the training file"),
    _c("template.render_error", E, "the model's chat template failed on this example",
       "fix the example so the template accepts it (roles, order)"),
    # §8 quality
    _c("quality.empty_or_whitespace", W, "content is only whitespace", "write the content or drop the turn"),
    _c("quality.control_chars", W, "control characters in text", "remove them"),
    _c("quality.zero_width", W, "zero-width characters in text", "remove them"),
    _c("quality.bidi_control", W, "bidirectional control characters in text", "remove them"),
    _c("quality.replacement_char", W, "U+FFFD replacement character (lossy decoding upstream)",
       "re-decode the source with the right encoding"),
    _c("quality.mojibake", W, "text looks double-encoded (mojibake)", "fix the encoding (e.g. ftfy)"),
    _c("quality.template_artifacts", W, "chat-template tokens inside the text",
       "remove template markup; the trainer adds its own"),
    _c("quality.placeholder", W, "unfilled template placeholder", "fill in the placeholder"),
    _c("quality.placeholder_input", W, "placeholder standing for no input", "leave the input empty"),
    _c("quality.refusal", W, "refusal boilerplate in an assistant answer", "keep refusals intentional"),
    _c("quality.placeholder_answer", W, "the answer is a placeholder or stub (TODO, N/A, <answer>, ...)",
       "write the real answer, or reject the example"),
    _c("quality.truncated_answer", W, "the answer looks cut off (ends mid-sentence, or leaves a code "
       "block or bracket open)", "complete the answer, or reject the example"),
    _c("quality.response_equals_prompt", W, "the answer repeats the user's text",
       "write the answer the model should learn"),
    _c("quality.answer_off_prompt", W, "the model finds the answer no likelier given its prompt "
       "(IFD >= 1, `curator score`)", "check the answer answers this prompt; fix or reject it"),
    _c("quality.answer_cut_off", W, "the model would not end the answer where it ends, and it has no "
       "sentence end (`curator score`)", "complete the answer, or reject the example"),
    _c("quality.literal_escapes", W, "literal \\n escapes and no real line breaks (double-encoded JSON?)",
       "decode the text once more"),
    _c("quality.pii.email", W, "e-mail address", "remove or mask personal data"),
    _c("quality.pii.phone", W, "phone number", "remove or mask personal data"),
    _c("quality.pii.credit_card", W, "credit card number (passes Luhn)", "remove it"),
    _c("quality.pii.secret", W, "likely secret (API key, token, private key)", "remove and rotate it"),
    # conversion (curator/formats/result.py): rows in another format are converted, then checked
    _c("convert.lossy", W, "conversion dropped something the row had", "see the message"),
    _c("convert.heuristic", N, "conversion rests on a guess", "see the message"),
    _c("convert.role_alias", N, "a role name was mapped", "write the canonical role name"),
    _c("convert.unrepresentable", E, "the target format cannot hold this example", "see the message"),
    _c("convert.unsupported", E, "the row cannot be converted to chat", "see the message"),
    _c("convert.field_invalid", E, "the row lacks the structure its format requires", "see the message"),
    _c("internal.check_failed", E, "a check crashed on this row (a curator bug)",
       "please report it with the row"),
    _c("internal.chunk_failed", E, "a part of the file could not be checked", "rerun with --workers 1"),
]

CODES: dict[str, Code] = {c.code: c for c in _ALL}
#: codes that mean the row's structure is wrong for its format (pydantic would reject it).
STRUCTURAL_PREFIXES = ("json.", "chat.", "content.", "image.", "tools.", "toolcall.", "toolmsg.",
                       "functioncall.", "functionmsg.", "pc.", "pref.", "format.", "schema.",
                       "example.", "file.not_utf8")


def lookup(code: str) -> Code:
    """The catalogue entry for `code`; an unknown code is a programming error."""
    return CODES[code]
