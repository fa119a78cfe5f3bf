"""The command line: outputs, exit codes, and errors as one paragraph without a traceback."""

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
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
    assert "file not found (sources.tickets.path)" in result.output


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


def test_several_outputs_at_once_by_suffix(tmp_path):
    json_out, text_out = tmp_path / "r.json", tmp_path / "r.txt"
    result = run("evaluate", SMALL, "-o", str(json_out), "-o", str(text_out))
    assert result.exit_code == 0, result.output
    assert json.loads(json_out.read_text())["contract"]["id"] == "small"
    assert "urgent-first-response" in text_out.read_text()


def test_verify_confirms_an_untouched_result_and_names_a_changed_input(tmp_path):
    contract = tmp_path / "small.toml"
    contract.write_text((DATA / "small.toml").read_text())
    data = tmp_path / "small-tickets.csv"
    data.write_text((DATA / "small-tickets.csv").read_text())
    out = tmp_path / "result.json"
    assert run("evaluate", str(contract), "-o", str(out)).exit_code == 0
    result = run("verify", str(out))
    assert result.exit_code == 0, result.output
    assert "identical: 10 verdicts" in result.output
    # T8 now answered after 2h instead of 40 min: April urgent drops to 1 of 2.
    data.write_text(data.read_text().replace("2026-04-02T09:40:00-04:00",
                                             "2026-04-02T11:00:00-04:00"))
    result = run("verify", str(out))
    assert result.exit_code == 1
    assert f"changed: input tickets {data}" in result.output
    assert "differs: verdict urgent-first-response 2026-04: value 1.0 → 0.5" in result.output


def test_as_of_shows_the_outlook_of_the_running_period():
    # --as-of 2026-03-16 means up to 2026-03-17 00:00 in New York (EDT, 04:00Z).
    # March runs from 03-01 05:00Z to 04-01 04:00Z: 743 h; 383 h have elapsed: 51.5%.
    # Urgent first response so far: T1, T2 within 1h, T3, T4 not: 2 of 4.
    # Projected sample ceil(4 / 0.5155) = 8, so ~4 more; 75% of 8 = 6 needs 4 more hits.
    out = run("evaluate", SMALL, "--as-of", "2026-03-16", "--format", "json")
    assert out.exit_code == 0, out.output
    document = json.loads(out.output)
    urgent = next(v for v in document["verdicts"]
                  if v["service_level"] == "urgent-first-response" and v["period"] == "2026-03")
    outlook = urgent["outlook"]
    assert abs(outlook["elapsed"] - 383 / 743) < 1e-9
    assert (outlook["projected_sample"], outlook["remaining"]) == (8, 4)
    assert (outlook["needed_within_target"], outlook["achievable"]) == (4, True)
    # T6 to T9 were created after the as-of instant.
    assert document["sources"]["tickets"]["after_as_of"] == 4
    table = run("evaluate", SMALL, "--as-of", "2026-03-16")
    # Wrapped at whole words at 80 columns: read as one line of words.
    assert "needs 4 of the next ~4 records within target" in " ".join(table.output.split())


def test_as_of_must_be_a_date():
    result = run("evaluate", SMALL, "--as-of", "mid-March")
    assert result.exit_code == 2
    assert "--as-of" in result.output


def test_validate_accepts_a_glob_path_that_matches(tmp_path):
    # A Zendesk export is often a glob of page files: validate checks that it matches.
    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / "page-1.json").write_text('{"tickets": []}')
    contract = ('[contract]\nid = "z"\nclient = "C"\nvendor = "V"\n'
                '[sources.zd]\nadapter = "zendesk"\npath = "pages/page-*.json"\n'
                '[[service_levels]]\nid = "volume"\nmetric = "ticket_volume"\n'
                'target = "count <= 5"\n')
    (tmp_path / "c.toml").write_text(contract)
    assert run("validate", str(tmp_path / "c.toml")).exit_code == 0
    (tmp_path / "c.toml").write_text(contract.replace("page-*", "pgae-*"))
    result = run("validate", str(tmp_path / "c.toml"))
    assert result.exit_code == 2
    assert "no file matches the pattern (sources.zd.path)" in result.output


