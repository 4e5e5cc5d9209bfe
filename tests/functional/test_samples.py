"""Every file in sample_data/ runs through the real CLI and gives the exit code and codes the
manifest (sample_data/expected.json) promises; a sample missing from the manifest fails."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from curator.cli import cli

SAMPLES = Path(__file__).resolve().parents[2] / "sample_data"
MANIFEST = json.loads((SAMPLES / "expected.json").read_text(encoding="utf-8"))
ENTRIES = {k: v for k, v in MANIFEST.items() if not k.startswith("_")}
NOT_SAMPLES = {"expected.json", "README.md"}


def test_every_sample_is_in_the_manifest() -> None:
    # `curator review sample_data/X` (the README's first command) leaves X.curator.db* beside X.
    on_disk = {p.name for p in SAMPLES.iterdir() if ".curator.db" not in p.name} - NOT_SAMPLES
    assert on_disk == set(ENTRIES), f"missing from manifest: {on_disk - set(ENTRIES)}; " \
                                    f"missing on disk: {set(ENTRIES) - on_disk}"


def test_every_sample_is_in_the_readme() -> None:
    readme = (SAMPLES / "README.md").read_text(encoding="utf-8")
    assert [n for n in ENTRIES if f"`{n}`" not in readme] == []


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_sample(name: str) -> None:
    spec = ENTRIES[name]
    result = CliRunner().invoke(cli, ["validate", str(SAMPLES / name), "--json", "--workers", "1", *spec["args"]])
    assert result.exit_code == spec["exit"], result.output
    report = json.loads(result.stdout)
    assert set(report["summary"]["counts"]) == set(spec["codes"])
    assert {i["code"] for i in report["issues"]} == set(spec["codes"])
