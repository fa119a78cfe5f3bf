"""``--as-of``: the verdicts and credits of a period not over yet are provisional, in every report.

The contract is tests/data/small.toml with a ``fixed`` penalty (500.00 a failed service level),
a cap per period of 12% of the 10,000.00 monthly fee (1,200.00) and a 1% bonus (100.00) when
first-contact resolution reaches 60%; the data is tests/data/small-tickets.csv and one more
urgent April ticket, T13 (first reply after 3h, two contacts, CSAT 2).

``--as-of 2026-04-02`` (up to 2026-04-03 00:00 in New York) leaves out T9 (04-03 09:00); T10,
T11 and T12 are rejected rows. Worked by hand:

- 2026-03 (over, final): urgent first response T1, T2 within 1h of T1-T4: 50% < 75% (not below
  the 50% minimum): breached, 500.00; CSAT (5+4+2+3+5)/5 = 3.8 < 4: breached, 500.00; first
  contact resolution 4 of 5 resolved (T4 never resolved) = 80%: met, and >= 60%: bonus 100.00.
  Before caps 1000.00, under the cap; net 1000.00 - 100.00 = 900.00.
- 2026-04 (running, provisional): T7, T8, T13. Urgent first response 10min, 40min, 3h: 2 of 3 =
  66.7% < 75%: breached, 500.00; first contact resolution 2 of 3 = 66.7% < 80%: breached,
  500.00, and >= 60%: bonus 100.00; CSAT (5+4+2)/3 = 3.67 < 4: breached, 500.00; median first
  response (urgent) 40min: met, (normal) no ticket: insufficient data. Before caps 1500.00,
  capped at 1200.00 (a cap line of -300.00); net 1200.00 - 100.00 = 1100.00.
- 2026: before caps 1000 + 1500 = 2500.00, capped 300.00, after caps 1000 + 1200 = 2200.00,
  bonuses 200.00, net 900 + 1100 = 2000.00; of which final 1000/0/1000/0/100/900 and
  provisional 1500/300/1200/0/100/1100.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from slaengine.cli import main
from slaengine.contract import load_contract
from slaengine.engine import evaluate
from slaengine.pluginmanager import build_registry
from slaengine.present import format_schedule

DATA = Path(__file__).parent / "data"
EDT = timezone(timedelta(hours=-4))
T13 = ("T13,2026-04-02T11:00:00-04:00,2026-04-02T14:00:00-04:00,2026-04-02T16:00:00-04:00,"
       "urgent,2,2\n")
PENALTIES = """
[penalties]
model = "fixed"
amount = "500.00"
cap_per_period = "12%"
[[penalties.bonuses]]
service_level = "fcr"
stretch = ">= 60%"
amount = "1%"
"""
TOTALS = ("before_caps", "capped", "after_caps", "earned_back", "bonuses", "net")
FINAL_2026 = dict(zip(TOTALS, ("1000.00", "0.00", "1000.00", "0.00", "100.00", "900.00"),
                      strict=True))
PROVISIONAL_2026 = dict(zip(TOTALS, ("1500.00", "300.00", "1200.00", "0.00", "100.00",
                                     "1100.00"), strict=True))
YEAR_2026 = dict(zip(TOTALS, ("2500.00", "300.00", "2200.00", "0.00", "200.00", "2000.00"),
                     strict=True))


def run(*args: str):
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def contract(tmp_path: Path) -> Path:
    shutil.copy(DATA / "small-tickets.csv", tmp_path / "small-tickets.csv")
    with open(tmp_path / "small-tickets.csv", "a", encoding="utf-8") as data:
        data.write(T13)
    path = tmp_path / "small.toml"
    path.write_text((DATA / "small.toml").read_text() + PENALTIES)
    return path


def report(contract: Path, form: str, *more: str) -> str:
    result = run("evaluate", str(contract), "--format", form, *more)
    assert result.exit_code == 0, result.output
    return result.output


def as_of(contract: Path, moment: datetime, *, period: str | None = None):
    registry = build_registry()
    if period is not None:
        contract.write_text(contract.read_text().replace('period = "month"',
                                                         f'period = "{period}"'))
    return evaluate(load_contract(contract, registry), registry, as_of=moment)


# --------------------------------------------------------------------------- JSON


def test_json_marks_exactly_the_running_period(contract):
    document = json.loads(report(contract, "json", "--as-of", "2026-04-02"))
    verdicts = document["verdicts"]
    assert {v["period"] for v in verdicts} == {"2026-03", "2026-04"}
    for verdict in verdicts:
        assert verdict.get("provisional", False) is (verdict["period"] == "2026-04"), verdict
        assert ("provisional" in verdict) is (verdict["period"] == "2026-04")  # never false
    lines = {(line["period"], line["service_level"], line["rule"], line["amount"],
              line.get("provisional", False)) for line in document["credits"]}
    assert lines == {
        ("2026-03", "urgent-first-response", "fixed", "500.00", False),
        ("2026-03", "csat", "fixed", "500.00", False),
        ("2026-04", "urgent-first-response", "fixed", "500.00", True),
        ("2026-04", "fcr", "fixed", "500.00", True),
        ("2026-04", "csat", "fixed", "500.00", True),
        ("2026-04", None, "cap-per-period", "-300.00", True),  # 1500.00 capped at 1200.00
    }
    assert [(b["period"], b["amount"], b.get("provisional", False))
            for b in document["bonuses"]] == [("2026-03", "100.00", False),
                                              ("2026-04", "100.00", True)]
    totals = {t["period"]: t for t in document["credit_totals"]}
    assert "provisional" not in totals["2026-03"]
    assert totals["2026-04"]["provisional"] is True
    assert (totals["2026-03"]["net"], totals["2026-04"]["net"]) == ("900.00", "1100.00")
    (year,) = document["credit_years"]
    assert {k: year[k] for k in TOTALS} == YEAR_2026
    assert year["final"] == FINAL_2026
    assert year["provisional"] == PROVISIONAL_2026
    for name in TOTALS:  # the parts add up to the year
        assert Decimal(year["final"][name]) + Decimal(year["provisional"][name]) == Decimal(
            year[name])


def test_without_as_of_nothing_is_provisional(contract):
    document = json.loads(report(contract, "json"))
    # All of April counts now (T9 too), yet no verdict, line, total or year is provisional.
    assert "2026-04" in {v["period"] for v in document["verdicts"]}
    assert document["credits"]
    assert "provisional" not in json.dumps(document)
    assert "final" not in document["credit_years"][0]
    assert "provisional" not in report(contract, "table")
    assert "provisional" not in report(contract, "md")
    rows = list(csv.DictReader(io.StringIO(report(contract, "csv"))))
    assert rows and {row["provisional"] for row in rows} == {"false"}
    page = report(contract, "html")
    assert 'class="badge provisional"' not in page
    assert "provisional" not in Cells.of(page).text


def test_a_report_with_as_of_verifies_identical(contract, tmp_path):
    out = tmp_path / "report.json"
    result = run("evaluate", str(contract), "--as-of", "2026-04-02", "-o", str(out))
    assert result.exit_code == 0, result.output
    result = run("verify", str(out))
    assert result.exit_code == 0, result.output
    assert "identical" in result.output
    # A provisional credit passed off as final is a difference.
    document = json.loads(out.read_text())
    line = next(line for line in document["credits"] if line.get("provisional"))
    del line["provisional"]
    out.write_text(json.dumps(document))
    result = run("verify", str(out))
    assert result.exit_code == 1, result.output
    assert "differs" in result.output


# --------------------------------------------------------------------------- which period


def test_the_period_is_over_at_its_end(contract):
    # 2026-04-01 00:00 in New York: March is over (April, which has no ticket yet, runs).
    evaluation = as_of(contract, datetime(2026, 4, 1, tzinfo=EDT))
    assert {v.period for v in evaluation.verdicts} == {"2026-03"}
    assert not any(v.provisional for v in evaluation.verdicts)
    assert evaluation.credits is not None
    assert not any(p.provisional for p in evaluation.credits.periods)
    assert all(y.provisional is None for y in evaluation.credits.years)


def test_a_microsecond_before_its_end_the_period_is_provisional(contract):
    evaluation = as_of(contract, datetime(2026, 4, 1, tzinfo=EDT) - timedelta(microseconds=1))
    assert evaluation.verdicts and all(v.provisional for v in evaluation.verdicts)
    assert [p.provisional for p in evaluation.credits.periods] == [True]
    assert all(line.provisional for line in evaluation.credits.credits)
    # All of the year is provisional: the final part is zero throughout.
    (year,) = evaluation.credits.years
    assert year.provisional is not None
    assert year.provisional.net == year.net == Decimal("900.00")  # 1000.00 - bonus 100.00
    assert year.final.net == year.final.after_caps == Decimal(0)


def test_the_running_period_is_the_contract_timezones(contract):
    # 03:30 UTC on April 1st is still March 31st in New York: March runs. T6 (23:30 New York)
    # is in.
    evaluation = as_of(contract, datetime(2026, 4, 1, 3, 30, tzinfo=UTC))
    assert {v.period for v in evaluation.verdicts} == {"2026-03"}
    assert all(v.provisional for v in evaluation.verdicts)


@pytest.mark.parametrize(("period", "running", "earlier"), [
    ("month", "2026-04", {"2026-03"}),
    ("quarter", "2026-Q2", {"2026-Q1"}),
    # 2026-W14 runs Monday March 30th to Sunday April 5th (W01 starts Monday 2025-12-29:
    # 13 weeks = 91 days later); T1-T5 (March 2-5) are in W10, T6 (March 31) in W14.
    ("week", "2026-W14", {"2026-W10"}),
    ("year", "2026", set()),
])
def test_every_period_kind_marks_its_running_period(contract, period, running, earlier):
    evaluation = as_of(contract, datetime(2026, 4, 2, 20, tzinfo=EDT), period=period)
    assert {v.period for v in evaluation.verdicts} == {running, *earlier}
    for verdict in evaluation.verdicts:
        assert verdict.provisional is (verdict.period == running)
        assert (verdict.outlook is not None) is (verdict.period == running)
    for credits in evaluation.credits.periods:
        assert credits.provisional is (credits.period == running)
        assert all(line.provisional is credits.provisional
                   for line in [*credits.lines, *credits.bonuses])


def test_a_period_after_the_running_one_is_provisional_too(contract):
    # Periods by resolution time: T6, opened at 23:30 on March 31st (before the as-of instant,
    # 23:45), is resolved at 00:30 on April 1st: an April verdict while March still runs.
    text = contract.read_text().replace('id = "fcr"\n', 'id = "fcr"\nperiod_by = "resolved_at"\n')
    contract.write_text(text)
    evaluation = as_of(contract, datetime(2026, 3, 31, 23, 45, tzinfo=EDT))
    fcr = {v.period: v for v in evaluation.verdicts if v.service_level == "fcr"}
    assert set(fcr) == {"2026-03", "2026-04"}
    assert fcr["2026-03"].provisional and fcr["2026-03"].outlook is not None
    assert fcr["2026-04"].provisional and fcr["2026-04"].outlook is None
    assert all(p.provisional for p in evaluation.credits.periods)


# --------------------------------------------------------------------------- the reporters


def test_csv_marks_exactly_the_running_periods_rows(contract):
    rows = list(csv.DictReader(io.StringIO(report(contract, "csv", "--as-of", "2026-04-02"))))
    assert {row["period"] for row in rows} == {"2026-03", "2026-04"}
    for row in rows:
        assert row["provisional"] == ("true" if row["period"] == "2026-04" else "false"), row


def test_table_marks_the_running_period_and_splits_the_year(contract, monkeypatch):
    out = report(contract, "table", "--as-of", "2026-04-02")  # 80 columns
    verdict_rows = [line for line in out.splitlines() if re.match(r"  2026-0[34]  ", line)]
    assert len(verdict_rows) == 10  # 5 verdicts in each month (median: 2 segments)
    for line in verdict_rows:
        assert ("(provisional)" in line) is line.startswith("  2026-04  "), line
    # The schedule's lines unwrapped, as format_schedule writes them.
    monkeypatch.setenv("COLUMNS", "200")
    out = report(contract, "table", "--as-of", "2026-04-02")
    schedule = out[out.index("Service credits"):]
    assert "\n2026-03:\n" in schedule
    assert "\n2026-04 (provisional: the period was not over at --as-of):\n" in schedule
    assert ("  before caps 1500.00, capped 300.00, after caps 1200.00, earned back 0.00, "
            "bonuses 100.00, net 1100.00 (provisional") in schedule
    assert ("  before caps 1000.00, capped 0.00, after caps 1000.00, earned back 0.00, "
            "bonuses 100.00, net 900.00\n") in schedule
    assert ("2026: after caps 2200.00, earned back 0.00, bonuses 200.00, net 2000.00\n"
            "  of which final: after caps 1000.00, earned back 0.00, bonuses 100.00, net 900.00\n"
            "  of which provisional: after caps 1200.00, earned back 0.00, bonuses 100.00, "
            "net 1100.00\n") in schedule


def test_format_schedule_says_nothing_provisional_without_as_of(contract):
    registry = build_registry()
    evaluation = evaluate(load_contract(contract, registry), registry)
    text = format_schedule(evaluation.credits)
    assert "provisional" not in text and "of which" not in text


def md_rows(text: str) -> list[list[str]]:
    return [[cell.strip() for cell in line.strip("|").split(" | ")]
            for line in text.splitlines() if line.startswith("| ")]


def test_markdown_marks_the_running_period_and_splits_the_year(contract):
    rows = md_rows(report(contract, "md", "--as-of", "2026-04-02"))
    verdicts = [r for r in rows if len(r) == 8 and r[0] in ("2026-03", "2026-04")]
    assert len(verdicts) == 10
    for r in verdicts:
        assert r[4].endswith("(provisional)") is (r[0] == "2026-04"), r
    totals = {r[0]: r[1:] for r in rows if len(r) == 7}
    assert totals["2026-03"] == ["1,000.00", "0.00", "1,000.00", "0.00", "100.00",
                                 "**900.00**"]
    assert totals["2026-04 (provisional)"] == ["1,500.00", "300.00", "1,200.00", "0.00",
                                               "100.00", "**1,100.00**"]
    assert "2026-04" not in totals
    assert totals["**2026**"][-1] == "**2,000.00**"
    assert totals["2026 of which final"] == ["1,000.00", "0.00", "1,000.00", "0.00", "100.00",
                                             "900.00"]
    assert totals["2026 of which provisional"] == ["1,500.00", "300.00", "1,200.00", "0.00",
                                                   "100.00", "1,100.00"]
    ledger = [r for r in rows if len(r) == 5 and r[0].startswith("2026-")]
    assert len(ledger) == 8  # 2 + 4 credit lines, 2 bonuses
    assert sorted(r[0] for r in ledger) == ["2026-03"] * 3 + ["2026-04 (provisional)"] * 5


class Cells(HTMLParser):
    """The text of every table row of a page, cell by cell (style and script left out)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.cell: list[str] | None = None
        self.skip = False
        self.texts: list[str] = []

    @classmethod
    def of(cls, page: str) -> Cells:
        parser = cls()
        parser.feed(page)
        return parser

    @property
    def text(self) -> str:
        return " ".join(self.texts)

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "script"):
            self.skip = True
        elif tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self.cell = []
        elif tag == "br" and self.cell is not None:
            self.cell.append(" ")

    def handle_endtag(self, tag):
        if tag in ("style", "script"):
            self.skip = False
        elif tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append(" ".join("".join(self.cell).split()))
            self.cell = None

    def handle_data(self, data):
        if self.skip:
            return
        self.texts.append(data)
        if self.cell is not None:
            self.cell.append(data)


