"""Length statistics of a fine-tuning set: examples, messages, tokens, limits, epochs, cost.

Streams the rows of each file once, keeps three compact integer arrays (messages, total tokens,
trained tokens per example) and computes real percentiles with numpy at the end. Rows that are
not counted (unparsable, or a format curator does not count yet) are reported as problems, never
dropped silently.

Counted formats: OpenAI chat (`messages`), prompt/completion with strings (total = prompt +
completion tokens, trained = completion tokens) and TRL conversational prompt/completion
(message lists, counted as one conversation). Alpaca, ShareGPT and LLaMA-Factory rows are
converted to chat (as `curator convert --to chat` would) and counted in that form.
"""

from __future__ import annotations

import math
import os
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from curator.io import Row, RowsLost, read_rows
from curator.issues import Issue
from curator.tokens import TemplateRenderError, TiktokenCounter, TokenCounter
from curator.tokens_ascii import large_input

# OpenAI cookbook's default-epoch heuristic (reference/formats.md §3.3).
TARGET_EPOCHS = 3
MIN_TARGET_EXAMPLES = 100
MAX_TARGET_EXAMPLES = 25_000
MIN_DEFAULT_EPOCHS = 1
MAX_DEFAULT_EPOCHS = 25


def default_epochs(n_examples: int) -> int:
    """Epochs the OpenAI service picks by default for `n_examples` (cookbook heuristic)."""
    epochs = TARGET_EPOCHS
    if n_examples == 0:
        return epochs
    if n_examples * TARGET_EPOCHS < MIN_TARGET_EXAMPLES:
        epochs = min(MAX_DEFAULT_EPOCHS, MIN_TARGET_EXAMPLES // n_examples)
    elif n_examples * TARGET_EPOCHS > MAX_TARGET_EXAMPLES:
        epochs = max(MIN_DEFAULT_EPOCHS, MAX_TARGET_EXAMPLES // n_examples)
    return epochs


@dataclass(frozen=True, slots=True)
class Distribution:
    min: int
    p5: float
    p50: float
    mean: float
    p95: float
    p99: float
    max: int

    @classmethod
    def of(cls, values: np.ndarray[Any, Any]) -> Distribution | None:
        if values.size == 0:
            return None
        p5, p50, p95, p99 = np.percentile(values, [5, 50, 95, 99])
        return cls(int(values.min()), round(float(p5), 2), round(float(p50), 2),
                   round(float(values.mean()), 2), round(float(p95), 2), round(float(p99), 2),
                   int(values.max()))

    def to_dict(self) -> dict[str, float]:
        return {"min": self.min, "p5": self.p5, "p50": self.p50, "mean": self.mean,
                "p95": self.p95, "p99": self.p99, "max": self.max}


@dataclass(slots=True)
class Histogram:
    edges: list[int]  # bin i holds edges[i] <= tokens < edges[i+1]; the last bin includes its end
    counts: list[int]

    def to_dict(self) -> dict[str, list[int]]:
        return {"edges": self.edges, "counts": self.counts}


@dataclass(slots=True)
class Stats:
    files: list[str]
    counter: str
    limit: int
    examples: int = 0
    formats: dict[str, int] = field(default_factory=dict)
    missing_system: int = 0
    missing_user: int = 0
    messages: Distribution | None = None
    total_tokens: Distribution | None = None
    trained_tokens: Distribution | None = None
    over_limit: int = 0
    trained_tokens_per_epoch: int = 0
    billed_tokens_per_epoch: int = 0
    default_epochs: int = TARGET_EPOCHS
    estimated_billed_tokens: int = 0
    histogram: Histogram | None = None
    problems: list[Issue] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        def d(x: Distribution | None) -> dict[str, float] | None:
            return None if x is None else x.to_dict()

        return {
            "files": self.files,
            "counter": self.counter,
            "limit": self.limit,
            "examples": self.examples,
            "not_counted": len(self.problems),
            "formats": dict(sorted(self.formats.items())),
            "missing_system": self.missing_system,
            "missing_user": self.missing_user,
            "messages_per_example": d(self.messages),
            "tokens_total": d(self.total_tokens),
            "tokens_trained": d(self.trained_tokens),
            "over_limit": self.over_limit,
            "trained_tokens_per_epoch": self.trained_tokens_per_epoch,
            "billed_tokens_per_epoch": self.billed_tokens_per_epoch,
            "default_epochs": self.default_epochs,
            "estimated_billed_tokens": self.estimated_billed_tokens,
            "histogram": None if self.histogram is None else self.histogram.to_dict(),
            "problems": [p.to_dict() for p in self.problems],
        }


def _nice(x: float) -> int:
    """Round up to 1, 2 or 5 times a power of ten."""
    if x <= 1:
        return 1
    power = 10 ** math.floor(math.log10(x))
    for m in (1, 2, 5, 10):
        if m * power >= x:
            return int(m * power)
    return int(10 * power)  # pragma: no cover - the loop always returns


def histogram(values: np.ndarray[Any, Any], limit: int | None = None, bins: int = 12) -> Histogram:
    """Bins with round edges: linear when the spread is small, log-spaced for long tails.

    The limit, when it falls inside the data's range, is always a bin edge, so the bins above it
    hold exactly the examples over the limit.
    """
    if values.size == 0:
        return Histogram([], [])
    lo, hi = int(values.min()), int(values.max())
    if hi / max(lo, 1) > 50:
        raw = np.geomspace(max(lo, 1), hi + 1, bins + 1)
        edges = sorted({0 if lo == 0 else lo} | {_nice(float(e)) for e in raw[1:]})
    else:
        step = _nice((hi + 1 - lo) / bins)
        start = (lo // step) * step
        edges = list(range(start, hi + step + 1, step))
    if edges[-1] <= hi:
        edges.append(_nice(hi + 1))
    if limit is not None and edges[0] < limit + 1 <= hi:
        edges = sorted(set(edges) | {limit + 1})
    counts, _ = np.histogram(values, bins=np.asarray(edges))
    return Histogram([int(e) for e in edges], [int(c) for c in counts])


def _as_chat(data: dict[str, Any], fmt: str, example_index: int | None) -> dict[str, Any] | None:
    """The chat form of a row in another chat format (Alpaca, ShareGPT, LF v1, ...), or None."""
    from curator.formats import CHAT_FORMATS, to_chat

    if fmt not in CHAT_FORMATS or fmt == "trl-text":
        return None
    return to_chat(data, fmt, example_index=example_index).example


def _rows(path: str, problems: list[Issue]) -> Iterator[Row]:
    """The rows of one file; the part a reader could not read becomes a problem (the rows
    before it are still counted)."""
    try:
        yield from read_rows(path)
    except RowsLost as exc:
        problems.append(exc.issue)


def compute_stats(paths: Iterable[str | os.PathLike[str]], counter: TokenCounter,
                  limit: int) -> Stats:
    """Count every row of every file once and summarise; rows not counted become problems."""
    from curator.formats.detect import classify

    files = [str(p) for p in paths]
    stats = Stats(files=files, counter=counter.name, limit=limit)
    if isinstance(counter, TiktokenCounter) and large_input(files):
        counter.use_compiled_ascii()  # the same counts; its start-up pays on this much text
    n_messages = array("I")
    totals = array("Q")
    trained = array("Q")
    formats: Counter[str] = Counter()
    for path in files:
        for row in _rows(path, stats.problems):
            if row.data is None:
                stats.problems.extend(row.issues or [Issue(
                    "json.not_object", "error", "row is not a JSON object", row.file, row.line,
                    row.example_index)])
                continue
            try:
                data = row.data
                kind = classify(data)
                prompt, completion = data.get("prompt"), data.get("completion")
                if kind == "openai-chat":
                    messages = data.get("messages")
                    count = counter.count_chat(data)
                elif kind == "trl-conversational-prompt-completion" and isinstance(prompt, list) \
                        and isinstance(completion, list):
                    messages = [*prompt, *completion]
                    count = counter.count_chat({"messages": messages, "tools": data.get("tools")})
                elif kind == "prompt-completion" and isinstance(prompt, str) and isinstance(completion, str):
                    messages = None
                    p, c = counter.count_text(prompt), counter.count_text(completion)
                    n_messages.append(2)
                    totals.append(p + c)
                    trained.append(c)
                    formats[kind] += 1
                    continue
                else:
                    converted = _as_chat(data, kind, row.example_index)
                    if converted is None:
                        stats.problems.append(Issue(
                            "stats.format_not_counted", "error",
                            "row format not recognised or not convertible to chat (expected messages, "
                            "prompt and completion, Alpaca, ShareGPT or LLaMA-Factory rows)",
                            row.file, row.line, row.example_index))
                        continue
                    data = converted
                    messages = data["messages"]
                    count = counter.count_chat(data)
                formats[kind] += 1
                msgs = messages if isinstance(messages, list) else []
                roles = {m.get("role") for m in msgs if isinstance(m, dict)}
                stats.missing_system += "system" not in roles
                stats.missing_user += "user" not in roles
                n_messages.append(len(msgs))
                totals.append(count.total)
                trained.append(count.trained)
            except TemplateRenderError as exc:  # the model's chat template raised on this row
                stats.problems.append(Issue("template.render_error", "error", str(exc), row.file, row.line,
                                            row.example_index))
    stats.formats = dict(formats)
    stats.examples = len(totals)
    tot = np.frombuffer(totals, dtype=np.uint64).astype(np.int64)
    trn = np.frombuffer(trained, dtype=np.uint64).astype(np.int64)
    stats.messages = Distribution.of(np.frombuffer(n_messages, dtype=np.uint32))
    stats.total_tokens = Distribution.of(tot)
    stats.trained_tokens = Distribution.of(trn)
    stats.over_limit = int((tot > limit).sum())
    stats.trained_tokens_per_epoch = int(trn.sum())
    stats.billed_tokens_per_epoch = int(np.minimum(tot, limit).sum())
    stats.default_epochs = default_epochs(stats.examples)
    stats.estimated_billed_tokens = stats.default_epochs * stats.billed_tokens_per_epoch
    stats.histogram = histogram(tot, limit)
    return stats


# --- terminal rendering ----------------------------------------------------------------------


def render(stats: Stats) -> Any:
    """A rich renderable: summary table, distributions and the token-length histogram."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from curator.textsafe import literal

    summary = Table.grid(padding=(0, 2))
    summary.add_column(style="bold")
    summary.add_column(justify="right")
    rows = [
        ("files", ", ".join(stats.files)),
        ("counter", stats.counter),
        ("examples", f"{stats.examples:,}"),
        ("formats", ", ".join(f"{k} {v:,}" for k, v in sorted(stats.formats.items())) or "-"),
        ("rows not counted", f"{len(stats.problems):,}"),
        ("missing a system message", f"{stats.missing_system:,}"),
        ("missing a user message", f"{stats.missing_user:,}"),
        ("token limit per example", f"{stats.limit:,}"),
        ("over the limit (cut from the end)", f"{stats.over_limit:,}"),
        ("trained tokens per epoch", f"{stats.trained_tokens_per_epoch:,}"),
        ("billed tokens per epoch", f"{stats.billed_tokens_per_epoch:,}"),
        ("default epochs (cookbook heuristic)", f"{stats.default_epochs}"),
        ("estimated billed tokens", f"~{stats.estimated_billed_tokens:,}"),
    ]
    for k, v in rows:
        # Text, never a markup string: file names and the counter (a model path) may hold
        # `[bold]` or escape sequences, shown as they are (curator.textsafe).
        summary.add_row(k, Text(literal(v)))

    dist = Table(title="per example", title_justify="left")
    dist.add_column("")
    for col in ("min", "p5", "p50", "mean", "p95", "p99", "max"):
        dist.add_column(col, justify="right")
    for label, d in (("messages", stats.messages), ("tokens (total)", stats.total_tokens),
                     ("tokens (trained)", stats.trained_tokens)):
        if d is not None:
            dist.add_row(label, *(f"{v:,}" if isinstance(v, int) else f"{v:,.1f}"
                                  for v in d.to_dict().values()))

    parts: list[Any] = [summary, Text(""), dist]
    h = stats.histogram
    if h is not None and h.counts:
        hist = Table(title="total tokens per example", title_justify="left", box=None)
        hist.add_column("tokens", justify="right")
        hist.add_column("examples", justify="right")
        hist.add_column("")
        peak = max(h.counts) or 1
        width = 40
        for i, c in enumerate(h.counts):
            lo, hi = h.edges[i], h.edges[i + 1] - 1
            over = lo > stats.limit
            bar = "█" * max(1 if c else 0, round(width * c / peak))
            mark = " ◀ over the limit" if over and (i == 0 or h.edges[i - 1] <= stats.limit) else ""
            hist.add_row(f"{lo:,}-{hi:,}", f"{c:,}",
                         Text(bar, style="red" if over else "cyan") + Text(mark, style="bold red"))
        parts += [Text(""), hist]
    return Group(*parts)
