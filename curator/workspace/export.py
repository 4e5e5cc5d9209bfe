"""Export a workspace: the records that survived curation, per split, in the target's shape.

Selection. By default every record that is not rejected is exported; a record that dedup marked
as a duplicate (`dup_of` set) counts as rejected. With `only_accepted`, pending records are left
out too; a record with no chat form (a line that did not parse) is never exported
(`curator.workspace.selection` defines it for export, report and the trainer). Each record is
exported in its current form (the edit when there is one). Every record left out is listed in
the manifest with its source file, line and the reason.

Splits are a precondition, not a guess: when a record that would be exported has no split, the
export stops with `ExportError` (the CLI exits 2 and says to run `curator split`). Writing such
records anywhere, or silently leaving them out, would make a set that does not match the
workspace's split report.

Record kinds. A workspace may hold chat records and preference (or KTO feedback) records; one
export writes one kind (`kind`), so a file never mixes training methods: chat records in the
chosen chat format, preference pairs in the target's preference layout (openai and azure: OpenAI
DPO `input`/`preferred_output`/`non_preferred_output`; trl: conversational
`prompt`/`chosen`/`rejected`; lf: ShareGPT ranking rows, with a `dataset_info.json` entry that
says `"ranking": true`), feedback records as TRL's unpaired KTO rows. When the records to export
are of more than one kind and no kind is given, the export stops with `ExportError` naming the
counts. Records of the other kinds are listed in the manifest's `excluded`.

Everything, the JSONL files, the manifest, the Hugging Face dataset folder, the Parquet files and
LLaMA-Factory's `dataset_info.json`, is built in one temporary folder and published with one
atomic swap (`curator.export.export_records`), so a killed export leaves the previous one whole.
"""

from __future__ import annotations

import io
import os
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from curator.export import (
    BOM,
    Converter,
    Exclusion,
    ExportError,
    ExportRecord,
    export_records,
)
from curator.formats.from_chat import from_chat, to_trl_messages
from curator.formats.preference import from_preference
from curator.formats.result import Collector, ConversionError
from curator.split import DEFAULT_NAMES as SPLITS
from curator.workspace import Workspace
from curator.workspace import settings as _settings
from curator.workspace.records import KINDS
from curator.workspace.selection import (
    ELIGIBLE_SQL,
    EXCLUDED_SQL,
    RECORDS_MARKED,
    exclusion_text,
)
from curator.workspace.settings import resolve_kind_layout, resolve_target_format

HF_DIR = "hf"
PARQUET_DIR = "parquet"
LF_INFO = "dataset_info.json"
PROGRESS_EVERY = 10_000
#: records per Parquet row group and per Arrow record batch of the Hugging Face folder: what the
#: Hugging Face and Parquet outputs hold in memory at once (about 16 MB of ~800-byte chat rows)
BATCH_ROWS = 20_000

Progress = Callable[[int, int], None]


@dataclass(slots=True)
class ExportOutcome:
    """What `export_workspace` wrote. `manifest` is the manifest.json content."""

    out_dir: Path
    fmt: str
    target: str
    manifest: dict[str, Any]
    #: the record kind written (chat, preference or feedback)
    kind: str = "chat"

    @property
    def counts(self) -> dict[str, int]:
        return {s: int(self.manifest["splits"][s]["examples"]) for s in SPLITS}

    @property
    def warnings(self) -> list[str]:
        """Empty splits (no file written for them) and what else the user should know."""
        return list(self.manifest["warnings"])

    @property
    def excluded(self) -> int:
        return len(self.manifest["excluded"])

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": 1,
            "out_dir": str(self.out_dir),
            "format": self.fmt,
            "target": self.target,
            "counts": self.counts,
            "excluded": self.excluded,
            "excluded_by_reason": self.manifest["counts"]["excluded_by_reason"],
            "files": self.manifest["files"],
            "empty_splits": self.manifest["empty_splits"],
            "warnings": self.manifest["warnings"],
            "kind": self.kind,
        }


