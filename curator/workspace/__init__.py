"""The workspace: one SQLite file that holds the records, every decision and its journal.

This package is the only place in curator that speaks SQL. `engine` opens, migrates and
journals; the modules beside it are the workspace operations (import, dedup, split, export,
report). Callers import the store's public names from here.
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
