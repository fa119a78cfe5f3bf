"""The ledger's tables, its schema version and the forward migrations; opening a ledger file.

Every table is ``STRICT`` (a value of the wrong type is refused, not converted) and append-only:
triggers abort any ``UPDATE`` or ``DELETE``. Money and every measured figure are ``TEXT`` (the
exact decimal, or the shortest text that reads back as the same float), never ``REAL``.

The schema's version is the highest row of ``schema_migrations``; :data:`MIGRATIONS` holds the
steps, step ``n`` taking a ledger from version ``n`` to ``n + 1``. A later step may add tables
or nullable columns: the canonical content of an entry leaves out null columns
(:mod:`slaengine.ledger.canonical`), so a column added later keeps the hashes of the entries
written before it. A ledger of a version newer than :data:`SCHEMA_VERSION` is refused.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from slaengine.errors import DataError

APPLICATION_ID = 0x534C414C  # "SLAL": marks the file as a slaengine ledger (PRAGMA application_id)
BUSY_TIMEOUT_MS = 60_000
"""How long a writer waits for another one to finish its append before giving up."""


@dataclass(frozen=True)
class Table:
    """A table of rows that belong to an entry: ``columns`` after ``entry`` and ``position``
    (the row's place within its entry), each ``(name, SQL type and constraint)``."""

    name: str
    columns: tuple[tuple[str, str], ...]

    @property
    def names(self) -> tuple[str, ...]:
        return ("entry", "position", *(name for name, _ in self.columns))

    def create(self) -> str:
        columns = ",\n  ".join(f"{name} {kind}" for name, kind in self.columns)
        return (f"CREATE TABLE {self.name} (\n  entry INTEGER NOT NULL REFERENCES entries(seq),\n"
                f"  position INTEGER NOT NULL,\n  {columns},\n"
                "  PRIMARY KEY (entry, position)\n) STRICT")


_ENTRY_COLUMNS_1: tuple[tuple[str, str], ...] = (
    ("seq", "INTEGER PRIMARY KEY"),
    ("kind", "TEXT NOT NULL CHECK (kind IN ('evaluation', 'close'))"),
    ("recorded_at", "TEXT NOT NULL"),
    ("contract_id", "TEXT NOT NULL"),
    ("contract_version", "TEXT"),
    ("contract_sha256", "TEXT"),
    ("options", "TEXT"),
    ("manifest", "TEXT"),
    ("reason", "TEXT"),
    ("content", "TEXT NOT NULL"),
    ("content_sha256", "TEXT NOT NULL"),
    ("previous_hash", "TEXT NOT NULL"),
    ("entry_hash", "TEXT NOT NULL UNIQUE"),
)
_ENTRY_COLUMNS_2: tuple[tuple[str, str], ...] = (
    ("contract_effective_from", "TEXT"),  # the version's effective_from, 2026-04-01
)
_ENTRY_COLUMNS_3: tuple[tuple[str, str], ...] = (
    ("contract_client", "TEXT"),  # the contract's [contract] client and vendor
    ("contract_vendor", "TEXT"),
)
ENTRY_COLUMNS = _ENTRY_COLUMNS_1 + _ENTRY_COLUMNS_2 + _ENTRY_COLUMNS_3
"""An entry: one evaluation, or one period closed. ``content`` is its canonical content (of
this row's other columns and all its rows in the tables below), ``content_sha256`` that
content's SHA-256, ``entry_hash`` the SHA-256 of ``previous_hash + content_sha256``."""

HASH_COLUMNS = ("content", "content_sha256", "previous_hash", "entry_hash")
"""The entry columns the canonical content leaves out (they are made from it)."""

VERDICTS = Table("verdicts", (
    ("service_level", "TEXT NOT NULL"), ("metric", "TEXT NOT NULL"),
    ("period", "TEXT NOT NULL"), ("segment", "TEXT NOT NULL"),  # a JSON object, in `by` order
    ("statistic", "TEXT NOT NULL"), ("unit", "TEXT NOT NULL"),
    ("value", "TEXT"), ("target", "TEXT NOT NULL"), ("minimum", "TEXT"),
    ("status", "TEXT NOT NULL"),
    ("compliance", "TEXT"),  # the exact fraction, "9/10"
    ("margin", "TEXT"), ("sample_size", "INTEGER NOT NULL"), ("unmeasured", "INTEGER NOT NULL"),
    ("excluded", "INTEGER NOT NULL"), ("hits", "INTEGER"), ("missed_count", "INTEGER NOT NULL"),
    ("missed", "TEXT NOT NULL"),  # a JSON list of record ids
    ("paused", "TEXT"), ("note", "TEXT"), ("provisional", "INTEGER NOT NULL"),
))
CREDITS = Table("credits", (
    ("kind", "TEXT NOT NULL CHECK (kind IN ('credit', 'bonus'))"),
    ("period", "TEXT NOT NULL"), ("service_level", "TEXT"), ("amount", "TEXT NOT NULL"),
    ("currency", "TEXT NOT NULL"), ("rule", "TEXT NOT NULL"), ("note", "TEXT NOT NULL"),
    ("provisional", "INTEGER NOT NULL"),
))
CREDIT_TOTALS = Table("credit_totals", (
    ("scope", "TEXT NOT NULL CHECK (scope IN ('period', 'year'))"),
    ("label", "TEXT NOT NULL"),  # the period (2026-03) or the contract year (2026, 2026/27)
    ("currency", "TEXT NOT NULL"),
    ("before_caps", "TEXT NOT NULL"), ("capped", "TEXT NOT NULL"),
    ("after_caps", "TEXT NOT NULL"), ("earned_back", "TEXT NOT NULL"),
    ("bonuses", "TEXT NOT NULL"), ("net", "TEXT NOT NULL"),
    ("provisional", "INTEGER NOT NULL"),
))
CREDIT_FLAGS = Table("credit_flags", (
    ("kind", "TEXT NOT NULL"), ("service_level", "TEXT"),
    ("periods", "TEXT NOT NULL"),  # a JSON list
    ("note", "TEXT NOT NULL"),
))
CLOSED_PERIODS = Table("closed_periods", (
    ("contract_id", "TEXT NOT NULL"), ("period", "TEXT NOT NULL"),
))
RESTATEMENTS = Table("restatements", (
    ("contract_id", "TEXT NOT NULL"), ("period", "TEXT NOT NULL"),
    ("original_entry", "INTEGER NOT NULL REFERENCES entries(seq)"),
    ("reason", "TEXT NOT NULL"),
    ("differences", "TEXT NOT NULL"),  # a JSON list: per level and segment, old and new
))

ROW_TABLES: tuple[Table, ...] = (VERDICTS, CREDITS, CREDIT_TOTALS, CREDIT_FLAGS, CLOSED_PERIODS,
                                 RESTATEMENTS)
"""The tables whose rows belong to an entry, in the order its canonical content lists them."""

LEDGER_TABLES = ("schema_migrations", "entries", *(t.name for t in ROW_TABLES))


def _append_only(table: str) -> list[str]:
    return [f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} BEGIN "
            f"SELECT RAISE(ABORT, 'the ledger is append-only: {verb} on {table} refused'); END"
            for verb in ("UPDATE", "DELETE")]


