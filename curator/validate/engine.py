"""`validate_file`: read, check, count and judge one file, in parallel for JSONL.

A JSONL file is cut into byte ranges that end on a newline. A pool of worker processes parses,
checks and counts each range and sends back only compact results: the issues, per-example token
counts as arrays, and an 8-byte hash per example for the exact-duplicate check. The parent never
holds the file; its memory is the results (a few bytes per example) and the issues found.
Results come back in file order, so line numbers and example indexes are fixed up by adding the
counts of the ranges before. A range that fails in a worker is checked again in the parent; if it
fails there too it becomes an `internal.chunk_failed` error, never a silent gap.
"""

from __future__ import annotations

import multiprocessing
import os
from array import array
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, BinaryIO, Literal

import numpy as np
import orjson
import xxhash

from curator.formats.detect import AMBIGUOUS, UNKNOWN
from curator.io import (
    STDIN_NAME,
    ChunkScan,
    Reader,
    ReadError,
    Source,
    chunk_bounds,
    jsonl_scan_issues,
    open_source,
    probe,
    read_line,
    split_lines,
)
from curator.io.parse import same_colon_count
from curator.issues import Issue
from curator.tokens import TiktokenCounter, TokenCounter
from curator.tokens_ascii import COMPILED_MIN_BYTES
from curator.validate.context import Ctx
from curator.validate.counting import (
    OPENAI_TARGETS,
    approximate,
    first_trained_offset,
    is_local_model,
    make_counter,
)
from curator.validate.fast import PLAIN_ROLES, is_clean_simple_chat
from curator.validate.profiles import Profile, encoding_for, get_profile, openai_limit
from curator.validate.rows import check_row

CHUNK_BYTES = 4 << 20
NO_COUNT = -1
#: the hash of a row that has none (unparsed, or the caller asked for none): never a duplicate
NO_HASH = b"\0" * 8
#: `RowChecker.quick_line`'s answer: (canonical JSON, total, trained) of a clean row; False for
#: a JSON object that `is_clean` turned down; None for any other line
QuickAnswer = tuple[bytes, int, int] | Literal[False] | None
CHAT = "openai-chat"


@dataclass(frozen=True)
class Options:
    """Everything a worker needs to check rows like the parent would (picklable)."""

    target: str = "openai"
    model: str | None = None
    max_tokens: int | None = None
    strict: bool = False
    count_tokens: bool = True
    schema_check: bool = True
    keep_rejected: bool = False

    @property
    def profile(self) -> Profile:
        return get_profile(self.target)

    @property
    def limit(self) -> int:
        if self.max_tokens is not None:
            return self.max_tokens
        p = self.profile
        if self.model and p.name in OPENAI_TARGETS and not is_local_model(self.model):
            return openai_limit(self.model)
        return p.default_max_tokens

    @property
    def encoding(self) -> str:
        model = None if is_local_model(self.model) else self.model
        return encoding_for(model or self.profile.default_model or "gpt-4o-mini")


