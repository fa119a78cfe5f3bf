"""Options a user can find: metric and plugin keys listed from their schemas, docstrings as
plain text, a commented starter contract, and a fields mapping proposed from a data file."""

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from slaengine.cli import main
from slaengine.contract import parse_contract
from slaengine.describe import plain_text
from slaengine.inspect import propose_fields
from slaengine.pluginmanager import build_registry

ROOT = Path(__file__).parent.parent
DATA = ROOT / "tests" / "data"
REGISTRY = build_registry()


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def nested_keys(schema):
    for key, rule in schema.items():
        yield key
        inner = rule.get("schema")
        if isinstance(inner, dict) and inner.get("type") == "dict":
            inner = inner.get("schema")
        if isinstance(inner, dict) and all(isinstance(r, dict) for r in inner.values()):
            yield from nested_keys(inner)


@pytest.mark.parametrize("name", REGISTRY.names("metric"))
def test_metrics_name_lists_every_option_and_reads_as_plain_text(name):
    result = run("metrics", name)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith(f"metric {name}  [")
    for key in REGISTRY.metrics[name].schema:
        assert any(line.startswith(f"  {key} ") for line in lines), key
    if not REGISTRY.metrics[name].schema:
        assert "options: none" in lines
    assert "``" not in result.output and ":func:" not in result.output
    assert ":class:" not in result.output and ":data:" not in result.output


def test_metrics_name_shows_the_options_the_issue_names():
    # older_than (aged_backlog), within and short_abandon (abandonment_rate / service_level),
    # lifespan_years (customer_lifetime_value).
    found = {name: run("metrics", name).output for name in REGISTRY.names("metric")}
    for option in ("older_than", "short_abandon", "lifespan_years"):
        assert any(f"\n  {option} " in text for text in found.values()), option
    assert '  older_than  text; default "7d"' in found["aged_backlog"]


@pytest.mark.parametrize("name", REGISTRY.names("penalty model"))
def test_plugins_name_lists_every_penalty_model_key(name):
    result = run("plugins", name)
    assert result.exit_code == 0, result.output
    for key in nested_keys(REGISTRY.penalty_models[name].schema):
        assert f" {key} " in result.output, key
    assert "cap_per_period" in result.output  # the keys every model accepts
    assert "``" not in result.output


def test_plugins_name_shows_every_plugin_of_that_name():
    # "csv" is a source and a reporter.
    result = run("plugins", "csv")
    assert result.exit_code == 0
    assert "source csv  [" in result.output and "reporter csv  [" in result.output
    assert "  delimiter " in result.output and "--output FILE.csv" in result.output


@pytest.mark.parametrize("args", [("metrics", "csta"), ("plugins", "tierd")])
def test_an_unknown_name_exits_2_with_a_suggestion(args):
    result = run(*args)
    assert result.exit_code == 2
    assert "did you mean" in result.output and "Traceback" not in result.output


def test_plain_text_renders_rest():
    doc = """Title with ``code`` and :func:`slaengine.targets.parse_target`.

        A second paragraph naming :data:`~slaengine.schema.NAME` and :class:`Metric`.

        Example::

            target = "95% within 1h"
        """
    assert plain_text(doc) == (
        "Title with `code` and slaengine.targets.parse_target.\n\n"
        "A second paragraph naming NAME and Metric.\n\n"
        "Example:\n\n"
        '    target = "95% within 1h"')


def test_init_writes_a_commented_contract_that_parses():
    result = run("init")
    assert result.exit_code == 0, result.output
    text = result.output
    parse_contract(text, registry=REGISTRY)
    lines = text.splitlines()
    for header in ("[contract]", "[sources.tickets]", "[sources.tickets.fields]",
                   "[[service_levels]]"):
        at = lines.index(header)
        assert lines[at - 1].startswith("#"), header  # each section is explained above it
    assert "# [penalties]" in text


@pytest.mark.parametrize("metric,target", [("csat", ">= 4"), ("resolution_time", "p90 <= 2d"),
                                           ("first_contact_resolution", ">= 80%")])
