"""Signals from model scores (curator/quality/score_signals.py) as issues on the record, written
when a score is stored (curator/workspace/scores.py save) and dropped when the record is scored
again without them. No model: the numbers are written by hand."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from click.testing import CliRunner

from curator.cli import cli
from curator.quality.score_signals import (
    END_PROB_CUT_OFF,
    IFD_OFF_PROMPT,
    ends_finished,
    score_signals,
)
from curator.workspace import Workspace
from curator.workspace import scores as store
from curator.workspace.importer import import_files
from curator.workspace.scores import ScoreRow

ANSWERS = ["Paris is the capital of France.", "In one week, he bakes 3 * 12 = 36 apple",
           "Ok.", "question number 3"]


def workspace(tmp_path: Path) -> Path:
    src = tmp_path / "rows.jsonl"
    src.write_text("".join(json.dumps({"messages": [{"role": "user", "content": f"Question number {i}?"},
                                                    {"role": "assistant", "content": a}]}) + "\n"
                           for i, a in enumerate(ANSWERS)), encoding="utf-8")
    db = tmp_path / "work.db"
    with Workspace.open(db, create=True) as ws:
        import_files(ws, [src])
    return db


def score(ws: Workspace, rid: int, ifd: float | None, end: float | None) -> ScoreRow:
    h = store.texts(ws, [rid])[0][2]
    return ScoreRow(rid, "m", h, None if ifd is None else 2.0 * ifd, None if ifd is None else 2.0, ifd, end, 5)


def codes(ws: Workspace, rid: int) -> list[str]:
    return [i.code for i in ws.get(rid).issues]


def test_thresholds_at_their_boundaries() -> None:
    assert [c for c, _ in score_signals("An answer.", IFD_OFF_PROMPT, 2.0, 2.0, 0.5)] == ["quality.answer_off_prompt"]
    assert score_signals("An answer.", 0.99, 1.98, 2.0, 0.5) == []
    cut = "first mix the flour with the"
    assert [c for c, _ in score_signals(cut, 0.5, 1.0, 2.0, END_PROB_CUT_OFF / 2)] == ["quality.answer_cut_off"]
    assert score_signals(cut, 0.5, 1.0, 2.0, END_PROB_CUT_OFF) == []  # not under the threshold
    assert score_signals(cut + ".", 0.5, 1.0, 2.0, 1e-12) == []  # a finished sentence: the model alone is not enough
    assert score_signals("```\ncode\n```", 0.5, 1.0, 2.0, 1e-12) == []
    assert score_signals(cut, None, None, None, None) == []  # not scored: no signal


def test_saving_a_score_writes_its_signals_with_a_checkable_reason(tmp_path: Path) -> None:
    with Workspace.open(workspace(tmp_path)) as ws:
        store.save(ws, [score(ws, 1, 1.25, 0.3), score(ws, 2, 0.6, 3e-9), score(ws, 3, 0.4, 1e-9),
                        score(ws, 4, None, None)])
        assert codes(ws, 1) == ["quality.answer_off_prompt"]
        (issue,) = ws.get(1).issues
        assert issue.severity == "warning" and issue.message_index == 1
        assert "IFD 1.25" in issue.message and "2.50" in issue.message and "2.00" in issue.message
        assert codes(ws, 2) == ["quality.answer_cut_off"]
        assert "3.0e-09" in ws.get(2).issues[0].message and "36 apple'" in ws.get(2).issues[0].message
        assert codes(ws, 3) == []  # "Ok." ends a sentence
        assert codes(ws, 4) == ["quality.response_equals_prompt"]  # no numbers: no signal
        assert list(ws.select_ids(["issue=quality.answer_off_prompt"])) == [1]
        assert list(ws.select_ids(["issue=quality.answer_*"])) == [1, 2]
        assert list(ws.select_ids(["severity=warning"])) == [1, 2, 4]


def test_scoring_again_without_them_drops_them_and_keeps_other_issues(tmp_path: Path) -> None:
    with Workspace.open(workspace(tmp_path)) as ws:
        store.save(ws, [score(ws, 2, 1.5, 1e-9)])
        assert codes(ws, 2) == ["quality.answer_off_prompt", "quality.answer_cut_off"]
        store.save(ws, [score(ws, 2, 1.1, 0.5)])  # scored again: one signal left, written once
        assert codes(ws, 2) == ["quality.answer_off_prompt"]
        store.save(ws, [score(ws, 2, 0.3, 0.5)])
        assert codes(ws, 2) == []
        assert codes(ws, 4) == ["quality.response_equals_prompt"]
        store.save(ws, [score(ws, 4, 0.5, 1e-9)])
        assert codes(ws, 4) == ["quality.response_equals_prompt", "quality.answer_cut_off"]
        store.save(ws, [score(ws, 4, 0.5, 0.5)])
        assert codes(ws, 4) == ["quality.response_equals_prompt"]  # the import's issue stays


def test_a_more_specific_code_spares_the_record_answer_off_prompt(tmp_path: Path) -> None:
    # issue 12, seed-7 set: a stub (quality.placeholder_answer) or the prompt repeated
    # (quality.response_equals_prompt) already says the answer is no answer to its prompt; the
    # reviewer gets that one precise reason, not also the vaguer model signal
    src = tmp_path / "stubs.jsonl"
    answers = ["TODO", "question number 1?", "The capital of France is Paris."]
    src.write_text("".join(json.dumps({"messages": [{"role": "user", "content": f"Question number {i}?"},
                                                    {"role": "assistant", "content": a}]}) + "\n"
                           for i, a in enumerate(answers)), encoding="utf-8")
    with Workspace.open(tmp_path / "w.db", create=True) as ws:
        import_files(ws, [src])
        assert codes(ws, 1) == ["quality.placeholder_answer"]
        assert codes(ws, 2) == ["quality.response_equals_prompt"]
        store.save(ws, [score(ws, rid, 1.6, 0.5) for rid in (1, 2, 3)])
        assert codes(ws, 1) == ["quality.placeholder_answer"]
        assert codes(ws, 2) == ["quality.response_equals_prompt"]
        assert codes(ws, 3) == ["quality.answer_off_prompt"]  # an answer, just not to this prompt
    assert score_signals("TODO", 1.6, 3.2, 2.0, 0.5, other_codes={"quality.placeholder_answer"}) == []
    assert [c for c, _ in score_signals("TODO", 1.6, 3.2, 2.0, 0.5, other_codes={"quality.truncated_answer"})] == [
        "quality.answer_off_prompt"]  # a cut answer may also be another prompt's: both stay


def test_a_score_of_text_edited_since_writes_nothing_and_an_edit_drops_the_signals(tmp_path: Path) -> None:
    with Workspace.open(workspace(tmp_path)) as ws:
        old = score(ws, 2, 1.4, 1e-9)
        store.save(ws, [old])
        assert codes(ws, 2) == ["quality.answer_off_prompt", "quality.answer_cut_off"]
        ws.edit(2, {"messages": [{"role": "user", "content": "Question number 1?"},
                                 {"role": "assistant", "content": "Mix the flour with the water."}]})
        assert codes(ws, 2) == []  # the edit revalidated the record: the stale score's signals went
        store.save(ws, [old])  # a late batch for the old text
        assert codes(ws, 2) == []
        ws.undo()
        assert codes(ws, 2) == ["quality.answer_off_prompt", "quality.answer_cut_off"]


def test_reject_where_severity_warning_catches_them(tmp_path: Path) -> None:
    db = workspace(tmp_path)
    with Workspace.open(db) as ws:
        store.save(ws, [score(ws, 2, 0.5, 1e-8), score(ws, 1, 0.5, 0.5)])
    out = CliRunner().invoke(cli, ["reject", "-w", str(db), "--where", "severity=warning", "--reason", "cut"])
    assert out.exit_code == 0, out.output
    with Workspace.open(db) as ws:
        assert list(ws.select_ids(["status=rejected"])) == [2, 4]  # 4: its prompt repeated


def test_the_random_tiny_models_scores_raise_no_warnings(tmp_path: Path) -> None:
    # `--model tiny` is a pipeline check with random weights: the README tour scores with it,
    # and its numbers must not put a warning on every record
    with Workspace.open(workspace(tmp_path)) as ws:
        store.save(ws, [score(ws, 1, 1.25, 0.3)])
        assert codes(ws, 1) == ["quality.answer_off_prompt"]
        store.save(ws, [dataclasses.replace(score(ws, 1, 1.25, 0.3), model=store.NO_SIGNAL_MODEL)])
        assert codes(ws, 1) == []  # the tiny score replaced the real one, and its signals with it
        assert store.get(ws, 1) is not None


LOW = END_PROB_CUT_OFF / 10  # an end the model did not expect


def cut_off(answer: str) -> bool:
    return [c for c, _ in score_signals(answer, 0.5, 1.0, 2.0, LOW)] == ["quality.answer_cut_off"]


def test_a_list_whose_items_go_without_a_full_stop_ends_finished_on_its_last_item() -> None:
    # issue 12, held-out set: a finished itinerary the model found an unlikely end for
    days = "Day 1: Arrive in Tokyo and visit Shinjuku\nDay 2: Asakusa and Tokyo Skytree\n"
    assert ends_finished(days + "Day 3: Shopping in Ikebukuro and farewell dinner in Roppongi")
    assert not cut_off(days + "Day 3: Shopping in Ikebukuro and farewell dinner in Roppongi")
    assert not cut_off("Pack:\n- a warm coat\n- walking shoes\n- an umbrella")
    assert not cut_off("Steps:\n1) Preheat the oven\n2) Mix the dry ingredients\n3) Bake for 20 minutes")
    # a list cut mid-item, or on an empty item, is still cut off
    assert cut_off(days + "Day 3: Shopping in Ikebukuro and farewell dinner in the")
    assert cut_off("Responsibilities:\n- Developing new recipes \n- Preparing meals to the")
    assert cut_off("Responsibilities:\n- Developing new recipes \n- Preparing meals \n-")
    # an item of no earlier list, or after items that end with full stops, is not a finished end
    assert cut_off("Here is the plan.\n- Preparing meals to the highest")
    assert cut_off("Pack:\n- A warm coat.\n- Walking shoes.\n- An umbrella for the rain in")
    assert cut_off("Pack:\n1. A warm coat\n- An umbrella for the rain")


def test_a_working_that_ends_on_a_result_is_not_a_finished_end() -> None:
    # issue 12, fresh seed-5 set: a GSM8K working cut right after a result ("... = 41", before
    # "cookies.") scored 5.5e-9; the worked-sum rule let it through (measured on two fresh sets,
    # it cleared no clean row the 1e-7 threshold flags), so it is off: docs/score.md "A third set"
    assert cut_off("The first batch has 3 * 12 = 36 cookies.\nThey baked 5 + 36 = 41")
    assert cut_off("In one week, he bakes 3 * 12 = 36 apple")


def test_an_unexpected_end_above_one_in_ten_million_is_not_cut_off() -> None:
    # issue 12: the cut-off threshold is 1e-7 (declared before the seed-7 set, chosen on it:
    # docs/score.md "A third set"); the fresh sets' clean rows it spares scored 3.9e-7 ("Turtle")
    # and 8.7e-7, their truncated answers 2.8e-15 to 9.8e-8
    assert score_signals("Turtle", 0.5, 1.0, 2.0, 3.9e-7) == []
    assert score_signals("so it can reach", 0.5, 1.0, 2.0, 8.7e-7) == []
    assert [c for c, _ in score_signals("so it can reach", 0.5, 1.0, 2.0, 9.8e-8)] == ["quality.answer_cut_off"]


def test_the_worked_sum_shape_when_turned_on() -> None:
    # _equation_end stays for measurement (bench/_signal_rules.py R0, R2): a working of several
    # steps ending on its result; one line alone, or a working cut after its steps, is not
    from curator.quality.score_signals import _equation_end

    def finished(text: str) -> bool:
        return _equation_end([line for line in text.splitlines() if line.strip()])

    assert finished("The house cost 320,000*1.5=$480,000\nSo it is worth 480,000-320,000=$160,000 more "
                    "than other houses\nSo the profit is 160,000-100,000=$60,000 more")
    assert finished("There are 60/100*600 = 360 hybrid cars.\nOut of them 40/100*360 = 144 cars.\n"
                    "The hybrid cars with full headlights are 360-144=216")
    assert not finished("In one week, he bakes 3 * 12 = 36 apple")
    assert not finished("The 28 sweaters need 28 x 4 = 112 balls of yarn.\nSo, Chantal will spend 112 x $6 = "
                        "$672 in all for the")
    assert not finished("July was 6 / 2 = 3 years old when Hannah was 6.\nNow, July is 3")
    assert not finished("He has 2/5*200 = 80 homes left\nThe rest is 200-80 =")


def _as_scored_by_an_older_curator(ws: Workspace, rid: int, code: str) -> None:
    """What a workspace scored before the rules changed looks like: a signal today's rules would
    not raise, and no record of the rules it was written under."""
    from curator.workspace.meta import write_meta

    with ws._transaction() as tx:
        issue = {"code": code, "severity": "warning", "message_index": 1, "path": "/messages/1/content",
                 "message": "written under older rules", "hint": None}
        tx.write_issues(rid, [*tx.issues_of(rid), issue])
        write_meta(tx.conn, store.RULES_KEY, None)


def test_signals_written_under_older_rules_are_rewritten_from_the_stored_scores(tmp_path: Path) -> None:
    with Workspace.open(workspace(tmp_path)) as ws:
        # 5e-7: cut off under the 1e-6 rule of earlier versions, not under today's
        store.save(ws, [score(ws, 2, 0.6, 5e-7), score(ws, 1, 1.25, 0.3)])
        assert codes(ws, 2) == [] and codes(ws, 1) == ["quality.answer_off_prompt"]
        assert store.refresh_signals(ws) is None  # written under today's rules: nothing read
        _as_scored_by_an_older_curator(ws, 2, "quality.answer_cut_off")
        assert codes(ws, 2) == ["quality.answer_cut_off"]
        assert store.refresh_signals(ws) == 1  # record 2 changed; record 1's signal stands
        assert codes(ws, 2) == [] and codes(ws, 1) == ["quality.answer_off_prompt"]
        assert store.refresh_signals(ws) is None


def test_curator_score_rewrites_old_signals_even_with_nothing_to_score(tmp_path: Path) -> None:
    from curator.train.models import resolve_model

    db = workspace(tmp_path)
    spec = resolve_model(None).spec  # the default model's name: no model is loaded below
    with Workspace.open(db) as ws:
        store.save(ws, [dataclasses.replace(score(ws, rid, 0.6, 5e-7), model=spec) for rid in (1, 2, 3, 4)])
        _as_scored_by_an_older_curator(ws, 2, "quality.answer_cut_off")
    first = CliRunner().invoke(cli, ["score", "-w", str(db), "--json"])
    assert first.exit_code == 0, first.output
    out = json.loads(first.stdout)
    assert out["signals_rewritten"] == 1 and out["to_score"] == 0
    assert "signals rewritten" in first.stderr
    with Workspace.open(db) as ws:
        assert codes(ws, 2) == []
    again = CliRunner().invoke(cli, ["score", "-w", str(db), "--json"])
    assert json.loads(again.stdout)["signals_rewritten"] is None and "signals rewritten" not in again.stderr
