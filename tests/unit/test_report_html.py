"""`curator report --html` (issue 13): one self-contained page, checked by its structure (parsed
with html.parser) and, where Chromium is installed, by rendering it headless."""

from __future__ import annotations

import math
import shutil
import struct
import subprocess
import zlib
from pathlib import Path
from typing import Any

import pytest
from html_helpers import Page

from curator.report import ClusterInfo, Details, Facts, IssueCode, TrainRun, assess
from curator.report_html import render
from curator.report_plots import log_histogram, smooth

HOSTILE = '</script><img src=x onerror=alert(1)>"\'&<b>'


def _facts(**kw: Any) -> Facts:
    base: dict[str, Any] = dict(
        total=120, rejected=10, accepted=100, pending=10, with_errors=0,
        split_counts={"train": 80, "validation": 15, "holdout": 15},
        dedup_run=True, duplicates_marked=6, exact_duplicates_included=0, leakage_pairs=0,
        tokens=[30 + 2 * i for i in range(110)], token_limit=65536, target="openai",
        labels={"bikes": {"train": 40, "validation": 8, "holdout": 7},
                "other": {"train": 40, "validation": 7, "holdout": 8},
                "review:high-loss": {"validation": 5}},
        baseline_loss=2.5, clusters=3,
    )
    base.update(kw)
    return Facts(**base)


def _run(text: str = "the answer") -> TrainRun:
    losses: list[float | None] = [3.0, 2.8, 2.9, 2.5, None, 2.2, 2.1, 2.0]
    gain = {"examples": 15, "tokens": 400, "mean_gain": 0.31, "ci_low": 0.2, "ci_high": 0.42,
            "min_gain_nats": 0.025, "outcome": "better", "baseline_loss": 2.5}
    report = {
        "verdict": "PASS", "reasons": [], "warnings": [f"loop in {text}"], "next_steps": [],
        "model": {"spec": text, "quant": "none", "device": "cpu"},
        "training": {"steps": 8, "batch_size": 4, "losses": losses,
                     "trend": {"fitted_start": 2.95, "fitted_end": 2.0}},
        "baseline": {s: {"loss": 2.5} for s in ("validation", "holdout")},
        "tuned": {s: {"loss": 2.19} for s in ("validation", "holdout")},
        "comparison": {"validation": gain, "holdout": dict(gain, ci_low=-0.05, outcome="no difference")},
        "generations": [{"source": "record 3", "prompt": text, "reference": text,
                         "before": f"before {text}", "after": f"after {text}",
                         "degenerate_before": None, "degenerate_after": f"repeats {text}"}],
    }
    queue = [{"rank": 1, "split": "validation", "record_id": 7, "loss": 4.5, "trained_tokens": 20,
              "example": {"messages": [{"role": "user", "content": f"question {text}"},
                                       {"role": "assistant", "content": f"answer {text}"}]}}]
    return TrainRun({"run_dir": f"/runs/{text}", "verdict": "PASS"}, report, None, queue, [7])


def _details(text: str = "msg", train: bool = True) -> Details:
    return Details(
        issue_codes=[IssueCode("quality.placeholder", "warning", 12, 3, [(4, f"placeholder {text}"),
                                                                          (9, "x")]),
                     IssueCode("chat.content_empty", "error", 2, 0, [(5, "empty")])],
        issue_records=13, cluster_sizes={2: 2, 4: 1},
        largest_clusters=[ClusterInfo(4, 4, [4, 34, 41, 42], [4]), ClusterInfo(5, 2, [5, 35], [5, 35])],
        train=_run(text) if train else None,
    )


def _page(facts: Facts | None = None, details: Details | None = None, title: str = "t") -> str:
    facts = facts or _facts()
    return render(assess(facts), facts, title, details if details is not None else _details())


SECTIONS = ["checklist", "tokens", "issues", "duplicates", "labels", "coverage", "training"]


