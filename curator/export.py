"""Write the splits as trainer-ready files plus a manifest, all or nothing.

An export directory is built complete beside the target and then swapped in with one atomic
directory exchange (Linux `renameat2(RENAME_EXCHANGE)`), so an interrupted export never replaces
the last good files. Output is a pure function of the records and the options: no timestamps, keys
in a fixed order, so running the same export twice gives byte-identical files.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from curator import __version__
from curator.io import fsync_dir
from curator.split import DEFAULT_NAMES as SPLITS

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no lock, no clean-up of stale folders
    fcntl = None  # type: ignore[assignment]

MANIFEST = "manifest.json"
#: Formats `curator export --format` writes; the names match `curator convert --to`.
EXPORT_FORMATS = ("openai-chat", "prompt-completion", "trl-messages", "sharegpt", "alpaca")
#: Layouts a workspace writes its preference and KTO feedback records in (chosen by the target,
#: not by --format): curator.formats.preference's targets, and TRL's unpaired KTO rows.
RECORD_LAYOUTS = ("openai-preference", "trl-preference", "sharegpt-preference", "trl-kto")
BOM = b"\xef\xbb\xbf"


class ExportError(Exception):
    """The export cannot be written; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class ExportRecord:
    """One record on its way out: its workspace id, split and current canonical chat form."""

    id: int
    split: str | None
    example: dict[str, Any]
    tokens_total: int | None = None
    tokens_trained: int | None = None
    source_file: str | None = None
    source_line: int | None = None


@dataclass(slots=True)
class Exclusion:
    id: int
    reason: str
    source_file: str | None = None
    line: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "source_file": self.source_file, "line": self.line,
                "reason": self.reason}


@dataclass(slots=True)
class ExportResult:
    out_dir: Path
    manifest: dict[str, Any]
    files: dict[str, Path] = field(default_factory=dict)


#: convert(canonical chat example, target format) -> (row or None, reason when None)
Converter = Callable[[dict[str, Any], str], tuple[dict[str, Any] | None, str | None]]
#: extras(temporary export dir, manifest so far) -> entries to add to the manifest. Runs after the
#: split files are written and before the swap, so whatever it writes is published atomically too.
Extras = Callable[[Path, dict[str, Any]], dict[str, Any]]


def _percentiles(values: list[int]) -> dict[str, float | int] | None:
    if not values:
        return None
    arr = np.asarray(values, dtype=np.int64)
    q = np.percentile(arr, [5, 50, 95, 99])
    return {
        "min": int(arr.min()),
        "p5": round(float(q[0]), 2),
        "p50": round(float(q[1]), 2),
        "mean": round(float(arr.mean()), 2),
        "p95": round(float(q[2]), 2),
        "p99": round(float(q[3]), 2),
        "max": int(arr.max()),
        "sum": int(arr.sum()),
    }


class _SplitWriter:
    def __init__(self, path: Path, bom: bool) -> None:
        self.path = path
        self._fh = path.open("wb")
        self._sha = hashlib.sha256()
        self.count = 0
        self.tokens: list[int] = []
        self.trained: list[int] = []
        if bom:
            self._write(BOM)

    def _write(self, data: bytes) -> None:
        self._fh.write(data)
        self._sha.update(data)

    def add(self, row: dict[str, Any], rec: ExportRecord) -> None:
        self._write(orjson.dumps(row) + b"\n")
        self.count += 1
        if rec.tokens_total is not None:
            self.tokens.append(rec.tokens_total)
        if rec.tokens_trained is not None:
            self.trained.append(rec.tokens_trained)

    def close(self) -> str:
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        return self._sha.hexdigest()