def test_html_marks_the_running_period_and_splits_the_year(contract):
    page = report(contract, "html", "--as-of", "2026-04-02")
    rows = Cells.of(page).rows
    verdicts = [r for r in rows if len(r) == 11 and r[0] in ("2026-03", "2026-04")]
    assert len(verdicts) == 10
    for r in verdicts:
        assert r[4].endswith("provisional") is (r[0] == "2026-04"), r
    totals = {r[0]: r[1:] for r in rows if len(r) == 7}
    assert totals["2026-03"] == ["1,000.00", "0.00", "1,000.00", "0.00", "100.00", "900.00"]
    assert totals["2026-04provisional"] == ["1,500.00", "300.00", "1,200.00", "0.00",
                                            "100.00", "1,100.00"]
    assert totals["2026"][-1] == "2,000.00"
    assert totals["of which final"] == ["1,000.00", "0.00", "1,000.00", "0.00", "100.00",
                                        "900.00"]
    assert totals["of which provisional"] == ["1,500.00", "300.00", "1,200.00", "0.00",
                                              "100.00", "1,100.00"]
    ledger = [r for r in rows if len(r) == 5 and r[0].startswith("2026-")]
    assert sorted(r[0] for r in ledger) == ["2026-03"] * 3 + ["2026-04provisional"] * 5
    scorecard_head = next(r for r in rows if r[:2] == ["Service level", "Target"])
    assert scorecard_head[2:] == ["2026-03", "2026-04 provisional"]
