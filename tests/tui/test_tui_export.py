"""The review app's export (`E`) and the duplicates screen's keep, driven by Pilot; assertions are
on the files and the workspace (issue 11, items 2, 6 and 7)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tui_helpers import make_workspace

from curator.tui.app import ReviewApp
from curator.workspace import Workspace

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SIZE = (100, 30)


def _split(path: Path) -> None:
    with Workspace.open(path) as ws:
        ws.set_splits({i: ("train", "validation", "holdout")[i % 3] for i in ws.select_ids()})


async def _export(app: ReviewApp, pilot: object, out: Path) -> None:
    await pilot.press("E", "ctrl+a", "ctrl+k", *str(out), "enter")  # type: ignore[attr-defined]
    await app.workers.wait_for_complete()
    await pilot.pause()  # type: ignore[attr-defined]


async def test_in_app_export_refuses_a_folder_holding_the_workspace(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    ws_path = make_workspace(tmp_path, cluster=False)
    _split(ws_path)
    (tmp_path / "manifest.json").write_text('{"manifest_version": 1, "files": {}}')
    app = ReviewApp(ws_path, actor="tester")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a")  # a decision the export must not destroy
        await _export(app, pilot, tmp_path)  # the workspace's own folder
    assert ws_path.is_file() and (tmp_path / "data.jsonl").is_file()
    assert not (tmp_path / "train.jsonl").exists()
    with Workspace.open(ws_path) as ws:
        assert ws.get(1).status == "accepted" and ws.integrity_check() == "ok"


async def test_in_app_reexport_keeps_a_users_file(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    ws_path = make_workspace(tmp_path, cluster=False)
    _split(ws_path)
    out = tmp_path / "out"
    app = ReviewApp(ws_path, actor="tester")
    async with app.run_test(size=SIZE) as pilot:
        await _export(app, pilot, out)
        assert (out / "manifest.json").is_file()
        (out / "notes.md").write_text("mine")
        await pilot.press("escape")
        await _export(app, pilot, out)
    assert (out / "notes.md").read_text() == "mine"


def _exported_ids(out: Path) -> list[str]:
    from curator.export import iter_export_rows

    return sorted(r["messages"][-1]["content"] for s in ("train", "validation", "holdout")
                  if (out / f"{s}.jsonl").exists() for r in iter_export_rows(out / f"{s}.jsonl"))


async def test_keep_this_one_exports_exactly_the_chosen_record(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`2` on a cluster (record 2 the keeper, 6 its duplicate): afterwards 6 alone is exported,
    and report's cluster check passes."""
    from tui_helpers import ROWS

    from curator.report import assess
    from curator.tui.dupes import DuplicatesScreen
    from curator.workspace.report import gather_facts

    monkeypatch.chdir(tmp_path)
    ws_path = make_workspace(tmp_path)  # cluster 2: keeper 2, duplicate 6
    _split(ws_path)
    app = ReviewApp(ws_path, actor="tester")
    out = tmp_path / "out"
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("d")
        assert isinstance(app.screen, DuplicatesScreen) and app.screen.clusters == [2]
        await pilot.press("2")  # keep record 6
        await pilot.press("escape")
        await _export(app, pilot, out)
    answer_2, answer_6 = (ROWS[i]["messages"][-1]["content"] for i in (1, 5))
    assert answer_2 == answer_6  # the two differ in the question only
    kept_question = ROWS[5]["messages"][0]["content"]
    from curator.export import iter_export_rows

    questions = [r["messages"][0]["content"] for s in ("train", "validation", "holdout")
                 if (out / f"{s}.jsonl").exists() for r in iter_export_rows(out / f"{s}.jsonl")]
    assert kept_question in questions and ROWS[1]["messages"][0]["content"] not in questions
    with Workspace.open(ws_path) as ws:
        assert (ws.get(6).status, ws.get(6).dup_of) == ("accepted", None)
        assert (ws.get(2).status, ws.get(2).dup_of) == ("rejected", 6)
        checks = {c.name: c for c in assess(gather_facts(ws))}
    assert checks["one copy per duplicate cluster"].status == "pass"


async def test_in_app_export_selects_as_the_cli_does_and_warns_of_an_empty_split(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing accepted yet: `E` exports what `curator export` exports (everything not
    rejected), byte for byte; a split left empty gets no file, and the app says so."""
    from click.testing import CliRunner

    from curator.cli import cli

    monkeypatch.chdir(tmp_path)
    ws_path = make_workspace(tmp_path, cluster=False)
    with Workspace.open(ws_path) as ws:  # nothing in holdout
        ws.set_splits({i: ("train", "validation")[i % 2] for i in ws.select_ids()})
        assert ws.count(["status=accepted"]) == 0
    app = ReviewApp(ws_path, actor="tester")
    async with app.run_test(size=SIZE) as pilot:
        await _export(app, pilot, tmp_path / "app")
        assert app.main.message.startswith("warning: holdout is empty")
    r = CliRunner().invoke(cli, ["export", "-w", str(ws_path), "--out", str(tmp_path / "cli")])
    assert r.exit_code == 1 and "warning: holdout is empty" in r.stderr
    files = sorted(p.name for p in (tmp_path / "app").iterdir())
    assert files == ["manifest.json", "train.jsonl", "validation.jsonl"]
    for name in files:
        assert (tmp_path / "app" / name).read_bytes() == (tmp_path / "cli" / name).read_bytes()
