"""Contract versions: ``[contract] version`` and ``effective_from``, checked with the contract;
a version evaluates the periods from its effective_from on, and the ledger records the
version and its effective_from on every entry (a migration step that keeps earlier hashes)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from ledger_kit import cli, older_slaengine, tamper
from test_ledger_history import CONTRACT, TICKETS

from slaengine.ledger import open_ledger, schema, verify_ledger


def _contract(tmp_path: Path, head: str) -> Path:
    (tmp_path / "tickets.csv").write_text(TICKETS)
    path = tmp_path / "hist.toml"
    path.write_text(CONTRACT.replace('timezone = "UTC"\n', f'timezone = "UTC"\n{head}\n'))
    return path


@pytest.mark.parametrize(("head", "named"), [
    ('version = ""\neffective_from = 2026-03-01', "contract.version"),
    ("version = 2\neffective_from = 2026-03-01", "contract.version"),
    ('version = "2"\neffective_from = 2026-03-15', "contract.effective_from"),  # mid-month
    ('version = "2"\neffective_from = "2026-Q2"', "contract.effective_from"),   # monthly
    ('version = "2"\neffective_from = "April"', "contract.effective_from"),
    ('version = "2"\neffective_from = "2026-02-30"', "contract.effective_from"),
    ('version = "2"\neffective_from = 2026-03-01T00:00:00Z', "contract.effective_from"),
    ('version = "2"\neffective_from = 12', "contract.effective_from"),
    ('effective_from = 2026-03-01', "contract.version"),                         # unnamed
    ('version = "2"\neffective_from = 2026-03-01\nend = 2026-02-28', "contract.effective_from"),
])
def test_a_bad_version_or_effective_from_is_exit_2_naming_the_key(tmp_path: Path, head: str,
                                                                  named: str) -> None:
    done = cli("validate", _contract(tmp_path, head))
    assert done.exit_code == 2, done.output
    assert named in done.output and "hist.toml" in done.output
    assert "Traceback" not in done.output


def test_a_version_evaluates_the_periods_from_its_effective_from_on(tmp_path: Path) -> None:
    contract = _contract(tmp_path, 'version = "2"\neffective_from = "2026-03"')
    ledger = tmp_path / "ledger.db"
    done = cli("evaluate", contract, "--ledger", ledger, "--format", "json")
    assert done.exit_code == 0, done.output
    # January and February are the earlier version's: only March and April are evaluated.
    assert '"period": "2026-01"' not in done.stdout
    assert '"period": "2026-03"' in done.stdout and '"period": "2026-04"' in done.stdout
    connection = sqlite3.connect(ledger)
    assert connection.execute("SELECT contract_version, contract_effective_from FROM entries"
                              ).fetchall() == [("2", "2026-03-01")]
    connection.close()
    # A period before it is refused, naming the version and the day.
    before = cli("evaluate", contract, "--period", "2026-02", "--ledger", ledger)
    assert before.exit_code == 2
    assert "effective_from" in before.output and "2026-03-01" in before.output


def test_versions_share_a_history_under_one_contract_id(tmp_path: Path) -> None:
    """Version 1 evaluates January and February (two breaches); version 2, from March, sees
    them in the ledger: its March is met, so February's credit is earned back (200.00 × 150.00
    ÷ 200.00 = 150.00 after February's yearly cap, as in test_ledger_history)."""
    first = tmp_path / "v1"
    first.mkdir()
    ledger = tmp_path / "ledger.db"
    v1 = _contract(first, 'version = "1"')
    for month in ("2026-01", "2026-02"):
        assert cli("evaluate", v1, "--period", month, "--ledger", ledger).exit_code == 0
    second = tmp_path / "v2"
    second.mkdir()
    v2 = _contract(second, 'version = "2"\neffective_from = 2026-03-01')
    done = cli("evaluate", v2, "--ledger", ledger, "--format", "json")
    assert done.exit_code == 0, done.output
    assert '"rule": "earn-back"' in done.stdout and '"amount": "-150.00"' in done.stdout
    connection = sqlite3.connect(ledger)
    assert connection.execute("SELECT contract_version, contract_effective_from FROM entries "
                              "ORDER BY seq").fetchall() == [("1", None), ("1", None),
                                                             ("2", "2026-03-01")]
    connection.close()
    assert verify_ledger(ledger).intact