def _sha256_file(path: Path) -> str:
    """SHA-256 of a file, fsynced on the way so what was hashed is on disk before the swap."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
        os.fsync(fh.fileno())
    return h.hexdigest()


def _file_hashes(root: Path) -> dict[str, str]:
    """relative path -> SHA-256 of every file under root but the manifest, in path order."""
    out: dict[str, str] = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if p.is_dir():
            fsync_dir(p)
        elif p.is_file() and rel != MANIFEST:
            out[rel] = _sha256_file(p)
    return out


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two directories; False where the platform cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    rc = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return bool(rc == 0)


MAX_NAMED = 5


def _named(paths: Sequence[str]) -> str:
    shown = ", ".join(paths[:MAX_NAMED])
    return shown + (f" and {len(paths) - MAX_NAMED} more" if len(paths) > MAX_NAMED else "")


def _listed_files(out_dir: Path) -> set[str]:
    """The files the previous export's manifest lists (its `files`, its split files and the
    manifest itself), as paths relative to `out_dir`. Raises when there is no readable manifest."""
    try:
        manifest = orjson.loads((out_dir / MANIFEST).read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise ExportError(
            f"{out_dir / MANIFEST} cannot be read as a curator manifest ({exc}); refusing to "
            "replace files curator did not write. Choose an empty or new --out directory."
        ) from None
    if not isinstance(manifest, dict) or "manifest_version" not in manifest:
        raise ExportError(
            f"{out_dir / MANIFEST} is not a curator manifest; refusing to replace files curator "
            "did not write. Choose an empty or new --out directory."
        )
    listed = {MANIFEST}
    files = manifest.get("files")
    if isinstance(files, dict):
        listed.update(k for k in files if isinstance(k, str))
    splits = manifest.get("splits")
    if isinstance(splits, dict):
        listed.update(v["file"] for v in splits.values()
                      if isinstance(v, dict) and isinstance(v.get("file"), str))
    return listed


def foreign_files(root: Path, listed: set[str]) -> list[str]:
    """Everything under `root` that is not one of the `listed` regular files or a folder on the
    way to one: what an export must not delete. Links are never followed and always foreign."""
    parents = {str(Path(rel).parent.as_posix()) for rel in listed}
    parents |= {p.as_posix() for rel in listed for p in Path(rel).parents}
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        base = Path(dirpath)
        for name in sorted(dirnames):
            rel = (base / name).relative_to(root).as_posix()
            if (base / name).is_symlink() or rel not in parents:
                out.append(rel + ("" if (base / name).is_symlink() else "/"))
                dirnames.remove(name)  # not walked: named as a whole
        for name in sorted(filenames):
            path = base / name
            rel = path.relative_to(root).as_posix()
            if rel not in listed or path.is_symlink() or not path.is_file():
                out.append(rel)
    return sorted(out)


def _check_target(out_dir: Path, protect: Sequence[Path] = ()) -> set[str]:
    """Refuse an `out_dir` whose replacement would delete anything curator did not write there;
    return the previous export's files (empty when there is none)."""
    for path in protect:
        if path == out_dir or out_dir in path.parents:
            raise ExportError(
                f"--out {out_dir} holds the open workspace {path}; an export replaces that "
                "folder, so choose a folder outside the workspace's (e.g. a new one beside it)"
            )
    if not out_dir.exists() and not out_dir.is_symlink():
        return set()
    if not out_dir.is_dir():
        raise ExportError(f"{out_dir} exists and is not a directory; choose another --out")
    entries = sorted(p.name for p in out_dir.iterdir())
    if not entries:
        return set()
    if MANIFEST not in entries:
        raise ExportError(
            f"{out_dir} is not empty and holds no curator {MANIFEST} (it holds "
            f"{_named(entries)}); refusing to replace files curator did not write. Choose an "
            "empty or new --out directory."
        )
    listed = _listed_files(out_dir)
    foreign = foreign_files(out_dir, listed)
    if foreign:
        raise ExportError(
            f"{out_dir} holds files the previous export did not write ({_named(foreign)}); "
            "refusing to replace files curator did not write. Move them out, or choose an "
            "empty or new --out directory."
        )
    return listed


