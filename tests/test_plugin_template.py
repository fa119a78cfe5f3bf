"""The plugin template in examples/plugin-template works as shipped: its metric registers
beside the built-ins and its own case-file test passes."""

import sys
from pathlib import Path

import pytest

from slaengine.testing import assert_case, case_registry, evaluate_case, load_cases

TEMPLATE = Path(__file__).parent.parent / "examples" / "plugin-template"


@pytest.fixture(scope="module")
def plugin():
    sys.path.insert(0, str(TEMPLATE / "src"))
    try:
        import slaengine_weekend

        yield slaengine_weekend
    finally:
        sys.path.remove(str(TEMPLATE / "src"))


@pytest.mark.parametrize("case", load_cases(TEMPLATE / "tests" / "weekend_share.toml"),
                         ids=lambda c: c["name"])
def test_template_metric_case(plugin, case, tmp_path):
    assert_case(case, evaluate_case(case, tmp_path, case_registry([plugin])))


def test_template_declares_its_entry_point():
    text = (TEMPLATE / "pyproject.toml").read_text()
    assert '[project.entry-points.slaengine]\nmetric-weekend-share = "slaengine_weekend"' in text