def _version_1() -> list[str]:
    entries = ",\n  ".join(f"{name} {kind}" for name, kind in _ENTRY_COLUMNS_1)
    statements = [f"CREATE TABLE entries (\n  {entries}\n) STRICT",
                  "CREATE INDEX entries_contract ON entries(contract_id, seq)"]
    for table in ROW_TABLES:
        statements.append(table.create())
    statements += [
        "CREATE INDEX verdicts_period ON verdicts(period, service_level)",
        "CREATE INDEX credits_period ON credits(period, service_level)",
        "CREATE INDEX closed_periods_contract ON closed_periods(contract_id, period)",
        "CREATE INDEX restatements_contract ON restatements(contract_id, period)",
    ]
    for table in LEDGER_TABLES[1:]:  # schema_migrations is made with its triggers first
        statements += _append_only(table)
    return statements


def _version_2() -> list[str]:
    """The contract version's ``effective_from`` on each entry (null before: an entry's
    canonical content leaves null columns out, so the hashes of earlier entries hold)."""
    return [f"ALTER TABLE entries ADD COLUMN {name} {kind}" for name, kind in _ENTRY_COLUMNS_2]


def _version_3() -> list[str]:
    """The contract's client and vendor on each entry, so a ledger of several contracts can
    be read per vendor (null before, as for :func:`_version_2`)."""
    return [f"ALTER TABLE entries ADD COLUMN {name} {kind}" for name, kind in _ENTRY_COLUMNS_3]


