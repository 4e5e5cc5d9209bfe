"""Issue codes from a record's model scores (`curator score`, docs/score.md), each with a reason a
reviewer can check. Pure: the numbers and the answer's text in, (code, message) pairs out; the
workspace stores them with the score (curator/workspace/scores.py).

The thresholds were read off the planted set of issue 12 (bench/gen_planted.py seed 0, 310 rows
scored under SmolLM2-135M-Instruct; docs/quality.md "Signals from model scores"):

- `quality.answer_off_prompt`: IFD >= 1.0, the point where the answer's loss given its prompt is
  no lower than without it, so the prompt does not make the answer likelier. On that set it flags
  28 of the 30 wrong and swapped answers and 1 of 200 clean rows (at 0.95: 11 clean rows; at 1.05:
  23 of 30); the other rows it flags are planted defects of the same nature (another row's answer
  under an edited prompt, one answer under unrelated prompts, stubs).
- `quality.answer_cut_off`: end-of-turn probability under 1e-6 and an answer that does not end
  with a sentence's end (. ! ? : ; a closing bracket or quote, a code fence). The planted
  truncated answers scored 2e-12 to 2.5e-6, clean rows a median of 0.13; but a low probability
  alone also marks finished answers whose last token the model did not expect (GSM8K's
  `#### 18`), and the text rules' cues (quality.truncated_answer) miss most answers cut after a
  finished clause, which are the ones this signal is for: so the cue asked is only the weak one,
  no full stop at the end.
"""

from __future__ import annotations

#: the codes these signals write (a record's score owns them: scored again, they are replaced;
#: edited, they go with the text they were about)
SIGNAL_CODES = ("quality.answer_off_prompt", "quality.answer_cut_off")
#: IFD at or above this: the prompt does not make the answer likelier.
IFD_OFF_PROMPT = 1.0
#: an end-of-turn probability under this, with no sentence end, marks a cut-off answer.
END_PROB_CUT_OFF = 1e-6
#: what a finished answer may end with (after trailing spaces).
_ENDS = frozenset('.!?:;)]}>"\'`*…。！？」』”’')


def ends_finished(answer: str) -> bool:
    """Whether the answer's last character can end a finished answer (punctuation, a closing
    bracket or quote, a code fence)."""
    s = answer.rstrip()
    return bool(s) and s[-1] in _ENDS


def score_signals(answer: str, ifd: float | None, loss_prompted: float | None,
                  loss_alone: float | None, end_prob: float | None) -> list[tuple[str, str]]:
    """(code, reason) for each signal the numbers raise on this answer."""
    out: list[tuple[str, str]] = []
    if ifd is not None and ifd >= IFD_OFF_PROMPT and loss_prompted is not None and loss_alone is not None:
        out.append(("quality.answer_off_prompt",
                    f"IFD {ifd:.2f} (>= {IFD_OFF_PROMPT:g}): the answer's loss given its prompt, "
                    f"{loss_prompted:.2f} nats/token, is no lower than without it, {loss_alone:.2f}; "
                    f"the prompt does not make this answer likelier (a wrong or swapped answer?)"))
    if end_prob is not None and end_prob < END_PROB_CUT_OFF and answer.strip() and not ends_finished(answer):
        tail = answer.rstrip()[-40:].replace("\n", " ")
        out.append(("quality.answer_cut_off",
                    f"the model gives {end_prob:.1e} (< {END_PROB_CUT_OFF:g}) for the answer ending "
                    f"here, and it ends with no sentence end: ...{tail!r}"))
    return out
