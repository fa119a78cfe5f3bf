"""The evaluation ledger: what an evaluation appends, closed periods and restatements, the
append-only tables, the schema version and its migrations, unusable files, the Arrow view."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from ledger_kit import (
    build_ledger,
    cli,
    contract_folder,
    copy_ledger,
)

import slaengine
from slaengine.errors import DataError, UsageError
from slaengine.ledger import open_ledger, schema, verify_ledger
from slaengine.ledger.canonical import GENESIS, chain, sha256
from slaengine.ledger.record import append_evaluation, exact_text
from slaengine.ledger.schema import LEDGER_TABLES


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_ledger(tmp_path_factory.mktemp("ledger"))


@pytest.fixture
def ledger(built: Path, tmp_path: Path) -> Path:
    return copy_ledger(built, tmp_path / "copy.db")


def rows(path: Path, sql: str, *parameters: object) -> list[tuple]:
    connection = sqlite3.connect(path)
    try:
        return connection.execute(sql, parameters).fetchall()
    finally:
        connection.close()


# --------------------------------------------------------------------------- what is appended


def test_an_evaluation_is_appended_whole(ledger: Path) -> None:
    (seq, kind, contract_id, version, sha, options, manifest, reason, previous, entry_hash,
     content_sha) = rows(ledger, "SELECT seq, kind, contract_id, contract_version, "
                         "contract_sha256, options, manifest, reason, previous_hash, "
                         "entry_hash, content_sha256 FROM entries WHERE seq = 1")[0]
    assert (seq, kind, contract_id, version, reason) == (1, "evaluation", "small", None, None)
    assert previous == GENESIS and entry_hash == chain(GENESIS, content_sha)
    assert sha == json.loads(manifest)["contract"]["sha256"]
    assert json.loads(options) == {"formats": ["json"], "fail_on": None}
    # 4 levels: urgent 2 periods, median by priority 2 x 2, fcr 2, csat 2 = 10 verdicts.
    verdicts = rows(ledger, "SELECT service_level, period, segment, status, value, compliance, "
                    "sample_size FROM verdicts WHERE entry = 1 ORDER BY position")
    assert len(verdicts) == 10
    assert ("csat", "2026-03", "{}", "breached", "3.8", "19/20", 5) in verdicts  # 19/5 / 4
    assert ("median-first-response", "2026-04", '{"priority":"normal"}', "breached", "18000.0",
            "1/5", 1) in verdicts  # 5h = 18000 s against 1h: 3600/18000 = 1/5
    # Credits as exact decimal text: 500.00 + 200.00 (March) and 300.00 (April).
    credits = rows(ledger, "SELECT period, service_level, amount, typeof(amount) FROM credits "
                   "WHERE entry = 1 ORDER BY position")
    assert credits == [("2026-03", "urgent-first-response", "500.00", "text"),
                       ("2026-03", "csat", "200.00", "text"),
                       ("2026-04", "fcr", "300.00", "text")]
    totals = rows(ledger, "SELECT scope, label, after_caps, net FROM credit_totals "
                  "WHERE entry = 1 ORDER BY position")
    assert totals == [("period", "2026-03", "700.00", "700.00"),
                      ("period", "2026-04", "300.00", "300.00"),
                      ("year", "2026", "1000.00", "1000.00")]


def test_no_column_holds_a_float() -> None:
    """Money and figures are TEXT: no table declares REAL (a float would lose cents)."""
    for statement in schema.MIGRATIONS[0]:
        assert "REAL" not in statement.upper().replace("REALLY", "")
        if statement.startswith("CREATE TABLE"):
            assert statement.endswith("STRICT")


@pytest.mark.parametrize(("value", "text"), [
    (Decimal("1234.50"), "1234.50"),       # the decimal's own digits, trailing zero kept
    (Fraction(9, 10), "9/10"),             # exact, not 0.9
    (0.1 + 0.2, "0.30000000000000004"),    # the shortest text that reads back as that float
    (float("nan"), "nan"),
    (7, "7"),
    (None, None),
])
def test_figures_are_stored_as_exact_text(value: object, text: str | None) -> None:
    assert exact_text(value) == text  # type: ignore[arg-type]
    if isinstance(value, float) and value == value:
        assert float(text) == value  # type: ignore[arg-type]


@pytest.mark.parametrize("table", LEDGER_TABLES)
def test_every_table_refuses_update_and_delete(ledger: Path, table: str) -> None:
    connection = sqlite3.connect(ledger)
    if table == "credit_flags":  # this contract raises no flag: one is added (inserts are fine)
        connection.execute("INSERT INTO credit_flags VALUES (1, 0, 'chronic-failure', 'csat', "
                           "'[\"2026-03\"]', 'a flag')")
        connection.commit()
    assert connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0] > 0
    try:
        for statement in (f"UPDATE {table} SET rowid = rowid", f"DELETE FROM {table}"):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                connection.execute(statement)
    finally:
        connection.close()


def test_the_ledger_is_in_wal_mode(built: Path) -> None:
    assert rows(built, "PRAGMA journal_mode") == [("wal",)]


# --------------------------------------------------------------------------- close and restate


def test_a_restatement_sits_beside_the_original(ledger: Path) -> None:
    assert rows(ledger, "SELECT seq, kind FROM entries ORDER BY seq") == [
        (1, "evaluation"), (2, "close"), (3, "evaluation")]
    assert rows(ledger, "SELECT entry, contract_id, period FROM closed_periods") == [
        (2, "small", "2026-03")]
    [(entry, period, original, reason, differences)] = rows(
        ledger, "SELECT entry, period, original_entry, reason, differences FROM restatements")
    assert (entry, period, original, reason) == (3, "2026-03", 1, "corrected export")
    # Only csat changed: (5 + 4 + 3 + 3 + 5) / 5 = 4.0, met, and its 200.00 credit is gone.
    assert json.loads(differences) == [{
        "service_level": "csat", "period": "2026-03", "segment": {},
        "old": {"status": "breached", "value": "3.8", "credit": "200.00"},
        "new": {"status": "met", "value": "4.0", "credit": None}}]
    # The original is untouched: its csat verdict is still breached.
    assert rows(ledger, "SELECT status FROM verdicts WHERE entry = 1 AND service_level = 'csat' "
                "AND period = '2026-03'") == [("breached",)]
    assert verify_ledger(ledger).intact


def test_a_closed_period_needs_a_reason(tmp_path: Path, built: Path) -> None:
    ledger = copy_ledger(built, tmp_path / "l.db")
    contract = contract_folder(tmp_path / "c")
    done = cli("evaluate", contract, "--ledger", ledger, "-o", tmp_path / "r.json")
    assert done.exit_code == 2
    assert "period 2026-03 is closed" in done.output and str(ledger) in done.output
    assert "--reason" in done.output
    assert rows(ledger, "SELECT count(*) FROM entries") == [(3,)]  # nothing appended
    blank = cli("evaluate", contract, "--ledger", ledger, "--reason", "  ")
    assert blank.exit_code == 2 and "--reason" in blank.output
    # A second restatement restates the first (the latest evaluation of the period).
    again = cli("evaluate", contract, "--ledger", ledger, "--reason", "original export after all",
                "-o", tmp_path / "r.json")
    assert again.exit_code == 0, again.output
    [(original, differences)] = rows(ledger, "SELECT original_entry, differences FROM "
                                     "restatements WHERE entry = 4")
    assert original == 3
    assert json.loads(differences)[0]["new"] == {"status": "breached", "value": "3.8",
                                                 "credit": "200.00"}


def test_reason_without_a_ledger_is_refused(tmp_path: Path) -> None:
    done = cli("evaluate", contract_folder(tmp_path), "--reason", "why")
    assert done.exit_code == 2 and "--ledger" in done.output


@pytest.mark.parametrize(("args", "expected"), [
    (["--contract", "smal", "--period", "2026-03"], 'no evaluation of contract "smal"'),
    (["--contract", "small", "--period", "2026-05"], "no evaluation of small for 2026-05"),
    (["--contract", "small", "--period", "2026-03"], "2026-03 is already closed (entry 2)"),
])
def test_close_refuses_what_cannot_be_closed(ledger: Path, args: list[str],
                                             expected: str) -> None:
    done = cli("ledger", "close", ledger, *args)
    assert done.exit_code == 2
    assert expected in done.output and str(ledger) in done.output
    assert "Traceback" not in done.output
    assert rows(ledger, "SELECT count(*) FROM entries") == [(3,)]


def test_a_suggestion_for_a_misspelt_contract(ledger: Path) -> None:
    done = cli("ledger", "close", ledger, "--contract", "smal", "--period", "2026-03")
    assert 'did you mean "small"?' in done.output


def test_a_provisional_period_cannot_be_closed(tmp_path: Path) -> None:
    contract = contract_folder(tmp_path)
    ledger = tmp_path / "l.db"
    assert cli("evaluate", contract, "--ledger", ledger, "--as-of", "2026-04-02",
               "-o", tmp_path / "r.json").exit_code == 0
    done = cli("ledger", "close", ledger, "--contract", "small", "--period", "2026-04")
    assert done.exit_code == 2 and "provisional" in done.output
    assert cli("ledger", "close", ledger, "--contract", "small", "--period", "2026-03"
               ).exit_code == 0  # March was over on 2 April


def test_close_on_a_missing_ledger_is_refused(tmp_path: Path) -> None:
    done = cli("ledger", "close", tmp_path / "none.db", "--contract", "x", "--period", "2026-03")
    assert done.exit_code == 2 and "no such ledger file" in done.output
    assert not (tmp_path / "none.db").exists()


# --------------------------------------------------------------------------- verify, summary


def test_verify_an_intact_ledger(ledger: Path) -> None:
    done = cli("ledger", "verify", ledger)
    head = rows(ledger, "SELECT entry_hash FROM entries WHERE seq = 3")[0][0]
    assert done.exit_code == 0
    assert done.output == f"{ledger}: intact, 3 entries chained, head {head}\n"
    assert cli("ledger", "verify", ledger, "--head", head).exit_code == 0


# --------------------------------------------------------------------------- the schema


def test_a_newer_schema_is_refused_by_name(ledger: Path, tmp_path: Path) -> None:
    connection = sqlite3.connect(ledger)
    connection.execute("INSERT INTO schema_migrations VALUES (?, '2030-01-01T00:00:00+00:00')",
                       (schema.SCHEMA_VERSION + 1,))
    connection.commit()
    connection.close()
    expected = f"schema is version {schema.SCHEMA_VERSION + 1}, newer than this slaengine"
    done = cli("ledger", "verify", ledger)
    assert done.exit_code == 2 and expected in done.output and str(ledger) in done.output
    appended = cli("evaluate", contract_folder(tmp_path / "c"), "--ledger", ledger,
                   "--reason", "r")
    assert appended.exit_code == 2 and expected in appended.output
    with pytest.raises(DataError, match="newer"):
        open_ledger(ledger)


def test_a_forward_migration_keeps_every_hash(ledger: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A later step adds a nullable column: the ledger is migrated on the next append, the
    earlier entries still verify (a null column is left out of the canonical content)."""
    before = rows(ledger, "SELECT entry_hash FROM entries ORDER BY seq")
    step = ["ALTER TABLE entries ADD COLUMN effective_from TEXT"]
    monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS, step])
    monkeypatch.setattr(schema, "SCHEMA_VERSION", schema.SCHEMA_VERSION + 1)
    evaluation = slaengine.evaluate(contract_folder(tmp_path / "c"))
    append_evaluation(ledger, evaluation, reason="after the migration")
    assert rows(ledger, "SELECT version FROM schema_migrations ORDER BY version") == [(1,), (2,)]
    assert rows(ledger, "SELECT entry_hash FROM entries WHERE seq <= 3 ORDER BY seq") == before
    assert verify_ledger(ledger).line().startswith(f"{ledger}: intact, 4 entries")


