"""Set-level answer signals (curator/quality/answers.py): one answer under unrelated prompts, and
conflicts between near-identical prompts."""

from __future__ import annotations

from curator.quality.answers import CONFLICT, SAME_ANSWER, distinctive_prompts, find_answer_signals
from curator.quality.text import Item, near_pairs

OWN = ("Photosynthesis lets plants turn sunlight, water and carbon dioxide into glucose, "
       "releasing oxygen as they do.")


def _kinds(items: list[Item]) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for f in find_answer_signals(items):
        out.setdefault(f.record, set()).add(f.kind)
    return out


def test_an_answer_copied_under_unrelated_prompts_flags_the_copies_not_the_owner() -> None:
    items = [Item(1, "Explain how photosynthesis works in plants.", OWN),
             Item(2, "Write a haiku about the sea at night.", OWN),
             Item(3, "What is the capital of Australia?", OWN),
             Item(4, "Name a prime number above 90.", "97 is a prime number above ninety.")]
    found = {f.record: f for f in find_answer_signals(items)}
    assert set(found) == {2, 3}
    assert found[2].kind == SAME_ANSWER
    assert "records 1, 3" in found[2].reason and "fits record 1's prompt best" in found[2].reason


def test_the_owner_is_spared_when_copies_sit_under_a_tool_preamble() -> None:
    # issue 12, seed-7 planted set: an answer copied under two tool-preamble prompts shared
    # `the`, `for`, `should` with the preamble, beating the owner's two real words ("flying
    # machine"); the tie left no owner, so the row the answer belongs to was labelled too
    answer = ("The idea of creating a flying machine has long fascinated me. The design should "
              "use light materials for the frame and the wings.")
    preamble = ("toolformer: enabled\ntoolformer access: search\nA search engine. Useful for when you "
                "need to answer questions. Input should be a search query.\nsearch(query)\n")
    filler = [Item(10 + i, preamble + q, f"The answer to {q} is search('{q}').")
              for i, q in enumerate(("Who won the 2010 World Cup?", "What is the tallest mountain?",
                                     "When was the telephone invented?", "How far is the Moon?"))]
    items = [Item(1, "You are Leonardo da Vinci. Explain your thought process behind designing a "
                     "flying machine.", answer),
             Item(2, preamble + "What is the capital city of Italy?", answer),
             Item(3, preamble + "Which river runs through Cairo?", answer), *filler]
    found = {f.record: f for f in find_answer_signals(items) if f.kind == SAME_ANSWER}
    assert set(found) == {2, 3}
    assert "fits record 1's prompt best (2 shared words, 0 with this one's)" in found[2].reason


def test_short_answers_and_duplicated_rows_are_not_shared_answers() -> None:
    items = [Item(1, "Is the sky blue on a clear day?", "Yes."),
             Item(2, "Is water wet?", "Yes."),
             # the same prompt with a word added: a near duplicate, dedup's job, not this one's
             Item(3, "Explain how photosynthesis works.", OWN),
             Item(4, "Explain how photosynthesis works in plants.", OWN)]
    assert _kinds(items) == {}


def test_near_identical_prompts_with_different_answers_are_a_conflict() -> None:
    items = [Item(1, "Give me a short definition of the word 'ephemeral'.",
                  "Ephemeral means lasting for a very short time."),
             Item(2, "Give me a short definition of the word 'ephemeral' please.",
                  "A large sea mammal that breathes air through a blowhole."),
             Item(3, "Give me a short definition of the word 'ephemeral' now.",
                  "Ephemeral means lasting for a very short time!")]
    found = {f.record: f for f in find_answer_signals(items)}
    assert set(found) == {1, 2, 3}  # one cluster: 2 conflicts with both 1 and 3
    assert all(f.kind == CONFLICT for f in found.values())
    assert "near-identical to record" in found[2].reason and "answers differ" in found[2].reason


def test_prompts_that_differ_in_a_number_ask_different_things() -> None:
    items = [Item(1, "What is the square root of 144? Show the working.", "It is 12."),
             Item(2, "What is the square root of 169? Show the working.", "It is 13.")]
    assert _kinds(items) == {}


def test_boilerplate_lines_shared_by_many_prompts_are_left_out() -> None:
    preamble = "toolformer: enabled\ntoolformer access: search\nA search engine. Input a query."
    questions = ["Who wrote Hamlet?", "Where is Lake Baikal?", "When did the Berlin Wall fall?",
                 "What is the tallest tree species?", "How deep is the Mariana Trench?"]
    items = [Item(i + 1, f"{preamble}\n{q}", f"Here is what I found: search('{q}')")
             for i, q in enumerate(questions)]
    assert distinctive_prompts(items)[0] == "who wrote hamlet?"
    assert _kinds(items) == {}


def test_near_pairs_verifies_every_pair() -> None:
    texts = ["the quick brown fox jumps over the lazy dog", "the quick brown fox jumps over the lazy cat",
             "an entirely different sentence about databases"]
    pairs = near_pairs(texts, 0.5)
    assert [(a, b) for a, b, _ in pairs] == [(0, 1)]
    assert 0.5 <= pairs[0][2] < 1.0
