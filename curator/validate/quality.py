"""Quality checks on the text of each message (formats.md §8); warnings unless the profile says.

All texts of one example are joined and screened by three cheap searches (odd characters,
literal markers, runs of digits); only when a screen trips are the texts examined one by one with
the precise patterns. Clean data, the common case, costs three regex scans per example.
"""

from __future__ import annotations

import re

from curator.quality.words import DANGLING
from curator.validate.context import Ctx

_ODD_CHARS = re.compile(
    "(?P<control>[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f])"
    "|(?P<zero_width>[\u200b\u200c\u200d\u2060\ufeff\u00ad])"
    "|(?P<bidi>[\u202a-\u202e\u2066-\u2069])"
    "|(?P<replacement>\ufffd)"
    "|(?P<mojibake>Ã[\u0080-\u00bf]|â€[\u2122\u0153\u009d\u201c\u201d\u02dc\u0161\u00a6\u00a2]|Â[\u00a0-\u00bf])"
)
_SCREEN_CHARS = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u200b-\u200d\u2060\ufeff\u202a-\u202e\u2066-\u2069"
    "\ufffd\u00c2\u00c3\u00e2]")
_SCREEN_MARKERS = re.compile(
    r"@|<\||\[/?INST|<</?SYS|</?s>|_of_turn>|Instruction:|Response:|Input:|Human:|Assistant:|\{\{|\[INSERT|\[YOUR"
    r"|sk-|AKIA|gh[pousr]_|xox|PRIVATE KEY")
_SCREEN_DIGITS = re.compile(r"\d\d\d")
#: For ASCII text, one search that trips exactly when _SCREEN_CHARS or _SCREEN_MARKERS would
#: trip or the text holds a literal backslash-n (tests/unit/test_quality_patterns.py checks it). Every
#: branch starts with a literal character that is rare in prose (a marker such as `sk-` is found
#: from its '-' and a look back), so the engine skips from one such character to the next: about
#: a third of the cost of the three checks.
_SCREEN_ASCII = re.compile("|".join(
    [re.escape(chr(c)) for c in (*range(0x00, 0x09), 0x0b, 0x0c, *range(0x0e, 0x20), 0x7f)]
    + ["@", r"\{\{", r"<\|", r"<</?SYS", r"</?s>", r"\[/?INST", r"\[INSERT", r"\[YOUR", "_of_turn>",
       r":(?:(?<=Instruction:)|(?<=Response:)|(?<=Input:)|(?<=Human:)|(?<=Assistant:))",
       r"-(?<=sk-)", r"K(?<=AK)IA", r"_(?<=gh[pousr]_)", "xox", r"V(?<=PRIV)ATE KEY", r"\\n"]))
#: An ASCII text as bytes with every digit made "0", for `ascii_digit_run`
_DIGITS_TO_ZERO = bytes.maketrans(b"0123456789", b"0000000000")


def ascii_digit_run(text: str) -> bool:
    """`_SCREEN_DIGITS.search(text) is not None` (three digits in a row) for an ASCII `text`, by
    one translation and one substring search in C: the regex engine tests a character set at
    every character of the text, which made this test cost as much as the phone / card search it
    guards (tests/unit/test_quality_patterns.py compares them)."""
    return b"000" in text.encode("ascii").translate(_DIGITS_TO_ZERO)


#: the precise marker patterns by kind, each with literals one of which every match of it holds
_EMAIL_SRC = r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"
_MARKER_KINDS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("template",
     r"<\|(?:im_start|im_end|eot_id|start_header_id|end_header_id|endoftext|begin_of_text)\|>"
     r"|\[/?INST\]|<</?SYS>>|<start_of_turn>|<end_of_turn>|</s>|<s>"
     r"|^#{2,3} ?(?:Instruction|Response|Input):|^(?:Human|Assistant|### Human|### Assistant):",
     ("<|", "[INST]", "[/INST]", "<<SYS>>", "<</SYS>>", "_of_turn>", "</s>", "<s>", "Instruction:", "Response:",
      "Input:", "Human:", "Assistant:")),
    ("placeholder", r"\{\{\s*[A-Za-z_][\w.\- ]{0,40}\}\}|\[(?:INSERT|YOUR)[ _][A-Z _]{1,30}\]",
     ("{{", "[INSERT", "[YOUR")),
    ("secret",
     r"\bsk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}|\bAKIA[0-9A-Z]{16}\b|\bgh[pousr]_[A-Za-z0-9]{36}\b"
     r"|\bxox[abprs]-[A-Za-z0-9-]{10,}|-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----",
     ("sk-", "AKIA", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "xox", "PRIVATE KEY-----")),
    ("email", _EMAIL_SRC, ("@",)),
)
#: the e-mail kind alone (the quick path asks whether an `@` it meets is part of an address)
EMAIL = re.compile(_EMAIL_SRC)


