"""Coverage topics: the time of `find_topics` (embed, k-means, characteristic words) on N real
prompts.

    python bench/bench_coverage.py [--corpus /tmp/corpus/real_100k.jsonl] [--n 100000]

The prompts are the user turns of the corpus's chat rows (bench/gen_realtext.py, seed 0: real
Alpaca, GSM8K, GPTeacher text), the first N of them. Measured in this process (reading a
workspace and storing the table are not included); CPU seconds of the process (all its threads)
and wall seconds, with the load average, since wall time on a shared machine says little.
Prints JSON, with the topic table's first lines.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from curator.quality.answers import distinctive_prompts
from curator.quality.coverage import find_topics, prompt_of
from curator.quality.embed import embed
from curator.quality.text import Item


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=Path("/tmp/corpus/real_100k.jsonl"))
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--topics", type=int, default=None)
    args = ap.parse_args()
    prompts: list[str] = []
    with args.corpus.open("rb") as f:
        for line in f:
            if len(prompts) >= args.n:
                break
            p = prompt_of(orjson.loads(line))
            if p:
                prompts.append(p)
    embed(["warm up the model and the compiled kernel"])  # loading is not the clustering's cost

    c0, w0 = time.process_time(), time.perf_counter()
    vecs = embed(distinctive_prompts([Item(i, p, "") for i, p in enumerate(prompts)]))
    c1, w1 = time.process_time(), time.perf_counter()
    cov = find_topics(prompts, topics=args.topics, vectors=vecs)
    c2, w2 = time.process_time(), time.perf_counter()
    result = {
        "prompts": len(prompts), "topics": len(cov.topics),
        "embed_cpu_s": round(c1 - c0, 2), "embed_wall_s": round(w1 - w0, 2),
        "cluster_and_words_cpu_s": round(c2 - c1, 2), "cluster_and_words_wall_s": round(w2 - w1, 2),
        "total_cpu_s": round(c2 - c0, 2), "total_wall_s": round(w2 - w0, 2),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "over": [t.topic for t in cov.topics if t.flag == "over"],
        "under": [t.topic for t in cov.topics if t.flag == "under"],
        "largest": [{"topic": t.topic, "size": t.size, "words": list(t.words),
                     "central": prompts[t.example][:80]} for t in cov.topics[:8]],
    }
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