#: `export_workspace` returns this; the name the helper contract uses.
ExportResult = ExportOutcome


def workspace_files(ws: Workspace) -> list[Path]:
    """The workspace's database and its SQLite side files: what an export must never replace."""
    return [ws.path] + [ws.path.with_name(ws.path.name + s) for s in ("-wal", "-shm", "-journal", ".lock")]


def sizes_line(sizes: dict[str, int], duplicates: dict[str, int]) -> str:
    """`train 50, validation 6, holdout 6 (+3 marked duplicate, not exported: train 3)`."""
    line = ", ".join(f"{name} {n:,}" for name, n in sizes.items())
    dups = {k: v for k, v in duplicates.items() if v}
    if dups:
        line += (f" (+{sum(dups.values()):,} marked duplicate, not exported: "
                 + ", ".join(f"{k} {v:,}" for k, v in dups.items()) + ")")
    return line


def split_sizes(ws: Workspace) -> tuple[dict[str, int], dict[str, int], int]:
    """(sizes, duplicates, unsplit) as the workspace holds them now, counted as `curator split`
    counts: a split's size is the records an export writes from it (not rejected, not marked
    duplicate; `ls --where split=NAME --where status!=rejected --where dup=no`), the records marked duplicate
    there are counted apart, and `unsplit` is the exportable records with no split yet."""
    names = _settings.split_names(ws).names  # the workspace's, in train, validation, holdout order
    sizes = dict.fromkeys(names, 0)
    duplicates = dict.fromkeys(names, 0)
    unsplit = 0
    for split, is_dup, n in ws.connection.execute(
            f"SELECT split, dup_of IS NOT NULL, count(*) FROM {RECORDS_MARKED} WHERE {ELIGIBLE_SQL} "
            "GROUP BY 1, 2"):
        if split is None:
            unsplit += 0 if is_dup else n
            continue
        target = duplicates if is_dup else sizes
        target[split] = target.get(split, 0) + n
    return sizes, duplicates, unsplit


def _convert(example: dict[str, Any], fmt: str) -> tuple[dict[str, Any] | None, str | None]:
    messages = example.get("messages")
    if not isinstance(messages, list) or not messages:
        return None, "chat.messages_missing: the record is not a chat example (no messages)"
    if fmt == "openai-chat":
        return example, None  # stored canonical form; no copy needed
    result = from_chat(example, fmt)
    if result.example is None:
        first = next((i for i in result.issues if i.severity == "error"), None)
        return None, f"{first.code}: {first.message}" if first else "conversion failed"
    return result.example, None


def _error_text(issues: Sequence[Any]) -> str:
    first = next((i for i in issues if i.severity == "error"), None)
    return f"{first.code}: {first.message}" if first else "conversion failed"


def _convert_pair(example: dict[str, Any], layout: str) -> tuple[dict[str, Any] | None, str | None]:
    """A preference record (the canonical pair) or a feedback record in the target's layout."""
    if layout == "trl-kto":
        if not all(k in example for k in ("prompt", "completion", "label")):
            return None, "the record is not a KTO feedback row (prompt, completion, label)"
        col = Collector(None)
        try:
            n = len(example["prompt"])
            both = to_trl_messages(list(example["prompt"]) + list(example["completion"]), col, "trl")
        except ConversionError as exc:
            return None, f"{exc.code}: {exc.message}"
        out: dict[str, Any] = {"prompt": both[:n], "completion": both[n:], "label": example["label"]}
        if example.get("tools"):
            out["tools"] = example["tools"]
        return out, None
    if not all(isinstance(example.get(k), list) for k in ("prompt", "chosen", "rejected")):
        return None, "the record is not a preference pair (prompt, chosen, rejected)"
    result = from_preference(example, layout)
    if result.example is None:
        return None, _error_text(result.issues)
    return result.example, None


def kind_counts(ws: Workspace, only_accepted: bool) -> dict[str, int]:
    """How many records of each kind an export would write (kinds with none left out)."""
    return {k: int(n) for k, n in ws.connection.execute(
        f"SELECT kind, count(*) FROM {RECORDS_MARKED} WHERE ({EXCLUDED_SQL}) IS NULL GROUP BY kind "
        "ORDER BY kind", (int(only_accepted),))}


