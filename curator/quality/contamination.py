"""Contamination: training records that share text with an evaluation set.

Two checks, as in GPT-3's decontamination (Brown et al. 2020, appendix C) plus a near-duplicate
check on prompts:

* 13-grams: a record whose text (every user and assistant turn) shares any sequence of 13 words
  with an evaluation example's text. Words are lower-cased runs of letters and digits, so case,
  spacing and punctuation do not hide a copy. An evaluation text shorter than 13 words counts
  as one n-gram of its own length (from 4 words up), matched anywhere in a record's text. As in
  GPT-3's procedure, n-grams too common to mean a copy are left out: here those in 5 or more
  evaluation rows or in 20 or more records; before that, lines found in 5 or more texts (a
  tool description, a fixed instruction) are taken out of every text, for both checks.
* near-duplicate prompts: a record whose prompt has character 5-gram Jaccard similarity 0.8 or
  more with an evaluation prompt (MinHash candidates, every one verified), which catches short
  prompts and light edits that leave no 13 words in a row untouched.

A finding names the evaluation file and line (or array item), so a reviewer can look.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from curator.quality.answers import Finding
from curator.quality.text import Item, cross_pairs

CONTAMINATED = "contaminated"
NGRAM = 13
#: the shortest evaluation text matched whole (shorter ones, "Hello there", are everywhere)
MIN_SHORT = 4
PROMPT_NEAR = 0.8
#: an n-gram found in this many evaluation rows, or in this many training records (or one in
#: a thousand, when more), is boilerplate (a shared instruction or tool description) and left out
BOILERPLATE_ROWS = 5
BOILERPLATE_RECORDS = 20
_BATCH = 4096
_BITS_MASK = np.uint64((1 << 27) - 1)


@dataclass(frozen=True, slots=True)
class EvalRow:
    """One evaluation example: where it is and its texts."""

    where: str  # "eval.jsonl line 12" or "eval.json item 3"
    prompt: str
    text: str  # prompt and answer


def _texts(row: Any) -> tuple[str, str] | None:
    """(prompt, prompt and answer) of one row in a format curator reads, or None."""
    if not isinstance(row, dict):
        return None
    msgs = row.get("messages") or row.get("conversations")
    if isinstance(msgs, list):
        parts: list[tuple[str, str]] = []
        for m in msgs:
            if not isinstance(m, dict):
                continue
            role = str(m.get("role") or m.get("from") or "")
            content = m.get("content", m.get("value"))
            if isinstance(content, list):
                content = "\n".join(p.get("text", "") for p in content
                                    if isinstance(p, dict) and isinstance(p.get("text"), str))
            if isinstance(content, str) and role not in ("system",):
                parts.append((role, content))
        prompt = "\n".join(c for r, c in parts if r in ("user", "human"))
        return prompt, "\n".join(c for _, c in parts)
    for pk, ak in (("prompt", "completion"), ("question", "answer"), ("instruction", "output"),
                   ("input", "output"), ("prompt", "response")):
        if isinstance(row.get(pk), str):
            prompt = row[pk]
            if pk == "instruction" and isinstance(row.get("input"), str) and row["input"]:
                prompt += "\n" + row["input"]
            answer = row.get(ak) if isinstance(row.get(ak), str) else ""
            return prompt, f"{prompt}\n{answer}"
    if isinstance(row.get("text"), str):
        return row["text"], row["text"]
    return None


def read_eval(path: Path) -> tuple[list[EvalRow], int]:
    """The rows of an evaluation file (JSON Lines or one JSON array), and how many rows could
    not be read as an example. Raises OSError or ValueError when the file cannot be read."""
    raw = path.read_text(encoding="utf-8")
    rows: list[EvalRow] = []
    bad = 0
    stripped = raw.lstrip()
    if stripped.startswith("["):
        items: Iterator[tuple[str, Any]] = ((f"{path.name} item {k + 1}", r)
                                            for k, r in enumerate(json.loads(raw)))
    else:
        def lines() -> Iterator[tuple[str, Any]]:
            nonlocal bad
            for n, line in enumerate(raw.splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    yield f"{path.name} line {n}", json.loads(line)
                except ValueError:
                    bad += 1
        items = lines()
    for where, row in items:
        texts = _texts(row)
        if texts is None or not texts[1].strip():
            bad += 1
            continue
        rows.append(EvalRow(where, texts[0], texts[1]))
    return rows, bad


@lru_cache(maxsize=1)
def _kernels() -> tuple[Any, Any]:
    import numba

    @numba.njit(cache=True, nogil=True)  # type: ignore[misc]
    def word_hashes(buf: Any, starts: Any, ends: Any) -> tuple[Any, Any]:
        """FNV-1a hash of every word (a run of ASCII letters/digits or non-ASCII bytes, lower
        case) and the text it belongs to."""
        hashes = np.empty(len(buf) // 2 + len(starts), dtype=np.uint64)
        owner = np.empty(len(hashes), dtype=np.int64)
        n = 0
        for t in range(len(starts)):
            h = np.uint64(0)
            inword = False
            for k in range(starts[t], ends[t]):
                c = buf[k]
                if 65 <= c <= 90:
                    c += 32
                if (48 <= c <= 57) or (97 <= c <= 122) or c >= 128:
                    if not inword:
                        h = np.uint64(14695981039346656037)
                        inword = True
                    h = (h ^ np.uint64(c)) * np.uint64(1099511628211)
                elif inword:
                    hashes[n] = h
                    owner[n] = t
                    n += 1
                    inword = False
            if inword:
                hashes[n] = h
                owner[n] = t
                n += 1
        return hashes[:n], owner[:n]

    @numba.njit(cache=True, nogil=True)  # type: ignore[misc]
    def grams(hashes: Any, owner: Any, size: int) -> tuple[Any, Any]:
        """Hash of every run of `size` consecutive words within one text, and that text."""
        out = np.empty(max(len(hashes) - size + 1, 0), dtype=np.uint64)
        out_owner = np.empty(len(out), dtype=np.int64)
        m = 0
        for i in range(len(out)):
            if owner[i] != owner[i + size - 1]:
                continue
            g = np.uint64(0)
            for k in range(size):
                g = g * np.uint64(1000003) + hashes[i + k]
            out[m] = g
            out_owner[m] = owner[i]
            m += 1
        return out[:m], out_owner[:m]

    return word_hashes, grams


def _words(texts: Sequence[str]) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64],
                                          npt.NDArray[np.int64]]:
    """Word hashes, their text, and each text's word count."""
    word_hashes, _ = _kernels()
    blobs = [t.encode("utf-8", "surrogatepass") for t in texts]
    lengths = np.fromiter((len(b) for b in blobs), dtype=np.int64, count=len(blobs))
    ends = np.cumsum(lengths)
    starts = ends - lengths
    buf = np.frombuffer(b"".join(blobs), dtype=np.uint8)
    hashes, owner = word_hashes(buf, starts, ends)
    counts = np.bincount(owner, minlength=len(texts))
    return hashes, owner, counts


