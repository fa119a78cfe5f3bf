"""The Python API: ``slaengine.load_contract`` and ``slaengine.evaluate``, a Result that is an
Evaluation, its Arrow tables and its JSON document, and clear errors for bad arguments.

tests/data/small.toml is worked out by hand in tests/test_engine.py; the figures used here:
urgent first response in March 2 of 4 within 1h against ``75% within 1h`` (compliance
0.5 / 0.75 = 2/3), FCR in April 5 of 6 against ``>= 80%`` (0.8333.. / 0.8, shown as the printed
figure 0.6666666666666666 / 0.8 = 5/6, the verdict's exact compliance), CSAT in March mean 3.8
against ``mean >= 4`` (3.8 / 4 = 19/20).
"""

from __future__ import annotations

import doctest
import gc
import json
import os
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction
from io import StringIO
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from click.testing import CliRunner

import slaengine
from slaengine import api, runtime
from slaengine.cli import main
from slaengine.contract import ContractProblems
from slaengine.credits.ledger import CreditLine, CreditSchedule, PeriodCredits
from slaengine.credits.money import Rounding
from slaengine.errors import ContractError, SlaError, UsageError
from slaengine.periods import PERIODS, period_label, period_range
from slaengine.pluginmanager import build_registry
from slaengine.tables import credit_table, money_type, period_key
from slaengine.verdicts import Evaluation

ROOT = Path(__file__).resolve().parent.parent
SMALL = ROOT / "tests" / "data" / "small.toml"
EXAMPLES = ["isp-helpdesk", "bpo-contact-centre", "ecommerce-email"]


@pytest.fixture(scope="module")
def small() -> slaengine.Result:
    return slaengine.evaluate(SMALL)


@pytest.fixture(scope="module", params=EXAMPLES)
def example(request: pytest.FixtureRequest) -> slaengine.Result:
    return slaengine.evaluate(ROOT / "contracts" / f"{request.param}.toml")


# ----------------------------------------------------------------------------- public names


def test_every_name_in_all_resolves() -> None:
    for name in slaengine.__all__:
        assert getattr(slaengine, name) is not None, name
    assert slaengine.evaluate is api.evaluate and slaengine.load_contract is api.load_contract
    assert slaengine.Evaluation is Evaluation and issubclass(slaengine.Result, Evaluation)
    assert slaengine.Verdict.__module__ == "slaengine.verdicts"
    assert type(slaengine.hookimpl).__name__ == "HookimplMarker"
    assert set(slaengine.__all__) <= set(dir(slaengine))
    with pytest.raises(AttributeError, match="no attribute 'evaluat'"):
        _ = slaengine.evaluat  # type: ignore[attr-defined]


def test_star_import_and_a_bare_import_stay_light() -> None:
    """``import slaengine`` loads no Arrow, numpy or plugin machinery; ``from slaengine
    import *`` gives every public name (and only then loads what they need)."""
    program = ("import sys, slaengine\n"
               "light = sorted(m for m in sys.modules if m.split('.')[0] in "
               "('pyarrow', 'numpy', 'pluggy'))\n"
               "from slaengine import *\n"
               "print(light, evaluate.__module__, Result.__name__, load_contract.__name__)")
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                          cwd=ROOT, check=True)
    assert done.stdout.split() == ["[]", "slaengine.api", "Result", "load_contract"]


# ----------------------------------------------------------------------------- evaluate


def test_load_and_evaluate_through_the_public_names(small: slaengine.Result) -> None:
    contract = slaengine.load_contract(str(SMALL))
    assert contract.id == "small" and [lv.id for lv in contract.service_levels] == [
        "urgent-first-response", "median-first-response", "fcr", "csat"]
    result = slaengine.evaluate(contract)
    assert isinstance(result, slaengine.Result) and isinstance(result, Evaluation)
    assert result.verdicts == small.verdicts  # a Contract or its path: the same evaluation
    verdict = result.verdict("urgent-first-response", "2026-03")
    assert (verdict.status, verdict.compliance) == ("breached", Fraction(2, 3))
    assert result.credits is None  # small.toml has no [penalties]
    assert repr(result) == ("<Result small: 10 verdicts (6 met, 4 breached, 0 critical, "
                            "0 insufficient_data) in 2 periods>")


