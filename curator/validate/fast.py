"""A quick yes for the common clean row: plain chat messages that break no rule.

Most rows of a real file are `{"messages": [{"role", "content": str}, ...]}` with nothing
wrong. `is_clean_simple_chat` recognises such a row in one pass over its messages and one
screen of its text. It only ever answers "clean" or "look closer": any row it is not sure of
(an unusual key or role, a blank or placeholder text, a screen that trips, an answer that
repeats the question) goes to the full rules in `curator.validate.rows`, which stay the one definition of what
is wrong. A test checks that every row it passes gets no finding from the full rules.
"""

from __future__ import annotations

import re
from typing import Any

from curator.validate.quality import (
    _NUMBERS,
    _NUMBERS_ASCII,
    _PLACEHOLDER_MAX,
    _SCREEN_ASCII,
    _SCREEN_CHARS,
    _SCREEN_MARKERS,
    EMAIL,
    PLACEHOLDER_INPUTS,
    REFUSAL_NEEDLES,
    REFUSALS,
    SECRET,
    TEMPLATE,
    answer_suspect,
    ascii_digit_run,
)

#: roles whose plain message has no rule of its own beyond non-empty text
PLAIN_ROLES = frozenset({"system", "user", "assistant"})
#: an answer this close in length to the user's text is compared with it
_NEAR_LENGTH = 16


def is_clean_simple_chat(ex: dict[str, Any], roles: frozenset[str]) -> bool:
    """True only when `ex` is plain chat that the full rules would pass without a finding.

    `roles`: the plain roles the target allows. The shape it accepts: an optional system
    message first, then user and assistant turns that alternate, starting with user and ending
    with assistant; every content a non-blank string that is not a placeholder.
    """
    if len(ex) != 1:
        return False
    msgs = ex.get("messages")
    if type(msgs) is not list or not msgs:
        return False
    prev = ""
    last_user: str | None = None
    texts: list[str] = []
    answers: list[str] = []
    for m in msgs:
        if type(m) is not dict or len(m) != 2:
            return False
        role = m.get("role")
        content = m.get("content")
        if type(role) is not str or type(content) is not str or role not in roles or role == prev:
            return False
        if len(content) <= _PLACEHOLDER_MAX:
            short = content.strip()
            if not short or short.lower() in PLACEHOLDER_INPUTS:
                return False
        elif content.isspace():
            return False
        if role == "user":
            last_user = content
        elif role == "assistant":
            if last_user is None or (abs(len(content) - len(last_user)) < _NEAR_LENGTH
                                     and content.strip() == last_user.strip()):
                return False
            if answer_suspect(content, last_user):  # a stub, a cut-off answer, the prompt again
                return False
            answers.append(content)
        elif texts:  # a system message anywhere but first
            return False
        prev = role
        texts.append(content)
    if prev != "assistant":
        return False
    blob = "\n".join(texts)
    # Numbers are everywhere in real text (sums, prices, years): rather than send every row with
    # a run of digits to the full rules, look for a phone or card number here. A text holds one
    # only if the joined texts do (the pattern looks at most one character around a match, and
    # the newline that joins two texts stands where a text's start or end was). Any match, even
    # one the full rules would not report, sends the row there. The full rules look for numbers
    # only in an example with three digits in a row, so an ASCII text without one is not searched.
    if blob.isascii():
        if _trips(_SCREEN_ASCII, blob, texts):
            return False
        if ascii_digit_run(blob) and _NUMBERS_ASCII.search(blob) is not None:
            return False
    elif _SCREEN_CHARS.search(blob) is not None or _trips(_SCREEN_MARKERS, blob, texts) or (
            "\\n" in blob and _literal_escapes(texts)) or _NUMBERS.search(blob) is not None:
        return False
    low = (answers[0] if len(answers) == 1 else "\n".join(answers)).lower()
    for needle in REFUSAL_NEEDLES:
        if needle in low:
            # A needle is common in prose ("fulfill", "cutoff", "language model"); only a whole
            # refusal phrase sets the full rules' refusal screen (quality.check_texts).
            return not any(phrase in low for phrase in REFUSALS)
    return True


def _trips(screen: re.Pattern[str], blob: str, texts: list[str]) -> bool:
    """Whether `screen` trips on `blob` (the example's `texts` joined by newlines) for a reason
    the full rules act on.

    Most trips in real text are words the full rules look at more closely and pass: an `@` in
    code, a handle or a price ("2 @ $5"), "Response:" or "Human:" inside a line rather than at
    its start, "sk-" that starts no key, one literal backslash-n. For those the precise test the
    full rules apply is asked once for the whole example (`_CONFIRM`); when it finds nothing, the
    screen goes on after the trip. Every other trip sends the row to the full rules. (The precise
    patterns match no newline and read `^` at a line's start, so they find something in the
    joined texts exactly when they find it in one text; and when every trip is passed over, the
    only marker kinds whose literals the texts hold are those the precise tests have read.)"""
    m = screen.search(blob)
    asked: set[re.Pattern[str] | None] = set()
    while m is not None:
        found = m.group()
        if found not in _CONFIRM:
            return True
        precise = _CONFIRM[found]
        if precise not in asked:
            if _literal_escapes(texts) if precise is None else precise.search(blob) is not None:
                return True
            asked.add(precise)
        m = screen.search(blob, m.end())
    return False


def _literal_escapes(texts: list[str]) -> bool:
    """Whether a text holds what the literal-escapes rule reports (quality._check_one): a
    backslash-n twice or more and no line break."""
    return any(text.count("\\n") >= 2 and "\n" not in text for text in texts)


#: what a screen matched -> the precise pattern the full rules search for it (None: the literal
#: escapes rule, which reads each text). The combined ASCII screen matches one character where a
#: branch looks back ("Response:" is found at its ':', "sk-" at its '-'); the marker screen
#: matches the whole literal.
_CONFIRM: dict[str, re.Pattern[str] | None] = {
    "@": EMAIL,
    ":": TEMPLATE, "Instruction:": TEMPLATE, "Response:": TEMPLATE, "Input:": TEMPLATE, "Human:": TEMPLATE,
    "Assistant:": TEMPLATE,
    "-": SECRET, "sk-": SECRET,
    "\\n": None,
}
