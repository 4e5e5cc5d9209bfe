"""Baseline for benchmarks: what the OpenAI cookbook's chat data-prep notebook does, re-written.

Our own code for the same steps, done the same way (pure Python, everything in memory):
load every line with `json` into a list, run the notebook's format checks, count every example
with tiktoken (3 tokens per message, the tokens of every field value, 1 more for a name, 3 to
prime the reply) and the assistant tokens, then print the distributions, the number of examples
over the limit and the epochs / billed-tokens estimate.

    python bench/cookbook_check.py data.jsonl [--encoding cl100k_base] [--limit 16385]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from curator.tokens import get_encoding

KNOWN_KEYS = {"role", "content", "name", "function_call", "weight"}
KNOWN_ROLES = {"system", "user", "assistant", "function"}


def format_errors(dataset: list[object]) -> Counter[str]:
    errors: Counter[str] = Counter()
    for ex in dataset:
        if not isinstance(ex, dict):
            errors["data_type"] += 1
            continue
        messages = ex.get("messages")
        if not messages:
            errors["missing_messages_list"] += 1
            continue
        for m in messages:
            if "role" not in m or "content" not in m:
                errors["message_missing_key"] += 1
            if any(k not in KNOWN_KEYS for k in m):
                errors["message_unrecognized_key"] += 1
            if m.get("role") not in KNOWN_ROLES:
                errors["unrecognized_role"] += 1
            content, call = m.get("content"), m.get("function_call")
            if (not content and not call) or not isinstance(content, str):
                errors["missing_content"] += 1
        if not any(m.get("role") == "assistant" for m in messages):
            errors["example_missing_assistant_message"] += 1
    return errors


def describe(name: str, values: list[int]) -> None:
    a = np.asarray(values)
    print(f"\n#### {name}")
    print(f"min / max: {a.min()}, {a.max()}")
    print(f"mean / median: {a.mean()}, {np.median(a)}")
    print(f"p5 / p95: {np.quantile(a, 0.05)}, {np.quantile(a, 0.95)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--encoding", default="cl100k_base")
    parser.add_argument("--limit", type=int, default=16385)
    args = parser.parse_args(argv)

    with args.file.open(encoding="utf-8") as fh:
        dataset = [json.loads(line) for line in fh]
    print(f"examples: {len(dataset)}")
    errors = format_errors(dataset)
    print("format errors:" if errors else "no format errors")
    for k, v in sorted(errors.items()):
        print(f"  {k}: {v}")

    enc = get_encoding(args.encoding)

    def n_tokens(messages: list[dict[str, object]]) -> int:
        n = 0
        for m in messages:
            n += 3
            for key, value in m.items():
                if isinstance(value, str):
                    n += len(enc.encode(value))
                if key == "name":
                    n += 1
        return n + 3

    def n_assistant(messages: list[dict[str, object]]) -> int:
        return sum(len(enc.encode(m["content"])) for m in messages  # type: ignore[arg-type]
                   if m.get("role") == "assistant" and isinstance(m.get("content"), str))

    no_system = no_user = 0
    n_messages: list[int] = []
    totals: list[int] = []
    assistant: list[int] = []
    for ex in dataset:
        messages = ex["messages"]
        roles = [m.get("role") for m in messages]
        no_system += "system" not in roles
        no_user += "user" not in roles
        n_messages.append(len(messages))
        totals.append(n_tokens(messages))
        assistant.append(n_assistant(messages))
    print(f"\nexamples missing a system message: {no_system}")
    print(f"examples missing a user message: {no_user}")
    describe("messages per example", n_messages)
    describe("total tokens per example", totals)
    describe("assistant tokens per example", assistant)
    over = sum(t > args.limit for t in totals)
    print(f"\n{over} examples may be over the {args.limit} token limit and would be truncated")

    n = len(dataset)
    epochs = 3
    if n * 3 < 100:
        epochs = min(25, 100 // n)
    elif n * 3 > 25000:
        epochs = max(1, 25000 // n)
    billed = sum(min(args.limit, t) for t in totals)
    print(f"~{billed} billed tokens per epoch; default {epochs} epochs; ~{epochs * billed} in all")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