@pytest.mark.parametrize(("content", "expected"), [
    (b"this is not a database, it is a note\n" * 200, "not a SQLite database"),
    (b"SQLite format 3\x00" + b"\xff" * 4000, "not a SQLite database"),
])
def test_a_file_that_is_not_a_ledger_is_refused(tmp_path: Path, content: bytes,
                                                expected: str) -> None:
    path = tmp_path / "ledger.db"
    path.write_bytes(content)
    for args in (["ledger", "verify", path],
                 ["evaluate", contract_folder(tmp_path / "c"), "--ledger", path],
                 ["ledger", "close", path, "--contract", "x", "--period", "2026-03"]):
        done = cli(*args)
        assert done.exit_code == 2, args
        assert str(path) in done.output and expected in done.output
        assert "Traceback" not in done.output
    assert path.read_bytes() == content  # nothing was written into it


def test_a_truncated_ledger_is_refused(ledger: Path) -> None:
    data = ledger.read_bytes()
    ledger.write_bytes(data[: len(data) // 2])
    done = cli("ledger", "verify", ledger)
    assert done.exit_code == 2 and str(ledger) in done.output
    assert "Traceback" not in done.output


def test_another_programs_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE users (name TEXT)")
    connection.commit()
    connection.close()
    for args in (["ledger", "verify", path], ["evaluate", contract_folder(tmp_path / "c"),
                                              "--ledger", path]):
        done = cli(*args)
        assert done.exit_code == 2 and "another program's SQLite database" in done.output


@pytest.mark.parametrize("make", ["missing", "folder", "empty"])
def test_verify_needs_a_ledger_file(tmp_path: Path, make: str) -> None:
    path = tmp_path / "ledger.db"
    if make == "folder":
        path.mkdir()
    elif make == "empty":
        path.write_bytes(b"")
    done = cli("ledger", "verify", path)
    assert done.exit_code == 2 and str(path) in done.output
    assert "Traceback" not in done.output


def test_the_ledger_is_not_an_input(tmp_path: Path) -> None:
    contract = contract_folder(tmp_path)
    done = cli("evaluate", contract, "--ledger", tmp_path / "small-tickets.csv")
    assert done.exit_code == 2 and "--ledger" in done.output


# --------------------------------------------------------------------------- from Python


def test_open_ledger_gives_arrow_tables(ledger: Path) -> None:
    digest = hashlib.sha256(ledger.read_bytes()).hexdigest()
    with open_ledger(ledger) as opened:
        entries = opened.entries()
        assert entries.column("kind").to_pylist() == ["evaluation", "close", "evaluation"]
        every = opened.verdicts()
        # The corrected export holds March only: urgent, median (normal, urgent), fcr, csat.
        assert every.num_rows == 10 + 5
        current = opened.verdicts(latest=True)
        # March from the restatement (entry 3), April from the first evaluation (entry 1).
        by_period = {(p, e) for p, e in zip(current.column("period").to_pylist(),
                                            current.column("entry").to_pylist(), strict=True)}
        assert by_period == {("2026-03", 3), ("2026-04", 1)}
        csat = [s for s, lv, p in zip(current.column("status").to_pylist(),
                                      current.column("service_level").to_pylist(),
                                      current.column("period").to_pylist(), strict=True)
                if (lv, p) == ("csat", "2026-03")]
        assert csat == ["met"]
        credits = opened.credits(latest=True)
        # March now: urgent-first-response 500.00 only; April: fcr 300.00.
        assert sum(credits.column("amount").to_pylist()) == Decimal("800.00")
        assert str(credits.schema.field("amount").type).startswith("decimal128")
        assert sum(opened.credits(contract="small").column("amount").to_pylist()) == \
            Decimal("1000.00") + Decimal("500.00")
        restated = opened.restatements()
        assert restated.column("original_entry").to_pylist() == [1]
        assert restated.column("reason").to_pylist() == ["corrected export"]
        segments = opened.verdicts(period="2026-04").column("segment").to_pylist()
        assert [("priority", "normal")] in segments
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            opened._connection.execute("INSERT INTO schema_migrations VALUES (9, 'x')")
    assert hashlib.sha256(ledger.read_bytes()).hexdigest() == digest


def test_open_ledger_refuses_what_is_no_ledger(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such ledger file"):
        open_ledger(tmp_path / "none.db")
    with pytest.raises(UsageError):
        open_ledger(3)  # type: ignore[arg-type]


def test_canonical_hashes_are_hex_sha256() -> None:
    assert sha256("") == hashlib.sha256(b"").hexdigest()
    assert chain(GENESIS, "ab") == hashlib.sha256((GENESIS + "ab").encode()).hexdigest()
