"""Scoring each record's answer under a language model (`curator score`).

For the last assistant turn of a chat record, with the tokens the trainer would train for it
(curator/train/chat.py, the same spans):

* `loss_prompted`: the answer's mean loss (nats per token) given everything before it;
* `loss_alone`: the same answer tokens' mean loss after only the assistant header the template
  writes to open an answer (the generation prompt, `<|im_start|>assistant\n` in ChatML), i.e.
  without the prompt (no system prompt, no user turn);
* `ifd`: their ratio, the instruction-following difficulty of Li et al. 2023 ("From Quantity to
  Quality"): near or above 1 when the prompt does not help predict the answer (a wrong or
  swapped answer), low when it does;
* `end_prob`: the probability of the template's end-of-turn token right after the last answer
  token, given the prompt: how much the model agrees that the answer ends there (low for an
  answer cut mid-sentence).

The end-of-turn token is not counted in either loss. Sequences are batched by length (padding
costs compute), no gradients, float32 on a CPU with torch's threads on every usable core, bf16
on a GPU that has it. Only the answer positions go through the output layer, in chunks, so the
memory does not grow with the vocabulary times the batch.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import torch
from pydantic import ValidationError

from curator.schema import AssistantMessage, ChatExample
from curator.train import models
from curator.train.chat import IGNORE, apply_template, encode, end_of_turn_ids
from curator.train.data import Example
from curator.train.errors import PreflightError, UsageError
from curator.workspace import Workspace
from curator.workspace import scores as store
from curator.workspace.scores import ScoreRow

#: padded tokens a forward batch may hold, and sequences a batch (a record has two); a GPU takes
#: far more at once (the CLI's defaults by device).
BATCH_TOKENS = 8192
BATCH_RECORDS = 32
GPU_BATCH_TOKENS = 131072
GPU_BATCH_RECORDS = 1024
#: records read, encoded and sorted by length at once. Small on a CPU: a record is stored once both
#: its sequences are done, and the short ones of a window go first, so a big window would hold
#: back the first store (and the progress bar) for minutes. Large on a GPU, for full buckets.
WINDOW = 64
GPU_WINDOW = 16384
#: a bucket pads no sequence by more than this share of its shortest one's length.
PAD_SLACK = 0.1
#: answer positions that go through the output layer at once (N x vocabulary floats).
HEAD_CHUNK = 1024


@dataclass(slots=True)
class Item:
    """One record ready to score: the prompted sequence and the answer-alone sequence."""

    record_id: int
    content_hash: str
    prompted: list[int]
    answer_start: int  # first answer token in `prompted`
    answer_stop: int  # one past the last answer token (the end-of-turn token, if any, is here)
    end_id: int | None  # the end-of-turn token the template writes after the answer
    alone: list[int]  # header + answer tokens
    alone_start: int

    @property
    def answer_tokens(self) -> int:
        return self.answer_stop - self.answer_start

    @property
    def tokens(self) -> int:
        return len(self.prompted) + len(self.alone)


@dataclass(frozen=True, slots=True)
class Seq:
    """One of a record's two sequences: with the prompt (`prompted`) or the answer alone."""

    item: Item
    prompted: bool

    @property
    def ids(self) -> list[int]:
        return self.item.prompted if self.prompted else self.item.alone

    @property
    def span(self) -> tuple[int, int]:
        """The positions whose tokens are scored: the answer, and with the prompt its end token."""
        it = self.item
        if self.prompted:
            return it.answer_start, it.answer_stop + (1 if it.end_id is not None else 0)
        return it.alone_start, len(it.alone)


@dataclass
class Progress:
    records: int = 0  # scored (numbers or a note)
    tokens: int = 0  # real tokens through the model (both sequences)
    seconds: float = 0.0  # spent in the model
    unscored: dict[str, list[int]] = field(default_factory=dict)  # note -> record ids


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity), not every core of the machine."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def pick_threads(threads: int | None) -> tuple[int, str]:
    """torch's threads and why, as the trainer picks them (curator/train/recipe.py set_threads):
    `threads` when given; else OMP_NUM_THREADS when the user set it; else every usable core, or
    one when the machine is busier than its cores (threads then wait for a descheduled sibling at
    every layer: measured here at load 9 on 2 cores, a SmolLM2 forward pass ran 135 tokens/s on
    one thread and 24 on two)."""
    cores = usable_cores()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    if threads is not None:
        return threads, "set by --threads"
    if os.environ.get("OMP_NUM_THREADS"):
        return torch.get_num_threads(), "OMP_NUM_THREADS"
    if load > cores > 1:
        return 1, f"the machine is busy (load {load:.1f} on {cores} usable cores); --threads overrides"
    return cores, "every usable core"


