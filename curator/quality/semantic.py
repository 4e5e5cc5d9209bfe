"""Paraphrase clusters: prompts that ask the same thing in other words (few characters shared,
so MinHash dedup cannot see them), found by static embeddings (curator/quality/embed.py).

Prompts are compared without their boilerplate lines (answers.distinctive_prompts) and only
when they hold the same numbers ("the square root of 144" and "of 169" are different
questions). Clusters form around the earliest record, without chaining: a record joins the
cluster of the first earlier record it is similar to, so every member is verified against its
cluster's first record. A cluster is for review (which phrasings to keep is a choice about
coverage), so every member, the first included, is labelled and none is marked a duplicate.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence

from curator.quality.answers import Finding, distinctive_prompts
from curator.quality.text import Item, normalise

PARAPHRASE = "paraphrase"
#: cosine similarity of the pooled embeddings; on the hand-written paraphrase pairs of
#: bench/data/paraphrase_pairs.tsv about a quarter reach it, and 1 random pair of real prompts
#: in 5,000 (docs/quality.md)
THRESHOLD = 0.85
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def paraphrase_clusters(items: Sequence[Item], threshold: float = THRESHOLD) -> list[Finding]:
    """Findings for every member of every paraphrase cluster among `items`."""
    from curator.quality.embed import embed, similar_pairs

    prompts = distinctive_prompts(items)
    vecs = embed(prompts)
    pairs = similar_pairs(vecs, threshold)
    involved = {a for a, _, _ in pairs} | {b for _, b, _ in pairs}
    same = {k: normalise(prompts[k]) for k in involved}
    numbers = {k: _NUMBER.findall(prompts[k]) for k in involved}
    neighbours: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for a, b, sim in pairs:
        if same[a] == same[b]:
            continue  # the same prompt: a copy (dedup) or a conflict (signals), not a paraphrase
        if numbers[a] != numbers[b]:
            continue
        neighbours[a].append((b, sim))
    center_of: dict[int, tuple[int, float]] = {}
    members: dict[int, list[int]] = defaultdict(list)
    for a in sorted(neighbours):  # positions follow record ids: the earliest leads
        if a in center_of:
            continue
        for b, sim in neighbours[a]:
            if b not in center_of and b not in members:
                center_of[b] = (a, sim)
                members[a].append(b)
    out = []
    for c, group in members.items():
        ids = [items[m].id for m in group]
        shown = ", ".join(map(str, ids[:5])) + (" ..." if len(ids) > 5 else "")
        out.append(Finding(PARAPHRASE, items[c].id, tuple(ids),
                           f"its prompt has paraphrases in record{'s' if len(ids) > 1 else ''} "
                           f"{shown}; keep the phrasings worth training on"))
        for m in group:
            sim = center_of[m][1]
            out.append(Finding(PARAPHRASE, items[m].id, (items[c].id,),
                               f"its prompt paraphrases record {items[c].id}'s (cosine similarity "
                               f"{sim:.2f} of their embeddings)"))
    out.sort(key=lambda f: f.record)
    return out
