"""Which records count, in one place: what dedup and split compare, what an export writes, and
why each other record is left out.

Included (what `curator export` writes, what `curator report` measures, what the trainer reads):
a record that is not rejected, not marked duplicate by dedup (`dup_of`), and has a chat form
(its edit, else its canonical form; a line that did not parse has neither); with
`only_accepted`, accepted too. The first reason that holds is the one given:
rejected, duplicate, unparsed, not_accepted.

Eligible (what dedup compares and the split places): not rejected and with a chat form. A record
marked duplicate stays eligible: dedup decides it again on every run.
"""

from __future__ import annotations

#: Where the marks split and dedup write live (migration v9): `split`, `cluster_id`, `dup_of`
#: and `similarity` are columns of the narrow table `record_marks` (one row a record that has
#: any; no row = all NULL), not of `records`, whose wide rows an UPDATE would rewrite whole. A
#: query that reads them (or `EXCLUDED_SQL` / `included_sql`, which read `dup_of`) selects FROM
#: this: the mark names then resolve unqualified, as they did when they were columns of records.
RECORDS_MARKED = "records LEFT JOIN record_marks ON record_marks.record_id = records.id"
#: The same for a query that calls records `r` (the marks are then `rm.split` and so on).
RECORDS_R_MARKED = "records r LEFT JOIN record_marks rm ON rm.record_id = r.id"

#: The records dedup (and the split's leakage check) looks at. Its terms equal the WHERE of the
#: index `records_eligible` (migrations.py, v6), so SQLite uses the index: keep them equal (the
#: migration itself never changes; test_ws_dedup checks the query plan).
ELIGIBLE_SQL = "status != 'rejected' AND coalesce(current, canonical) IS NOT NULL"

#: The reason codes of `EXCLUDED_SQL`, in the order they are tested.
REASONS = ("rejected", "duplicate", "unparsed", "not_accepted")


def _excluded(only_accepted: str) -> str:
    return ("CASE WHEN status = 'rejected' THEN 'rejected' "
            "WHEN dup_of IS NOT NULL THEN 'duplicate' "
            "WHEN coalesce(current, canonical) IS NULL THEN 'unparsed' "
            f"WHEN {only_accepted} AND status != 'accepted' THEN 'not_accepted' END")


#: Why a record is left out of an export (one of `REASONS`), NULL when it is included; one
#: parameter: only_accepted (0 or 1).
EXCLUDED_SQL = _excluded("?")


def included_sql(only_accepted: bool) -> str:
    """A WHERE condition (no parameters) that holds for the records an export writes."""
    return f"({_excluded(str(int(only_accepted)))}) IS NULL"


def exclusion_text(why: str, status: str, reason: str | None, dup_of: int | None,
                   similarity: float | None) -> str:
    """The manifest's line for a record left out, from its `EXCLUDED_SQL` reason."""
    if why == "rejected":
        return f"rejected: {reason}" if reason else "rejected"
    if why == "duplicate":
        return (f"duplicate of {dup_of} (similarity {similarity:.3f})" if similarity is not None
                else f"duplicate of {dup_of}")
    if why == "unparsed":
        return "no parsed content"
    return f"not accepted ({status})"
