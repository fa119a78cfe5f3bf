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


# --------------------------------------------------------------------------- the JSON text

AWKWARD_IDS = ['T-1', 'say "hi"', "back\\slash", "line\nbreak", "tab\there", "\x00\x01\x1f\x7f",
               "café ünïcode \u2028 😀", "", "ids:00000000000000000000000000000000:0", "12345"]


def _expected_text(evaluation) -> str:
    """What the JSON reporter wrote before it wrote id lists from Arrow: the document dumped
    by the standard library, with its manifest as for a stream without a file name."""
    from slaengine.manifest import for_report
    from slaengine.outputs import strict_json

    document = strict_json(evaluation_to_dict(evaluation))
    document["manifest"] = for_report(document["manifest"], None)
    return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def _written(evaluation) -> str:
    stream = io.StringIO()
    JsonReporter().write(evaluation, stream)
    return stream.getvalue()


@pytest.mark.parametrize("kind", ["arrow", "tuple", "integers", "empty", "mixed"])
def test_the_json_report_is_the_standard_dump_whatever_the_ids(small, kind):
    """The report writes id lists from their Arrow arrays, but the text is byte for byte the
    standard library's dump of the same document: quotes, backslashes and control characters
    escaped, Unicode kept, a placeholder-looking id left as it is, empty lists as []."""
    import pyarrow as pa

    from slaengine.verdicts import Ids

    lists = {
        "arrow": [Ids(pa.array(AWKWARD_IDS)), Ids(pa.array(AWKWARD_IDS[::-1]))],
        "tuple": [tuple(AWKWARD_IDS), ("only",)],
        "integers": [Ids(pa.array([7, 42, -3, 9_007_199_254_740_993]).cast(pa.string())), ()],
        "empty": [(), Ids(pa.array([], pa.string()))],
        "mixed": [Ids(pa.array(AWKWARD_IDS).slice(2, 5)), tuple(AWKWARD_IDS)],
    }[kind]
    verdicts = [replace(v, missed=lists[i % 2]) for i, v in enumerate(small.verdicts)]
    # a figure that is not a number is written as null (strict JSON), and a segment value that
    # looks like a placeholder is data, not a list
    verdicts[0] = replace(verdicts[0], margin=float("nan"),
                          segment={"team": "ids:00000000000000000000000000000000:1"})
    evaluation = replace(small, verdicts=verdicts)
    text = _written(evaluation)
    assert text == _expected_text(evaluation)
    document = json.loads(text)
    assert document["verdicts"][0]["margin"] is None
    assert document["verdicts"][1]["missed"] == [str(i) for i in lists[1]]


def test_the_json_report_of_a_real_evaluation_is_the_standard_dump(small):
    assert _written(small) == _expected_text(small)


def test_ids_read_as_the_tuple_of_strings_they_stand_for():
    import pickle

    import pyarrow as pa

    from slaengine.verdicts import Ids

    ids = Ids(pa.array(["a", "b", "c"]).slice(1))
    assert ids == ("b", "c") and ids != ("b",) and ids == Ids(pa.array(["b", "c"]))
    assert list(ids) == ["b", "c"] and len(ids) == 2 and ids[0] == "b" and ids[-1] == "c"
    assert hash(ids) == hash(("b", "c")) and repr(ids) == "('b', 'c')"
    assert pickle.loads(pickle.dumps(ids)) == ("b", "c")
    assert not Ids(pa.array([], pa.string())) and " ".join(ids) == "b c"


def test_the_report_text_is_the_standard_dump_of_any_document():
    """Every kind of JSON value, nested, written as json.dumps(indent=2, ensure_ascii=False)
    writes it after strict_json: floats by repr (0.1, 1e+16, -0.0, 5e-324), non-finite floats
    as null, big integers exactly, booleans, nulls, empty objects and lists, keys that are
    numbers or constants, text with quotes, control characters and Unicode."""
    from slaengine.outputs import strict_json
    from slaengine.present import _indented

    document = {
        "floats": [0.1, 1e16, -0.0, 5e-324, 1.7976931348623157e308, float("nan"), float("inf"),
                   -float("inf"), 2.5],
        "ints": [0, -1, 2**70, True, False, None],
        "empty": {"object": {}, "list": [], "tuple": (), "text": ""},
        "text": ['a "quote"', "back\\", "\x00\n\t\x1f", "é 😀 \u2028"],
        3: "int key", 2.5: "float key", None: "null key", False: "false key",
        "nested": [{"a": [1, [2, {"b": ()}]], "c": {"d": {"e": [None]}}}, []],
    }
    out: list[str] = []
    _indented(document, out, "")
    assert "".join(out) == json.dumps(strict_json(document), indent=2, ensure_ascii=False,
                                      allow_nan=False)
    with pytest.raises(TypeError):
        _indented({"x": Decimal("1")}, [], "")  # money is made text before, never guessed
