"""The plugin's tests, run with the same case-file helpers as slaengine's own metrics.

The plugin is registered in the test (no install needed); once installed through its entry
point, ``case_registry()`` alone finds it.
"""

from pathlib import Path

import pytest
import slaengine_weekend

from slaengine.testing import assert_case, case_registry, evaluate_case, load_cases

CASES = Path(__file__).parent / "weekend_share.toml"


@pytest.mark.parametrize("case", load_cases(CASES), ids=lambda c: c["name"])
def test_weekend_share(case, tmp_path):
    registry = case_registry([slaengine_weekend])
    assert_case(case, evaluate_case(case, tmp_path, registry))
