"""``slaengine history``: a ledger's verdict trail, versions, restatements, credits to date,
earn-backs and chronic failures per contract, and the portfolio of several contracts, read from
ledgers built by real runs (month by month, with an amended contract and a restatement)."""

from __future__ import annotations

import json
import sqlite3
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import pytest
import test_ledger_history as hist
from ledger_kit import build_ledger, cli, copy_ledger, older_slaengine

from slaengine.ledger import open_ledger
from slaengine.ledger.history_views.jsondoc import history_schema
from slaengine.ledger.report import history_document

# The "hist" contract of test_ledger_history: csat "mean >= 4", a breach 10% of 1000.00 =
# 100.00, chronic at 2 failures within 3 periods (x2), earned back after 1 period on target,
# the year capped at 250.00. Version 2 from April raises the target to 4.5.
VERSION_1 = hist.CONTRACT.replace('timezone = "UTC"', 'timezone = "UTC"\nversion = "1"')
VERSION_2 = hist.CONTRACT.replace(
    'timezone = "UTC"', 'timezone = "UTC"\nversion = "2"\neffective_from = "2026-04"'
).replace('target = "mean >= 4"', 'target = "mean >= 4.5"')


def monthly_ledger(folder: Path, months: tuple[str, ...] = hist.MONTHS) -> Path:
    """The hist contract evaluated month by month into one ledger, April under version 2."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tickets.csv").write_text(hist.TICKETS)
    (folder / "v1.toml").write_text(VERSION_1)
    (folder / "v2.toml").write_text(VERSION_2)
    ledger = folder / "ledger.db"
    for month in months:
        contract = folder / ("v2.toml" if month >= "2026-04" else "v1.toml")
        done = cli("evaluate", contract, "--period", month, "--ledger", ledger,
                   "-o", folder / f"{month}.json")
        assert done.exit_code == 0, done.output
    return ledger


def history_json(*args: str | Path) -> dict:
    done = cli("history", *args, "--format", "json")
    assert done.exit_code == 0, done.output
    return json.loads(done.stdout)


def validate(document: dict) -> None:
    schema = history_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in
              jsonschema.Draft202012Validator(schema).iter_errors(document)]
    assert errors == []


@pytest.fixture(scope="module")
def monthly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return monthly_ledger(tmp_path_factory.mktemp("monthly"))


@pytest.fixture(scope="module")
def restated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_ledger(tmp_path_factory.mktemp("restated"))


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory, monthly: Path, restated: Path) -> Path:
    """One ledger holding both contracts: small (restated), then hist month by month."""
    folder = tmp_path_factory.mktemp("both")
    ledger = copy_ledger(restated, folder / "ledger.db")
    (folder / "tickets.csv").write_text(hist.TICKETS)
    (folder / "v1.toml").write_text(VERSION_1)
    (folder / "v2.toml").write_text(VERSION_2)
    for month in hist.MONTHS:
        contract = folder / ("v2.toml" if month >= "2026-04" else "v1.toml")
        assert cli("evaluate", contract, "--period", month, "--ledger", ledger,
                   "-o", folder / f"{month}.json").exit_code == 0
    return ledger


# --------------------------------------------------------------------------- one contract


def test_the_trail_gives_each_period_its_verdict_version_and_target_change(monthly: Path):
    document = history_json(monthly)
    validate(document)
    assert document["portfolio"] is None  # one contract
    (contract,) = document["contracts"]
    assert contract["id"] == "hist" and contract["currency"] == "USD"
    assert contract["versions"] == [
        {"version": "1", "effective_from": None, "periods": ["2026-01", "2026-02", "2026-03"]},
        {"version": "2", "effective_from": "2026-04-01", "periods": ["2026-04"]}]
    (csat,) = contract["service_levels"]
    trail = [(r["period"], r["status"], r["value"], r["target"], r["version"], r["entry"])
             for r in csat["trail"]]
    # One answer a month: 3, 3, 5, 5; each month its own entry (1..4).
    assert trail == [("2026-01", "breached", 3.0, "mean >= 4", "1", 1),
                     ("2026-02", "breached", 3.0, "mean >= 4", "1", 2),
                     ("2026-03", "met", 5.0, "mean >= 4", "1", 3),
                     ("2026-04", "met", 5.0, "mean >= 4.5", "2", 4)]
    # The target changed in April only, from version 1's.
    assert [r["target_changed"] for r in csat["trail"]] == [
        None, None, None, {"target": "mean >= 4", "minimum": None}]
    # csat's own lines: January 100.00; February 100.00 + chronic 100.00 = 200.00 (the cap's
    # -50.00 is the period's, not the level's); March the earn-back of February's kept 150.00.
    assert [r["credit"] for r in csat["trail"]] == ["100.00", "200.00", "-150.00", None]
    assert csat["credits"] == "150.00"  # 100 + 200 - 150
    assert csat["failed_periods"] == ["2026-01", "2026-02"]
    assert (csat["failures_in_a_row"], csat["met_since_last_failure"]) == (0, 2)
    assert csat["counts"] == {"met": 2, "breached": 2, "critical": 0, "insufficient_data": 0}


def test_credits_to_date_add_up_each_periods_current_totals(monthly: Path):
    (contract,) = history_json(monthly)["contracts"]
    periods = {p["period"]: (p["before_caps"], p["capped"], p["after_caps"], p["earned_back"],
                             p["net"]) for p in contract["credit_periods"]}
    # test_ledger_history's arithmetic: February 200 before caps, 50 over the 250 cap;
    # March earns back 150.00 of it: net -150.00.
    assert periods == {"2026-01": ("100.00", "0.00", "100.00", "0.00", "100.00"),
                       "2026-02": ("200.00", "50.00", "150.00", "0.00", "150.00"),
                       "2026-03": ("0.00", "0.00", "0.00", "150.00", "-150.00"),
                       "2026-04": ("0.00", "0.00", "0.00", "0.00", "0.00")}
    (year,) = contract["credit_years"]
    # 100 + 200 = 300 before caps, 250 after, 150 back, net 250 - 150 = 100.00; the same as
    # April's run recorded for the year (it saw every month through the ledger).
    assert (year["year"], year["before_caps"], year["after_caps"], year["earned_back"],
            year["net"]) == ("2026", "300.00", "250.00", "150.00", "100.00")
    assert year["recorded"]["entry"] == 4 and year["recorded"]["net"] == "100.00"
    # April's entry leaves the chronic failure; no earn-back is open (February's came back).
    (chronic,) = contract["chronic_failures"]
    assert chronic["periods"] == ["2026-01", "2026-02"] and chronic["entry"] == 4
    assert contract["earn_back_runs"] == []


def test_an_open_earn_back_run_is_shown(tmp_path: Path):
    # January and February only: February's credit (200.00, 150.00 after the cap) waits for
    # one period on target; nothing met since the last failure.
    ledger = monthly_ledger(tmp_path, ("2026-01", "2026-02"))
    (contract,) = history_json(ledger)["contracts"]
    runs = contract["earn_back_runs"]
    assert [(r["service_level"], r["periods"][0]) for r in runs] == [("csat", "2026-02")]
    (csat,) = contract["service_levels"]
    assert (csat["failures_in_a_row"], csat["met_since_last_failure"]) == (2, 0)
    text = cli("history", ledger).stdout
    assert "earn-back open: csat's credit of 2026-02" in text


def test_a_restated_period_shows_its_restatement_and_current_verdict(restated: Path):
    document = history_json(restated)
    validate(document)
    (contract,) = document["contracts"]
    assert contract["closed_periods"] == ["2026-03"]
    (restatement,) = contract["restatements"]
    assert (restatement["period"], restatement["entry"], restatement["original_entry"],
            restatement["reason"]) == ("2026-03", 3, 1, "corrected export")
    # The corrected export: March's csat mean (5 + 4 + 3 + 3 + 5) / 5 = 4.0, met; its 200.00
    # credit gone.
    (difference,) = restatement["differences"]
    assert difference["service_level"] == "csat"
    assert difference["old"] == {"status": "breached", "value": "3.8", "credit": "200.00"}
    assert difference["new"] == {"status": "met", "value": "4.0", "credit": None}
    csat = next(level for level in contract["service_levels"] if level["id"] == "csat")
    march = csat["trail"][0]
    assert (march["period"], march["status"], march["entry"], march["restated"],
            march["closed"]) == ("2026-03", "met", 3, True, True)
    # Credits to date: March now 500.00 (urgent-first-response only) + April 300.00 (fcr,
    # from entry 1) = 800.00; the restating run saw March only and recorded 500.00.
    (year,) = contract["credit_years"]
    assert (year["after_caps"], year["net"], year["periods"]) == (
        "800.00", "800.00", ["2026-03", "2026-04"])
    assert (year["recorded"]["entry"], year["recorded"]["after_caps"]) == (3, "500.00")


def test_the_table_says_it_in_words(restated: Path):
    done = cli("history", restated)
    assert done.exit_code == 0, done.output
    text = done.stdout
    assert "Contract small: periods 2026-03 .. 2026-04, closed 2026-03" in text
    assert "2026-03: entry 3 restates entry 1: corrected export" in text
    assert "csat: breached 3.8 (credit 200.00) -> met 4.0" in text
    assert "contract year 2026 to date: after caps 800.00, earned back 0.00, net 800.00 USD" \
        in text


def test_the_arrow_tables_and_the_document_agree(restated: Path):
    with open_ledger(restated) as ledger:
        document = history_document(ledger)
        current = ledger.verdicts(latest=True).num_rows
    # Every current verdict is in one trail: 5 of March (restated) + 5 of April.
    rows = sum(len(level["trail"]) for level in document["contracts"][0]["service_levels"])
    assert rows == current == 10
    assert isinstance(document["contracts"][0]["credit_years"][0]["net"], Decimal)


# --------------------------------------------------------------------------- the portfolio


def test_several_contracts_give_a_portfolio(both: Path):
    document = history_json(both)
    validate(document)
    assert [c["id"] for c in document["contracts"]] == ["small", "hist"]
    side = {p["id"]: p for p in document["portfolio"]["contracts"]}
    # small: 800.00 in 2026 (above); hist: 250.00 after caps, net 100.00.
    assert (side["small"]["year"], side["small"]["year_credits"], side["small"]["year_net"]) \
        == ("2026", "800.00", "800.00")
    assert (side["hist"]["year_credits"], side["hist"]["year_net"]) == ("250.00", "100.00")
    assert (side["small"]["restatements"], side["hist"]["chronic_failures"]) == (1, 1)
    # small failed urgent-first-response in March, median-first-response (normal) and fcr in
    # April: 3 level-periods; hist failed csat in January and February: 2.
    assert (side["small"]["failed"], side["hist"]["failed"]) == (3, 2)
    worst = [(w["contract"], w["service_level"], w["failed"], w["credits"])
             for w in document["portfolio"]["worst_service_levels"]]
    # Most periods failed first (hist csat, 2), then by credits: urgent 500.00, fcr 300.00,
    # median-first-response 0.00.
    assert worst == [("hist", "csat", 2, "150.00"),
                     ("small", "urgent-first-response", 1, "500.00"),
                     ("small", "fcr", 1, "300.00"),
                     ("small", "median-first-response", 1, "0.00")]
    text = cli("history", both).stdout
    assert "Portfolio" in text and "Worst service levels" in text
    # Both contracts are Vendor Inc's: one vendor, their credits to date summed:
    # 800.00 + 250.00 = 1050.00, net 800.00 + 100.00 = 900.00.
    (vendor,) = document["portfolio"]["vendors"]
    assert (vendor["vendor"], vendor["vendor_known"], vendor["contracts"], vendor["clients"]) \
        == ("Vendor Inc", True, ["small", "hist"], ["Client Ltd"])
    assert vendor["to_date"] == [{"currency": "USD", "years": ["2026"], "credits": "1050.00",
                                  "net": "900.00"}]
    assert (vendor["failed"], vendor["restatements"], vendor["chronic_failures"]) == (5, 1, 1)
    assert "Vendor Inc  small, hist  Client Ltd" in text
    assert "1,050.00 USD (2026)  900.00 USD (2026)" in text


def test_one_contract_of_several_has_no_portfolio(both: Path):
    document = history_json(both, "--contract", "hist")
    assert [c["id"] for c in document["contracts"]] == ["hist"]
    assert document["portfolio"] is None


class Page(HTMLParser):
    """What a reader finds on the page: tables by class, charts, text, external references."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[str] = []
        self.svgs = 0
        self.titles: list[str] = []
        self.scripts = 0
        self.references: list[str] = []
        self.text: list[str] = []
        self._title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "table":
            self.tables.append(found.get("class") or "")
        elif tag == "svg":
            self.svgs += 1
        elif tag == "script":
            self.scripts += 1
        elif tag == "title":
            self._title = True
        for name in ("src", "href"):
            if found.get(name):
                self.references.append(str(found[name]))

    def handle_endtag(self, tag: str) -> None:
        self._title = False

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._title:
            self.titles.append(data)


