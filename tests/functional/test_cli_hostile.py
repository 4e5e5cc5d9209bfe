"""Hostile input on the command line (issue 11, items 9, 10, 11, 17).

Record text, file names, labels and typed values with escape sequences are shown with their
control characters visible in every human-facing line (--json stays exact); numbers beyond
what exists or what 64 bits hold are a one-line error with exit 2 and nothing changed; an issue
code that does not exist is refused with a suggestion.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from tui_helpers import HOSTILE

from curator.cli import cli
from curator.workspace import Workspace

# What must never reach a terminal: ESC (CSI and OSC), BEL (ends an OSC), NUL, C1 CSI, a
# bidi override.
RAW = ("\x1b", "\x07", "\x00", "\x9b", "\u202e")
OSC_TITLE = "\x1b]0;owned\x07"
OSC_CLIPBOARD = "\x1b]52;c;ZXZpbA==\x07"
BIG = "99999999999999999999999"  # beyond 64 bits


def clean(text: str) -> bool:
    return not any(ch in text for ch in RAW)


def rows() -> list[dict[str, object]]:
    hostile = HOSTILE + OSC_CLIPBOARD + "\x9b31m"
    return [
        {"messages": [{"role": "user", "content": "q " + hostile},
                      {"role": "assistant", "content": "a " + hostile}]},
        {"messages": [{"role": "user", "content": "q " + hostile},
                      {"role": "assistant", "content": "a " + hostile}]},
        {"messages": [{"role": "user", "content": "plain question"},
                      {"role": "assistant", "content": "plain answer"}]},
    ]


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.chdir(tmp_path)
    src = Path(f"data{OSC_TITLE}[bold]x.jsonl")
    src.write_text("\n".join(json.dumps(r) for r in rows()) + "\n", encoding="utf-8")
    return {"CURATOR_WORKSPACE": str(tmp_path / "w.db"), "SRC": str(src)}


def run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    r = CliRunner(env={"CURATOR_WORKSPACE": env["CURATOR_WORKSPACE"]}).invoke(cli, list(args))
    return r.exit_code, r.stdout, r.stderr


def journal_size(env: dict[str, str]) -> int:
    with Workspace.open(env["CURATOR_WORKSPACE"]) as ws:
        return len(ws.log(None))


# --- item 9: escape sequences never reach the terminal ---------------------------------------


def test_every_human_facing_output_shows_control_characters(env: dict[str, str]) -> None:
    label = f"tag{OSC_CLIPBOARD}"
    outputs: list[tuple[str, int, str, str]] = []

    def step(*args: str) -> tuple[int, str, str]:
        code, out, err = run(env, *args)
        outputs.append((" ".join(args[:1]), code, out, err))
        return code, out, err

    step("import", env["SRC"])
    step("labels", "--add", label)
    step("labels")
    step("label", "1", "--add", label)
    step("note", "1", "note " + HOSTILE)
    step("reject", "2", "--reason", "why " + OSC_TITLE)
    step("ls")
    code, shown, _ = step("show", "1")
    step("log")
    step("dedup", "--dry-run")
    step("undo")
    step("redo")
    step("split", "--force")
    step("ls", "--where", f"label={OSC_TITLE}")
    step("validate", env["SRC"])
    step("stats", env["SRC"])
    step("convert", env["SRC"], "--to", "chat", "-o", "out.jsonl")
    for name, code, out, err in outputs:
        assert code in (0, 1, 2), (name, out, err)
        assert clean(out) and clean(err), (name, out, err)
    # shown, not dropped: each control character as its visible picture
    assert "␛]0;owned␇" in shown and "␛]52;c;ZXZpbA==␇" in shown and "<U+202E>" in shown
    assert "[bold]red[/]" in shown and "note [bold]red[/]" in shown


def test_json_output_stays_exact(env: dict[str, str]) -> None:
    run(env, "import", env["SRC"])
    code, out, _ = run(env, "show", "1", "--json")
    assert code == 0
    record = json.loads(out)
    assert record["source_file"] == env["SRC"]
    example = record["canonical"]
    assert example["messages"][1]["content"] == "a " + HOSTILE + OSC_CLIPBOARD + "\x9b31m"
    code, out, _ = run(env, "ls", "--json")
    assert code == 0 and json.loads(out.splitlines()[0])["preview"].startswith("q [bold]red[/]")


def test_stats_prints_file_names_literally(env: dict[str, str]) -> None:
    code, out, err = run(env, "stats", env["SRC"])
    assert code == 0, err
    assert clean(out)
    assert "data␛]0;owned␇[bold]x.jsonl" in out  # the markup is text, not bold


def test_usage_errors_show_what_was_typed_visibly(env: dict[str, str]) -> None:
    run(env, "import", env["SRC"])
    for args in (("show", f"1{OSC_TITLE}"), ("ls", f"--limit={OSC_TITLE}"),
                 ("accept", f"1{OSC_TITLE}"), (f"ls{OSC_TITLE}",),
                 ("ls", "--where", f"bogus{OSC_TITLE}=1"), ("ls", f"--x{OSC_TITLE}"),
                 ("convert", f"missing{OSC_TITLE}.jsonl", "--to", "chat", "-o", "o.jsonl"),
                 ("import", f"missing{OSC_TITLE}.jsonl")):
        code, out, err = run(env, *args)
        assert code == 2, (args, out, err)
        assert clean(out) and clean(err), (args, err)


# --- item 10: ids and sizes bounded by what exists -------------------------------------------


def _limited_memory() -> None:
    limit = 2 << 30  # 2 GiB of address space: a range expanded in memory fails long before
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_AS is a Linux limit")
def test_id_range_beyond_the_last_record_is_refused_at_once(env: dict[str, str]) -> None:
    assert run(env, "import", env["SRC"])[0] == 0
    before = journal_size(env)
    for args in (["accept", "1-999999999"], ["label", "2-999999999", "--add", "x"],
                 ["reject", "3", "1-999999999"]):
        if args[0] == "label":
            run(env, "labels", "--add", "x")
            before = journal_size(env)
        # In a process that cannot grow past 2 GiB: the old code built a list of a billion
        # ids (19 GB) before looking at any of them.
        proc = subprocess.run(
            [sys.executable, "-c", "from curator.cli import main; main()", *args],
            env={**os.environ, "CURATOR_WORKSPACE": env["CURATOR_WORKSPACE"]},
            capture_output=True, text=True, timeout=120, preexec_fn=_limited_memory)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.startswith("error: no record with id 999999999")
        assert "last record is 3" in proc.stderr and "Traceback" not in proc.stderr
        assert journal_size(env) == before
    with Workspace.open(env["CURATOR_WORKSPACE"]) as ws:
        assert ws.status_counts().get("pending") == 3


def test_id_ranges_still_select_what_they_name(env: dict[str, str]) -> None:
    run(env, "import", env["SRC"])
    code, out, _ = run(env, "accept", "1-2,3", "2")
    assert code == 0 and "3 of 3 selected" in out
    run(env, "labels", "--add", "x")
    code, out, _ = run(env, "label", "1-3", "--add", "x", "--remove", "x")  # iterated twice
    assert code == 0 and out.count("of 3") == 2
    for bad in ("3-1", "0", "1-", "x", ","):
        code, _, err = run(env, "reject", bad)
        assert code == 2 and "Invalid value for IDS" in err, (bad, err)


def _commands() -> list[tuple[str, click.Command]]:
    return sorted(cli.commands.items())


def test_every_numeric_option_has_both_bounds() -> None:
    """Checked on the declarations, not by running: on code without the bounds a run with
    `--workers 100000` would start a hundred thousand processes."""
    unbounded = []
    for name, command in _commands():
        for param in command.params:
            kind = param.type
            if isinstance(kind, (click.IntRange, click.FloatRange)):
                if kind.min is None or kind.max is None:
                    unbounded.append(f"{name} {param.name}")
            elif isinstance(kind, (click.types.IntParamType, click.types.FloatParamType)):
                unbounded.append(f"{name} {param.name}")
    assert unbounded == []
    workers = [p.type for _, c in _commands() for p in c.params if p.name == "workers"]
    assert len(workers) >= 4 and all(w.max <= 256 for w in workers)  # type: ignore[attr-defined]


@pytest.mark.parametrize("args", [
    ["dedup", "--num-perm", "10000000"],
    ["dedup", "--num-perm", "100"],  # not a power of two: the kernels need one
    ["import", "{SRC}", "--max-tokens", "100000000000"],
    ["validate", "{SRC}", "--max-tokens", BIG],
    ["stats", "{SRC}", "--max-tokens", BIG],
    ["ls", "--limit", BIG],
    ["log", "--limit", BIG],
    ["undo", "-n", BIG],
])
def test_numeric_options_refuse_values_out_of_bounds(env: dict[str, str],
                                                     args: list[str]) -> None:
    run(env, "import", env["SRC"])
    before = journal_size(env)
    code, out, err = run(env, *[a.replace("{SRC}", env["SRC"]) for a in args])
    assert code == 2 and "Invalid value for" in err, (out, err)
    assert journal_size(env) == before


# --- item 11: numbers beyond 64 bits -----------------------------------------------------------


@pytest.mark.parametrize("args", [
    ["ls", "--where", f"tokens>{BIG}"],
    ["ls", "--where", f"id<=-{BIG}"],
    ["ls", "--where", f"cluster={BIG}"],
    ["accept", "--where", f"tokens>{BIG}"],
    ["accept", BIG],
    ["accept", f"1-{BIG}"],
    ["show", BIG],
    ["note", BIG, "x"],
    ["split", "--seed", BIG],
    ["dedup", "--keeper", BIG],
    ["dedup", "--keeper", f"1,{BIG}"],
])
def test_numbers_beyond_64_bits_are_a_one_line_error(env: dict[str, str],
                                                     args: list[str]) -> None:
    run(env, "import", env["SRC"])
    before = journal_size(env)
    r = CliRunner(env={"CURATOR_WORKSPACE": env["CURATOR_WORKSPACE"]}).invoke(cli, args)
    assert r.exit_code == 2, (r.output, r.exception)
    assert r.exception is None or isinstance(r.exception, SystemExit)  # no traceback
    assert "error" in r.stderr.lower() and BIG in r.stderr
    assert journal_size(env) == before


# --- item 17: issue codes that do not exist ----------------------------------------------------


def test_unknown_codes_formats_labels_splits_are_refused_with_a_suggestion(env: dict[str, str]) -> None:
    run(env, "import", env["SRC"])
    code, _, err = run(env, "ls", "--where", "issue=chat.empty_content")
    assert code == 2 and "no such issue code 'chat.empty_content'" in err
    assert "did you mean chat.content_empty" in err
    code, _, err = run(env, "accept", "--where", "issue=qualty.*")
    assert code == 2 and "did you mean quality.*" in err
    code, _, err = run(env, "ls", "--where", "format=openai_chat")
    assert code == 2 and "did you mean openai-chat" in err
    # labels and splits: the workspace's own sets
    run(env, "labels", "--add", "refund")
    code, _, err = run(env, "ls", "--where", "label=refnud")
    assert code == 2 and "no label 'refnud'" in err and "did you mean refund" in err
    code, _, err = run(env, "accept", "--where", "split=valdation")
    assert code == 2 and "did you mean validation" in err
    code, _, err = run(env, "label", "1", "--add", "refund", "--where", "label!=refnud")
    assert code == 2 and "no label 'refnud'" in err
    assert run(env, "ls", "--where", "label!=refund", "--where", "split=none")[0] == 0
    # codes that exist still filter, prefixes too
    code, out, _ = run(env, "ls", "--where", "issue=quality.control_chars")
    assert code == 0 and len(out.splitlines()) == 2
    code, out, _ = run(env, "ls", "--where", "issue=quality.*", "--where", "format=openai-chat")
    assert code == 0 and len(out.splitlines()) == 2


def test_safe_group_shows_control_characters_in_usage_errors() -> None:
    """click quotes the values it repeats today; the group makes sure no message a command
    raises (ours or a future click's) carries a raw escape to the terminal."""
    from curator.cli.output import SafeGroup

    @click.group(cls=SafeGroup)
    def group() -> None:
        pass

    @group.command()
    @click.argument("value")
    def echo_back(value: str) -> None:
        raise click.BadParameter(f"{value} is wrong")

    r = CliRunner().invoke(group, ["echo-back", f"x{OSC_TITLE}"])
    assert r.exit_code == 2 and clean(r.output) and "x␛]0;owned␇ is wrong" in r.output
    r = CliRunner().invoke(group, [f"nope{OSC_TITLE}"])
    assert r.exit_code == 2 and clean(r.output)