def _marker_pattern(kinds: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?P<{kind}>{src})" for kind, src, _ in _MARKER_KINDS if kind in kinds),
                      re.MULTILINE)


_MARKERS = _marker_pattern(tuple(kind for kind, _, _ in _MARKER_KINDS))
#: the template and secret kinds alone (the quick path asks whether a "Response:" or an "sk-" it
#: meets is one the full rules report)
TEMPLATE = _marker_pattern(("template",))
SECRET = _marker_pattern(("secret",))
#: _MARKERS without the kinds a text cannot hold, compiled when first needed
_MARKERS_OF: dict[tuple[str, ...], re.Pattern[str]] = {}


def markers_pattern(text: str) -> re.Pattern[str] | None:
    """_MARKERS for `text`, without the kinds whose literals it lacks (None: it holds no marker).

    A kind that cannot match anywhere in the text changes nothing in what the alternation
    finds, so the smaller pattern finds exactly what _MARKERS finds; and a pattern of one kind
    starts with literals, which lets the regex engine skip from one to the next instead of trying
    every alternative at every character (tests/unit/test_quality_patterns.py compares them)."""
    kinds = tuple(kind for kind, _, literals in _MARKER_KINDS if any(lit in text for lit in literals))
    if not kinds:
        return None
    pattern = _MARKERS_OF.get(kinds)
    if pattern is None:
        pattern = _MARKERS_OF[kinds] = _marker_pattern(kinds)
    return pattern


# Phone numbers and card numbers. Read as one pattern this is
#   (?P<card>(?<![\d.,])\b\d(?:[ -]?\d){12,18}\b(?![.,]\d))
#   |(?P<phone>(?<![\w)=+*/.-])(?:\+\d{1,3}[ .-]?(?:\(?\d{1,4}\)?[ .-]?){1,3}\d{3,4}
#               |(?:\(\d{3}\)[ .-]?|\b\d{3}[ .-])\d{3}[ .-]\d{4})(?![\w=+*/]))
# and it finds exactly that (tests/unit/test_quality_patterns.py compares the two on random
# text). It is written so that every match starts by consuming one character of [\d+(], with the
# lookbehinds moved after that character: the regex engine can then skip to the next digit, '+'
# or '(' instead of trying the whole pattern at every position, about five times faster on text
# with many digits. The empty groups at the end of each branch name what matched (`_NUMBER_KIND`).
_NOT_BEFORE_PHONE = r"[\w)=+*/.-]"
_NUMBERS_BODY = (
    r"(?:(?<=\d)(?:(?<![\w.,]\d)(?:[ -]?\d){12,18}\b(?![.,]\d)(?P<card>)"
    r"|(?<!" + _NOT_BEFORE_PHONE + r"\d)\d{2}[ .-]\d{3}[ .-]\d{4}(?![\w=+*/])(?P<phone>))"
    r"|(?<=\+)(?<!" + _NOT_BEFORE_PHONE + r"\+)\d{1,3}[ .-]?(?:\(?\d{1,4}\)?[ .-]?){1,3}\d{3,4}(?![\w=+*/])"
    r"(?P<phone_plus>)"
    r"|(?<=\()(?<!" + _NOT_BEFORE_PHONE + r"\()\d{3}\)[ .-]?\d{3}[ .-]\d{4}(?![\w=+*/])(?P<phone_paren>))"
)
_NUMBERS = re.compile(r"[\d+(]" + _NUMBERS_BODY)
#: the same for ASCII text, where \d is [0-9]: a plain character range is scanned faster
_NUMBERS_ASCII = re.compile(r"[0-9+(]" + _NUMBERS_BODY, re.ASCII)
_NUMBER_KIND = {"card": "card", "phone": "phone", "phone_plus": "phone", "phone_paren": "phone"}


