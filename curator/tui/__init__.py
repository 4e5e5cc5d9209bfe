"""The review app (Textual). The only package that imports textual; the CLI imports it lazily.

The map: `app` (ReviewApp: opens the workspace, other screens and the workspace jobs),
`main_screen` (MainScreen: the list, the record, decisions, marks, bulk, undo, filters),
`bindings` (its keys and ids), `actions` (what keys ask for, as values: BulkAction, filter
terms), `messages` (what workers post back to their screen), `jobs` (JobScreen and the jobs
it runs, each returning a JobReport), `window` and `record_list` (the paged list), `detail`,
`edit`, `dupes`, `stats`, `modals`, `status_line`, `keymap`, `text` and `visible` (showing
untrusted text safely). The app speaks no SQL: what it reads beyond the workspace's methods
comes from curator.workspace.views.review.
"""

from __future__ import annotations

from curator.tui.app import ReviewApp

__all__ = ["ReviewApp"]