def test_the_html_page_has_tables_and_charts_and_no_network(both: Path, tmp_path: Path):
    out = tmp_path / "history.html"
    done = cli("history", both, "-o", out)
    assert done.exit_code == 0, done.output
    page = Page()
    page.feed(out.read_text())
    assert page.tables.count("portfolio") == 1 and page.tables.count("worst") == 1
    assert page.tables.count("restatements") == 1 and page.tables.count("credits") == 2
    # A trail per service level: small's 4 and hist's 1.
    assert page.tables.count("trail") == 5
    # Charts: credits per period of each contract, credits per vendor, worst levels.
    assert page.svgs == 4
    assert any("credits per vendor" in t for t in page.titles)
    # One vendor (both contracts are Vendor Inc's): one row, naming both contracts.
    assert page.tables.count("vendors") == 1
    words = "".join(page.text)
    assert "small, hist" in words and "Client Client Ltd, vendor Vendor Inc." in words
    assert page.scripts == 0
    assert [r for r in page.references if not r.startswith("#")] == []


def test_text_in_the_page_and_the_markdown_is_escaped(tmp_path: Path):
    from ledger_kit import contract_folder, correct_the_export

    contract = contract_folder(tmp_path)
    ledger = tmp_path / "ledger.db"
    assert cli("evaluate", contract, "--ledger", ledger, "-o", tmp_path / "a.json"
               ).exit_code == 0
    assert cli("ledger", "close", ledger, "--contract", "small", "--period", "2026-03"
               ).exit_code == 0
    correct_the_export(tmp_path)
    reason = '<script>alert("x")</script> | **D-17** & <b>'
    assert cli("evaluate", contract, "--ledger", ledger, "--reason", reason,
               "-o", tmp_path / "b.json").exit_code == 0
    html = cli("history", ledger, "--format", "html").stdout
    assert "<script" not in html and "<b>" not in html
    page = Page()
    page.feed(html)
    assert page.scripts == 0
    assert reason in "".join(page.text)  # shown as the text it is
    markdown = cli("history", ledger, "--format", "md").stdout
    (row,) = [line for line in markdown.splitlines() if "alert" in line]
    assert r"\<script\>" in row and r"\| \*\*D-17\*\*" in row
    # The row keeps its 5 cells: only unescaped pipes separate them.
    assert row.replace(r"\|", "").count("|") == 6
    assert json.loads(cli("history", ledger, "--format", "json").stdout)[
        "contracts"][0]["restatements"][0]["reason"] == reason


