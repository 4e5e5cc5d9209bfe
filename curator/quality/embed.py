"""Static sentence embeddings, offline: WordLlama's 256-d token embeddings, average-pooled.

The `wordllama` wheel ships the weights (wordllama/weights/l2_supercat_256.safetensors, a
32000 x 256 float16 table) and the tokenizer (wordllama/tokenizers/
l2_supercat_tokenizer_config.json, a `tokenizers` JSON file). Its own loader (WordLlama.load)
looks for them under ~/.cache/wordllama and the project root rather than inside the installed
package, and downloads from the Hugging Face hub when they are not there, which fails offline;
so the two files are read here directly from the installed package. The model itself is what
WordLlama's inference does: token embeddings of the text (no special tokens), averaged, then
scaled to unit length, so a dot product is the cosine similarity.

Texts are cut to their first MAX_TOKENS tokens: a paraphrase shows in the opening of a prompt,
and it bounds the cost of a very long text.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from collections.abc import Sequence

DIM = 256
MAX_TOKENS = 256
WEIGHTS = "weights/l2_supercat_256.safetensors"
TOKENIZER = "tokenizers/l2_supercat_tokenizer_config.json"
_BATCH = 2048
_MAX_CHARS = 8 * MAX_TOKENS


class EmbeddingUnavailable(RuntimeError):
    """The wordllama package (its weights and tokenizer files) is not installed."""


def package_dir() -> Path:
    spec = importlib.util.find_spec("wordllama")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddingUnavailable(
            "semantic search needs the wordllama package: pip install wordllama")
    return Path(next(iter(spec.submodule_search_locations)))


@lru_cache(maxsize=1)
def _model() -> tuple[npt.NDArray[np.float32], Any]:
    from safetensors.numpy import load_file
    from tokenizers import Tokenizer

    root = package_dir()
    weights, tok_file = root / WEIGHTS, root / TOKENIZER
    for f in (weights, tok_file):
        if not f.is_file():
            raise EmbeddingUnavailable(f"wordllama is installed but {f} is missing; reinstall it")
    table = load_file(str(weights))["embedding.weight"].astype(np.float32)
    tokenizer = Tokenizer.from_file(str(tok_file))
    tokenizer.no_padding()
    tokenizer.enable_truncation(MAX_TOKENS)
    return np.ascontiguousarray(table), tokenizer


def embed(texts: Sequence[str]) -> npt.NDArray[np.float32]:
    """Unit-length embeddings, one row per text (a text with no tokens gets zeros)."""
    table, tokenizer = _model()
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    for start in range(0, len(texts), _BATCH):
        # MAX_TOKENS tokens never need more than a few characters each: the tokenizer reads
        # the whole text before it truncates, so cut the text first
        chunk = [t[:_MAX_CHARS] for t in texts[start:start + _BATCH]]
        encs = tokenizer.encode_batch(chunk, add_special_tokens=False)
        lengths = np.fromiter((len(e.ids) for e in encs), dtype=np.int64, count=len(encs))
        ids = np.fromiter((i for e in encs for i in e.ids), dtype=np.int64,
                          count=int(lengths.sum()))
        offsets = np.zeros(len(encs) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        _pool(table, ids, offsets, out[start:start + len(chunk)])
    return out


@lru_cache(maxsize=1)
def _pool_kernel() -> Any:
    import numba

    @numba.njit(cache=True, nogil=True)  # type: ignore[misc]
    def pool(table: Any, ids: Any, offsets: Any, out: Any) -> None:
        dim = table.shape[1]
        for t in range(len(offsets) - 1):
            a, b = offsets[t], offsets[t + 1]
            if a == b:
                continue
            acc = np.zeros(dim, dtype=np.float32)
            for k in range(a, b):
                acc += table[ids[k]]
            norm = np.sqrt(np.sum(acc * acc))
            if norm > 0:
                out[t] = acc / norm
    return pool


def _pool(table: npt.NDArray[np.float32], ids: npt.NDArray[np.int64],
          offsets: npt.NDArray[np.int64], out: npt.NDArray[np.float32]) -> None:
    # the mean's direction is the sum's: scaling the sum to unit length is enough
    _pool_kernel()(table, ids, offsets, out)


def similar_pairs(vecs: npt.NDArray[np.float32], threshold: float, *, probes: int = 2,
                  seed: int = 0) -> list[tuple[int, int, float]]:
    """(i, j, cosine) for pairs of rows (i < j) with cosine >= threshold.

    An inverted-file search: k-means puts the rows into about sqrt(n) cells, each row is
    filed under its `probes` nearest cells, and rows are compared (one matrix product per cell)
    only with the rows filed in the same cell. A pair whose two rows share no cell is missed;
    with two probes that is rare for pairs this alike (bench/bench_semantic.py measures it).
    Small inputs are compared all against all."""
    n = len(vecs)
    if n < 2:
        return []
    if n <= 4096:
        cells = [np.arange(n)]
    else:
        k = int(np.sqrt(n))
        rng = np.random.default_rng(seed)
        cent = vecs[rng.choice(n, k, replace=False)].copy()
        sample = vecs[rng.choice(n, min(n, 50 * k), replace=False)]
        for _ in range(6):  # k-means on a sample: cells need only be good, not best
            owner = np.argmax(sample @ cent.T, axis=1)
            for c in range(k):
                members = sample[owner == c]
                if len(members):
                    m = members.sum(axis=0)
                    cent[c] = m / max(float(np.linalg.norm(m)), 1e-12)
        near = np.empty((n, probes), dtype=np.int64)
        for start in range(0, n, 8192):
            sims = vecs[start:start + 8192] @ cent.T
            near[start:start + 8192] = np.argpartition(-sims, probes - 1, axis=1)[:, :probes]
        order = np.argsort(near.ravel(), kind="stable")
        cell_of = near.ravel()[order]
        row_of = order // probes
        bounds = np.searchsorted(cell_of, np.arange(k + 1))
        cells = [row_of[bounds[c]:bounds[c + 1]] for c in range(k)]
    left, right, score = [], [], []
    for rows in cells:
        if len(rows) < 2:
            continue
        rows = np.sort(rows)
        sims = vecs[rows] @ vecs[rows].T
        a, b = np.nonzero(np.triu(sims >= threshold, 1))
        left.append(rows[a])
        right.append(rows[b])
        score.append(sims[a, b])
    if not left:
        return []
    i, j, s = np.concatenate(left), np.concatenate(right), np.concatenate(score)
    # a pair filed in two shared cells is found twice: keep one
    _, first = np.unique(i.astype(np.int64) * n + j, return_index=True)
    return list(zip(i[first].tolist(), j[first].tolist(), s[first].astype(float).tolist(),
                    strict=True))
