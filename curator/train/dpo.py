"""`curator train --method dpo`: a DPO smoke run on preference pairs, judged on pairs it never saw.

Read `run` first; it has the same steps as the SFT recipe (curator.train.recipe), and reuses its
set-up helpers, the model loading and LoRA of curator.train.models (NF4 on a GPU, the measured
CPU path on a CPU), and the verdict of curator.train.verdict.

* Training: TRL's `DPOTrainer` (sigmoid loss, beta 0.1) on the train split, with the LoRA
  adapter curator adds; the reference model is the base model (TRL keeps a frozen copy of the
  untrained adapter, whose B = 0 makes it the identity).
* Measure: per pair, under the policy, the log-ratio (the *margin*)
  ``log p(chosen | prompt) - log p(rejected | prompt)``, each side's log-probability summed over
  that side's answer tokens (the tokens after the rendered prompt, end-of-turn included, found
  as TRL finds them: the common prefix of the templated prompt-with-generation-prompt and the
  templated prompt + answer). Measured on validation and holdout before any step (the base
  model: the adapter starts as the identity) and after training, on the same tokens.
  *Preference accuracy* is the share of pairs with a positive margin; *mean margin* its mean.
  The change of the margin of a pair, times beta, is DPO's implicit reward margin of the tuned
  policy against the base model (TRL's ``rewards/margins``), so ``reward_margin`` reports it.
* Verdict: `verdict.paired_gain` on the per-pair change of the margin, token-weighted as the SFT
  run is. Per pair the "base" sum is the base model's loss on both answers,
  ``-(log p_base(chosen) + log p_base(rejected))``, and the "tuned" sum is that minus the pair's
  change of margin; the difference the bootstrap resamples is therefore exactly the change of
  the margin (tuned minus base), over the pair's answer tokens (chosen + rejected). So: the gain
  is the mean change of the margin per answer token, with a 95 % percentile bootstrap interval
  over pairs (10,000 resamples, seed 0), and a gain counts from `min_gain` (1 %) of the base
  model's loss per answer token, the SFT run's rule on the same scale. PASS when the interval
  is above zero on validation and holdout and the gain counts; FAIL when training diverged or
  the margin fell significantly on either; INCONCLUSIVE otherwise (also under 10 pairs). The
  DPO loss itself is not what is bootstrapped: it is convex in the margin, so label noise alone
  would raise it and read as "worse"; the margin's change is linear and centred on zero when
  the labels carry nothing.
"""

from __future__ import annotations

import json
import logging
import math
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.console import Console

from curator.train import models
from curator.train.chat import IGNORE, apply_template
from curator.train.config import TrainConfig
from curator.train.data import PreferenceExample, PreferenceSplits
from curator.train.errors import PreflightError, WatchdogError
from curator.train.evaluate import token_losses
from curator.train.recipe import (
    Run,
    ensure_pad_token,
    peak_memory_mb,
    set_up,
    stopped,
    write_report,
)
from curator.train.summary import _gain, loss_lines
from curator.train.verdict import (
    MIN_EXAMPLES,
    Gain,
    decide,
    fmt_gain,
    paired_gain,
    trend,
)

METHOD = "dpo"
#: DPO's beta (TRL's default): how far the policy may move from the reference model.
BETA = 0.1
LOSS_TYPE = "sigmoid"


@dataclass(frozen=True, slots=True)
class EncodedPair:
    """One pair as token ids: each side is the full sequence (prompt + answer) and the index where
    its answer tokens start."""

    example: PreferenceExample
    chosen_ids: list[int]
    rejected_ids: list[int]
    start: int  # answer tokens are ids[start:] on both sides
    truncated: bool = False

    @property
    def chosen_tokens(self) -> int:
        return len(self.chosen_ids) - self.start

    @property
    def rejected_tokens(self) -> int:
        return len(self.rejected_ids) - self.start

    @property
    def longest(self) -> int:
        return max(len(self.chosen_ids), len(self.rejected_ids))


@dataclass(frozen=True, slots=True)
class Margins:
    """Per pair, the policy's summed log-probability of each side's answer tokens."""

    chosen: list[float]
    rejected: list[float]

    def margins(self) -> list[float]:
        return [c - r for c, r in zip(self.chosen, self.rejected, strict=True)]


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _ids(tokenizer: Any, text: Any) -> list[int]:
    return list(tokenizer(str(text), add_special_tokens=False)["input_ids"])


