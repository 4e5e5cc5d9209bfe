"""Streaming files into a workspace: read, prepare (detect, convert, validate, count), store.

`prepare` is the seam where curator.formats and curator.validate plug in: it turns one parsed
row into a `PreparedRecord` (both defined in `curator.workspace.prepare`). Without one, the
import prepares rows with `Preparer("openai")`, the same checks as `curator validate`.

Identity. A record's uid is the SHA-256 of its canonical JSON (sorted keys), or of the raw line
when it does not parse, plus `#k` for the k-th repeat of the same content inside one file. So:
re-importing a file adds nothing; exact duplicates inside a file are kept as separate records
for dedup to mark (not silently merged); a row already present from another file is counted as
"already present" and not stored twice.

Crash safety. Rows are inserted in batches, one transaction each, and each commit also updates
the file's `sources` row; a kill loses at most the batch in flight, and running the same import
again adds exactly the rows that are missing. `curator import` into an empty workspace drops the
indexes whose keys come in random order (`sources.DEFERRED_INDEXES`: token counts, and the uid's
UNIQUE index in a workspace created since schema v11) while it writes and builds them at its
end; the commit that drops them names them in meta, so an import killed in between leaves them
for the next `Workspace.open` to build (`sources.defer_indexes`). Without the uid index only the
first file's rows go in, whose uids this module makes unique (`_numbered_row`), and only while
nothing else has written a record (`sources.UidOwner`); every other insert builds it first.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import mmap
import multiprocessing
import os
import pickle
import secrets
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import xxhash

from curator.io import (
    ChunkScan,
    Reader,
    ReadError,
    Row,
    RowsLost,
    Source,
    chunk_bounds,
    open_source,
    precheck,
    read_line,
    read_rows,
    split_lines,
)
from curator.io.reader import line_text, row_from_line
from curator.issues import Issue
from curator.workspace import Workspace, WorkspaceError, WorkspaceWriteFailed
from curator.workspace.settings import (  # moved there; importable from here as before
    WorkspaceSettings as WorkspaceSettings,
)
from curator.workspace.settings import (
    settings_meta as settings_meta,
)
from curator.workspace.settings import (
    workspace_settings as workspace_settings,
)
from curator.workspace.sources import (
    RecordRow,
    UidOwner,
    build_deferred_indexes,
    file_stamp,
    import_cache,
    import_rows,
    is_rejected,
    set_file_stamp,
    stamped_imports,
    uid_deferred_by,
)
from curator.workspace.sources import defer_indexes as defer_workspace_indexes

if TYPE_CHECKING:  # the preparer loads the validator (numpy, pydantic): only when an import runs
    from curator.workspace.prepare import Prepare

#: records in a file's first commit (a disk that fills or a file-size limit still keeps a first
#: 5,000 rows); each later commit of the default schedule holds twice the one before, up to
#: MAX_BATCH_SIZE. Per record, a commit of 20,000 writes fewer pages than four of 5,000: the
#: uid index's leaves (random content hashes) are written to the WAL once per commit that
#: touches them. At a million real-text rows: 10 % less of the write's CPU, 40 % less of its
#: wall time. A kill still loses only the batch in flight, which running the import again adds.
BATCH_SIZE = 5000
MAX_BATCH_SIZE = 20_000
WORKER_BATCH = 500  # rows per job sent to a worker process


@dataclass(slots=True)
class FileReport:
    path: str
    rows: int = 0
    new: int = 0
    already_present: int = 0
    rejected: int = 0
    #: reason code -> count, over the new records stored as rejected
    reasons: Counter[str] = field(default_factory=Counter)
    sha256: str | None = None
    #: why the file could not be read to its end (None: it was)
    error: str | None = None
    #: bytes of the file read so far (for a progress bar; not in the report)
    bytes_read: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "rows": self.rows, "new": self.new,
                "already_present": self.already_present, "rejected": self.rejected,
                "reasons": dict(sorted(self.reasons.items())), "sha256": self.sha256,
                "error": self.error}


@dataclass(slots=True)
class ImportReport:
    files: list[FileReport] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)

    @property
    def new(self) -> int:
        return sum(f.new for f in self.files)

    @property
    def already_present(self) -> int:
        return sum(f.already_present for f in self.files)

    @property
    def rejected(self) -> int:
        return sum(f.rejected for f in self.files)

    @property
    def reasons(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for f in self.files:
            total.update(f.reasons)
        return total

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "new": self.new, "already_present": self.already_present,
                "rejected": self.rejected, "reasons": dict(sorted(self.reasons.items())),
                "files": [f.to_dict() for f in self.files]}


class ImportFailed(WorkspaceError):
    pass


def _sha256(path: Path) -> tuple[str | None, int | None]:
    if not path.is_file():
        return None, None
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest(), path.stat().st_size


def _prepared(row: Row, prepare: Prepare) -> RecordRow:
    """The record for one row as import writes it (`RecordRow`, its uid before numbering
    repeats). Built as the tuple that crosses to the parent, with no `NewRecord` in between; the
    canonical JSON is dumped once and hashed as those bytes."""
    if row.data is None:
        issues = list(row.issues) or [Issue(
            "json.not_object", "error", "the row is valid JSON but not an object",
            row.file, row.line, row.example_index)]
        canonical_text = None
        digest = hashlib.sha256(b"raw\x00" + row.raw.encode("utf-8", "surrogatepass")).digest()
        fmt, status = None, "rejected"
        tokens: tuple[int | None, int | None] = (None, None)
        kind: str = "chat"
        sides: str | None = None
    else:
        prepared = prepare(row)
        issues = list(row.issues) + prepared.issues
        canonical = orjson.dumps(prepared.canonical, option=orjson.OPT_SORT_KEYS)
        digest = hashlib.sha256(canonical).digest()
        canonical_text = canonical.decode()
        fmt = prepared.format
        tokens = (prepared.tokens_total, prepared.tokens_trained)
        kind = prepared.kind
        sides = None if prepared.tokens_sides is None else \
            orjson.dumps(prepared.tokens_sides, option=orjson.OPT_SORT_KEYS).decode()
        status = prepared.status or (
            "rejected" if any(i.severity == "error" for i in issues) else "pending")
    reason = next((i.code for i in issues if i.severity == "error"), None) \
        if status == "rejected" else None
    return _hashed_row(digest, (
        row.file, row.line, row.example_index, row.raw, fmt, canonical_text, status, reason,
        tokens[0], tokens[1],
        tuple((i.code, i.severity, i.message_index, i.path, i.message, i.hint) for i in issues),
        kind, sides))


def _hashed_row(digest: bytes, fields: tuple[Any, ...]) -> RecordRow:
    """The `RecordRow` of a record whose content hashes to `digest`: its uid before numbering
    repeats (the first 20 bytes in hex), then the other fields."""
    return (digest[:20].hex(), *fields)


def _numbered_row(rec: RecordRow, repeats: dict[str, int]) -> RecordRow:
    """Give the k-th repeat of one content inside a file the uid suffix `#k` (the uid comes
    first in a `RecordRow`; before numbering it is the content's hash, the key of `repeats`)."""
    key = rec[0]
    k = repeats.get(key, -1) + 1
    repeats[key] = k
    return (f"{key}#{k}", *rec[1:]) if k else rec


# --- worker processes ---------------------------------------------------------------------------
# Preparing (convert, validate, count tokens) is the expensive part of an import and is pure, so
# jobs go to worker processes; the parent numbers repeats (which needs file order) and writes.
# A JSONL file (the common, large case) is cut into chunks at newlines: the parent reads each
# chunk (it hashes the file and counts each chunk's lines and records, one split and strip per
# line, the reader's own rule, so every row still gets its exact line and example index) and
# sends a worker only where the chunk lies and its 64-bit XXH3 (`_chunk_check`); the worker
# reads those bytes from the file itself, as validate's workers do, and parses its lines (the
# parent never parses a row, and no chunk crosses a pipe). A worker whose bytes are not the
# parent's (the file changed since the parent read it) answers None, and the parent's own bytes
# are sent instead (`_Job.retry`): the rows always come from the bytes that were hashed and counted. (A clean row
# still sends its line back: slicing it from the parent's copy of the chunk, long out of the
# CPU's caches by then, cost the parent's main thread more than the pickling saved,
# docs/benchmarks.md "Import, stop 16".) Other files go as batches of parsed rows. At most
# `JOBS_AHEAD * workers` jobs are in flight, so memory does not grow with the file.

CHUNK_BYTES = 1 << 20  # bytes of a JSONL file per job sent to a worker
#: the check that a worker read the parent's bytes of a chunk (in the parent, and again in the
#: worker): XXH3, 64 bits, in about an eighth of the time of zlib's CRC-32 (0.02 against 0.17
#: CPU s over the 608 MB real-text file)
_chunk_check: Callable[[bytes], int] = xxhash.xxh3_64_intdigest
#: jobs in flight per worker. The parent collects the workers' rows only between its commits,
#: so the jobs in flight are what keeps the workers busy while it writes a batch (up to
#: MAX_BATCH_SIZE rows, about 15 jobs of real text). With 2 per worker each worker waited for
#: work a quarter of an import's wall time (300,000 real-text rows: 6 of 23 s), with 8 about
#: a tenth (2.3-2.6 s). Memory: each job in flight holds its chunk and, once done, its rows.
JOBS_AHEAD = 8

_worker_prepare: Prepare | None = None

Prepared = list[RecordRow]

#: bytes of a job's pickled rows that fit its slot of `_Slots` (a 1 MB chunk of real text makes
#: about 2.3 MB); a job whose rows do not fit sends them through the pool's pipe
SLOT_BYTES = 4 << 20
#: at most this many slots (256 MB): with more jobs in flight (many workers) the rest of them
#: send their rows through the pipe
MAX_SLOTS = 64


class _Slots:
    """Memory the parent shares with the workers it forks (an anonymous shared map, made before
    the fork): one slot of SLOT_BYTES for each job in flight. A worker pickles a job's rows into
    the slot the parent gave that job and answers only their length, so the rows do not cross
    the pool's pipe (written into it in pieces by the worker, read and joined again by the
    parent's result thread: about 1.6 GB at a million real-text rows); the parent unpickles them
    from the slot and gives it to a later job only then. The slot is the job's alone from its
    submission until its rows are read, so nothing else ever writes it meanwhile."""

    def __init__(self, n: int, size: int | None = None) -> None:
        self.size = SLOT_BYTES if size is None else size
        n = min(n, MAX_SLOTS)
        self.mem = mmap.mmap(-1, n * self.size, flags=mmap.MAP_SHARED)
        self._free = list(range(n))  # (the parent's own bookkeeping)

    @classmethod
    def made(cls, n: int) -> _Slots | None:
        """`n` slots, or None where the memory cannot be had (the pipe then carries the rows)."""
        try:
            return cls(n)
        except (OSError, ValueError):
            return None

    def take(self) -> int | None:
        return self._free.pop() if self._free else None

    def give(self, slot: int) -> None:
        self._free.append(slot)

    def put(self, slot: int, rows: Prepared) -> int | bytes:
        """In a worker: `rows` pickled into `slot` and their length; when they do not fit, the
        pickled rows themselves (for the pipe, not pickled twice)."""
        data = pickle.dumps(rows, protocol=pickle.HIGHEST_PROTOCOL)
        if len(data) > self.size:
            return data
        start = slot * self.size
        self.mem[start:start + len(data)] = data
        return len(data)

    def load(self, slot: int, n: int) -> Prepared:
        """The rows a worker put into `slot` (`n` bytes)."""
        view = memoryview(self.mem)
        try:
            part = view[slot * self.size:slot * self.size + n]
            try:
                rows: Prepared = pickle.loads(part)
            finally:
                part.release()
        finally:
            view.release()
        return rows

    def close(self) -> None:
        # (a view of the map that an interrupt left behind keeps it until it is collected)
        with contextlib.suppress(BufferError):
            self.mem.close()


@dataclass(slots=True)
class _Job:
    """One job: `fn(prepare, *args)` makes its rows; `size`: the bytes of the file it covers.
    A chunk of a JSONL file also has `remote`, the args of `_prepare_range` that a worker reads
    the chunk with instead of receiving its bytes (which `args` holds, for `retry`)."""

    fn: Callable[..., Prepared | None]
    args: tuple[Any, ...]
    size: int
    remote: tuple[Any, ...] | None = None

    def submit(self, pool: Executor,
               slot: int | None = None) -> Future[Prepared | int | bytes | None]:
        """The job sent to a worker; with a `slot` of `_Slots`, its rows come back there
        (their length comes back) when they fit."""
        fn, args = (_prepare_range, self.remote) if self.remote is not None \
            else (self.fn, self.args)
        if slot is not None:
            return pool.submit(_in_slot, slot, fn, *args)
        return pool.submit(_in_worker, fn, *args)

    def retry(self, pool: Executor) -> Prepared:
        """The rows of the bytes the parent read, sent to a worker (after `_prepare_range` found
        the file's bytes changed)."""
        done = pool.submit(_in_worker, self.fn, *self.args).result()
        assert done is not None
        return done


_worker_slots: _Slots | None = None


def _init_worker(prepare: Prepare, slots: _Slots | None = None) -> None:
    global _worker_prepare, _worker_slots
    _worker_prepare = prepare
    _worker_slots = slots


def _in_worker(fn: Callable[..., Prepared | None], *args: Any) -> Prepared | None:
    assert _worker_prepare is not None
    return fn(_worker_prepare, *args)


def _in_slot(slot: int, fn: Callable[..., Prepared | None],
             *args: Any) -> Prepared | int | bytes | None:
    """`_in_worker`, its rows put into `slot` of the shared memory (`_Slots`): their length
    comes back, or the rows pickled when they do not fit."""
    made = _in_worker(fn, *args)
    if made is None or _worker_slots is None:
        return made
    return _worker_slots.put(slot, made)


def _prepare_range(prepare: Prepare, name: str, path: str, start: int, end: int, check: int,
                   first_line: int, first_index: int, at_eof: bool) -> Prepared | None:
    """`_prepare_lines` of the bytes [start, end) of the file at `path`, read here; None when
    they are not the bytes the parent read (their 64-bit XXH3 is not `check`: the file
    changed)."""
    with open(path, "rb") as fh:
        fh.seek(start)
        buf = fh.read(end - start)
    if _chunk_check(buf) != check:
        return None
    return _prepare_lines(prepare, name, buf, first_line, first_index, start, at_eof)


def _prepare_batch(prepare: Prepare, rows: list[Row]) -> Prepared:
    return [_prepared(row, prepare) for row in rows]


def _prepare_lines(prepare: Prepare, name: str, buf: bytes, first_line: int, first_index: int,
                   base_offset: int, at_eof: bool) -> Prepared:
    """Parse and prepare the JSONL lines of one chunk, read as `Reader` reads them."""
    from curator.workspace.prepare import Preparer

    # The common clean chat row is built here, as `_prepared` would build it: straight from its
    # bytes where the checker's quick path takes it (`RowChecker.quick_line`, validate's own),
    # else from the scanned line (Preparer.clean_chat); any other row goes through `_prepared`.
    clean = prepare.clean_chat if type(prepare) is Preparer else None
    quick = prepare.quick if type(prepare) is Preparer else None
    # a row the quick path turned down (False) is prepared without asking is_clean again
    screened = prepare.screened if type(prepare) is Preparer else prepare
    scan = ChunkScan()
    sha256 = hashlib.sha256
    out: Prepared = []
    append = out.append
    index = first_index - 1
    for raw, line_no, offset, last_unended in split_lines(buf, first_line, base_offset, at_eof):
        got = quick(raw) if quick is not None else None
        if got:  # a tuple: the clean row's answer (False or None: the general path)
            index += 1
            canonical = got[0]
            # a line the quick path takes is valid UTF-8 without a CR: its text is `line_text`'s,
            # sent as its bytes (the store writes them as TEXT: `sources._clean_insert`). The
            # record is `_clean_row`'s, built here without its two calls (most rows come here).
            digest = sha256(canonical).digest()
            append((digest[:20].hex(), name, line_no, index, raw, canonical, got[1], got[2]))
            continue
        rec = read_line(raw, line_no, offset, last_unended, scan)
        if rec is None:
            continue
        index += 1
        value = rec.value
        # (got False: the quick path's is_clean turned this row down already)
        counts = clean(value) if clean is not None and got is not False and value is not None \
            and not rec.issues else None
        if counts is None:
            append(_prepared(row_from_line(name, rec, index),
                             screened if got is False else prepare))
            continue
        # the parser's canonical JSON is the row's (sorted keys, as `_prepared` dumps it)
        canonical = rec.canonical if rec.canonical is not None \
            else orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
        append(_clean_row(name, rec.line, index, line_text(rec), canonical, counts[0], counts[1]))
    return out


def _clean_row(name: str, line: int, index: int, text: str | bytes, canonical: bytes,
               total: int | None, trained: int | None) -> RecordRow:
    """The record of a clean plain-chat row, as `_prepared` builds it from the Preparer: chat,
    pending, no issue, these counts, keyed by the SHA-256 of its canonical JSON; in the short
    form (`sources.CLEAN_ROW_LEN`), since the fields every clean record shares are the insert's.
    The line and the canonical JSON stay UTF-8 bytes (`text` may be either): the insert stores
    them as TEXT, the same value as the decoded string, so no worker decodes them and the
    parent unpickles bytes, not strings."""
    return _hashed_row(hashlib.sha256(canonical).digest(),
                       (name, line, index, text, canonical, total, trained))


def _row_jobs(rows: Iterator[Row]) -> Iterator[_Job]:
    """Batches of parsed rows; rows read before a read error still make a last job."""
    while True:
        batch: list[Row] = []
        try:
            for row in rows:
                batch.append(row)
                if len(batch) >= WORKER_BATCH:
                    break
        except OSError:
            if batch:
                yield _row_job(batch)
            raise
        if not batch:
            return
        yield _row_job(batch)


def _row_job(batch: list[Row]) -> _Job:
    size = sum(len(r.raw_bytes) + 1 if r.raw_bytes is not None else len(r.raw) + 1 for r in batch)
    # raw_bytes duplicates raw; the workers do not need it
    return _Job(_prepare_batch, ([replace(r, raw_bytes=None) for r in batch],), size)


def _line_jobs(path: Path, name: str, start: int, size: int, digest: Any) -> Iterator[_Job]:
    """Chunks of a JSONL file, with the line and example index each starts at. Every byte
    read goes into `digest` (the file's SHA-256, so it is not read a second time)."""
    line, index = 1, 1
    with path.open("rb") as fh:
        digest.update(fh.read(start))
        for s, e in chunk_bounds(path, start, size, CHUNK_BYTES):
            fh.seek(s)
            buf = fh.read(e - s)
            digest.update(buf)
            pieces = buf.split(b"\n")
            at_eof = e >= size
            yield _Job(_prepare_lines, (name, buf, line, index, s, at_eof), len(buf),
                       (name, str(path), s, s + len(buf), _chunk_check(buf), line, index, at_eof))
            line += len(pieces) - (1 if buf.endswith(b"\n") else 0)
            index += sum(1 for piece in pieces if piece.strip())
        while more := fh.read(1 << 20):  # the file grew since it was probed: hashed as before
            digest.update(more)


def _prepared_rows(jobs: Iterator[_Job], prepare: Prepare, pool: Executor | None,
                   fr: FileReport, window: int,
                   slots: _Slots | None = None) -> Iterator[RecordRow]:
    """The record of each row (its uid before numbering repeats), in file order; counts rows and
    bytes into `fr`. `slots`: the workers' shared memory (`_Slots`), one slot per job in flight
    (at least `window`)."""
    pending: collections.deque[tuple[Future[Prepared | int | bytes | None], _Job, int | None]] = \
        collections.deque()
    failure: OSError | None = None
    try:
        while True:
            job: _Job | None = None
            if failure is None:
                try:
                    job = next(jobs, None)
                except OSError as exc:
                    # what was read before the error is still prepared and stored
                    failure = exc
            if job is not None:
                if pool is None:
                    # counted as they are handed on, so with no workers fr.rows is what was stored
                    made = job.fn(prepare, *job.args)
                    assert made is not None
                    for item in made:
                        fr.rows += 1
                        yield item
                    fr.bytes_read += job.size
                    continue
                slot = slots.take() if slots is not None else None
                pending.append((job.submit(pool, slot), job, slot))
            last = job is None
            while pending and (last or len(pending) >= window):
                future, done_job, slot = pending.popleft()
                try:
                    answer = future.result()
                    if slot is not None and isinstance(answer, int):
                        assert slots is not None  # the rows' length: they are in the slot
                        answer = slots.load(slot, answer)
                finally:
                    if slot is not None and future.done():  # (its worker is done with it)
                        assert slots is not None
                        slots.give(slot)
                if isinstance(answer, bytes):  # rows too large for the slot, pickled
                    answer = pickle.loads(answer)
                assert not isinstance(answer, int | bytes)
                done = answer
                if done is None:  # the worker read other bytes than the parent: send the parent's
                    assert pool is not None
                    done = done_job.retry(pool)
                fr.rows += len(done)
                fr.bytes_read += done_job.size
                yield from done
            if failure is not None:
                raise failure
            if last:
                return
    finally:
        _give_back(pending, slots)


def _give_back(pending: collections.deque[tuple[Future[Any], _Job, int | None]],
               slots: _Slots | None) -> None:
    """The slots of the jobs still in flight when the rows stop being collected (an error, an
    interrupt, a consumer that stopped): a job not started yet is cancelled; a started one is
    waited for, since it writes its slot until it is done."""
    if slots is None:
        return
    for future, _, slot in pending:
        if slot is None:
            continue
        if not future.cancel():
            future.exception()  # (waits; what went wrong is not this caller's to raise)
        slots.give(slot)


def _flush(ws: Workspace, import_id: int, batch: list[RecordRow], fr: FileReport,
           progress: Callable[[FileReport], None] | None, owner: UidOwner | None) -> None:
    # rows committed, this batch included (fr.rows may run ahead: batches in the workers)
    totals = {"rows": fr.new + fr.already_present + len(batch), "new": fr.new, "already_present": fr.already_present,
              "rejected": fr.rejected}
    is_new = import_rows(ws, import_id, batch, totals, owner)
    for rec, new in zip(batch, is_new, strict=True):
        if not new:
            fr.already_present += 1
            continue
        fr.new += 1
        if is_rejected(rec):
            fr.rejected += 1
            fr.reasons[rec[8] or "rejected"] += 1  # reason
    batch.clear()
    if progress is not None:
        progress(fr)


def import_files(
    ws: Workspace,
    paths: Iterable[str | os.PathLike[str]],
    prepare: Prepare | None = None,
    progress: Callable[[FileReport], None] | None = None,
    batch_size: int | None = None,
    *,
    workers: int = 1,
    meta: Mapping[str, str] | None = None,
    keep_going: bool = False,
    defer_indexes: bool = False,
) -> ImportReport:
    """Import files into a workspace, streaming; see the module docstring for the guarantees.

    `progress` is called with the file's running report after each committed batch. A file that
    cannot be read raises ImportFailed after the batches read so far are committed; with
    `keep_going` its error goes into its FileReport (`error`) and the next file is imported.
    `workers` > 1 prepares rows in that many processes (`prepare` must be picklable).
    `meta` (workspace meta keys) is written with the first file's import entry.
    `prepare` None means `Preparer("openai")`. `batch_size`: records per commit; None is
    BATCH_SIZE doubling commit by commit up to MAX_BATCH_SIZE.
    `defer_indexes`: into an empty workspace, drop the secondary indexes whose keys come in
    random order (`sources.DEFERRED_INDEXES`) and build them once at the end
    (`sources.defer_indexes`: less disk writing; a kill in between leaves them for the next
    `Workspace.open` to build). Only for a process
    that nothing else reads the workspace through while it imports (`curator import`), since
    queries meanwhile run without the indexes.
    """
    from curator.tokens_ascii import large_input  # (numpy: not at the CLI's start-up)
    from curator.workspace.prepare import Preparer

    if prepare is None:
        prepare = Preparer("openai")
    paths = list(paths)
    if type(prepare) is Preparer and large_input(paths):
        prepare.compiled_ascii = True  # the same counts; its start-up pays on this much text
    report = ImportReport()
    pool: Executor | None = None
    slots: _Slots | None = None
    if workers > 1:
        # fork keeps start-up cheap and needs no importable __main__; elsewhere spawn.
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        if method == "fork" and type(prepare) is Preparer:
            # the checker built once here and inherited by the forked workers (copy-on-write),
            # not once in each (1.2 CPU s a process with the compiled count)
            prepare.ready()
        if method == "fork":  # (memory a spawned worker could not share)
            slots = _Slots.made(JOBS_AHEAD * workers)
        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method),
                                   initializer=_init_worker,
                                   initargs=(prepare,) if slots is None else (prepare, slots))
    try:
        with import_cache(ws):
            token = secrets.token_hex(8)
            deferred = defer_indexes and defer_workspace_indexes(ws, owner=token)
            # the uid's UNIQUE index deferred too (a workspace created since schema v11): the
            # first file's rows go in without it (sources.UidOwner)
            owner = UidOwner(token) if deferred and uid_deferred_by(ws, token) else None
            try:
                _import_paths(ws, paths, report, prepare, pool, JOBS_AHEAD * workers, progress,
                              batch_size, meta, keep_going, owner, slots)
            except Exception:
                if deferred:  # what was stored gets its indexes; a failure here leaves them
                    with contextlib.suppress(WorkspaceError, sqlite3.Error):  # to the next open
                        build_deferred_indexes(ws)
                raise
            # (a KeyboardInterrupt does not wait for the build: the next open does it)
            if deferred:
                build_deferred_indexes(ws)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
        if slots is not None:  # (the workers are gone: shutdown waits for them)
            slots.close()
    return report


