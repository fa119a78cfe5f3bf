"""Plugins: the built-ins load through entry points; clashes and failures name the plugin."""

import inspect
import pathlib
import types

import pytest

from slaengine import hookimpl, hookspecs
from slaengine.contract import load_contract
from slaengine.engine import evaluate
from slaengine.errors import PluginError, SlaError
from slaengine.plugin import Metric
from slaengine.pluginmanager import build_registry

DATA = pathlib.Path(__file__).parent / "data"


def plugin_module(name: str, **hooks) -> types.ModuleType:
    module = types.ModuleType(name)
    for hook_name, func in hooks.items():
        setattr(module, hook_name, hookimpl(func))
    return module


class Shouty(Metric):
    """A metric whose measure always fails, as a buggy third-party plugin might."""

    name = "shouty"
    requires = ("csat",)
    unit = "score"
    better = "higher"
    default_statistic = "mean"

    def measure(self, table, context):
        raise ZeroDivisionError("boom")


def test_builtins_are_found_through_entry_points():
    registry = build_registry()
    assert {"first_response_time", "resolution_time", "handle_time", "first_contact_resolution",
            "csat", "nps", "ticket_volume"} <= set(registry.names("metric"))
    assert "csv" in registry.names("source")
    assert {"table", "json"} <= set(registry.names("reporter"))
    origin = registry.origin("metric", "csat")
    assert (origin.plugin, origin.distribution) == ("metric-csat", "slaengine")


def test_duplicate_name_names_both_plugins():
    class OtherCsat(Shouty):
        name = "csat"

    extra = plugin_module("acme_metrics", register_metrics=lambda: [OtherCsat()])
    with pytest.raises(PluginError) as info:
        build_registry([extra])
    text = info.value.render()
    assert 'two plugins register a metric called "csat"' in text
    assert "metric-csat (slaengine" in text
    assert "acme_metrics" in text


def test_misspelt_hook_fails_loudly():
    extra = types.ModuleType("typo_plugin")

    def register_metric():  # missing "s": no such hook
        return []

    extra.register_metric = hookimpl(register_metric)
    with pytest.raises(PluginError, match="register_metric"):
        build_registry([extra])


def test_registered_object_of_the_wrong_kind():
    extra = plugin_module("wrong_kind", register_metrics=lambda: ["csat"])
    with pytest.raises(PluginError, match=r"is not a slaengine\.plugin\.Metric"):
        build_registry([extra])


def test_failure_inside_a_plugin_names_the_plugin(tmp_path):
    extra = plugin_module("shouty_plugin", register_metrics=lambda: [Shouty()])
    registry = build_registry([extra])
    text = (DATA / "small.toml").read_text().replace('metric = "csat"', 'metric = "shouty"')
    path = tmp_path / "c.toml"
    path.write_text(text)
    (tmp_path / "small-tickets.csv").write_bytes((DATA / "small-tickets.csv").read_bytes())
    contract = load_contract(path, registry)
    with pytest.raises(PluginError) as info:
        evaluate(contract, registry)
    text = info.value.render()
    assert 'metric "shouty" from plugin shouty_plugin' in text
    assert "ZeroDivisionError: boom" in text


def test_a_third_party_metric_is_evaluated_like_a_builtin(tmp_path):
    class LowScores(Metric):
        """Share of answers at 2 or below: the unhappy customers."""

        name = "unhappy"
        requires = ("csat",)
        unit = "boolean"
        better = "lower"
        default_statistic = "share"

        def measure(self, table, context):
            import pyarrow.compute as pc

            return pc.less_equal(table["csat"], 2)

    extra = plugin_module("unhappy_plugin", register_metrics=lambda: [LowScores()])
    registry = build_registry([extra])
    text = (DATA / "small.toml").read_text().replace(
        'metric = "csat"\ntarget = "mean >= 4"', 'metric = "unhappy"\ntarget = "<= 10%"')
    path = tmp_path / "c.toml"
    path.write_text(text)
    (tmp_path / "small-tickets.csv").write_bytes((DATA / "small-tickets.csv").read_bytes())
    evaluation = evaluate(load_contract(path, registry), registry)
    # March answers 5, 4, 2, 3, 5: one of five at 2 or below = 20% > 10%: breached.
    verdict = evaluation.verdict("csat", "2026-03")
    assert (verdict.value, verdict.status) == (0.2, "breached")


