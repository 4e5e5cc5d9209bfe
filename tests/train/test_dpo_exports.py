"""The preference exports load where they are meant to: TRL's DPOTrainer tokenises every exported
pair (`curator export --target trl`) into the prompt, chosen and rejected it holds, and
LLaMA-Factory's `dataset_info.json` entry and ranking rows (`--target lf`) have what its sharegpt
ranking reader needs. (`tests/workspace/test_preference_export.py` loads each layout in
`datasets` and converts it back.)"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pref_helpers import lf_ranking_rows
from train_helpers import write_split

from curator.cli import cli
from curator.workspace import Workspace

SPLIT_NAMES = ("train", "validation", "holdout")


def workspace(tmp_path: Path, n: int = 40) -> Path:
    src = tmp_path / "pairs.jsonl"
    write_split(src, lf_ranking_rows(n))
    db = tmp_path / "work.db"
    runner = CliRunner()
    result = runner.invoke(cli, ["import", str(src), "-w", str(db), "--target", "trl"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["split", "-w", str(db), "--ratios", "0.5,0.25,0.25"])
    assert result.exit_code == 0, result.output
    return db


def export(db: Path, out: Path, target: str, *extra: str) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["export", "-w", str(db), "--out", str(out), "--target", target,
                                      "--kind", "preference", "--json", *extra])
    assert result.exit_code == 0, result.output
    summary: dict[str, Any] = json.loads(result.stdout)
    return summary


def stored_pairs(db: Path) -> dict[str, list[dict[str, Any]]]:
    """split -> the workspace's pairs in id order (the export's row order)."""
    out: dict[str, list[dict[str, Any]]] = {s: [] for s in SPLIT_NAMES}
    with Workspace.open(db) as ws:
        for rid in ws.select_ids():
            rec = ws.get(rid)
            assert rec.kind == "preference" and rec.split is not None
            out[rec.split].append(rec.canonical)
    return out


def _text(msgs: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(m["role"], m["content"]) for m in msgs]


def test_the_trl_export_goes_through_dpotrainers_own_data_preparation(tmp_path: Path) -> None:
    pytest.importorskip("trl")
    import datasets
    import torch
    from trl.data_utils import is_conversational, maybe_apply_chat_template
    from trl.trainer.dpo_config import DPOConfig
    from trl.trainer.dpo_trainer import DPOTrainer

    from curator.train import models
    from curator.train.data import PreferenceExample
    from curator.train.dpo import encode_pair

    db = workspace(tmp_path)
    out = tmp_path / "trl"
    export(db, out, "trl")
    files = {s: str(out / f"{s}.jsonl") for s in SPLIT_NAMES}
    loaded = datasets.load_dataset("json", data_files=files, cache_dir=str(tmp_path / "cache"))
    stored = stored_pairs(db)
    assert {s: loaded[s].num_rows for s in SPLIT_NAMES} == {s: len(v) for s, v in stored.items()}
    assert sum(loaded[s].num_rows for s in SPLIT_NAMES) == 40 and min(len(v) for v in stored.values()) >= 5

    source = models.resolve_model("tiny")
    tok = models.load_tokenizer(source)
    # TRL's own reading of a row: conversational, and its chat template renders the three parts.
    for s in SPLIT_NAMES:
        for row, pair in zip(loaded[s], stored[s], strict=True):
            assert set(row) == {"prompt", "chosen", "rejected"} and is_conversational(row)
            assert (_text(row["prompt"]), _text(row["chosen"]), _text(row["rejected"])) == \
                (_text(pair["prompt"]), _text(pair["chosen"]), _text(pair["rejected"]))
            rendered = maybe_apply_chat_template(row, tok)
            assert rendered["prompt"].endswith("<|im_start|>assistant\n")  # the generation prompt
            assert pair["prompt"][-1]["content"] in rendered["prompt"]
            assert rendered["chosen"] == pair["chosen"][0]["content"] + "<|im_end|>\n"
            assert rendered["rejected"] == pair["rejected"][0]["content"] + "<|im_end|>\n"

    # DPOTrainer's tokenisation of every split, as the exported files are; then one step on train.
    model = models.load_model(source, "none", "cpu", torch.float32)
    model = models.add_lora(model, "none", "cpu", 8, 16, 0.0, None)
    args = DPOConfig(output_dir=str(tmp_path / "tmp"), use_cpu=True, bf16=False, gradient_checkpointing=False,
                     report_to="none", max_length=None, max_steps=1, per_device_train_batch_size=2,
                     logging_steps=1, save_strategy="no", disable_tqdm=True)
    trainer = DPOTrainer(model=model, args=args, train_dataset=loaded["train"],
                         eval_dataset={"validation": loaded["validation"], "holdout": loaded["holdout"]},
                         processing_class=tok)
    prepared = {"train": trainer.train_dataset, **trainer.eval_dataset}
    for s in SPLIT_NAMES:
        assert prepared[s].num_rows == len(stored[s])  # no pair dropped
        for tokenised, pair in zip(prepared[s], stored[s], strict=True):
            assert tok.decode(tokenised["chosen_ids"]) == pair["chosen"][0]["content"] + "<|im_end|>\n"
            assert tok.decode(tokenised["rejected_ids"]) == pair["rejected"][0]["content"] + "<|im_end|>\n"
            prompt = tok.decode(tokenised["prompt_ids"])
            assert prompt.endswith(pair["prompt"][-1]["content"] + "<|im_end|>\n<|im_start|>assistant\n")
            assert all(m["content"] in prompt for m in pair["prompt"])
            # and they are the tokens `curator train --method dpo` measures its margins on
            enc = encode_pair(tok, PreferenceExample(pair["prompt"], pair["chosen"], pair["rejected"], "ws", None, 0))
            assert tokenised["prompt_ids"] == enc.chosen_ids[: enc.start]
            assert tokenised["chosen_ids"] == enc.chosen_ids[enc.start:]
            assert tokenised["rejected_ids"] == enc.rejected_ids[enc.start:]
    result = trainer.train()
    assert result.global_step == 1 and math.isfinite(result.training_loss)


def test_the_hf_dataset_export_holds_the_same_rows_trl_reads(tmp_path: Path) -> None:
    pytest.importorskip("trl")
    import datasets
    from trl.data_utils import is_conversational

    db = workspace(tmp_path, n=20)
    out = tmp_path / "trl"
    export(db, out, "trl", "--hf-dataset")
    on_disk = datasets.load_from_disk(str(out / "hf"))
    jsonl = datasets.load_dataset("json", data_files={s: str(out / f"{s}.jsonl") for s in SPLIT_NAMES},
                                  cache_dir=str(tmp_path / "cache"))
    for s in SPLIT_NAMES:
        assert on_disk[s].to_list() == jsonl[s].to_list()
        assert all(is_conversational(row) for row in on_disk[s])


# What LLaMA-Factory's dataset_info.json parser (data/parser.py, DatasetAttr) and its sharegpt
# converter (data/converter.py) read for a ranking set, in its docs' words (data/README.md):
# `formatting` sharegpt, `ranking` true, `columns` naming the messages, chosen and rejected
# columns (chosen and rejected have no default), the rest optional; tags default to from/value
# with human, gpt, observation, function_call and system.
LF_SHAREGPT_COLUMNS = {"messages", "system", "tools", "images", "videos", "audios", "chosen", "rejected", "kto_tag"}
LF_ENTRY_KEYS = {"file_name", "formatting", "ranking", "columns", "tags", "subset", "split", "folder",
                 "num_samples", "hf_hub_url", "ms_hub_url", "script_url", "file_sha1"}
LF_DEFAULT_TAGS = {"role_tag": "from", "content_tag": "value", "user_tag": "human", "assistant_tag": "gpt",
                   "observation_tag": "observation", "function_tag": "function_call", "system_tag": "system"}


def _lf_ranking_row_ok(row: dict[str, Any], columns: dict[str, str], tags: dict[str, str]) -> bool:
    """A ranking row as LLaMA-Factory's sharegpt converter accepts it: an optional system turn
    first, then user (or observation) and assistant (or function) turns alternating, ending on a
    user turn (an odd count), and chosen and rejected each one assistant (or function) turn."""
    role, content = tags["role_tag"], tags["content_tag"]
    turns = row[columns["messages"]]
    if turns and turns[0][role] == tags["system_tag"]:
        turns = turns[1:]
    odd = (tags["user_tag"], tags["observation_tag"])
    even = (tags["assistant_tag"], tags["function_tag"])
    if any(t[role] not in (odd, even)[i % 2] for i, t in enumerate(turns)) or len(turns) % 2 == 0:
        return False
    return all(isinstance(row[columns[side]], dict) and row[columns[side]][role] in even
               and isinstance(row[columns[side]][content], str) for side in ("chosen", "rejected"))


def test_the_llamafactory_export_has_the_ranking_entry_and_rows_it_reads(tmp_path: Path) -> None:
    import datasets

    db = workspace(tmp_path)
    out = tmp_path / "lf"
    export(db, out, "lf")
    info = json.loads((out / "dataset_info.json").read_text(encoding="utf-8"))
    assert set(info) == {"curator", "curator_validation", "curator_holdout"}
    stored = stored_pairs(db)
    for name, split in zip(("curator", "curator_validation", "curator_holdout"), SPLIT_NAMES, strict=True):
        entry = info[name]
        assert set(entry) <= LF_ENTRY_KEYS
        assert entry["file_name"] == f"{split}.jsonl" and (out / entry["file_name"]).is_file()
        assert entry["formatting"] == "sharegpt" and entry["ranking"] is True
        columns = entry["columns"]
        assert set(columns) <= LF_SHAREGPT_COLUMNS and {"messages", "chosen", "rejected"} <= set(columns)
        tags = {**LF_DEFAULT_TAGS, **entry.get("tags", {})}
        rows = datasets.load_dataset("json", data_files=str(out / entry["file_name"]), split="train",
                                     cache_dir=str(tmp_path / "cache")).to_list()
        assert len(rows) == len(stored[split])
        for row, pair in zip(rows, stored[split], strict=True):
            assert _lf_ranking_row_ok(row, columns, tags), row
            # the last user turn, the chosen and the rejected answer are the stored pair's
            assert row[columns["messages"]][-1][tags["content_tag"]] == pair["prompt"][-1]["content"]
            assert row[columns["chosen"]][tags["content_tag"]] == pair["chosen"][0]["content"]
            assert row[columns["rejected"]][tags["content_tag"]] == pair["rejected"][0]["content"]