def numbers_pattern(text: str) -> re.Pattern[str]:
    """The phone / card pattern to search `text` with (the ASCII one when the text is ASCII)."""
    return _NUMBERS_ASCII if text.isascii() else _NUMBERS


REFUSALS = (
    "as an ai language model", "as a language model", "i'm sorry, but i cannot", "i am sorry, but i cannot",
    "i cannot fulfill", "i can't fulfill", "i'm not able to provide", "my knowledge cutoff",
    "openai's usage policies", "i don't have personal opinions", "i do not have personal opinions",
    "as an ai, i",
)
#: every refusal phrase holds one of these (a test checks): fewer substrings to look for first
REFUSAL_NEEDLES = ("language model", "but i cannot", "fulfill", "able to provide", "cutoff", "usage policies",
                   "personal opinions", "an ai, i")
PLACEHOLDER_INPUTS = frozenset({"<noinput>", "no input", "noinput", "<no input>", "n/a", "<no output>", "none"})
#: no placeholder is longer; a longer text is never compared with them
_PLACEHOLDER_MAX = max(map(len, PLACEHOLDER_INPUTS)) + 4
_ODD_TEXT = {
    "control": ("quality.control_chars", "control character"),
    "zero_width": ("quality.zero_width", "zero-width character"),
    "bidi": ("quality.bidi_control", "bidirectional control character"),
    "replacement": ("quality.replacement_char", "U+FFFD replacement character"),
    "mojibake": ("quality.mojibake", "mojibake (UTF-8 read as Latin-1)"),
}


def luhn_ok(digits: str) -> bool:
    total = 0
    for k, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if k % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


_CARD_GROUPS = ((4, 6, 5), (4, 6, 4))


def card_shaped(found: str, digits: str) -> bool:
    """Digits written the way card numbers are: one run, or groups of four (Amex: 4-6-5).

    Keeps decimals, binary strings ("01010100 01110011 ...") and long sums out."""
    if set(digits) <= {"0", "1"}:
        return False
    if not (digits[0] in "3456" or "22" <= digits[:2] <= "27"):
        return False  # no card scheme starts with 0, 1, 7, 8 or 9 (sums, IDs, big products)
    groups = tuple(len(g) for g in re.split(r"[ -]", found))
    if len(groups) == 1:
        return True
    return groups in _CARD_GROUPS or (all(g == 4 for g in groups[:-1]) and 1 <= groups[-1] <= 4)


#: (text, role, message_index, JSON pointer, trained); a pointer of None stands for
#: `{base}/{message_index}/content`, built only when a finding needs it
TextItem = tuple[str, str, int | None, str | None, bool]


def check_texts(items: list[TextItem], ctx: Ctx, base: str = "/messages") -> None:
    """All text checks for the texts of one example, screened together.

    Every check that needs a search first looks at the example's texts joined into one string;
    only a screen that trips sends the texts one by one to the precise patterns. Without a trip,
    a text is looked at again only when it is short or blank (placeholder or whitespace-only)."""
    if not items:
        return
    blob = items[0][0] if len(items) == 1 else "\n".join(t[0] for t in items)
    if blob.isascii() and _SCREEN_ASCII.search(blob) is None:
        odd = marks = escapes = False
    else:
        odd = _SCREEN_CHARS.search(blob) is not None
        marks = _SCREEN_MARKERS.search(blob) is not None
        escapes = "\\n" in blob
    digits = _has_digit_run(blob)
    answers = [t[0] for t in items if t[1] == "assistant"]
    refusal = False
    if answers:
        low = (answers[0] if len(answers) == 1 else "\n".join(answers)).lower()
        refusal = any(phrase in low for phrase in REFUSALS)
    if odd or marks or digits or escapes or refusal:
        for text, role, mi, path, trained in items:
            _check_one(text, role, ctx, mi, path or f"{base}/{mi}/content", trained, odd, marks, digits,
                       escapes, refusal)
    else:
        for text, role, mi, path, trained in items:
            if len(text) <= _PLACEHOLDER_MAX or text.isspace():
                _check_one(text, role, ctx, mi, path or f"{base}/{mi}/content", trained, False, False, False,
                           False, False)
    if answers:
        prompt: str | None = None
        for text, role, mi, path, _trained in items:
            if role == "user":
                prompt = text
            elif role == "assistant":
                check_answer(text, ctx, mi, path or f"{base}/{mi}/content", prompt)