def test_a_version_1_ledger_migrates_and_keeps_its_hashes(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    contract = _contract(tmp_path, 'version = "2"\neffective_from = 2026-03-01')
    ledger = tmp_path / "ledger.db"
    with older_slaengine(monkeypatch, 1):  # a ledger written by the slaengine of schema 1
        old_contract = tmp_path / "old"
        old_contract.mkdir()
        assert cli("evaluate", _contract(old_contract, ""), "--period", "2026-01",
                   "--ledger", ledger).exit_code == 0
    connection = sqlite3.connect(ledger)
    before = connection.execute("SELECT entry_hash FROM entries").fetchall()
    columns = [row[1] for row in connection.execute("PRAGMA table_info(entries)")]
    connection.close()
    assert "contract_effective_from" not in columns
    assert cli("evaluate", contract, "--ledger", ledger).exit_code == 0
    connection = sqlite3.connect(ledger)
    assert connection.execute("SELECT max(version) FROM schema_migrations").fetchone() == (
        schema.SCHEMA_VERSION,)
    assert connection.execute("SELECT entry_hash FROM entries WHERE seq = 1").fetchall() == before
    assert connection.execute("SELECT contract_effective_from FROM entries WHERE seq = 2"
                              ).fetchall() == [("2026-03-01",)]
    connection.close()
    assert verify_ledger(ledger).line().startswith(f"{ledger}: intact, 2 entries")


def test_a_version_2_ledger_migrates_and_records_client_and_vendor(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch
                                                                   ) -> None:
    contract = _contract(tmp_path, "")  # client "Client Ltd", vendor "Vendor Inc"
    ledger = tmp_path / "ledger.db"
    with older_slaengine(monkeypatch, 2):  # a ledger written by the slaengine of schema 2
        assert cli("evaluate", contract, "--period", "2026-01", "--ledger", ledger
                   ).exit_code == 0
    connection = sqlite3.connect(ledger)
    before = connection.execute("SELECT entry_hash, content FROM entries").fetchall()
    columns = [row[1] for row in connection.execute("PRAGMA table_info(entries)")]
    connection.close()
    assert "contract_vendor" not in columns and "contract_client" not in columns
    assert cli("evaluate", contract, "--period", "2026-02", "--ledger", ledger).exit_code == 0
    assert cli("ledger", "close", ledger, "--contract", "hist", "--period", "2026-02"
               ).exit_code == 0
    connection = sqlite3.connect(ledger)
    assert connection.execute("SELECT max(version) FROM schema_migrations").fetchone() == (3,)
    # The entry of schema 2 keeps its hash and content; it has no client or vendor.
    assert connection.execute("SELECT entry_hash, content FROM entries WHERE seq = 1"
                              ).fetchall() == before
    assert '"contract_vendor"' not in before[0][1]
    rows = connection.execute("SELECT seq, kind, contract_client, contract_vendor, content "
                              "FROM entries ORDER BY seq").fetchall()
    connection.close()
    assert [row[:4] for row in rows] == [
        (1, "evaluation", None, None),
        (2, "evaluation", "Client Ltd", "Vendor Inc"),
        (3, "close", "Client Ltd", "Vendor Inc")]  # the parties of the evaluation closed
    # Both are in the hashed content: editing one is caught.
    assert '"contract_vendor":"Vendor Inc"' in rows[1][4]
    assert '"contract_client":"Client Ltd"' in rows[2][4]
    assert verify_ledger(ledger).line().startswith(f"{ledger}: intact, 3 entries")
    done = cli("ledger", "verify", ledger)
    assert done.exit_code == 0, done.output
    with open_ledger(ledger) as opened:
        entries = opened.entries().to_pylist()
    assert [(e["contract_client"], e["contract_vendor"]) for e in entries] == [
        (None, None), ("Client Ltd", "Vendor Inc"), ("Client Ltd", "Vendor Inc")]


def test_an_edited_vendor_is_caught(tmp_path: Path) -> None:
    contract = _contract(tmp_path, "")
    ledger = tmp_path / "ledger.db"
    assert cli("evaluate", contract, "--ledger", ledger).exit_code == 0
    tamper(ledger, "UPDATE entries SET contract_vendor = 'Someone Else' WHERE seq = 1")
    done = cli("ledger", "verify", ledger)
    assert done.exit_code == 1
    assert "entry 1" in done.output and "contract_vendor" in done.output