MIGRATIONS: list[list[str]] = [_version_1(), _version_2(), _version_3()]
"""Forward migrations: step ``n`` (from 0) takes a ledger from version ``n`` to ``n + 1``."""

SCHEMA_VERSION = len(MIGRATIONS)

_MIGRATIONS_TABLE = ("CREATE TABLE IF NOT EXISTS schema_migrations (\n"
                     "  version INTEGER PRIMARY KEY,\n  applied_at TEXT NOT NULL\n) STRICT")


def _unusable(path: Path, problem: str) -> DataError:
    return DataError(f"cannot be used as a slaengine ledger: {problem}", file=path)


def connect(path: Path, *, write: bool) -> sqlite3.Connection:
    """Open the ledger at ``path``: for writing (created when missing, migrated forward to
    :data:`SCHEMA_VERSION`, WAL) or read-only (``mode=ro``: it must exist and be current).

    Raises :class:`DataError` naming the file when it is not a SQLite database, is corrupt, is
    another program's database or comes from a newer slaengine.
    """
    if not write and not path.is_file():
        raise DataError("no such ledger file", file=path)
    if path.exists() and not path.is_file():
        raise DataError("is not a file (a ledger is one SQLite file)", file=path)
    try:
        if write:
            connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000,
                                         isolation_level=None)
        else:
            connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                                         timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    except sqlite3.Error as exc:
        raise _unusable(path, str(exc)) from None
    try:
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        version = _checked_version(connection, path)
        if write:
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = FULL")
            if version < SCHEMA_VERSION:
                _migrate(connection, path)
        elif version < SCHEMA_VERSION:
            raise _unusable(path, f"its schema is version {version}, older than this "
                                  f"slaengine's {SCHEMA_VERSION}; append to it once (evaluate "
                                  "--ledger) to migrate it forward" if version else
                                  "it holds no ledger")
        connection.execute("PRAGMA foreign_keys = ON")
    except sqlite3.DatabaseError as exc:
        connection.close()
        raise _unusable(path, f"{exc} (not a SQLite database, or a corrupt one)") from None
    except BaseException:
        connection.close()
        raise
    return connection


def _checked_version(connection: sqlite3.Connection, path: Path) -> int:
    """The ledger's schema version (0: an empty database); refuses another program's database
    and a ledger newer than this slaengine."""
    application = connection.execute("PRAGMA application_id").fetchone()[0]
    tables = {row[0] for row in connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'")}
    if application != APPLICATION_ID:
        if tables:
            raise _unusable(path, "it is another program's SQLite database (tables "
                                  + ", ".join(sorted(tables)[:5]) + ")")
        return 0
    if "schema_migrations" not in tables:
        raise _unusable(path, "its schema_migrations table is missing")
    version = connection.execute("SELECT max(version) FROM schema_migrations").fetchone()[0] or 0
    if version > SCHEMA_VERSION:
        raise _unusable(path, f"its schema is version {version}, newer than this slaengine "
                              f"reads (up to {SCHEMA_VERSION}); upgrade slaengine to use it")
    return int(version)


def _migrate(connection: sqlite3.Connection, path: Path) -> None:
    """Apply the missing steps of :data:`MIGRATIONS` in one transaction (a concurrent writer
    that migrated first leaves nothing to do)."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        version = _checked_version(connection, path)
        if version == 0:
            connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            connection.execute(_MIGRATIONS_TABLE)
            for statement in _append_only("schema_migrations"):
                connection.execute(statement)
        for step in range(version, SCHEMA_VERSION):
            for statement in MIGRATIONS[step]:
                connection.execute(statement)
            connection.execute("INSERT INTO schema_migrations VALUES (?, ?)",
                               (step + 1, datetime.now(UTC).isoformat(timespec="seconds")))
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