def _has_digit_run(blob: str) -> bool:
    # Most texts have no digit at all: ten substring scans are cheaper than one regex pass.
    for d in "0123456789":
        if d in blob:
            return _SCREEN_DIGITS.search(blob) is not None
    return False


def check_text(text: str, role: str, ctx: Ctx, *, mi: int | None, path: str, trained: bool) -> None:
    """All text checks for one message's text; `trained` marks assistant text that is learned."""
    check_texts([(text, role, mi, path, trained)], ctx)


def _check_one(text: str, role: str, ctx: Ctx, mi: int | None, path: str, trained: bool, odd: bool,
               marks: bool, digits: bool, escapes: bool, refusal: bool) -> None:
    if not text.strip():
        if text:
            ctx.add("quality.empty_or_whitespace", f"{role} content is only whitespace", mi=mi, path=path,
                    severity="error" if trained else None)
        return
    # an answer that is "N/A" is a stub answer (check_answer), not an input standing for none
    if role != "assistant" and len(text) <= _PLACEHOLDER_MAX and text.strip().lower() in PLACEHOLDER_INPUTS:
        ctx.add("quality.placeholder_input", f"{role} text is the placeholder {text.strip()!r}", mi=mi, path=path)
    if odd:
        seen: set[str] = set()
        for m in _ODD_CHARS.finditer(text):
            kind = m.lastgroup or ""
            if kind in seen:
                continue
            seen.add(kind)
            code, what = _ODD_TEXT[kind]
            ctx.add(code, f"{what} {m.group()!r} at character {m.start()}", mi=mi, path=path)
    # `marks` says some text of the example trips the marker screen; this text is read by the
    # precise pattern of the kinds whose literals it holds, if any. Each precise pattern reads a
    # text once: no match, no finding.
    if marks and (pattern := markers_pattern(text)) is not None:
        _markers(pattern, text, role, ctx, mi, path)
    if digits:
        _markers(numbers_pattern(text), text, role, ctx, mi, path)
    if escapes and "\\n" in text and "\n" not in text and text.count("\\n") >= 2:
        ctx.add("quality.literal_escapes", f"{role} text holds literal \\n escapes and no line breaks "
                "(JSON encoded twice?)", mi=mi, path=path)
    if refusal and role == "assistant":
        low = text.lower()
        for phrase in REFUSALS:
            if phrase in low:
                ctx.add("quality.refusal", f"assistant text contains refusal boilerplate {phrase!r}", mi=mi, path=path)
                break


def _markers(pattern: re.Pattern[str], text: str, role: str, ctx: Ctx, mi: int | None, path: str) -> None:
    seen: set[str] = set()
    for m in pattern.finditer(text):
        kind = m.lastgroup or ""
        kind = _NUMBER_KIND.get(kind, kind)
        found = m.group()
        if kind in seen:
            continue
        if kind == "template":
            ctx.add("quality.template_artifacts", f"chat-template token {found!r} inside {role} text", mi=mi, path=path)
        elif kind == "placeholder":
            ctx.add("quality.placeholder", f"unfilled placeholder {found!r} in {role} text", mi=mi, path=path)
        elif kind == "secret":
            ctx.add("quality.pii.secret", f"likely secret {_mask(found)} in {role} text", mi=mi, path=path)
        elif kind == "email":
            ctx.add("quality.pii.email", f"e-mail address {_mask(found)} in {role} text", mi=mi, path=path)
        elif kind == "card":
            digits = re.sub(r"\D", "", found)
            if not luhn_ok(digits) or not card_shaped(found, digits):
                continue
            ctx.add("quality.pii.credit_card", f"credit card number {_mask(digits)} (passes Luhn) in {role} text",
                    mi=mi, path=path)
        elif kind == "phone":
            ctx.add("quality.pii.phone", f"phone number {_mask(found)} in {role} text", mi=mi, path=path)
        seen.add(kind)