def _pick_kind(ws: Workspace, kind: str | None, only_accepted: bool) -> str:
    if kind is not None and kind not in KINDS:
        raise ExportError(f"unknown kind {kind!r}; choose one of {', '.join(KINDS)}")
    counts = kind_counts(ws, only_accepted)
    if kind is None:
        if len(counts) > 1:
            listed = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
            raise ExportError(
                f"the records to export are of more than one kind ({listed}); one export holds "
                f"one kind (one training method): pass --kind {' or --kind '.join(sorted(counts))}")
        kind = next(iter(counts), "chat")
    return kind


def _exclusions(ws: Workspace, only_accepted: bool, kind: str = "chat"
                ) -> tuple[list[Exclusion], Counter[str]]:
    out: list[Exclusion] = []
    kinds: Counter[str] = Counter()
    rows = ws.connection.execute(
        f"SELECT id, source_file, source_line, status, reason, dup_of, similarity, kind, "
        f"{EXCLUDED_SQL} AS why FROM {RECORDS_MARKED} WHERE why IS NOT NULL OR kind != ? ORDER BY id",
        (int(only_accepted), kind),
    )
    for rid, src, line, status, reason, dup_of, sim, rkind, why in rows:
        if why is None:  # a record of another kind: exported with --kind RKIND
            kinds["other_kind"] += 1
            out.append(Exclusion(rid, f"a {rkind} record (export it with --kind {rkind})", src, line))
            continue
        kinds[why] += 1
        out.append(Exclusion(rid, exclusion_text(why, status, reason, dup_of, sim), src, line))
    return out, kinds


def _records(ws: Workspace, only_accepted: bool, total: int, names: _settings.SplitNames,
             progress: Progress | None, kind: str = "chat") -> Iterator[ExportRecord]:
    rows = ws.connection.execute(
        f"SELECT id, split, coalesce(current, canonical), tokens_total, tokens_trained, "
        f"source_file, source_line FROM {RECORDS_MARKED} WHERE ({EXCLUDED_SQL}) IS NULL AND kind = ? "
        f"ORDER BY id",
        (int(only_accepted), kind),
    )
    done = 0
    loads = orjson.loads
    for rid, split, text, total_tokens, trained, src, line in rows:
        yield ExportRecord(rid, names.to_canonical(split), loads(text), total_tokens, trained,
                           src, line)
        done += 1
        if progress is not None and done % PROGRESS_EVERY == 0:
            progress(done, total)
    if progress is not None:
        progress(done, total)


def _check_splits(ws: Workspace, only_accepted: bool, kind: str = "chat") -> int:
    """Records to export; raises when any of them has no split."""
    c = ws.connection
    todo, unsplit = c.execute(
        f"SELECT count(*), coalesce(sum(split IS NULL), 0) FROM {RECORDS_MARKED} "
        f"WHERE ({EXCLUDED_SQL}) IS NULL AND kind = ?", (int(only_accepted), kind)).fetchone()
    if unsplit:
        first = [r[0] for r in c.execute(
            f"SELECT id FROM {RECORDS_MARKED} WHERE ({EXCLUDED_SQL}) IS NULL AND kind = ? "
            f"AND split IS NULL "
            f"ORDER BY id LIMIT 5", (int(only_accepted), kind))]
        raise ExportError(
            f"{unsplit} of {todo} records to export have no split (ids {', '.join(map(str, first))}"
            f"{', ...' if unsplit > len(first) else ''}); run `curator split -w {ws.path}` first "
            "(records added since the last split get a split; existing ones keep theirs)"
        )
    return int(todo)


