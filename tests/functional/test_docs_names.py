"""What the help texts and the docs name exists: every issue code (curator/validate/codes.py)
and every option of a `curator COMMAND --option` example (issue 11, item 17: `ls --help` named
`issue=chat.empty_content`, docs/export.md named `split --names`; neither existed)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from curator.cli import cli, load_all_commands
from curator.validate.codes import CODES

load_all_commands()  # commands register on first use; these tests read cli.commands
ROOT = Path(__file__).resolve().parents[2]
DOCS = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md", ROOT / "DEVELOPERS.md"]
# `family.name` of a code family; file names (chat.jsonl) and Python (json.loads) are not codes.
FAMILIES = sorted({code.split(".")[0] for code in CODES})
CODE_LIKE = re.compile(r"(?<![\w./-])(?:" + "|".join(map(re.escape, FAMILIES))
                       + r")\.[a-z][a-z0-9_]*\b(?![./-]\w)")
NOT_CODES = {"jsonl", "json", "loads", "dumps", "md", "py", "db", "txt", "html", "parquet"}


def help_texts() -> dict[str, str]:
    runner = CliRunner()
    texts = {"curator --help": runner.invoke(cli, ["--help"], terminal_width=200).output}
    for name in sorted(cli.commands):
        r = runner.invoke(cli, [name, "--help"], terminal_width=200)
        assert r.exit_code == 0, r.output
        texts[f"curator {name} --help"] = r.output
    return texts


def all_texts() -> dict[str, str]:
    texts = help_texts()
    texts.update({str(p.relative_to(ROOT)): p.read_text(encoding="utf-8") for p in DOCS})
    return texts


def test_code_pattern_finds_codes() -> None:
    found = CODE_LIKE.findall("see issue=chat.empty_content, `quality.mojibake` and chat.jsonl")
    assert found == ["chat.empty_content", "quality.mojibake", "chat.jsonl"]


def test_every_issue_code_named_in_help_and_docs_exists() -> None:
    missing = sorted(
        f"{where}: {code}" for where, text in all_texts().items()
        for code in CODE_LIKE.findall(text)
        if code not in CODES and code.split(".", 1)[1] not in NOT_CODES)
    assert missing == []


FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.M | re.S)
SPAN = re.compile(r"`([^`\n]*)`")


def commands_shown(doc: Path) -> list[str]:
    """Inline code spans, and the lines of fenced code blocks."""
    text = doc.read_text(encoding="utf-8")
    lines = [line.strip() for block in FENCE.findall(text) for line in block.splitlines()]
    return lines + SPAN.findall(FENCE.sub("", text))


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_option_in_a_documented_command_exists(doc: Path) -> None:
    wrong = []
    for text in commands_shown(doc):
        for cm in re.finditer(r"\bcurator ([a-z][a-z-]*)([^|;&`]*)", text):
            command = cli.commands.get(cm.group(1))
            if command is None:
                if text.startswith("curator "):
                    wrong.append(f"no command: {text}")
                continue
            known = {o for p in command.params for o in (*p.opts, *p.secondary_opts)}
            known |= {"--help", "-h"}
            for option in re.findall(r"(?<![\w-])(--?[a-zA-Z][\w-]*)", cm.group(2)):
                if option not in known:
                    wrong.append(f"curator {cm.group(1)} has no {option}: {text}")
    assert wrong == []


def test_the_docs_scan_sees_the_commands() -> None:
    shown = [t for doc in DOCS for t in commands_shown(doc) if re.search(r"\bcurator [a-z]", t)]
    assert len(shown) > 30 and any("curator export" in t for t in shown)


def test_every_test_named_in_the_reliability_promises_exists() -> None:
    """docs/reliability.md says which test holds each promise: each named test must exist, so a
    renamed or deleted test cannot leave a promise that nothing holds."""
    text = (ROOT / "docs" / "reliability.md").read_text(encoding="utf-8")
    named: list[tuple[str, str | None]] = []
    current = ""
    for ref in re.findall(r"`([^`]+)`", text):
        m = re.fullmatch(r"(tests/[\w/]+\.py)(?:::(\w+))?", ref)
        if m:
            current = m.group(1)
            named.append((current, m.group(2)))
        elif re.fullmatch(r"::\w+", ref) and current:
            named.append((current, ref[2:]))
    assert len(named) > 50
    missing = []
    for path, name in named:
        file = ROOT / path
        if not file.is_file():
            missing.append(path)
        elif name and not re.search(rf"^(async )?def {name}\(", file.read_text(encoding="utf-8"),
                                    re.M):
            missing.append(f"{path}::{name}")
    assert not missing, missing