class NgramIndex:
    """The 13-grams (and whole short texts) of the evaluation rows, for lookups."""

    def __init__(self, texts: Sequence[str], n: int = NGRAM) -> None:
        _, grams = _kernels()
        self.n = n
        hashes, owner, counts = _words(texts)
        keys, who = [], []
        g, o = grams(hashes, owner, n)
        keys.append(g)
        who.append(o)
        self.short_sizes = sorted({int(c) for c in counts if MIN_SHORT <= c < n})
        for size in self.short_sizes:
            g, o = grams(hashes, owner, size)
            whole = counts[o] == size  # the text's whole word sequence
            keys.append(g[whole])
            who.append(o[whole])
        key = np.concatenate(keys)
        src = np.concatenate(who)
        # boilerplate: an n-gram in many evaluation rows (a shared instruction or tool
        # description) says nothing about one row
        pairs = np.unique(np.stack([key.view(np.int64), src]), axis=1)
        uniq, first, rows = np.unique(pairs[0], return_index=True, return_counts=True)
        keep = rows < BOILERPLATE_ROWS
        self.keys = uniq[keep].view(np.uint64)
        self.owner = pairs[1][first[keep]]
        order = np.argsort(self.keys)
        self.keys, self.owner = self.keys[order], self.owner[order]
        self.bits = np.zeros((int(_BITS_MASK) + 1) // 8, dtype=np.uint8)
        idx = self.keys & _BITS_MASK
        np.bitwise_or.at(self.bits, (idx >> np.uint64(3)).astype(np.int64),
                         (np.uint8(1) << (idx & np.uint64(7)).astype(np.uint8)))

    def first_hits(self, texts: Sequence[str]) -> list[int | None]:
        """For each text, the evaluation row it shares an n-gram with (the first found), or
        None."""
        _, grams = _kernels()
        hits: list[int | None] = [None] * len(texts)
        if not len(self.keys):
            return hits
        found_text, found_key = [], []
        for start in range(0, len(texts), _BATCH):
            chunk = texts[start:start + _BATCH]
            hashes, owner, _ = _words(chunk)
            for size in (self.n, *self.short_sizes):
                g, o = grams(hashes, owner, size)
                # a bit table first: most n-grams are in no evaluation row, and a lookup in
                # 16 MB of bits is far cheaper than a binary search of the keys
                idx = g & _BITS_MASK
                maybe = (self.bits[idx >> np.uint64(3)] >> (idx & np.uint64(7)).astype(np.uint8)) & 1
                g, o = g[maybe.astype(bool)], o[maybe.astype(bool)]
                pos = np.searchsorted(self.keys, g)
                pos[pos == len(self.keys)] = 0
                found = self.keys[pos] == g
                found_text.append(o[found] + start)
                found_key.append(pos[found])
        if not found_text:
            return hits
        pairs = np.unique(np.stack([np.concatenate(found_text), np.concatenate(found_key)]),
                          axis=1)
        # boilerplate again: an n-gram that many records share is a template, not a copy
        per_key = np.bincount(pairs[1], minlength=len(self.keys))
        common = per_key >= max(BOILERPLATE_RECORDS, len(texts) // 1000)
        for t, k in zip(pairs[0].tolist(), pairs[1].tolist(), strict=True):
            if hits[t] is None and not common[k]:
                hits[t] = int(self.owner[k])
        return hits


def _boilerplate_stripper(texts: Sequence[str]) -> Callable[[str], str]:
    """A function that takes out of a text the lines found in BOILERPLATE_ROWS or more of
    `texts` (a tool description, a fixed instruction); a text of nothing else is kept whole."""
    count: Counter[str] = Counter()
    for t in texts:
        if "\n" in t:
            count.update({line.strip() for line in t.splitlines() if line.strip()})
    common = {line for line, c in count.items() if c >= BOILERPLATE_ROWS}

    def strip(text: str) -> str:
        if "\n" not in text or not common:
            return text
        own = [line for line in text.splitlines() if line.strip() not in common]
        return "\n".join(own) if any(line.strip() for line in own) else text

    return strip


def find_contamination(items: Sequence[Item], evals: Sequence[EvalRow], *,
                       what: str = "evaluation") -> list[Finding]:
    """A finding for every item that shares a 13-gram (or a whole short text) with an
    evaluation row, or whose prompt is a near duplicate of an evaluation prompt."""
    if not items or not evals:
        return []
    train_texts = [f"{it.prompt}\n{it.answer}" for it in items]
    strip = _boilerplate_stripper([*train_texts, *(e.text for e in evals)])
    index = NgramIndex([strip(e.text) for e in evals])
    hits = index.first_hits([strip(t) for t in train_texts])
    out: dict[int, Finding] = {}
    for it, hit in zip(items, hits, strict=True):
        if hit is not None:
            e = evals[hit]
            size = f"{NGRAM} words in a row" if len(e.text.split()) >= NGRAM else "all its words"
            out[it.id] = Finding(CONTAMINATED, it.id, (), f"shares {size} with {what} row "
                                 f"{e.where}")
    rest = [k for k, it in enumerate(items) if it.id not in out]
    for q, ref, sim in cross_pairs([strip(items[k].prompt) for k in rest],
                                   [strip(e.prompt) for e in evals], PROMPT_NEAR):
        it = items[rest[q]]
        if it.id not in out:
            out[it.id] = Finding(CONTAMINATED, it.id, (), f"its prompt is a near duplicate "
                                 f"(similarity {sim:.2f}) of the prompt of {what} row "
                                 f"{evals[ref].where}")
    return [out[k] for k in sorted(out)]
