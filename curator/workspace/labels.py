"""Labels: the workspace's label set (its names and their order, which the review app's keys 1-9
follow) and labels on records, in bulk, one at a time, or as one tool's whole result
(`flag_records`). Every change is journaled; the order is kept in meta `labels.order`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from curator.workspace.errors import UnknownRecords, WorkspaceError
from curator.workspace.journal import dumps
from curator.workspace.records import Change

if TYPE_CHECKING:
    from curator.workspace.engine import Workspace
    from curator.workspace.journal import Tx

#: meta key: the label set's order as the user last gave it (a JSON list of names)
LABEL_ORDER = "labels.order"


def labels(ws: Workspace) -> list[tuple[str, int]]:
    """The label set with how many records carry each label, in the order the user gave
    (the review app's keys 1-9 follow it): the order last set (`set_label_set`), then
    names added since, in the order they were added."""
    rows = [(r[0], r[1]) for r in ws._conn.execute(
        "SELECT s.name, (SELECT count(*) FROM record_labels l WHERE l.label = s.name) "
        "FROM label_set s ORDER BY s.rowid"
    )]
    rank = {name: i for i, name in enumerate(_label_order(ws))}
    return sorted(rows, key=lambda r: rank.get(r[0], len(rank)))


def _label_order(ws: Workspace) -> list[str]:
    order = ws.meta_json(LABEL_ORDER)
    if not isinstance(order, list):
        return []
    return [n for n in order if isinstance(n, str)]


def _pin_label_order(ws: Workspace, tx: Tx) -> list[str]:
    """Write down the order shown now, before the label set changes (not journaled: it
    changes nothing shown), so that undo of the change puts back exactly this order, not
    the order names happen to be added back in. Returns it."""
    order = [n for n, _ in labels(ws)]
    tx.write_meta(LABEL_ORDER, dumps(order))
    return order


def set_label_set(ws: Workspace, names: Sequence[str]) -> Change:
    """Make the label set exactly `names`, in that order (one journal entry, one undo):
    names not in the set are added, names left out are removed from the set and from every
    record."""
    wanted = list(dict.fromkeys(n.strip() for n in names))
    for n in wanted:
        if not n or "," in n:
            raise WorkspaceError(f"bad label name {n!r}: non-empty, no commas")
    with ws._transaction() as tx:
        current = _pin_label_order(ws, tx)
        entry = tx.entry("labels", "", {"set": wanted})
        added = [n for n in wanted if n not in current]
        removed = [n for n in current if n not in wanted]
        for n in added:
            tx.conn.execute(
                "INSERT INTO journal_changes(entry_id, record_id, field, before, after) "
                "VALUES (?, NULL, 'label_set', NULL, ?)", (entry, n))
            tx.conn.execute("INSERT INTO label_set(name) VALUES (?)", (n,))
        for n in removed:
            _remove_label_name(tx, entry, n)
        tx.set_meta(entry, LABEL_ORDER, dumps(wanted))
        what = [f"added {', '.join(added)}"] if added else []
        what += [f"removed {', '.join(removed)}"] if removed else []
        return tx.finish(entry, "labels", 0, f"label set: {', '.join(wanted) or '(empty)'}"
                         + (f" ({'; '.join(what)})" if what else ""))


def add_label_names(ws: Workspace, names: Iterable[str]) -> Change:
    """Add names to the workspace's label set."""
    names = [n.strip() for n in names]
    for n in names:
        if not n or "," in n:
            raise WorkspaceError(f"bad label name {n!r}: non-empty, no commas")
    with ws._transaction() as tx:
        entry = tx.entry("labels", "", {"add": names})
        tx.conn.executemany(
            "INSERT INTO journal_changes(entry_id, record_id, field, before, after) "
            "SELECT ?, NULL, 'label_set', NULL, ? "
            "WHERE NOT EXISTS (SELECT 1 FROM label_set WHERE name = ?)",
            [(entry, n, n) for n in dict.fromkeys(names)],
        )
        tx.conn.execute(
            "INSERT INTO label_set(name) SELECT after FROM journal_changes "
            "WHERE entry_id = ? AND field = 'label_set'", (entry,)
        )
        return tx.finish(entry, "labels", 0, f"label set: added {', '.join(names)}")


def remove_label_names(ws: Workspace, names: Iterable[str]) -> Change:
    """Remove names from the label set, and those labels from every record (undoable)."""
    names = list(dict.fromkeys(names))
    with ws._transaction() as tx:
        _require_labels(ws, names)
        entry = tx.entry("labels", "", {"remove": names})
        order = _pin_label_order(ws, tx)
        for n in names:
            _remove_label_name(tx, entry, n)
        # The names left keep their order, and undo puts the removed ones back in theirs.
        tx.set_meta(entry, LABEL_ORDER, dumps([n for n in order if n not in names]))
        return tx.finish(entry, "labels", 0, f"label set: removed {', '.join(names)}")


def _remove_label_name(tx: Tx, entry: int, name: str) -> None:
    tx.conn.execute(
        "INSERT INTO journal_changes(entry_id, record_id, field, before, after) "
        "SELECT ?, record_id, 'label', label, NULL FROM record_labels WHERE label = ?",
        (entry, name),
    )
    tx.conn.execute("DELETE FROM record_labels WHERE label = ?", (name,))
    tx.conn.execute(
        "INSERT INTO journal_changes(entry_id, record_id, field, before, after) "
        "VALUES (?, NULL, 'label_set', ?, NULL)", (entry, name)
    )
    tx.conn.execute("DELETE FROM label_set WHERE name = ?", (name,))


def _require_labels(ws: Workspace, names: Sequence[str]) -> None:
    known = {r[0] for r in ws._conn.execute("SELECT name FROM label_set")}
    unknown = [n for n in names if n not in known]
    if unknown:
        from curator.textsafe import literal

        def shown(names: Iterable[str]) -> str:  # one line, whatever a name holds
            return ", ".join(literal(n, one_line=True) for n in names)

        raise WorkspaceError(
            f"unknown label {shown(unknown)}; the label set is "
            f"{shown(sorted(known)) or 'empty'}. Add it with: curator labels --add "
            f"{shown(unknown[:1])}"
        )


def add_labels(ws: Workspace, ids: Iterable[int] | None, labels: Sequence[str], *,
               where: Sequence[str] | None = None,
               progress: Callable[[int, int], None] | None = None) -> Change:
    """Put labels (which must be in the label set) on the chosen records.

    `progress` as in set_status: chunks, one transaction, one journal entry."""
    return _change_labels(ws, ids, labels, where, add=True, progress=progress)


def remove_labels(ws: Workspace, ids: Iterable[int] | None, labels: Sequence[str], *,
                  where: Sequence[str] | None = None,
                  progress: Callable[[int, int], None] | None = None) -> Change:
    return _change_labels(ws, ids, labels, where, add=False, progress=progress)


def _labels_chunked(tx: Tx, entry: int, labels: Sequence[str], add: bool, selected: int,
                    progress: Callable[[int, int], None]) -> None:
    c = tx.conn
    done = 0
    progress(0, selected)
    for after, upto, count in tx.sel_chunks():
        for label in labels:
            if add:
                c.execute(
                    "INSERT INTO journal_changes(entry_id, record_id, field, before, after) "
                    "SELECT ?, s.id, 'label', NULL, ? FROM _sel s WHERE s.id > ? AND "
                    "s.id <= ? AND NOT EXISTS (SELECT 1 FROM record_labels l "
                    "WHERE l.record_id = s.id AND l.label = ?)",
                    (entry, label, after, upto, label))
                c.execute(
                    "INSERT OR IGNORE INTO record_labels(record_id, label) "
                    "SELECT id, ? FROM _sel WHERE id > ? AND id <= ?", (label, after, upto))
            else:
                c.execute(
                    "INSERT INTO journal_changes(entry_id, record_id, field, before, after) "
                    "SELECT ?, l.record_id, 'label', l.label, NULL FROM record_labels l "
                    "WHERE l.label = ? AND l.record_id IN "
                    "(SELECT id FROM _sel WHERE id > ? AND id <= ?)",
                    (entry, label, after, upto))
                c.execute(
                    "DELETE FROM record_labels WHERE label = ? AND record_id IN "
                    "(SELECT id FROM _sel WHERE id > ? AND id <= ?)", (label, after, upto))
        done += count
        progress(done, selected)


def _change_labels(ws: Workspace, ids: Iterable[int] | None, labels: Sequence[str],
                   where: Sequence[str] | None, add: bool,
                   progress: Callable[[int, int], None] | None = None) -> Change:
    labels = list(dict.fromkeys(labels))
    action = "label" if add else "unlabel"
    with ws._transaction() as tx:
        _require_labels(ws, labels)
        selected = tx.select(ids, where)
        entry = tx.entry(action, "", {"labels": labels, "where": list(where or [])})
        c = tx.conn
        if progress is not None:
            _labels_chunked(tx, entry, labels, add, selected, progress)
        for label in labels if progress is None else ():
            if add:
                c.execute(
                    "INSERT INTO journal_changes(entry_id, record_id, field, before, after) "
                    "SELECT ?, s.id, 'label', NULL, ? FROM _sel s WHERE NOT EXISTS "
                    "(SELECT 1 FROM record_labels l WHERE l.record_id = s.id AND l.label = ?)",
                    (entry, label, label),
                )
                c.execute(
                    "INSERT INTO record_labels(record_id, label) SELECT record_id, after "
                    "FROM journal_changes WHERE entry_id = ? AND field = 'label' AND after = ?",
                    (entry, label),
                )
            else:
                c.execute(
                    "INSERT INTO journal_changes(entry_id, record_id, field, before, after) "
                    "SELECT ?, l.record_id, 'label', l.label, NULL FROM record_labels l "
                    "WHERE l.label = ? AND l.record_id IN (SELECT id FROM _sel)",
                    (entry, label),
                )
                c.execute(
                    "DELETE FROM record_labels WHERE label = ? AND record_id IN "
                    "(SELECT id FROM _sel)", (label,)
                )
        verb = "added" if add else "removed"
        summary = f"{action}: {verb} {', '.join(labels)} on {{n}} of {selected} records"
        return tx.finish(entry, action, selected, summary)


def flag_records(
    ws: Workspace,
    label: str,
    flagged: Iterable[int],
    *,
    notes: Mapping[int, str | None] | None = None,
    exclusive: bool = False,
    meta: Mapping[str, str | None] | None = None,
    action: str = "flag",
    summary: str | None = None,
) -> Change:
    """Put `label` on the `flagged` records in one undoable journal entry, adding it to the
    label set when new; with `exclusive`, take it off every other record. In the same entry,
    set `notes` (record id -> note, None clears) and workspace `meta` keys.

    For a tool that writes one result back as a whole (the trainer's review queue and its
    `train.last_run`), so that one undo takes all of it back.
    """
    label = label.strip()
    if not label or "," in label:
        raise WorkspaceError(f"bad label name {label!r}: non-empty, no commas")
    with ws._transaction() as tx:
        c = tx.conn
        selected = tx.select(list(flagged), None)
        entry = tx.entry(action, "", {"label": label, "exclusive": exclusive,
                                      "meta": sorted(meta or {})})
        c.execute(
            "INSERT INTO journal_changes(entry_id, record_id, field, before, after) "
            "SELECT ?, NULL, 'label_set', NULL, ? "
            "WHERE NOT EXISTS (SELECT 1 FROM label_set WHERE name = ?)", (entry, label, label))
        c.execute("INSERT OR IGNORE INTO label_set(name) VALUES (?)", (label,))
        if exclusive:
            c.execute(
                "INSERT INTO journal_changes(entry_id, record_id, field, before, after) "
                "SELECT ?, l.record_id, 'label', l.label, NULL FROM record_labels l "
                "WHERE l.label = ? AND l.record_id NOT IN (SELECT id FROM _sel)",
                (entry, label))
            c.execute("DELETE FROM record_labels WHERE label = ? AND record_id NOT IN "
                      "(SELECT id FROM _sel)", (label,))
        c.execute(
            "INSERT INTO journal_changes(entry_id, record_id, field, before, after) "
            "SELECT ?, s.id, 'label', NULL, ? FROM _sel s WHERE NOT EXISTS "
            "(SELECT 1 FROM record_labels l WHERE l.record_id = s.id AND l.label = ?)",
            (entry, label, label))
        c.execute("INSERT OR IGNORE INTO record_labels(record_id, label) SELECT id, ? "
                  "FROM _sel", (label,))
        if notes:
            c.execute("DELETE FROM _vals")
            c.executemany("INSERT OR REPLACE INTO _vals(id, value) VALUES (?, ?)",
                          ((int(i), n or None) for i, n in notes.items()))
            missing = [r[0] for r in c.execute(
                "SELECT id FROM _vals WHERE id NOT IN (SELECT id FROM records) ORDER BY id")]
            if missing:
                raise UnknownRecords(missing)
            tx.apply_vals(entry, "note")
        for key, value in (meta or {}).items():
            tx.set_meta(entry, key, value)
        return tx.finish(entry, action, selected,
                         summary or f"{action}: {label} on {selected} records")


def set_label_one(ws: Workspace, record_id: int, label: str, on: bool) -> Change:
    """Put a label (from the label set) on one record, or take it off."""
    action = "label" if on else "unlabel"
    with ws._transaction() as tx:
        _require_labels(ws, [label])
        tx.one(record_id, ("id",))
        has = tx.conn.execute(
            "SELECT 1 FROM record_labels WHERE record_id = ? AND label = ?",
            (record_id, label)).fetchone() is not None
        verb = "added" if on else "removed"
        if on == has:
            return Change(None, action, 1, 0,
                          f"{action}: {verb} {label} on record {record_id}")
        entry = tx.entry(action, "", {"labels": [label], "record": record_id})
        if on and not has:
            tx.conn.execute(
                "INSERT INTO journal_changes(entry_id, record_id, field, before, after) "
                "VALUES (?, ?, 'label', NULL, ?)", (entry, record_id, label))
            tx.conn.execute("INSERT INTO record_labels(record_id, label) VALUES (?, ?)",
                            (record_id, label))
        elif not on and has:
            tx.conn.execute(
                "INSERT INTO journal_changes(entry_id, record_id, field, before, after) "
                "VALUES (?, ?, 'label', ?, NULL)", (entry, record_id, label))
            tx.conn.execute(
                "DELETE FROM record_labels WHERE record_id = ? AND label = ?",
                (record_id, label))
        return tx.finish_one(entry, action, f"{action}: {verb} {label} on record "
                             f"{record_id}", on != has)
