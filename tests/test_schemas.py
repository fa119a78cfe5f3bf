"""JSON Schemas of the contract and the report: valid, generated from the checker's own schemas,
and satisfied by every example contract and every example report."""

import datetime
import json
import tomllib
import types
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from slaengine.cli import main
from slaengine.contract import parse_contract
from slaengine.errors import ContractError
from slaengine.jsonschema import REPORT_SCHEMA_VERSION, contract_schema, report_schema
from slaengine.plugin import Metric
from slaengine.pluginmanager import build_registry

ROOT = Path(__file__).parent.parent
CONTRACTS = [*sorted((ROOT / "contracts").glob("*.toml")), ROOT / "tests" / "data" / "small.toml"]
REGISTRY = build_registry()
CONTRACT_SCHEMA = contract_schema(REGISTRY)


def plain(value):
    """A TOML document as JSON sees it: dates and times as ISO strings (as Taplo compares)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return value


def errors(schema, document):
    validator = jsonschema.Draft202012Validator(schema,
                                                format_checker=jsonschema.FormatChecker())
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


def test_both_schemas_are_valid_draft_2020_12():
    for schema in (CONTRACT_SCHEMA, report_schema()):
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


@pytest.mark.parametrize("path", CONTRACTS, ids=lambda p: p.name)
def test_every_example_contract_satisfies_the_contract_schema(path):
    assert errors(CONTRACT_SCHEMA, plain(tomllib.loads(path.read_text()))) == []


@pytest.mark.parametrize("path", CONTRACTS, ids=lambda p: p.name)
def test_every_example_report_satisfies_the_report_schema(path, tmp_path):
    out = tmp_path / "report.json"
    result = CliRunner().invoke(main, ["evaluate", str(path), "-o", str(out)])
    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text())
    assert document["schema_version"] == REPORT_SCHEMA_VERSION
    assert errors(report_schema(), document) == []


SMALL = (ROOT / "tests" / "data" / "small.toml").read_text()
BAD = {
    "unknown top-level key": SMALL + '\n[extra]\nx = 1\n',
    "unknown contract key": SMALL.replace('id = "small"', 'id = "small"\nclinet = "x"'),
    "id not a name": SMALL.replace('id = "small"', 'id = "small contract"'),
    "period not accepted": SMALL.replace('period = "month"', 'period = "fortnight"'),
    "unknown source key": SMALL.replace('adapter = "csv"', 'adapter = "csv"\ndelimeter = ";"'),
    "unknown adapter": SMALL.replace('adapter = "csv"', 'adapter = "cvs"'),
    "unknown metric": SMALL.replace('metric = "first_response_time"',
                                    'metric = "first_reponse_time"', 1),
    "min_sample as text": SMALL.replace('target = "75% within 1h"',
                                        'target = "75% within 1h"\nmin_sample = "30"'),
    "min_sample zero": SMALL.replace('target = "75% within 1h"',
                                     'target = "75% within 1h"\nmin_sample = 0'),
    "option the metric lacks": SMALL.replace('target = "75% within 1h"',
                                             'target = "75% within 1h"\noptions = { within = 2 }'),
    "no service levels": SMALL.split("[[service_levels]]")[0],
    "penalty key of another model": SMALL + '\n[penalties]\nmodel = "fixed"\nbands = []\n',
    "penalty model unknown": SMALL + '\n[penalties]\nmodel = "fxed"\n',
    "decimals out of range": SMALL + '\n[penalties]\nmodel = "fixed"\ndecimals = 9\n',
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_what_the_checker_refuses_the_schema_refuses(name):
    text = BAD[name]
    with pytest.raises(ContractError):
        parse_contract(text, registry=REGISTRY)
    assert errors(CONTRACT_SCHEMA, plain(tomllib.loads(text))), name


def test_metric_options_come_from_the_metrics_own_schema():
    class Windowed(Metric):
        """A metric with one option of its own."""

        name = "windowed"
        unit = "count"
        better = "lower"
        default_statistic = "mean"
        schema = {"window": {"type": "integer", "min": 1, "default": 3}}

    from slaengine import hookimpl

    plugin = types.ModuleType("windowed_plugin")
    plugin.register_metrics = hookimpl(lambda: [Windowed()])
    schema = contract_schema(build_registry([plugin]))
    level = schema["properties"]["service_levels"]["items"]
    assert "windowed" in level["properties"]["metric"]["anyOf"][0]["enum"]
    (rule,) = [r["then"] for r in level["allOf"] if r["if"]["properties"]["metric"]["const"]
               == "windowed"]
    assert rule == {"properties": {"options": {
        "type": "object", "additionalProperties": False,
        "properties": {"window": {"type": "integer", "minimum": 1, "default": 3}}}}}


def test_schema_commands_print_the_schemas():
    contract = CliRunner().invoke(main, ["schema", "contract"])
    report = CliRunner().invoke(main, ["schema", "report"])
    assert contract.exit_code == report.exit_code == 0
    assert json.loads(contract.output) == json.loads(json.dumps(CONTRACT_SCHEMA))
    assert json.loads(report.output) == report_schema()


def test_a_report_missing_a_key_or_with_a_wrong_status_is_refused(tmp_path):
    out = tmp_path / "report.json"
    assert CliRunner().invoke(main, ["evaluate", str(CONTRACTS[-1]), "-o", str(out)]).exit_code == 0
    document = json.loads(out.read_text())
    del document["summary"]
    assert errors(report_schema(), document)
    document = json.loads(out.read_text())
    document["verdicts"][0]["status"] = "fine"
    assert errors(report_schema(), document)
