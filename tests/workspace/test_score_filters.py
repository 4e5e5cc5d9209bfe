"""`--where score.FIELD<op>X` (curator/workspace/filters.py): the stored `curator score` numbers
in the filter language, so ls, accept/reject/label and the review app's filter take them. No
model here: the scores are written by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from curator.cli import cli
from curator.workspace import FilterError, Workspace
from curator.workspace import scores as store
from curator.workspace.importer import import_files
from curator.workspace.scores import ScoreRow


def scored_workspace(tmp_path: Path) -> Path:
    """Five records: 1..4 scored (4 without numbers: its answer could not be scored), 5 never."""
    src = tmp_path / "rows.jsonl"
    src.write_text("".join(json.dumps({"messages": [{"role": "user", "content": f"q{i}?"},
                                                    {"role": "assistant", "content": f"a{i}."}]}) + "\n"
                           for i in range(5)), encoding="utf-8")
    db = tmp_path / "work.db"
    with Workspace.open(db, create=True) as ws:
        import_files(ws, [src])
        numbers = {1: (0.5, 1.0, 2.0, 0.9), 2: (1.5, 3.0, 2.0, 0.01), 3: (1.0, 2.0, 2.0, 0.4)}
        rows = [ScoreRow(rid, "m", h, *numbers[rid][1:3], numbers[rid][0], numbers[rid][3], 3)
                for rid, _, h in store.texts(ws, [1, 2, 3])]
        rows += [ScoreRow(4, "m", store.texts(ws, [4])[0][2], None, None, None, None, 0, "too long")]
        store.save(ws, rows)
    return db


@pytest.mark.parametrize(("flt", "ids"), [
    ("score.ifd>1.0", [2]), ("score.ifd>=1.0", [2, 3]), ("score.ifd<1", [1]), ("score.ifd<=1", [1, 3]),
    ("score.ifd=1.0", [3]), ("score.ifd!=1.0", [1, 2]), ("score.end_prob<0.05", [2]),
    ("score.loss>=2.0", [2, 3]), ("score.loss_alone=2", [1, 2, 3]), ("score.ifd > 0", [1, 2, 3]),
])
def test_score_filters_select_by_the_stored_numbers_and_never_an_unscored_record(
        tmp_path: Path, flt: str, ids: list[int]) -> None:
    with Workspace.open(scored_workspace(tmp_path)) as ws:
        assert sorted(ws.select_ids([flt])) == ids


def test_score_filters_combine_with_the_others(tmp_path: Path) -> None:
    with Workspace.open(scored_workspace(tmp_path)) as ws:
        ws.set_status([2], "accepted", None)
        assert list(ws.select_ids(["score.ifd>=1", "status=pending"])) == [3]


@pytest.mark.parametrize(("flt", "why"), [
    ("score.ifx>1", "no score field 'ifx'; did you mean ifd"), ("score.ifd~1", "takes >, <"),
    ("score.ifd>high", "'high' is not a number"), ("score.ifd>nan", "not a finite number"),
    ("score>1", "unknown key 'score'"), ("scores.ifd>1", "unknown key"),
])
def test_bad_score_filters_are_refused_with_the_language(flt: str, why: str) -> None:
    from curator.workspace import compile_filters

    with pytest.raises(FilterError, match=why) as exc:
        compile_filters([flt])
    assert "score.FIELD>X" in str(exc.value)


def test_ls_and_reject_take_a_score_filter(tmp_path: Path) -> None:
    db = scored_workspace(tmp_path)
    out = CliRunner().invoke(cli, ["ls", "-w", str(db), "--where", "score.ifd>=1.0", "--json"])
    assert out.exit_code == 0, out.output
    assert sorted(json.loads(line)["id"] for line in out.output.splitlines()) == [2, 3]
    out = CliRunner().invoke(cli, ["reject", "-w", str(db), "--where", "score.end_prob<0.05", "--reason", "cut"])
    assert out.exit_code == 0, out.output
    with Workspace.open(db) as ws:
        assert list(ws.select_ids(["status=rejected"])) == [2]