def test_every_hook_has_a_docstring_and_a_test():
    specs = [f for name, f in inspect.getmembers(hookspecs, inspect.isfunction)
             if name.startswith("register_")]
    assert len(specs) == 4
    here = pathlib.Path(__file__).parent
    tests = "".join(p.read_text() for p in here.glob("test_*.py"))
    for spec in specs:
        assert spec.__doc__ and "return" in spec.__doc__, spec.__name__
        assert spec.__name__ in tests, f"no test mentions {spec.__name__}"


def test_register_penalty_models_hook_feeds_contract_validation(tmp_path):
    from slaengine.plugin import PenaltyModel

    class Flat(PenaltyModel):
        """A flat amount per breach."""

        name = "flat"
        schema = {"amount": {"type": "string", "required": True}}

    extra = plugin_module("flat_plugin", register_penalty_models=lambda: [Flat()])
    registry = build_registry([extra])
    text = (DATA / "small.toml").read_text() + '\n[penalties]\nmodel = "flat"\namout = "5"\n'
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(SlaError) as info:
        load_contract(path, registry)
    rendered = info.value.render()
    assert "penalties.amout: unknown key" in rendered
    assert 'did you mean "amount"?' in rendered
    assert "penalties.amount: required key is missing" in rendered


def test_third_party_source_and_reporter(tmp_path):
    import io

    import pyarrow as pa

    from slaengine.fields import TICKETS
    from slaengine.plugin import REJECT_SCHEMA, Reporter, Source, SourceBatch

    class Fixed(Source):
        """Two tickets from memory, the way a database or API source would hand them over."""

        name = "fixed"
        schema = {"rows": {"type": "integer"}}

        def read(self, config, fields):
            table = pa.table({"ticket_id": ["A", "B"],
                              "created_at": pa.array([0, 3_600_000_000], pa.int64())})
            table = table.set_column(1, "created_at", table["created_at"].cast(
                TICKETS.fields["created_at"]))
            yield SourceBatch(records=table.select(fields), read=2,
                              rejected=REJECT_SCHEMA.empty_table())

    class Count(Reporter):
        """One line: how many verdicts."""

        name = "count"

        def write(self, evaluation, stream):
            stream.write(f"{len(evaluation.verdicts)} verdicts\n")

    extra = plugin_module("fixed_plugin", register_sources=lambda: [Fixed()],
                          register_reporters=lambda: [Count()])
    registry = build_registry([extra])
    path = tmp_path / "c.toml"
    path.write_text(
        '[contract]\nid = "x"\nclient = "C"\nvendor = "V"\n'
        '[sources.memory]\nadapter = "fixed"\npath = "."\nrows = 2\n'
        '[[service_levels]]\nid = "volume"\nmetric = "ticket_volume"\ntarget = "count <= 5"\n'
    )
    evaluation = evaluate(load_contract(path, registry), registry)
    # Both tickets were created on 1970-01-01 (UTC): one period, 2 <= 5: met.
    assert evaluation.verdict("volume", "1970-01").value == 2
    assert evaluation.verdict("volume", "1970-01").status == "met"
    out = io.StringIO()
    registry.reporters["count"].write(evaluation, out)
    assert out.getvalue() == "1 verdicts\n"


def test_former_module_name_of_the_plugin_types_still_works_and_warns() -> None:
    """A plugin written against 0.1 imports ``slaengine.kinds``: it gets the same types."""
    import subprocess
    import sys

    program = ("import warnings; warnings.simplefilter('always')\n"
               "with warnings.catch_warnings(record=True) as seen:\n"
               "    from slaengine.kinds import Metric, REJECT_SCHEMA\n"
               "import slaengine.plugin as p\n"
               "assert Metric is p.Metric and REJECT_SCHEMA.names == p.REJECT_SCHEMA.names\n"
               "print([str(w.message) for w in seen if w.category is DeprecationWarning])\n")
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                          check=True)
    assert "slaengine.kinds is now slaengine.plugin" in done.stdout
