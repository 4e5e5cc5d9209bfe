"""Small data sets for the trainer tests, written into a temporary folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def chat(question: str, answer: str, **assistant: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": question},
                         {"role": "assistant", "content": answer, **assistant}]}


def write_split(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def memorisable_set(root: Path, n_train: int = 8, n_eval: int = 4) -> Path:
    """Every answer is the same pirate line, so a few steps learn it and held-out loss falls."""
    answer = "Arr, matey! Ye be askin' a fine question."
    root.mkdir(parents=True, exist_ok=True)
    write_split(root / "train.jsonl", [chat(f"question {i}?", answer) for i in range(n_train)])
    write_split(root / "validation.jsonl", [chat(f"query {i}?", answer) for i in range(n_eval)])
    write_split(root / "holdout.jsonl", [chat(f"ask {i}?", answer) for i in range(n_eval)])
    return root


WORDS = ["brake", "chain", "wheel", "saddle", "pedal", "gear", "tyre", "bell", "frame", "light", "pump", "lock", "spoke", "rim", "cable"]


def varied_set(root: Path, n_train: int = 16, n_eval: int = 12, seed: int = 0) -> Path:
    """Questions and answers of random shop words: nothing a few steps can learn beyond the letters."""
    import random

    rng = random.Random(seed)

    def row() -> dict[str, Any]:
        q = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 8)))
        a = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 12)))
        return chat(f"{q}?", a.capitalize() + ".")

    root.mkdir(parents=True, exist_ok=True)
    for name, n in (("train", n_train), ("validation", n_eval), ("holdout", n_eval)):
        write_split(root / f"{name}.jsonl", [row() for _ in range(n)])
    return root
