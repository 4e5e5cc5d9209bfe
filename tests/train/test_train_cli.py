"""`curator train` from the command line: the end-to-end path, usage errors, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from train_helpers import chat, memorisable_set, write_split

from curator.cli import cli
from curator.train.config import build_config, load_yaml
from curator.train.data import load_data_dir
from curator.train.errors import UsageError

REPO = Path(__file__).resolve().parents[2]


def test_cli_end_to_end_with_the_tiny_model(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    data = memorisable_set(tmp_path / "data", n_eval=10)
    out = tmp_path / "run"
    result = CliRunner().invoke(cli, ["train", "--data", str(data), "--model", "tiny", "--out", str(out),
                                      "--steps", "25", "--lr", "1e-2", "--quant", "none", "--generate", "1"])
    assert result.exit_code == 0, result.output
    assert result.output.rstrip().splitlines()[-1].startswith("VERDICT: PASS")
    assert "pre-flight" in result.output and "⟦Arr, matey!" in result.output  # trained span marked
    report = json.loads((out / "report.json").read_text())
    assert report["verdict"] == "PASS" and report["training"]["steps"] == 25
    assert (out / "adapter" / "adapter_config.json").is_file()
    assert (out / "adapter" / "tokenizer_config.json").is_file()
    assert (out / "review_queue.jsonl").is_file()


def test_config_file_with_flag_override(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    data = memorisable_set(tmp_path / "data")
    cfg = tmp_path / "smoke.yaml"
    cfg.write_text("# curator train --config smoke.yaml\ndata: data\nout: run\nmodel: tiny\nsteps: 2\n"
                   "quant: none\nlr: 2e-4\ngenerate: 0\n")
    result = CliRunner().invoke(cli, ["train", "--config", str(cfg), "--steps", "3"])
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert result.exit_code in (0, 1, 3), result.output
    assert report["training"]["steps"] == 3  # the flag wins
    assert report["config"]["lr"] == 2e-4  # YAML's `2e-4` is a string to PyYAML; read as a number
    assert report["config"]["data"] == str(data)  # relative to the config file


def test_a_split_with_only_rejected_rows_names_them_and_exits_2(tmp_path: Path) -> None:
    data = memorisable_set(tmp_path / "data")
    (data / "validation.jsonl").write_text('{"messages": [{"role": "robot", "content": "x"}]}\n')
    result = CliRunner().invoke(cli, ["train", "--data", str(data), "--model", "tiny", "--out", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert f"{data / 'validation.jsonl'}: no usable examples; every row is rejected: " in result.output
    assert f"{data / 'validation.jsonl'}:1: chat.role_invalid" in result.output
    assert "fix:" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "r").exists()


def test_rows_validate_rejects_are_listed_and_never_trained(tmp_path: Path) -> None:
    """Issue 13: `--data` trained rows `validate` rejects (an empty answer trained only the end
    token; a "\n" answer stopped with an error blaming the chat template). The same rules as
    `import` now run on every row: rejected rows are listed with file:line and codes, left out."""
    pytest.importorskip("torch")
    data = memorisable_set(tmp_path / "data", n_eval=10)
    good = [chat(f"question {i}?", "Arr, matey!") for i in range(6)]
    write_split(data / "train.jsonl", [*good[:3], chat("empty?", ""), chat("newline?", "\n"), {"messages": [{"role": "robot", "content": "x"}]}, *good[3:]])
    with (data / "train.jsonl").open("a") as f:
        f.write("{not json\n")
    out = tmp_path / "r"
    result = CliRunner().invoke(cli, ["train", "--data", str(data), "--model", "tiny", "--out", str(out),
                                      "--steps", "2", "--quant", "none", "--generate", "0"])
    assert result.exit_code in (0, 1, 3), result.output
    report = json.loads((out / "report.json").read_text())
    train = report["data"]["train"]
    assert train["examples"] == train["used"] == 6 and train["rejected"] == 4
    f = str(data / "train.jsonl")
    got = {r["where"]: r["codes"] for r in train["rejected_examples"]}
    assert got[f"{f}:4"] == ["chat.content_empty"]
    assert got[f"{f}:5"] == ["quality.empty_or_whitespace"]
    assert got[f"{f}:6"] == ["chat.role_invalid"]
    assert f"{f}:10" in got
    assert "4 row(s) rejected by the validation rules, left out" in result.output
    assert "template" not in " ".join(report["reasons"])


def test_other_chat_formats_are_converted_as_import_converts_them(tmp_path: Path) -> None:
    data = memorisable_set(tmp_path / "data")
    write_split(data / "train.jsonl", [{"instruction": "Say hi", "input": "", "output": "Hi!"}])
    splits = load_data_dir(data)
    assert [m.role for m in splits.train[0].chat.messages] == ["user", "assistant"]
    assert splits.rejected == {}


def test_missing_split_and_missing_options_are_usage_errors(tmp_path: Path) -> None:
    data = memorisable_set(tmp_path / "data")
    (data / "holdout.jsonl").unlink()
    result = CliRunner().invoke(cli, ["train", "--data", str(data), "--out", str(tmp_path / "r")])
    assert result.exit_code == 2 and "holdout.jsonl: missing" in result.output
    result = CliRunner().invoke(cli, ["train", "--out", str(tmp_path / "r")])
    assert result.exit_code == 2 and "no data given" in result.output
    result = CliRunner().invoke(cli, ["train", "--data", str(data), "--out", "r", "--quant", "int3"])
    assert result.exit_code == 2


def test_offline_hub_id_is_explained(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    data = memorisable_set(tmp_path / "data")
    result = CliRunner().invoke(cli, ["train", "--data", str(data), "--out", str(tmp_path / "r"),
                                      "--model", "nobody-here/no-such-model-xyz"])
    assert result.exit_code == 2
    assert "offline (HF_HUB_OFFLINE" in result.output and "Traceback" not in result.output


def test_a_row_without_an_assistant_turn_is_left_out(tmp_path: Path) -> None:
    data = memorisable_set(tmp_path / "data")
    write_split(data / "train.jsonl", [chat("q", "a"), {"messages": [{"role": "user", "content": "only"}]}])
    splits = load_data_dir(data)
    assert len(splits.train) == 1
    assert [(b.where, b.codes) for b in splits.rejected["train"]] == [(f"{data / 'train.jsonl'}:2", ["chat.no_assistant_message"])]


def test_config_rejects_unknown_keys_and_bad_values(tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text("steps: 3\nlearning_rate: 1\n")
    with pytest.raises(UsageError, match=r"c.yaml: unknown config key\(s\): learning_rate"):
        load_yaml(f)
    with pytest.raises(UsageError, match="lora_dropout must be in"):
        build_config({"data": "d", "out": "o"}, {"lora_dropout": 1.5})
    with pytest.raises(UsageError, match="lr must be a number"):
        build_config({"data": "d", "out": "o", "lr": "fast"}, {})


def test_example_config_loads() -> None:
    f = REPO / "configs" / "smoke.yaml"
    first = f.read_text().splitlines()[0]
    assert first.startswith("# curator train --config")
    values = load_yaml(f)
    cfg = build_config(values, {})
    assert cfg.lora_r == 16 and cfg.target_modules == "all-linear"


def test_train_has_help_with_an_example() -> None:
    result = CliRunner().invoke(cli, ["train", "--help"])
    assert result.exit_code == 0 and "Example: curator train" in result.output
