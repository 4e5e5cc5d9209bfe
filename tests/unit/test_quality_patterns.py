"""Patterns written for speed (curator/validate/quality.py) must decide exactly what their plain
forms decide: the phone / card pattern finds what its plain reading finds, match for match, on
text full of digits, separators, brackets and non-ASCII digits (Unicode form, and ASCII form on
ASCII text); the one-pass ASCII screen trips exactly when the three screens it stands for do."""

from __future__ import annotations

import random
import re

import pytest

from curator.validate.context import Ctx
from curator.validate.profiles import get_profile
from curator.validate.quality import (
    _MARKERS,
    _NUMBER_KIND,
    _NUMBERS,
    _NUMBERS_ASCII,
    _OPEN_SUM,
    _SCREEN_ASCII,
    _SCREEN_CHARS,
    _SCREEN_DIGITS,
    _SCREEN_MARKERS,
    _WORD,
    REFUSAL_NEEDLES,
    REFUSALS,
    _last_word,
    _open_sum,
    _squash,
    _squash_ascii,
    ascii_digit_run,
    check_text,
    markers_pattern,
    numbers_pattern,
    repeats_prompt,
)

# The plain reading, as the comment above the pattern in quality.py gives it.
PLAIN = re.compile(
    r"(?P<card>(?<![\d.,])\b\d(?:[ -]?\d){12,18}\b(?![.,]\d))"
    r"|(?P<phone>(?<![\w)=+*/.-])(?:\+\d{1,3}[ .-]?(?:\(?\d{1,4}\)?[ .-]?){1,3}\d{3,4}"
    r"|(?:\(\d{3}\)[ .-]?|\b\d{3}[ .-])\d{3}[ .-]\d{4})(?![\w=+*/]))"
)


def _matches(pattern: re.Pattern[str], text: str) -> list[tuple[int, int, str]]:
    return [(m.start(), m.end(), _NUMBER_KIND.get(m.lastgroup or "", m.lastgroup or ""))
            for m in pattern.finditer(text)]


def _text(rng: random.Random, alphabet: str) -> str:
    """Runs of 1-5 digits (some non-ASCII where the alphabet has them) between separators."""
    digits = "0123456789" + "".join(c for c in alphabet if c.isdigit())
    out = []
    for _ in range(rng.randint(1, 16)):
        out.append("".join(rng.choice(digits) for _ in range(rng.randint(1, 5))))
        out.append("".join(rng.choice(alphabet) for _ in range(rng.choice((0, 1, 1, 1, 2)))))
    return "".join(out)


ASCII_ALPHABET = " -.,+()=*/ax_\n:$%#"
UNICODE_ALPHABET = ASCII_ALPHABET + "١٢٣٤٥٦٧٨٩٠３４é\u00a0€"


@pytest.mark.parametrize("alphabet", [ASCII_ALPHABET, UNICODE_ALPHABET], ids=["ascii", "unicode"])
def test_the_fast_pattern_finds_what_the_plain_one_finds(alphabet: str) -> None:
    rng = random.Random(11)
    found = 0
    for _ in range(40_000):
        text = _text(rng, alphabet)
        want = _matches(PLAIN, text)
        assert _matches(_NUMBERS, text) == want, text
        if text.isascii():
            assert _matches(_NUMBERS_ASCII, text) == want, text
        assert numbers_pattern(text) is (_NUMBERS_ASCII if text.isascii() else _NUMBERS)
        found += bool(want)
    # the random texts hold matches of both kinds often enough to mean something
    assert found > 1000, found


@pytest.mark.parametrize("text", [
    "Call +1 415 555 0100 today", "(415) 555-0100", "415-555-0100", "card 4111 1111 1111 1111 ok",
    "4111-1111-1111-1111", "٤١١١١١١١١١١١١١١١",
])
def test_known_numbers_match_alike(text: str) -> None:
    assert _matches(_NUMBERS, text) == _matches(PLAIN, text) != []


@pytest.mark.parametrize("text", ["x415-555-0100", "1.4155550100", "=415 555 0100", "4111.1111111111111"])
def test_lookalikes_match_neither(text: str) -> None:
    assert _matches(_NUMBERS, text) == _matches(PLAIN, text) == []