def _mask(s: str) -> str:
    # Never echo a whole secret into logs or reports.
    return repr(s[:4] + "…" + s[-2:]) if len(s) > 8 else repr(s[:2] + "…")


# --- answers: stubs, truncation, the prompt repeated (issue 12) ---------------------------------
# Cheap text rules on each assistant text. A stub is looked for only in short answers; the
# truncation cues read the last line and a few whole-text counts, so clean data pays a handful of
# C-level scans per answer.

#: longest answer still compared with the stub forms (characters, after stripping)
STUB_MAX = 60
_STUB_EXACT = frozenset({
    "todo", "tbd", "tba", "tbc", "fixme", "xxx", "wip", "n/a", "na", "n.a", "n. a", "null", "nil",
    "placeholder", "placeholder text", "answer", "response", "output", "your answer",
    "your response", "sample answer", "example answer", "coming soon", "lorem ipsum",
    "same as above", "see above", "no answer", "blank", "empty", "no output", "noinput", "no input",
})
_STUB_PATTERNS = re.compile(
    r"^(?:todo|fixme|tbd|tba|xxx+|wip)\b"  # "TODO: write the answer", "TBD - later"
    r"|^lorem ipsum\b"
    r"|^(?:please )?(?:insert|add|write|put|enter|type|fill in|provide)"
    r"(?: (?:the|your|an?|my))?(?: (?:final|full|real|correct))?"
    r" (?:answer|response|output|reply|text|content|solution)(?:s)?(?: (?:here|below))?$"
    r"|^(?:(?:the|your|my|sample|example|final|model) )?(?:answer|response|output|reply|solution)"
    r"(?: (?:text|goes|will go|comes))?(?: here| below| later)?$"
    r"|^(?:to be|will be|tbd|needs to be) (?:written|completed|added|filled(?: in)?|done|determined|"
    r"provided|answered|updated)(?: later| soon)?$"
)
#: a label in front of the stub ("Answer: TODO")
_STUB_LABEL = re.compile(r"^(?:answer|response|output|reply|a)\s*[:\-]\s*(?=\S)")
_STUB_STRIP = " \t\r\n\"'`*_.:;!,<>[](){}$#"
_ONLY_PUNCT = re.compile(r"^[\s.…?!\-–—_*#~]+$")


def stub_answer(text: str) -> str | None:
    """Why `text` reads as a placeholder rather than an answer, or None.

    Case-insensitive; the answer may be wrapped in brackets, braces or quotes ("<answer>",
    "{{answer}}", "[insert answer]") and end in punctuation. `None` alone is not a stub (it is a
    real answer to many questions)."""
    s = text.strip()
    if not s or len(s) > STUB_MAX:
        return None
    if _ONLY_PUNCT.match(s):
        return f"the answer is only {s!r}"
    low = " ".join(s.lower().split())
    core = _STUB_LABEL.sub("", low.strip(_STUB_STRIP)).strip(_STUB_STRIP).strip()
    # "lorem ipsum dolor sit amet" needs no brackets; a bracketed word such as "<answer>" or
    # "[your answer]" is a template slot
    if core in _STUB_EXACT or _STUB_PATTERNS.search(core):
        return f"the answer is the placeholder {s!r}"
    if core.replace(" ", "_") in ("insert_answer", "your_answer", "answer_here"):
        return f"the answer is the placeholder {s!r}"
    return None


#: words an English sentence does not end on (curator/quality/words.py)
_DANGLING = DANGLING
#: units and clock words that end a worked answer ("360 sq in", "2:00 am")
_UNIT_BEFORE = re.compile(r"(?:\d\S*|\bsq|\bcu)\s+(?:in|am)$")
#: a closing and a name ("Yours sincerely, Jane Austen", "Best regards, [Your Name]")
_SIGN_OFF = re.compile(r"(?:,|\s[-–—])\s*(?:\[?[A-Z][\w.\]]*\s*){1,4}(?:,\s*[A-Z]\w*)?$")
#: a last line that is arithmetic left open: "... a total of 10*9" or "60 / 15 =" (a worked answer
#: writes the result after the operation)
_OPEN_SUM = re.compile(r"(?:\d[\d.,]*\s*[+*/×÷x]\s*\$?\d[\d.,]*|\d[\d.,]*\s+-\s+\$?\d[\d.,]*"
                       r"|(?:^|[\s\d])[=+*/×÷-])\s*$")
