"""The quick yes for clean rows must never hide a finding: every row `is_clean_simple_chat`
passes gets no issue from the full rules, for every target. Rows are drawn at random from
clean and defective pieces, so both answers are exercised."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from curator.validate import engine
from curator.validate.context import Ctx
from curator.validate.engine import validate_file
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
    # real text is full of numbers that are neither phone nor card numbers
    "Weng earns $12 an hour. She worked 50 minutes, so she earned 12/60 * 50 = $10.",
    "In 2019 the shop sold 1,250 bikes; in 2020, 1,870 (49.6% more). Order #48213 shipped on 2021-03-05.",
    "The answer is 3.14159265358979 rounded to 14 digits, or 314159265358979 without the point.",
    "ISBN 978-3-16-148410-0, page 415, line 555: see 0100 and 12:45 pm.",
    "x415-555-0100 is a part number, 1.4155550100 a ratio, and =415 555 0100 a spreadsheet cell.",
    "١٢٣٤ and ３４５ are digits too; € 1 234,56 is a price.",
    "Binary: 01010100 01101000 01100101 00100000.",
    "Use a 5 mm hex key: turn it 1/4, then 1/2, then a full 360 degrees " * 12,
    "Ünïcödé — “quoted” text, naïve café, 東京 and 🚲, with a long tail " + "…" * 40,
    "toolformer: enabled\ntoolformer access: weather\nweather(querywithlocation)",
    # an `@` that is not an e-mail address, and refusal words in plain prose
    "Decorate it with @lru_cache, buy 3 @ $4 each, and ping @maria on the team chat.",
    "The plan will fulfill every order before the cutoff; the language model section comes later.",
]
#: template words, "sk-" and a backslash-n that the full rules look at and pass: inside a line,
#: too short for a key, one escape
SCREENED_CLEAN = [
    "The form asks for Input: your name. Response: a greeting. A Human: label is fine mid-line.",
    "Dates like 2017-06-01 and a task-sk-list; the desk-top is tidy.",
    "In C, printf(\"hi\\n\") prints a line; that is the one escape here.",
]
BAD_TEXTS = [
    "", "   ", "N/A", "<noinput>", "none",
    "Call me at +1 415 555 0100 tonight.", "Write to ana@example.com for the invoice.",
    "Hello {{name}}, your bike is ready.", "Sure.<|im_end|>", "[INST] fix it [/INST]",
    "zero\u200bwidth", "control\x07char", "cafÃ© mojibake", "As an AI language model, I cannot ride.",
    "line one\\nline two\\nline three", "Human: are you there?", "card 4111 1111 1111 1111",
    "key sk-abcdefghijklmnopqrstuvwxyz123456", "room 1234 on floor 2",
    # numbers the full rules may report, some only when their digits run three long
    "Ring (415) 555-0100 or 415.555.0100.", "Card 4111-1111-1111-1111 expires soon.",
    "4111111111111111", "Call +44 20 7946 0958.", "Spaced 4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 digits.",
    "A long line of sums: " + "12 + 34 = 46; " * 30 + "call 415-555-0100 after.",
    "Write to ops@bike.example.org or {{ name }}.", "Ã©tÃ© is mojibake", "cafe\u0301 \ufffd",
    "A message ending in a digit run 555 0100", "415 555 0100 starts this message",
    # issue 12's answer rules: stubs, answers cut off, the prompt again in another case
    "TODO", "[insert answer]", "Lorem ipsum", "...", "<answer>",
    "Plants take carbon dioxide from the air and water from the soil, and",
    "Here is the code:\n```python\nprint(", "HOW DO I TRUE A BICYCLE WHEEL AT HOME",
    # an `@` that is not an address before one that is; a refusal phrase after a mere needle
    "Buy 3 @ $4 each, then write to ops@bike.example.org.", "@maria: cutoff is at noon\nana@example.com",
    "I cannot fulfill that. As an AI language model, I do not ride bikes.",
]
#: the same words where the full rules report them: at a line's start, a whole key, two escapes
SCREENED_BAD = [
    "Notes:\n### Response: fixed it", "First line\nAssistant: again", "Ask the desk: sk-proj-abcdefghijklmnopqrstu",
    "a\\nb\\nc", "Response: mid-line, then\nHuman: at a line start",
]
ROLES = ["system", "user", "assistant", "developer", "tool", "human"]


def _message(rng: random.Random, role: str) -> Any:
    text = rng.choice(CLEAN_TEXTS) if rng.random() < 0.9 else rng.choice(BAD_TEXTS)
    if rng.random() < 0.05:
        text = rng.choice(SCREENED_CLEAN + SCREENED_BAD)
    if rng.random() < 0.1:  # texts joined in one message: digits and markers meet at the seams
        text = text + rng.choice(("", " ", "\n", "-", "+")) + rng.choice(
            CLEAN_TEXTS + BAD_TEXTS + SCREENED_CLEAN + SCREENED_BAD)
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
    assert passed > 200 and flagged > 400, (passed, flagged)


def test_clean_plain_rows_take_the_fast_path() -> None:
    row = {"messages": [{"role": "system", "content": "You repair bicycles."},
                        {"role": "user", "content": CLEAN_TEXTS[0]},
                        {"role": "assistant", "content": CLEAN_TEXTS[1]}]}
    assert is_clean_simple_chat(row, PLAIN_ROLES)
    short = {"messages": [{"role": "user", "content": "Is it fixed?"}, {"role": "assistant", "content": "Yes."}]}
    assert is_clean_simple_chat(short, PLAIN_ROLES)
    echo = {"messages": [{"role": "user", "content": "Is it fixed?"}, {"role": "assistant", "content": "Is it fixed?"}]}
    assert not is_clean_simple_chat(echo, PLAIN_ROLES)


def test_an_at_sign_or_a_refusal_word_alone_keeps_the_quick_yes() -> None:
    # Most `@`s in real text are code, prices or handles, and "fulfill" or "cutoff" are common
    # words: neither sends a row to the full rules unless an address or a refusal phrase is there.
    def row(answer: str) -> dict[str, Any]:
        return {"messages": [{"role": "user", "content": "How should I tag the release notes?"},
                             {"role": "assistant", "content": answer}]}

    assert is_clean_simple_chat(row(CLEAN_TEXTS[-2]), PLAIN_ROLES)
    assert is_clean_simple_chat(row(CLEAN_TEXTS[-1]), PLAIN_ROLES)
    for bad in ("Buy 3 @ $4 each, then write to ops@bike.example.org.",
                "Ping @maria; the address is ana@example.com.",
                "Sorry, I cannot fulfill that. As an AI language model, I do not ride bikes.",
                "Thanks @maria! {{name}} still needs filling in."):
        assert not is_clean_simple_chat(row(bad), PLAIN_ROLES), bad


def test_template_words_a_short_sk_and_one_escape_keep_the_quick_yes() -> None:
    # The marker screen trips on "Response:", "Human:", "sk-" and a literal backslash-n anywhere;
    # the full rules report them only at a line's start, as a whole key, or as two escapes with no
    # line break. The quick path asks those precise tests instead of giving up on the row.
    def row(answer: str) -> dict[str, Any]:
        return {"messages": [{"role": "user", "content": "How should I label the form?"},
                             {"role": "assistant", "content": answer}]}

    for text in SCREENED_CLEAN:
        ctx = Ctx(get_profile("openai"))
        check_row(row(text), ctx)
        assert ctx.issues == [], (text, ctx.issues)
        assert is_clean_simple_chat(row(text), PLAIN_ROLES), text
    for bad in SCREENED_BAD:
        ctx = Ctx(get_profile("openai"))
        check_row(row(bad), ctx)
        assert ctx.issues, bad
        assert not is_clean_simple_chat(row(bad), PLAIN_ROLES), bad
    # a trip passed over does not hide a later one of another kind
    assert not is_clean_simple_chat(row("Response: ok, and write to ana@example.com"), PLAIN_ROLES)
    assert not is_clean_simple_chat(row("Input: a, sk- b, then {{name}}"), PLAIN_ROLES)


def test_a_file_gets_the_same_report_with_and_without_the_fast_path(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # Whole-file output, not only "no finding": issues with their lines and messages, counts,
    # token statistics, formats and rejections must not depend on which path a row took.
    rng = random.Random(23)
    rows = [_row(rng) for _ in range(3000)]
    rows += rows[:200]  # exact duplicates, reported against their first copies
    path = tmp_path / "varied.jsonl"
    lines = [json.dumps(r, ensure_ascii=rng.random() < 0.5) + "\n" for r in rows]
    # lines at the quick path's edges: a CR ending, a blank line, a key given twice, not an
    # object, not JSON and a clean row too long for the limit go to the general path; an
    # escaped colon (counted by the duplicate-key test) stays on the quick one
    clean = json.dumps({"messages": [{"role": "user", "content": CLEAN_TEXTS[0]},
                                     {"role": "assistant", "content": CLEAN_TEXTS[1]}]})
    odd = [clean + "\r\n", "\n", "   \n", clean.replace('{"role"', '{"role": "user", "role"', 1) + "\n",
           clean.replace("home?", "home\\u003a") + "\n", "[1, 2]\n", "{not json\n",
           json.dumps({"messages": [{"role": "user", "content": "Spell it out."},
                                    {"role": "assistant", "content": "one two three. " * 20000}]}) + "\n"]
    for k, line in enumerate(odd):
        lines.insert(100 + 37 * k, line)
    lines.append(clean[:-5])  # a last line cut off, without its newline
    path.write_text("".join(lines), encoding="utf-8")

    def summary(target: str) -> tuple[Any, ...]:
        rep = validate_file(path, target, workers=1)
        issues = [(i.code, i.severity, i.line, i.example_index, i.message_index, i.path, i.message)
                  for i in rep.issues]
        return (issues, dict(rep.counts), rep.tokens, dict(rep.formats), rep.rejected, rep.examples)

    targets = sorted(PROFILES)
    fast = {t: summary(t) for t in targets}
    assert sum(1 for r in rows if is_clean_simple_chat(r, PLAIN_ROLES)) > 100  # the fast path ran
    monkeypatch.setattr(engine, "is_clean_simple_chat", lambda ex, roles: False)
    for target in targets:
        assert summary(target) == fast[target], target
