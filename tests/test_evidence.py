"""Breach evidence (``--evidence``): a row in index.csv for every failed verdict, and the records
behind it, worst first, with how concentrated a mean or percentile miss is."""

import csv
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from slaengine.cli import main
from slaengine.contract import load_contract
from slaengine.engine import evaluate
from slaengine.evidence import INDEX_COLUMNS, write_evidence_files
from slaengine.verdicts import FAILED, Concentration

ROOT = Path(__file__).parent.parent
DATA = Path(__file__).parent / "data"


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


# --------------------------------------------------------------------------- a hand-built case

CONTRACT = """
[contract]
id = "evidence"
client = "C"
vendor = "V"
monthly_fee = "1000.00"
period = "month"
timezone = "UTC"

[sources.tickets]
adapter = "csv"
path = "tickets.csv"

[sources.costs]
adapter = "csv"
path = "costs.csv"
kind = "costs"

[[service_levels]]
source = "tickets"
id = "csat"
metric = "csat"
target = "mean >= 4.0"

[[service_levels]]
source = "tickets"
id = "aht"
metric = "handle_time"
target = "mean <= 10min"

[[service_levels]]
source = "tickets"
id = "resolution"
metric = "resolution_time"
where = { priority = ["normal"] }
target = "p90 <= 2h"

[[service_levels]]
source = "tickets"
id = "backlog"
metric = "backlog"
target = "<= 1"

[[service_levels]]
source = "tickets"
id = "cost-per-contact"
metric = "cost_per_contact"
inputs = { costs = "costs" }
target = "<= 5"

[[service_levels]]
source = "tickets"
id = "volume"
metric = "ticket_volume"
target = "count <= 100"
"""

START = datetime(2026, 3, 2, tzinfo=UTC)
CSAT = {1: 5, 2: 3, 3: 4, 4: 1, 5: 5, 6: 2}
HANDLE = {1: 300, 2: 1200, 3: 600, 4: 1800}


def _stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _tickets() -> list[list[str]]:
    """B001..B150 (normal, March): created i hours after March 2, resolved i minutes later,
    all answered. O1..O4 (low): the backlog's tickets."""
    rows = []
    for i in range(1, 151):
        created = START + timedelta(hours=i)
        rows.append([f"B{i:03d}", _stamp(created), _stamp(created + timedelta(minutes=1)),
                     _stamp(created + timedelta(minutes=i)), "normal", str(CSAT.get(i, "")),
                     str(HANDLE.get(i, ""))])
    rows += [
        ["O1", "2026-04-05T10:00:00Z", "", "", "low", "", ""],  # never resolved
        ["O2", "2026-04-10T10:00:00Z", "", "2026-05-03T10:00:00Z", "low", "", ""],
        ["O3", "2026-04-12T10:00:00Z", "", "2026-04-20T10:00:00Z", "low", "", ""],
        ["O4", "2026-03-31T23:00:00Z", "", "2026-05-02T10:00:00Z", "low", "", ""],
    ]
    return rows


@pytest.fixture
def case(tmp_path):
    with (tmp_path / "tickets.csv").open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["ticket_id", "created_at", "first_response_at", "resolved_at",
                      "priority", "csat", "handle_seconds"])
        out.writerows(_tickets())
    (tmp_path / "costs.csv").write_text(
        "cost_id,incurred_at,amount\n"
        "K1,2026-03-31T00:00:00Z,1000.00\n"
        "K2,2026-03-15T00:00:00Z,500.00\n"
        "K3,2026-04-15T00:00:00Z,1.00\n")
    path = tmp_path / "evidence.toml"
    path.write_text(CONTRACT)
    folder = tmp_path / "ev"
    result = run("evaluate", path, "--evidence", folder, "--format", "json", "-o",
                 tmp_path / "r.json")
    assert result.exit_code == 0, result.output
    verdicts = json.loads((tmp_path / "r.json").read_text())["verdicts"]
    index = read_csv(folder / "index.csv")
    return SimpleNamespace(path=path, folder=folder, verdicts=verdicts, index=index,
                           row={(r["service_level"], r["period"]): r for r in index})


