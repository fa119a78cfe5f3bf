"""The ``slaengine`` command: parses arguments, calls the engine, renders. Nothing else.

Exit codes: 0 success; 1 when ``--fail-on`` finds such a verdict; 2 for a bad contract, bad data
or bad usage, always as a short message without a traceback (``--debug`` shows it).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import click
import tomli_w

from slaengine import __version__
from slaengine.errors import SlaError, UsageError, did_you_mean

FAIL_ON = {"breached": ("breached", "critical"), "critical": ("critical",)}


class _Context:
    debug = False


def _run(func: Callable[[], int | None]) -> None:
    """Run a command body: user errors become one paragraph on stderr and exit code 2."""
    try:
        code = func()
    except SlaError as exc:
        if _Context.debug:
            raise
        click.echo(f"error: {exc.render()}", err=True)
        sys.exit(2)
    sys.exit(code or 0)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="slaengine")
@click.option("--debug", is_flag=True, help="Show the full traceback of any error.")
def main(debug: bool) -> None:
    """Evaluate service-level agreements from data: verdicts, evidence and row accounting."""
    _Context.debug = debug


@main.command()
@click.argument("contract", type=click.Path(path_type=Path))
@click.option("--format", "format_", default=None,
              help="Output format: a reporter's name (see `slaengine plugins`). "
                   "Default: guessed from --output, else table.")
@click.option("--output", "-o", type=click.Path(path_type=Path), default=None,
              help="Write the report to this file instead of standard output.")
@click.option("--fail-on", type=click.Choice(sorted(FAIL_ON)), default=None,
              help="Exit with code 1 when a verdict is breached (or critical) / critical.")
@click.option("--rejects", type=click.Path(path_type=Path), default=None,
              help="Write every rejected input row (source, row, field, value, reason) "
                   "to this CSV file.")
def evaluate(contract: Path, format_: str | None, output: Path | None, fail_on: str | None,
             rejects: Path | None) -> None:
    """Evaluate every service level of CONTRACT on its data and report the verdicts."""

    def body() -> int:
        from slaengine.contract import load_contract
        from slaengine.engine import evaluate as run
        from slaengine.pluginmanager import build_registry

        registry = build_registry()
        reporter = _reporter(registry, format_, output)
        loaded = load_contract(contract, registry)
        options = {"format": reporter.name, "fail_on": fail_on}
        evaluation = run(loaded, registry, options=options)
        _write(output, lambda stream: reporter.write(evaluation, stream))
        if rejects is not None:
            import pyarrow.csv as pacsv

            pacsv.write_csv(evaluation.rejected, rejects)
        if fail_on and any(v.status in FAIL_ON[fail_on] for v in evaluation.verdicts):
            return 1
        return 0

    _run(body)


@main.command()
@click.argument("contract", type=click.Path(path_type=Path))
def validate(contract: Path) -> None:
    """Check CONTRACT (keys, targets, plugin names and data paths) without reading data."""

    def body() -> int:
        from slaengine.contract import load_contract
        from slaengine.errors import ContractError

        loaded = load_contract(contract)
        for name, spec in loaded.sources.items():
            if not spec.path.exists():
                raise ContractError(loaded.path, ("sources", name, "path"),
                                    f"no such file or folder: {spec.path}")
        click.echo(f"{contract}: ok — {len(loaded.service_levels)} service levels, "
                   f"{len(loaded.sources)} source(s), {loaded.period}ly in {loaded.timezone}")
        return 0

    _run(body)


@main.command()
def plugins() -> None:
    """List the installed plugins: sources, metrics, reporters and penalty models."""

    def body() -> int:
        from slaengine.pluginmanager import KINDS, build_registry

        registry = build_registry()
        for kind in KINDS:
            names = registry.names(kind)
            click.echo(f"{kind}s:" if names else f"{kind}s: (none installed)")
            for name in names:
                obj = registry.get(kind, name)
                doc = (type(obj).__doc__ or "").strip().splitlines()
                click.echo(f"  {name:28} {doc[0] if doc else ''}  "
                           f"[{registry.origin(kind, name)}]")
        return 0

    _run(body)


@main.command()
@click.option("--metric", required=True, help="The metric of the first service level.")
@click.option("--target", required=True, help='Its target, e.g. "95% within 1h".')
@click.option("--id", "contract_id", default="my-contract", show_default=True)
@click.option("--path", "data_path", default="data/tickets.csv", show_default=True,
              help="The data file, relative to where the contract will be saved.")
@click.option("--adapter", default="csv", show_default=True)
@click.option("--timezone", default="UTC", show_default=True)
def init(metric: str, target: str, contract_id: str, data_path: str, adapter: str,
         timezone: str) -> None:
    """Print a starter contract (TOML) with one service level, ready to edit."""

    def body() -> int:
        from slaengine.contract import parse_contract
        from slaengine.pluginmanager import build_registry

        registry = build_registry()
        if metric not in registry.metrics:
            names = registry.names("metric")
            raise UsageError(f'--metric: no metric called "{metric}"',
                             suggestion=did_you_mean(metric, names), accepted=names)
        document: dict[str, Any] = {
            "contract": {"id": contract_id, "client": "Client Ltd", "vendor": "Vendor Inc",
                         "currency": "USD", "monthly_fee": "10000.00", "period": "month",
                         "timezone": timezone},
            "sources": {"tickets": {"adapter": adapter, "path": data_path}},
            "service_levels": [{"id": metric.replace("_", "-"), "metric": metric,
                                "target": target, "min_sample": 30}],
        }
        text = tomli_w.dumps(document)
        try:
            parse_contract(text, registry=registry)
        except SlaError as exc:
            raise UsageError(f"the starter contract would not be valid: {exc.render()}") from exc
        click.echo(text, nl=False)
        return 0

    _run(body)


def _reporter(registry: Any, format_: str | None, output: Path | None) -> Any:
    if format_ is None:
        by_suffix = {r.suffix: r.name for r in registry.reporters.values() if r.suffix}
        format_ = by_suffix.get(output.suffix, "table") if output is not None else "table"
    if format_ not in registry.reporters:
        names = registry.names("reporter")
        raise UsageError(f'--format: no reporter called "{format_}"',
                         suggestion=did_you_mean(format_, names), accepted=names)
    return registry.reporters[format_]


def _write(output: Path | None, render: Callable[[TextIO], None]) -> None:
    if output is None:
        render(sys.stdout)
        return
    try:
        with output.open("w", encoding="utf-8", newline="") as stream:
            render(stream)
    except OSError as exc:
        raise UsageError(f"--output: cannot write {output}: {exc.strerror}") from None