def test_a_phone_written_two_ways_in_one_text_is_reported_once() -> None:
    # the pattern has three phone branches; a text is still told about its phone number once
    ctx = Ctx(get_profile("openai"))
    check_text("Call +1 415 555 0100 or (415) 555-0100 or 415-555-0100.", "user", ctx, mi=0,
               path="/messages/0/content", trained=False)
    assert [i.code for i in ctx.issues] == ["quality.pii.phone"]


SCREEN_PIECES = [
    "@", "{{", "{", "<|", "<", "<<SYS", "<</SYS", "</s>", "<s>", "[INST", "[/INST", "[INSERT", "[YOUR",
    "_of_turn>", "Instruction:", "Response:", "Input:", "Human:", "Assistant:", "sk-", "AKIA", "AKI", "ghp_",
    "ghx_", "gh", "xox", "PRIVATE KEY", "PRIV", "ATE", "\\n", "\\", "n", "a", " ", ":", "-", "K", "_", "s",
    "k", "\x07", "\x00", "\x1f", "\x7f", "\x0b", "\t", "\n", "\r", "Input", "Human", "INST", "SYS",
]

#: pieces that trip nothing alone but can complete a marker next to another piece
NEUTRAL = ["a", " ", ":", "-", "K", "_", "s", "k", "n", "gh", "PRIV", "ATE", "AKI", "Input", "Human", "INST", "SYS",
           "ate KEY", "\t", "\n", "\r", "o", "x", "p", "I", "/", ">", "|", "[", "<"]


def test_the_ascii_screen_trips_exactly_when_the_three_checks_do() -> None:
    rng = random.Random(5)
    tripped = 0
    for _ in range(60_000):
        text = "".join(rng.choice(SCREEN_PIECES) if rng.random() < 0.4 else rng.choice(NEUTRAL)
                       for _ in range(rng.randint(1, 8)))
        want = bool(_SCREEN_CHARS.search(text) or _SCREEN_MARKERS.search(text) or "\\n" in text)
        assert (_SCREEN_ASCII.search(text) is not None) == want, text
        tripped += want
    assert 10_000 < tripped < 50_000, tripped  # both answers, often


def test_the_ascii_digit_run_test_finds_what_the_digit_screen_finds() -> None:
    rng = random.Random(11)
    pieces = ["0", "1", "23", "456", "7 8", "9a", "a", " ", "-", ".", "\n", "x1y2z3", "12", "٣"]
    runs = 0
    for _ in range(40_000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 8)))
        if not text.isascii():
            continue
        want = _SCREEN_DIGITS.search(text) is not None
        assert ascii_digit_run(text) == want, text
        runs += want
    assert 5_000 < runs < 30_000, runs  # both answers, often


def test_every_refusal_phrase_holds_a_needle() -> None:
    assert all(any(needle in phrase for needle in REFUSAL_NEEDLES) for phrase in REFUSALS)


def test_the_ascii_squash_equals_the_regex_squash_on_every_ascii_character() -> None:
    # every ASCII character alone and in random strings: [\W_] is all but [A-Za-z0-9] there
    assert all(_squash_ascii(chr(c)).decode() == _squash(chr(c)) for c in range(128))
    rng = random.Random(3)
    for _ in range(20_000):
        text = "".join(chr(rng.randrange(128)) for _ in range(rng.randint(0, 40)))
        assert _squash_ascii(text).decode() == _squash(text), text


REPEAT_PIECES = ["How", "how", "HOW", " ", "  ", "do", "I", "i", "?", "!", ",", "_", "-", "\n", "1", "2", "x",
                 "é", "É", "İ", "ß", "K", "\u212a", "—", "🚲", "\u00a0", "ǅ", "ﬁ"]


def _plain_repeats_prompt(text: str, prompt: str) -> bool:
    """repeats_prompt as it was written before the ASCII shortcut."""
    if abs(len(text) - len(prompt)) >= len(prompt) // 4 + 16:
        return False
    squashed = _squash(text)
    return bool(squashed) and squashed == _squash(prompt) and text.strip() != prompt.strip()