def test_every_failed_verdict_has_its_row_and_only_those(case):
    failed = sorted((v["service_level"], v["period"]) for v in case.verdicts
                    if v["status"] in FAILED)
    # csat and aht miss in March (means 20/6 and 975 s); resolution in March (p90 135 min;
    # April has no normal ticket: insufficient data); backlog in April (3 open); cost per
    # contact in March (1500.00 / 151 = 9.9338); volume in March (151 tickets).
    assert failed == [("aht", "2026-03"), ("backlog", "2026-04"), ("cost-per-contact", "2026-03"),
                      ("csat", "2026-03"), ("resolution", "2026-03"), ("volume", "2026-03")]
    assert sorted(case.row) == failed and len(case.index) == len(failed)
    assert list(case.index[0]) == list(INDEX_COLUMNS)
    for row in case.index:
        records = read_csv(case.folder / row["file"])
        assert int(row["records"]) == len(records) > 0
        assert {r["period"] for r in records} == {row["period"]}
        assert row["note"] == ""


def _file(case, level, period):
    return read_csv(case.folder / case.row[(level, period)]["file"])


def test_a_mean_shows_the_records_beyond_the_target_worst_first(case):
    # CSAT of B001..B006: 5, 3, 4, 1, 5, 2: mean 20/6 = 3.33 < 4.0. Below 4.0: B002 (3),
    # B004 (1), B006 (2), worst (lowest) first. Without the worst 1% of 6 answers (one: the
    # 1): (5 + 3 + 4 + 5 + 2) / 5 = 19/5 = 3.8.
    rows = _file(case, "csat", "2026-03")
    assert [(r["ticket_id"], r["measure"]) for r in rows] == [("B004", "1"), ("B006", "2"),
                                                            ("B002", "3")]
    row = case.row[("csat", "2026-03")]
    assert float(row["value"]) == pytest.approx(20 / 6)
    assert row["worst_left_out"] == "1" and float(row["value_without_worst"]) == 3.8
    # Handle time of B001..B004: 300, 1200, 600, 1800 s: mean 3900/4 = 975 s > 600 s. Over
    # 600 s: B004 (1800) and B002 (1200), worst (longest) first. Without the 1800:
    # (300 + 1200 + 600) / 3 = 700 s, still a miss: the miss is not one outlier.
    rows = _file(case, "aht", "2026-03")
    assert [(r["ticket_id"], r["measure"]) for r in rows] == [("B004", "1800"),
                                                            ("B002", "1200")]
    row = case.row[("aht", "2026-03")]
    assert float(row["value"]) == 975 and float(row["value_without_worst"]) == 700


def test_a_percentile_shows_its_misses_worst_first_and_the_figure_without_the_worst(case):
    # March, priority normal: B001..B150 resolved in 1..150 minutes. p90 is the nearest rank
    # ceil(0.9 * 150) = 135: 135 min = 8100 s > 2h. Over 2h: B121..B150 (30), longest first.
    # The worst 1% of 150 is ceil(1.5) = 2 (B150, B149); of the 148 left, rank
    # ceil(0.9 * 148) = ceil(133.2) = 134: 134 min = 8040 s.
    rows = _file(case, "resolution", "2026-03")
    assert [r["ticket_id"] for r in rows] == [f"B{i:03d}" for i in range(150, 120, -1)]
    assert [int(r["measure"]) for r in rows] == [60 * i for i in range(150, 120, -1)]
    row = case.row[("resolution", "2026-03")]
    assert float(row["value"]) == 8100
    assert row["worst_left_out"] == "2" and float(row["value_without_worst"]) == 8040


def test_a_backlog_shows_the_tickets_open_at_the_end_of_the_period(case):
    # End of April: O1 (never resolved), O2 (resolved May 3) and O4 (created March 31,
    # resolved May 2) are open: 3 > 1. O3 was resolved on April 20; every B ticket in March.
    # End of March only O4 was open: 1, met.
    rows = _file(case, "backlog", "2026-04")
    assert [r["ticket_id"] for r in rows] == ["O1", "O2", "O4"]
    assert [r["resolved_at"][:10] for r in rows] == ["", "2026-05-03", "2026-05-02"]
    assert set(rows[0]) == {"ticket_id", "period", "created_at", "resolved_at"}
    assert case.row[("backlog", "2026-04")]["value"] == "3.0"
    assert ("backlog", "2026-03") not in case.row


def test_records_excluded_by_agreement_are_not_evidence(case):
    # An outage on April 10 excludes O2 (created 10:00) by agreement: April's backlog is O1 and
    # O4, 2 > 1, still breached; O2 is in no file.
    case.path.write_text(CONTRACT + """
[[exclusions]]
reason = "outage"
from = 2026-04-10T09:00:00
to = 2026-04-10T11:00:00
""")
    folder = case.folder.parent / "ev2"
    assert run("evaluate", case.path, "--evidence", folder).exit_code == 0
    row = next(r for r in read_csv(folder / "index.csv")
               if (r["service_level"], r["period"]) == ("backlog", "2026-04"))
    assert row["value"] == "2.0"
    assert [r["ticket_id"] for r in read_csv(folder / row["file"])] == ["O1", "O4"]