# --------------------------------------------------------------------------- refusals


def test_an_unknown_contract_is_exit_2_with_did_you_mean(both: Path):
    done = cli("history", both, "--contract", "hits")
    assert done.exit_code == 2
    assert 'did you mean "hist"?' in done.output and str(both) in done.output
    assert "Traceback" not in done.output


@pytest.mark.parametrize("kind", ["missing", "not sqlite", "another program's", "newer",
                                  "a folder"])
def test_an_unusable_ledger_is_exit_2_naming_it(tmp_path: Path, restated: Path, kind: str):
    path = tmp_path / "ledger.db"
    if kind == "not sqlite":
        path.write_bytes(b"SQLite format 3\x00" + b"\xff" * 200)
    elif kind == "another program's":
        with sqlite3.connect(path) as connection:
            connection.execute("CREATE TABLE notes (x TEXT)")
        connection.close()
    elif kind == "newer":
        copy_ledger(restated, path)
        from ledger_kit import tamper

        tamper(path, "INSERT INTO schema_migrations VALUES (99, '2030-01-01')")
    elif kind == "a folder":
        path.mkdir()
    done = cli("history", path)
    assert done.exit_code == 2, done.output
    assert str(path) in done.output and "Traceback" not in done.output
    if kind == "newer":
        assert "newer" in done.output