def _chunks(path: Path, rows: int) -> Iterator[bytes]:
    """The lines of an exported JSONL file, `rows` at a time (the BOM, if any, dropped)."""
    with path.open("rb") as f:
        buf: list[bytes] = []
        for line in f:
            buf.append(line)
            if len(buf) >= rows:
                yield b"".join(buf).removeprefix(BOM)
                buf = []
        if buf:
            yield b"".join(buf).removeprefix(BOM)


def _parse(blob: bytes, schema: Any = None) -> Any:
    """One chunk of JSONL as an Arrow table (with `schema`: that schema, no inference)."""
    import pyarrow as pa
    import pyarrow.json as pj

    try:
        return pj.read_json(
            io.BytesIO(blob), read_options=pj.ReadOptions(block_size=len(blob) + 1),
            parse_options=pj.ParseOptions(explicit_schema=schema) if schema is not None else None)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise _schema_error(exc) from exc


def _schema_error(exc: Exception) -> ExportError:
    return ExportError(
        "the records cannot share one Arrow schema (a field holds different types in "
        f"different records: {exc}); export JSONL only, or fix the records")


def _schema(files: Sequence[Path], rows: int) -> Any:
    """The one Arrow schema of every record of `files`: inferred chunk by chunk and unified, as
    one inference over all of them would (a field null in one chunk takes the type it has in
    another, integers and floats meet as floats, a struct gains the fields any record has)."""
    import pyarrow as pa

    schema = None
    for path in files:
        for blob in _chunks(path, rows):
            found = _parse(blob).schema
            try:
                schema = found if schema is None else pa.unify_schemas(
                    [schema, found], promote_options="permissive")
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
                raise _schema_error(exc) from exc
    return schema


def _hf_writers(schema: Any, folder: Path, hashes: dict[str, str]) -> dict[str, Any]:
    """A `datasets` save_to_disk folder for each split in `hashes`, its data file left open for
    the rows: `save_to_disk` of an empty dataset of `schema` writes the folder (state.json,
    dataset_info.json, dataset_dict.json) as it would for the full one, then each split's one
    Arrow shard is rewritten, batch by batch, with datasets' own ArrowWriter."""
    import datasets
    from datasets.arrow_writer import ArrowWriter

    was_on = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    try:
        dd = datasets.DatasetDict({
            # The fingerprint is the split file's hash, so a rerun writes identical state.json.
            s: datasets.Dataset(schema.empty_table(), fingerprint=hashes[s][:16]) for s in SPLITS
            if s in hashes
        })
        dd.save_to_disk(str(folder), num_shards=dict.fromkeys(dd, 1))
    finally:
        if was_on:
            datasets.enable_progress_bars()
    return {s: ArrowWriter(features=dd[s].features,
                           path=str(folder / s / "data-00000-of-00001.arrow"),
                           embed_local_files=True) for s in dd}


def _write_arrow(tmp: Path, counts: dict[str, int], hashes: dict[str, str], hf: Sequence[str],
                 batch_rows: int) -> dict[str, str] | None:
    """The Hugging Face dataset folder (`hf` holds "dataset") and the Parquet files (`hf` holds
    "parquet"), streamed from the split files `batch_rows` records at a time: a first pass finds
    the one schema every split shares, a second writes each batch as one Parquet row group and
    one Arrow record batch, so memory holds a batch, not the data set (issue 15). Returns the
    Parquet files written (None when no Parquet was asked for)."""
    import pyarrow.parquet as pq

    splits = [s for s in SPLITS if counts[s]]
    schema = _schema([tmp / f"{s}.jsonl" for s in splits], batch_rows)
    hf_writers = _hf_writers(schema, tmp / HF_DIR, hashes) if "dataset" in hf else {}
    parquet: dict[str, str] | None = None
    if "parquet" in hf:
        (tmp / PARQUET_DIR).mkdir()
        parquet = {}
    for s in splits:
        pq_writer = None
        if parquet is not None:
            pq_writer = pq.ParquetWriter(tmp / PARQUET_DIR / f"{s}.parquet", schema)
            parquet[s] = f"{PARQUET_DIR}/{s}.parquet"
        try:
            for blob in _chunks(tmp / f"{s}.jsonl", batch_rows):
                table = _parse(blob, schema)
                if pq_writer is not None:
                    pq_writer.write_table(table, row_group_size=batch_rows)
                if s in hf_writers:
                    hf_writers[s].write_table(table)
        except BaseException:
            for writer in hf_writers.values():
                writer.close()
            raise
        finally:
            if pq_writer is not None:
                pq_writer.close()
        if s in hf_writers:
            hf_writers[s].finalize()
    return parquet


