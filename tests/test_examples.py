"""The example contracts: each evaluates on its bundled data, every row reconciles, and
together they use every built-in metric and penalty model."""

from pathlib import Path

import pytest

from slaengine.contract import load_contract
from slaengine.engine import evaluate
from slaengine.pluginmanager import build_registry

CONTRACTS = sorted((Path(__file__).parent.parent / "contracts").glob("*.toml"))


@pytest.fixture(scope="module")
def evaluations():
    registry = build_registry()
    return {path.name: evaluate(load_contract(path, registry), registry) for path in CONTRACTS}


def test_each_example_evaluates_and_reconciles(evaluations):
    assert len(evaluations) >= 4
    for name, evaluation in evaluations.items():
        assert evaluation.verdicts, name
        for account in evaluation.sources.values():
            assert account.reconciles, (name, account)
        statuses = {v.status for v in evaluation.verdicts}
        assert {"met", "breached"} <= statuses, f"{name} should show a mix of verdicts"
        assert evaluation.credits is not None, f"{name} carries no penalty model"


def test_the_examples_use_every_builtin_metric_and_penalty_model(evaluations):
    registry = build_registry()
    used = {v.metric for e in evaluations.values() for v in e.verdicts}
    models = {e.contract.penalties["model"] for e in evaluations.values()}
    builtin = {n for n in registry.names("metric")
               if registry.origin("metric", n).distribution == "slaengine"}
    assert builtin - used == set()
    assert models >= {"at-risk-pool", "tiered", "percent-of-fee"}
