"""Word lists shared by the text rules (curator/validate/quality.py) and the model signals' end
rules (curator/quality/score_signals.py). Plain data, no imports, so either side loads it without
the other's dependencies."""

from __future__ import annotations

#: words an English sentence does not end on (articles, prepositions, conjunctions, auxiliaries,
#: possessives): an answer whose last word is one of them stops mid-sentence
DANGLING_WORDS = """
a an the and or but nor of to in into onto for with without from by at as than that which who
whom whose whether if because although though while when where whereas since unless until
such its their our your my his her is are was were be been being am has have had do does did
will would shall should could may might must very every either neither this these those
between among through during about against toward towards upon via per including
"""
DANGLING = frozenset(DANGLING_WORDS.split())