def test_an_output_the_format_cannot_be_told_from_or_the_ledger_itself_is_refused(
        restated: Path, tmp_path: Path):
    done = cli("history", restated, "-o", tmp_path / "history.xlsx")
    assert done.exit_code == 2 and "--format" in done.output
    before = restated.read_bytes()
    done = cli("history", restated, "--format", "json", "-o", restated)
    assert done.exit_code == 2 and "ledger itself" in done.output
    assert restated.read_bytes() == before


def test_an_empty_ledger_has_an_empty_history(tmp_path: Path):
    # A ledger whose only append failed: created and migrated, no entry.
    from slaengine.ledger.schema import connect

    connect(tmp_path / "ledger.db", write=True).close()
    document = history_json(tmp_path / "ledger.db")
    assert document["contracts"] == [] and document["ledger"]["entries"] == 0
    validate(document)


def test_the_current_totals_of_one_contract_hold_only_its_own(both: Path):
    # Both contracts have totals for their periods; one contract's current totals must not
    # take the other's periods in.
    with open_ledger(both) as ledger:
        small = ledger.credit_totals("small", latest=True).to_pylist()
    assert {t["contract_id"] for t in small} == {"small"}
    assert sorted(t["label"] for t in small if t["scope"] == "period") == ["2026-03", "2026-04"]


