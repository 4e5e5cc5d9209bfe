"""Coverage topics (curator/quality/coverage.py): prompts of planted topic groups come out as
separate topics, the same input gives the same topics, sizes are flagged against the median,
and a topic is described by its own words and its most central prompt."""

from __future__ import annotations

import numpy as np
from topic_helpers import astronomy, code, cooking

from curator.quality.coverage import (
    OVER,
    UNDER,
    default_topics,
    find_topics,
    kmeans,
    prompt_of,
)


def _groups(sizes: tuple[int, int, int]) -> tuple[list[str], list[int]]:
    prompts, group = [], []
    for g, (make, n) in enumerate(zip((cooking, code, astronomy), sizes, strict=True)):
        made = make(n)
        prompts += made
        group += [g] * len(made)
    # interleave, so no group is helped by coming first
    order = np.random.default_rng(1).permutation(len(prompts))
    return [prompts[i] for i in order], [group[i] for i in order]


def test_planted_topic_groups_come_out_as_separate_topics() -> None:
    prompts, group = _groups((30, 30, 30))
    cov = find_topics(prompts, topics=3)
    assert [t.size for t in cov.topics] == [30, 30, 30]
    topic_of_group = {}
    for g in range(3):
        found = {int(cov.assignment[i]) for i in range(len(prompts)) if group[i] == g}
        assert len(found) == 1, (g, found)  # a whole group in one topic
        topic_of_group[g] = found.pop()
    assert sorted(topic_of_group.values()) == [1, 2, 3]  # and each group its own
    words = {g: cov.topics[t - 1].words for g, t in topic_of_group.items()}
    assert {"recipe", "bake", "cook"} & set(words[0]), words
    assert {"function", "code", "python", "javascript", "rust"} & set(words[1]), words
    assert {"moons", "orbit", "sky", "telescope", "mars", "jupiter"} & set(words[2]), words
    for t in cov.topics:  # its central prompt is one of its own
        assert cov.assignment[t.example] == t.topic
        assert not {"the", "a", "with", "why", "write"} & set(t.words)


def test_the_same_prompts_give_the_same_topics() -> None:
    prompts, _ = _groups((25, 14, 9))
    a, b = find_topics(prompts), find_topics(prompts)
    assert np.array_equal(a.assignment, b.assignment)
    assert a.topics == b.topics
    assert len(a.topics) == default_topics(len(prompts)) == 5  # round(sqrt(48 / 2))


def test_a_topic_over_three_times_the_median_is_over_and_a_tiny_one_under() -> None:
    # five well-separated directions: 60, 12, 10, 10 and 2 points around them
    rng = np.random.default_rng(0)
    axes = np.eye(16, dtype=np.float32)[:5]
    sizes = [60, 12, 10, 10, 2]
    x = np.concatenate([axes[i] + 0.05 * rng.standard_normal((n, 16)).astype(np.float32)
                        for i, n in enumerate(sizes)])
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    cov = find_topics([f"prompt {i}" for i in range(len(x))], topics=5, vectors=x)
    assert [t.size for t in cov.topics] == [60, 12, 10, 10, 2]
    assert cov.median == 10
    assert [t.flag for t in cov.topics] == [OVER, None, None, None, UNDER]
    assert abs(sum(t.share for t in cov.topics) - 1) < 1e-9


def test_prompts_without_words_get_no_topic() -> None:
    prompts = [*cooking(6), "", *code(6)]
    cov = find_topics(prompts, topics=2)
    assert cov.assignment[6] == 0
    assert cov.clustered == 12
    assert sum(t.size for t in cov.topics) == 12


def test_kmeans_keeps_every_cluster_and_stops_at_distinct_points() -> None:
    x = np.repeat(np.eye(3, dtype=np.float32), 4, axis=0)
    owner, centres = kmeans(x, 5)
    assert len(centres) == 3  # only three distinct directions
    assert sorted(np.bincount(owner).tolist()) == [4, 4, 4]


def test_default_number_of_topics() -> None:
    assert [default_topics(n) for n in (1, 2, 50, 200, 5000, 100_000)] == [1, 1, 5, 10, 50, 50]


def test_prompt_of_reads_user_turns_of_chat_preference_and_feedback_records() -> None:
    chat = {"messages": [{"role": "system", "content": "Be brief."},
                         {"role": "user", "content": "First?"},
                         {"role": "assistant", "content": "Yes."},
                         {"role": "user", "content": [{"type": "text", "text": "Second?"}]},
                         {"role": "assistant", "content": "No."}]}
    assert prompt_of(chat) == "First?\nSecond?"
    pref = {"prompt": [{"role": "user", "content": "Which is better?"}],
            "chosen": [{"role": "assistant", "content": "A"}],
            "rejected": [{"role": "assistant", "content": "B"}]}
    assert prompt_of(pref) == "Which is better?"
    feedback = {"prompt": [{"role": "user", "content": "Rate me"}], "completion": [], "label": True}
    assert prompt_of(feedback) == "Rate me"
    assert prompt_of(None) == "" and prompt_of({"messages": "x"}) == ""
