"""The smoke-test recipe, top to bottom: setup, pre-flight, baseline, train, evaluate, save, report.

Read `run` first; every helper below it is one step of it.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import resource
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from curator.io import atomic_write_bytes
from curator.train import models
from curator.train.chat import (
    IGNORE,
    Encoded,
    apply_template,
    dropped_tool_calls,
    encode,
    end_of_turn_ids,
    truncate,
)
from curator.train.config import DEFAULT_STEPS_CPU, DEFAULT_STEPS_GPU, RunPlan, TrainConfig
from curator.train.data import Splits
from curator.train.errors import PreflightError, TrainError, UsageError, WatchdogError
from curator.train.evaluate import (
    Metrics,
    PerExample,
    collate,
    evaluate,
    generate_many,
    prompt_ids,
    token_losses,
)
from curator.train.summary import clock, summarize
from curator.train.verdict import (
    EXIT_CODES,
    FAIL,
    decide,
    degenerate,
    paired_gain,
    trend,
)

REPORT_SCHEMA = "curator.train.report/1"


@dataclass
class Run:
    """What the steps share. Filled as the recipe goes; `report` is what report.json holds."""

    cfg: TrainConfig
    console: Console
    out: Path
    device: str = "cpu"
    dtype: torch.dtype = torch.float32
    notes: list[str] = field(default_factory=list)
    report: dict[str, Any] = field(default_factory=dict)
    plan: RunPlan | None = None  # set by `curator compare`; a lone run has none

    timings: dict[str, float] = field(default_factory=dict)
    _last: float = field(default_factory=time.perf_counter)

    def lap(self, name: str) -> None:
        """Add the seconds since the last lap to `timings[name]` (where a run's time goes)."""
        now = time.perf_counter()
        self.timings[name] = round(self.timings.get(name, 0.0) + now - self._last, 3)
        self._last = now

    def note(self, text: str) -> None:
        self.notes.append(text)
        self.console.print(f"[yellow]note:[/] {escape(text)}")


def run(cfg: TrainConfig, load_splits: Callable[[], Splits], console: Console | None = None,
        notes: list[str] | None = None, show_summary: bool = True,
        plan: RunPlan | None = None) -> tuple[dict[str, Any], int]:
    """Run the smoke test; return (report, exit code: 0 PASS, 1 FAIL). Usage errors raise UsageError.
    `notes` come from the data source (what it left out) and go into the report's notes. `plan`
    comes from `curator compare` (what this run may skip or reuse, and its progress label); a
    lone run passes none and evaluates validation and holdout, base and tuned, itself."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    # bitsandbytes warns at import that an optional CPU inference kernel is missing; curator
    # switches that kernel off anyway (models.keep_4bit_differentiable), so the warning misleads.
    logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(logging.ERROR)
    # Known, harmless deprecation noise from transformers 5 inside peft; everything else shows.
    warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
    r = Run(cfg, console or Console(stderr=True), Path(cfg.out or "run"), plan=plan)
    torch.manual_seed(cfg.seed)
    # The splits the verdict judges: compare judges on the shared holdout, so its runs skip
    # validation unless asked (no evaluation uses the random generator: skipping one changes nothing else).
    judged = ("validation", "holdout") if plan is None or plan.validation else ("holdout",)

    # --- setup ------------------------------------------------------------------------------
    splits = load_splits()
    for text in notes or []:
        r.note(text)
    for name, bad in splits.rejected.items():
        # The same rules as `curator validate` / `import`: a rejected row is never trained.
        r.note(f"{name}: {len(bad)} row(s) rejected by the validation rules, left out: "
               + "; ".join(map(str, bad[:10])) + (" ..." if len(bad) > 10 else ""))
    setup = set_up(r, "training", "the data trains")
    source, tokenizer, limit, steps, quant = setup.source, setup.tokenizer, setup.limit, setup.steps, setup.quant
    if plan is not None:
        # What this compare run evaluates, skips and reuses (a lone run's report has no such key).
        r.report["evaluation"] = {
            "splits": list(judged),
            "skipped": [] if plan.validation else [
                "validation (base and tuned): compare judges on the shared holdout; --validation evaluates it"],
            "baseline_shared": plan.baseline is not None,
            "baseline": {},
            "base_model_examples_evaluated": 0,
        }

    try:
        r.lap("setup")
        # --- pre-flight ---------------------------------------------------------------------
        encoded, _ = preflight(r, tokenizer, splits, limit)

        # --- model ---------------------------------------------------------------------------
        r.lap("preflight")
        base = models.load_model(source, quant, r.device, r.dtype)
        model = models.add_lora(base, quant, r.device, cfg.lora_r, cfg.lora_alpha, cfg.lora_dropout, cfg.target_modules)
        pad_id = int(tokenizer.pad_token_id)

        # --- baseline: LoRA starts as the identity (B = 0), so this is the base model ---------
        r.console.print("[bold]baseline[/] (base model, before any step)")
        r.lap("model_load")
        base_eval = {name: evaluate_baseline(r, setup, model, encoded[name], name, pad_id) for name in judged}
        baseline = {name: m for name, (m, _) in base_eval.items()}
        samples = encoded["holdout"][: cfg.generate]
        prompts = [prompt_ids(tokenizer, e) for e in samples]
        r.lap("evaluate")
        before = generate_many(model, tokenizer, [ids for ids, _ in prompts], cfg.max_new_tokens, r.device)
        r.lap("generate")
        r.report["baseline"] = {k: _json_metrics(v) for k, v in baseline.items()}
        if not all(math.isfinite(m.loss) for m in baseline.values()):
            raise WatchdogError("the base model's loss is NaN/Inf before any step: the checkpoint holds broken "
                                "weights, or the compute dtype overflows",
                                fix="check the model with a plain forward pass; on a GPU without bf16, fp32 is used")

        # --- train ----------------------------------------------------------------------------
        training = train(r, model, encoded["train"], steps, pad_id)
        r.lap("train")
        r.report["training"] = training

        # --- evaluate ------------------------------------------------------------------------
        # The train split only with --rank-train: on a CPU it is the slowest part of a run.
        ranked = (*judged, "train") if cfg.rank_train else judged
        if plan is not None:
            r.console.print(f"[bold]{escape(plan.label)}[/]: evaluating the tuned model on "
                            + ", ".join(f"{name} ({len(encoded[name])} examples)" for name in ranked))
        tuned_eval = {name: evaluate(model, encoded[name], cfg.eval_batch_size, pad_id, r.device) for name in ranked}
        tuned = {name: m for name, (m, _) in tuned_eval.items()}
        r.report["tuned"] = {k: _json_metrics(tuned[k]) for k in judged}
        r.report["tuned_train"] = _json_metrics(tuned["train"]) if "train" in tuned else None
        r.report["per_example"] = {
            name: {"where": [e.example.where for e in encoded[name]], "tokens": base_eval[name][1].tokens,
                   "baseline_loss_sum": base_eval[name][1].loss_sums,
                   "tuned_loss_sum": tuned_eval[name][1].loss_sums}
            for name in judged}
        r.lap("evaluate")
        after = generate_many(model, tokenizer, [ids for ids, _ in prompts], cfg.max_new_tokens, r.device)
        r.lap("generate")
        r.report["generations"] = [
            {"source": e.example.where, "prompt": tokenizer.decode(ids, skip_special_tokens=False),
             "reference": ref, "before": b, "after": a,
             "degenerate_before": degenerate(b), "degenerate_after": degenerate(a)}
            for e, (ids, ref), b, a in zip(samples, prompts, before, after, strict=True)]
        # The review queue never ranks holdout: labelling the test set on the tuned model's loss
        # invites editing it, and then it no longer measures anything.
        r.report["review_queue"] = write_review_queue(
            r, encoded, {name: per.means() for name, (_, per) in tuned_eval.items() if name != "holdout"})

        # --- save ------------------------------------------------------------------------------
        r.report["adapter"] = str(save_adapter(model, tokenizer, r.out / "adapter"))
        r.lap("save")
        judge(r, training, {name: (base_eval[name][1], tuned_eval[name][1]) for name in judged})
    except (PreflightError, WatchdogError) as exc:
        stopped(r, exc)

    # --- report ------------------------------------------------------------------------------
    return write_report(r, summarize, show_summary)


def evaluate_baseline(r: Run, setup: Setup, model: Any, encs: list[Encoded], split: str,
                      pad_id: int) -> tuple[Metrics, PerExample]:
    """The base model (LoRA still the identity) on one split. In a compare (`RunPlan.baseline`),
    the holdout is evaluated by the first run and reused by the others: the key holds everything
    the losses depend on (the model as loaded, the evaluation batch size, and every example's
    tokens and labels in order, which fix the batches), so a hit is what this run would compute."""
    cfg, plan = r.cfg, r.plan
    store = plan.baseline if plan is not None and split == "holdout" else None
    key = (setup.source.path, setup.quant, r.device, str(r.dtype), cfg.eval_batch_size,
           tuple((tuple(e.input_ids), tuple(e.labels)) for e in encs)) if store is not None else None
    if store is not None and key in store:
        metrics, per, origin = store[key]
        r.report["evaluation"]["baseline"][split] = {"evaluated": False, "from": origin, "examples": len(encs)}
        r.console.print(f"  base model on {split}: {len(encs)} examples reused from {escape(origin)} "
                        "(evaluated once per compare)")
        return metrics, PerExample(list(per.loss_sums), list(per.tokens))
    if plan is not None:
        r.console.print(f"  base model on {split}: evaluating {len(encs)} examples"
                        + (" (the later runs of this compare reuse them)" if store is not None else ""))
    result = evaluate(model, encs, cfg.eval_batch_size, pad_id, r.device)
    if plan is not None:
        r.report["evaluation"]["baseline"][split] = {"evaluated": True, "from": str(r.out), "examples": len(encs)}
        r.report["evaluation"]["base_model_examples_evaluated"] += len(encs)
    if store is not None:
        store[key] = (result[0], PerExample(list(result[1].loss_sums), list(result[1].tokens)), str(r.out))
    return result


def stopped(r: Run, exc: PreflightError | WatchdogError) -> None:
    """A pre-flight check or the watchdog stopped the run: FAIL, with the reason."""
    r.report["reasons"] = [f"{'pre-flight' if isinstance(exc, PreflightError) else 'stopped'}: {exc}"]
    r.report["verdict"] = FAIL
    r.console.print(f"[red bold]{escape(str(exc))}[/]")


def write_report(r: Run, summarize_report: Callable[[dict[str, Any]], str],
                 show_summary: bool) -> tuple[dict[str, Any], int]:
    """Write report.json and summary.txt into the run folder (SFT and DPO alike); print the
    summary when asked; return (report, exit code of its verdict)."""
    r.report["notes"] = r.notes
    r.report["timings"] = r.timings
    atomic_write_bytes(r.out / "report.json", (json.dumps(r.report, indent=2, allow_nan=False, default=_finite) + "\n").encode())
    summary = summarize_report(r.report)
    atomic_write_bytes(r.out / "summary.txt", summary.encode())
    if show_summary:
        Console(highlight=False, soft_wrap=True).print(Text(summary))
    return r.report, EXIT_CODES[r.report["verdict"]]


@dataclass(frozen=True)
class Setup:
    """What the setup found: the model, its tokenizer and context limit, the steps and the
    quantisation to train with."""

    source: models.ModelSource
    tokenizer: Any
    limit: int
    steps: int
    quant: str


def set_up(r: Run, training: str, checks: str, method: str | None = None) -> Setup:
    """The setup SFT and DPO share, before anything heavy loads: device, model and tokenizer,
    the chat template, the context limit, steps, quantisation and threads; the run folder; the
    CPU note ("no GPU: {training} on the CPU ... this checks that {checks}"); the report's
    schema, model, config and machine (and `method` after the schema when given)."""
    cfg = r.cfg
    r.device = models.pick_device(cfg.device)
    r.dtype = models.compute_dtype(r.device)
    source = models.resolve_model(cfg.model)
    tokenizer = models.load_tokenizer(source)
    template_source = choose_template(r, tokenizer)
    # A template that cannot render the plainest exchange (a syntax error, a sandbox refusal) stops
    # here, in one line, before anything loads.
    apply_template(tokenizer, [{"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Hi"}],
                   f"the chat template ({template_source})", tokenize=False)
    limit = model_limit(source, tokenizer)
    steps = cfg.steps or (DEFAULT_STEPS_GPU if r.device == "cuda" else DEFAULT_STEPS_CPU)
    quant, quant_reason = models.pick_quant(cfg.quant, r.device)
    machine = set_threads(r)
    r.out.mkdir(parents=True, exist_ok=True)  # after every usage check: a usage error leaves no run folder
    if r.device == "cpu":
        r.note(f"no GPU: {training} on the CPU, {steps} steps, "
               + ("4-bit NF4 with float32 compute" if quant == "nf4" else "plain LoRA in float32")
               + f"; this checks that {checks}, it is not a real tune")
    r.report.update({"schema": REPORT_SCHEMA, **({"method": method} if method is not None else {})})
    r.report.update({
        "verdict": FAIL, "reasons": [], "next_steps": [], "warnings": [],
        "model": {"spec": source.spec, "kind": source.kind, "path": source.path, "quant": quant, "quant_reason": quant_reason,
                  "device": r.device, "compute_dtype": str(r.dtype).removeprefix("torch."),
                  "chat_template": template_source, "context_limit": limit},
        "config": cfg.to_dict(), "machine": machine,
    })
    return Setup(source, tokenizer, limit, steps, quant)


def _json_metrics(m: Metrics) -> dict[str, Any]:
    """JSON has no NaN or Infinity: non-finite values become null."""
    return {k: (v if not isinstance(v, float) or math.isfinite(v) else None) for k, v in m.to_dict().items()}


def _finite(x: Any) -> Any:
    raise TypeError(f"not JSON: {x!r}")


# --- setup helpers -------------------------------------------------------------------------------


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity), not every core of the machine."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def set_threads(r: Run) -> dict[str, Any]:
    """torch's threads: `threads` when set; else OMP_NUM_THREADS when the user set it; else every
    usable core, or one when the machine is oversubscribed (load average over the usable cores:
    threads then wait at every parallel region for a descheduled sibling; measured on 2 busy
    cores, 107 s a step with 2 threads and 13.5 s with 1, docs/train.md)."""
    cores = usable_cores()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    if r.cfg.threads is not None:
        threads, why = r.cfg.threads, "set by threads"
    elif os.environ.get("OMP_NUM_THREADS"):
        threads, why = torch.get_num_threads(), "OMP_NUM_THREADS"
    elif load > cores and cores > 1:
        threads, why = 1, f"the machine is busy (load {load:.1f} on {cores} usable cores)"
        r.note(f"{why}: training with 1 thread, which is faster than {cores} threads waiting on each other; "
               "set --threads to override")
    else:
        threads, why = cores, "every usable core"
    torch.set_num_threads(threads)
    return {"usable_cores": cores, "load_average": round(load, 2), "threads": threads, "threads_reason": why}


def choose_template(r: Run, tokenizer: Any) -> str:
    """Use the model's chat template; a fallback only when it has none, and say so."""
    choice = r.cfg.chat_template
    if choice not in ("auto", "fallback"):
        p = Path(choice)
        if not p.is_file():
            raise UsageError(f"--chat-template {p}: no such file", fix="pass a .jinja file, `auto` or `fallback`")
        tokenizer.chat_template = p.read_text(encoding="utf-8")
        return f"file:{p}"
    if choice == "auto" and tokenizer.chat_template:
        return "model"
    if tokenizer.eos_token is None:
        raise UsageError("the model has no chat template and no EOS token, so curator's fallback cannot end a turn",
                         fix="pass --chat-template FILE")
    if choice == "auto":
        r.note("the model has no chat template: using curator's fallback (<|im_start|>role ... EOS); "
               "it is saved with the adapter, and prompts must use it at inference")
    tokenizer.chat_template = models.FALLBACK_CHAT_TEMPLATE
    return "fallback"


def model_limit(source: models.ModelSource, tokenizer: Any) -> int:
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(source.path)
    except OSError as exc:
        raise models.hub_error(source, exc) if source.kind == "hub" else UsageError(f"{source.path}: {exc}") from exc
    limits = [int(getattr(config, "max_position_embeddings", 0) or 0)]
    if 0 < int(getattr(tokenizer, "model_max_length", 0) or 0) < 10_000_000:
        limits.append(int(tokenizer.model_max_length))
    return min(x for x in limits if x > 0) if any(x > 0 for x in limits) else 2048


# --- pre-flight ----------------------------------------------------------------------------------


def ensure_pad_token(r: Run, tokenizer: Any) -> None:
    """Pad with EOS when the tokenizer has no pad token (and say so); stop when it has neither."""
    if tokenizer.pad_token_id is None:
        if tokenizer.eos_token_id is None:
            raise PreflightError("the tokenizer has neither a pad token nor an EOS token to pad with",
                                 fix="use a model whose tokenizer defines EOS (every chat model does)")
        tokenizer.pad_token = tokenizer.eos_token
        r.note(f"the tokenizer has no pad token: padding with EOS {tokenizer.eos_token!r}")


def preflight(r: Run, tokenizer: Any, splits: Splits, limit: int) -> tuple[dict[str, list[Encoded]], int]:
    """Encode every example and stop before any step if the data would train wrongly."""
    cfg = r.cfg
    ensure_pad_token(r, tokenizer)
    ends = end_of_turn_ids(tokenizer)
    if tokenizer.pad_token_id in ends:
        r.note(f"pad token {tokenizer.pad_token!r} is also an end-of-turn token: labels come from the "
               "assistant mask, not the attention mask, so it stays trained")

    dropped = [(ex, turns) for _, exs in splits.items() for ex in exs if (turns := dropped_tool_calls(tokenizer, ex))]
    if dropped:
        where = ", ".join(f"{ex.where} (message {turns[0]})" for ex, turns in dropped[:5]) + (" ..." if len(dropped) > 5 else "")
        raise PreflightError(
            f"the chat template drops tool calls: {len(dropped)} example(s) have assistant turns whose tool_calls "
            f"it does not render, so they would train an empty answer: {where}",
            fix="pass --chat-template FILE with a template that renders tool_calls (the model's tool-use format), "
                "or leave the tool-call examples out of this run")
    raw = {name: [encode(tokenizer, ex) for ex in exs] for name, exs in splits.items()}
    lengths = np.array([len(e.input_ids) for exs in raw.values() for e in exs])
    # Nearest-rank p99 (a length some example really has): below 100 examples it is the longest,
    # so a small set loses nothing by default; the interpolated p99 would always drop one.
    p99 = int(np.percentile(lengths, 99, method="higher"))
    if cfg.max_length is None:
        max_length = min(p99, limit)
    else:
        max_length = min(cfg.max_length, limit)
        if cfg.max_length > limit:
            r.note(f"max_length {cfg.max_length} is over the model's limit {limit}: using {limit}")

    encoded: dict[str, list[Encoded]] = {}
    data_report: dict[str, Any] = {}
    for name, exs in raw.items():
        over = [e for e in exs if len(e.input_ids) > max_length]
        if cfg.overlong == "drop":
            kept = [e for e in exs if len(e.input_ids) <= max_length]
        else:
            kept = [truncate(e, max_length) for e in exs]
        encoded[name] = kept
        data_report[name] = {
            "examples": len(exs), "used": len(kept),
            "overlong": len(over), "dropped": len(exs) - len(kept),
            "truncated": sum(e.truncated for e in kept),
            "tokens": sum(len(e.input_ids) for e in kept),
            "trained_tokens": sum(e.n_trained for e in kept),
            "overlong_examples": [e.example.where for e in over[:20]],
            "rejected": len(splits.rejected.get(name, [])),
            "rejected_examples": [{"where": b.where, "codes": b.codes, "message": b.message}
                                  for b in splits.rejected.get(name, [])[:100]],
        }
        if over:
            verb = "dropped" if cfg.overlong == "drop" else "truncated (keeping the start)"
            r.note(f"{name}: {len(over)} example(s) longer than {max_length} tokens {verb}, e.g. {over[0].example.where}"
                   " (choose with --overlong drop|truncate, or raise --max-length)")
        if not kept:
            raise PreflightError(f"{name}: every example is longer than max_length {max_length}",
                                 fix="raise --max-length or use --overlong truncate")
    r.report["data"] = data_report
    r.report["max_length"] = max_length
    r.report["token_stats"] = {"p50": float(np.percentile(lengths, 50)), "p95": float(np.percentile(lengths, 95)),
                               "p99": p99, "max": int(lengths.max()),
                               "tokenizer": type(tokenizer).__name__}

    show_example(r, tokenizer, encoded["train"][0])
    show_stats(r, data_report, max_length, limit)

    zero = [e for exs in encoded.values() for e in exs if e.n_trained == 0]
    if zero:
        where = ", ".join(e.example.where for e in zero[:5]) + (" ..." if len(zero) > 5 else "")
        raise PreflightError(f"{len(zero)} example(s) have no trained token: {where}",
                             fix="give each example an assistant turn with weight 1 (or truncation cut it off: "
                                 "raise --max-length or use --overlong drop)")
    bos = tokenizer.bos_token_id
    if bos is not None:
        double = [e for exs in encoded.values() for e in exs if e.input_ids[:2] == [bos, bos]]
        if double:
            raise PreflightError(f"double BOS: {double[0].example.where} starts with {tokenizer.bos_token!r} twice",
                                 fix="the chat template already writes BOS; remove the second one from the template")
    check_collated(tokenizer, encoded["train"][: cfg.batch_size])
    trained_ends = sum(1 for e in encoded["train"] for x in e.labels if x in ends)
    r.report["trained_end_of_turn_tokens"] = trained_ends
    if trained_ends == 0:
        r.note("no end-of-turn token is trained in the train split: the model may not learn to stop")
    return encoded, max_length


def check_collated(tokenizer: Any, batch: list[Encoded]) -> None:
    """A padded batch must train exactly the tokens each example marks, EOS included. Padding
    labelled from the attention mask (or by pad id) would drop every EOS when pad == EOS, and the
    tuned model would never learn to stop."""
    pad = int(tokenizer.pad_token_id)
    labels = collate(batch, pad, "cpu")["labels"]
    for row, e in enumerate(batch):
        got = labels[row, : len(e.labels)].tolist()
        if got != e.labels or int((labels[row, len(e.labels):] != IGNORE).sum()):
            raise PreflightError(f"{e.example.where}: the padded batch does not train the tokens the example marks "
                                 f"(pad token {tokenizer.pad_token!r})",
                                 fix="labels must come from the assistant mask, never from the pad id or attention mask")


def show_example(r: Run, tokenizer: Any, enc: Encoded) -> None:
    """One rendered example; trained tokens bold green, the rest dim. Data is shown literally."""
    # Without colour (a pipe, a log file) the styles vanish, so mark trained spans with brackets.
    plain = r.console.no_color or not r.console.is_terminal
    text = Text()
    j = 0
    while j < len(enc.input_ids):
        trained = enc.labels[j] != IGNORE
        k = j
        while k < len(enc.input_ids) and (enc.labels[k] != IGNORE) == trained:
            k += 1
        piece = tokenizer.decode(enc.input_ids[j:k])
        if plain and trained:
            piece = f"⟦{piece}⟧"
        text.append(piece, style="bold green" if trained else "dim")
        j = k
    legend = "⟦trained⟧, the rest not trained" if plain else "[bold green]trained[/], [dim]not trained[/]"
    r.console.print(f"[bold]pre-flight[/]: {escape(enc.example.where)} as the model sees it ({legend}):")
    r.console.print(text)


def show_stats(r: Run, data: dict[str, Any], max_length: int, limit: int) -> None:
    t = Table(title=f"tokens (model's tokenizer), max_length {max_length} (model limit {limit})", title_justify="left")
    for col in ("split", "examples", "used", "tokens", "trained", "over max_length"):
        t.add_column(col, justify="right" if col != "split" else "left")
    for name, d in data.items():
        t.add_row(name, str(d["examples"]), str(d["used"]), str(d["tokens"]), str(d["trained_tokens"]), str(d["overlong"]))
    r.console.print(t)


# --- training ------------------------------------------------------------------------------------


def peak_memory_mb(device: str) -> float:
    if device == "cuda":
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def make_optimizer(r: Run, model: Any) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if r.device == "cuda":
        import bitsandbytes as bnb

        # Paged optimizer states move to host memory under pressure instead of failing.
        opt: torch.optim.Optimizer = bnb.optim.PagedAdamW32bit(  # type: ignore[attr-defined,no-untyped-call]
           params, lr=r.cfg.lr, weight_decay=r.cfg.weight_decay)
        return opt
    return torch.optim.AdamW(params, lr=r.cfg.lr, weight_decay=r.cfg.weight_decay)


def schedule(step: int, steps: int, warmup: int) -> float:
    """Linear warmup, then linear decay to a tenth of the peak."""
    if step < warmup:
        return (step + 1) / warmup
    return 1.0 - 0.9 * (step - warmup) / max(steps - warmup, 1)


def train(r: Run, model: Any, data: list[Encoded], steps: int, pad_id: int) -> dict[str, Any]:
    cfg = r.cfg
    optimizer = make_optimizer(r, model)
    warmup = max(1, round(cfg.warmup_ratio * steps))
    sched = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: schedule(s, steps, warmup))
    rng = random.Random(cfg.seed)
    batch_size = min(cfg.batch_size, len(data))
    order: list[Encoded] = []
    losses: list[float] = []
    seen_tokens = 0
    oom_retried = False
    model.train()
    if r.device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    # In a compare, the bar names the run and shows the time left; without a terminal (a log
    # file), where a bar only shows when it ends, a plain line says the same (see `say_step`).
    label = r.plan.label if r.plan is not None else None
    progress = Progress(TextColumn("[bold]train[/]" if label is None else "[bold]train[/] {task.description}"),
                        BarColumn(), MofNCompleteColumn(),
                        TextColumn("loss {task.fields[loss]}"), TextColumn("{task.fields[tps]} tok/s"),
                        TextColumn("peak {task.fields[mem]} MiB"), TimeElapsedColumn(),
                        *([TimeRemainingColumn()] if label is not None else []),
                        console=r.console, transient=False)
    start = time.perf_counter()
    said = -math.inf
    stopped: str | None = None
    with progress:
        task = progress.add_task("train" if label is None else escape(label), total=steps, loss="-", tps="-", mem="-")
        step = 0
        while step < steps:
            if len(order) < batch_size:
                fresh = list(data)
                rng.shuffle(fresh)
                order += fresh
            batch, rest = order[:batch_size], order[batch_size:]
            try:
                loss = train_step(model, optimizer, collate(batch, pad_id, r.device))
            except torch.cuda.OutOfMemoryError as exc:
                optimizer.zero_grad(set_to_none=True)
                torch.cuda.empty_cache()
                if oom_retried or batch_size == 1:
                    raise WatchdogError(
                        f"out of GPU memory at batch size {batch_size} (max_length {r.report['max_length']})",
                        fix="lower --batch-size or --max-length, keep --quant nf4, or use a smaller model") from exc
                oom_retried = True
                batch_size //= 2
                r.note(f"out of GPU memory: halving the batch to {batch_size} and retrying step {step + 1}")
                continue
            order = rest
            sched.step()
            seen_tokens += sum(len(e.input_ids) for e in batch)
            if not math.isfinite(loss):
                stopped = (f"the loss became {loss} at step {step + 1}: the numbers overflowed. Usual causes: a "
                           f"learning rate too high (lr {cfg.lr:g}), or fp16 compute; try --lr {cfg.lr / 10:g}")
            elif losses and loss > cfg.explode_factor * losses[0]:
                stopped = (f"the loss exploded at step {step + 1}: {loss:.3f}, over {cfg.explode_factor:g}x the "
                           f"first step's {losses[0]:.3f}. The learning rate is likely too high (lr {cfg.lr:g}); "
                           f"try --lr {cfg.lr / 10:g}")
            losses.append(loss)
            step += 1
            elapsed = time.perf_counter() - start
            progress.update(task, advance=1, loss=f"{loss:.3f}", tps=f"{seen_tokens / elapsed:,.0f}",
                            mem=f"{peak_memory_mb(r.device):,.0f}")
            if label is not None and not r.console.is_terminal and (step in (1, steps) or elapsed - said >= 10):
                said = elapsed
                say_step(r, label, step, steps, loss, elapsed)
            if stopped:
                break
    elapsed = time.perf_counter() - start
    result = {
        "steps": len(losses), "planned_steps": steps, "batch_size": batch_size, "warmup_steps": warmup,
        "losses": [x if math.isfinite(x) else None for x in losses],
        "seconds": elapsed, "seconds_per_step": elapsed / max(len(losses), 1),
        "tokens_per_second": seen_tokens / elapsed if elapsed > 0 else 0.0,
        "peak_memory_mb": peak_memory_mb(r.device), "stopped": stopped,
    }
    if stopped:
        r.report["training"] = result
        raise WatchdogError(stopped)
    return result


