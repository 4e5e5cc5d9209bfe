"""Loss, perplexity and token accuracy on trained tokens only; greedy generations."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F

from curator.schema import AssistantMessage
from curator.train.chat import IGNORE, Encoded, apply_template, end_of_turn_ids, template_messages


@dataclass(frozen=True, slots=True)
class Metrics:
    loss: float  # mean cross-entropy per trained token (nats)
    perplexity: float
    token_accuracy: float  # greedy next-token prediction right, over trained tokens
    tokens: int

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class PerExample:
    """Each example's summed loss (nats) over its trained tokens, and how many there are."""

    loss_sums: list[float]
    tokens: list[int]

    def means(self) -> list[float]:
        return [s / max(n, 1) for s, n in zip(self.loss_sums, self.tokens, strict=True)]


def collate(batch: list[Encoded], pad_id: int, device: str) -> dict[str, torch.Tensor]:
    """Right-pad. Labels come from each example's own mask, never from the attention mask, so a
    pad token equal to EOS cannot hide the EOS tokens the model must learn."""
    width = max(len(e.input_ids) for e in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), IGNORE, dtype=torch.long)
    attn = torch.zeros((len(batch), width), dtype=torch.long)
    for row, e in enumerate(batch):
        n = len(e.input_ids)
        ids[row, :n] = torch.tensor(e.input_ids)
        labels[row, :n] = torch.tensor(e.labels)
        attn[row, :n] = 1
    return {"input_ids": ids.to(device), "attention_mask": attn.to(device), "labels": labels.to(device)}


def token_losses(model: Any, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-token loss (0 where not trained), the trained mask, and whether argmax was right."""
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    logits = logits[:, :-1, :].float()
    target = batch["labels"][:, 1:]
    mask = target != IGNORE
    loss = F.cross_entropy(logits.transpose(1, 2), target.clamp(min=0), reduction="none") * mask
    correct = (logits.argmax(-1) == target) & mask
    return loss, mask, correct


def batches(encs: list[Encoded], size: int) -> Iterator[list[Encoded]]:
    for i in range(0, len(encs), size):
        yield encs[i : i + size]


@torch.no_grad()
def evaluate(model: Any, encs: list[Encoded], batch_size: int, pad_id: int, device: str) -> tuple[Metrics, PerExample]:
    """Metrics over a split, and each example's summed loss and trained-token count (the paired
    comparison and the review queue use them)."""
    was_training = model.training
    model.eval()
    total, count, right = 0.0, 0, 0
    per = PerExample([], [])
    for chunk in batches(encs, batch_size):
        loss, mask, correct = token_losses(model, collate(chunk, pad_id, device))
        sums, counts = loss.double().sum(1), mask.sum(1)
        total += float(sums.sum())
        count += int(counts.sum())
        right += int(correct.sum())
        per.loss_sums.extend(float(x) for x in sums)
        per.tokens.extend(int(x) for x in counts)
    model.train(was_training)
    mean = total / max(count, 1)
    ppl = math.exp(mean) if mean < 700 else math.inf
    return Metrics(mean, ppl, right / max(count, 1), count), per


def prompt_ids(tokenizer: Any, enc: Encoded) -> tuple[list[int], str]:
    """The conversation up to its last assistant turn, with the generation prompt; and that turn."""
    msgs = enc.example.chat.messages
    last = max(i for i, m in enumerate(msgs) if isinstance(m, AssistantMessage))
    rendered = template_messages(enc.example.chat)
    tools = [t.model_dump(exclude_none=True) for t in enc.example.chat.tools] if enc.example.chat.tools else None
    text = apply_template(tokenizer, rendered[:last], enc.example.where, tools=tools, tokenize=False,
                          add_generation_prompt=True)
    return list(tokenizer(str(text), add_special_tokens=False)["input_ids"]), str(rendered[last]["content"])


@torch.no_grad()
def generate(model: Any, tokenizer: Any, ids: list[int], max_new_tokens: int, device: str) -> str:
    was_training = model.training
    model.eval()
    inp = torch.tensor([ids], device=device)
    out = model.generate(input_ids=inp, attention_mask=torch.ones_like(inp), max_new_tokens=max_new_tokens,
                         do_sample=False, eos_token_id=sorted(end_of_turn_ids(tokenizer)),
                         pad_token_id=tokenizer.pad_token_id)
    model.train(was_training)
    return str(tokenizer.decode(out[0, len(ids):], skip_special_tokens=True)).strip()


@torch.no_grad()
def generate_many(model: Any, tokenizer: Any, prompts: list[list[int]], max_new_tokens: int, device: str) -> list[str]:
    """Greedy continuations of several prompts in one left-padded batch: one forward pass a token
    for all of them, which matters on a CPU where a 4-bit forward dequantises every weight."""
    if not prompts:
        return []
    width = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), width), int(tokenizer.pad_token_id), dtype=torch.long)
    attn = torch.zeros((len(prompts), width), dtype=torch.long)
    for row, p in enumerate(prompts):
        ids[row, width - len(p):] = torch.tensor(p)
        attn[row, width - len(p):] = 1
    was_training = model.training
    model.eval()
    out = model.generate(input_ids=ids.to(device), attention_mask=attn.to(device), max_new_tokens=max_new_tokens,
                         do_sample=False, eos_token_id=sorted(end_of_turn_ids(tokenizer)),
                         pad_token_id=tokenizer.pad_token_id)
    model.train(was_training)
    return [str(tokenizer.decode(row[width:], skip_special_tokens=True)).strip() for row in out]