def test_verify_names_a_changed_page_of_a_folder_source(tmp_path):
    # A folder of export pages is hashed file by file: touching one page is caught.
    import shutil

    shutil.copytree(DATA / "zendesk" / "pages", tmp_path / "pages")
    (tmp_path / "c.toml").write_text(
        '[contract]\nid = "z"\nclient = "C"\nvendor = "V"\n'
        '[sources.zd]\nadapter = "zendesk"\npath = "pages"\n'
        '[[service_levels]]\nid = "volume"\nmetric = "ticket_volume"\ntarget = "count <= 5"\n')
    out = tmp_path / "r.json"
    assert run("evaluate", str(tmp_path / "c.toml"), "-o", str(out)).exit_code == 0
    assert len(json.loads(out.read_text())["manifest"]["inputs"]["zd"]["files"]) >= 2
    assert run("verify", str(out)).exit_code == 0
    page = sorted((tmp_path / "pages").iterdir())[0]
    page.write_bytes(page.read_bytes() + b"\n")
    result = run("verify", str(out))
    assert result.exit_code == 1
    assert f"changed: input zd {tmp_path / 'pages'}" in result.output


def test_the_table_says_how_long_the_clock_was_paused(tmp_path):
    # T1 held 3600 s and T3 7200 s (T2 none): 3h paused in March.
    (tmp_path / "t.csv").write_text(
        "id,created,resolved,hold\n"
        "T1,2026-03-02T09:00:00Z,2026-03-02T11:00:00Z,3600\n"
        "T2,2026-03-02T10:00:00Z,2026-03-02T15:00:00Z,\n"
        "T3,2026-03-03T11:00:00Z,2026-03-04T17:00:00Z,7200\n")
    (tmp_path / "c.toml").write_text(
        '[contract]\nid = "p"\nclient = "C"\nvendor = "V"\n'
        '[sources.t]\nadapter = "csv"\npath = "t.csv"\n'
        'fields = { ticket_id = "id", created_at = "created", resolved_at = "resolved", '
        'on_hold_seconds = "hold" }\n'
        '[[service_levels]]\nid = "res"\nmetric = "resolution_time"\ntarget = "max <= 30h"\n'
        'pause = ["on_hold"]\n')
    result = run("evaluate", str(tmp_path / "c.toml"))
    assert "service level res: the clock stood still for 3h on hold in all" in result.output


# --------------------------------------------------------------------------- broken plugins


def _install_broken_plugins(monkeypatch):
    """The installed plugins plus three broken ones: one whose module does not import, one
    whose hook raises, one that offers something that is not a metric."""
    import sys
    import types
    from importlib import metadata

    from slaengine import hookimpl
    from slaengine.pluginmanager import metadata as used

    raising = types.ModuleType("acme_raising")
    raising.register_metrics = hookimpl(lambda: 1 / 0)
    wrong = types.ModuleType("acme_wrong")
    wrong.register_reporters = hookimpl(lambda: ["not a reporter"])
    monkeypatch.setitem(sys.modules, "acme_raising", raising)
    monkeypatch.setitem(sys.modules, "acme_wrong", wrong)
    real = used.entry_points

    def entry_points(**kwargs):
        found = list(real(**kwargs))
        if kwargs.get("group") == "slaengine":
            found += [metadata.EntryPoint("acme-missing", "acme_no_such_module", "slaengine"),
                      metadata.EntryPoint("acme-raising", "acme_raising", "slaengine"),
                      metadata.EntryPoint("acme-wrong", "acme_wrong", "slaengine")]
        return found

    monkeypatch.setattr(used, "entry_points", entry_points)