def test_a_cost_per_contact_shows_its_contacts_and_its_cost_lines(case):
    # March's contacts handled: the 150 B tickets (answered) and O4 (created March 31,
    # resolved in May: a resolved ticket was handled). Cost lines K1 + K2 = 1500.00:
    # 1500.00 / 151 = 9.93377... -> 9.9338 > 5. K3 is April's.
    rows = _file(case, "cost-per-contact", "2026-03")
    contacts = [r["ticket_id"] for r in rows if r["input"] == "contacts"]
    costs = [(r["cost_id"], r["amount"]) for r in rows if r["input"] == "costs"]
    assert contacts == [f"B{i:03d}" for i in range(1, 151)] + ["O4"]
    assert sorted(costs) == [("K1", "1000.0000"), ("K2", "500.0000")]  # money: 4 places
    assert len(rows) == 153
    assert Decimal(case.row[("cost-per-contact", "2026-03")]["value"]) == Decimal("9.9338")


def test_a_count_shows_every_record_counted(case):
    # March: B001..B150 and O4 (created March 31, 23:00 UTC): 151 > 100.
    rows = _file(case, "volume", "2026-03")
    assert sorted(r["ticket_id"] for r in rows) == sorted(
        [f"B{i:03d}" for i in range(1, 151)] + ["O4"])


def test_evidence_changes_no_verdict_and_is_kept_only_when_asked(case):
    contract = load_contract(case.path)
    plain = evaluate(contract)
    asked = evaluate(contract, evidence=True)
    assert plain.evidence == {} and plain.concentration == {}
    assert [v.__dict__ for v in plain.verdicts] == [v.__dict__ for v in asked.verdicts]
    assert asked.concentration[("csat", "2026-03", ())] == Concentration(1, 3.8)


# --------------------------------------------------------------------------- the index alone


def _verdict(level, statistic, status="breached", value=1.0):
    return SimpleNamespace(service_level=level, period="2026-03", segment={}, status=status,
                           target="<= 1", statistic=statistic, value=value, missed_count=0)


def test_a_failed_verdict_without_records_says_why(tmp_path):
    verdicts = [_verdict("lv", "value"), _verdict("n", "count"), _verdict("p", "p90"),
                _verdict("ok", "p90", status="met"), _verdict("poor", "p90",
                                                               status="insufficient_data")]
    evaluation = SimpleNamespace(verdicts=verdicts, evidence={}, concentration={}, audit={})
    written = write_evidence_files(evaluation, tmp_path)
    assert written == [Path("index.csv")]
    rows = read_csv(tmp_path / "index.csv")
    assert [(r["service_level"], r["file"], r["records"], r["note"]) for r in rows] == [
        ("lv", "", "", "no records: none fed the period's figure"),
        ("n", "", "", "no records: the period had none"),
        ("p", "", "", "no records: none of the period's records lies beyond the target"),
    ]


# --------------------------------------------------------------------------- real contracts


def test_evidence_holds_the_records_behind_each_breach(tmp_path):
    folder = tmp_path / "evidence"
    assert run("evaluate", DATA / "small.toml", "--evidence", folder).exit_code == 0
    index = read_csv(folder / "index.csv")
    # Breaches: urgent March (T3, T4), median normal April (T9), FCR April (T9), CSAT March
    # (T1, T2, T3, T5, T6 answered 5, 4, 2, 3, 5: mean 19/5 = 3.8 < 4; below 4: T3 (2) and
    # T5 (3)).
    assert sorted((r["service_level"], r["period"], r["records"]) for r in index) == [
        ("csat", "2026-03", "2"),
        ("fcr", "2026-04", "1"),
        ("median-first-response", "2026-04", "1"),
        ("urgent-first-response", "2026-03", "2"),
    ]
    rows = read_csv(folder / "urgent-first-response" / "2026-03.csv")
    # Worst first: T4 never answered (no measure), then T3 answered after 2h = 7200 s.
    assert [(r["ticket_id"], r["measure"]) for r in rows] == [("T4", ""), ("T3", "7200")]
    rows = read_csv(folder / "csat" / "2026-03.csv")
    assert [(r["ticket_id"], r["measure"]) for r in rows] == [("T3", "2"), ("T5", "3")]
    # Without the worst of 5 answers (the 2): (5 + 4 + 3 + 5) / 4 = 4.25: one answer made
    # the miss.
    row = next(r for r in index if r["service_level"] == "csat")
    assert row["worst_left_out"] == "1" and float(row["value_without_worst"]) == 4.25