@contextlib.contextmanager
def _export_lock(out: Path) -> Iterator[None]:
    """One export at a time into `out`. Holding the lock also proves that any temporary folder
    left beside `out` belongs to an export that died (a kill), so it is removed here."""
    if fcntl is None:  # pragma: no cover
        yield
        return
    with (out.parent / f".{out.name}.export.lock").open("a") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ExportError(f"another export into {out} is running; wait for it") from None
        for stale in out.parent.glob(f".{out.name}.export-*"):
            shutil.rmtree(stale, ignore_errors=True)
        yield  # the kernel drops the lock when the file closes or the process dies


def _remove_previous(old: Path, listed: set[str], out_dir: Path) -> None:
    """Delete the previous export's files (now at `old`) one by one, then its folders. Anything
    else that is there (written into the old folder after the check) is not deleted: the folder
    is kept beside `out_dir` under a visible name."""
    for rel in sorted(listed):
        path = old / rel
        if path.is_file() and not path.is_symlink():
            path.unlink()
    for dirpath, _dirs, _files in list(os.walk(old, topdown=False)):  # deepest first
        with contextlib.suppress(OSError):
            os.rmdir(dirpath)
    if old.exists():
        kept = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f"{out_dir.name}.kept-"))
        os.rename(old, kept / out_dir.name)


def _publish(tmp: Path, out_dir: Path, listed: set[str]) -> None:
    """Swap `tmp` in for `out_dir`; the previous export's listed files are then deleted. When
    the previous folder gained a file since `_check_target`, the swap is undone and refused."""
    if not out_dir.exists():
        os.rename(tmp, out_dir)
        fsync_dir(out_dir.parent)
        return
    if _exchange(tmp, out_dir):
        old = tmp  # now holds the previous export
        foreign = foreign_files(old, listed)
        if foreign:
            if not _exchange(tmp, out_dir):  # put it back; the caller removes the new export
                kept = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f"{out_dir.name}.kept-"))
                os.rename(old, kept / out_dir.name)
                raise ExportError(
                    f"{out_dir} gained files while exporting ({_named(foreign)}); the previous "
                    f"folder with them is kept at {kept / out_dir.name}")
            raise ExportError(
                f"{out_dir} gained files while exporting ({_named(foreign)}); refusing to "
                "replace files curator did not write. Nothing was changed."
            )
        fsync_dir(out_dir.parent)
        _remove_previous(old, listed, out_dir)
        return
    # non-Linux fallback (or a file system without RENAME_EXCHANGE): a short window where
    # out_dir is missing and the previous export sits beside it
    old = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.previous-"))
    old.rmdir()
    os.rename(out_dir, old)
    foreign = foreign_files(old, listed)
    if foreign:
        os.rename(old, out_dir)
        raise ExportError(
            f"{out_dir} gained files while exporting ({_named(foreign)}); refusing to "
            "replace files curator did not write. Nothing was changed."
        )
    os.rename(tmp, out_dir)
    fsync_dir(out_dir.parent)
    _remove_previous(old, listed, out_dir)


def export_records(
    records: Iterable[ExportRecord],
    out_dir: str | os.PathLike[str],
    *,
    fmt: str = "openai-chat",
    target: str = "openai",
    convert: Converter | None = None,
    bom: bool | None = None,
    excluded: Iterable[Exclusion] = (),
    parameters: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    extras: Extras | None = None,
    protect: Sequence[str | os.PathLike[str]] = (),
) -> ExportResult:
    """Write train/validation/holdout JSONL and manifest.json into `out_dir`, atomically.

    A split with no records gets no file: its manifest entry has `file` null, the split is in
    `empty_splits` and a line in `warnings` says so.

    Records without a split, or whose conversion to `fmt` fails, are not written; each is listed in
    the manifest's `excluded` with its reason, as is every record in `excluded`. `bom` defaults to
    on for the `azure` target, which asks for a UTF-8 byte-order mark. When `convert` is given it
    runs on every record (also for openai-chat, so it can refuse rows that are not chat).
    `metadata` entries are added to the manifest's top level; `extras` may write more files into
    the export (a dataset folder, Parquet) before it is published. The manifest's `files` maps
    every published file (but itself) to its SHA-256.

    An existing `out_dir` is replaced only when it holds nothing but what the previous export's
    manifest lists; anything else there (a user's file, a workspace) makes it an ExportError
    naming those files, as does an `out_dir` that holds any path in `protect` (the open
    workspace).
    """
    if fmt not in EXPORT_FORMATS and fmt not in RECORD_LAYOUTS:
        raise ExportError(f"unknown export format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}")
    if fmt != "openai-chat" and convert is None:
        raise ExportError(f"format {fmt!r} needs a converter")
    out = Path(out_dir).resolve()
    guarded = [Path(p).resolve() for p in protect]
    _check_target(out, guarded)
    out.parent.mkdir(parents=True, exist_ok=True)
    with _export_lock(out):
        listed = _check_target(out, guarded)  # again, now that no other export can run
        return _export_locked(records, out, fmt, target, convert, bom, excluded, parameters,
                              metadata, extras, listed)