_SUM_DONE = re.compile(r"=\s*\$?-?\d")
_SENTENCE_BREAK = re.compile(r"[a-z0-9)\"'][.!?][\"')]?\s+[A-Z]")
_END_OK = frozenset('.!?…"\'”’)]}>*`_|%°')
_TRAILING_SEP = {",": "a comma", ":": "a colon", ";": "a semicolon", "(": "an open bracket",
                 "[": "an open bracket", "{": "an open brace", "-": "a dash", "–": "a dash",
                 "—": "a dash", "/": "a slash", "&": "an ampersand"}
_CODE_HINT = re.compile(r"^\s{2,}\S|[{};]\s*$|^\s*(?:def|class|return|import|for|if|while)\b",
                        re.MULTILINE)
#: a Python line that opens a block but lost its colon ("    if i in list2")
_OPEN_BLOCK = re.compile(r"^(?:if|elif|for|while|def|class|with|try|except|else)\b.*[\w)\]]$")
_LIST_ITEM = re.compile(r"^\s*(?:[-*•]|\d+[.)]|[a-zA-Z][.)]|[IVXLC]+\.)\s")
_WORD = re.compile(r"[A-Za-z']+$")
_SIX_WORDS = re.compile(r"\s*\S+(?:\s+\S+){5}")
_PLAIN_WORD = re.compile(r"^[A-Z]?[a-z']+$")
#: every character a match of _OPEN_SUM can hold, besides digits and spaces (of any script)
_SUM_CHARS = frozenset(".,+*/×÷x-=$")
_WORD_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'")


def _open_sum(line: str) -> bool:
    """`_OPEN_SUM.search(line) is not None` for a stripped line, searched only where it can match.

    The pattern ends with `\\s*$`, so a match is a suffix of the line made of digits, spaces and
    the characters of _SUM_CHARS; searching from where that run starts finds the same (a plain
    search tries, and backtracks, at every digit and space of a long line)."""
    i = len(line)
    while i and ((c := line[i - 1]) in _SUM_CHARS or c.isdecimal() or c.isspace()):
        i -= 1
    return _OPEN_SUM.search(line, i) is not None


def _last_word(line: str) -> re.Match[str] | None:
    """`_WORD.search(line)` for a stripped line: the run of letters and apostrophes it ends with."""
    i = len(line)
    while i and line[i - 1] in _WORD_CHARS:
        i -= 1
    return _WORD.search(line, i)