@pytest.fixture(scope="module")
def helpdesk(tmp_path_factory):
    folder = tmp_path_factory.mktemp("helpdesk")
    out = folder / "r.json"
    result = run("evaluate", ROOT / "contracts" / "isp-helpdesk.toml", "--evidence",
                 folder / "ev", "--format", "json", "-o", out)
    assert result.exit_code == 0, result.output
    verdicts = json.loads(out.read_text())["verdicts"]
    return folder / "ev", verdicts, read_csv(folder / "ev" / "index.csv")


def test_the_helpdesk_example_indexes_every_failed_verdict(helpdesk):
    folder, verdicts, index = helpdesk
    failed = [v for v in verdicts if v["status"] in FAILED]
    # 37: with the New York holidays, first-response-by-priority (low, 2026-02) is met
    assert len(index) == len(failed) == 37
    assert sorted((r["service_level"], r["period"], r["segment"]) for r in index) == sorted(
        (v["service_level"], v["period"], json.dumps(v["segment"])) for v in failed)
    assert all(r["file"] and int(r["records"]) > 0 for r in index)
    on_disk = {p.relative_to(folder).as_posix() for p in folder.rglob("*.csv")}
    assert on_disk == {r["file"] for r in index} | {"index.csv"}


def test_the_helpdesk_files_give_back_each_figure(helpdesk):
    folder, verdicts, index = helpdesk
    value = {(v["service_level"], v["period"], json.dumps(v["segment"])): v for v in verdicts}
    for row in index:
        level, records = row["service_level"], read_csv(folder / row["file"])
        verdict = value[(level, row["period"], row["segment"])]
        if level in ("backlog", "aged-backlog"):  # the tickets open at the period's end
            assert len(records) == verdict["value"]
            assert all(r["resolved_at"] == "" or r["resolved_at"][:7] > row["period"]
                       for r in records)
        elif level == "response-time":  # Σ waited ÷ Σ replies over the tickets listed
            waited = sum(int(r["response_seconds"]) for r in records)
            replies = sum(int(r["replies"]) for r in records)
            assert waited / replies == pytest.approx(verdict["value"], rel=1e-12)
        elif level == "resolution-rate":  # resolved ÷ received
            resolved = sum(1 for r in records if r["resolved_at"])
            assert resolved / len(records) == pytest.approx(verdict["value"], rel=1e-12)
        elif verdict["missed_count"]:  # a per-record target: exactly the records that missed
            assert len(records) == verdict["missed_count"]
        if row["worst_left_out"]:  # a mean or an order statistic, sorted worst first
            measures = [float(r["measure"]) for r in records]
            lower_better = "<" in row["target"]
            assert measures == sorted(measures, reverse=lower_better)
            n = verdict["sample_size"]
            assert int(row["worst_left_out"]) == -(-n // 100)


def test_the_readme_example_of_a_concentrated_miss(helpdesk):
    # README, --evidence: resolution's p90 in 2026-03 is 838,443 s against 5 days, and
    # 821,663 s without its worst 8 of 702 tickets (ceil(702 / 100) = 8).
    index = helpdesk[2]
    row = next(r for r in index if (r["service_level"], r["period"]) == ("resolution", "2026-03"))
    assert (float(row["value"]), row["worst_left_out"], float(row["value_without_worst"])) == (
        838443.0, "8", 821663.0)
    readme = (ROOT / "README.md").read_text()
    assert "838,443 s" in readme and "821,663 s" in readme and "worst 8 of 702" in readme


@pytest.mark.parametrize("first_plain", [True, False])
def test_no_records_file_takes_the_name_of_another_ones_spans_file(first_plain):
    from slaengine.evidence import _Names
    names = _Names()
    texts = ["2026-01_p-x", "2026-01_p-x.intervals"]
    texts = texts if first_plain else texts[::-1]
    chosen = [names.file("lv", text, text) for text in texts]
    files = {f"{n}.csv".casefold() for n in chosen}
    spans = {f"{n}.intervals.csv".casefold() for n in chosen}
    assert len(files) == 2 and not files & spans
