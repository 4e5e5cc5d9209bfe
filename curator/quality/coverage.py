"""Coverage: the prompts of a set grouped into topics, with sizes, so a user sees what the set
over- and under-represents.

Each prompt (a record's user turns; a preference or feedback record's prompt) is embedded with
the offline static embeddings of curator/quality/embed.py, without the lines that many prompts
share (a tool description or a fixed instruction would otherwise make unrelated questions look
alike; answers.distinctive_prompts). The vectors are clustered by spherical k-means (cosine
similarity, k-means++ seeding, seeded, so the same prompts give the same topics).

How many topics: about sqrt(n / 2) (the common rule of thumb for k-means), at least 1 and at
most MAX_TOPICS: a table is read by a person, and past a few dozen lines nobody does. `topics=`
overrides it.

Each topic is described by its size and share, its most central prompt (the member most similar
to the topic's centre) and a few characteristic words: the words (stop words left out) whose
share of the topic's prompts most exceeds their share of all prompts, scored by
p_topic * log(p_topic / p_all), the word's term of the Kullback-Leibler divergence between the
topic and the whole set, so a word must be both common in the topic and rarer outside it.

Flags: a topic more than OVER_FACTOR times the median topic size is over-represented ("over");
one under the median divided by UNDER_FACTOR is under-represented ("under"). Both are relative
to this set: what the set should hold is the user's call.

Core: no SQL, no UI; the workspace side (reading prompts, storing topics) is
curator/workspace/coverage.py.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from curator.formats.content import content_text

#: the most topics the default rule picks (`topics=` may ask for more)
MAX_TOPICS = 50
#: a topic this many times the median size or more is flagged over-represented
OVER_FACTOR = 3.0
#: a topic under the median size divided by this is flagged under-represented
UNDER_FACTOR = 3.0
#: characteristic words shown per topic
WORDS = 5
#: Lloyd iterations at most (they stop earlier when no prompt changes topic)
ITERATIONS = 30
#: k-means runs from different seedings; the best fit is kept
RESTARTS = 3
#: k-means++ seeding looks at a sample of at most this many prompts
#: k-means restarts run on a sample of at most _FIT_PER_TOPIC prompts per topic (k-means++
#: seeding on _SEED_PER_TOPIC per topic), then the best is refined on all of them for at most
#: _REFINE iterations: a topic's centre needs a few hundred members, not thousands
_SEED_PER_TOPIC = 100
_FIT_PER_TOPIC = 250
_REFINE = 10
_CHUNK = 16_384
_WORD = re.compile(r"[^\W\d_][\w'’-]*")

OVER, UNDER = "over", "under"

#: English function words and the words every instruction uses; never a topic's word. Written
#: for this module (pronouns, articles, auxiliaries, prepositions, conjunctions, quantifiers).
_STOP_TEXT = """
a about above after again against all also am an and any are aren't as at be because been
before being below between both but by can can't cannot could couldn't did didn't do does doesn't
doing don't down during each either else ever every few for from further get gets given got had
hadn't has hasn't have haven't having he her here hers herself him himself his how however i if
in into is isn't it it's its itself just least less let let's like made make many may me might
more most much must mustn't my myself need neither no nor not now of off often on once one only
or other others our ours ourselves out over own per please rather same shall she should
shouldn't since so some such than that that's the their theirs them themselves then there
there's these they this those though through thus to too under until up upon us use used using
very via was wasn't we were weren't what what's when where whether which while who whom whose
why will with within without won't would wouldn't yes yet you your yours yourself yourselves
following provide provided give write describe explain answer question input output text
another way ways something thing things based
"""
STOP_WORDS = frozenset(_STOP_TEXT.split())


@dataclass(frozen=True, slots=True)
class Topic:
    """One topic. `topic` numbers topics by size, 1 the largest; `example` is the position (in
    the prompts given) of its most central prompt."""

    topic: int
    size: int
    share: float  # of the clustered prompts
    example: int
    words: tuple[str, ...]
    cohesion: float  # mean cosine similarity of the members to the topic's centre
    flag: str | None  # OVER, UNDER or None
    #: the central prompt as it was clustered (without the lines many prompts share)
    example_text: str = ""


@dataclass(frozen=True, slots=True)
class Coverage:
    topics: list[Topic]  # largest first
    #: each prompt's topic number; 0 for a prompt with no words to embed (not clustered)
    assignment: npt.NDArray[np.int64]
    median: float  # median topic size

    @property
    def clustered(self) -> int:
        return int(np.count_nonzero(self.assignment))


def default_topics(n: int) -> int:
    """The number of topics for `n` prompts: about sqrt(n / 2), from 1 to MAX_TOPICS."""
    return max(1, min(MAX_TOPICS, round(float(np.sqrt(n / 2)))))


def _user_text(messages: Any) -> list[str]:
    if not isinstance(messages, list):
        return []
    return [content_text(m.get("content")) for m in messages
            if isinstance(m, dict) and m.get("role") == "user"]


def prompt_of(example: Any) -> str:
    """The prompt of a canonical record: its user turns, joined by newlines (a chat record's
    `messages`, a preference or feedback record's `prompt`); "" when it has none."""
    if not isinstance(example, Mapping):
        return ""
    if "messages" in example:
        turns = _user_text(example.get("messages"))
    else:  # preference and feedback records: a list of messages (a plain string: the prompt)
        prompt = example.get("prompt")
        turns = [prompt] if isinstance(prompt, str) else _user_text(prompt)
    return "\n".join(t for t in turns if t)


def _seed_centres(x: npt.NDArray[np.float32], k: int,
                  rng: np.random.Generator) -> npt.NDArray[np.float32]:
    """Greedy k-means++ on unit vectors (squared distance 2 - 2 cos): each new centre is the
    best of a few candidates drawn in proportion to the squared distance, the one that lowers
    the total most. Fewer centres when the vectors hold fewer than k distinct directions."""
    size = max(_SEED_PER_TOPIC * k, 1000)
    sample = x if len(x) <= size else x[np.sort(rng.choice(len(x), size, replace=False))]
    m = len(sample)
    tries = 2 + int(np.log(k))
    chosen = [int(rng.integers(m))]
    d2 = np.maximum(2.0 - 2.0 * (sample @ sample[chosen[0]]), 0.0).astype(np.float64)
    while len(chosen) < k:
        total = float(d2.sum())
        if total <= 1e-9:
            break
        picks = np.minimum(np.searchsorted(np.cumsum(d2), rng.random(tries) * total,
                                           side="right"), m - 1)
        cand = np.maximum(2.0 - 2.0 * (sample[picks] @ sample.T), 0.0)  # tries x m
        reduced = np.minimum(cand, d2[None, :])
        best = int(np.argmin(reduced.sum(axis=1)))
        chosen.append(int(picks[best]))
        d2 = reduced[best]
    return np.ascontiguousarray(sample[chosen], dtype=np.float32)


def _nearest(x: npt.NDArray[np.float32], centres: npt.NDArray[np.float32]
             ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    owner = np.empty(len(x), dtype=np.int64)
    best = np.empty(len(x), dtype=np.float32)
    for start in range(0, len(x), _CHUNK):
        sims = x[start:start + _CHUNK] @ centres.T
        owner[start:start + _CHUNK] = np.argmax(sims, axis=1)
        best[start:start + _CHUNK] = sims[np.arange(len(sims)), owner[start:start + _CHUNK]]
    return owner, best


def kmeans(x: npt.NDArray[np.float32], k: int, *, seed: int = 0, iterations: int = ITERATIONS,
           restarts: int = RESTARTS) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """Spherical k-means of unit vectors: (each row's cluster, the unit centres), the best of
    `restarts` runs (the highest total similarity of the rows to their centres; one seeding can
    put two centres in one group and leave two groups under one). A cluster left empty takes
    the row its centre serves worst, so every cluster keeps members."""
    rng = np.random.default_rng(seed)
    # the restarts run on a sample of a large input, the best of them is refined on all rows
    size = max(_FIT_PER_TOPIC * k, 5000)
    sample = x if len(x) <= size else x[np.sort(rng.choice(len(x), size, replace=False))]
    best: tuple[float, npt.NDArray[np.int64], npt.NDArray[np.float32]] | None = None
    for _ in range(max(1, restarts)):
        owner, centres, fit = _lloyd(sample, _seed_centres(sample, k, rng), iterations)
        if best is None or fit > best[0] + 1e-6:
            best = (fit, owner, centres)
    assert best is not None
    if sample is x:
        return best[1], best[2]
    owner, centres, _ = _lloyd(x, best[2], _REFINE)
    return owner, centres


def _lloyd(x: npt.NDArray[np.float32], centres: npt.NDArray[np.float32], iterations: int
           ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32], float]:
    k = len(centres)
    owner, best = _nearest(x, centres)
    for _ in range(iterations):
        counts = np.bincount(owner, minlength=k)
        order = np.argsort(owner, kind="stable")
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        sums = np.zeros_like(centres)
        xs = x[order]
        for c in np.flatnonzero(counts):  # np.add.reduceat over rows is many times slower
            sums[c] = xs[starts[c]:starts[c] + counts[c]].sum(axis=0)
        empty = np.flatnonzero(counts == 0)
        if len(empty):
            worst = np.argsort(best, kind="stable")[:len(empty)]
            sums[empty] = x[worst]
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        centres = (sums / np.maximum(norms, 1e-12)).astype(np.float32)
        new_owner, best = _nearest(x, centres)
        if np.array_equal(new_owner, owner) and not len(empty):
            break
        owner = new_owner
    return owner, centres, float(best.astype(np.float64).sum())


def _words(texts: Sequence[str]) -> list[set[str]]:
    out = []
    for t in texts:
        out.append({w.strip("'’-") for w in _WORD.findall(t.lower())
                    if len(w) >= 3 and w not in STOP_WORDS} - STOP_WORDS - {""})
    return out


def characteristic_words(texts: Sequence[str], owner: npt.NDArray[np.int64], k: int,
                         top: int = WORDS) -> list[tuple[str, ...]]:
    """For each cluster 0..k-1, the `top` words whose share of the cluster's texts most exceeds
    their share of all texts (score p_c * log(p_c / p), at least two texts of the cluster, or
    one in a cluster of one or two)."""
    vocab: dict[str, int] = {}
    doc_ids: list[int] = []
    word_ids: list[int] = []
    for pos, ws in enumerate(_words(texts)):
        for w in ws:
            doc_ids.append(pos)
            word_ids.append(vocab.setdefault(w, len(vocab)))
    out: list[tuple[str, ...]] = [() for _ in range(k)]
    if not vocab:
        return out
    names = np.array(sorted(vocab, key=vocab.__getitem__), dtype=object)
    words = np.asarray(word_ids, dtype=np.int64)
    clusters = owner[np.asarray(doc_ids, dtype=np.int64)]
    v = len(vocab)
    df_all = np.bincount(words, minlength=v).astype(np.float64)
    pair, df_c = np.unique(clusters * v + words, return_counts=True)
    c_of, w_of = pair // v, pair % v
    sizes = np.bincount(owner, minlength=k).astype(np.float64)
    n = float(len(texts))
    p_c = df_c / sizes[c_of]
    p = df_all[w_of] / n
    score = p_c * np.log(p_c / p)
    needed = np.where(sizes[c_of] <= 2, 1, 2)
    keep = (df_c >= needed) & (p_c > p)
    # per cluster, best score first; ties by the word, so the order never depends on hashing
    idx = np.flatnonzero(keep)
    order = idx[np.lexsort((names[w_of[idx]].astype(str), -score[idx], c_of[idx]))]
    bounds = np.searchsorted(c_of[order], np.arange(k + 1))
    for c in range(k):
        chosen = order[bounds[c]:bounds[c + 1]][:top]
        out[c] = tuple(str(names[w]) for w in w_of[chosen])
    return out


def find_topics(prompts: Sequence[str], *, topics: int | None = None, seed: int = 0,
                vectors: npt.NDArray[np.float32] | None = None) -> Coverage:
    """Cluster `prompts` into topics (see the module's docstring). `vectors`: their unit
    embeddings when the caller has them (else curator.quality.embed computes them)."""
    from curator.quality.answers import distinctive_prompts
    from curator.quality.text import Item

    texts = distinctive_prompts([Item(i, p, "") for i, p in enumerate(prompts)])
    if vectors is None:
        from curator.quality.embed import embed

        vectors = embed(texts)
    usable = np.flatnonzero(np.linalg.norm(vectors, axis=1) > 0)
    assignment = np.zeros(len(prompts), dtype=np.int64)
    if not len(usable):
        return Coverage([], assignment, 0.0)
    x = np.ascontiguousarray(vectors[usable], dtype=np.float32)
    k = min(len(usable), topics if topics is not None else default_topics(len(usable)))
    owner, centres = kmeans(x, k, seed=seed)
    k = len(centres)
    sizes = np.bincount(owner, minlength=k)
    sims = np.einsum("ij,ij->i", x, centres[owner])
    used_texts = [texts[i] for i in usable]
    words = characteristic_words(used_texts, owner, k)
    # number topics by size, largest first; ties by their first member
    first = np.full(k, len(x), dtype=np.int64)
    np.minimum.at(first, owner, np.arange(len(x)))
    ranked = [int(c) for c in np.lexsort((first, -sizes)) if sizes[c] > 0]
    median = float(np.median(sizes[ranked]))
    number = np.zeros(k, dtype=np.int64)
    out = []
    for t, c in enumerate(ranked, start=1):
        number[c] = t
        members = np.flatnonzero(owner == c)
        central = int(members[np.argmax(sims[members])])
        size = int(sizes[c])
        flag = (OVER if len(ranked) > 1 and size > OVER_FACTOR * median else
                UNDER if len(ranked) > 1 and size * UNDER_FACTOR < median else None)
        out.append(Topic(t, size, size / len(x), int(usable[central]), words[c],
                         float(sims[members].mean()), flag, texts[int(usable[central])]))
    assignment[usable] = number[owner]
    return Coverage(out, assignment, median)


# -- the topic table as stored and shown (the workspace fills it: curator/workspace/coverage.py) --

#: what the report and the review app say when no topics were computed
HOW_TO = "run `curator coverage -w WS` to group the prompts into topics"


@dataclass(frozen=True, slots=True)
class TopicRow:
    """One stored topic, for the CLI, the report and the review app."""

    topic: int
    size: int
    share: float
    words: tuple[str, ...]
    cohesion: float
    flag: str | None
    example_record: int | None  # the record of its most central prompt
    #: that prompt as it was clustered (without the lines many prompts share), its first
    #: EXAMPLE_CHARS characters
    example: str

    def to_dict(self) -> dict[str, Any]:
        return {"topic": self.topic, "size": self.size, "share": round(self.share, 6),
                "words": list(self.words), "cohesion": round(self.cohesion, 4),
                "flag": self.flag, "example_record": self.example_record,
                "example": self.example}


#: characters of a topic's central prompt kept with the table
EXAMPLE_CHARS = 300


@dataclass(frozen=True, slots=True)
class CoverageSummary:
    """The last coverage run, and how the records changed since (`stale`)."""

    topics: list[TopicRow]  # largest first
    records: int  # records clustered (with a prompt)
    without_prompt: int  # included records with no prompt text (not clustered, topic 0)
    median: float
    computed_at: str
    asked: int | None  # the number of topics asked for (None: the default rule)
    added: int = 0  # included records with no topic (new, or included again since)
    changed: int = 0  # records whose prompt changed since
    removed: int = 0  # records with a topic that are no longer included (rejected, duplicate)

    @property
    def stale(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    def flagged(self, flag: str) -> list[TopicRow]:
        return [t for t in self.topics if t.flag == flag]

    def staleness(self) -> str:
        """One line: why the table no longer describes the records ("" when it does)."""
        if not self.stale:
            return ""
        parts = [f"{n:,} {what}" for n, what in (
            (self.added, "records added"), (self.changed, "prompts edited"),
            (self.removed, "records rejected or marked duplicate")) if n]
        return (f"stale: {', '.join(parts)} since {self.computed_at}; run `curator coverage` "
                "again")

    def to_dict(self) -> dict[str, Any]:
        return {"computed_at": self.computed_at, "records": self.records,
                "without_prompt": self.without_prompt, "topics_asked": self.asked,
                "median_size": self.median, "stale": self.stale,
                "since": {"added": self.added, "changed": self.changed, "removed": self.removed},
                "over_represented": [t.topic for t in self.flagged(OVER)],
                "under_represented": [t.topic for t in self.flagged(UNDER)],
                "topics": [t.to_dict() for t in self.topics]}


def _one_line(text: str) -> str:
    return " ".join(text.split())


def table_lines(s: CoverageSummary, *, bar: int = 24, example: int = 60,
                examples: bool = True) -> list[str]:
    """The topic table as text lines: topic, size, share, a bar, the flag, the characteristic
    words and (with `examples`, on a second line) the central prompt: record id and opening."""
    peak = max((t.size for t in s.topics), default=1) or 1
    head = "words / central prompt" if examples else "words"
    lines = [f"{'topic':>5} {'size':>7} {'share':>6}  {'':<{bar}}  {'':<5} {head}"]
    for t in s.topics:
        n = round(t.size / peak * bar)
        mark = {OVER: "OVER", UNDER: "under"}.get(t.flag or "", "")
        cut = _one_line(t.example)
        cut = cut if len(cut) <= example else cut[:example - 1] + "…"
        rec = f"#{t.example_record}" if t.example_record is not None else ""
        lines.append(f"{t.topic:>5} {t.size:>7,} {t.share:>6.1%}  "
                     f"{('█' * n or '▏'):<{bar}}  {mark:<5} {', '.join(t.words) or '-'}")
        if examples:
            lines.append(f"{'':>5} {'':>7} {'':>6}  {'':<{bar}}  {'':<5}   {rec} {cut}")
    return lines


def findings(s: CoverageSummary) -> list[str]:
    """Sentences naming the over- and under-represented topics."""
    out = []
    for flag, what, how in ((OVER, "over-represented", f"more than {OVER_FACTOR:g}x"),
                            (UNDER, "under-represented", f"under 1/{UNDER_FACTOR:g} of")):
        rows = s.flagged(flag)
        if rows:
            named = "; ".join(f"{t.topic} ({', '.join(t.words[:3]) or 'no words'}: {t.size:,})"
                              for t in rows)
            out.append(f"{what} ({how} the median topic size {s.median:g}): topic"
                       f"{'s' if len(rows) > 1 else ''} {named}")
    if not out and s.topics:
        out.append(f"no topic above {OVER_FACTOR:g}x or under 1/{UNDER_FACTOR:g} of the median "
                   f"topic size {s.median:g}")
    return out
