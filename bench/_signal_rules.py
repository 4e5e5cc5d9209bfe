"""The variants of the model signals' rules measured in docs/score.md ("A third set (seed 7)"),
set on curator/quality/score_signals.py's module constants for the length of a `with` block, so
the same code that `curator score` runs (score_signals, and scores.save's rewrite of a
workspace's signals) is measured under each.

    with applied("R1", spare=True): ...

R0, R1 and R2 are the cut-off rules declared before the seed-7 set was looked at
(/work/wt/predeclare_s7.md): END_PROB_CUT_OFF and which finished shapes (a list's last item,
a worked sum's result) let an answer without a sentence end through. `spare`: whether a record
with a more specific code (OFF_PROMPT_SPARED_BY) is spared `quality.answer_off_prompt`
(change P of the same declaration); False measures the rule before P.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

#: name -> (END_PROB_CUT_OFF, FINISHED_SHAPES)
RULES: dict[str, tuple[float, tuple[str, ...]]] = {
    "R0": (1e-6, ("list", "sum")),
    "R1": (1e-7, ("list",)),
    "R2": (1e-7, ("list", "sum")),
}


@contextmanager
def applied(rule: str | None, spare: bool = True) -> Iterator[None]:
    """Run the block under `rule` (None: the code's own constants) and with or without P."""
    from curator.quality import score_signals as mod

    saved = (mod.END_PROB_CUT_OFF, mod.FINISHED_SHAPES, mod.OFF_PROMPT_SPARED_BY)
    try:
        if rule is not None:
            mod.END_PROB_CUT_OFF, mod.FINISHED_SHAPES = RULES[rule]
        if not spare:
            mod.OFF_PROMPT_SPARED_BY = frozenset()
        yield
    finally:
        mod.END_PROB_CUT_OFF, mod.FINISHED_SHAPES, mod.OFF_PROMPT_SPARED_BY = saved


def rewrite_signals(ws_path: str, rule: str | None, spare: bool = True) -> int:
    """Write the signals of every stored score of a workspace again under `rule` (scores.save,
    the path `curator score` takes), so the whole pipeline's count sees them; returns how many
    scores were saved again. Use it on a copy: it changes the records' issues."""
    from curator.workspace import Workspace, scores

    with applied(rule, spare), Workspace.open(ws_path) as ws:
        return scores.save(ws, list(scores.read(ws)))