def _import_paths(ws: Workspace, paths: Iterable[str | os.PathLike[str]], report: ImportReport,
                  prepare: Prepare, pool: Executor | None, window: int,
                  progress: Callable[[FileReport], None] | None, batch_size: int | None,
                  meta: Mapping[str, str] | None, keep_going: bool, owner: UidOwner | None,
                  slots: _Slots | None = None) -> None:
    """`owner`: the first file's rows may go in without the uid's UNIQUE index (deferred by this
    import: they are unique among themselves, numbered by `_numbered_row`, and the workspace was
    empty); the next file's first batch builds it (`sources.import_rows`), since its rows may
    repeat the first file's. `slots`: the workers' shared memory (`_Slots`)."""
    for path in paths:
        p = Path(path)
        fr = FileReport(str(p))
        report.files.append(fr)
        try:
            _refuse_own_files(ws, p)
            _import_one(ws, p, fr, prepare, pool, window, progress, batch_size, meta, owner,
                        slots)
        except ImportFailed as exc:
            if not keep_going:
                raise
            fr.error = str(exc)
        except WorkspaceWriteFailed as exc:  # a full disk: the next file would fail too
            raise WorkspaceWriteFailed(
                f"{exc}. The import of {p} stopped after storing "
                f"{fr.new + fr.already_present} of its rows; run it again to add the rest"
            ) from exc
        meta = None
        owner = None