def test_a_result_is_taken_wherever_an_evaluation_is(example: slaengine.Result) -> None:
    """Every reporter writes a Result exactly as the Evaluation it is made of."""
    evaluation = Evaluation(**{name: getattr(example, name) for name in (
        "contract", "verdicts", "sources", "levels", "manifest", "rejected", "evidence",
        "concentration", "credits")})
    assert slaengine.Result.of(evaluation) == example
    registry = build_registry()
    for name in ("md", "csv", "json", "html"):
        written = [StringIO(), StringIO()]
        registry.reporters[name].write(evaluation, written[0])
        registry.reporters[name].write(example, written[1])
        assert written[0].getvalue() == written[1].getvalue(), name
        assert written[1].getvalue().count("\n") > len(example.periods), name


def test_evidence_is_kept_only_when_asked_for() -> None:
    # March: urgent first response and CSAT breached; April: median (normal) and FCR.
    assert slaengine.evaluate(SMALL).evidence == {}
    kept = slaengine.evaluate(SMALL, evidence=True).evidence
    assert set(kept) == {"urgent-first-response", "median-first-response", "fcr", "csat"}
    # the records behind urgent first response in March: T3 (2h) and T4 (never answered)
    urgent = kept["urgent-first-response"]
    assert sorted(urgent.filter(pc.equal(urgent["period"], "2026-03"))["ticket_id"]
                  .to_pylist()) == ["T3", "T4"]


def test_evaluate_leaves_the_process_as_it_found_it(monkeypatch: pytest.MonkeyPatch) -> None:
    entered: list[bool] = []
    tuned = runtime.tuned

    def recording():
        entered.append(True)
        return tuned()

    monkeypatch.setattr(runtime, "tuned", recording)
    pool, collecting, environment = pa.default_memory_pool(), gc.isenabled(), dict(os.environ)
    slaengine.evaluate(SMALL)
    assert entered == []
    assert pa.default_memory_pool().backend_name == pool.backend_name
    assert gc.isenabled() == collecting and dict(os.environ) == environment
    slaengine.evaluate(SMALL, tuned=True)  # opted in: tuned within, restored after
    assert entered == [True]
    assert pa.default_memory_pool().backend_name == pool.backend_name
    assert gc.isenabled() == collecting


@pytest.mark.parametrize("as_of", [
    "2026-03-10", date(2026, 3, 10), "2026-03-11T00:00",
    datetime(2026, 3, 11, tzinfo=ZoneInfo("America/New_York")),
    datetime(2026, 3, 11, 4, tzinfo=UTC),  # midnight in New York, EDT (-4) since March 8th
])
def test_as_of_follows_the_rule_of_the_command_line(as_of: object) -> None:
    """Each names the end of March 10th in the contract's timezone, as ``--as-of 2026-03-10``."""
    result = slaengine.evaluate(SMALL, as_of=as_of)
    assert result.manifest["options"] == {"as_of": "2026-03-11T04:00:00+00:00"}
    # T1..T5 were created by then; T6..T9 (March 31st and April) after it.
    assert result.sources["tickets"].after_as_of == 4
    assert result.periods == ["2026-03"]


# ----------------------------------------------------------------------------- to_arrow