def say_step(r: Run, label: str, step: int, steps: int, loss: float, elapsed: float) -> None:
    """One plain progress line (first step, last step, and every 10 s between): which run, which
    step, and when its training ends at the pace so far."""
    pace = elapsed / step
    r.console.print(f"{escape(label)}: step {step}/{steps}, loss {loss:.3f}, {pace:.1f} s/step, "
                    f"training done in about {clock(pace * (steps - step))}", highlight=False)


def train_step(model: Any, optimizer: torch.optim.Optimizer, batch: dict[str, torch.Tensor]) -> float:
    """One optimizer step; the loss is the mean over the batch's trained tokens."""
    loss_tok, mask, _ = token_losses(model, batch)
    loss = loss_tok.sum() / mask.sum().clamp(min=1)
    if not torch.isfinite(loss):
        optimizer.zero_grad(set_to_none=True)
        return float(loss.detach())
    loss.backward()  # type: ignore[no-untyped-call]
    grad_norm = torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0)
    if not torch.isfinite(grad_norm):
        optimizer.zero_grad(set_to_none=True)
        return math.inf
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return float(loss.detach())


def save_adapter(model: Any, tokenizer: Any, adapter_dir: Path) -> Path:
    """The LoRA weights and the tokenizer: the chat template the run trained with travels along."""
    model.save_pretrained(adapter_dir)
    tokenizer.save_pretrained(adapter_dir)
    return adapter_dir