def _refuse_own_files(ws: Workspace, p: Path) -> None:
    """Refuse to read the workspace's own file, -wal or -shm as data: besides being no data,
    reading them with open() would drop this process's SQLite locks on them when closed."""
    try:
        st = p.stat()
    except OSError:
        return  # the reader says what is wrong with it
    for own in (ws.path, *(Path(f"{ws.path}{s}") for s in ("-wal", "-shm", "-journal"))):
        try:
            o = own.stat()
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == (o.st_dev, o.st_ino):
            raise ImportFailed(f"{p} is the workspace's own file ({own.name}), not data; "
                               f"give the files to import")


def _import_one(ws: Workspace, p: Path, fr: FileReport, prepare: Prepare, pool: Executor | None,
                window: int, progress: Callable[[FileReport], None] | None, batch_size: int | None,
                meta: Mapping[str, str] | None, owner: UidOwner | None,
                slots: _Slots | None = None) -> None:
    try:
        with open_source(p) as src:  # stdin, a pipe or a gzip file is read into a spool first
            fr.path = src.name
            fatal = precheck(src.path)
            if fatal is not None:  # found before anything is written
                raise ImportFailed(fatal.message)
            _import_source(ws, src, fr, prepare, pool, window, progress, batch_size, meta, owner,
                           slots)
    except ReadError as exc:
        raise ImportFailed(exc.issue.message) from exc


