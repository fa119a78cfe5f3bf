"""Contract loading: a typo anywhere gives a message that says where, what, and what instead."""

from decimal import Decimal
from pathlib import Path

import pytest

from slaengine.contract import ContractProblems, load_contract
from slaengine.errors import ContractError, SlaError

DATA = Path(__file__).parent / "data"
SMALL = (DATA / "small.toml").read_text()


def broken(tmp_path: Path, old: str, new: str) -> SlaError:
    """Load small.toml with ``old`` replaced by ``new``; return the error it raises."""
    assert old in SMALL, old
    path = tmp_path / "contract.toml"
    path.write_text(SMALL.replace(old, new, 1))
    with pytest.raises(SlaError) as info:
        load_contract(path)
    return info.value


def line_of(text: str) -> int:
    return next(i for i, line in enumerate(SMALL.splitlines(), 1) if text in line)


def test_small_contract_loads():
    contract = load_contract(DATA / "small.toml")
    assert contract.id == "small"
    assert contract.monthly_fee == Decimal("10000.00")
    assert contract.sources["tickets"].path == (DATA / "small-tickets.csv").resolve()
    level = contract.service_level("fcr")
    # No statistic in ">= 80%": the metric's default (share) is filled in.
    assert level.statistic == "share"
    assert level.source == "tickets"  # the only source is the default


def test_misspelt_key_names_file_line_path_and_suggestion(tmp_path):
    error = broken(tmp_path, 'minimum = "50% within 1h"', 'minimun = "50% within 1h"')
    text = error.render()
    assert str(tmp_path / "contract.toml") in text
    assert f"line {line_of('minimum = ')}" in text
    assert "service_levels[0].minimun: unknown key" in text
    assert 'did you mean "minimum"?' in text
    assert "min_sample" in text  # the accepted keys are listed


def test_unknown_metric_lists_the_available_ones(tmp_path):
    error = broken(tmp_path, 'metric = "csat"', 'metric = "cast"')
    text = error.render()
    assert "service_levels[3].metric" in text
    assert 'no metric called "cast"' in text
    assert 'did you mean "csat"?' in text
    assert "first_response_time" in text


def test_bad_target_points_at_the_character(tmp_path):
    error = broken(tmp_path, 'target = "median <= 1h"', 'target = "median = 1h"')
    assert isinstance(error, ContractError)
    assert error.key_path == ("service_levels", 1, "target")
    assert error.line == line_of('target = "median <= 1h"')
    assert "<=" in error.render()


def test_target_in_the_wrong_unit(tmp_path):
    error = broken(tmp_path, 'target = ">= 80%"', 'target = ">= 1h"')
    text = error.render()
    assert "service_levels[2].target" in text
    assert "rate" in text and "%" in text


def test_unknown_adapter(tmp_path):
    error = broken(tmp_path, 'adapter = "csv"', 'adapter = "cvs"')
    text = error.render()
    assert "sources.tickets.adapter" in text
    assert 'did you mean "csv"?' in text


def test_unknown_canonical_field_in_mapping(tmp_path):
    error = broken(tmp_path, 'ticket_id = "Ticket"', 'ticket = "Ticket"')
    text = error.render()
    assert "sources.tickets.fields.ticket" in text
    assert 'did you mean "ticket_id"?' in text


def test_money_must_be_a_string(tmp_path):
    error = broken(tmp_path, 'monthly_fee = "10000.00"', "monthly_fee = 10000.00")
    assert "contract.monthly_fee" in error.render()
    assert "string" in error.render()


def test_unknown_timezone(tmp_path):
    error = broken(tmp_path, 'timezone = "America/New_York"', 'timezone = "America/Nowhere"')
    assert "contract.timezone" in error.render()
    assert "IANA" in error.render()


def test_where_on_a_field_that_is_not_a_category(tmp_path):
    error = broken(tmp_path, 'where = { priority = ["urgent"] }', 'where = { csat = ["5"] }')
    assert "service_levels[0].where.csat" in error.render()


def test_minimum_stricter_than_target(tmp_path):
    error = broken(tmp_path, 'minimum = "50% within 1h"', 'minimum = "90% within 1h"')
    assert "stricter than the target" in error.render()


def test_several_problems_reported_together_in_line_order(tmp_path):
    path = tmp_path / "contract.toml"
    path.write_text(SMALL.replace('metric = "csat"', 'metric = "cast"')
                    .replace('period = "month"', 'period = "monthly"'))
    with pytest.raises(ContractProblems) as info:
        load_contract(path)
    problems = info.value.problems
    assert [p.key_path for p in problems] == [("contract", "period"),
                                             ("service_levels", 3, "metric")]
    assert "2 problems" in info.value.render()


def test_malformed_toml_names_the_line(tmp_path):
    error = broken(tmp_path, 'id = "small"', 'id = "small')
    text = error.render()
    assert "not valid TOML" in text
    assert "line" in text


def test_duplicate_service_level_id(tmp_path):
    error = broken(tmp_path, 'id = "fcr"', 'id = "csat"')
    assert 'already the id of service_levels[' in error.render()


def test_missing_contract_file(tmp_path):
    with pytest.raises(ContractError, match="no such contract file"):
        load_contract(tmp_path / "nope.toml")


def test_example_contract_is_valid():
    contract = load_contract(Path(__file__).parent.parent / "contracts" / "isp-helpdesk.toml")
    assert len(contract.service_levels) >= 8


def test_penalty_key_typo_is_caught_with_a_suggestion(tmp_path):
    path = tmp_path / "contract.toml"
    path.write_text(SMALL + '\n[penalties]\nmodel = "at-risk-pool"\nat_risk = "12%"\n'
                    'allocations = { fcr = "60%" }\nearn_back_period = 3\n')
    with pytest.raises(ContractError) as info:
        load_contract(path)
    text = info.value.render()
    assert "penalties.earn_back_period: unknown key" in text
    assert 'did you mean "earn_back_periods"?' in text
    assert f"line {len(SMALL.splitlines()) + 6}" in text


def test_penalty_allocation_names_a_service_level_that_does_not_exist(tmp_path):
    path = tmp_path / "contract.toml"
    path.write_text(SMALL + '\n[penalties]\nmodel = "at-risk-pool"\nat_risk = "12%"\n'
                    'allocations = { fcrr = "60%" }\n')
    with pytest.raises(ContractError) as info:
        load_contract(path)
    assert 'penalties.allocations.fcrr: no service level called "fcrr"' in info.value.render()
    assert 'did you mean "fcr"?' in info.value.render()


def test_a_default_share_target_over_100_percent_is_an_error(tmp_path):
    # ">= 120%" parses (a rate may pass 100%), but FCR's default statistic is a share.
    error = broken(tmp_path, 'target = ">= 80%"', 'target = ">= 120%"')
    assert "service_levels[2].target" in error.render()
    assert "between 0% and 100%" in error.render()
