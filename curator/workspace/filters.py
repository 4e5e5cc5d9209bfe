"""The `--where` filter language: filter strings to one SQL condition over `records` (alias r),
the names check against a workspace, and the full-text search query and index text."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from curator.workspace.errors import FilterError
from curator.workspace.records import KINDS, STATUSES

if TYPE_CHECKING:
    from curator.workspace.engine import Workspace

FILTER_HELP = """\
Filters (repeat to combine with AND):
  status=pending|accepted|rejected   status!=...
  kind=chat|preference|feedback      kind!=...   (feedback: KTO's unpaired rows)
  label=NAME        label!=NAME        records with / without a label
  issue=CODE        issue=PREFIX*      issue!=CODE   issue=any   issue=none
  severity=error|warning|info          records with an issue of that severity
  split=train|validation|holdout|none  split!=...
  cluster=N         dup=yes|no         (dup=yes: marked duplicate of another record)
  format=NAME|none
  tokens>N  tokens<N  tokens>=N  tokens<=N  tokens=N   (total tokens)
  text~SUBSTRING    case-insensitive substring of the current text (edit, else canonical, else raw)
  search~WORDS      full-text search of the message text: every word must occur (word* = prefix);
                    uses the search index, built on first use
  id>N  id<N  id>=N  id<=N
  score.FIELD>X     score.FIELD<X  >=  <=  =  !=   (a `curator score` number; FIELD one of
                    ifd, loss, loss_alone, end_prob; a record without that number never matches)
  topic=N           topic!=N   (a topic of `curator coverage`; 0: included records with no prompt)"""

_FILTER_RE = re.compile(r"^\s*([a-z_]+(?:\.[a-z_]+)?)\s*(!=|>=|<=|=|>|<|~)\s*(.*?)\s*$", re.DOTALL)
_NUM_OPS = {">": ">", "<": "<", ">=": ">=", "<=": "<=", "=": "=", "!=": "!="}


def _bad(text: str, why: str) -> FilterError:
    return FilterError(f"bad filter {text!r}: {why}\n{FILTER_HELP}")


#: SQLite integers are signed 64-bit; a number outside would fail inside the query.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def _int(text: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise _bad(text, f"{value!r} is not a whole number") from None
    if not INT64_MIN <= number <= INT64_MAX:
        raise _bad(text, f"{value} is out of range (at most {INT64_MAX})")
    return number


def _did_you_mean(value: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(value, known, n=3, cutoff=0.6)
    return f"; did you mean {' or '.join(close)}?" if close else ""


def _check_issue_code(text: str, value: str) -> None:
    """An issue code (or PREFIX*) that no rule emits would match nothing, silently: refuse it."""
    from curator.validate.codes import CODES

    if value.endswith("*"):
        prefix = value[:-1]
        if any(code.startswith(prefix) for code in CODES):
            return
        families = sorted({code.split(".")[0] + ".*" for code in CODES})
        raise _bad(text, f"no issue code starts with {prefix!r}"
                         f"{_did_you_mean(value, families)}")
    if value not in CODES:
        raise _bad(text, f"no such issue code {value!r}{_did_you_mean(value, sorted(CODES))}")


def _check_format(text: str, value: str) -> None:
    from curator.formats.detect import FORMATS

    if value not in FORMATS:
        raise _bad(text, f"no such format {value!r}{_did_you_mean(value, FORMATS)}; formats: "
                         f"{', '.join(FORMATS)}, none")


def _score_clause(text: str, field: str, op: str, value: str, params: list[Any]) -> str:
    """`score.ifd>1.0`: records whose stored score has that number (curator/workspace/scores.py)."""
    import math

    from curator.workspace.scores import FIELDS, filter_sql

    if field not in FIELDS:
        raise _bad(text, f"no score field {field!r}{_did_you_mean(field, list(FIELDS))}; "
                         f"fields: {', '.join(FIELDS)}")
    if op not in _NUM_OPS:
        raise _bad(text, f"score.{field} takes >, <, >=, <=, = or != and a number")
    try:
        number = float(value)
    except ValueError:
        raise _bad(text, f"{value!r} is not a number") from None
    if not math.isfinite(number):
        raise _bad(text, f"{value!r} is not a finite number")
    sql, more = filter_sql(field, op, number)
    params.extend(more)
    return sql


def compile_filters(filters: Sequence[str]) -> tuple[str, list[Any]]:
    """Turn filter strings into one SQL condition over `records` (aliased r) and its parameters.

    Raises FilterError, whose message lists the language, for anything it does not understand.
    """
    clauses: list[str] = []
    params: list[Any] = []
    for text in filters:
        m = _FILTER_RE.match(text)
        if not m:
            raise _bad(text, "expected KEY=VALUE, KEY!=VALUE, KEY>N, KEY<N or text~SUBSTRING")
        key, op, value = m.group(1), m.group(2), m.group(3)
        neg = "NOT " if op == "!=" else ""
        eq_ops = ("=", "!=")
        if key == "status":
            if op not in eq_ops or value not in STATUSES:
                raise _bad(text, f"status takes = or != and one of {', '.join(STATUSES)}")
            clauses.append(f"r.status {'=' if op == '=' else '!='} ?")
            params.append(value)
        elif key == "kind":
            if op not in eq_ops or value not in KINDS:
                raise _bad(text, f"kind takes = or != and one of {', '.join(KINDS)}")
            clauses.append(f"r.kind {'=' if op == '=' else '!='} ?")
            params.append(value)
        elif key == "label":
            if op not in eq_ops or not value:
                raise _bad(text, "label takes = or != and a label name")
            clauses.append(f"r.id {neg}IN (SELECT record_id FROM record_labels WHERE label = ?)")
            params.append(value)
        elif key == "issue":
            if op not in eq_ops or not value:
                raise _bad(text, "issue takes = or != and an issue code (or PREFIX*, any, none)")
            if value in ("any", "none"):
                has = (value == "any") != (op == "!=")
                clauses.append(f"r.id {'' if has else 'NOT '}IN (SELECT record_id FROM issues)")
            elif value.endswith("*"):
                _check_issue_code(text, value)
                prefix = value[:-1].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                clauses.append(
                    f"r.id {neg}IN (SELECT record_id FROM issues WHERE code LIKE ? ESCAPE '\\')"
                )
                params.append(prefix + "%")
            else:
                _check_issue_code(text, value)
                clauses.append(f"r.id {neg}IN (SELECT record_id FROM issues WHERE code = ?)")
                params.append(value)
        elif key == "severity":
            if op not in eq_ops or value not in ("error", "warning", "info"):
                raise _bad(text, "severity takes = or != and error, warning or info")
            clauses.append(f"r.id {neg}IN (SELECT record_id FROM issues WHERE severity = ?)")
            params.append(value)
        elif key == "split":
            # the marks live in record_marks (workspace/selection.py); no row there = NULL.
            # `+r.id`: test each id against the list rather than look each listed id up in
            # records, which reads the wide row's page (100k: a count 2.2 s to 0.02 s wall)
            if op not in eq_ops or not value:
                raise _bad(text, f"{key} takes = or != and a name (or none)")
            if value == "none":
                has = op == "!="
                clauses.append(f"+r.id {'' if has else 'NOT '}IN "
                               f"(SELECT record_id FROM record_marks WHERE split IS NOT NULL)")
            else:
                clauses.append(f"+r.id {neg}IN "
                               f"(SELECT record_id FROM record_marks WHERE split = ?)")
                params.append(value)
        elif key == "format":
            if op not in eq_ops or not value:
                raise _bad(text, f"{key} takes = or != and a name (or none)")
            if value == "none":
                clauses.append(f"r.{key} IS {'NOT ' if op == '!=' else ''}NULL")
            else:
                _check_format(text, value)
                clauses.append(f"r.{key} IS {'NOT ' if op == '!=' else ''}?")
                params.append(value)
        elif key == "cluster":
            if op not in eq_ops:
                raise _bad(text, "cluster takes = or != and a cluster id")
            clauses.append(f"r.id {neg}IN (SELECT record_id FROM record_marks "
                           f"WHERE cluster_id = ?)")
            params.append(_int(text, value))
        elif key == "dup":
            if op != "=" or value not in ("yes", "no"):
                raise _bad(text, "dup takes =yes or =no")
            clauses.append(f"+r.id {'' if value == 'yes' else 'NOT '}IN "
                           f"(SELECT record_id FROM record_marks WHERE dup_of IS NOT NULL)")
        elif key in ("tokens", "id"):
            if op not in _NUM_OPS:
                raise _bad(text, f"{key} takes >, <, >=, <=, = or != and a number")
            column = "r.tokens_total" if key == "tokens" else "r.id"
            clauses.append(f"{column} {_NUM_OPS[op]} ?")
            params.append(_int(text, value))
        elif key == "topic":
            if op not in eq_ops:
                raise _bad(text, "topic takes = or != and a topic number (curator coverage)")
            from curator.workspace.coverage import filter_sql as topic_sql

            sql, more = topic_sql(op, _int(text, value))
            clauses.append(sql)
            params.extend(more)
        elif key.startswith("score."):
            clauses.append(_score_clause(text, key.removeprefix("score."), op, value, params))
        elif key == "text":
            if op != "~" or not value:
                raise _bad(text, "text takes ~ and a substring, as in text~refund")
            escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            clauses.append("coalesce(r.current, r.canonical, r.raw) LIKE ? ESCAPE '\\'")
            params.append(f"%{escaped}%")
        elif key == "search":
            query = fts_query(value) if op == "~" else ""
            if not query:
                raise _bad(text, "search takes ~ and words, as in search~refund policy")
            clauses.append("r.id IN (SELECT rowid FROM records_fts WHERE records_fts MATCH ?)")
            params.append(query)
        else:
            raise _bad(text, f"unknown key {key!r}")
    return (" AND ".join(clauses) or "1"), params


def check_names(filters: Sequence[str], *, labels: Iterable[str], splits: Iterable[str]) -> None:
    """Refuse `label=`/`split=` names a workspace does not have (`labels`: its label set,
    `splits`: the split names it uses): such a filter would match nothing, silently.

    compile_filters knows no workspace; callers that have one call this too."""
    known = {"label": sorted(set(labels)), "split": sorted(set(splits))}
    for text in filters:
        m = _FILTER_RE.match(text)
        if not m or m.group(2) not in ("=", "!="):
            continue
        key, value = m.group(1), m.group(3)
        names = known.get(key)
        if names is None or not value or value in names or (key == "split" and value == "none"):
            continue
        listed = ", ".join(names[:20]) + (", ..." if len(names) > 20 else "")
        raise FilterError(f"bad filter {text!r}: no {key} {value!r} in this workspace"
                          f"{_did_you_mean(value, names)} ({key}s: {listed or 'none yet'})")


_WORD_RE = re.compile(r"\w+\*?")


def fts_query(words: str) -> str:
    """An FTS5 query where every word must occur; `word*` matches a prefix. Operators and
    punctuation in `words` are never interpreted (each word is quoted), so any text is safe."""
    terms = []
    for w in _WORD_RE.findall(words):
        star = w.endswith("*")
        core = w.rstrip("*")
        if core:
            terms.append(f'"{core}"' + ("*" if star else ""))
    return " ".join(terms)


def uses_search(filters: Sequence[str]) -> bool:
    return any(_FILTER_RE.match(f) and f.strip().startswith("search") for f in filters)


#: the text the search index holds for a record (alias r): its messages' content, else its JSON.
SEARCH_TEXT_SQL = (
    "coalesce((SELECT group_concat(CAST(json_extract(m.value, '$.content') AS TEXT), ' ') "
    "FROM json_each(coalesce(r.current, r.canonical), '$.messages') m), "
    "coalesce(r.current, r.canonical, r.raw))"
)
SEARCH_META = "search.indexed_upto"


def check_filter_names(ws: Workspace, where: Sequence[str] | None) -> None:
    """Raise FilterError for a label=/split= name this workspace does not have (such a
    filter would match nothing, silently); the CLI's --where and the review app's filter
    both ask this."""
    if not where:
        return
    from curator.split import DEFAULT_NAMES as DEFAULT_SPLITS

    params = ws.meta_json("split.params")
    given = params.get("names") if isinstance(params, dict) else None
    splits = [*DEFAULT_SPLITS, *(given if isinstance(given, list) else [])]
    check_names(where, labels=[name for name, _ in ws.labels()], splits=map(str, splits))