def _import_source(ws: Workspace, src: Source, fr: FileReport, prepare: Prepare, pool: Executor | None,
                   window: int, progress: Callable[[FileReport], None] | None, batch_size: int | None,
                   meta: Mapping[str, str] | None, owner: UidOwner | None,
                   slots: _Slots | None = None) -> None:
    p = src.path
    # the file's stamp before it is read: kept when it is the same after (see already_imported)
    stamp = None if src.spooled else file_stamp(p)
    import_id = ws.begin_import(src.name, meta=meta)
    # Counts the repeats of each content in this file, by the uid before numbering (the string
    # the record brings, kept here after its batch is stored: by the allocator's sizes about
    # 135 MB at a million distinct rows, the dict and its keys, 30 MB more than 16-byte keys,
    # which each worker would have to make, pickle and send beside the record).
    repeats: dict[str, int] = {}
    batch: list[RecordRow] = []
    step = BATCH_SIZE if batch_size is None else batch_size  # records in the next commit
    reader = Reader(p, src.name)
    digest = hashlib.sha256()
    jobs = _row_jobs(read_rows(p, src.name)) if reader.probe.fatal or reader.kind != "jsonl" \
        else _line_jobs(p, src.name, reader.probe.start, reader.probe.size, digest)
    try:
        for rec in _prepared_rows(jobs, prepare, pool, fr, window, slots):
            batch.append(_numbered_row(rec, repeats))
            if len(batch) >= step:
                _flush(ws, import_id, batch, fr, progress, owner)
                if batch_size is None:
                    step = min(2 * step, MAX_BATCH_SIZE)
    except RowsLost as exc:  # every row before the unreadable part is stored, and it is named
        _flush(ws, import_id, batch, fr, progress, owner)
        raise ImportFailed(f"{exc.issue.message}; the {fr.rows} rows before it are stored") from exc
    except OSError as exc:
        _flush(ws, import_id, batch, fr, progress, owner)
        reason = exc.issue.message if isinstance(exc, ReadError) else f"cannot read {src.name}: {exc.strerror or exc}"
        raise ImportFailed(
            f"{reason}; the {fr.rows} rows read before the "
            f"error are stored, run the import again once the file is readable"
        ) from exc
    _flush(ws, import_id, batch, fr, progress, owner)
    size: int | None
    if reader.kind == "jsonl" and not reader.probe.fatal:
        fr.sha256, size = digest.hexdigest(), p.stat().st_size
    else:
        fr.sha256, size = _sha256(p)
    summary = (f"import {src.name}: {fr.rows} rows, {fr.new} new, {fr.already_present} already "
               f"present, {fr.rejected} rejected")
    ws.finish_import(import_id, fr.sha256, size, summary, fr.new)
    if stamp is not None and file_stamp(p) == stamp:
        set_file_stamp(ws, import_id, stamp)