def test_tables_hold_every_verdict_line_source_and_level(example: slaengine.Result) -> None:
    tables = example.to_arrow()
    assert set(tables) == {"verdicts", "credits", "credit_totals", "sources", "levels"}
    verdicts = tables["verdicts"]
    assert verdicts.num_rows == len(example.verdicts)
    assert verdicts["status"].to_pylist() == [v.status for v in example.verdicts]
    assert verdicts["service_level"].to_pylist() == [v.service_level for v in example.verdicts]
    assert [dict(s) for s in verdicts["segment"].to_pylist()] == [
        v.segment for v in example.verdicts]
    assert verdicts["sample_size"].to_pylist() == [v.sample_size for v in example.verdicts]
    schedule = example.credits
    assert schedule is not None
    assert tables["credits"].num_rows == len(schedule.credits) + len(schedule.bonuses)
    assert tables["credit_totals"]["period"].to_pylist() == [p.period for p in schedule.periods]
    sources = tables["sources"]
    assert sources["source"].to_pylist() == list(example.sources)
    read = pc.add(pc.add(sources["accepted"], sources["rejected"]), sources["duplicates"])
    assert read.equals(sources["read"])
    assert tables["levels"]["service_level"].to_pylist() == list(example.levels)
    assert [dict(a) for a in tables["levels"]["agreed_exclusions"].to_pylist()] == [
        a.agreed for a in example.levels.values()]


def test_money_columns_are_decimals_that_sum_to_the_schedule_exactly(
        example: slaengine.Result) -> None:
    tables, schedule = example.to_arrow(), example.credits
    assert schedule is not None
    credits = tables["credits"]
    assert pa.types.is_decimal(credits.schema.field("amount").type)
    by_period: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for row in credits.select(["period", "kind", "amount"]).to_pylist():
        assert isinstance(row["amount"], Decimal)
        by_period[row["period"], row["kind"]] += row["amount"]
    for p in schedule.periods:
        assert by_period[p.period, "credit"] == p.after_caps - p.earned_back
        assert by_period[p.period, "bonus"] == p.bonus_total
    totals = tables["credit_totals"]
    net = pc.sum(totals["net"]).as_py()
    assert isinstance(net, Decimal) and net == sum(y.net for y in schedule.years)
    assert totals["bonuses"].to_pylist() == [p.bonus_total for p in schedule.periods]
    money = [v.value for v in example.verdicts if v.unit == "money"]
    assert [x for x in tables["verdicts"]["value_money"].to_pylist() if x is not None] == money


def test_the_isp_ledger_line_is_its_exact_amount() -> None:
    tables = slaengine.evaluate(ROOT / "contracts" / "isp-helpdesk.toml").to_arrow()
    first = tables["credits"].to_pylist()[0]
    # at risk 12% of the quarter's fee 180000.00 = 21600.00, allocation 40%: 8640.00
    assert (first["period"], first["service_level"], first["amount"]) == (
        "2026-03", "urgent-first-response", Decimal("8640.00"))
    assert first["kind"] == "credit" and first["currency"] == "USD"


def test_verdict_table_figures_are_exact_and_periods_are_instants(small: slaengine.Result) -> None:
    verdicts = small.to_arrow()["verdicts"]
    rows = {(r["service_level"], r["period"]): r for r in verdicts.to_pylist()
            if r["service_level"] != "median-first-response"}
    for key, exact in [(("urgent-first-response", "2026-03"), (2, 3)),
                       (("fcr", "2026-04"), (5, 6)), (("csat", "2026-03"), (19, 20))]:
        row = rows[key]
        assert (row["compliance_numerator"], row["compliance_denominator"]) == exact
        assert row["compliance"] == exact[0] / exact[1]
    assert rows["urgent-first-response", "2026-03"]["hits"] == 2
    assert rows["urgent-first-response", "2026-03"]["missed"] == ["T3", "T4"]
    assert rows["csat", "2026-03"]["hits"] is None and rows["csat", "2026-03"]["value"] == 3.8
    zone = pa.timestamp("us", tz="America/New_York")
    assert verdicts.schema.field("period_start").type == zone
    march = rows["urgent-first-response", "2026-03"]
    # March 1st 00:00 EST (-5) is 05:00 UTC; April 1st 00:00 EDT (-4) is 04:00 UTC.
    assert march["period_start"].astimezone(UTC) == datetime(2026, 3, 1, 5, tzinfo=UTC)
    assert march["period_end"].astimezone(UTC) == datetime(2026, 4, 1, 4, tzinfo=UTC)


