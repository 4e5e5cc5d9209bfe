from curator.report import Facts, assess, to_html, to_json, verdict


def _facts(**kw: object) -> Facts:
    base = dict(
        total=200, rejected=20, accepted=180, pending=0, with_errors=0,
        split_counts={"train": 144, "validation": 18, "holdout": 18},
        dedup_run=True, duplicates_marked=20, exact_duplicates_included=0, leakage_pairs=0,
        tokens=[100] * 180, token_limit=4096, target="openai",
        labels={"a": {"train": 70, "validation": 9, "holdout": 9},
                "b": {"train": 74, "validation": 9, "holdout": 9}},
        baseline_loss=2.5,
    )
    base.update(kw)
    return Facts(**base)  # type: ignore[arg-type]


def _status(checks: list, name: str) -> str:
    return next(c.status for c in checks if c.name.startswith(name))


def test_a_ready_set_passes_every_line() -> None:
    checks = assess(_facts())
    assert [c.status for c in checks] == ["pass"] * len(checks)
    assert verdict(checks) == "pass"


def test_each_problem_fails_or_warns_its_own_line() -> None:
    assert _status(assess(_facts(split_counts={"train": 5, "validation": 1, "holdout": 1})), "enough") == "fail"
    assert _status(assess(_facts(split_counts={"train": 30, "validation": 5, "holdout": 5})), "enough") == "warn"
    assert _status(assess(_facts(with_errors=3)), "format") == "fail"
    assert _status(assess(_facts(accepted=100, pending=80)), "records reviewed") == "warn"
    assert _status(assess(_facts(dedup_run=False)), "duplicates") == "warn"
    assert _status(assess(_facts(exact_duplicates_included=2)), "duplicates") == "fail"
    assert _status(assess(_facts(leakage_pairs=1)), "holdout") == "fail"
    assert _status(assess(_facts(split_counts={})), "holdout") == "fail"
    assert _status(assess(_facts(tokens=[10, 5000])), "length") == "warn"
    missing = _facts(labels={"a": {"train": 5}, "b": {"train": 5, "validation": 1, "holdout": 1}})
    assert _status(assess(missing), "label") == "fail"
    assert _status(assess(_facts(baseline_loss=None)), "baseline") == "warn"


def test_json_and_html_carry_the_numbers() -> None:
    facts = _facts(tokens=[10, 5000])
    checks = assess(facts)
    data = to_json(checks)
    assert data["verdict"] == "warn"
    length = next(c for c in data["checks"] if c["name"] == "length within limit")
    assert length["numbers"]["over_limit"] == 1
    page = to_html(checks, facts, "<script>x</script>")
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "limit 4096" in page