_OPENAI_TAGS = {"role_tag": "role", "content_tag": "content", "user_tag": "user",
                "assistant_tag": "assistant", "observation_tag": "tool",
                "system_tag": "system"}


def llamafactory_entry(fmt: str, file_name: str) -> dict[str, Any]:
    """One `dataset_info.json` entry for an exported file (LLaMA-Factory data/README)."""
    if fmt == "sharegpt-preference":  # ranking rows: conversations, then one chosen, one rejected
        return {"file_name": file_name, "formatting": "sharegpt", "ranking": True,
                "columns": {"messages": "conversations", "chosen": "chosen",
                            "rejected": "rejected", "system": "system", "tools": "tools"}}
    if fmt == "sharegpt":
        return {"file_name": file_name, "formatting": "sharegpt",
                "columns": {"messages": "conversations", "system": "system", "tools": "tools"}}
    if fmt == "alpaca":
        return {"file_name": file_name, "formatting": "alpaca",
                "columns": {"prompt": "instruction", "query": "input", "response": "output",
                            "system": "system", "history": "history"}}
    if fmt == "prompt-completion":
        return {"file_name": file_name, "formatting": "alpaca",
                "columns": {"prompt": "prompt", "response": "completion"}}
    # openai-chat and trl-messages: LLaMA-Factory's "openai" layout (sharegpt + role tags).
    return {"file_name": file_name, "formatting": "sharegpt",
            "columns": {"messages": "messages"}, "tags": dict(_OPENAI_TAGS)}