def test_init_metric_and_target_still_work(metric, target):
    result = run("init", "--metric", metric, "--target", target, "--timezone", "Europe/Paris",
                 "--id", "acme")
    assert result.exit_code == 0, result.output
    contract = parse_contract(result.output, registry=REGISTRY)
    (level,) = contract.service_levels
    assert (contract.id, contract.timezone, level.metric) == ("acme", "Europe/Paris", metric)


def test_init_rejects_an_unknown_metric_and_a_metric_without_a_default_target():
    assert run("init", "--metric", "csta", "--target", ">= 4").exit_code == 2
    result = run("init", "--metric", "csat")
    assert result.exit_code == 2 and "--target" in result.output


@pytest.mark.parametrize("data", [DATA / "small-tickets.csv", ROOT / "examples/data/tickets.csv"])
def test_init_from_data_agrees_with_validate_and_evaluate(data, tmp_path, monkeypatch):
    shutil.copy(data, tmp_path / data.name)
    monkeypatch.chdir(tmp_path)
    result = run("init", "--from", data.name)
    assert result.exit_code == 0, result.output
    (tmp_path / "c.toml").write_text(result.output)
    assert run("validate", "c.toml").exit_code == 0
    evaluated = run("evaluate", "c.toml")
    assert evaluated.exit_code == 0, evaluated.output


def test_init_from_data_in_a_folder_names_the_path_as_given(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    shutil.copy(DATA / "small-tickets.csv", tmp_path / "data" / "t.csv")
    monkeypatch.chdir(tmp_path)
    result = run("init", "--from", "data/t.csv")
    assert 'path = "data/t.csv"' in result.output
    (tmp_path / "c.toml").write_text(result.output)
    assert run("evaluate", "c.toml").exit_code == 0


def test_init_from_the_small_fixture_proposes_its_hand_written_mapping():
    result = run("init", "--from", str(DATA / "small-tickets.csv"))
    proposed = parse_contract(result.output, registry=REGISTRY).sources["tickets"]
    hand = parse_contract((DATA / "small.toml").read_text(), registry=REGISTRY,
                          path=DATA / "small.toml").sources["tickets"]
    assert proposed.fields == hand.fields


@pytest.mark.parametrize("columns,expected", [
    (["Ticket ID", "Created", "First Reply", "Solved"],
     {"ticket_id": "Ticket ID", "created_at": "Created", "first_response_at": "First Reply",
      "resolved_at": "Solved"}),
    (["ticket_id", "created_at", "resolved_at"],
     {"ticket_id": "ticket_id", "created_at": "created_at", "resolved_at": "resolved_at"}),
    (["Case Number", "Opened At", "First Response (UTC)", "Closed", "Assignee", "Team"],
     {"ticket_id": "Case Number", "created_at": "Opened At",
      "first_response_at": "First Response (UTC)", "resolved_at": "Closed",
      "group": "Team", "agent": "Assignee"}),
    (["id", "Created", "CREATED_AT"],  # the canonical name wins over a synonym
     {"ticket_id": "id", "created_at": "CREATED_AT"}),
    (["Handle (s)", "Ticket", "Opened", "Priority"],
     {"ticket_id": "Ticket", "created_at": "Opened", "priority": "Priority",
      "handle_seconds": "Handle (s)"}),
    (["foo", "bar"], {}),
])
def test_propose_fields(columns, expected):
    assert propose_fields(columns) == expected


def test_init_from_data_without_an_id_or_time_column_exits_2(tmp_path):
    data = tmp_path / "x.csv"
    data.write_text("foo,bar\n1,2\n")
    result = run("init", "--from", str(data))
    assert result.exit_code == 2
    assert "ticket_id or created_at" in result.output and "foo, bar" in result.output


def test_init_from_a_missing_file_exits_2(tmp_path):
    result = run("init", "--from", str(tmp_path / "nope.csv"))
    assert result.exit_code == 2 and "no such file" in result.output