def quiet_libraries() -> None:
    """transformers' progress bars and info lines off (call before resolving the model: building
    `tiny` or converting a GGUF file draws bars otherwise)."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(logging.ERROR)


class Scorer:
    """A model and its tokenizer, loaded once, that turns records into ScoreRows."""

    def __init__(self, source: models.ModelSource, device: str = "auto", threads: int | None = None) -> None:
        quiet_libraries()
        self.device = models.pick_device(device)
        self.dtype = models.compute_dtype(self.device)
        self.threads, self.threads_reason = pick_threads(threads)
        torch.set_num_threads(self.threads)
        self.source = source
        self.name = self.source.spec
        self.tokenizer = models.load_tokenizer(self.source)
        if not self.tokenizer.chat_template:
            if self.tokenizer.eos_token is None:
                raise UsageError(f"--model {self.name}: no chat template and no EOS token, so an answer cannot end")
            self.tokenizer.chat_template = models.FALLBACK_CHAT_TEMPLATE
        apply_template(self.tokenizer, [{"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Hi"}],
                       "the chat template", tokenize=False)
        self.limit = _context_limit(self.source, self.tokenizer)
        self.model = models.load_model(self.source, "none", self.device, self.dtype)
        self.model.eval()
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.tokenizer.eos_token_id
        self.pad_id = int(pad if pad is not None else 0)
        self.ends = end_of_turn_ids(self.tokenizer)
        self.header = self._header()

    def _header(self) -> list[int]:
        """The tokens before an answer without a prompt: the generation prompt alone (what the
        template adds after a conversation to start an assistant turn, `<|im_start|>assistant\n`
        in ChatML), found as the difference of one rendering with and without it. transformers
        renders no empty conversation, and a template's default system prompt is left out.
        When there is no such difference, the BOS (else EOS) token."""
        probe = [{"role": "user", "content": "?"}]
        try:
            bare = str(apply_template(self.tokenizer, probe, "a one-message conversation", tokenize=False))
            opened = str(apply_template(self.tokenizer, probe, "a one-message conversation", tokenize=False,
                                        add_generation_prompt=True))
        except UsageError:
            bare = opened = ""
        suffix = opened[len(bare):] if opened.startswith(bare) else ""
        ids = list(self.tokenizer(suffix, add_special_tokens=False)["input_ids"]) if suffix else []
        if not ids:
            first = self.tokenizer.bos_token_id if self.tokenizer.bos_token_id is not None else self.tokenizer.eos_token_id
            ids = [int(first if first is not None else self.pad_id)]
        return ids

    # -- records -> items ------------------------------------------------------------------------

    def prepare(self, record_id: int, text: str, digest: str) -> Item | ScoreRow:
        """The sequences to score for a record, or a ScoreRow whose note says why there are none."""

        def unscored(note: str, answer_tokens: int = 0) -> ScoreRow:
            return ScoreRow(record_id, self.name, digest, None, None, None, None, answer_tokens, note)

        try:
            chat = ChatExample.model_validate(orjson.loads(text))
        except (orjson.JSONDecodeError, ValidationError, TypeError):
            return unscored("not a chat example")
        turns = [i for i, m in enumerate(chat.messages) if isinstance(m, AssistantMessage)]
        if not turns:
            return unscored("no assistant message")
        last = turns[-1]
        # Only the last answer is scored: every assistant turn but it gets weight 0, it weight 1,
        # so the trainer's own span finder (chat.encode) gives exactly its tokens.
        messages = [m.model_copy(update={"weight": 1 if i == last else 0}) if i in turns else m
                    for i, m in enumerate(chat.messages)]
        scored = chat.model_copy(update={"messages": messages})
        try:
            enc = encode(self.tokenizer, Example(scored, "workspace", None, 0, record_id=record_id))
        except (PreflightError, UsageError) as exc:
            return unscored(exc.message.split(": ", 1)[-1])
        span = [j for j, x in enumerate(enc.labels) if x != IGNORE]
        if not span:
            return unscored("the answer has no tokens")
        start, stop = span[0], span[-1] + 1
        ids = enc.input_ids
        end_at = max((j for j in range(start, stop) if ids[j] in self.ends), default=None)
        answer_stop = end_at if end_at is not None else stop
        answer = ids[start:answer_stop]
        if not answer:
            return unscored("the answer is empty")
        if start == 0:
            return unscored("the template writes nothing before the answer")
        prompted = ids[: answer_stop + (1 if end_at is not None else 0)]
        alone = self.header + answer
        if max(len(prompted), len(alone)) > self.limit:
            return unscored(f"longer than the model's context of {self.limit} tokens", len(answer))
        return Item(record_id, digest, prompted, start, answer_stop,
                    ids[end_at] if end_at is not None else None, alone, len(self.header))

    # -- the model ------------------------------------------------------------------------------

    @torch.no_grad()
    def target_logprobs(self, seqs: Sequence[list[int]], spans: Sequence[tuple[int, int]]) -> list[torch.Tensor]:
        """For each sequence, the log-probability of its tokens at positions [a, b) given the
        tokens before them (float32, on the CPU). One padded forward pass; the output layer runs
        on those positions only."""
        width = max(len(s) for s in seqs)
        ids = torch.full((len(seqs), width), self.pad_id, dtype=torch.long)
        attn = torch.zeros((len(seqs), width), dtype=torch.long)
        rows, cols = [], []
        for r, (s, (a, b)) in enumerate(zip(seqs, spans, strict=True)):
            ids[r, : len(s)] = torch.tensor(s)
            attn[r, : len(s)] = 1
            rows += [r] * (b - a)
            cols += list(range(a, b))
        ids, attn = ids.to(self.device), attn.to(self.device)
        row_t = torch.tensor(rows, device=self.device)
        col_t = torch.tensor(cols, device=self.device)
        targets = ids[row_t, col_t]
        decoder, head = self.model.get_decoder(), self.model.get_output_embeddings()
        if decoder is not None and head is not None:
            hidden = decoder(input_ids=ids, attention_mask=attn).last_hidden_state
            picked = hidden[row_t, col_t - 1]  # the state before a token predicts it
            out = torch.cat([
                torch.log_softmax(head(picked[i : i + HEAD_CHUNK]).float(), -1)
                .gather(1, targets[i : i + HEAD_CHUNK, None])[:, 0]
                for i in range(0, len(cols), HEAD_CHUNK)])
        else:  # a model without the two parts: full logits
            logits = self.model(input_ids=ids, attention_mask=attn).logits
            out = torch.log_softmax(logits[row_t, col_t - 1].float(), -1).gather(1, targets[:, None])[:, 0]
        return list(torch.split(out.cpu(), [b - a for a, b in spans]))

    def logprobs(self, seqs: Sequence[Seq]) -> list[torch.Tensor]:
        """The target log-probabilities of a bucket of sequences (one forward pass)."""
        return self.target_logprobs([q.ids for q in seqs], [q.span for q in seqs])

    def row(self, it: Item, prompted: torch.Tensor, alone: torch.Tensor) -> ScoreRow:
        """The numbers of a record from its two sequences' target log-probabilities."""
        n = it.answer_tokens
        loss_p = float(-prompted[:n].double().mean())
        loss_a = float(-alone.double().mean())
        end = float(prompted[n].exp()) if it.end_id is not None else None
        ifd = loss_p / loss_a if loss_a > 0 else None
        return ScoreRow(it.record_id, self.name, it.content_hash, _finite(loss_p), _finite(loss_a), _finite(ifd),
                        _finite(end), n)

    def score(self, items: Sequence[Item]) -> list[ScoreRow]:
        """Score records as one padded batch a sequence kind (for callers that batch themselves)."""
        prompted = self.logprobs([Seq(it, True) for it in items])
        alone = self.logprobs([Seq(it, False) for it in items])
        return [self.row(it, p, a) for it, p, a in zip(items, prompted, alone, strict=True)]