def test_every_section_is_there_with_its_plot() -> None:
    page = Page(_page())
    assert [a["id"] for a in page.tags("section")] == SECTIONS
    assert [a["href"] for a in page.tags("a") if a["href"] in {f"#{s}" for s in SECTIONS}] == \
        [f"#{s}" for s in SECTIONS]
    assert len(page.tags("tr", "checklist")) == len(assess(_facts())) + 1
    assert page.tags("line", "tokens", "limit")
    # issues: the table links each code to its examples, which name the records
    links = [a["href"] for a in page.tags("a", "issues")]
    assert links == ["#issue-0", "#issue-1"] and page.tags("h3", "issues")[0]["id"] == "issue-0"
    assert "record 4: placeholder msg" in page.section_text("issues")
    dup = page.section_text("duplicates")
    assert "4, 34, 41, 42" in dup and "more than one" in dup  # cluster 5 exports two copies
    # training: raw and smoothed curves, the fitted line, the interval, generations, the queue
    assert page.tags("polyline", "training", "raw") and page.tags("polyline", "training", "smooth")
    assert page.tags("line", "training", "trend") and page.tags("line", "training", "ci")
    text = page.section_text("training")
    assert "[+0.2000, +0.4200]" in text and "after msg" in text and "answer msg" in text
    assert "PASS" in text and "repeats msg" in text


def test_the_raw_curve_breaks_at_a_missing_step() -> None:
    page = Page(_page())
    raw = page.tags("polyline", "training", "raw")
    assert [len(a["points"].split()) for a in raw] == [4, 3]  # steps 1-4 and 6-8; step 5 was NaN


def test_smoothing_is_a_debiased_moving_average() -> None:
    assert smooth([2.0, 2.0, 2.0]) == pytest.approx([2.0, 2.0, 2.0])  # no pull towards zero
    s = smooth([4.0, 0.0, None, 0.0])
    assert s[0] == pytest.approx(4.0) and s[2] is None
    assert s[0] > s[1] > s[3] > 0  # follows the data, lagging


def _ticks(svg: Page) -> dict[int, float]:
    return {int(a["data-value"]): float(a["x"]) for a in svg.tags("text", cls="xtick")}


@pytest.mark.parametrize(("tokens", "limit"), [
    ([30 + 2 * i for i in range(110)], 65536),  # issue 13: all in one bar on a linear axis
    ([5, 80, 700, 900], 4096),
    ([1, 1, 2], 8),
    ([0, 3_000_000], 128_000),
    ([500, 900], 8),  # a limit below every example is still on the axis
])
def test_the_limit_sits_at_its_place_on_the_log_axis(tokens: list[int], limit: int) -> None:
    page = Page(log_histogram(tokens, limit))
    ticks = _ticks(page)
    (line,) = page.tags("line", cls="limit")
    x = float(line["x1"])
    decade = 10 ** math.floor(math.log10(limit))
    x0, x1 = ticks[decade], ticks[decade * 10]
    assert x == pytest.approx(x0 + math.log10(limit / decade) * (x1 - x0), abs=0.15)
    assert int(line["data-value"]) == limit
    assert min(ticks.values()) <= x <= max(ticks.values())
    # the decades are evenly spaced (a log axis), and every example is in a bar
    gaps = [b - a for a, b in zip(sorted(ticks.values()), sorted(ticks.values())[1:], strict=False)]
    assert max(gaps) - min(gaps) < 0.2
    assert page.tags("rect", cls="bar")


def test_a_narrow_set_spreads_over_many_bars_not_one() -> None:
    """30 to 250 tokens under a 65,536 limit: the old linear axis put all 110 in one bar."""
    page = Page(log_histogram([30 + 2 * i for i in range(110)], 65536))
    assert len(page.tags("rect", cls="bar")) >= 8
    assert not page.tags("rect", cls="over")


def test_bars_past_the_limit_are_marked() -> None:
    page = Page(log_histogram([10, 20, 5000, 9000], 1000))
    assert len(page.tags("rect", cls="over")) == 2


def test_hostile_text_is_escaped_everywhere() -> None:
    facts = _facts(labels={HOSTILE: {"train": 3, HOSTILE: 1}, "review:" + HOSTILE: {"train": 1}},
                   split_counts={"train": 80, HOSTILE: 5}, target=HOSTILE)
    text = _page(facts, _details(HOSTILE), title=HOSTILE)
    page = Page(text)
    assert not page.tags("script") and not page.tags("img") and not page.tags("b")
    for _tag, attrs, _ in page.elements:
        assert not [k for k in attrs if k.startswith("on")]
    body = "".join("".join(v) for v in page.text.values())
    # the text comes through intact, as text: title, labels, messages, run, generations, queue
    assert body.count(HOSTILE) >= 12


