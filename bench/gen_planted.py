"""A planted-defect set built from real public text, to measure what curator's checks catch.

    python bench/gen_planted.py --out /tmp/planted --clean 600 --per-kind 15 --seed 0
    python bench/bench_planted.py --data /tmp/planted

Reads the Alpaca, GSM8K and GPTeacher files in ../shared/data (the project may not ship them, so
tests never use this script) and writes:

* OUT/data.jsonl: OpenAI chat rows (user, assistant; a system prompt now and then), clean rows
  and planted defects shuffled together;
* OUT/truth.jsonl: one line per data line, `{"line": n, "kind": ..., "of": line or null,
  "detail": ...}`; kind `clean` for untouched rows;
* OUT/holdout.jsonl and OUT/eval.jsonl: clean rows from the same sources that are not in
  data.jsonl (a held-out set, and an "evaluation set" for contamination checks), except that
  `contaminated` rows of data.jsonl are copies of eval.jsonl rows.

Kinds (the defects that hurt a tune, issue 12's list):

* `empty`: the answer is empty or whitespace;
* `placeholder`: the answer is a stub (TODO, lorem ipsum, <answer>, ..., [insert answer], N/A, TBD,
  {{answer}}, "Answer goes here", in mixed case);
* `truncated`: a real answer of 25+ words cut at a word boundary between 30 % and 70 % of its
  length, so it ends mid-sentence;
* `wrong`: the answer of another, unrelated row;
* `swapped`: two rows whose answers are exchanged (both lines are defects);
* `prompt_repeat`: the answer repeats the prompt;
* `same_answer`: one row's answer copied under two more unrelated prompts (the copies are defects);
* `exact_dup` / `near_dup`: a copy of a clean row, byte-identical or with one to three words
  changed (a duplicate, harmful in validation, not wrong in itself);
* `conflict`: a clean row's prompt (lightly edited) with another row's answer;
* `contaminated`: a row of eval.jsonl copied into the training data.

Deterministic for a seed; the line numbers in truth.jsonl are 1-based, as curator reports them.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path
from typing import Any

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
SOURCES = ("alpaca_5000.json", "gsm8k_train_alpaca.json", "gpteacher_roleplay.json",
           "gpteacher_toolformer.json")
SYSTEMS = ("You are a helpful assistant.", "Answer accurately and concisely.",
           "You are a patient tutor. Show your reasoning.")
PLACEHOLDERS = ("TODO", "todo: write the answer", "Lorem ipsum dolor sit amet, consectetur.",
                "<answer>", "...", "[insert answer]", "N/A", "n/a", "TBD", "{{answer}}",
                "Answer goes here", "<ANSWER HERE>", "[Your answer]", "lorem ipsum", "xxx",
                "PLACEHOLDER", "(answer)", "To be written.")
#: a second list for the held-out set (`--placeholders alt`), written before the detection rules
#: were, so the rules are not tuned on its exact strings
PLACEHOLDERS_ALT = ("FIXME", "Answer: TODO", "[answer here]", "Your answer here.", "tbd.",
                    "<insert response>", "(to be completed)", "Coming soon", "WIP", "<response>",
                    "{response}", "Lorem Ipsum", "N.A.", "…", "[PLACEHOLDER]", "?", "-",
                    "Insert answer here", "TODO - fill in later", "placeholder text")
KINDS = ("empty", "placeholder", "truncated", "wrong", "swapped", "prompt_repeat", "same_answer",
         "exact_dup", "near_dup", "conflict", "contaminated")


#: the held-out set's sources (`--sources alt`): another mix, with prompt/completion rows
SOURCES_ALT = ("llamafactory_alpaca_en_demo.json", "dolly_so3_prompt_completion.jsonl",
               "alpaca_5000.json", "gsm8k_train_alpaca.json", "gpteacher_roleplay.json")


def _rows(path: Path) -> list[tuple[str, str]]:
    if path.suffix == ".jsonl":  # prompt/completion; a line that is not valid JSON is skipped
        pairs = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                r = json.loads(line)
            except ValueError:
                continue
            pairs.append((str(r["prompt"]).strip(), str(r["completion"]).strip()))
        return pairs
    out = []
    for row in json.loads(path.read_text(encoding="utf-8")):
        prompt = row["instruction"].strip()
        if row.get("input", "").strip():
            prompt += "\n\n" + row["input"].strip()
        out.append((prompt, row["output"].strip()))
    return out


def load_pool(shared: Path, sources: tuple[str, ...] = SOURCES) -> list[tuple[str, str]]:
    pool: list[tuple[str, str]] = []
    seen: set[str] = set()
    for name in sources:
        for prompt, answer in _rows(shared / name):
            if not prompt or not answer or prompt in seen:
                continue
            seen.add(prompt)
            pool.append((prompt, answer))
    return pool


def chat(prompt: str, answer: str, rng: random.Random) -> dict[str, Any]:
    messages = [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}]
    if rng.random() < 0.2:
        messages.insert(0, {"role": "system", "content": rng.choice(SYSTEMS)})
    return {"messages": messages}


def edit_words(text: str, rng: random.Random, n: int) -> str:
    words = text.split(" ")
    for _ in range(n):
        i = rng.randrange(len(words))
        op = rng.random()
        if op < 0.4 and len(words) > 3:
            del words[i]
        elif op < 0.7:
            words.insert(i, rng.choice(("also", "really", "then", "just", "now", "please")))
        else:
            words[i] = words[i].upper() if words[i].islower() else words[i].lower()
    return " ".join(words)


def truncate(answer: str, rng: random.Random) -> str | None:
    words = answer.split(" ")
    if len(words) < 25:
        return None
    cut = rng.randint(int(len(words) * 0.3), int(len(words) * 0.7))
    text = " ".join(words[:cut]).rstrip()
    # A cut that lands on a sentence end is not a truncation anyone could see.
    while text and text[-1] in ".!?:;)\"'":
        text = text[:-1].rstrip()
    return text or None


def build(pool: list[tuple[str, str]], clean_n: int, per_kind: int, eval_n: int,
          holdout_n: int, seed: int,
          placeholders: tuple[str, ...] = PLACEHOLDERS) -> dict[str, list[Any]]:
    rng = random.Random(seed)
    rng.shuffle(pool)
    need = clean_n + eval_n + holdout_n + per_kind * 8
    if len(pool) < need:
        raise SystemExit(f"only {len(pool)} usable rows in the sources, need {need}")
    clean, rest = pool[:clean_n], pool[clean_n:]
    evals, rest = rest[:eval_n], rest[eval_n:]
    holdout, donors = rest[:holdout_n], rest[holdout_n:]
    rows: list[tuple[tuple[str, str], str, int | None, str]] = [(c, "clean", i, "") for i, c in
                                                               enumerate(clean)]
    # rows[k] = ((prompt, answer), kind, index of the clean row it derives from, detail)
    fresh = iter(donors)

    def take() -> tuple[str, str]:
        return next(fresh)

    for i in range(per_kind):
        p, _a = take()
        rows.append(((p, rng.choice(("", " ", "\n"))), "empty", None, ""))
        p, _a = take()
        ph = rng.choice(placeholders)
        rows.append(((p, ph), "placeholder", None, ph))
        while True:
            p, a = take()
            t = truncate(a, rng)
            if t:
                rows.append(((p, t), "truncated", None, f"{len(t.split())} of {len(a.split())} words"))
                break
        p, _a = take()
        _p2, a2 = take()
        rows.append(((p, a2), "wrong", None, "answer of an unrelated row"))
        p1, a1 = take()
        p2, a2 = take()
        rows.append(((p1, a2), "swapped", None, "answers exchanged with its pair"))
        rows.append(((p2, a1), "swapped", None, "answers exchanged with its pair"))
        p, _a = take()
        rows.append(((p, p), "prompt_repeat", None, ""))
        src = rng.randrange(clean_n)
        rows.append((clean[src], "exact_dup", src, ""))
        src = rng.randrange(clean_n)
        p, a = clean[src]
        rows.append(((edit_words(p, rng, rng.randint(1, 3)), a), "near_dup", src, ""))
        src = rng.randrange(clean_n)
        _p2, a2 = take()
        rows.append(((edit_words(clean[src][0], rng, 1), a2), "conflict", src,
                     "near-identical prompt, another answer"))
        rows.append((evals[i % len(evals)], "contaminated", None, "copied from eval.jsonl"))
    for _ in range(max(1, per_kind // 2)):
        src = rng.randrange(clean_n)
        for _k in range(2):
            p, _a = take()
            rows.append(((p, clean[src][1]), "same_answer", src, "answer of another row"))
    order = list(range(len(rows)))
    rng.shuffle(order)
    line_of = {k: n + 1 for n, k in enumerate(order)}  # clean row index -> its 1-based line
    data, truth = [], []
    for n, k in enumerate(order):
        (p, a), kind, src, detail = rows[k]
        data.append(chat(p, a, rng))
        truth.append({"line": n + 1, "kind": kind, "of": line_of[src] if src is not None else None,
                      "detail": detail})
    return {
        "data": data, "truth": truth,
        "eval": [chat(p, a, rng) for p, a in evals],
        "holdout": [chat(p, a, rng) for p, a in holdout],
    }


def write_jsonl(path: Path, rows: list[Any]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--clean", type=int, default=600)
    ap.add_argument("--per-kind", type=int, default=15)
    ap.add_argument("--eval", type=int, default=200)
    ap.add_argument("--holdout", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--shared", type=Path, default=SHARED)
    ap.add_argument("--sources", choices=("default", "alt"), default="default",
                    help="alt: another source mix (with prompt/completion rows) for a held-out set")
    ap.add_argument("--placeholders", choices=("default", "alt"), default="default",
                    help="alt: a second list of stub answers, for a held-out set")
    args = ap.parse_args()
    sources = SOURCES_ALT if args.sources == "alt" else SOURCES
    stubs = PLACEHOLDERS_ALT if args.placeholders == "alt" else PLACEHOLDERS
    sets = build(load_pool(args.shared, sources), args.clean, args.per_kind, args.eval,
                 args.holdout, args.seed, stubs)
    args.out.mkdir(parents=True, exist_ok=True)
    for name in ("data", "truth", "eval", "holdout"):
        write_jsonl(args.out / f"{name}.jsonl", sets[name])
    kinds: dict[str, int] = {}
    for t in sets["truth"]:
        kinds[t["kind"]] = kinds.get(t["kind"], 0) + 1
    print(json.dumps({"rows": len(sets["data"]), "kinds": kinds}))


if __name__ == "__main__":
    main()