def encode_pair(tokenizer: Any, ex: PreferenceExample) -> EncodedPair:
    """Token ids of both sides, the answer start found as TRL's DPOTrainer finds it."""
    from curator.chat_template import template_messages
    from curator.formats.content import ContentError

    try:
        prompt = template_messages(ex.prompt)
        chosen = template_messages(ex.prompt + ex.chosen)
        rejected = template_messages(ex.prompt + ex.rejected)
    except ContentError:
        raise PreflightError(f"{ex.where}: an image content part cannot go through a text-only chat template",
                             fix="DPO here is text only: drop image pairs") from None
    kw: dict[str, Any] = {"tools": ex.tools or None, "tokenize": False}
    p = _ids(tokenizer, apply_template(tokenizer, prompt, ex.where, add_generation_prompt=True, **kw))
    c = _ids(tokenizer, apply_template(tokenizer, chosen, ex.where, **kw))
    r = _ids(tokenizer, apply_template(tokenizer, rejected, ex.where, **kw))
    start = min(_common_prefix(p, c), _common_prefix(p, r))
    return EncodedPair(ex, c, r, start)


def truncate_pair(e: EncodedPair, max_length: int) -> EncodedPair:
    """Keep the start of each side (TRL's keep_start), as the trainer's collator does."""
    if e.longest <= max_length:
        return e
    return EncodedPair(e.example, e.chosen_ids[:max_length], e.rejected_ids[:max_length], e.start, truncated=True)


@torch.no_grad()
def answer_logps(model: Any, seqs: list[tuple[list[int], int]], batch_size: int, pad_id: int,
                 device: str) -> list[float]:
    """Summed log-probability of ids[start:] given ids[:start], for each (ids, start)."""
    was_training = model.training
    model.eval()
    out: list[float] = []
    for i in range(0, len(seqs), batch_size):
        chunk = seqs[i: i + batch_size]
        width = max(len(ids) for ids, _ in chunk)
        ids_t = torch.full((len(chunk), width), pad_id, dtype=torch.long)
        labels = torch.full((len(chunk), width), IGNORE, dtype=torch.long)
        attn = torch.zeros((len(chunk), width), dtype=torch.long)
        for row, (ids, start) in enumerate(chunk):
            ids_t[row, : len(ids)] = torch.tensor(ids)
            labels[row, start: len(ids)] = torch.tensor(ids[start:])
            attn[row, : len(ids)] = 1
        batch = {"input_ids": ids_t.to(device), "attention_mask": attn.to(device), "labels": labels.to(device)}
        loss, _, _ = token_losses(model, batch)
        out.extend(-float(x) for x in loss.double().sum(1))
    model.train(was_training)
    return out


def measure(model: Any, pairs: list[EncodedPair], batch_size: int, pad_id: int, device: str) -> Margins:
    chosen = answer_logps(model, [(e.chosen_ids, e.start) for e in pairs], batch_size, pad_id, device)
    rejected = answer_logps(model, [(e.rejected_ids, e.start) for e in pairs], batch_size, pad_id, device)
    return Margins(chosen, rejected)


def summary_stats(m: Margins) -> dict[str, Any]:
    margins = np.asarray(m.margins(), dtype=np.float64)
    finite = bool(np.all(np.isfinite(margins)))
    return {"pairs": len(margins),
            "preference_accuracy": float((margins > 0).mean()) if len(margins) and finite else None,
            "mean_margin": float(margins.mean()) if len(margins) and finite else None,
            "mean_logp_chosen": float(np.mean(m.chosen)) if len(margins) and finite else None,
            "mean_logp_rejected": float(np.mean(m.rejected)) if len(margins) and finite else None}


def margin_gain(pairs: list[EncodedPair], base: Margins, tuned: Margins, min_gain: float) -> Gain:
    """The verdict's paired comparison (see the module docstring): the change of the margin,
    token-weighted over both answers, against the base model's loss on those answers."""
    base_sums = [-(c + r) for c, r in zip(base.chosen, base.rejected, strict=True)]
    change = [t - b for t, b in zip(tuned.margins(), base.margins(), strict=True)]
    tuned_sums = [b - d for b, d in zip(base_sums, change, strict=True)]
    tokens = [e.chosen_tokens + e.rejected_tokens for e in pairs]
    return paired_gain(base_sums, tuned_sums, tokens, min_gain=min_gain)


