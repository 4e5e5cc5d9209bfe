"""Run `curator validate` over every data file in ../shared/data and write docs/shared-data-check.md.

The shared folder holds real public fine-tuning data that the project may not ship, so the test
suite never reads it; this script is how we try curator on it and keep the results in view.

    python scripts/check_shared_data.py                    # ../shared/data, target openai
    python scripts/check_shared_data.py DIR --target lf --out docs/shared-data-check.md
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from curator.validate.engine import FileReport, validate_file  # noqa: E402

DATA_SUFFIXES = (".jsonl", ".json", ".csv", ".parquet")

#: What a reader should know about each file's verdict: whether the codes are the right ones.
NOTES = {
    "openai_toy_chat.jsonl": "Right: 5 rows are below OpenAI's minimum of 10 (`dataset.too_few_examples`); "
    "row 4 has no user turn.",
    "alpaca_5000.json": "Right: Alpaca needs conversion for OpenAI; after conversion two rows have an empty "
    "answer (`chat.content_empty`), `<No Input>`-style placeholders are found, plus a few e-mail/phone "
    "strings in answers.",
    "alpaca_seed_tasks.jsonl": "Right: the seed tasks (`instruction` + `instances`) are generation prompts, "
    "not a training format, so every row is `format.undetected`.",
    "dolly_so3_prompt_completion.jsonl": "Right: three lines hold `\\ ` escapes that no JSON parser accepts "
    "(`json.invalid`, checked with Python's json too); every other row is counted. The AWS-key-shaped "
    "string is a documentation example key (`quality.pii.secret`).",
    "gpteacher_roleplay.json": "Right: Alpaca needs conversion; a few answers hold literal `\\n` and "
    "`Assistant:` markers.",
    "gpteacher_toolformer.json": "Right: Alpaca needs conversion; one row has an extra `example_input` key "
    "that chat cannot hold (`convert.lossy`).",
    "gsm8k_train_alpaca.json": "Right: Alpaca needs conversion; otherwise clean.",
    "llamafactory_alpaca_en_demo.json": "Right: Alpaca needs conversion; exact duplicates, refusal "
    "boilerplate and `noinput` placeholders are real.",
    "llamafactory_dataset_info.json": "Right: this is LLaMA-Factory's dataset registry, not data "
    "(`format.undetected`).",
    "llamafactory_dpo_en_demo.json": "Right: ShareGPT ranking rows are checked by the preference rules "
    "after conversion to OpenAI's DPO layout; mojibake and control characters in some rows are real.",
    "llamafactory_glaive_toolcall_en_demo.json": "Right: ShareGPT with function_call/observation turns "
    "converts to chat with tool calls; duplicates and refusals are real.",
    "llamafactory_identity.json": "Right: the `{{name}}` / `{{author}}` placeholders are meant to be "
    "filled in before training (`quality.placeholder`).",
    "llamafactory_v1_sft_demo.jsonl": "Right: LLaMA-Factory v1 rows (typed parts, `loss_weight`) convert to "
    "chat; `{{name}}` placeholders are real.",
}


def data_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir()
                  if p.is_dir() or (p.is_file() and p.suffix.lower() in DATA_SUFFIXES))


def _codes(rep: FileReport, severity: str) -> str:
    by_code: dict[str, int] = {}
    for issue in rep.issues:
        if issue.severity == severity:
            by_code[issue.code] = 0
    for code in by_code:
        by_code[code] = rep.counts[code]
    return ", ".join(f"`{c}` {n:,}" for c, n in sorted(by_code.items(), key=lambda kv: -kv[1])) or "-"


def render(reports: list[tuple[Path, FileReport, float]], folder: Path, target: str) -> str:
    out = [
        "# Shared data check",
        "",
        f"`curator validate --target {target}` over every data file in `{folder.name}/` "
        "(../shared/data: public data the project does not ship; tests never read it).",
        "Written by `python scripts/check_shared_data.py`; rerun it after changing a rule.",
        "",
        "| file | kind | detected format | rows | rejected | errors by code | warnings by code | s |",
        "| --- | --- | --- | ---: | ---: | --- | --- | ---: |",
    ]
    for path, rep, secs in reports:
        formats = ", ".join(f"{f} {n:,}" for f, n in rep.formats.most_common()) or "-"
        out.append(f"| {path.name} | {rep.kind} | {formats} | {rep.examples:,} | {rep.rejected:,} | "
                   f"{_codes(rep, 'error')} | {_codes(rep, 'warning')} | {secs:.1f} |")
    out += ["", "## Are these the right verdicts?", ""]
    for path, _, _ in reports:
        note = NOTES.get(path.name, "Not reviewed yet.")
        out.append(f"- **{path.name}**: {note}")
    out += ["", "`format.needs_conversion` marks every row of a format the target does not read as it is "
            "(Alpaca, ShareGPT, LLaMA-Factory layouts for `openai`): such rows are converted to chat and "
            "checked in that form, so the other codes are real findings; `curator convert FILE --to chat` "
            "writes the converted file.", ""]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", nargs="?", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--target", default="openai")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "shared-data-check.md")
    args = parser.parse_args(argv)
    folder: Path = args.folder
    if not folder.is_dir():
        print(f"error: {folder} is not a folder (pass the shared data folder)", file=sys.stderr)
        return 2
    reports = []
    for path in data_files(folder):
        t0 = time.perf_counter()
        rep = validate_file(path, args.target, workers=1, max_issues_per_code=50)
        secs = time.perf_counter() - t0
        reports.append((path, rep, secs))
        print(f"{path.name}: {rep.examples} rows, {rep.errors} errors, {rep.warnings} warnings ({secs:.1f}s)",
              file=sys.stderr)
    args.out.write_text(render(reports, folder, args.target), encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