def test_tables_without_credits_keep_their_columns(small: slaengine.Result) -> None:
    tables = small.to_arrow()
    assert tables["credits"].num_rows == 0 and tables["credit_totals"].num_rows == 0
    assert tables["credits"].column_names == ["period", "service_level", "kind", "rule",
                                              "amount", "currency", "note", "provisional"]
    assert pa.types.is_decimal(tables["credit_totals"].schema.field("net").type)
    assert tables["verdicts"]["value_money"].null_count == 10


def test_verdicts_can_be_grouped_with_arrow(small: slaengine.Result) -> None:
    verdicts = small.to_arrow()["verdicts"]
    counted = verdicts.group_by("status").aggregate([("service_level", "count")])
    assert dict(zip(counted["status"].to_pylist(), counted["service_level_count"].to_pylist(),
                    strict=True)) == {"met": 6, "breached": 4}


@pytest.mark.parametrize("period", PERIODS)
def test_a_period_label_gives_its_key_back(period: str) -> None:
    label = period_label(period)
    first = {"week": 202601, "month": 202601, "quarter": 20261, "year": 2026}[period]
    last = {"week": 202753, "month": 202712, "quarter": 20274, "year": 2030}[period]
    for key in period_range(first, last, period):
        assert period_key(label(int(key))) == key


def test_money_columns_never_round_an_amount() -> None:
    """A column takes the most decimals any amount has: nothing is cut to the rounding's."""
    assert money_type([Decimal("1.5"), Decimal("0.125"), None]) == pa.decimal128(38, 3)
    assert money_type([Decimal("100")], decimals=0) == pa.decimal128(38, 0)
    lines = [CreditLine("2026-01", "fcr", Decimal("0.125"), "EUR", "fixed", "a third"),
             CreditLine("2026-01", None, Decimal("-12.5"), "EUR", "cap-per-period", "cap")]
    schedule = CreditSchedule("fixed", "EUR", Rounding(decimals=2),
                              [PeriodCredits(period="2026-01", lines=lines)], [], [], [])
    amounts = credit_table(schedule)["amount"]
    assert amounts.to_pylist() == [Decimal("0.125"), Decimal("-12.500")]
    assert pc.sum(amounts).as_py() == Decimal("-12.375")


# ----------------------------------------------------------------------------- to_dict


def _without_time(document: dict) -> dict:
    manifest = dict(document["manifest"])
    manifest.pop("evaluated_at")
    manifest["options"] = {k: v for k, v in manifest["options"].items()
                           if k not in ("formats", "fail_on")}  # the command's own options
    return {**document, "manifest": manifest}