class RowChecker:
    """Checks one parsed row: rules, token counts, canonical hash. One per process."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.profile = options.profile
        self.limit = options.limit
        self._plain_roles = PLAIN_ROLES & self.profile.roles
        self.counter: TokenCounter | None = (
            make_counter(self.profile.name, options.model, options.encoding) if options.count_tokens else None)
        #: OpenAI encodings count a plain row without fail; a local model's template may refuse it
        self._plain_counter = self.counter if isinstance(self.counter, TiktokenCounter) else None

    def use_compiled_ascii(self) -> bool:
        """Count ASCII texts with the compiled counter from now on (`TiktokenCounter.
        use_compiled_ascii`: the same counts, for large files); True when it is in use."""
        return self._plain_counter is not None and self._plain_counter.use_compiled_ascii()

    def is_clean(self, value: dict[str, Any]) -> bool:
        """Whether the row has the common clean shape: plain chat that no rule finds anything in
        (fast.is_clean_simple_chat, for this target's roles)."""
        return is_clean_simple_chat(value, self._plain_roles)

    def clean_counts(self, value: dict[str, Any]) -> tuple[int, int] | None:
        """(total, trained) of a clean row (`is_clean`) by the plain-chat count, when that count
        raises no issue of its own (within the limit, some trained tokens); None when the general
        count must decide (another tokenizer, over the limit, nothing trained). Needs a counter."""
        if self._plain_counter is None:
            return None
        total, trained = self._plain_counter.count_plain_chat(value["messages"])
        return (total, trained) if total <= self.limit and trained > 0 else None

    def quick_line(self, raw: bytes) -> QuickAnswer:
        """(canonical JSON, total, trained) of the JSONL line `raw` when it is the common clean
        row, found without the general path: it parses to an object with no key lost to a
        duplicate, is clean plain chat (`is_clean`) and its count raises nothing
        (`clean_counts`). For such a row `check` finds no issue and these counts, and the
        canonical JSON is the parser's (`io.parse.same_colon_count`). Otherwise take the general
        path: False when the line is a JSON object that `is_clean` turned down (so `check` need not
        ask again: `screened=True`), None for anything else (including a line ending in CR, which
        the scan counts). Validate's and import's workers call it on every line; it needs the
        plain-chat counter."""
        if raw.endswith(b"\r"):
            return None
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return None
        # A clean plain row nests three levels deep, so the parser's depth test has nothing to do.
        if type(value) is not dict:
            return None
        if not is_clean_simple_chat(value, self._plain_roles):
            return False
        canonical = same_colon_count(raw, value)
        if canonical is None:
            return None
        counts = self.clean_counts(value)
        if counts is None:
            return None
        return canonical, counts[0], counts[1]

    @property
    def quick(self) -> Callable[[bytes], QuickAnswer] | None:
        """`quick_line` where it applies (an OpenAI encoding counts the tokens), else None."""
        return self.quick_line if self._plain_counter is not None else None

    def check(self, value: dict[str, Any], parsed_clean: bool = True, *, fmt: str | None = None,
              canonical: bytes | None = None, digest: bool = True,
              screened: bool = False) -> tuple[str, list[Issue], int, int, bytes]:
        """Rules, then token counts (only for rows without errors), then the canonical hash.

        `fmt`: the row's format when the caller has already classified it
        (`curator.formats.detect.classify`), so that each row is detected once; None
        classifies it here. `canonical`: the row as canonical JSON when the parser made it
        (`curator.io.Parsed.canonical`), hashed instead of writing the row again. `digest=False`:
        the caller has no use for the hash (NO_HASH comes back). `screened=True`: `is_clean` has
        already turned this row down (`quick_line` said False), so the full rules decide without
        asking it again (they find the same on a clean row: tests/unit/test_validate_fast.py).
        """
        clean = not screened and (fmt is None or fmt == CHAT) and is_clean_simple_chat(
            value, self._plain_roles)  # (is_clean, inlined: every row)
        if clean:
            # The common clean row: the full rules would find nothing (see fast.py). Counted here
            # without the general path when the count raises no issue of its own.
            if self.counter is None or not parsed_clean:
                return CHAT, [], NO_COUNT, NO_COUNT, _digest(value, canonical) if digest else NO_HASH
            counts = self.clean_counts(value)
            if counts is not None:
                return CHAT, [], counts[0], counts[1], _digest(value, canonical) if digest else NO_HASH
        ctx = Ctx(self.profile, self.options.strict)
        if clean:
            fmt = CHAT  # over the limit, or no trained tokens: the general count says so below
        else:
            try:
                fmt = check_row(value, ctx, schema_check=self.options.schema_check, fmt=fmt)
            except Exception as exc:  # a rule crashed: report it on this row rather than lose the file
                ctx.add("internal.check_failed", f"a check crashed: {exc!r}")
                fmt = UNKNOWN
        total = trained = NO_COUNT
        # A row converted to chat for checking is counted in its chat form; the note that the
        # target needs that conversion is no reason to leave it uncounted.
        counted, counted_fmt = (ctx.converted, CHAT) if ctx.converted is not None else (value, fmt)
        if self.counter is not None and parsed_clean and counted_fmt in (CHAT, "prompt-completion") and (
                not ctx.issues or not any(i.severity == "error" and i.code != "format.needs_conversion"
                                          for i in ctx.issues)):
            try:
                total, trained = self._count(counted, counted_fmt, ctx)
            except Exception as exc:  # a local model's chat template refused the example
                if isinstance(self.counter, TiktokenCounter):
                    raise
                ctx.add("template.render_error", f"the chat template failed on this example: {exc}")
        return fmt, ctx.issues, total, trained, _digest(value, canonical) if digest else NO_HASH

    def _count(self, value: dict[str, Any], fmt: str, ctx: Ctx) -> tuple[int, int]:
        counter = self.counter
        assert counter is not None
        if fmt == "prompt-completion":
            trained = counter.count_text(value["completion"])
            total = counter.count_text(value["prompt"]) + trained
        else:
            c = counter.count_chat(value)
            total, trained = c.total, c.trained
        limit = self.limit
        if total > limit:
            start = first_trained_offset(counter, value) if fmt == CHAT else total - trained
            if start is not None and start >= limit:
                ctx.add("tokens.truncation_removes_target",
                        f"{total:,} tokens > limit {limit:,}: truncation from the end removes every trained token "
                        f"(the first trained turn starts at token {start:,})")
            else:
                ctx.add("tokens.over_limit", f"{total:,} tokens > limit {limit:,}: the end will be cut off",
                        severity="error" if self.options.strict else None)
        elif trained == 0 and fmt == CHAT and not any(
                isinstance(m, dict) and m.get("tool_calls") for m in value.get("messages") or ()):
            ctx.add("tokens.no_trainable_tokens", "no trainable assistant tokens in this example")
        return total, trained


def _digest(value: dict[str, Any], canonical: bytes | None = None) -> bytes:
    """8-byte hash of the row's canonical JSON (sorted keys): the exact-duplicate check's key.

    `canonical`: that JSON when the parser already wrote it (`curator.io.Parsed.canonical`)."""
    if canonical is None:
        canonical = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    return _row_hash(canonical)


#: the 8-byte row hash of `_digest`: XXH3-64, a non-cryptographic hash about twenty times cheaper
#: than BLAKE2b on a row (it is only compared within one run of validate, never stored)
_row_hash: Callable[[bytes], bytes] = xxhash.xxh3_64_digest


# --- per-range work -----------------------------------------------------------------------------


@dataclass
class ChunkResult:
    start: int
    end: int
    lines: int = 0
    examples: int = 0
    issues: list[Issue] = field(default_factory=list)
    totals: array[int] = field(default_factory=lambda: array("q"))
    trained: array[int] = field(default_factory=lambda: array("q"))
    hashes: bytearray = field(default_factory=bytearray)
    ex_lines: array[int] = field(default_factory=lambda: array("q"))
    formats: Counter[str] = field(default_factory=Counter)
    first_line_of: dict[str, int] = field(default_factory=dict)
    rejected: list[bytes] = field(default_factory=list)
    rejected_rows: int = 0
    scan: ChunkScan = field(default_factory=ChunkScan)
    failed: str | None = None


_CHECKER: RowChecker | None = None


def _init_worker(options: Options) -> None:
    global _CHECKER
    if _CHECKER is None or _CHECKER.options != options:
        _CHECKER = RowChecker(options)


def _worker(path: str, start: int, end: int, at_eof: bool) -> ChunkResult:
    assert _CHECKER is not None
    try:
        return check_range(_CHECKER, path, start, end, at_eof)
    except Exception as exc:  # sent back and retried in the parent, never swallowed
        return ChunkResult(start, end, failed=repr(exc))



def check_range(checker: RowChecker, path: str, start: int, end: int, at_eof: bool) -> ChunkResult:
    """Check bytes [start, end) of a JSONL file; line and example numbers are relative (from 1).

    Most lines of a real file are clean plain chat: `RowChecker.quick_line` answers those from the
    bytes in one step; every other line takes the general path (`read_line`, then `check`), which
    gives the same result for a clean row (tests/unit/test_validate_fast.py compares the two)."""
    with open(path, "rb") as fh:
        fh.seek(start)
        buf = fh.read(end - start)
    res = ChunkResult(start, end)
    scan = res.scan
    keep = checker.options.keep_rejected
    quick = checker.quick
    row_hash = _row_hash
    index = 0
    last_fmt, formats_seen = "", 0  # runs of one format, tallied at each change (rows rarely mix)
    check = checker.check
    add_total, add_trained, add_line, hashes = res.totals.append, res.trained.append, res.ex_lines.append, res.hashes
    line_no = 0
    for raw, line_no, offset, last_unended in split_lines(buf, 1, start, at_eof):
        got = quick(raw) if quick is not None else None
        issues: list[Issue] | None = None
        if got:  # a tuple: the clean row's answer
            digest = row_hash(got[0])  # what `_digest` makes of it
            total, trained = got[1], got[2]
            fmt = CHAT
        else:
            rec = read_line(raw, line_no, offset, last_unended, scan)
            if rec is None:
                continue
            if rec.issues:
                issues = [Issue(code, "error", msg, path, line_no, index + 1, hint=hint)
                          for code, msg, hint in rec.issues]
            if rec.value is not None:
                fmt, found, total, trained, digest = check(rec.value, issues is None, canonical=rec.canonical,
                                                           screened=got is False)
                if found:
                    located = [replace(i, file=path, line=line_no, example_index=index + 1) for i in found]
                    issues = located if issues is None else issues + located
            else:
                fmt = ""
                total = trained = NO_COUNT
                digest = NO_HASH
        index += 1
        if fmt:
            if fmt == last_fmt:
                formats_seen += 1
            else:
                if last_fmt:
                    res.formats[last_fmt] += formats_seen
                last_fmt, formats_seen = fmt, 1
                res.first_line_of.setdefault(fmt, line_no)
        add_total(total)
        add_trained(trained)
        hashes += digest
        add_line(line_no)
        if issues:
            res.issues.extend(issues)
            if any(i.severity == "error" for i in issues):
                res.rejected_rows += 1
                if keep:
                    res.rejected.append(raw)
    if last_fmt:
        res.formats[last_fmt] += formats_seen
    res.lines = scan.lines = line_no
    res.examples = index
    return res


# --- the file -----------------------------------------------------------------------------------


@dataclass
class FileReport:
    """What validating one file found. `issues` may be capped per code; `counts` never is."""

    file: str
    target: str
    kind: str = "jsonl"
    examples: int = 0
    rejected: int = 0
    issues: list[Issue] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    severities: Counter[str] = field(default_factory=Counter)
    formats: Counter[str] = field(default_factory=Counter)
    first_line_of: dict[str, int | None] = field(default_factory=dict)
    token_limit: int = 0
    tokens: dict[str, Any] = field(default_factory=dict)
    io_error: bool = False
    #: 8-byte hash and line of every example, in order (for checks across files)
    example_hashes: bytes = b""
    example_lines: array[int] = field(default_factory=lambda: array("q"))
    _cap: int | None = None

    def add(self, issue: Issue) -> None:
        self.counts[issue.code] += 1
        self.severities[issue.severity] += 1
        if self._cap is None or self.counts[issue.code] <= self._cap:
            self.issues.append(issue)

    @property
    def errors(self) -> int:
        return self.severities["error"]

    @property
    def warnings(self) -> int:
        return self.severities["warning"]


def validate_file(path: str | os.PathLike[str], target: str = "openai", *, model: str | None = None,
                  max_tokens: int | None = None, strict: bool = False, workers: int = 2,
                  count_tokens: bool = True, schema_check: bool = True, quarantine: BinaryIO | None = None,
                  max_issues_per_code: int | None = None,
                  progress: Callable[[int, int], None] | None = None) -> FileReport:
    """Validate one file for `target`; see the module docstring for how JSONL is parallelised.

    `progress(done_bytes, total_bytes)` is called as ranges finish. Rejected rows (any error) are
    written to `quarantine` exactly as they were, one per line.
    """
    options = Options(target, model, max_tokens, strict, count_tokens, schema_check, quarantine is not None)
    try:
        with open_source(path) as src:
            return _validate_source(src, options, quarantine, max_issues_per_code, workers, progress)
    except ReadError as exc:  # stdin, a pipe or a gzip file that could not be read to its end
        report = FileReport(exc.issue.file or str(path), target, token_limit=options.limit,
                            _cap=max_issues_per_code)
        report.add(exc.issue)
        report.io_error = True
        return report


#: file-level codes that mean the file could not be read (exit 2), not that its data is wrong
IO_ERROR_CODES = frozenset({"file.not_found", "file.unreadable"})


def _validate_source(src: Source, options: Options, quarantine: BinaryIO | None, max_issues_per_code: int | None,
                     workers: int, progress: Callable[[int, int], None] | None) -> FileReport:
    name, path = src.name, str(src.path)
    target, model, count_tokens = options.target, options.model, options.count_tokens
    report = FileReport(name, target, token_limit=options.limit, _cap=max_issues_per_code)
    pr = probe(path, name)
    report.kind = pr.kind
    for issue in pr.issues:
        report.add(issue)
    if pr.fatal:
        report.io_error = any(i.code in IO_ERROR_CODES for i in pr.issues)
        return report
    profile = options.profile
    if profile.want_bom and not any(i.code == "file.bom_present" for i in pr.issues) and pr.kind == "jsonl":
        report.add(Issue("file.bom_missing", "warning", "Azure's documentation asks for a UTF-8 BOM", name,
                         hint="export with --bom; uploads without one are reported to work"))
    suffix = Path(name).suffix.lower()
    if suffix == ".gz":
        suffix = Path(name[:-3]).suffix.lower()
    if profile.name in ("openai", "azure") and suffix not in (".jsonl",) and name != STDIN_NAME \
            and not any(i.code == "file.is_json_not_jsonl" for i in pr.issues):
        report.add(Issue("file.extension", "warning", f"{profile.name} uploads must be .jsonl files", name,
                         hint="export to JSONL: curator export"))
    _size_checks(report, profile, pr.size)
    if count_tokens and approximate(profile.name, model):
        report.add(Issue("tokens.approximate", "info", f"no --model named: token counts use OpenAI's "
                         f"{options.encoding} encoding, not the model's own tokenizer", name,
                         hint="pass --model PATH (a local model folder) for exact counts"))
    totals: list[array[int]] = []
    trained: list[array[int]] = []
    hashes = bytearray()
    lines = array("q")
    if pr.kind == "jsonl":
        results = _jsonl_results(path, pr.start, pr.size, options, workers, progress)
        line_off = index_off = 0
        scan = ChunkScan()
        for res in results:
            for issue in res.issues:
                report.add(replace(issue, file=name, line=(issue.line or 0) + line_off,
                                   example_index=(issue.example_index or 0) + index_off))
            if res.failed is not None:
                report.add(Issue("internal.chunk_failed", "error", f"bytes {res.start}-{res.end} could not be "
                                 f"checked: {res.failed}", name, line_off + 1))
                report.io_error = True
            _merge_scan(scan, res.scan, line_off)
            if quarantine is not None:
                for raw in res.rejected:
                    quarantine.write(raw + b"\n")
            report.rejected += res.rejected_rows
            report.formats.update(res.formats)
            for fmt, ln in res.first_line_of.items():
                report.first_line_of.setdefault(fmt, ln + line_off)
            totals.append(res.totals)
            trained.append(res.trained)
            hashes += res.hashes
            # shifted by the lines of the ranges before, in one vector operation (int64 = "q")
            lines.frombytes((np.frombuffer(res.ex_lines, dtype=np.int64) + line_off).tobytes())
            line_off += res.lines
            index_off += res.examples
        for issue in jsonl_scan_issues(name, scan):
            report.add(issue)
        report.examples = index_off
        if index_off == 0 and not report.errors:
            report.add(Issue("file.empty", "error", "the file has no data rows", name, hint="write at least one example"))
    else:
        _tabular(src, options, report, totals, trained, hashes, lines, quarantine)
    _dataset_checks(report, options, hashes, lines)
    _token_stats(report, totals, trained)
    report.example_hashes = bytes(hashes)
    report.example_lines = lines
    return report


def cross_file_checks(reports: list[FileReport]) -> None:
    """`dataset.train_val_overlap`: examples (same canonical JSON) in two of the files checked.

    One issue on the later file for each earlier file it shares examples with: how many, and
    where the first shared one is in both files."""
    earlier: list[tuple[FileReport, np.ndarray[Any, Any]]] = []
    for rep in reports:
        if len(rep.example_hashes) < 8:
            continue
        h = np.frombuffer(rep.example_hashes, dtype=np.uint64)
        ln = np.frombuffer(rep.example_lines, dtype=np.int64)
        for other, oh in earlier:
            shared = np.flatnonzero(np.isin(h, oh) & (h != 0))
            if not shared.size:
                continue
            k = int(shared[0])
            other_line = int(np.frombuffer(other.example_lines, dtype=np.int64)[int(np.flatnonzero(oh == h[k])[0])])
            rep.add(Issue("dataset.train_val_overlap", "warning",
                          f"{shared.size} example(s) also in {other.file}; the first is line {int(ln[k])} here "
                          f"and line {other_line} there", rep.file, int(ln[k]), k + 1,
                          hint="keep validation examples out of the training file"))
        earlier.append((rep, h))


MB = 1024 * 1024
#: OpenAI's Files API and Azure take files under 512 MB; OpenAI's Uploads API takes up to 8 GB
FILES_API_LIMIT = 512 * MB
UPLOADS_API_LIMIT = 8 * 1024 * MB
#: Azure's own guidance: `files.create` is reported to fail quietly above about 100-150 MB
AZURE_LARGE = 100 * MB
#: share of refusal answers above which the set teaches refusing (formats.md §5.8)
REFUSAL_SHARE = 0.10


def _size_checks(report: FileReport, profile: Profile, size: int) -> None:
    name = report.file
    if profile.name == "openai":
        if size > UPLOADS_API_LIMIT:
            report.add(Issue("file.too_large", "error", f"{size / MB:,.0f} MB: OpenAI takes files up to 8 GB "
                             "(Uploads API)", name, hint="split the file"))
        elif size > FILES_API_LIMIT:
            report.add(Issue("file.too_large", "warning", f"{size / MB:,.0f} MB: the Files API takes up to "
                             "512 MB; larger files need the Uploads API (up to 8 GB)", name,
                             hint="upload with the Uploads API, or split the file"))
    elif profile.name == "azure":
        if size >= FILES_API_LIMIT:
            report.add(Issue("file.too_large", "error", f"{size / MB:,.0f} MB: Azure OpenAI takes files under "
                             "512 MB", name, hint="split the file"))
        elif size > AZURE_LARGE:
            report.add(Issue("file.large", "warning", f"{size / MB:,.0f} MB: uploads this large are reported "
                             "to fail quietly with files.create", name, hint="use the Uploads API"))


def _merge_scan(into: ChunkScan, part: ChunkScan, line_off: int) -> None:
    into.crlf_lines += part.crlf_lines
    if into.crlf_first is None and part.crlf_first is not None:
        into.crlf_first = part.crlf_first + line_off
    into.blank_lines.extend(b + line_off for b in part.blank_lines)


def _jsonl_results(name: str, start: int, size: int, options: Options, workers: int,
                   progress: Callable[[int, int], None] | None) -> Iterator[ChunkResult]:
    bounds = chunk_bounds(name, start, size, CHUNK_BYTES)
    done = start
    compiled = size - start >= COMPILED_MIN_BYTES  # the compiled ASCII count wins back its start-up
    if workers <= 1 or len(bounds) <= 1:
        serial = RowChecker(options)
        if compiled:
            serial.use_compiled_ascii()
        for s, e in bounds:
            yield _local(serial, name, s, e, e >= size)
            done = e
            if progress:
                progress(done, size)
        return
    # fork keeps start-up cheap and needs no importable __main__; elsewhere spawn.
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    ctx = multiprocessing.get_context(method)
    checker: RowChecker | None = None
    global _CHECKER
    if method == "fork":
        # Built once here and inherited by the forked workers (copy-on-write): the counter's
        # tables take about a second and 140 MB to build, once per process otherwise.
        checker = _CHECKER = RowChecker(options)
        if compiled:
            checker.use_compiled_ascii()
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker, initargs=(options,)) as pool:
        window: list[tuple[int, int, Future[ChunkResult]]] = []
        todo = iter(bounds)
        broken = False

        def fill() -> None:
            while not broken and len(window) < workers * 2:
                nxt = next(todo, None)
                if nxt is None:
                    return
                window.append((nxt[0], nxt[1], pool.submit(_worker, name, nxt[0], nxt[1], nxt[1] >= size)))

        fill()
        # The forked workers hold their own (copy-on-write) counter now; the parent's copy is only
        # a fallback, so drop it to keep the parent small (a fallback builds a new one).
        _CHECKER = checker = None
        while window:
            s, e, fut = window.pop(0)
            try:
                res = fut.result()
            except BrokenProcessPool:
                broken = True
                res = ChunkResult(s, e, failed="worker process died")
            if res.failed is not None:
                checker = checker or RowChecker(options)
                res = _local(checker, name, s, e, e >= size, first_failure=res.failed)
            yield res
            if progress:
                progress(e, size)
            fill()
        if broken:
            checker = checker or RowChecker(options)
            for s, e in todo:
                yield _local(checker, name, s, e, e >= size)
                if progress:
                    progress(e, size)


