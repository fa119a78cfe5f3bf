"""What the ledger tests share: a small contract with credits, a ledger of three entries built
from it, and tampering with the sqlite3 module as someone with the file would."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner

from slaengine.cli import main
from slaengine.ledger import record, schema
from slaengine.ledger.schema import LEDGER_TABLES

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"

# tests/data/small.toml with credits: in 2026-03 urgent-first-response (50% within 1h against
# 75%) and csat (mean 3.80 against 4) are breached: 5% + 2% of 10000.00 = 500.00 + 200.00;
# in 2026-04 fcr (66.7% against 80%) is: 3% = 300.00. Together 1000.00.
PENALTIES = ('\n[penalties]\nmodel = "percent-of-fee"\n'
             'credits = { urgent-first-response = "5%", fcr = "3%", csat = "2%" }\n')


def contract_folder(folder: Path) -> Path:
    """A copy of the small contract (with credits) and its data in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(DATA / "small-tickets.csv", folder / "small-tickets.csv")
    (folder / "small.toml").write_text((DATA / "small.toml").read_text() + PENALTIES)
    return folder / "small.toml"


def correct_the_export(folder: Path) -> None:
    """The corrected March export: only March's tickets (T1-T6), T3's CSAT 2 -> 3, so March's
    mean is (5 + 4 + 3 + 3 + 5) / 5 = 4.0: csat met, its 200.00 credit gone."""
    lines = (folder / "small-tickets.csv").read_text().splitlines()[:7]
    assert lines[3].startswith("T3,") and lines[3].endswith(",2")
    lines[3] = lines[3][:-1] + "3"
    (folder / "small-tickets.csv").write_text("\n".join(lines) + "\n")


def cli(*args: str | Path):
    return CliRunner().invoke(main, [str(a) for a in args])


def build_ledger(folder: Path) -> Path:
    """Entries: 1 the evaluation of March and April; 2 March closed; 3 March restated on the
    corrected export (reason "corrected export")."""
    contract = contract_folder(folder)
    ledger = folder / "ledger.db"
    assert cli("evaluate", contract, "--ledger", ledger, "-o", folder / "r1.json").exit_code == 0
    assert cli("ledger", "close", ledger, "--contract", "small", "--period", "2026-03"
               ).exit_code == 0
    correct_the_export(folder)
    done = cli("evaluate", contract, "--ledger", ledger, "--reason", "corrected export",
               "-o", folder / "r2.json")
    assert done.exit_code == 0, done.output
    return ledger


def copy_ledger(source: Path, target: Path) -> Path:
    """A copy of a ledger file (through SQLite's backup, so nothing in a WAL is lost)."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()
    return target


def tamper(path: Path, *statements: str, parameters: tuple = ()) -> None:
    """Run ``statements`` on the ledger after dropping every append-only trigger, as someone
    with the sqlite3 shell would."""
    connection = sqlite3.connect(path)
    for table in LEDGER_TABLES:
        for verb in ("update", "delete"):
            connection.execute(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")
    for statement in statements:
        connection.execute(statement, parameters if "?" in statement else ())
    connection.commit()
    connection.close()


_COLUMNS_OF = {1: schema._ENTRY_COLUMNS_1,
               2: schema._ENTRY_COLUMNS_1 + schema._ENTRY_COLUMNS_2}
"""The entry columns of each earlier schema version."""


@contextmanager
def older_slaengine(monkeypatch: pytest.MonkeyPatch, version: int) -> Iterator[None]:
    """Inside the block, appends write a ledger as the slaengine of schema ``version`` did:
    its migrations only, its entry columns only (before version 3, no client or vendor)."""
    with monkeypatch.context() as old:
        old.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:version])
        old.setattr(schema, "SCHEMA_VERSION", version)
        old.setattr(record, "ENTRY_COLUMNS", _COLUMNS_OF[version])
        old.setattr(record, "_parties", lambda contract: {})
        yield
