"""Semantic duplicates: WordLlama's static embeddings loaded from the installed wheel, the cell
search, and paraphrase clusters (labelled for review, never duplicates)."""

from __future__ import annotations

import numpy as np
import pytest

from curator.quality import embed as embed_mod
from curator.quality.embed import EmbeddingUnavailable, embed, similar_pairs
from curator.quality.semantic import PARAPHRASE, paraphrase_clusters
from curator.quality.text import Item


def test_embeddings_are_unit_length_and_put_paraphrases_closer_than_other_prompts() -> None:
    v = embed(["How do I reverse a list in Python?",
               "What's the way to invert the order of a Python list?",
               "Give three tips for staying healthy.", ""])
    assert v.shape == (4, 256) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v[:3], axis=1), 1.0, atol=1e-5)
    assert not v[3].any()  # no tokens: zeros, not NaN
    assert v[0] @ v[1] > 0.7 > v[0] @ v[2] + 0.3


def test_the_cell_search_finds_what_comparing_all_pairs_finds() -> None:
    rng = np.random.default_rng(1)
    base = rng.normal(size=(5000, 256)).astype(np.float32)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    twins = base[:300] + rng.normal(scale=0.02, size=(300, 256)).astype(np.float32)
    twins /= np.linalg.norm(twins, axis=1, keepdims=True)
    vecs = np.concatenate([base, twins])  # 5300 rows: the cell search, not all against all
    found = {(a, b) for a, b, _ in similar_pairs(vecs, 0.9)}
    sims = vecs @ vecs.T
    a, b = np.nonzero(np.triu(sims >= 0.9, 1))
    truth = set(zip(a.tolist(), b.tolist(), strict=True))
    assert len(truth) == 300
    # every pair reported is true; a pair whose rows share no cell can be missed (random
    # vectors have no structure for the cells to follow: the hardest case)
    assert found <= truth and len(found) >= 0.97 * len(truth)
    assert {(a, b) for a, b, _ in similar_pairs(vecs, 0.9, probes=8)} == truth


def test_paraphrase_clusters_label_every_member_and_skip_other_numbers() -> None:
    items = [Item(1, "What is the capital city of Australia?", "Canberra."),
             Item(2, "Which city is the capital of Australia?", "Canberra is."),
             Item(3, "Describe the life cycle of a butterfly.", "Egg, larva, pupa, adult."),
             Item(4, "What is the square root of 144?", "12"),
             Item(5, "What is the square root of 169?", "13")]
    found = {f.record: f for f in paraphrase_clusters(items, threshold=0.8)}
    assert set(found) == {1, 2}
    assert found[2].kind == PARAPHRASE and found[2].others == (1,)
    assert "paraphrases record 1's" in found[2].reason
    assert "has paraphrases in record 2" in found[1].reason


def test_a_missing_wordllama_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embed_mod.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(EmbeddingUnavailable, match="pip install wordllama"):
        embed_mod.package_dir()
