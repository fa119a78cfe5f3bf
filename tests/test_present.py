"""slaengine.present: the JSON shape and the reporters' shared text, read from typed results."""

import ast
import csv
import io
import json
from dataclasses import replace
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from slaengine.contract import load_contract
from slaengine.engine import evaluate
from slaengine.plugins.reporters.csv import CsvReporter
from slaengine.plugins.reporters.json import JsonReporter
from slaengine.present import evaluation_to_dict, figure, format_money, number

ROOT = Path(__file__).parent.parent
DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def small():
    return evaluate(load_contract(DATA / "small.toml"))


@pytest.mark.parametrize(("amount", "currency", "shown"), [
    ("12500.00", None, "12,500.00"),
    ("12500.00", "EUR", "12,500.00 EUR"),
    ("0.5", "USD", "0.5 USD"),  # the decimals the amount has, none added or dropped
    ("1000000", None, "1,000,000"),
    ("-1234.567", "BHD", "-1,234.567 BHD"),  # a three-decimal currency, a negative line
    ("999999999999999.99", None, "999,999,999,999,999.99"),  # past a float's 15-16 digits
])
def test_format_money_keeps_every_decimal(amount, currency, shown):
    assert format_money(Decimal(amount), currency) == shown


def test_figures_are_written_as_the_json_report_carries_them():
    assert figure(Decimal("1250.50")) == "1250.50"  # money: exact text, trailing zero kept
    assert figure(0.25) == 0.25 and figure(None) is None
    assert number(Fraction(5, 6)) == 5 / 6  # the float nearest the exact compliance
    assert number(Fraction(9, 10)) == 0.9 and number(None) is None


def test_money_values_reach_json_and_csv_as_exact_text(small):
    """A money-valued verdict (a period statistic over amounts) is a Decimal; the JSON and the
    CSV report write its exact text, never a float's (0.1 + 0.2 would show its binary noise)."""
    verdict = replace(small.verdicts[0], value=Decimal("0.30"), unit="money")
    evaluation = replace(small, verdicts=[verdict])
    document = evaluation_to_dict(evaluation)
    assert document["verdicts"][0]["value"] == "0.30"
    stream = io.StringIO()
    JsonReporter().write(evaluation, stream)
    assert json.loads(stream.getvalue())["verdicts"][0]["value"] == "0.30"
    stream = io.StringIO()
    CsvReporter().write(evaluation, stream)
    (row,) = csv.DictReader(io.StringIO(stream.getvalue(), newline=""))
    assert row["value"] == "0.30" and row["unit"] == "money"


def test_the_csv_rows_are_the_json_verdicts(small):
    """CSV reads the typed verdicts and the JSON shape is built from the same ones: every
    cell is the JSON figure written as text (compliance 5/6 as the float 0.8333333333333334)."""
    stream = io.StringIO()
    CsvReporter().write(small, stream)
    rows = list(csv.DictReader(io.StringIO(stream.getvalue(), newline="")))
    verdicts = evaluation_to_dict(small)["verdicts"]
    assert len(rows) == len(verdicts) > 0
    for row, verdict in zip(rows, verdicts, strict=True):
        for column in ("value", "compliance", "margin", "paused"):
            assert row[column] == ("" if verdict[column] is None else str(verdict[column]))
        for column in ("sample_size", "unmeasured", "excluded", "missed_count"):
            assert row[column] == str(verdict[column])
        assert row["provisional"] == ("true" if verdict.get("provisional") else "false")


# --------------------------------------------------------------------------- the floors


def _imports(path: Path) -> set[str]:
    """The modules ``path`` imports at run time (imports for type checking alone left out)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    checking = {id(node) for block in ast.walk(tree) if isinstance(block, ast.If)
                and "TYPE_CHECKING" in ast.unparse(block.test)
                for stmt in block.body for node in ast.walk(stmt)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in checking:
            continue
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


ABOVE_RESULTS = {"present", "verify", "evidence", "jsonschema", "describe", "starter", "cli",
                 "api", "testing", "__init__"}
"""The modules of slaengine that may read the presentation: itself and the floors above it."""


def test_no_module_below_the_presentation_imports_it():
    for path in sorted((ROOT / "slaengine").rglob("*.py")):
        relative = path.relative_to(ROOT / "slaengine")
        if relative.parts[0].removesuffix(".py") in ABOVE_RESULTS:
            continue
        assert "slaengine.present" not in _imports(path), f"{relative} imports the presentation"
    for path in sorted((ROOT / "plugins").rglob("*.py")):
        if "reporters" not in path.parts:
            assert "slaengine.present" not in _imports(path), path


def test_the_results_hold_no_conversion_to_dicts_or_text():
    for module in ("verdicts.py", "credits/ledger.py", "credits/outcomes.py"):
        tree = ast.parse((ROOT / "slaengine" / module).read_text(encoding="utf-8"))
        names = {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
        assert not {n for n in names if n.endswith("_to_dict") or n.startswith("format_")}, module


def test_reporters_read_typed_results_not_text_read_back():
    """No reporter builds the JSON document but the JSON reporter, and none makes an amount
    (a Decimal) out of text: amounts reach them as the Decimals of the ledger."""
    for path in sorted((ROOT / "plugins" / "reporters").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)]
        names = {ast.unparse(call.func) for call in calls}
        if path.name != "json.py":
            assert "evaluation_to_dict" not in names, path.name
            assert "schedule_to_dict" not in names, path.name
        assert "Decimal" not in names, path.name