def test_plugins_lists_a_broken_plugin_with_its_error(monkeypatch):
    _install_broken_plugins(monkeypatch)
    result = run("plugins")
    assert result.exit_code == 0, result.output
    assert "first_response_time" in result.output and "json" in result.output
    lines = result.stdout.splitlines()
    broken = lines[lines.index("failed to load (not in use):") + 1:]
    assert len(broken) == 3
    assert "acme-missing" in broken[0] and "ModuleNotFoundError" in broken[0]
    assert "acme-raising" in broken[1] and "ZeroDivisionError" in broken[1]
    assert "acme-wrong" in broken[2] and "not a slaengine.plugin.Reporter" in broken[2]
    assert result.stderr == ""


def test_other_commands_work_beside_a_broken_plugin_and_warn_once(monkeypatch, tmp_path):
    _install_broken_plugins(monkeypatch)
    result = run("evaluate", SMALL)
    assert result.exit_code == 0, result.output
    assert "12 rows read = 9 accepted + 3 rejected" in result.stdout
    warnings = result.stderr.splitlines()
    assert len(warnings) == 3 and all(w.startswith("warning: plugin acme-") for w in warnings)
    result = run("validate", SMALL)
    assert result.exit_code == 0, result.output
    assert len(result.stderr.splitlines()) == 3
    # A contract naming a metric nobody offers: the error names the plugins that failed.
    bad = tmp_path / "c.toml"
    bad.write_text((DATA / "small.toml").read_text().replace('metric = "csat"',
                                                             'metric = "acme_metric"')
                   .replace('path = "small-tickets.csv"',
                            f'path = "{DATA / "small-tickets.csv"}"'))
    result = run("evaluate", str(bad))
    assert result.exit_code == 2
    assert 'no metric called "acme_metric"' in result.stderr
    assert "acme-raising" in result.stderr and "ZeroDivisionError" in result.stderr


def test_two_installed_plugins_offering_one_name_are_both_left_out(monkeypatch):
    import sys
    import types
    from importlib import metadata

    import pytest

    from slaengine import hookimpl
    from slaengine.pluginmanager import PluginWarning, build_registry
    from slaengine.pluginmanager import metadata as used
    from slaengine.plugins.metrics.csat import Csat

    class Twin(Csat):
        name = "twin"

    real = used.entry_points
    for module in ("acme_one", "acme_two"):
        plugin = types.ModuleType(module)
        plugin.register_metrics = hookimpl(lambda: [Twin()])
        monkeypatch.setitem(sys.modules, module, plugin)
    monkeypatch.setattr(used, "entry_points", lambda **kw: [
        *real(**kw), metadata.EntryPoint("acme-one", "acme_one", "slaengine"),
        metadata.EntryPoint("acme-two", "acme_two", "slaengine")])
    with pytest.warns(PluginWarning, match='two plugins register a metric called "twin"'):
        registry = build_registry()
    # Neither is chosen silently: both are out, the others are in use.
    assert set(registry.broken) == {"acme-one", "acme-two"}
    assert "twin" not in registry.metrics and "csat" in registry.metrics


def test_fail_on_names_the_failing_verdicts_on_one_line():
    result = CliRunner().invoke(main, ["evaluate", SMALL, "--fail-on", "breached"])
    assert result.exit_code == 1
    # The fixture's four breached verdicts (worked out in tests/test_engine.py), in report order.
    assert result.stderr.splitlines()[-1] == (
        "fail-on breached: 4 breached verdicts: urgent-first-response 2026-03, "
        "median-first-response 2026-04 (priority=normal), fcr 2026-04, csat 2026-03")
    passed = CliRunner().invoke(main, ["evaluate", SMALL, "--fail-on", "critical"])
    assert passed.exit_code == 0 and "fail-on" not in passed.stderr