def truncated_answer(text: str) -> str | None:
    """Why `text` looks cut off (a sentence, list or code block left open), or None.

    Answers of fewer than six words are never judged (short factual answers end as they like);
    a last line that is a list item, a title or code is judged only by open brackets, fences and
    a dangling separator."""
    s = text.rstrip()
    if not s:
        return None
    if "`" in s and "```" in s and s.count("```") % 2:  # "`" first: one memchr for the common case
        return "the answer opens a ``` code block and never closes it"
    tail = s[-1]
    if tail in _END_OK or _SIX_WORDS.match(s) is None:
        return None  # the common case: a finished sentence, bracket or quote; or a short answer
    last_line = s[s.rfind("\n") + 1:].strip()
    codeish = _CODE_HINT.search(last_line) is not None
    last_token = last_line.rsplit(None, 1)[-1] if last_line else ""
    url = "://" in last_token or last_token.startswith("www.")
    if tail in _TRAILING_SEP and not url and not (codeish and tail in ";{"):
        if tail in "-–—" and len(last_line) > 1 and last_line[-2] in "-–—":
            return None  # a rule line ("---")
        return f"the answer ends with {_TRAILING_SEP[tail]} ({_tail(s)})"
    if last_line.count("(") > last_line.count(")"):
        return f"the answer leaves a bracket open ({_tail(s)})"
    if _OPEN_BLOCK.match(last_line):
        return f"the answer ends on a code line that opens a block without its colon ({_tail(s)})"
    m = _last_word(last_line)
    if m and m.group().lower() in _DANGLING and not codeish and not _UNIT_BEFORE.search(last_line):
        return f"the answer ends mid-sentence on {m.group()!r} ({_tail(s)})"
    if _open_sum(last_line) and not _SUM_DONE.search(last_line[-24:]) and not url:
        return f"the answer ends inside a calculation ({_tail(s)})"
    if codeish or _LIST_ITEM.match(last_line) or "=" in last_line or not m or \
            not _PLAIN_WORD.match(last_token) or _SIGN_OFF.search(last_line) or last_token.isupper():
        return None  # code, a list, a sum, a hashtag, an identifier, a signature, a heading
    # prose: the last line holds a finished sentence, then one that stops without an end
    breaks = list(_SENTENCE_BREAK.finditer(last_line))
    if breaks and len(last_line.split()) >= 12:
        rest = last_line[breaks[-1].end() - 1:].split()
        if any(w[0].islower() for w in rest):
            return f"the answer's last sentence has no end ({_tail(s)})"
    # a line of finished sentences, then a word or two that start the next one
    lines = s.splitlines()
    if len(lines) >= 2 and len(last_line.split()) <= 2 and last_line[0].isupper() and \
            lines[-2].rstrip()[-1:] in (".", "!", "?"):
        return f"the answer stops after the first word of a new sentence ({_tail(s)})"
    return None


def _tail(s: str) -> str:
    t = " ".join(s[-40:].split())
    return "ends: …" + repr(t)[1:-1]


_NOT_ALNUM = re.compile(r"[\W_]+")
#: `_squash` for ASCII text as one bytes.translate: for ASCII characters `[\W_]` is everything
#: but [A-Za-z0-9], and lower() maps A-Z to a-z (tests/unit/test_quality_patterns.py compares them)
_ASCII_ALNUM = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_ASCII_LOWER = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", b"abcdefghijklmnopqrstuvwxyz")
_ASCII_NOT_ALNUM = bytes(c for c in range(128) if c not in _ASCII_ALNUM)


def _squash(text: str) -> str:
    return _NOT_ALNUM.sub("", text).lower()


def _squash_ascii(text: str) -> bytes:
    """`_squash(text)` as ASCII bytes, for a text that `isascii()`."""
    return text.encode("ascii").translate(_ASCII_LOWER, _ASCII_NOT_ALNUM)


def repeats_prompt(text: str, prompt: str) -> bool:
    """The answer is the prompt again up to case, spacing and punctuation (but not verbatim:
    rows.py reports that one)."""
    if abs(len(text) - len(prompt)) >= len(prompt) // 4 + 16:
        return False
    if text.isascii() and prompt.isascii():  # the common case, in one C pass per text
        squashed_ascii = _squash_ascii(text)
        if not squashed_ascii or squashed_ascii != _squash_ascii(prompt):
            return False
        return text.strip() != prompt.strip()
    squashed = _squash(text)
    return bool(squashed) and squashed == _squash(prompt) and text.strip() != prompt.strip()


def answer_suspect(text: str, prompt: str | None) -> bool:
    """True when `check_answer` would report something (the quick path's test, validate/fast.py)."""
    return stub_answer(text) is not None or truncated_answer(text) is not None or (
        prompt is not None and repeats_prompt(text, prompt))


def check_answer(text: str, ctx: Ctx, mi: int | None, path: str, prompt: str | None) -> None:
    """The answer rules for one assistant text; `prompt` is the user text it answers."""
    why = stub_answer(text)
    if why is not None:
        ctx.add("quality.placeholder_answer", why, mi=mi, path=path)
        return
    why = truncated_answer(text)
    if why is not None:
        ctx.add("quality.truncated_answer", why, mi=mi, path=path)
    if prompt is not None and repeats_prompt(text, prompt):
        ctx.add("quality.response_equals_prompt", "the assistant answer repeats the user's "
                "message (ignoring case, spacing and punctuation)", mi=mi, path=path)