def _export_locked(
    records: Iterable[ExportRecord], out: Path, fmt: str, target: str, convert: Converter | None,
    bom: bool | None, excluded: Iterable[Exclusion], parameters: dict[str, Any] | None,
    metadata: dict[str, Any] | None, extras: Extras | None, listed: set[str],
) -> ExportResult:
    use_bom = (target == "azure") if bom is None else bom
    exclusions = [e.to_dict() for e in excluded]

    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.export-"))
    try:
        writers = {s: _SplitWriter(tmp / f"{s}.jsonl", use_bom) for s in SPLITS}
        for rec in records:
            if rec.split not in writers:
                unsplit = ("no split assigned" if rec.split is None else
                           f"split {rec.split!r} is not one of {', '.join(SPLITS)}")
                exclusions.append(Exclusion(rec.id, unsplit, rec.source_file,
                                            rec.source_line).to_dict())
                continue
            row = rec.example
            if convert is not None:
                converted, why = convert(rec.example, fmt)
                if converted is None:
                    exclusions.append(Exclusion(rec.id, f"cannot convert to {fmt}: {why}",
                                                rec.source_file, rec.source_line).to_dict())
                    continue
                row = converted
            writers[rec.split].add(row, rec)
        hashes: dict[str, str | None] = {s: w.close() for s, w in writers.items()}
        empty = [s for s in SPLITS if writers[s].count == 0]
        for s in empty:  # an empty file breaks loaders (datasets.load_dataset): none is written
            (tmp / f"{s}.jsonl").unlink()
            hashes[s] = None
        exclusions.sort(key=lambda e: (e["id"], e["reason"]))
        manifest: dict[str, Any] = {
            "curator_version": __version__,
            "manifest_version": 1,
            "format": fmt,
            "target": target,
            "bom": use_bom,
            "parameters": parameters or {},
            "splits": {
                s: {
                    "file": None if s in empty else f"{s}.jsonl",
                    "examples": writers[s].count,
                    "sha256": hashes[s],
                    "tokens": _percentiles(writers[s].tokens),
                    "trained_tokens": _percentiles(writers[s].trained),
                }
                for s in SPLITS
            },
            "excluded": exclusions,
            "empty_splits": empty,
            "warnings": [empty_split_warning(s) for s in empty],
        }
        manifest.update(metadata or {})
        if extras is not None:
            manifest.update(extras(tmp, manifest))
        manifest["files"] = _file_hashes(tmp)
        (tmp / MANIFEST).write_bytes(
            orjson.dumps(manifest, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
        )
        fsync_dir(tmp)
        _publish(tmp, out, listed)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return ExportResult(out, manifest, {s: out / f"{s}.jsonl" for s in SPLITS if s not in empty})


def empty_split_warning(split: str) -> str:
    return (f"{split} is empty: no {split}.jsonl written (an empty file breaks loaders such as "
            f"datasets.load_dataset); review more records or rerun `curator split` so that "
            f"{split} gets some")


def iter_export_rows(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """Read back one exported split file (BOM tolerated)."""
    with Path(path).open("rb") as fh:
        for line in fh:
            line = line.removeprefix(BOM).strip()
            if line:
                yield orjson.loads(line)
