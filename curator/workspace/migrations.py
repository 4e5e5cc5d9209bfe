"""Workspace schema, as an append-only list of migrations keyed by `PRAGMA user_version`.

Rules (they are what lets an old workspace open safely in a new curator):

- Never edit or reorder a migration that has shipped; add a new one at the end.
- Migration N (1-based) takes a file from user_version N-1 to N. Each runs in one transaction
  together with the user_version bump, so a crash leaves the file at N-1 or N, never between.
- A file whose user_version is above `SCHEMA_VERSION` was written by a newer curator and is
  refused, never touched.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

#: the uid's UNIQUE index of a workspace whose records table v11 rebuilt (`_named_uid_index`)
UID_INDEX = "records_uid"
UID_INDEX_SQL = f"CREATE UNIQUE INDEX {UID_INDEX} ON records(uid)"


def _named_uid_index(conn: sqlite3.Connection) -> None:
    """v11 (issue 15, import speed): give an EMPTY `records` table a named UNIQUE index on the
    uid (`records_uid`) instead of the column's own `UNIQUE` (an automatic index, which can
    never be dropped), so that a bulk import into an empty workspace can defer it like
    `records_tokens` (curator/workspace/sources.py) and build it once at its end: kept up to
    date row by row, random content hashes made every commit rewrite nearly every leaf of it
    into the WAL. Same constraint, same name lookups, `INSERT OR IGNORE` the same.

    A table that holds records is left as it is (rebuilding it would copy every row of a
    user's data): such a workspace keeps the automatic index and its imports do not defer it.
    The empty table is rebuilt the way SQLite documents for a changed column constraint: the
    new table under another name, the old dropped (empty: no foreign key can object), the new
    renamed, then its indexes and triggers (dropped with the old table) created again from the
    SQL that sqlite_master held, in the order they were created (the query planner breaks a tie
    between two indexes by that order)."""
    sql = conn.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'records'").fetchone()
    if sql is None or "uid TEXT NOT NULL UNIQUE," not in sql[0]:
        return
    if conn.execute("SELECT 1 FROM records LIMIT 1").fetchone() is not None:
        return
    others = conn.execute(
        "SELECT sql FROM sqlite_master WHERE tbl_name = 'records' AND type IN ('index', 'trigger') "
        "AND sql IS NOT NULL ORDER BY rowid").fetchall()  # their order: the planner's ties
    table = sql[0].replace("uid TEXT NOT NULL UNIQUE,", "uid TEXT NOT NULL,", 1).replace(
        "CREATE TABLE records (", "CREATE TABLE records_v11 (", 1)
    conn.execute(table)
    conn.execute("DROP TABLE records")
    conn.execute("ALTER TABLE records_v11 RENAME TO records")
    for (statement,) in others:
        conn.execute(statement)
    conn.execute(UID_INDEX_SQL)


#: A migration step: one SQL statement (not a script: `executescript` would commit on its own and
#: break the one-transaction rule), or a function of the connection for a step that SQL alone
#: cannot say (it runs in the same transaction).
Step = str | Callable[[sqlite3.Connection], None]

MIGRATIONS: list[tuple[Step, ...]] = [
    # v1: the tables.
    (
        """CREATE TABLE meta (
            key TEXT PRIMARY KEY,
            value TEXT
        )""",
        """CREATE TABLE journal (
            id INTEGER PRIMARY KEY,
            ts TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            summary TEXT NOT NULL,
            params TEXT,
            n_changes INTEGER NOT NULL DEFAULT 0,
            undoable INTEGER NOT NULL DEFAULT 1,
            state TEXT NOT NULL DEFAULT 'done'
                CHECK (state IN ('done', 'undone', 'discarded'))
        )""",
        """CREATE TABLE records (
            id INTEGER PRIMARY KEY,
            uid TEXT NOT NULL UNIQUE,
            source_file TEXT,
            source_line INTEGER,
            example_index INTEGER,
            raw TEXT NOT NULL,
            format TEXT,
            canonical TEXT,
            current TEXT,
            status TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'accepted', 'rejected')),
            reason TEXT,
            note TEXT,
            tokens_total INTEGER,
            tokens_trained INTEGER,
            cluster_id INTEGER,
            dup_of INTEGER REFERENCES records(id),
            similarity REAL,
            split TEXT,
            import_id INTEGER REFERENCES journal(id),
            created TEXT NOT NULL
        )""",
        """CREATE TABLE label_set (
            name TEXT PRIMARY KEY
        )""",
        """CREATE TABLE record_labels (
            record_id INTEGER NOT NULL REFERENCES records(id),
            label TEXT NOT NULL REFERENCES label_set(name),
            PRIMARY KEY (record_id, label)
        ) WITHOUT ROWID""",
        """CREATE TABLE issues (
            id INTEGER PRIMARY KEY,
            record_id INTEGER NOT NULL REFERENCES records(id),
            code TEXT NOT NULL,
            severity TEXT NOT NULL,
            message_index INTEGER,
            path TEXT,
            message TEXT NOT NULL,
            hint TEXT
        )""",
        "CREATE INDEX issues_record ON issues(record_id)",
        """CREATE TABLE sources (
            id INTEGER PRIMARY KEY,
            path TEXT NOT NULL,
            sha256 TEXT,
            size INTEGER,
            rows INTEGER NOT NULL,
            new INTEGER NOT NULL,
            already_present INTEGER NOT NULL,
            rejected INTEGER NOT NULL,
            complete INTEGER NOT NULL DEFAULT 0,
            import_id INTEGER REFERENCES journal(id),
            imported_at TEXT NOT NULL
        )""",
        # One row per (entry, record, field) an action changed; `before`/`after` hold the
        # column's value (JSON text for `current` and `issues`). Rows, not one JSON payload, so a
        # bulk action over a million records is written and undone in SQL, never in Python lists.
        """CREATE TABLE journal_changes (
            entry_id INTEGER NOT NULL REFERENCES journal(id),
            record_id INTEGER REFERENCES records(id),
            field TEXT NOT NULL,
            before,
            after
        )""",
        "CREATE INDEX journal_changes_entry ON journal_changes(entry_id, field)",
    ),
    # v2: indexes behind the review filters (status, split, cluster, dup, tokens, issue, label),
    # so a count or a page over a million records does not scan the table.
    (
        "CREATE INDEX records_status ON records(status, id)",
        "CREATE INDEX records_split ON records(split, id)",
        "CREATE INDEX records_cluster ON records(cluster_id, id)",
        "CREATE INDEX records_dup_of ON records(dup_of)",
        "CREATE INDEX records_tokens ON records(tokens_total, id)",
        "CREATE INDEX issues_code ON issues(code, record_id)",
        "CREATE INDEX record_labels_label ON record_labels(label, record_id)",
    ),
    # v3 (pipeline): the duplicate pairs the last dedup run verified, kept so that split can check
    # leakage without finding them again. A cache of facts about content, not decisions: not
    # journaled; meta `dedup.cache` names the content and settings it is valid for.
    (
        """CREATE TABLE dedup_pairs (
            a INTEGER NOT NULL,
            b INTEGER NOT NULL,
            similarity REAL NOT NULL,
            exact INTEGER NOT NULL,
            PRIMARY KEY (a, b)
        ) WITHOUT ROWID""",
    ),
    # v4 (review search): a contentless FTS5 index over each record's message text. It is filled
    # lazily (Workspace.build_search_index, on the first search, resumable) up to the record id
    # kept in meta `search.indexed_upto`; an edit or its undo of an indexed record re-indexes it
    # in the same transaction. Contentless: the text is not stored twice.
    (
        "CREATE VIRTUAL TABLE records_fts USING fts5(body, content='', "
        "tokenize='unicode61 remove_diacritics 2')",
        """CREATE TRIGGER records_fts_edit AFTER UPDATE OF current ON records
        WHEN old.id <= coalesce((SELECT CAST(value AS INTEGER) FROM meta
                                 WHERE key = 'search.indexed_upto'), 0)
        BEGIN
            INSERT INTO records_fts(records_fts, rowid, body) VALUES ('delete', old.id,
                coalesce((SELECT group_concat(CAST(json_extract(m.value, '$.content') AS TEXT),
                                              ' ')
                          FROM json_each(coalesce(old.current, old.canonical), '$.messages') m),
                         coalesce(old.current, old.canonical, old.raw)));
            INSERT INTO records_fts(rowid, body) VALUES (new.id,
                coalesce((SELECT group_concat(CAST(json_extract(m.value, '$.content') AS TEXT),
                                              ' ')
                          FROM json_each(coalesce(new.current, new.canonical), '$.messages') m),
                         coalesce(new.current, new.canonical, new.raw)));
        END""",
    ),
    # v5 (review marks): the records marked in the review app for a bulk action. Selection
    # state, not data: saved at once, never journaled (undo does not touch it). Plus an index on
    # records.import_id: deleting a journal row makes SQLite check that foreign key, which
    # without an index is a scan of every record (0.5 s at a million). IF NOT EXISTS: the
    # migration stays correct whichever number it ends up with.
    (
        """CREATE TABLE IF NOT EXISTS marks (
            record_id INTEGER PRIMARY KEY REFERENCES records(id)
        )""",
        "CREATE INDEX IF NOT EXISTS records_import_id ON records(import_id)",
    ),
    # v6 (dedup): the records dedup and split compare (`workspace.dedup.ELIGIBLE_SQL`, whose terms
    # imply the index's WHERE, so SQLite uses it) and the edited ones, found without reading
    # every record's text:
    # at a million records the table scan took 2 s of a 26 s dedup run, the index 0.3 s.
    (
        "CREATE INDEX IF NOT EXISTS records_eligible ON records(id) "
        "WHERE status != 'rejected' AND coalesce(current, canonical) IS NOT NULL",
        "CREATE INDEX IF NOT EXISTS records_edited ON records(id) WHERE current IS NOT NULL",
    ),
    # v7 (score): each record's scores under a language model (`curator score`,
    # curator/workspace/scores.py): the answer's mean loss given the prompt and alone, their
    # ratio (IFD), and the probability of ending the answer where it ends. A cache of facts about
    # content, not decisions: not journaled. `content_hash` is the hash of the text that was
    # scored, so an edited record is scored again; `note` says why a record has no numbers. No
    # foreign key: a cache must never stop a record from being deleted.
    (
        """CREATE TABLE IF NOT EXISTS scores (
            record_id INTEGER PRIMARY KEY,
            model TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            loss_prompted REAL,
            loss_alone REAL,
            ifd REAL,
            end_prob REAL,
            answer_tokens INTEGER NOT NULL DEFAULT 0,
            note TEXT,
            scored_at TEXT NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS scores_ifd ON scores(ifd, record_id)",
        "CREATE INDEX IF NOT EXISTS scores_end_prob ON scores(end_prob, record_id)",
    ),
    # v8 (preference records, issue 16): a record's
    # kind. `chat` (every record before this migration) holds canonical chat; `preference` holds
    # the canonical pair {"prompt", "chosen", "rejected", "tools"?} (curator.formats.preference);
    # `feedback` holds KTO's unpaired {"prompt", "completion", "label"}. `tokens_sides`: JSON
    # {"prompt": n, "chosen": n, "rejected": n} for a pair (NULL for chat). Self-contained: it
    # reads no other migration's tables.
    (
        "ALTER TABLE records ADD COLUMN kind TEXT NOT NULL DEFAULT 'chat' "
        "CHECK (kind IN ('chat', 'preference', 'feedback'))",
        "ALTER TABLE records ADD COLUMN tokens_sides TEXT",
        "CREATE INDEX IF NOT EXISTS records_kind ON records(kind, id)",
    ),
    # v9 (coverage, issue 12): the topics of the prompts (`curator coverage`,
    # curator/workspace/coverage.py): the topic table of the last run and each clustered
    # record's topic, with the hash of the prompt that was clustered (a record whose prompt
    # changed since, or a record added since, makes the table stale; it is then recomputed, never
    # patched). A cache of facts about content, not decisions: not journaled, no foreign key.
    # Self-contained, IF NOT EXISTS: correct whichever number it ends up with.
    (
        """CREATE TABLE IF NOT EXISTS topics (
            topic INTEGER PRIMARY KEY,
            size INTEGER NOT NULL,
            share REAL NOT NULL,
            example_record INTEGER,
            example TEXT,
            words TEXT NOT NULL DEFAULT '[]',
            cohesion REAL,
            flag TEXT
        )""",
        """CREATE TABLE IF NOT EXISTS record_topics (
            record_id INTEGER PRIMARY KEY,
            topic INTEGER NOT NULL,
            prompt_hash TEXT NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS record_topics_topic ON record_topics(topic, record_id)",
    ),
    # v10 (issue 15, split and dedup speed): the marks that split and dedup write (split,
    # cluster_id, dup_of, similarity) move out of `records` into a narrow table of their own.
    # A record's row holds its raw line and canonical JSON (1.5 KB on real text), and SQLite
    # rewrites a whole row to change one column: giving a million records their split rewrote
    # every page of the table (2.3 GB) into the WAL. Here a mark costs a ~20-byte row. A record
    # with no row has no marks (all NULL); readers LEFT JOIN it (`workspace.selection`). The
    # old columns are renamed, not dropped (dropping rewrites every row, and `dup_of` is a
    # foreign key, which SQLite will not drop): they keep the values they had at this move and
    # are never read or written again; the new names make any reader still using them fail
    # loudly. No foreign key (records are never deleted; a key would cost a lookup in the wide
    # table for every mark written). Self-contained: reads only v1's columns.
    (
        """CREATE TABLE IF NOT EXISTS record_marks (
            record_id INTEGER PRIMARY KEY,
            split TEXT,
            cluster_id INTEGER,
            dup_of INTEGER,
            similarity REAL
        )""",
        "INSERT OR REPLACE INTO record_marks(record_id, split, cluster_id, dup_of, similarity) "
        "SELECT id, split, cluster_id, dup_of, similarity FROM records WHERE split IS NOT NULL "
        "OR cluster_id IS NOT NULL OR dup_of IS NOT NULL OR similarity IS NOT NULL",
        "DROP INDEX IF EXISTS records_split",
        "DROP INDEX IF EXISTS records_cluster",
        "DROP INDEX IF EXISTS records_dup_of",
        "ALTER TABLE records RENAME COLUMN split TO moved_split",
        "ALTER TABLE records RENAME COLUMN cluster_id TO moved_cluster_id",
        "ALTER TABLE records RENAME COLUMN dup_of TO moved_dup_of",
        "ALTER TABLE records RENAME COLUMN similarity TO moved_similarity",
        "CREATE INDEX IF NOT EXISTS record_marks_split ON record_marks(split, record_id)",
        "CREATE INDEX IF NOT EXISTS record_marks_cluster ON record_marks(cluster_id, record_id)",
        "CREATE INDEX IF NOT EXISTS record_marks_dup_of ON record_marks(dup_of, record_id)",
    ),
    # v11 (issue 15, import speed): an empty records table gets a named, droppable UNIQUE index
    # on the uid instead of the column's automatic one (`_named_uid_index`); a table with
    # records is left as it is.
    (_named_uid_index,),
]

SCHEMA_VERSION = len(MIGRATIONS)