def _local(checker: RowChecker, name: str, s: int, e: int, at_eof: bool,
           first_failure: str | None = None) -> ChunkResult:
    try:
        return check_range(checker, name, s, e, at_eof)
    except Exception as exc:  # reported as internal.chunk_failed by the caller
        return ChunkResult(s, e, failed=f"{first_failure or ''} {exc!r}".strip())


def _tabular(src: Source, options: Options, report: FileReport, totals: list[array[int]],
             trained: list[array[int]], hashes: bytearray, lines: array[int], quarantine: BinaryIO | None) -> None:
    """JSON, CSV, Parquet and HF folders: sequential (they are rarely large), same checks."""
    checker = RowChecker(options)
    reader = Reader(src.path, src.name)
    t, tr = array("q"), array("q")
    for row in reader:
        issues = list(row.issues)
        total = tok_trained = NO_COUNT
        digest = NO_HASH
        if row.data is not None:
            fmt, found, total, tok_trained, digest = checker.check(row.data, not row.issues)
            report.formats[fmt] += 1
            report.first_line_of.setdefault(fmt, row.line)
            issues.extend(replace(i, file=row.file, line=row.line, example_index=row.example_index) for i in found)
        for issue in issues:
            report.add(issue)
        if any(i.severity == "error" for i in issues):
            report.rejected += 1
            if quarantine is not None:
                quarantine.write((row.raw_bytes or row.raw.encode("utf-8", "replace")).replace(b"\n", b" ") + b"\n")
        t.append(total)
        tr.append(tok_trained)
        hashes += digest
        lines.append(row.line or 0)
        report.examples += 1
    for issue in reader.file_issues[len(reader.probe.issues):]:
        report.add(issue)
        if issue.code in IO_ERROR_CODES:
            report.io_error = True
    totals.append(t)
    trained.append(tr)


