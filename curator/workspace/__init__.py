"""The workspace: one SQLite file that holds the records, every decision and its journal.

This package is the only place in curator that speaks SQL. `engine` opens, migrates and runs
the write transaction (`journal.Tx`); `errors`, `records`, `filters`, `lock` and `meta` hold its
parts; the store's operations are one module each (`decisions`, `labels`, `marks`,
`dedup_marks`, `split_marks`, `sources`, `history`, `reads`, `search`), bound as methods of
`Workspace`. Beside them, the workspace commands (import, dedup, split, export, report). Callers
import the store's public names from here; modules inside the package import them from the
module that defines them.
"""

from curator.workspace.engine import Workspace, is_sqlite_file
from curator.workspace.errors import (
    EditRefused,
    FilterError,
    NotAWorkspace,
    SchemaTooNew,
    UnknownRecords,
    WorkspaceBusy,
    WorkspaceError,
    WorkspaceNotFound,
    WorkspaceReadOnly,
    WorkspaceWriteFailed,
    file_error,
)
from curator.workspace.filters import (
    FILTER_HELP,
    INT64_MAX,
    INT64_MIN,
    check_names,
    compile_filters,
    fts_query,
    uses_search,
)
from curator.workspace.records import (
    HOLDOUT,
    SCALAR_FIELDS,
    STATUSES,
    Change,
    DuplicateCluster,
    JournalEntry,
    NewRecord,
    Page,
    RecordDetail,
    RecordSummary,
)

__all__ = [
    "FILTER_HELP",
    "HOLDOUT",
    "INT64_MAX",
    "INT64_MIN",
    "SCALAR_FIELDS",
    "STATUSES",
    "Change",
    "DuplicateCluster",
    "EditRefused",
    "FilterError",
    "JournalEntry",
    "NewRecord",
    "NotAWorkspace",
    "Page",
    "RecordDetail",
    "RecordSummary",
    "SchemaTooNew",
    "UnknownRecords",
    "Workspace",
    "WorkspaceBusy",
    "WorkspaceError",
    "WorkspaceNotFound",
    "WorkspaceReadOnly",
    "WorkspaceWriteFailed",
    "check_names",
    "compile_filters",
    "file_error",
    "fts_query",
    "is_sqlite_file",
    "uses_search",
]