# --- the run -------------------------------------------------------------------------------------


def run(cfg: TrainConfig, splits: PreferenceSplits, console: Console | None = None,
        show_summary: bool = True, beta: float = BETA, notes: list[str] | None = None) -> tuple[dict[str, Any], int]:
    """Run the DPO smoke test; return (report, exit code: 0 PASS, 1 FAIL, 3 INCONCLUSIVE).
    `notes` come from the data source (what it left out) and go into the report's notes.
    Usage errors raise UsageError."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(logging.ERROR)
    for name in ("trl", "accelerate", "datasets"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
    r = Run(cfg, console or Console(stderr=True), Path(cfg.out or "run"))
    torch.manual_seed(cfg.seed)

    # --- setup ------------------------------------------------------------------------------
    for text in notes or []:
        r.note(text)
    for name, bad in splits.rejected.items():
        r.note(f"{name}: {len(bad)} row(s) left out: " + "; ".join(map(str, bad[:10])) + (" ..." if len(bad) > 10 else ""))
    setup = set_up(r, "DPO", "the pairs train", method=METHOD)
    source, tokenizer, limit, steps, quant = setup.source, setup.tokenizer, setup.limit, setup.steps, setup.quant
    r.report.update({
        "dpo": {"beta": beta, "loss_type": LOSS_TYPE, "trainer": _trl_version(),
                "margin": "log p(chosen) - log p(rejected) under the policy, each summed over its answer tokens",
                "reward_margin": "beta * (tuned margin - base margin): DPO's implicit reward margin against the base model"},
    })

    try:
        r.lap("setup")
        pairs = preflight(r, tokenizer, splits, limit)
        r.lap("preflight")
        base = models.load_model(source, quant, r.device, r.dtype)
        model = models.add_lora(base, quant, r.device, cfg.lora_r, cfg.lora_alpha, cfg.lora_dropout, cfg.target_modules)
        pad_id = int(tokenizer.pad_token_id)
        r.lap("model_load")

        # --- baseline: LoRA starts as the identity (B = 0), so this is the base model ---------
        r.console.print("[bold]baseline[/] (base model, before any step)")
        before = {n: measure(model, pairs[n], cfg.eval_batch_size, pad_id, r.device) for n in ("validation", "holdout")}
        r.report["baseline"] = {n: summary_stats(m) for n, m in before.items()}
        r.lap("evaluate")
        if not all(math.isfinite(x) for m in before.values() for x in m.chosen + m.rejected):
            raise WatchdogError("the base model's log-probabilities are NaN/Inf before any step: the checkpoint holds "
                                "broken weights, or the compute dtype overflows",
                                fix="check the model with a plain forward pass; on a GPU without bf16, fp32 is used")

        # --- train ----------------------------------------------------------------------------
        model, training = train(r, model, tokenizer, pairs["train"], steps, beta)
        r.lap("train")
        r.report["training"] = training

        # --- evaluate --------------------------------------------------------------------------
        after = {n: measure(model, pairs[n], cfg.eval_batch_size, pad_id, r.device) for n in ("validation", "holdout")}
        r.report["tuned"] = {n: summary_stats(m) for n, m in after.items()}
        for n in ("validation", "holdout"):
            change = np.asarray(after[n].margins()) - np.asarray(before[n].margins())
            r.report["tuned"][n]["reward_margin"] = float(beta * change.mean()) if np.all(np.isfinite(change)) else None
        r.report["per_example"] = {
            n: {"where": [e.example.where for e in pairs[n]],
                "chosen_tokens": [e.chosen_tokens for e in pairs[n]],
                "rejected_tokens": [e.rejected_tokens for e in pairs[n]],
                "baseline_logp_chosen": before[n].chosen, "baseline_logp_rejected": before[n].rejected,
                "tuned_logp_chosen": after[n].chosen, "tuned_logp_rejected": after[n].rejected,
                "baseline_margin": before[n].margins(), "tuned_margin": after[n].margins()}
            for n in ("validation", "holdout")}
        r.lap("evaluate")

        # --- save ------------------------------------------------------------------------------
        adapter_dir = r.out / "adapter"
        model.save_pretrained(adapter_dir, selected_adapters=["default"])
        tokenizer.save_pretrained(adapter_dir)
        r.report["adapter"] = str(adapter_dir)
        r.lap("save")
        judge(r, training, {n: margin_gain(pairs[n], before[n], after[n], cfg.min_gain) for n in ("validation", "holdout")})
    except (PreflightError, WatchdogError) as exc:
        stopped(r, exc)

    # --- report ------------------------------------------------------------------------------
    return write_report(r, summarize, show_summary)


def _finite(x: Any) -> Any:
    raise TypeError(f"not JSON: {x!r}")


def _trl_version() -> str:
    import trl

    return f"trl {trl.__version__}"


# --- pre-flight ----------------------------------------------------------------------------------


def preflight(r: Run, tokenizer: Any, splits: PreferenceSplits, limit: int) -> dict[str, list[EncodedPair]]:
    """Encode every pair; pick max_length (the data's p99 of the longer side, capped by the model,
    as the SFT run does); drop or truncate the pairs over it; stop before any step when a pair
    has no answer token on a side."""
    cfg = r.cfg
    ensure_pad_token(r, tokenizer)
    raw = {name: [encode_pair(tokenizer, ex) for ex in exs] for name, exs in splits.items()}
    lengths = np.array([e.longest for exs in raw.values() for e in exs])
    p99 = int(np.percentile(lengths, 99, method="higher"))
    max_length = min(cfg.max_length or p99, limit)
    if cfg.max_length is not None and cfg.max_length > limit:
        r.note(f"max_length {cfg.max_length} is over the model's limit {limit}: using {limit}")
    encoded: dict[str, list[EncodedPair]] = {}
    data_report: dict[str, Any] = {}
    for name, exs in raw.items():
        over = [e for e in exs if e.longest > max_length]
        kept = [e for e in exs if e.longest <= max_length] if cfg.overlong == "drop" else \
            [truncate_pair(e, max_length) for e in exs]
        # A side with no answer token left says nothing about the preference: never measured.
        empty = [e for e in kept if e.chosen_tokens <= 0 or e.rejected_tokens <= 0]
        kept = [e for e in kept if e.chosen_tokens > 0 and e.rejected_tokens > 0]
        encoded[name] = kept
        data_report[name] = {
            "examples": len(exs), "used": len(kept), "overlong": len(over),
            "dropped": len(exs) - len(kept), "truncated": sum(e.truncated for e in kept),
            "no_answer_tokens": len(empty),
            "tokens": sum(len(e.chosen_ids) + len(e.rejected_ids) for e in kept),
            "answer_tokens": sum(e.chosen_tokens + e.rejected_tokens for e in kept),
            "overlong_examples": [e.example.where for e in over[:20]],
            "formats": splits.formats.get(name, {}),
            "rejected": len(splits.rejected.get(name, [])),
            "rejected_examples": [{"where": b.where, "codes": b.codes, "message": b.message}
                                  for b in splits.rejected.get(name, [])[:100]],
        }
        if over:
            verb = "dropped" if cfg.overlong == "drop" else "truncated (keeping the start)"
            r.note(f"{name}: {len(over)} pair(s) with a side longer than {max_length} tokens {verb}, e.g. "
                   f"{over[0].example.where} (choose with --overlong drop|truncate, or raise --max-length)")
        if empty:
            r.note(f"{name}: {len(empty)} pair(s) left out with no answer token on a side, e.g. {empty[0].example.where}")
        if not kept:
            raise PreflightError(f"{name}: no pair left to train or measure (over max_length {max_length}, "
                                 "or no answer tokens)", fix="raise --max-length or use --overlong truncate")
    r.report["data"] = data_report
    r.report["max_length"] = max_length
    r.report["token_stats"] = {"p50": float(np.percentile(lengths, 50)), "p95": float(np.percentile(lengths, 95)),
                               "p99": p99, "max": int(lengths.max()), "tokenizer": type(tokenizer).__name__,
                               "of": "the longer side of each pair (prompt + answer)"}
    r.console.print(f"[bold]pre-flight[/]: {sum(len(v) for v in encoded.values())} pairs, max_length {max_length} "
                    f"(model limit {limit}); " + ", ".join(f"{n} {len(v)}" for n, v in encoded.items()))
    return encoded


# --- training ------------------------------------------------------------------------------------


def train(r: Run, model: Any, tokenizer: Any, pairs: list[EncodedPair], steps: int,
          beta: float) -> tuple[Any, dict[str, Any]]:
    """TRL's DPOTrainer on the train pairs; returns the trained policy and what the report keeps."""
    import datasets
    from transformers import TrainerCallback
    from transformers.trainer_callback import PrinterCallback, ProgressCallback
    from trl.trainer.dpo_config import DPOConfig
    from trl.trainer.dpo_trainer import DPOTrainer

    datasets.disable_progress_bars()
    # transformers 5 renamed gradient_checkpointing; TRL's config still sets the old name.
    warnings.filterwarnings("ignore", message=".*gradient_checkpointing.* is deprecated.*", category=FutureWarning)

    cfg = r.cfg
    log: list[dict[str, float]] = []

    class _Log(TrainerCallback):  # type: ignore[misc]
        def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, float] | None = None,
                   **kw: Any) -> None:
            if logs and "loss" in logs:
                log.append({k: float(v) for k, v in logs.items() if isinstance(v, (int, float))})
                last = log[-1]
                r.console.print(f"[bold]train[/] step {len(log)}/{steps}  DPO loss {last['loss']:.4f}  "
                                f"batch reward margin {last.get('rewards/margins', math.nan):+.4f}  "
                                f"{time.perf_counter() - start:.0f} s")

    batch_size = min(cfg.batch_size, len(pairs))
    warmup = max(1, round(cfg.warmup_ratio * steps))
    rows = [_trl_row(e.example) for e in pairs]
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="curator-dpo-") as tmp:
        args = DPOConfig(
            output_dir=tmp, max_steps=steps, per_device_train_batch_size=batch_size, gradient_accumulation_steps=1,
            learning_rate=cfg.lr, lr_scheduler_type="linear", warmup_steps=warmup, weight_decay=cfg.weight_decay,
            max_grad_norm=1.0, logging_steps=1, save_strategy="no", eval_strategy="no", report_to="none",
            seed=cfg.seed, data_seed=cfg.seed, beta=beta, loss_type=[LOSS_TYPE], max_length=r.report["max_length"],
            bf16=r.device == "cuda" and r.dtype == torch.bfloat16, fp16=False, use_cpu=r.device == "cpu",
            gradient_checkpointing=r.device == "cuda", optim="paged_adamw_32bit" if r.device == "cuda" else "adamw_torch",
            disable_tqdm=True, dataloader_num_workers=0, dataset_num_proc=None,
        )
        trainer = DPOTrainer(model=model, ref_model=None, args=args, train_dataset=datasets.Dataset.from_list(rows),
                             processing_class=tokenizer, callbacks=[_Log()])
        # stdout is the --json channel: the Trainer's own printing of each log line goes.
        trainer.remove_callback(PrinterCallback)
        trainer.remove_callback(ProgressCallback)
        if r.device == "cuda":
            torch.cuda.reset_peak_memory_stats()
        try:
            trainer.train()
        except torch.cuda.OutOfMemoryError as exc:
            raise WatchdogError(f"out of GPU memory at batch size {batch_size} (max_length {r.report['max_length']})",
                                fix="lower --batch-size or --max-length, keep --quant nf4, or use a smaller model") from exc
        policy = trainer.accelerator.unwrap_model(trainer.model)
    policy.set_adapter("default")
    elapsed = time.perf_counter() - start
    losses = [x["loss"] for x in log]
    result: dict[str, Any] = {
        "steps": len(losses), "planned_steps": steps, "batch_size": batch_size, "warmup_steps": warmup,
        "losses": [x if math.isfinite(x) else None for x in losses],
        "train_reward_margins": [x.get("rewards/margins") for x in log],
        "train_reward_accuracies": [x.get("rewards/accuracies") for x in log],
        "seconds": elapsed, "seconds_per_step": elapsed / max(len(losses), 1),
        "pairs_per_second": len(losses) * batch_size / elapsed if elapsed > 0 else 0.0,
        "peak_memory_mb": peak_memory_mb(r.device), "stopped": None,
    }
    return policy, result