def test_nothing_is_fetched_from_anywhere() -> None:
    text = _page()
    page = Page(text)
    for tag in ("script", "link", "img", "iframe", "object", "embed", "audio", "video", "source"):
        assert not page.tags(tag), tag
    for _tag, attrs, _ in page.elements:
        for key in ("href", "src", "xlink:href", "action", "data"):
            assert attrs.get(key, "#").startswith("#"), (key, attrs)
    assert "http" not in text.replace("http-equiv", "") and "//" not in text
    (csp,) = [a for a in page.tags("meta") if a.get("http-equiv") == "Content-Security-Policy"]
    assert "default-src 'none'" in csp["content"] and "script-src" not in csp["content"]


def test_sections_without_data_say_so_in_one_line() -> None:
    facts = _facts(tokens=[], dedup_run=False, clusters=0, labels={}, split_counts={},
                   baseline_loss=None)
    details = Details([], 0, {}, [], None)
    page = Page(_page(facts, details))
    for section in ("tokens", "issues", "duplicates", "training"):
        assert not page.tags("svg", section), section
        assert len(page.tags("p", section, "none")) == 1, section
    assert "No training run recorded" in page.section_text("training")
    assert "Dedup has not been run" in page.section_text("duplicates")


def test_curator_labels_are_shown_apart() -> None:
    page = Page(_page())
    text = page.section_text("labels")
    user, own = text.split("Labels curator adds itself")
    assert "bikes" in user and "review:high-loss" not in user and "review:high-loss" in own


def test_a_run_whose_report_is_gone_still_shows_what_meta_holds() -> None:
    last = {"run_dir": "/gone", "verdict": "FAIL", "reasons": ["stopped: loss exploded"],
            "baseline": {"validation": {"loss": 2.0}}, "tuned": {"validation": {"loss": 2.5}},
            "comparison": {"validation": {"mean_gain": -0.5, "ci_low": -0.7, "ci_high": -0.3,
                                          "outcome": "worse", "examples": 12, "tokens": 300}}}
    run = TrainRun(last, None, "/gone/report.json cannot be read (No such file)", [], [3, 8])
    page = Page(_page(details=Details([], 0, {}, [], run)))
    text = page.section_text("training")
    assert "FAIL" in text and "stopped: loss exploded" in text and "cannot be read" in text
    assert "[-0.7000, -0.3000]" in text and "3, 8" in text
    assert page.tags("circle", "training", "pt-worse")


def test_untrusted_report_shapes_do_not_break_the_page() -> None:
    run = _run()
    assert run.report is not None
    run.report.update(training={"losses": ["x", float("nan"), 1e309, True]}, comparison=[1],
                      generations=["not a dict", {"before": 3}], baseline=None, model="m")
    run.queue = [{"rank": "1", "example": {"messages": "nope"}}]
    page = Page(_page(details=Details([], 0, {}, [], run)))
    assert "No training step finished" in page.section_text("training")


# -- rendered by a real browser ------------------------------------------------------------------

def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _png_rows(path: Path) -> tuple[int, int, int]:
    """(width, height, distinct scanlines) of a PNG, read with the standard library: a blank
    page gives one or two distinct (filtered) scanlines, a drawn one hundreds."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width, height, channels = 8, bytearray(), 0, 0, 4
    while pos < len(data):
        (length,), kind = struct.unpack(">I", data[pos:pos + 4]), data[pos + 4:pos + 8]
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", chunk[:10])
            assert depth == 8
            channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw = zlib.decompress(bytes(idat))
    stride = 1 + width * channels
    assert len(raw) == stride * height
    return width, height, len({raw[i:i + stride] for i in range(0, len(raw), stride)})


def _screenshot(browser: str, page: Path, out: Path, profile: Path) -> None:
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    f"--user-data-dir={profile}", f"--screenshot={out}", "--window-size=1200,2000",
                    page.as_uri()], check=True, capture_output=True, timeout=180)


def test_chromium_renders_the_page(tmp_path: Path) -> None:
    browser = _chromium()
    if browser is None:
        pytest.skip("no Chromium on this machine (Debian: apt-get install chromium); "
                    "the render check needs a headless browser")
    page, blank = tmp_path / "report.html", tmp_path / "blank.html"
    page.write_text(_page(), encoding="utf-8")
    blank.write_text("<!doctype html><html><body></body></html>", encoding="utf-8")
    shots = {}
    for name, source in (("page", page), ("blank", blank)):
        out = tmp_path / f"{name}.png"
        _screenshot(browser, source, out, tmp_path / f"profile-{name}")
        shots[name] = _png_rows(out)
    assert shots["page"][:2] == (1200, 2000)
    assert shots["blank"][2] <= 3  # the measure sees a blank page as blank
    assert shots["page"][2] > 300  # text and plots all the way down
