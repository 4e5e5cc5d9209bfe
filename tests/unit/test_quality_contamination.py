"""Contamination (curator/quality/contamination.py): 13-gram overlap as in GPT-3's
decontamination, whole short evaluation texts, near-duplicate prompts, boilerplate ignored."""

from __future__ import annotations

import json
from pathlib import Path

from curator.quality.contamination import EvalRow, find_contamination, read_eval
from curator.quality.text import Item, cross_pairs, shingles, signature, signatures

EVAL_Q = ("Natalia sold clips to 48 of her friends in April, and then she sold half as many "
          "clips in May. How many clips did Natalia sell altogether in April and May?")
EVAL_A = "Natalia sold 48/2 = 24 clips in May. Altogether she sold 48+24 = 72 clips."


def _evals() -> list[EvalRow]:
    return [EvalRow("eval.jsonl line 1", EVAL_Q, f"{EVAL_Q}\n{EVAL_A}"),
            EvalRow("eval.jsonl line 2", "Name the largest ocean on Earth.",
                    "Name the largest ocean on Earth.\nThe Pacific Ocean.")]


def test_thirteen_words_in_a_row_flag_a_record_and_name_the_eval_line() -> None:
    # the question reworded at the start, but 13+ words of it copied (case and commas changed)
    copied = ("Here is a puzzle: " + EVAL_Q[40:].upper().replace(",", "")
              + " Explain your steps.")
    items = [Item(1, copied, "72 clips."),
             Item(2, "How many legs does a spider have?", "Eight legs in all, like every spider.")]
    found = find_contamination(items, _evals())
    assert [f.record for f in found] == [1]
    assert found[0].reason == "shares 13 words in a row with evaluation row eval.jsonl line 1"


def test_twelve_words_in_a_row_are_not_enough() -> None:
    words = EVAL_Q.split()
    items = [Item(1, " ".join(words[:12]) + " plums? Answer briefly.", "Some.")]
    assert find_contamination(items, [_evals()[0]]) == []


def test_a_short_eval_text_counts_when_it_appears_whole_and_near_prompts_count_too() -> None:
    evals = [EvalRow("e.jsonl line 4", "Name the largest ocean on Earth.",
                     "Name the largest ocean on Earth.")]
    items = [Item(1, "Quiz time. Name the largest ocean on Earth!", "Pacific."),
             Item(2, "Name the largest ocean on Earth", "Pacific."),  # near-identical prompt
             Item(3, "Name the largest desert on Earth.", "Antarctica.")]
    found = {f.record: f.reason for f in find_contamination(items, evals)}
    assert set(found) == {1, 2}
    assert found[1] == "shares all its words with evaluation row e.jsonl line 4"


def test_boilerplate_shared_by_many_texts_is_not_contamination() -> None:
    preamble = ("toolformer: enabled\ntoolformer access: search\nA search engine. Useful for when "
                "you need to answer questions about current events. Input should be a search query.")
    evals = [EvalRow(f"e.jsonl line {k}", f"{preamble}\n{q}", f"{preamble}\n{q}\nsearch('{q}')")
             for k, q in enumerate(["Who won the 2018 World Cup?", "What is the price of gold?",
                                    "Who is the mayor of Paris?"], 1)]
    items = [Item(k, f"{preamble}\n{q}", f"search('{q}')") for k, q in enumerate(
        ["Latest news on Mars?", "Weather in Oslo?", "Population of Peru?"], 1)]
    assert find_contamination(items, evals) == []
    items.append(Item(9, f"{preamble}\nWho won the 2018 World Cup?", "France."))
    assert [f.record for f in find_contamination(items, evals)] == [9]


def test_batch_signatures_equal_one_by_one_and_cross_pairs_verifies() -> None:
    texts = ["Hello world, this is a test.", "abc", "", "Ünïcödé text here"]
    sigs = signatures(texts)
    for row, text in zip(sigs, texts, strict=True):
        assert (row == signature(shingles(text))).all()
    pairs = cross_pairs(["the quick brown fox jumps over the lazy dog", "nothing alike here"],
                        ["The quick brown fox jumps over the lazy cat"], 0.6)
    assert [(q, r) for q, r, _ in pairs] == [(0, 0)]


def test_read_eval_reads_jsonl_and_arrays_in_several_formats(tmp_path: Path) -> None:
    jl = tmp_path / "eval.jsonl"
    jl.write_text("\n".join([
        json.dumps({"messages": [{"role": "user", "content": "Q1"}, {"role": "assistant", "content": "A1"}]}),
        json.dumps({"prompt": "Q2", "completion": "A2"}), "not json", "",
        json.dumps({"question": "Q3", "answer": "A3"}), json.dumps({"unknown": 1})]) + "\n")
    rows, bad = read_eval(jl)
    assert [(r.where, r.prompt) for r in rows] == [("eval.jsonl line 1", "Q1"),
                                                   ("eval.jsonl line 2", "Q2"),
                                                   ("eval.jsonl line 5", "Q3")]
    assert bad == 2
    arr = tmp_path / "eval.json"
    arr.write_text(json.dumps([{"instruction": "Q4", "input": "ctx", "output": "A4"}]))
    rows, bad = read_eval(arr)
    assert (rows[0].where, rows[0].prompt, bad) == ("eval.json item 1", "Q4\nctx", 0)
