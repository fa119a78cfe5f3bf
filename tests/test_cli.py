"""The command line: outputs, exit codes, and errors as one paragraph without a traceback."""

import csv
import json
from pathlib import Path

from click.testing import CliRunner

from slaengine.cli import main
from slaengine.contract import parse_contract

DATA = Path(__file__).parent / "data"
SMALL = str(DATA / "small.toml")


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_evaluate_prints_a_table_and_the_row_accounting():
    result = run("evaluate", SMALL)
    assert result.exit_code == 0, result.output
    assert "urgent-first-response" in result.output
    assert "breached" in result.output
    assert "12 rows read = 9 accepted + 3 rejected" in result.output


def test_evaluate_json_has_the_documented_shape(tmp_path):
    out = tmp_path / "result.json"
    result = run("evaluate", SMALL, "--format", "json", "--output", str(out))
    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text())
    assert set(document) >= {"contract", "manifest", "verdicts", "sources"}
    assert document["contract"]["timezone"] == "America/New_York"
    assert document["sources"]["tickets"] == {
        "adapter": "csv", "path": str((DATA / "small-tickets.csv").resolve()), "read": 12,
        "accepted": 9, "rejected": 3, "duplicates": 0,
        "rejected_by_reason": document["sources"]["tickets"]["rejected_by_reason"],
    }
    by_key = {(v["service_level"], v["period"], json.dumps(v["segment"])): v
              for v in document["verdicts"]}
    # Durations are seconds: the March median first response of urgent tickets is 50 min.
    median = by_key[("median-first-response", "2026-03", '{"priority": "urgent"}')]
    assert median["value"] == 3000.0
    assert median["unit"] == "duration"
    # Rates and compliance are fractions: FCR April 2 of 3 against 80%.
    fcr = by_key[("fcr", "2026-04", "{}")]
    assert fcr["value"] == 2 / 3
    assert abs(fcr["compliance"] - (2 / 3) / 0.8) < 1e-12
    assert fcr["statistic"] == "share"
    assert len(document["manifest"]["contract"]["sha256"]) == 64


def test_output_suffix_chooses_the_format(tmp_path):
    out = tmp_path / "result.json"
    assert run("evaluate", SMALL, "--output", str(out)).exit_code == 0
    assert json.loads(out.read_text())["contract"]["id"] == "small"


def test_fail_on_breached_exits_1_and_critical_exits_0():
    assert run("evaluate", SMALL, "--fail-on", "breached").exit_code == 1
    # No verdict of the fixture falls below a minimum: 50% meets "minimum = 50% within 1h".
    assert run("evaluate", SMALL, "--fail-on", "critical").exit_code == 0


def test_rejects_are_written_out(tmp_path):
    out = tmp_path / "rejects.csv"
    assert run("evaluate", SMALL, "--rejects", str(out)).exit_code == 0
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["field"] for r in rows] == ["created_at", "ticket_id", "csat"]
    assert rows[0]["value"] == "yesterday"
    assert rows[0]["row"] == "11"


def test_bad_contract_exits_2_with_a_message_and_no_traceback(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text((DATA / "small.toml").read_text()
                   .replace('target = "mean >= 4"', 'target = "mean >= 4"\nmin_smaple = 3'))
    result = run("evaluate", str(bad))
    assert result.exit_code == 2
    assert "min_smaple: unknown key" in result.output
    assert 'did you mean "min_sample"?' in result.output
    assert "Traceback" not in result.output


def test_unknown_format_exits_2_with_a_suggestion():
    result = run("evaluate", SMALL, "--format", "jsn")
    assert result.exit_code == 2
    assert 'did you mean "json"?' in result.output


def test_validate(tmp_path):
    result = run("validate", SMALL)
    assert result.exit_code == 0
    assert "ok" in result.output
    moved = tmp_path / "small.toml"
    moved.write_text((DATA / "small.toml").read_text())
    result = run("validate", str(moved))
    assert result.exit_code == 2
    assert "sources.tickets.path: no such file" in result.output


def test_plugins_lists_every_kind():
    result = run("plugins")
    assert result.exit_code == 0
    for word in ("sources:", "csv", "metrics:", "first_response_time", "reporters:", "json",
                 "penalty models:"):
        assert word in result.output


def test_init_writes_a_contract_that_loads():
    result = run("init", "--metric", "first_response_time", "--target", "95% within 1h")
    assert result.exit_code == 0, result.output
    contract = parse_contract(result.output)
    level = contract.service_levels[0]
    assert (level.metric, level.statistic, float(level.target.within)) == (
        "first_response_time", "attainment", 3600.0)


def test_init_rejects_a_bad_target_or_metric():
    result = run("init", "--metric", "csat", "--target", "95% within 1h")
    assert result.exit_code == 2
    assert "needs a duration metric" in result.output
    result = run("init", "--metric", "cstat", "--target", ">= 4")
    assert result.exit_code == 2
    assert 'did you mean "csat"?' in result.output
