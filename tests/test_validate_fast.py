"""The quick yes for clean rows must never hide a finding: every row `is_clean_simple_chat`
passes gets no issue from the full rules, for every target. Rows are drawn at random from
clean and defective pieces, so both answers are exercised."""

from __future__ import annotations

import random
from typing import Any

import pytest

from curator.validate.context import Ctx
from curator.validate.fast import PLAIN_ROLES, is_clean_simple_chat
from curator.validate.profiles import PROFILES, get_profile
from curator.validate.rows import check_row

CLEAN_TEXTS = [
    "How do I true a bicycle wheel at home?",
    "Loosen the spokes on the high side and tighten the ones opposite, a quarter turn at a time.",
    "What tyre pressure suits a city bike?",
    "Between forty and seventy psi, depending on the rider and the tyre width printed on the side.",
    "Yes.", "Thanks!", "Fine", "ok",
    "Zürich has good bike lanes, and São Paulo is building more — 🚲 everywhere.",
    "Keep the chain clean; oil it lightly after rain.",
]
BAD_TEXTS = [
    "", "   ", "N/A", "<noinput>", "none",
    "Call me at +1 415 555 0100 tonight.", "Write to ana@example.com for the invoice.",
    "Hello {{name}}, your bike is ready.", "Sure.<|im_end|>", "[INST] fix it [/INST]",
    "zero\u200bwidth", "control\x07char", "cafÃ© mojibake", "As an AI language model, I cannot ride.",
    "line one\\nline two\\nline three", "Human: are you there?", "card 4111 1111 1111 1111",
    "key sk-abcdefghijklmnopqrstuvwxyz123456", "room 1234 on floor 2",
]
ROLES = ["system", "user", "assistant", "developer", "tool", "human"]


def _message(rng: random.Random, role: str) -> Any:
    text = rng.choice(CLEAN_TEXTS) if rng.random() < 0.85 else rng.choice(BAD_TEXTS)
    m: dict[str, Any] = {"role": role, "content": text}
    r = rng.random()
    if r < 0.03:
        m["weight"] = rng.choice([0, 1, 2])
    elif r < 0.05:
        m["name"] = "bob"
    elif r < 0.07:
        m["content"] = [{"type": "text", "text": text}]
    elif r < 0.08:
        m["content"] = None
    elif r < 0.09:
        return "not a message"
    return m


def _row(rng: random.Random) -> dict[str, Any]:
    n = rng.randint(1, 6)
    if rng.random() < 0.7:  # mostly well ordered, so the quick yes is often possible
        roles = (["system"] if rng.random() < 0.5 else []) + ["user", "assistant"] * n
    else:
        roles = [rng.choice(ROLES) for _ in range(n)]
    row: dict[str, Any] = {"messages": [_message(rng, r) for r in roles]}
    if rng.random() < 0.05:
        row["messages"][-1:] = []
    if rng.random() < 0.03:
        row["extra"] = 1
    if rng.random() < 0.05 and len(row["messages"]) > 2:
        row["messages"][2] = dict(row["messages"][1]) if isinstance(row["messages"][1], dict) else {}
    return row


@pytest.mark.parametrize("target", sorted(PROFILES))
def test_rows_the_fast_path_passes_have_no_finding(target: str) -> None:
    rng = random.Random(7)
    profile = get_profile(target)
    roles = PLAIN_ROLES & profile.roles
    passed = flagged = 0
    for _ in range(4000):
        row = _row(rng)
        ctx = Ctx(profile)
        check_row(row, ctx)
        if is_clean_simple_chat(row, roles):
            passed += 1
            assert ctx.issues == [], (row, [(i.code, i.message) for i in ctx.issues])
        elif ctx.issues:
            flagged += 1
    # both answers happen often enough for the check above to mean something
    assert passed > 400 and flagged > 400, (passed, flagged)


def test_clean_plain_rows_take_the_fast_path() -> None:
    row = {"messages": [{"role": "system", "content": "You repair bicycles."},
                        {"role": "user", "content": CLEAN_TEXTS[0]},
                        {"role": "assistant", "content": CLEAN_TEXTS[1]}]}
    assert is_clean_simple_chat(row, PLAIN_ROLES)
    short = {"messages": [{"role": "user", "content": "Is it fixed?"}, {"role": "assistant", "content": "Yes."}]}
    assert is_clean_simple_chat(short, PLAIN_ROLES)
    echo = {"messages": [{"role": "user", "content": "Is it fixed?"}, {"role": "assistant", "content": "Is it fixed?"}]}
    assert not is_clean_simple_chat(echo, PLAIN_ROLES)
