"""`curator report -w WS --html FILE` through the CLI, on a workspace built from sample_data with
the repository's own commands, before and after a `curator train --model tiny` run."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from html_helpers import Page

from curator.cli import cli

SAMPLES = Path(__file__).resolve().parents[2] / "sample_data"


@pytest.fixture(autouse=True)
def _isolated(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CURATOR_HOME", str(tmp_path_factory.getbasetemp() / "curator-home"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("CURATOR_WORKSPACE", raising=False)


def _cli(*args: str, ok: tuple[int, ...] = (0,)) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code in ok, result.output
    return result.output


def _workspace(tmp_path: Path) -> Path:
    db = str(tmp_path / "w.db")
    _cli("import", str(SAMPLES / "chat_clean.jsonl"), str(SAMPLES / "duplicates.jsonl"),
         str(SAMPLES / "placeholders.jsonl"), "-w", db, ok=(0, 1))
    _cli("reject", "-w", db, "--where", "text~tool_calls", "--reason", "tool calls")
    _cli("labels", "-w", db, "--add", "bikes", "--add", "other")
    _cli("label", "-w", db, "1-12", "--add", "bikes")
    _cli("label", "-w", db, "13-30", "--add", "other")
    _cli("dedup", "-w", db)
    _cli("split", "-w", db, "--ratios", "0.5,0.25,0.25", "--seed", "7", ok=(0, 1))
    return Path(db)


def _report(db: Path, page: Path) -> Page:
    _cli("report", "-w", str(db), "--html", str(page), ok=(0, 1))
    text = page.read_text(encoding="utf-8")
    assert "http" not in text.replace("http-equiv", "")
    return Page(text)


def test_report_html_on_sample_data_before_training(tmp_path: Path) -> None:
    db = _workspace(tmp_path)
    page = _report(db, tmp_path / "r.html")
    assert [a["id"] for a in page.tags("section")] == [
        "checklist", "tokens", "issues", "duplicates", "labels", "coverage", "training"]
    assert page.tags("line", "tokens", "limit") and len(page.tags("rect", "tokens", "bar")) > 1
    assert "quality.placeholder" in page.section_text("issues")
    assert page.tags("a", "issues")  # codes link to their example records
    assert "Largest clusters" in page.section_text("duplicates")
    assert "bikes" in page.section_text("labels")
    assert "No training run recorded" in page.section_text("training")
    assert not page.tags("svg", "training")


def test_report_html_shows_the_tiny_training_run(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    db = _workspace(tmp_path)
    run = tmp_path / "run"
    _cli("train", "-w", str(db), "--model", "tiny", "--out", str(run), "--steps", "4",
         "--generate", "1", "--quant", "none", ok=(0, 1, 3))
    page = _report(db, tmp_path / "r.html")
    text = page.section_text("training")
    assert str(run) in text
    assert page.tags("polyline", "training", "raw") and page.tags("polyline", "training", "smooth")
    assert "Baseline against tuned" in text and "validation" in text and "holdout" in text
    assert "before (base model)" in text and "after (tuned)" in text
    assert "review:high-loss" in text  # the review queue, with the records it labelled
    assert "review:high-loss" in page.section_text("labels").split("Labels curator adds itself")[1]

    # the run folder moved away: the page says so and still shows what meta train.last_run holds
    run.rename(tmp_path / "moved")
    page = _report(db, tmp_path / "r2.html")
    text = page.section_text("training")
    assert "could not be read" in text and "Baseline against tuned" in text
    assert not page.tags("polyline", "training")
    assert "No highest-loss examples" not in text  # the labelled records are still named


def test_the_details_agree_with_the_review_filters(tmp_path: Path) -> None:
    """Issues by code and the clusters, counted by gather_details, against the store's own
    filters (`curator ls --where`), with a rejected and a duplicate-marked record in play."""
    from curator.workspace import Workspace
    from curator.workspace.report import gather_details

    db = _workspace(tmp_path)
    _cli("reject", "-w", str(db), "--where", "issue=quality.placeholder", "--reason", "x")
    with Workspace.open(db) as ws:
        details = gather_details(ws, examples=2)
        assert details.issue_codes and details.largest_clusters
        for c in details.issue_codes:
            every = sorted(ws.select_ids([f"issue={c.code}"]))
            kept = list(ws.select_ids([f"issue={c.code}", "status!=rejected", "dup=no"]))
            assert (c.records, c.included) == (len(every), len(kept)), c.code
            assert [rid for rid, _ in c.examples] == every[:2]
        assert any(c.included < c.records for c in details.issue_codes)
        for cl in details.largest_clusters:
            members = sorted(ws.select_ids([f"cluster={cl.cluster_id}"]))
            assert cl.size == len(members) and cl.members == members[:4]
            assert cl.kept == sorted(ws.select_ids([f"cluster={cl.cluster_id}", "status!=rejected",
                                                    "dup=no"]))
        sizes = [cl.size for cl in details.largest_clusters]
        assert sizes == sorted(sizes, reverse=True)
        assert sum(details.cluster_sizes.values()) == len(
            {r.cluster_id for r in map(ws.get, ws.select_ids(["dup=yes"]))})
        assert details.train is None
