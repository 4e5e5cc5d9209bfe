"""Build a large review workspace fast, by bulk insert (no validation), for the TUI benchmark.

    python bench/tui_workspace.py 1000000 /tmp/curator_tui_1m.db

Records come from bench/gen_chat.py's generator (same shape as the pipeline benchmark data);
statuses, labels, issues, duplicate clusters, splits and token counts are filled in with fixed
proportions so every list column and filter has something to show. The file is reused when it
already holds N records at the current schema version.
"""

from __future__ import annotations

import hashlib
import random
import sqlite3
import sys
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from gen_chat import _Writer

from curator.workspace import Workspace
from curator.workspace.migrations import SCHEMA_VERSION

LABELS = ("refund", "billing", "shipping", "tone", "hallucination")
ISSUES = (("chat.empty_content", "error"), ("tokens.over_limit", "error"),
          ("quality.short_answer", "warning"), ("pii.email", "warning"))


def build(path: Path, n: int, seed: int = 0) -> Path:
    if path.exists():
        con = sqlite3.connect(path)
        try:
            have = con.execute("SELECT count(*) FROM records").fetchone()[0]
            version = con.execute("PRAGMA user_version").fetchone()[0]
        finally:
            con.close()
        if have == n and version == SCHEMA_VERSION:
            return path
        if have == n and version < SCHEMA_VERSION:
            # An older schema: migrate in place (minutes less than building again), and drop
            # the pre-migration copy the store keeps, which a benchmark cache does not need.
            Workspace.open(path).close()
            Path(f"{path}.v{version}.bak").unlink(missing_ok=True)
            return path
        for suffix in ("", "-wal", "-shm", ".lock"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    Workspace.open(path, create=True).close()
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA synchronous = OFF")
    rng = random.Random(seed)
    writer = _Writer(seed)
    t0 = time.perf_counter()
    con.execute("BEGIN")
    con.executemany("INSERT INTO label_set(name) VALUES (?)", [(x,) for x in LABELS])
    con.execute("INSERT INTO journal(id, ts, actor, action, summary, undoable) VALUES "
                "(1, '2026-01-01T00:00:00Z', 'bench', 'import', 'bulk insert', 0)")
    batch: list[tuple[object, ...]] = []
    issues: list[tuple[object, ...]] = []
    labels: list[tuple[int, str]] = []
    cluster = 0
    for i in range(1, n + 1):
        text = orjson.dumps(writer.example(), option=orjson.OPT_SORT_KEYS).decode()
        r = rng.random()
        status = "accepted" if r < 0.2 else "rejected" if r < 0.25 else "pending"
        split = rng.choices(("train", "validation", "holdout", None), (70, 10, 10, 10))[0]
        cl = dup = sim = None
        if rng.random() < 0.03:
            cluster = i
            cl = i
        elif cluster and rng.random() < 0.05 and i - cluster < 20:
            cl, dup, sim = cluster, cluster, round(rng.uniform(0.8, 1.0), 3)
        batch.append((i, hashlib.sha1(text.encode()).hexdigest() + f"#{i}", "gen.jsonl", i,
                      text, "openai-chat", text, status,
                      "manual" if status == "rejected" else None,
                      len(text) // 4, len(text) // 6, cl, dup, sim, split, 1,
                      "2026-01-01T00:00:00Z"))
        if rng.random() < 0.08:
            code, sev = rng.choice(ISSUES)
            issues.append((i, code, sev, 1, "/messages/1", f"{code} found", None))
        if rng.random() < 0.1:
            labels.append((i, rng.choice(LABELS)))
        if len(batch) >= 20_000:
            _flush(con, batch, issues, labels)
    _flush(con, batch, issues, labels)
    con.execute("COMMIT")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    print(f"built {n:,} records in {time.perf_counter() - t0:.0f} s: {path} "
          f"({path.stat().st_size / 1e6:.0f} MB)", file=sys.stderr)
    return path


def _flush(con: sqlite3.Connection, batch: list[tuple[object, ...]],
           issues: list[tuple[object, ...]], labels: list[tuple[int, str]]) -> None:
    con.executemany(
        "INSERT INTO records(id, uid, source_file, source_line, raw, format, canonical, status, "
        "reason, tokens_total, tokens_trained, cluster_id, dup_of, similarity, split, import_id, "
        "created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", batch)
    con.executemany("INSERT INTO issues(record_id, code, severity, message_index, path, message, "
                    "hint) VALUES (?, ?, ?, ?, ?, ?, ?)", issues)
    con.executemany("INSERT INTO record_labels(record_id, label) VALUES (?, ?)", labels)
    batch.clear()
    issues.clear()
    labels.clear()


if __name__ == "__main__":
    build(Path(sys.argv[2]), int(sys.argv[1]))
