"""Preference rows for tests: LLaMA-Factory ranking rows in the DPO demo's shapes, with words that
differ from row to row."""

from __future__ import annotations

from typing import Any

WORDS_POOL = ["river", "apple", "stone", "cloud", "violin", "garden", "copper", "lantern", "meadow", "harbor", "pencil", "orbit", "candle", "falcon", "glacier", "thunder", "velvet", "marble", "saddle", "pepper", "ladder", "canyon", "cotton", "anchor", "willow", "ember", "quartz", "tulip"]


def words(i: int, n: int) -> str:
    """n words that differ from row to row (rows must not be near duplicates of each other)."""
    return " ".join(WORDS_POOL[(i * 7 + k * (i % 5 + 3)) % len(WORDS_POOL)] + str(i * 31 + k)
                    for k in range(n))


def lf_ranking_rows(n: int) -> list[dict[str, Any]]:
    """Rows in the LLaMA-Factory DPO demo's layout (`conversations` of from/value turns, one
    `chosen` and one `rejected` turn), in the shapes the demo holds: one human turn, a system
    turn then a human turn, and multi-turn conversations ending on a human turn."""
    rows = []
    for i in range(n):
        human = {"from": "human", "value": f"Question number {i}: {words(i, 12)}?"}
        shape = i % 4
        if shape == 0:
            conv = [human]
        elif shape == 1:
            conv = [{"from": "system", "value": "You are a careful assistant."}, human]
        else:
            conv = []
            for t in range(1 if shape == 2 else 2):
                conv += [{"from": "human", "value": f"Earlier question {t}: {words(i + t, 6)}"},
                         {"from": "gpt", "value": f"Earlier answer {t}: {words(i + 9 * t, 6)}"}]
            conv.append(human)
        rows.append({"conversations": conv,
                     "chosen": {"from": "gpt", "value": f"A full answer: {words(i * 3, 20)}."},
                     "rejected": {"from": "gpt", "value": f"No. {words(i * 5, 4)}"}})
    return rows
