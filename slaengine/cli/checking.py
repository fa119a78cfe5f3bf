"""``validate`` and ``inspect``: a contract checked without reading data, and what a source
delivers."""

from __future__ import annotations

from pathlib import Path

import click

from slaengine.cli.common import debug_option, echo, rich_console, run_body


@click.command()
@debug_option
@click.argument("contract", type=click.Path(path_type=Path))
def validate(contract: Path) -> None:
    """Check CONTRACT (keys, targets, plugin names and data paths) without reading data."""

    def body() -> int:
        from slaengine.contract import load_contract
        from slaengine.engine import source_files
        from slaengine.pluginmanager import build_registry

        registry = build_registry()
        loaded = load_contract(contract, registry)
        source_files(loaded, registry)  # the files evaluate would read, by the same rule
        for warning in loaded.warnings:
            echo(f"warning: {contract}: {warning}", err=True)
        echo(f"{contract}: ok — {len(loaded.service_levels)} service levels, "
              f"{len(loaded.sources)} source(s), {loaded.period}ly in {loaded.timezone}")
        for name, clock in loaded.clocks.items():
            echo(f"  clock {name}: {clock.summary()}")
        return 0

    run_body(body)


@click.command("inspect")
@debug_option
@click.argument("target", type=click.Path(path_type=Path))
@click.option("--source", "source_name", default=None,
              help="For a contract: inspect only this source.")
@click.option("--adapter", default=None,
              help="For a data file or folder: the source adapter (default: from the suffix).")
@click.option("--rows", default=5, show_default=True, type=click.IntRange(0, 1000),
              help="Sample records to show.")
def inspect_command(target: Path, source_name: str | None, adapter: str | None,
                    rows: int) -> None:
    """Show what a source delivers: columns, mapping, types, row counts, time range, samples.

    TARGET is a contract (.toml: each of its sources, or --source NAME) or a data file or
    folder (read with canonical column names, no mapping, in UTC).
    """

    def body() -> int:
        from slaengine.inspect import inspect_target, render

        found = inspect_target(target, source=source_name, adapter=adapter, rows=rows)
        render(found, rich_console())
        return 0

    run_body(body)