def _trl_row(ex: PreferenceExample) -> dict[str, Any]:
    """The pair as TRL reads it, messages as chat templates expect them (text content). Tools go
    as a JSON string (TRL decodes it), so rows with and without tools fit one Arrow schema."""
    from curator.chat_template import template_messages

    row: dict[str, Any] = {"prompt": template_messages(ex.prompt), "chosen": template_messages(ex.chosen),
                           "rejected": template_messages(ex.rejected)}
    if ex.tools:
        row["tools"] = json.dumps(ex.tools)
    return row


# --- judging and reporting -------------------------------------------------------------------------


def judge(r: Run, training: dict[str, Any], gains: dict[str, Gain]) -> None:
    tr = trend(training["losses"])
    training["trend"] = tr.to_dict()
    r.report["comparison"] = {name: {**g.to_dict(), "unit": "nats of margin change per answer token"}
                              for name, g in gains.items()}
    decision = decide(gains, tr, training["planned_steps"])
    r.report["verdict"] = decision.verdict
    r.report["reasons"] = decision.reasons
    r.report["next_steps"] = decision.next_steps
    if tr.start is not None and not tr.fell:
        r.report["warnings"].append(f"the fitted DPO training loss did not fall ({tr.start:.3f} -> {tr.end:.3f})")