# --- judging and reporting -------------------------------------------------------------------------


def loss_fell(losses: list[float]) -> bool:
    """The fitted line through the per-step losses ends below where it starts (batch noise does
    not decide it; see verdict.trend)."""
    return trend(losses).fell


def judge(r: Run, training: dict[str, Any], paired: dict[str, tuple[PerExample, PerExample]]) -> None:
    """The verdict from the paired per-example comparison (see curator.train.verdict)."""
    gains = {name: paired_gain(b.loss_sums, t.loss_sums, b.tokens, min_gain=r.cfg.min_gain)
             for name, (b, t) in paired.items()}
    tr = trend(training["losses"])
    training["trend"] = tr.to_dict()
    r.report["comparison"] = {name: g.to_dict() for name, g in gains.items()}
    decision = decide(gains, tr, training["planned_steps"])
    r.report["verdict"] = decision.verdict
    r.report["reasons"] = decision.reasons
    r.report["next_steps"] = decision.next_steps
    if tr.start is not None and not tr.fell:
        r.report["warnings"].append(f"the fitted training loss did not fall ({tr.start:.3f} -> {tr.end:.3f})")
    for g in r.report.get("generations", []):
        if g["degenerate_after"]:
            r.report["warnings"].append(f"the tuned model's generation for {g['source']} looks like a repetition "
                                        f"loop: it {g['degenerate_after']}")


def write_review_queue(r: Run, encoded: dict[str, list[Encoded]], per_example: dict[str, list[float]]) -> dict[str, Any]:
    """The examples the tuned model finds hardest, highest loss first: often the mislabelled ones.
    Only train (with --rank-train) and validation: the holdout is never ranked, so never labelled."""
    rows = [(loss, name, e) for name in ("train", "validation") if name in per_example
            for e, loss in zip(encoded[name], per_example[name], strict=True)]
    rows.sort(key=lambda x: -x[0])
    lines = []
    for rank, (loss, name, e) in enumerate(rows[: r.cfg.review_top_k], start=1):
        lines.append(json.dumps({
            "rank": rank, "split": name, "record_id": e.example.record_id,
            "source": e.example.source, "line": e.example.line,
            "example_index": e.example.example_index, "loss": round(loss, 6), "trained_tokens": e.n_trained,
            "example": e.example.chat.model_dump(exclude_none=True)}, ensure_ascii=False))
    path = r.out / "review_queue.jsonl"
    atomic_write_bytes(path, ("\n".join(lines) + "\n" if lines else "").encode())
    return {"path": str(path), "count": len(lines)}


__all__ = ["REPORT_SCHEMA", "TrainError", "loss_fell", "run", "summarize"]
