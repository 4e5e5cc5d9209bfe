"""The label set keeps the order the user gave (the review app's keys 1-9 follow it), in the
store, in `curator labels` and in the app; undo puts back the order as it was."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from tui_helpers import make_workspace

from curator.cli import cli
from curator.tui.app import ReviewApp
from curator.workspace import Workspace

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def names(ws: Workspace) -> list[str]:
    return [n for n, _ in ws.labels()]


@pytest.fixture
def path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return make_workspace(tmp_path, labels=(), cluster=False)


def test_added_names_keep_the_order_given(path: Path) -> None:
    with Workspace.open(path) as ws:
        ws.add_label_names(["bikes", "other", "brakes"])
        assert names(ws) == ["bikes", "other", "brakes"]
        ws.add_label_names(["accessories"])  # a later name comes after
        assert names(ws) == ["bikes", "other", "brakes", "accessories"]


def test_set_label_set_orders_adds_removes_in_one_undo(path: Path) -> None:
    with Workspace.open(path) as ws:
        ws.add_label_names(["bikes", "brakes", "gone"])
        ws.add_labels([1, 2], ["gone"])
        change = ws.set_label_set(["bikes", "other", "brakes"])
        assert change.entry_id is not None and "added other" in change.summary
        assert names(ws) == ["bikes", "other", "brakes"]
        assert ws.get(1).labels == []  # a name left out leaves every record
        assert ws.set_label_set(["bikes", "other", "brakes"]).entry_id is None  # no change
        assert len(ws.undo()) == 1
        assert names(ws) == ["bikes", "brakes", "gone"]
        assert ws.get(1).labels == ["gone"]
        ws.redo()
        assert names(ws) == ["bikes", "other", "brakes"]
        ws.set_label_set(["brakes", "bikes", "other"])  # order only
        assert names(ws) == ["brakes", "bikes", "other"]
        ws.undo()
        assert names(ws) == ["bikes", "other", "brakes"]


def test_undo_of_a_removal_puts_the_name_back_in_its_place(path: Path) -> None:
    with Workspace.open(path) as ws:
        ws.add_label_names(["a", "b", "c"])
        ws.remove_label_names(["b"])
        assert names(ws) == ["a", "c"]
        ws.undo()
        assert names(ws) == ["a", "b", "c"]
        ws.set_label_set(["c", "a"])
        ws.undo()
        assert names(ws) == ["a", "b", "c"]
        ws.remove_label_names(["a"])
        ws.add_label_names(["a"])  # added again: now the last
        assert names(ws) == ["b", "c", "a"]


def test_cli_labels_lists_in_the_order_given(path: Path) -> None:
    env = {"CURATOR_WORKSPACE": str(path)}
    r = CliRunner(env=env).invoke(
        cli, ["labels", "--add", "bikes", "--add", "other", "--add", "brakes"])
    assert r.exit_code == 0, r.output
    r = CliRunner(env=env).invoke(cli, ["labels"])
    assert [line.split("\t")[0] for line in r.stdout.splitlines()] == ["bikes", "other", "brakes"]
    r = CliRunner(env=env).invoke(cli, ["labels", "--json"])
    assert [x["name"] for x in json.loads(r.stdout)] == ["bikes", "other", "brakes"]


async def test_number_keys_follow_the_order_typed_in_the_app(path: Path) -> None:
    app = ReviewApp(path, actor="tester")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("L", *"bikes, other, brakes", "enter")
        await pilot.press("3")  # record 1 gets the third name typed
        with Workspace.open(path) as ws:
            assert names(ws) == ["bikes", "other", "brakes"]
            assert ws.get(1).labels == ["brakes"]
        rows = dict(app.help_rows())  # what the help screen (?) lists
        assert [rows[k] for k in ("1", "2", "3")] == [
            "toggle label bikes  [label_1]", "toggle label other  [label_2]",
            "toggle label brakes  [label_3]"]
        await pilot.press("escape", "L", "ctrl+a", "ctrl+k", *"brakes, bikes", "enter")
        await pilot.press("j", "1")  # record 2: brakes, now the first
        with Workspace.open(path) as ws:
            assert names(ws) == ["brakes", "bikes"]
            assert ws.get(2).labels == ["brakes"]
        await pilot.press("u", "u")  # undo the label, then the label set: order as before
        with Workspace.open(path) as ws:
            assert names(ws) == ["bikes", "other", "brakes"]