def _dataset_checks(report: FileReport, options: Options, hashes: bytearray, lines: array[int]) -> None:
    name, profile, n = report.file, options.profile, report.examples
    if n and n < profile.min_examples:
        report.add(Issue("dataset.too_few_examples", "error", f"{n} example(s); {profile.name} needs at least "
                         f"{profile.min_examples}", name, hint="add examples"))
    elif n and n < 50 and profile.name in ("openai", "azure"):
        report.add(Issue("dataset.few_examples", "warning", f"only {n} examples; 50-100 good ones is the usual "
                         "start", name, hint="add examples"))
    refusals = report.counts["quality.refusal"]
    if n and refusals / n > REFUSAL_SHARE:
        report.add(Issue("dataset.refusal_share", "warning", f"{refusals} of {n} examples ({refusals / n:.0%}) "
                         f"hold refusal boilerplate (more than {REFUSAL_SHARE:.0%})", name,
                         hint="keep refusals to the share you want the model to learn"))
    real = {f: c for f, c in report.formats.items() if f not in (UNKNOWN, AMBIGUOUS)}
    if len(real) > 1:
        major = max(real, key=lambda f: real[f])
        detail = ", ".join(f"{c} {f}" for f, c in sorted(real.items(), key=lambda kv: -kv[1]))
        for fmt in real:
            if fmt != major:
                report.add(Issue("format.mixed_in_file", "error", f"rows of several formats in one file ({detail}); "
                                 f"the first {fmt} row is here", name, report.first_line_of.get(fmt),
                                 hint="split the file by format or convert the odd rows"))
    if len(hashes) >= 16:
        h = np.frombuffer(bytes(hashes), dtype=np.uint64)
        order = np.argsort(h, kind="stable")
        sh = h[order]
        dup = np.flatnonzero((sh[1:] == sh[:-1]) & (sh[1:] != 0)) + 1
        if dup.size:
            ln = np.frombuffer(lines, dtype=np.int64)
            group_first = np.maximum.accumulate(np.where(np.r_[True, sh[1:] != sh[:-1]], np.arange(len(sh)), 0))
            copies, firsts = order[dup], order[group_first[dup]]
            in_file_order = np.argsort(copies, kind="stable")  # not the hashes' order
            for i, first in zip(copies[in_file_order].tolist(), firsts[in_file_order].tolist(), strict=True):
                report.add(Issue("dataset.duplicate_example", "warning",
                                 f"exact duplicate of example {first + 1} (line {int(ln[first])})", name,
                                 int(ln[i]), i + 1, hint="curator dedup marks duplicates for review"))


def _token_stats(report: FileReport, totals: list[array[int]], trained: list[array[int]]) -> None:
    if not totals:
        return
    t = np.concatenate([np.frombuffer(a, dtype=np.int64) for a in totals]) if totals else np.zeros(0, np.int64)
    tr = np.concatenate([np.frombuffer(a, dtype=np.int64) for a in trained])
    mask = t >= 0
    if not mask.any():
        return
    t, tr = t[mask], tr[mask]
    p = np.percentile(t, [5, 50, 95, 99])
    report.tokens.update({
        "counted": int(t.size), "total": int(t.sum()), "trained": int(tr.sum()), "min": int(t.min()),
        "p5": float(p[0]), "p50": float(p[1]), "p95": float(p[2]), "p99": float(p[3]), "max": int(t.max()),
        "mean": float(t.mean()), "over_limit": int((t > report.token_limit).sum()),
        "billed": int(np.minimum(t, report.token_limit).sum()),
    })
