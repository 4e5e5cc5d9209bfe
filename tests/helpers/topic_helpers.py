"""Prompts of three planted topics (cooking, code, astronomy) for the coverage tests: each
group shares words and phrasing, the groups share none."""

from __future__ import annotations

import itertools

DISHES = ["bread", "pancakes", "lasagna", "vegetable soup", "cookies", "a pie", "risotto"]
INGREDIENTS = ["butter", "flour", "garlic", "tomatoes", "cheese", "eggs"]
TASKS = ["sorts a list of integers", "reverses a string", "parses a JSON file",
         "counts the words in a file", "merges two dictionaries", "finds the largest number"]
LANGS = ["Python", "JavaScript", "Rust"]
BODIES = ["the Moon", "Mars", "Jupiter", "the Sun", "Saturn", "a comet", "Venus"]
SKY = ["orbit so slowly", "have so many moons", "look red in the night sky",
       "shine so brightly through a telescope"]


def cooking(n: int) -> list[str]:
    forms = ["How do I bake {d} with {i} in the oven?", "Give me a recipe for {d} using {i}.",
             "What is the best way to cook {d} with {i} for dinner?"]
    combos = itertools.cycle(itertools.product(forms, DISHES, INGREDIENTS))
    return [f.format(d=d, i=i) for f, d, i in itertools.islice(combos, n)]


def code(n: int) -> list[str]:
    forms = ["Write a {lang} function that {t}.", "Show me {lang} code that {t}.",
             "Fix the bug in my {lang} program that {t}."]
    combos = itertools.cycle(itertools.product(forms, LANGS, TASKS))
    return [f.format(lang=lang, t=t) for f, lang, t in itertools.islice(combos, n)]


def astronomy(n: int) -> list[str]:
    forms = ["Why does {b} {s}?", "Explain to a child why {b} seems to {s}.",
             "Astronomers say {b} can {s}; why is that?"]
    combos = itertools.cycle(itertools.product(forms, BODIES, SKY))
    return [f.format(b=b, s=s) for f, b, s in itertools.islice(combos, n)]


GROUPS = (cooking, code, astronomy)
