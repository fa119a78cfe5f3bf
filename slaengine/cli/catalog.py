"""``plugins``, ``metrics``, ``schema`` and ``init``: what the installation offers, and a
starter contract and JSON Schemas to write contracts with."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import click

from slaengine.cli.common import debug_option, echo, may_be_terminal, rich_console, run_body
from slaengine.errors import SlaError, UsageError, did_you_mean
from slaengine.text import printable


@click.command()
@debug_option
@click.argument("name", required=False)
def plugins(name: str | None) -> None:
    """List the installed plugins: sources, metrics, reporters and penalty models.

    With NAME: that plugin's description and the keys it accepts in a contract.
    """

    def body() -> int:
        from slaengine.pluginmanager import PLUGIN_TYPES, PluginWarning, build_registry

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PluginWarning)  # listed below instead
            registry = build_registry()
        if name is not None:
            _show_plugin(registry, name)
            return 0
        for kind in PLUGIN_TYPES:
            names = registry.names(kind)
            echo(f"{kind}s:" if names else f"{kind}s: (none installed)")
            for found in names:
                obj = registry.get(kind, found)
                echo(f"  {found:28} {_summary(obj)}  [{registry.origin(kind, found)}]")
        if registry.broken:
            echo("failed to load (not in use):")
            for broken, why in sorted(registry.broken.items()):
                echo(f"  {broken:28} {printable(why, newlines=False)}")
        return 0

    run_body(body)


def _summary(obj: Any) -> str:
    from slaengine.describe import summary

    return summary(type(obj).__doc__)


def _show_plugin(registry: Any, name: str) -> None:
    """Every installed plugin object called ``name`` (a source and a reporter may share one),
    with the keys a contract may give it."""
    from slaengine.describe import key_lines, plain_text
    from slaengine.pluginmanager import PLUGIN_TYPES
    from slaengine.schema import SOURCE_KEYS

    found = [(kind, registry.objects[kind][name]) for kind in PLUGIN_TYPES
             if name in registry.objects.get(kind, {})]
    if not found:
        every = sorted({n for kind in PLUGIN_TYPES for n in registry.names(kind)})
        raise UsageError(f'no plugin called "{name}"' + registry.broken_note(),
                         suggestion=did_you_mean(name, every), accepted=every)
    blocks = []
    for kind, obj in found:
        lines = [f"{kind} {name}  [{registry.origin(kind, name)}]"]
        if kind == "metric":
            lines += _metric_lines(obj)
        elif kind == "source":
            lines += [f"keys in [sources.NAME] with adapter = \"{name}\":",
                      *key_lines({**SOURCE_KEYS, **obj.schema})]
        elif kind == "penalty model":
            from slaengine.credits.schema import PENALTY_COMMON_SCHEMA

            own = obj.schema
            lines += [f"keys in [penalties] with model = \"{name}\":",
                      *(key_lines(own) or ["  (none of its own)"]),
                      "keys every penalty model accepts:", *key_lines(PENALTY_COMMON_SCHEMA)]
        elif kind == "reporter":
            suffix = getattr(obj, "suffix", None)
            lines.append(f"--format {name}" + (f", or --output FILE{suffix}" if suffix else ""))
        lines += ["", plain_text(type(obj).__doc__)]
        blocks.append("\n".join(lines).rstrip())
    echo("\n\n".join(blocks))


def _metric_lines(metric: Any) -> list[str]:
    """A metric's facts, then the keys its service level's ``options`` accept."""
    from slaengine.describe import key_lines

    kinds, fields = _metric_inputs(metric)
    lines = [f"kinds: {kinds}", f"unit: {metric.unit}, {metric.better} is better, "
             f"default statistic: {metric.default_statistic}", f"fields: {fields}",
             f"formula: {metric.formula}"]
    options = key_lines(metric.schema)
    if options:
        lines += ["options (options = { ... } in its [[service_levels]]):", *options]
    else:
        lines.append("options: none")
    return lines


def _metric_inputs(metric: Any) -> tuple[str, str]:
    """A metric's record kinds and the fields it reads, in words."""
    from slaengine.fields import RECORD_KINDS
    from slaengine.plugin import PeriodMetric

    if isinstance(metric, PeriodMetric):
        kinds = " + ".join("/".join(i.kinds) for i in metric.inputs.values())
        fields = "; ".join(f"{role}: {', '.join(i.fields) or '(id, time)'}"
                           for role, i in metric.inputs.items())
        return kinds, fields
    alternatives = {metric.required_fields(set(RECORD_KINDS[k].fields))
                    for k in metric.kinds if k in RECORD_KINDS}
    fields = " | ".join(", ".join(f) or "(id, time)" for f in sorted(alternatives))
    return "/".join(metric.kinds), fields


