"""Every metric against its hand-checked case file in tests/metrics/ (the arithmetic is in the
files' comments), and a check that no registered metric lacks one."""

from __future__ import annotations

from pathlib import Path

import pytest

from slaengine.testing import assert_case, case_registry, evaluate_case, load_cases

CASE_DIR = Path(__file__).parent / "metrics"
CASE_FILES = sorted(CASE_DIR.glob("*.toml"))
CASES = [case for path in CASE_FILES for case in load_cases(path)]


@pytest.fixture(scope="module")
def registry():
    return case_registry()


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_metric_case(case, tmp_path, registry):
    assert_case(case, evaluate_case(case, tmp_path, registry))


def test_every_metric_has_a_case_file(registry):
    # The project's own metrics: a third-party one installed beside them brings its own tests.
    ours = {name for name in registry.metrics
            if registry.origin("metric", name).distribution == "slaengine"}
    assert len(ours) >= 27
    missing = sorted(ours - {path.stem for path in CASE_FILES})
    assert not missing, f"metrics without tests/metrics/NAME.toml: {missing}"


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_metric_case_read_one_row_per_batch(case, tmp_path, registry, monkeypatch):
    """The same verdicts when every record arrives in a batch of its own: a metric that
    summarises batch by batch, or a selection made per batch, must not depend on batching."""
    from slaengine.testing import CASE_ADAPTER

    # the installed csv source the case source reads through, one row per batch
    monkeypatch.setattr(registry.get("source", CASE_ADAPTER).csv, "batch_rows", 1)
    assert_case(case, evaluate_case(case, tmp_path, registry))