def _write_llamafactory(tmp: Path, fmt: str, name: str, counts: dict[str, int]) -> dict[str, str]:
    names = {"train": name, "validation": f"{name}_validation", "holdout": f"{name}_holdout"}
    info = {names[s]: llamafactory_entry(fmt, f"{s}.jsonl") for s in SPLITS if counts[s]}
    (tmp / LF_INFO).write_bytes(
        orjson.dumps(info, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")
    return {s: names[s] for s in SPLITS if counts[s]}


def export_workspace(
    ws: Workspace,
    out_dir: str | os.PathLike[str],
    *,
    fmt: str | None = "openai-chat",
    target: str | None = None,
    only_accepted: bool = False,
    bom: bool | None = None,
    hf: Sequence[str] = (),
    llamafactory: bool = False,
    llamafactory_name: str | None = None,
    progress: Progress | None = None,
    kind: str | None = None,
    batch_rows: int = BATCH_ROWS,
) -> ExportOutcome:
    """Export the workspace's splits into `out_dir`, atomically; see the module docstring.

    `fmt` None takes the target's default. `hf` may hold "dataset" (a `datasets` save_to_disk
    folder in `hf/`) and "parquet" (`parquet/<split>.parquet`). `llamafactory` writes a
    `dataset_info.json` whose entries are named `llamafactory_name` (default "curator"),
    `<name>_validation` and `<name>_holdout`. Raises ExportError (no split, bad options, a
    non-curator folder at `out_dir`).

    `kind` (chat, preference or feedback) picks the records to write; None: the one kind the
    records to export have (ExportError naming the counts when they have several). For
    preference and feedback records the layout follows the target and `fmt` must be None (the
    default "openai-chat" counts as None there); LLaMA-Factory's `dataset_info.json` is always
    written for preference records exported for lf (its ranking entry is how it reads them).

    The Hugging Face folder and the Parquet files are streamed `batch_rows` records at a time
    (one Parquet row group each), so memory does not grow with the data set.
    """
    with ws.snapshot():
        kind = _pick_kind(ws, kind, only_accepted)
    convert: Converter = _convert
    if kind == "chat":
        fmt, target = resolve_target_format(ws, fmt, target)
    else:
        fmt, target = resolve_kind_layout(ws, kind, None if fmt == "openai-chat" else fmt, target)
        convert = _convert_pair
        if fmt == "sharegpt-preference":
            llamafactory = True
        elif llamafactory:
            raise ExportError(f"LLaMA-Factory reads preference records as ShareGPT ranking rows: "
                              f"export them with --target lf (not {target})")
    unknown = set(hf) - {"dataset", "parquet"}
    if unknown:
        raise ExportError(f"unknown hf output {sorted(unknown)}; use 'dataset' and/or 'parquet'")
    lf_name = llamafactory_name or "curator"
    if llamafactory and not lf_name.replace("_", "").replace("-", "").isalnum():
        raise ExportError(f"LLaMA-Factory dataset name {lf_name!r}: use letters, digits, - and _")
    # One snapshot for every query: a commit by another process mid-export cannot make the
    # files and the manifest disagree.
    with ws.snapshot():
        todo = _check_splits(ws, only_accepted, kind)
        excluded, kinds = _exclusions(ws, only_accepted, kind)
        settings = _settings.settings_for(ws, target=target)
        options = settings.options
        profile = options.profile
        limit = settings.limit  # None: a model name the profile does not know, and no limit
        split_params = _settings.split_params(ws)
        names = _settings.split_names(ws)
        journal_head = ws.connection.execute("SELECT max(id) FROM journal").fetchone()[0]
        metadata = {
            "selection": "accepted" if only_accepted else "not rejected",
            "profile": {"name": profile.name, "description": profile.description,
                        "model": options.model, "token_limit": limit,
                        "min_examples": profile.min_examples},
            "workspace": {"records": ws.count(), "journal_head": journal_head},
        }
        if kind != "chat":  # a chat export's manifest stays as it was
            metadata["kind"] = kind
        parameters = {
            "split": split_params,
            "split_names": names.by_canonical(),
            "seed": split_params.get("seed") if isinstance(split_params, dict) else None,
            "dedup": ws.meta_json("dedup.params"),
            "only_accepted": only_accepted,
        }

        def extras(tmp: Path, manifest: dict[str, Any]) -> dict[str, Any]:
            counts = {s: int(manifest["splits"][s]["examples"]) for s in SPLITS}
            by_reason = Counter(kinds)
            by_reason["unconvertible"] = sum(
                1 for e in manifest["excluded"] if e["reason"].startswith("cannot convert"))
            by_reason["unknown_split"] = sum(
                1 for e in manifest["excluded"] if e["reason"].startswith("split "))
            added: dict[str, Any] = {
                "counts": {**counts, "exported": sum(counts.values()),
                           "excluded": len(manifest["excluded"]),
                           "excluded_by_reason": {k: v for k, v in sorted(by_reason.items()) if v}},
                "hf_dataset": None, "parquet": None, "llamafactory": None,
            }
            if hf and not any(counts.values()):
                added["warnings"] = [*manifest["warnings"], "nothing to export: no Hugging "
                                     "Face dataset or Parquet files written"]
            elif hf:
                hashes = {s: manifest["splits"][s]["sha256"] for s in SPLITS if counts[s]}
                added["parquet"] = _write_arrow(tmp, counts, hashes, hf, batch_rows)
                if "dataset" in hf:
                    added["hf_dataset"] = HF_DIR
            if llamafactory:
                added["llamafactory"] = {"dataset_info": LF_INFO,
                                         "datasets": _write_llamafactory(tmp, fmt, lf_name, counts)}
            return added

        result = export_records(
            _records(ws, only_accepted, todo, names, progress, kind), out_dir, fmt=fmt,
            target=target, convert=convert, bom=bom, excluded=excluded, parameters=parameters,
            metadata=metadata, extras=extras, protect=workspace_files(ws),
        )
        return ExportOutcome(result.out_dir, fmt, target, result.manifest, kind)