def already_imported(ws: Workspace, path: str | os.PathLike[str]) -> bool:
    """True when the workspace holds a complete import of exactly this file's bytes (imported
    under this path), so reopening a big file need not read it all again (`curator review
    FILE`). Cheap when the file is unchanged since it was imported or last checked: its size,
    modification and change times, inode and device are those recorded then (`file_stamp`).
    Otherwise the file is hashed and compared with the imported bytes; when they are the same
    (a file touched or copied back), the new stamp is recorded so the next look is cheap."""
    name = str(path)
    before = file_stamp(path)
    if before is None:
        return False
    if stamped_imports(ws, name, before):
        return True
    done = [s for s in ws.sources() if s["complete"] and s["path"] == name]
    if not done:
        return False
    digest, size = _sha256(Path(path))
    same = [s for s in done if s["sha256"] == digest and s["size"] == size]
    if same and file_stamp(path) == before:  # unchanged while it was hashed
        # a read-only or busy workspace: the next look hashes again
        with contextlib.suppress(WorkspaceError):
            set_file_stamp(ws, int(same[-1]["import_id"]), before)
    return bool(same)


def check_readable(paths: Sequence[str | os.PathLike[str]]) -> list[str]:
    """Problems that would stop an import before it starts (missing, unreadable paths)."""
    problems = []
    for path in paths:
        issue = precheck(path)
        if issue is not None:
            problems.append(issue.message if issue.message.startswith(f"{path}:") else f"{path}: {issue.message}")
    return problems