def test_fail_on_line_shortens_a_long_list():
    from types import SimpleNamespace

    from slaengine.cli.evaluation import _fail_on_line

    verdicts = [SimpleNamespace(status="breached" if i % 4 else "critical", segment={},
                                service_level=f"sl{i}", period="2026-03") for i in range(8)]
    # 8 verdicts: i = 0 and 4 critical, 6 breached; 5 named, 3 more.
    assert _fail_on_line("breached", verdicts) == (
        "fail-on breached: 6 breached and 2 critical verdicts: sl0 2026-03, sl1 2026-03, "
        "sl2 2026-03, sl3 2026-03, sl4 2026-03 and 3 more")
    assert _fail_on_line("critical", verdicts) == (
        "fail-on critical: 2 critical verdicts: sl0 2026-03, sl4 2026-03")
    assert _fail_on_line("critical", verdicts[1:4]) is None


@pytest.mark.parametrize("command", [
    ["validate", "--debug", "missing.toml"], ["evaluate", "--debug", "missing.toml"],
    ["inspect", "--debug", "missing.csv"], ["metrics", "--debug", "nope"],
    ["plugins", "--debug", "nope"], ["--debug", "validate", "missing.toml"],
])
def test_debug_works_before_and_after_the_command(command):
    result = CliRunner().invoke(main, command)
    assert result.exception is not None and not isinstance(result.exception, SystemExit)
    quiet = CliRunner().invoke(main, [c for c in command if c != "--debug"])
    assert quiet.exit_code == 2 and isinstance(quiet.exception, SystemExit)


@pytest.mark.parametrize("flag", ["-V", "--version"])
def test_version(flag):
    from slaengine import __version__

    result = run(flag)
    assert result.exit_code == 0 and result.output == f"slaengine, version {__version__}\n"


def test_inspect_missing_or_bad_data_exits_2(tmp_path):
    assert run("inspect", str(tmp_path / "missing.csv")).exit_code == 2
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"not parquet at all")
    result = run("inspect", str(bad))
    assert result.exit_code == 2 and "Traceback" not in result.output
    contract = tmp_path / "c.toml"
    contract.write_text((DATA / "small.toml").read_text().replace(
        "small-tickets.csv", str(DATA / "small-tickets.csv")).replace('"Opened"', '"Openned"'))
    result = run("inspect", str(contract))  # a mapped column the data lacks
    assert result.exit_code == 2 and "Openned" in result.output


def test_text_that_looks_like_markup_is_shown(tmp_path):
    data = tmp_path / "[x].csv"
    data.write_text("[id],[bold]when[/]\n1,2\n")
    result = run("inspect", str(data))
    # The note names the table to write the mapping in; the columns are shown as written.
    assert "[sources.[x].csv]" in result.output
    assert "[id]" in result.output and "[bold]when[/]" in result.output
    assert f"path: {data}" in result.output


COLOUR = re.compile(r"\x1b\[[0-9;]*(3[0-9]|9[0-7]|38;)")
STYLE = re.compile(r"\x1b\[[0-9;]*m")


@pytest.mark.parametrize("command", [["inspect", str(DATA / "small-tickets.csv")], ["metrics"]])
def test_no_color_and_force_color_are_honoured(command):
    forced = subprocess.run([sys.executable, "-m", "slaengine.cli", *command],
                            capture_output=True, text=True,
                            env={**{k: v for k, v in os.environ.items() if k != "NO_COLOR"},
                                 "FORCE_COLOR": "1"})
    assert STYLE.search(forced.stdout), forced.stdout[:300]
    plain = subprocess.run([sys.executable, "-m", "slaengine.cli", *command],
                           capture_output=True, text=True,
                           env={**os.environ, "FORCE_COLOR": "1", "NO_COLOR": "1"})
    assert plain.returncode == forced.returncode
    assert not COLOUR.search(plain.stdout + plain.stderr)


def test_output_dash_writes_to_stdout():
    result = run("evaluate", SMALL, "--format", "json", "-o", "-")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["contract"]["id"] == "small"