def test_repeats_prompt_decides_as_its_plain_form() -> None:
    rng = random.Random(9)
    said = 0
    for _ in range(40_000):
        prompt = "".join(rng.choice(REPEAT_PIECES) for _ in range(rng.randint(0, 10)))
        if rng.random() < 0.6:  # the prompt again, some characters changed (case, spacing, others)
            text = "".join(c if rng.random() < 0.8 else rng.choice((c.upper(), c.lower(), "", " ", ".",
                                                                    rng.choice(REPEAT_PIECES)))
                           for c in prompt)
        else:
            text = "".join(rng.choice(REPEAT_PIECES) for _ in range(rng.randint(0, 10)))
        want = _plain_repeats_prompt(text, prompt)
        assert repeats_prompt(text, prompt) == want, (text, prompt)
        said += want
    assert 2_000 < said < 30_000, said  # both answers, often


SUM_PIECES = ["12", "3", "0.5", "1,000", "١٢", "３", " ", "  ", "\u00a0", "\t", "+", "-", " - ", "*", "/", "×", "÷",
              "x", "=", "$", ".", ",", "is", "total", "Sum", "it's", "don't", "(", ")", "#### ", "é", "a"]


def test_the_end_of_line_searches_find_what_a_plain_search_finds() -> None:
    # _open_sum and _last_word search only the run of characters a match can hold at the end of
    # the (stripped) last line; a plain search of the whole line must decide the same.
    rng = random.Random(13)
    sums = words = 0
    for _ in range(40_000):
        line = "".join(rng.choice(SUM_PIECES) for _ in range(rng.randint(1, 12))).strip()
        want = _OPEN_SUM.search(line) is not None
        assert _open_sum(line) == want, line
        sums += want
        plain = _WORD.search(line)
        got = _last_word(line)
        assert (got and (got.group(), got.start())) == (plain and (plain.group(), plain.start())), line
        words += plain is not None
    assert 5_000 < sums < 35_000 and 5_000 < words < 35_000, (sums, words)


MARKER_PIECES = ["<|im_end|>", "<|endoftext|>", "[INST]", "[/INST]", "<<SYS>>", "<</SYS>>", "<start_of_turn>",
                 "<end_of_turn>", "</s>", "<s>", "\n## Instruction:", "\n### Response:", "\nHuman:", "\nAssistant:",
                 "\n### Human:", "{{ name }}", "{{x}}", "[INSERT NAME]", "[YOUR_NAME]", "sk-" + "a1B2" * 6,
                 "sk-proj-" + "x" * 24, "AKIA" + "Q7" * 8, "ghp_" + "a" * 36, "xoxb-" + "1a" * 6,
                 "-----BEGIN RSA PRIVATE KEY-----", "ana@example.com", "a.b@mail.example.org"]


def _marker_text(rng: random.Random) -> str:
    return "".join(rng.choice(MARKER_PIECES) if rng.random() < 0.15 else
                   rng.choice(SCREEN_PIECES + NEUTRAL + ["word", " ", "\n", "#", "##", ".", "x@y", "sk-ab@c.io"])
                   for _ in range(rng.randint(1, 10)))


def test_a_text_the_precise_marker_pattern_matches_trips_the_marker_screen() -> None:
    # check_texts reads the texts with the precise pattern only when the screen trips
    rng = random.Random(17)
    matched = 0
    for _ in range(40_000):
        text = _marker_text(rng)
        if _MARKERS.search(text) is not None:
            matched += 1
            assert _SCREEN_MARKERS.search(text) is not None, text
    assert 5_000 < matched < 35_000, matched


def test_the_marker_pattern_of_a_text_finds_what_the_whole_pattern_finds() -> None:
    # markers_pattern leaves out the kinds whose literals a text lacks: match for match (span,
    # kind, text) it must find what _MARKERS finds
    rng = random.Random(19)
    kinds: set[str] = set()
    for _ in range(40_000):
        text = _marker_text(rng)
        want = [(m.span(), m.lastgroup, m.group()) for m in _MARKERS.finditer(text)]
        pattern = markers_pattern(text)
        got = [] if pattern is None else [(m.span(), m.lastgroup, m.group()) for m in pattern.finditer(text)]
        assert got == want, text
        kinds.update(str(k) for _, k, _ in want)
    assert kinds == {"template", "placeholder", "secret", "email"}
