"""Labels curator adds itself, as opposed to the user's own label set.

Every label curator writes onto records starts with `CURATOR_LABEL_PREFIX` ("review:"; the
trainer's `review:high-loss` is one). They mark records to look at, not classes of the data, so
they never count in the readiness report's label balance. Anything that writes a label of its own
(the trainer, a future check) takes its name from here or starts it with this prefix; a user's
label that starts with it is treated the same way (the docs say so).
"""

from __future__ import annotations

CURATOR_LABEL_PREFIX = "review:"
#: the label `curator train` puts on the highest-loss records it ranks
HIGH_LOSS_LABEL = CURATOR_LABEL_PREFIX + "high-loss"


def is_curator_label(name: str) -> bool:
    """True for a label curator adds itself (it starts with `review:`)."""
    return name.startswith(CURATOR_LABEL_PREFIX)