def summarize(rep: dict[str, Any]) -> str:
    """The human summary of a DPO run; its last line is the verdict."""
    m = rep["model"]
    out = [f"method: DPO (beta {rep['dpo']['beta']:g}, {rep['dpo']['trainer']})",
           f"model: {m['spec']} ({m['kind']}, {m['quant']}, {m['device']}, {m['compute_dtype']}, "
           f"chat template: {m['chat_template']})"]
    t = rep.get("training")
    if t:
        out.append(f"training: {t['steps']}/{t['planned_steps']} steps, batch {t['batch_size']} pairs, "
                   f"{t['seconds_per_step']:.2f} s/step, peak memory {t['peak_memory_mb']:,.0f} MiB")
        out.extend(loss_lines(t, "DPO loss"))
    if "baseline" in rep and "tuned" in rep:
        out.append(f"{'':12}{'pairs':>6}{'preference accuracy':>22}{'mean margin (nats)':>24}{'reward margin':>15}")
        for name in ("validation", "holdout"):
            b, a = rep["baseline"][name], rep["tuned"][name]
            out.append(f"{name:12}{b['pairs']:>6}{_f(b['preference_accuracy'], '.3f'):>11}->{_f(a['preference_accuracy'], '.3f'):<9}"
                       f"{_f(b['mean_margin'], '+.3f'):>13}->{_f(a['mean_margin'], '+.3f'):<10}"
                       f"{_f(a.get('reward_margin'), '+.4f'):>14}")
    for name, g in (rep.get("comparison") or {}).items():
        out.append(fmt_gain(name, _gain(g)))
    if rep.get("comparison"):
        out.append(f"  (gain: the change of the margin log p(chosen) - log p(rejected), tuned minus base, per answer "
                   f"token, token-weighted; 95% bootstrap interval over pairs, 10,000 resamples, seed 0; no interval "
                   f"under {MIN_EXAMPLES} pairs; a gain counts from {rep['config']['min_gain']:.0%} of the base "
                   "model's loss per answer token)")
    for w in rep.get("warnings", []):
        out.append(f"warning: {w}")
    for step in rep.get("next_steps", []):
        out.append(f"to decide: {step}")
    why = "; ".join(rep["reasons"]) if rep["reasons"] else \
        "the tuned policy prefers the chosen answers significantly more than the base model on validation and holdout"
    out.append(f"VERDICT: {rep['verdict']}: {why}")
    return "\n".join(out) + "\n"


def _f(x: float | None, spec: str) -> str:
    return "-" if x is None else format(x, spec)


__all__ = ["BETA", "METHOD", "encode_pair", "margin_gain", "run", "summarize"]
