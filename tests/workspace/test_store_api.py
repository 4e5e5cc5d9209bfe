"""The workspace's public surface holds still while its code moves between modules (issue 14):
every public name of `Workspace` with its signature, recorded before the engine was split into
one module per operation, and the names `curator.workspace` re-exports. New names may be added;
none recorded here may go or change. Also: the engine stays light to import."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import curator.workspace
from curator.workspace import Workspace

#: name -> signature without the first parameter ("property"/"attr" for the others), as
#: recorded from the engine before the split
RECORDED = {
    'BULK_CHUNK': 'attr',
    'LABEL_ORDER': 'attr',
    'add_label_names': "(names: 'Iterable[str]') -> 'Change'",
    'add_labels': "(ids: 'Iterable[int] | None', labels: 'Sequence[str]', *, where: 'Sequence[str] | None' = None, progress: 'Callable[[int, int], None] | None' = None) -> 'Change'",
    'begin_import': "(path: 'str', *, meta: 'Mapping[str, str | None] | None' = None) -> 'int'",
    'build_search_index': "(progress: 'Callable[[int, int], None] | None' = None, *, batch: 'int' = 20000, cancelled: 'Callable[[], bool] | None' = None) -> 'int'",
    'changes': "(entry_id: 'int') -> 'list[tuple[int | None, str, Any, Any]]'",
    'check_filter_names': "(where: 'Sequence[str] | None') -> 'None'",
    'checkpoint': "() -> 'tuple[int, int, int]'",
    'clear_duplicates': "(ids: 'Iterable[int] | None' = None, *, where: 'Sequence[str] | None' = None) -> 'Change'",
    'clear_marks': "() -> 'int'",
    'close': "() -> 'None'",
    'connection': 'property',
    'count': "(where: 'Sequence[str]' = ()) -> 'int'",
    'dedup_pairs': "() -> 'list[tuple[int, int, float, bool]]'",
    'defer_checkpoints': "() -> 'None'",
    'edit': "(record_id: 'int', example: 'Mapping[str, Any]', validate: 'Callable[[dict[str, Any]], Sequence[Issue]] | None' = None, tokens: 'tuple[int, int] | None' = None) -> 'Change'",
    'entry': "(entry_id: 'int') -> 'JournalEntry'",
    'finish_import': "(import_id: 'int', sha256: 'str | None', size: 'int | None', summary: 'str', new: 'int') -> 'None'",
    'flag_records': "(label: 'str', flagged: 'Iterable[int]', *, notes: 'Mapping[int, str | None] | None' = None, exclusive: 'bool' = False, meta: 'Mapping[str, str | None] | None' = None, action: 'str' = 'flag', summary: 'str | None' = None) -> 'Change'",
    'get': "(record_id: 'int') -> 'RecordDetail'",
    'import_batch': "(import_id: 'int', records: 'Sequence[NewRecord]', totals: 'Mapping[str, int]') -> 'list[bool]'",
    'integrity_check': "() -> 'str'",
    'keep_one': "(cluster_id: 'int', keeper: 'int') -> 'Change'",
    'labels': "() -> 'list[tuple[str, int]]'",
    'log': "(limit: 'int | None' = 20) -> 'list[JournalEntry]'",
    'mark_duplicates': "(clusters: 'Iterable[DuplicateCluster]', params: 'Mapping[str, Any] | None' = None, *, clear_others: 'bool' = False, meta: 'Mapping[str, str | None] | None' = None) -> 'Change'",
    'marks': "() -> 'set[int]'",
    'meta': "(key: 'str') -> 'str | None'",
    'meta_json': "(*keys: 'str') -> 'Any'",
    'next_redo': "() -> 'JournalEntry | None'",
    'next_undo': "() -> 'JournalEntry | None'",
    'open': "(path: 'str | os.PathLike[str]', *, create: 'bool' = False, actor: 'str | None' = None, lock_timeout: 'float' = 10.0) -> 'Workspace'",
    'page': "(where: 'Sequence[str]' = (), order: 'str' = 'id', after: 'tuple[Any, int] | None' = None, offset: 'int' = 0, limit: 'int' = 100) -> 'Page'",
    'redo': "(n: 'int' = 1) -> 'list[JournalEntry]'",
    'remove_label_names': "(names: 'Iterable[str]') -> 'Change'",
    'remove_labels': "(ids: 'Iterable[int] | None', labels: 'Sequence[str]', *, where: 'Sequence[str] | None' = None, progress: 'Callable[[int, int], None] | None' = None) -> 'Change'",
    'save_dedup_pairs': "(key: 'str', pairs: 'Iterable[tuple[int, int, float, bool]]') -> 'None'",
    'schema_version': 'property',
    'search_index_pending': "() -> 'int'",
    'select_ids': "(where: 'Sequence[str]' = ()) -> 'Iterator[int]'",
    'set_label_one': "(record_id: 'int', label: 'str', on: 'bool') -> 'Change'",
    'set_label_set': "(names: 'Sequence[str]') -> 'Change'",
    'set_marks': "(ids: 'Iterable[int]', on: 'bool' = True) -> 'int'",
    'set_meta': "(key: 'str', value: 'str | None', *, summary: 'str | None' = None) -> 'Change'",
    'set_note': "(record_id: 'int', note: 'str | None') -> 'Change'",
    'set_note_one': "(record_id: 'int', note: 'str | None') -> 'Change'",
    'set_splits': "(assignment: 'Mapping[int, str | None] | Iterable[tuple[int, str | None]]', params: 'Mapping[str, Any] | None' = None, *, allow_holdout_move: 'bool' = False, meta: 'Mapping[str, str | None] | None' = None, summary: 'str | None' = None) -> 'Change'",
    'set_status': "(ids: 'Iterable[int] | None', status: 'str', reason: 'str | None' = None, *, where: 'Sequence[str] | None' = None, progress: 'Callable[[int, int], None] | None' = None) -> 'Change'",
    'set_status_one': "(record_id: 'int', status: 'str', reason: 'str | None' = None) -> 'Change'",
    'snapshot': "() -> 'Iterator[None]'",
    'sources': "() -> 'list[dict[str, Any]]'",
    'status_counts': "() -> 'dict[str, int]'",
    'summaries': "(ids: 'Sequence[int]') -> 'list[RecordSummary]'",
    'undo': "(n: 'int' = 1) -> 'list[JournalEntry]'",
}

EXPORTS = ['Change', 'DuplicateCluster', 'EditRefused', 'FILTER_HELP', 'FilterError', 'HOLDOUT', 'INT64_MAX', 'INT64_MIN', 'JournalEntry', 'NewRecord', 'NotAWorkspace', 'Page', 'RecordDetail', 'RecordSummary', 'SCALAR_FIELDS', 'STATUSES', 'SchemaTooNew', 'UnknownRecords', 'Workspace', 'WorkspaceBusy', 'WorkspaceError', 'WorkspaceNotFound', 'WorkspaceReadOnly', 'WorkspaceWriteFailed', 'check_names', 'compile_filters', 'file_error', 'fts_query', 'is_sqlite_file', 'uses_search']


def _signature(name: str) -> str:
    obj = inspect.getattr_static(Workspace, name)
    if isinstance(obj, (staticmethod, classmethod)):
        return str(inspect.signature(getattr(Workspace, name)))
    if isinstance(obj, property):
        return "property"
    if callable(obj):
        sig = inspect.signature(obj)
        return str(sig.replace(parameters=list(sig.parameters.values())[1:]))
    return "attr"


def test_every_recorded_public_name_keeps_its_signature() -> None:
    now = {name: _signature(name) for name in dir(Workspace) if not name.startswith("_")}
    assert {name: now.get(name) for name in RECORDED} == RECORDED


def test_the_package_still_exports_every_name() -> None:
    assert set(EXPORTS) <= set(curator.workspace.__all__)
    for name in EXPORTS:
        assert getattr(curator.workspace, name) is not None, name


def test_the_aliased_operations_are_methods_of_an_open_workspace(tmp_path: Path) -> None:
    """An operation bound in the class body is a method: called on an instance, `ws` is bound."""
    with Workspace.open(tmp_path / "w.db", create=True) as ws:
        assert ws.count() == 0 and ws.labels() == [] and ws.marks() == set()
        assert ws.add_label_names(["a"]).entry_id is not None
        assert ws.undo()[0].action == "labels" and ws.log(5)[0].state == "undone"


def test_importing_the_workspace_pulls_in_nothing_heavy() -> None:
    """`curator accept` must start fast: the engine never imports the operations that pull in
    numba, pyarrow or the validator (importer, prepare, dedup, split, export, report, views)."""
    code = ("import sys, curator.workspace; "
            "print(' '.join(m for m in sys.modules if m.split('.')[0] in "
            "('curator', 'numba', 'pyarrow', 'textual', 'torch')))")
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                check=True).stdout.split())
    heavy = {m for m in loaded if not m.startswith("curator")}
    assert not heavy
    for name in ("importer", "prepare", "dedup", "split", "export", "report", "views"):
        assert f"curator.workspace.{name}" not in loaded
    assert not {m for m in loaded if m.startswith(("curator.validate", "curator.dedup"))}