def _finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def _context_limit(source: models.ModelSource, tokenizer: Any) -> int:
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(source.path)
    except OSError as exc:
        raise UsageError(f"{source.path}: {exc}") from exc
    limits = [int(getattr(config, "max_position_embeddings", 0) or 0)]
    if 0 < int(getattr(tokenizer, "model_max_length", 0) or 0) < 10_000_000:
        limits.append(int(tokenizer.model_max_length))
    positive = [x for x in limits if x > 0]
    return min(positive) if positive else 2048


def buckets(seqs: Sequence[Seq], max_tokens: int = BATCH_TOKENS, max_records: int = BATCH_RECORDS,
            slack: float = PAD_SLACK) -> Iterator[list[Seq]]:
    """Sequences sorted by length and cut into forward batches: padded size at most max_tokens,
    at most max_records sequences, and none padded by more than `slack` of the shortest's length
    (padding is compute spent on nothing: with few records a bucket is one sequence, no padding)."""
    ordered = sorted(seqs, key=lambda q: (len(q.ids), q.item.record_id, q.prompted))
    bucket: list[Seq] = []
    for q in ordered:
        width = len(q.ids)
        if bucket and (len(bucket) >= max_records or (len(bucket) + 1) * width > max_tokens
                       or width > len(bucket[0].ids) * (1 + slack)):
            yield bucket
            bucket = []
        bucket.append(q)
    if bucket:
        yield bucket