@click.command()
@debug_option
@click.argument("name", required=False)
def metrics(name: str | None) -> None:
    """List every installed metric: kinds, unit, direction, default statistic, fields, formula.

    With NAME: that metric's options (the keys of `options = { ... }` in a service level) and
    its full description.
    """

    def body() -> int:
        from slaengine.describe import plain_text
        from slaengine.pluginmanager import build_registry

        registry = build_registry()
        if name is not None:
            metric = registry.metrics.get(name)
            if metric is None:
                names = registry.names("metric")
                raise UsageError(f'no metric called "{name}"' + registry.broken_note(),
                                 suggestion=did_you_mean(name, names), accepted=names)
            lines = [f"metric {name}  [{registry.origin('metric', name)}]",
                     *_metric_lines(metric), "", plain_text(type(metric).__doc__)]
            echo("\n".join(lines).rstrip())
            return 0
        rows = []
        for found in registry.names("metric"):
            metric = registry.metrics[found]
            kinds, fields = _metric_inputs(metric)
            options = ", ".join(metric.schema) or "—"
            rows.append((found, kinds, metric.unit, metric.better, metric.default_statistic,
                         fields, options, metric.formula))
        header = ("metric", "kinds", "unit", "better", "default", "fields", "options", "formula")
        console = rich_console() if may_be_terminal() else None
        if console is not None and console.is_terminal:  # a terminal, or FORCE_COLOR
            from rich.table import Table
            from rich.text import Text

            table = Table(title="metrics", caption="slaengine metrics NAME: a metric's options "
                          "and description")
            for column in header:
                table.add_column(column, no_wrap=column in ("metric", "unit", "better"))
            for row in rows:
                table.add_row(*(Text(printable(cell)) for cell in row))
            console.print(table)
        else:
            for row in rows:
                found, kinds, unit, better, default, fields, options, formula = row
                echo(f"{found}\n  kinds: {kinds}\n  unit: {unit}, {better} is better, "
                      f"default statistic: {default}\n  fields: {fields}\n"
                      f"  options: {options}\n  formula: {formula}")
        return 0

    run_body(body)


@click.command()
@debug_option
@click.option("--from", "data_file", type=click.Path(path_type=Path), default=None,
              metavar="DATA_FILE",
              help="Propose the fields mapping from this data file's columns (and use it as "
                   "the source's path, as given: save the contract where you run the command).")
@click.option("--metric", default=None,
              help="The metric of the first service level (default: first_response_time, or "
                   "what the data of --from can measure).")
@click.option("--target", default=None, help='Its target, e.g. "95% within 1h".')
@click.option("--id", "contract_id", default="my-contract", show_default=True)
@click.option("--path", "data_path", default=None,
              help="The data file, relative to where the contract will be saved "
                   "[default: the --from file, else data/tickets.csv].")
@click.option("--adapter", default=None,
              help="The source adapter [default: from the --from file's suffix, else csv].")
@click.option("--timezone", default="UTC", show_default=True,
              help="The contract's time zone (IANA name); times without an offset are read "
                   "in it.")
def init(data_file: Path | None, metric: str | None, target: str | None, contract_id: str,
         data_path: str | None, adapter: str | None, timezone: str) -> None:
    """Print a starter contract (TOML, every section explained in comments), ready to edit.

    Save it and check it: `slaengine init --from data/tickets.csv > contract.toml` then
    `slaengine validate contract.toml`.
    """

    def body() -> int:
        from slaengine.contract import parse_contract
        from slaengine.pluginmanager import build_registry
        from slaengine.starter import choose_metric, starter_contract

        registry = build_registry()
        fields: dict[str, str] | None = None
        columns: list[str] = []
        chosen_adapter = adapter
        if data_file is not None:
            from slaengine.inspect import data_columns, propose_fields

            chosen_adapter, columns = data_columns(data_file, adapter, registry)
            fields = propose_fields(columns)
            missing = [f for f in ("ticket_id", "created_at") if f not in fields]
            if missing:
                raise UsageError(
                    f"{data_file}: no column looks like {' or '.join(missing)} (columns: "
                    f"{', '.join(columns)}); write the mapping by hand: slaengine init "
                    "without --from, then fields = { ticket_id = \"...\", created_at = "
                    "\"...\" }")
        name, level_target = choose_metric(registry, metric, target, fields)
        text = starter_contract(
            contract_id=contract_id, timezone=timezone, adapter=chosen_adapter or "csv",
            path=data_path or (str(data_file) if data_file is not None else "data/tickets.csv"),
            metric=name, target=level_target, fields=fields,
            unmapped=[c for c in columns if c not in (fields or {}).values()],
            registry=registry)
        try:
            parse_contract(text, registry=registry)
        except SlaError as exc:
            raise UsageError(f"the starter contract would not be valid: {exc.render()}") from exc
        click.echo(text, nl=False)
        return 0

    run_body(body)


@click.group()
def schema() -> None:
    """Print a JSON Schema (draft 2020-12): of a contract, or of the JSON report."""


@schema.command("contract")
@debug_option
def schema_contract() -> None:
    """The JSON Schema of a contract, with the installed plugins' keys.

    Save it beside your contracts and name it on a contract's first line for completion and
    checks in TOML editors (Taplo, Even Better TOML):
    `#:schema ./slaengine-contract.schema.json`.
    """

    def body() -> int:
        import json

        from slaengine.jsonschema import contract_schema
        from slaengine.pluginmanager import build_registry

        click.echo(json.dumps(contract_schema(build_registry()), indent=2, ensure_ascii=False))
        return 0

    run_body(body)


@schema.command("report")
@debug_option
def schema_report() -> None:
    """The JSON Schema of the report `evaluate --format json` writes (see its schema_version)."""

    def body() -> int:
        import json

        from slaengine.jsonschema import report_schema

        click.echo(json.dumps(report_schema(), indent=2, ensure_ascii=False))
        return 0

    run_body(body)

