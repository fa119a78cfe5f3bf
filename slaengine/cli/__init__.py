"""The ``slaengine`` command: parses arguments, calls the engine, renders. Nothing else.

Exit codes: 0 success; 1 when ``--fail-on`` finds such a verdict; 2 for a bad contract, bad data
or bad usage, always as a short message without a traceback (``--debug`` shows it).

- ``common``: what every command shares (errors as one line, ``--debug``, safe printing);
- ``evaluation``: ``evaluate`` and ``verify``;
- ``checking``: ``validate`` and ``inspect``;
- ``catalog``: ``plugins``, ``metrics``, ``schema`` and ``init``;
- ``ledger``: ``ledger verify`` and ``ledger close``.
"""

from __future__ import annotations

import os

import click

from slaengine import __version__
from slaengine.cli.catalog import init, metrics, plugins, schema
from slaengine.cli.checking import inspect_command, validate
from slaengine.cli.common import Flags
from slaengine.cli.evaluation import evaluate, verify
from slaengine.cli.ledger import ledger

# The command never uses BLAS, and numpy's OpenBLAS threads busy-wait for a while after they
# start, taking a core from the evaluation: the command runs without them (set before numpy is
# imported; an explicit setting in the environment wins).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="slaengine")
@click.option("--debug", is_flag=True, help="Show the full traceback of any error.")
def main(debug: bool) -> None:
    """Evaluate service-level agreements from data: verdicts, evidence and row accounting."""
    Flags.debug = debug


main.add_command(evaluate)
main.add_command(verify)
main.add_command(validate)
main.add_command(plugins)
main.add_command(inspect_command)
main.add_command(metrics)
main.add_command(init)
main.add_command(schema)
main.add_command(ledger)
