"""The workspace package is the only place that speaks SQL: no module elsewhere under curator/
reaches the workspace's raw connection, runs a statement or holds SQL text. The front ends read
through curator/workspace/views/ instead. An AST walk over the source, so comments and prose
never count and every way of spelling a call does."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CURATOR = ROOT / "curator"

#: Being moved to curator/workspace/views/train.py on branch fix/rules; the lead removes this
#: entry when that branch and this one are merged.
ALLOWED: set[str] = set()

_SQL_HEAD = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|PRAGMA|WITH)\b")
_EXECUTE = {"execute", "executemany", "executescript"}


def sql_uses(source: str) -> list[tuple[int, str]]:
    """(line, what) for each use of SQL in a module's source."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr == "connection":
            found.append((node.lineno, ".connection"))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            name = node.func.attr
            owner = node.func.value
            if name in _EXECUTE:
                found.append((node.lineno, f".{name}("))
            elif name == "connect" and isinstance(owner, ast.Name) and owner.id == "sqlite3":
                found.append((node.lineno, "sqlite3.connect("))
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str)
              and _SQL_HEAD.match(node.value)):
            found.append((node.lineno, f"SQL text {node.value[:30]!r}"))
    return found


def modules() -> list[Path]:
    return sorted(p for p in CURATOR.rglob("*.py")
                  if (CURATOR / "workspace") not in p.parents)


def test_no_sql_outside_the_workspace_package() -> None:
    offenders = []
    for path in modules():
        rel = path.relative_to(ROOT).as_posix()
        if rel in ALLOWED:
            continue
        offenders += [f"{rel}:{line}: {what}"
                      for line, what in sorted(sql_uses(path.read_text(encoding="utf-8")))]
    assert not offenders, ("SQL outside curator/workspace/ (add a read-only query to "
                           "curator/workspace/views/ and call it):\n" + "\n".join(offenders))


@pytest.mark.parametrize("source", [
    "rows = ws.connection.execute('SELECT 1')",
    "c = ws.connection\n",
    "cur.executemany(sql, rows)",
    "import sqlite3\nsqlite3.connect(':memory:')",
    "Q = 'SELECT id FROM records'",
    "Q = f'  PRAGMA {name}'",
])
def test_the_walk_sees_each_way_of_speaking_sql(source: str) -> None:
    assert sql_uses(source), source


def test_the_walk_leaves_alone_what_is_not_sql() -> None:
    source = ("import socket, sqlite3\n"
              "socket.create_connection(('h', 1))\n"
              "try:\n    pass\nexcept sqlite3.DatabaseError:\n    pass\n"
              "HELP = 'Select the records to export'\n"  # prose, not SQL (which is upper case)
              "# ws.connection.execute('SELECT 1') in a comment\n")
    assert sql_uses(source) == []


def test_the_workspace_package_is_where_the_sql_is() -> None:
    """A self-check: the walk finds the SQL that is there (else the main test proves nothing)."""
    engine = (CURATOR / "workspace" / "engine.py").read_text(encoding="utf-8")
    assert any(what.startswith(".execute") for _, what in sql_uses(engine))
    assert (CURATOR / "workspace") not in {p.parent for p in modules()}