# --------------------------------------------------------------------------- vendors

# A second vendor's contract: the hist contract as "desk", Other Co's for Other Client, without
# earn-back; one answer in January (3: breached, 10% of 1000.00 = 100.00) and one in February
# (5: met). Its year 2026: 100.00 after caps (under the 250.00 cap), nothing back, net 100.00.
DESK = hist.CONTRACT.replace('id = "hist"', 'id = "desk"').replace(
    'client = "Client Ltd"', 'client = "Other Client"').replace(
    'vendor = "Vendor Inc"', 'vendor = "Other Co"').replace("earn_back_periods = 1\n", "")
DESK_TICKETS = "Ticket,Opened,CSAT\nJ1,2026-01-10T10:00:00Z,3\nF1,2026-02-10T10:00:00Z,5\n"


def add_desk(ledger: Path, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    assert "earn_back" not in DESK and 'vendor = "Other Co"' in DESK
    (folder / "tickets.csv").write_text(DESK_TICKETS)
    (folder / "desk.toml").write_text(DESK)
    done = cli("evaluate", folder / "desk.toml", "--ledger", ledger, "-o", folder / "d.json")
    assert done.exit_code == 0, done.output


@pytest.fixture(scope="module")
def vendors(tmp_path_factory: pytest.TempPathFactory, both: Path) -> Path:
    """small and hist (Vendor Inc's), then desk (Other Co's)."""
    folder = tmp_path_factory.mktemp("vendors")
    ledger = copy_ledger(both, folder / "ledger.db")
    add_desk(ledger, folder / "desk")
    return ledger


def test_the_portfolio_puts_vendors_side_by_side(vendors: Path):
    document = history_json(vendors)
    validate(document)
    parties = {c["id"]: (c["client"], c["vendor"]) for c in document["contracts"]}
    assert parties == {"small": ("Client Ltd", "Vendor Inc"), "hist": ("Client Ltd", "Vendor Inc"),
                       "desk": ("Other Client", "Other Co")}
    rows = {v["vendor"]: v for v in document["portfolio"]["vendors"]}
    assert list(rows) == ["Vendor Inc", "Other Co"]
    # Vendor Inc: small 800.00 + hist 250.00 = 1050.00, net 800.00 + 100.00 = 900.00;
    # Other Co: desk alone, 100.00, net 100.00 (nothing of Vendor Inc's in it).
    assert [(t["currency"], t["credits"], t["net"]) for t in rows["Vendor Inc"]["to_date"]] \
        == [("USD", "1050.00", "900.00")]
    assert [(t["currency"], t["credits"], t["net"]) for t in rows["Other Co"]["to_date"]] \
        == [("USD", "100.00", "100.00")]
    assert (rows["Other Co"]["contracts"], rows["Other Co"]["clients"],
            rows["Other Co"]["failed"]) == (["desk"], ["Other Client"], 1)
    assert rows["Other Co"]["periods"] == ["2026-01", "2026-02"]
    # Vendor Inc's periods: small's March and April with hist's January to April.
    assert rows["Vendor Inc"]["periods"] == ["2026-01", "2026-02", "2026-03", "2026-04"]
    side = {p["id"]: p["vendor"] for p in document["portfolio"]["contracts"]}
    assert side == {"small": "Vendor Inc", "hist": "Vendor Inc", "desk": "Other Co"}
    worst = [(w["vendor"], w["contract"], w["service_level"], w["failed"], w["credits"])
             for w in document["portfolio"]["worst_service_levels"]]
    # hist csat failed 2 periods; then 1 period each by credits: 500.00, 300.00, desk's
    # 100.00, 0.00.
    assert worst == [("Vendor Inc", "hist", "csat", 2, "150.00"),
                     ("Vendor Inc", "small", "urgent-first-response", 1, "500.00"),
                     ("Vendor Inc", "small", "fcr", 1, "300.00"),
                     ("Other Co", "desk", "csat", 1, "100.00"),
                     ("Vendor Inc", "small", "median-first-response", 1, "0.00")]


def test_every_format_names_the_vendors(vendors: Path, tmp_path: Path):
    text = cli("history", vendors).stdout
    assert "Portfolio: vendors" in text
    assert "Other Co    desk" in text and "100.00 USD (2026)" in text
    assert "Client Other Client, vendor Other Co" in text
    worst = text.split("Worst service levels")[1]
    assert "Other Co    desk      csat" in worst
    markdown = cli("history", vendors, "--format", "md").stdout
    assert "| Other Co | desk | Other Client | 2026-01 .. 2026-02 | 1 | 100.00 USD (2026) | " \
           "100.00 USD (2026) | 0 | 0 | 0 |" in markdown
    assert "| Other Co | desk | csat | 1 | 0 | 100.00 USD |" in markdown
    page = Page()
    page.feed(cli("history", vendors, "--format", "html").stdout)
    assert page.tables.count("vendors") == 1
    words = "".join(page.text)
    assert "Client Other Client, vendor Other Co." in words
    assert any("credits per vendor" in t for t in page.titles)
    assert "Other Co (2026, USD)" in words  # the chart's bar


def test_a_ledger_written_before_vendors_names_the_contract(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch):
    # hist is recorded by the slaengine of schema 2 (no client, no vendor); desk after the
    # ledger migrated.
    with older_slaengine(monkeypatch, 2):
        ledger = monthly_ledger(tmp_path / "hist")
    add_desk(ledger, tmp_path / "desk")
    assert cli("ledger", "verify", ledger).exit_code == 0
    document = history_json(ledger)
    validate(document)
    hist_ = document["contracts"][0]
    assert (hist_["id"], hist_["client"], hist_["vendor"]) == ("hist", None, None)
    rows = [(v["vendor"], v["vendor_known"], v["contracts"], v["to_date"][0]["credits"])
            for v in document["portfolio"]["vendors"]]
    # hist stands for itself (250.00 after caps, as above); desk is Other Co's (100.00).
    assert rows == [("hist", False, ["hist"], "250.00"), ("Other Co", True, ["desk"], "100.00")]
    assert [w["vendor"] for w in document["portfolio"]["worst_service_levels"]] == [
        "hist", "Other Co"]
    text = cli("history", ledger).stdout
    assert "Client and vendor not recorded" in text


def test_a_vendor_never_adds_two_currencies(tmp_path: Path):
    # desk in USD and a copy of it in EUR, both Other Co's: 100.00 USD and 100.00 EUR, each
    # its own sum, never 200.00.
    ledger = tmp_path / "ledger.db"
    add_desk(ledger, tmp_path / "usd")
    folder = tmp_path / "eur"
    folder.mkdir()
    (folder / "tickets.csv").write_text(DESK_TICKETS)
    (folder / "desk.toml").write_text(DESK.replace('id = "desk"', 'id = "desk-eur"\n'
                                                   'currency = "EUR"'))
    done = cli("evaluate", folder / "desk.toml", "--ledger", ledger, "-o", folder / "d.json")
    assert done.exit_code == 0, done.output
    document = history_json(ledger)
    validate(document)
    (vendor,) = document["portfolio"]["vendors"]
    assert vendor["contracts"] == ["desk", "desk-eur"]
    assert [(t["currency"], t["credits"]) for t in vendor["to_date"]] == [
        ("USD", "100.00"), ("EUR", "100.00")]
    assert "100.00 USD (2026); 100.00 EUR (2026)" in cli("history", ledger).stdout
