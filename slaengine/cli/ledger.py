"""``ledger verify`` and ``ledger close``: the evaluation ledger checked and its periods closed.

Neither reads data, so neither imports numpy or pyarrow.
"""

from __future__ import annotations

from pathlib import Path

import click

from slaengine.cli.common import debug_option, echo, run_body


@click.group()
def ledger() -> None:
    """The evaluation ledger (a SQLite file that `evaluate --ledger` appends to)."""


@ledger.command("verify")
@debug_option
@click.argument("path", metavar="LEDGER", type=click.Path(path_type=Path))
@click.option("--head", default=None, metavar="HASH",
              help="An entry hash printed by an earlier verify: it must still be in the chain "
                   "(so entries removed from the end show).")
def verify_command(path: Path, head: str | None) -> None:
    """Recompute every entry of LEDGER from its rows and check the hash chain.

    Exit code 0 with one summary line when intact, 1 naming the first entry that does not
    match, 2 when LEDGER is not a usable ledger.
    """

    def body() -> int:
        from slaengine.ledger.verify import verify_ledger

        outcome = verify_ledger(path, head)
        echo(outcome.line())
        return 0 if outcome.intact else 1

    run_body(body)


@ledger.command("close")
@debug_option
@click.argument("path", metavar="LEDGER", type=click.Path(path_type=Path))
@click.option("--contract", "contract_id", required=True, metavar="ID",
              help="The contract's id (`[contract] id`).")
@click.option("--period", required=True, metavar="PERIOD",
              help="The period to close, as the reports label it (2026-03).")
def close_command(path: Path, contract_id: str, period: str) -> None:
    """Close PERIOD of a contract in LEDGER: re-evaluating it later needs --reason and is
    recorded as a restatement beside the original."""

    def body() -> int:
        from slaengine.errors import DataError
        from slaengine.ledger.record import close_period

        if not path.is_file():
            raise DataError("no such ledger file", file=path)
        closed = close_period(path, contract_id, period)
        echo(f"{path}: {contract_id} {period} closed (entry {closed.seq}, hash "
             f"{closed.entry_hash})")
        return 0

    run_body(body)
