"""Set-level answer signals: one answer under unrelated prompts, and conflicts (near-identical
prompts with materially different answers). Pure: records in, findings out.

Both compare prompts by character 5-gram Jaccard similarity after taking out boilerplate: a line
that opens the prompts of many records (a system-like preamble such as a tool description) says
nothing about what is asked, and would make unrelated questions look alike.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from curator.quality.text import (
    Item,
    containment,
    jaccard,
    near_pairs,
    normalise,
    pairs_to_groups,
    shingles,
    words,
)
from curator.quality.words import DANGLING

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")

#: labels the findings go under in a workspace
SAME_ANSWER = "same-answer"
CONFLICT = "conflict"
#: prompts at least this alike are "near-identical" for a conflict
PROMPT_NEAR = 0.8
#: prompts whose shingles overlap less than this (the share of the smaller set found in the other)
#: are "unrelated" for a shared answer; containment, not Jaccard, so that a prompt with a word or
#: two added or taken out still counts as related
PROMPT_UNRELATED = 0.5
#: answers below this are "materially different" for a conflict
ANSWER_DIFFERENT = 0.5
#: an answer shorter than this (words) is too generic to call shared ("Yes", "Positive", "42")
MIN_SHARED_WORDS = 6
#: a prompt line found in at least this many records is boilerplate
BOILERPLATE_RECORDS = 5


@dataclass(frozen=True, slots=True)
class Finding:
    """One record flagged by one signal; `others` are the records it was compared with."""

    kind: str
    record: int
    others: tuple[int, ...]
    reason: str


def distinctive_prompts(items: Sequence[Item]) -> list[str]:
    """Each prompt without the lines that many records' prompts share (all of it when every
    line is shared)."""
    count: Counter[str] = Counter()
    split = []
    for it in items:
        lines = [normalise(line) for line in it.prompt.splitlines() if line.strip()]
        split.append(lines)
        count.update(set(lines))
    out = []
    for lines in split:
        own = [line for line in lines if count[line] < BOILERPLATE_RECORDS]
        out.append("\n".join(own or lines))
    return out


def find_answer_signals(items: Sequence[Item]) -> list[Finding]:
    """Shared answers and conflicts among `items`, sorted by record id and kind."""
    prompts = distinctive_prompts(items)
    prompt_sh = [shingles(p) for p in prompts]
    findings = _shared_answers(items, prompts, prompt_sh)
    findings += _conflicts(items, prompts)
    findings.sort(key=lambda f: (f.record, f.kind))
    return findings


def _fit(prompt: str, answer: str) -> int:
    """How many content words the answer shares with its prompt (a cheap "does it answer
    this?"). `prompt` is the prompt without its boilerplate lines, and words a phrase is built
    with (`the`, `for`, `should`) do not count: a tool preamble's `should ... the` is no sign the
    answer belongs to the question under it."""
    return len((words(prompt) & words(answer)) - DANGLING)


def _shared_answers(items: Sequence[Item], prompts: Sequence[str],
                    prompt_sh: Sequence[npt.NDArray[np.uint64]]) -> list[Finding]:
    groups: dict[str, list[int]] = defaultdict(list)
    for pos, it in enumerate(items):
        key = normalise(it.answer)
        if len(key.split()) >= MIN_SHARED_WORDS:
            groups[key].append(pos)
    out: list[Finding] = []
    for members in groups.values():
        if len(members) < 2:
            continue
        # members whose prompts are near one another ask the same thing (duplicates, dedup's job)
        unrelated = [a for a in members if all(
            containment(prompt_sh[a], prompt_sh[b]) < PROMPT_UNRELATED for b in members if b != a)]
        if len(unrelated) < 2:
            continue
        fits = {a: _fit(prompts[a], items[a].answer) for a in unrelated}
        best = max(fits.values())
        owners = [a for a in unrelated if fits[a] == best]
        keep = owners[0] if len(owners) == 1 and best > 0 else None
        ids = [items[a].id for a in unrelated]
        for a in unrelated:
            if a == keep:
                continue
            others = tuple(i for i in ids if i != items[a].id)
            shown = ", ".join(map(str, others[:5])) + (" ..." if len(others) > 5 else "")
            why = (f"the same answer as record{'s' if len(others) > 1 else ''} {shown} under an "
                   f"unrelated prompt")
            if keep is not None:
                why += (f"; it fits record {items[keep].id}'s prompt best ({best} shared words, "
                        f"{fits[a]} with this one's)")
            out.append(Finding(SAME_ANSWER, items[a].id, others, why))
    return out


def _conflicts(items: Sequence[Item], prompts: Sequence[str]) -> list[Finding]:
    pairs = []
    for a, b, sim in near_pairs(prompts, PROMPT_NEAR):
        if _NUMBER.findall(prompts[a]) != _NUMBER.findall(prompts[b]):
            continue  # "the square root of 144" and "of 169" are different questions
        ans_a, ans_b = normalise(items[a].answer), normalise(items[b].answer)
        if ans_a == ans_b:
            continue
        asim = jaccard(shingles(ans_a), shingles(ans_b))
        if asim < ANSWER_DIFFERENT:
            pairs.append((a, b, sim, asim))
    partners: dict[int, list[tuple[int, float, float]]] = defaultdict(list)
    for a, b, sim, asim in pairs:
        partners[a].append((b, sim, asim))
        partners[b].append((a, sim, asim))
    out = []
    for group in pairs_to_groups(len(items), ((a, b) for a, b, _, _ in pairs)):
        for a in group:
            b, sim, asim = max(partners[a], key=lambda p: p[1])
            others = tuple(items[g].id for g in group if g != a)
            out.append(Finding(
                CONFLICT, items[a].id, others,
                f"its prompt is near-identical to record {items[b].id}'s (similarity {sim:.2f}) "
                f"but the answers differ (similarity {asim:.2f}); keep the right one"))
    return out