@pytest.mark.parametrize(("contract", "extra"), [
    ("contracts/isp-helpdesk.toml", []),
    ("contracts/bpo-contact-centre.toml", []),
    ("contracts/ecommerce-email.toml", ["--as-of", "2026-03-10"]),
])
def test_to_dict_is_the_json_report(contract: str, extra: list[str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    done = CliRunner().invoke(main, ["evaluate", contract, "--format", "json", *extra])
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    as_of = extra[1] if extra else None
    document = slaengine.evaluate(contract, as_of=as_of).to_dict()
    assert _without_time(document) == _without_time(report)
    assert document["manifest"]["evaluated_at"]  # only the time differs
    assert json.loads(json.dumps(document, allow_nan=False)) == document  # plain JSON values


def test_to_dict_gives_a_new_document_each_time(small: slaengine.Result) -> None:
    document = small.to_dict()
    document["verdicts"].clear()
    document["manifest"]["options"]["changed"] = True
    again = small.to_dict()
    assert len(again["verdicts"]) == 10 and "changed" not in again["manifest"]["options"]
    assert small.manifest["options"] == {}


# ----------------------------------------------------------------------------- errors


def _contract_file(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


@pytest.mark.parametrize("make", [
    lambda tmp: (tmp / "missing.toml", "no such contract file"),
    lambda tmp: (tmp, "a folder; expected a contract file"),
    lambda tmp: (_contract_file(tmp, "latin.toml", b'[contract]\nid = "caf\xe9"\n'), "UTF-8"),
    lambda tmp: (_contract_file(tmp, "broken.toml", b"[contract\n"), "line 1"),
    lambda tmp: (_contract_file(tmp, "empty.toml", b""), "contract: required key is missing"),
    lambda tmp: (_contract_file(tmp, "typo.toml", (ROOT / "contracts" / "isp-helpdesk.toml")
                                .read_bytes().replace(b'metric = "first_response_time"',
                                                      b'metric = "first_reponse_time"', 1)),
                 'did you mean "first_response_time"'),
])
@pytest.mark.parametrize("call", ["load_contract", "evaluate"])
def test_a_bad_contract_is_a_contract_error_naming_its_file(make, call: str,
                                                            tmp_path: Path) -> None:
    """One problem is a ContractError, several one ContractProblems listing each."""
    path, expected = make(tmp_path)
    with pytest.raises(SlaError) as info:
        getattr(slaengine, call)(path)
    assert isinstance(info.value, ContractError | ContractProblems)
    assert str(path) in info.value.render()
    assert expected in info.value.render()


@pytest.mark.parametrize(("arguments", "expected"), [
    ((None,), "expected a Contract or the path of a contract file (.toml), got NoneType"),
    ((42,), "got int"),
    ((True,), "got bool"),
    ((b"contracts/isp-helpdesk.toml",), "got bytes"),
    (([SMALL],), "got list"),
    ((SMALL, {"evidence": "yes"}), "evidence must be True or False, got 'yes'"),
    ((SMALL, {"tuned": 1}), "tuned must be True or False, got 1"),
    ((SMALL, {"as_of": "yesterday"}), '"yesterday" is not a date (2026-03-18)'),
    ((SMALL, {"as_of": "2026-13-01"}), '"2026-13-01" is not a date'),
    ((SMALL, {"as_of": ""}), '"" is not a date'),
    ((SMALL, {"as_of": 1773100800}), "expected a date, a date-time or ISO text, got int"),
    ((SMALL, {"as_of": date(1800, 1, 1)}), "1800-01-01 is outside the accepted dates"),
    ((SMALL, {"as_of": datetime(9999, 12, 31, tzinfo=UTC)}), "outside the accepted dates"),
    ((SMALL, {"as_of": "2199-12-31T23:00"}), None),  # the last day a contract may name: fine
])
def test_bad_arguments_are_usage_errors(arguments: tuple, expected: str | None) -> None:
    path, *options = arguments
    if expected is None:
        assert slaengine.evaluate(path, **(options[0] if options else {})).verdicts
        return
    with pytest.raises(UsageError) as info:
        slaengine.evaluate(path, **(options[0] if options else {}))
    assert expected in info.value.render()


@pytest.mark.parametrize("path", [None, 3.5, ["a.toml"], False])
def test_load_contract_refuses_what_is_not_a_path(path: object) -> None:
    with pytest.raises(UsageError, match="expected the path of a contract file"):
        slaengine.load_contract(path)  # type: ignore[arg-type]


def test_a_data_error_names_the_source_file(tmp_path: Path) -> None:
    """Unusable data is a SlaError (as on the command line), never an internal traceback."""
    contract = tmp_path / "small.toml"
    contract.write_text(SMALL.read_text().replace('"small-tickets.csv"', '"absent.csv"'))
    with pytest.raises(SlaError) as info:
        slaengine.evaluate(contract)
    assert "absent.csv" in info.value.render()


@pytest.mark.parametrize("module", [slaengine, api], ids=lambda m: m.__name__)
def test_the_examples_in_the_docstrings_give_what_they_show(
        module, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, report=False)
    assert result.attempted >= 3 and result.failed == 0