def _store(ws: Workspace, rows: list[ScoreRow], progress: Progress) -> None:
    store.save(ws, rows)
    progress.records += len(rows)
    for row in rows:
        if row.note is not None:
            progress.unscored.setdefault(row.note, []).append(row.record_id)


def run(ws: Workspace, scorer: Scorer, ids: Sequence[int],
        on_batch: Callable[[Progress, int], None] | None = None,
        window: int = WINDOW, max_tokens: int = BATCH_TOKENS, max_records: int = BATCH_RECORDS,
        progress: Progress | None = None, stop: Callable[[], bool] | None = None) -> Progress:
    """Score the records `ids`, `window` at a time: their sequences go through the model in length
    buckets, and after each bucket the records whose two sequences are both done are stored (one
    transaction a bucket: a killed run keeps what it finished). `on_batch(progress, records_stored)`
    after each store. `progress` (a new one by default) is updated as it goes, so it is right after
    an interruption too. `stop()` is asked before each forward pass: when it says yes, the run
    returns there (everything finished is stored; Ctrl-C handling sets it, so a batch is never
    cut between storing and counting)."""
    progress = progress if progress is not None else Progress()
    for w in range(0, len(ids), window):
        if stop and stop():
            return progress
        prepared = [scorer.prepare(rid, text, digest) for rid, text, digest in store.texts(ws, ids[w : w + window])]
        unscored = [p for p in prepared if isinstance(p, ScoreRow)]
        if unscored:
            _store(ws, unscored, progress)
            if on_batch:
                on_batch(progress, len(unscored))
        items = [p for p in prepared if isinstance(p, Item)]
        half: dict[int, torch.Tensor] = {}  # record id -> the log-probs of its first finished sequence
        for bucket in buckets([Seq(it, kind) for it in items for kind in (True, False)], max_tokens, max_records):
            if stop and stop():
                return progress
            t0 = time.perf_counter()
            out = scorer.logprobs(bucket)
            progress.seconds += time.perf_counter() - t0
            progress.tokens += sum(len(q.ids) for q in bucket)
            rows = []
            for q, lp in zip(bucket, out, strict=True):
                other = half.pop(q.item.record_id, None)
                if other is None:
                    half[q.item.record_id] = lp
                else:
                    rows.append(scorer.row(q.item, *((lp, other) if q.prompted else (other, lp))))
            if rows:
                _store(ws, rows, progress)
                if on_batch:
                    on_batch(progress, len(rows))
    return progress
