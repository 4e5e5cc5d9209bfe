"""Semantic duplicates: paraphrase recall of the static embeddings against char-5 MinHash, and
the time of `paraphrase_clusters` on N prompts.

    python bench/bench_semantic.py --shared ../shared/data [--n 100000]

Recall: the hand-written paraphrase pairs of bench/data/paraphrase_pairs.tsv (prompts and their
rewordings, no source), each pair compared by the cosine of its embeddings and by the character
5-gram Jaccard similarity that `curator dedup` uses. False positives: random pairs of real
prompts (Alpaca, GSM8K, GPTeacher from the shared data), boilerplate lines taken out as the
command does; a random pair above the threshold is most often a real near-copy in those sets
(GPTeacher was deduplicated only exactly), so this rate is an upper bound.

Time: N prompts made from the real ones (each used N / len(real) times, with a counter word
appended so that no two are identical), run through `paraphrase_clusters` in this process
(embedding, cell search, clustering; reading a workspace is not included). Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from curator.quality.answers import distinctive_prompts
from curator.quality.embed import embed
from curator.quality.semantic import THRESHOLD, paraphrase_clusters
from curator.quality.text import Item, jaccard, shingles

HERE = Path(__file__).resolve().parent
SOURCES = ("alpaca_5000.json", "gsm8k_train_alpaca.json", "gpteacher_roleplay.json",
           "gpteacher_toolformer.json")


def real_prompts(shared: Path) -> list[str]:
    out = []
    for name in SOURCES:
        for r in json.loads((shared / name).read_text(encoding="utf-8")):
            out.append(r["instruction"] + ("\n" + r["input"] if r.get("input") else ""))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--shared", type=Path, default=HERE.parents[1] / "shared" / "data")
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--random-pairs", type=int, default=200_000)
    args = ap.parse_args()
    pairs = [line.rstrip("\n").split("\t") for line in
             (HERE / "data" / "paraphrase_pairs.tsv").read_text(encoding="utf-8").splitlines()
             if line and not line.startswith("#")]
    a = embed([p for p, _ in pairs])
    b = embed([q for _, q in pairs])
    cos = (a * b).sum(axis=1)
    jac = np.array([jaccard(shingles(p), shingles(q)) for p, q in pairs])
    real = real_prompts(args.shared)
    vecs = embed(distinctive_prompts([Item(i, p, "") for i, p in enumerate(real)]))
    rng = np.random.default_rng(0)
    i = rng.integers(0, len(real), args.random_pairs)
    j = rng.integers(0, len(real), args.random_pairs)
    keep = i != j
    rand = (vecs[i[keep]] * vecs[j[keep]]).sum(axis=1)
    recall = {
        f"cosine>={t}": {"paraphrase_recall": round(float((cos >= t).mean()), 3),
                         "random_pair_rate": float((rand >= t).mean())}
        for t in (0.7, 0.8, THRESHOLD, 0.9)}
    recall.update({f"minhash_jaccard>={t}": {"paraphrase_recall": round(float((jac >= t).mean()), 3)}
                   for t in (0.5, 0.8)})
    reps = -(-args.n // len(real))
    texts = [f"{p} {k}" if k else p for k in range(reps) for p in real][:args.n]
    items = [Item(n + 1, t, "answer") for n, t in enumerate(texts)]
    t0 = time.perf_counter()
    found = paraphrase_clusters(items)
    took = time.perf_counter() - t0
    print(json.dumps({"pairs": len(pairs), "recall": recall, "n": args.n,
                      "paraphrase_clusters_s": round(took, 1), "labelled": len(found)}, indent=2))


if __name__ == "__main__":
    main()
