"""A ledger read from Python, read-only, as Arrow tables.

    >>> from slaengine.ledger import open_ledger
    >>> with open_ledger("ledger.db") as ledger:
    ...     current = ledger.verdicts(latest=True)       # a restated period: its restatement
    ...     march = ledger.credits(contract="isp-helpdesk-2026", period="2026-03")

Every table has the ledger's columns plus ``contract_id`` (and ``contract_version``) of the entry
a row belongs to; money columns (credit amounts and totals) are ``decimal128`` holding the
stored decimal text exactly, ``segment`` a map, ``missed`` and a flag's ``periods`` lists.
``latest=True`` keeps, for each contract and period, only the rows of the last entry that
evaluated that period: the latest restatement of a closed period, the latest evaluation of an
open one.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from decimal import Decimal
from os import PathLike
from pathlib import Path
from types import TracebackType
from typing import Any

from slaengine.errors import UsageError
from slaengine.lazy import pa
from slaengine.ledger.schema import (
    CREDIT_FLAGS,
    CREDIT_TOTALS,
    CREDITS,
    RESTATEMENTS,
    VERDICTS,
    Table,
    connect,
)

_MONEY = {CREDITS.name: ("amount",),
          CREDIT_TOTALS.name: ("before_caps", "capped", "after_caps", "earned_back",
                               "bonuses", "net")}
_INTEGERS = {"entry", "position", "seq", "sample_size", "unmeasured", "excluded", "hits",
             "missed_count", "original_entry"}
_FLAGS = {"provisional"}
_JSON_LISTS = {"missed", "periods"}

_LATEST = ("SELECT e.contract_id AS contract_id, v.period AS period, max(v.entry) AS entry "
           "FROM verdicts v JOIN entries e ON e.seq = v.entry GROUP BY e.contract_id, v.period")
"""Per contract and period, the last entry that evaluated it."""


def open_ledger(path: str | PathLike[str]) -> Ledger:
    """Open the ledger at ``path`` read-only (SQLite ``mode=ro``): nothing done through it can
    change the file. Raises :class:`~slaengine.errors.DataError` naming the file when it is
    missing, not a ledger, corrupt or from a newer slaengine."""
    if isinstance(path, bool) or not isinstance(path, str | PathLike):
        raise UsageError(f"open_ledger: expected the path of a ledger file, got "
                         f"{type(path).__name__}")
    return Ledger(Path(path), connect(Path(path), write=False))


class Ledger:
    """An open ledger (use it in ``with``, or call :meth:`close`)."""

    def __init__(self, path: Path, connection: sqlite3.Connection) -> None:
        self.path = path
        self._connection = connection

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._connection.close()

    def entries(self, contract: str | None = None) -> pa.Table:
        """One row per entry (evaluations and closed periods), in ``seq`` order; ``options``
        and ``manifest`` as their JSON text; ``contract_client`` and ``contract_vendor`` null
        on entries recorded before the ledger held them."""
        where, parameters = ("WHERE contract_id = ?", [contract]) if contract else ("", [])
        cursor = self._connection.execute(
            "SELECT seq, kind, recorded_at, contract_id, contract_version, "
            "contract_effective_from, contract_client, contract_vendor, contract_sha256, "
            f"options, manifest, reason, content_sha256, previous_hash, entry_hash FROM entries "
            f"{where} ORDER BY seq", parameters)
        return _arrow(cursor, "entries")

    def verdicts(self, contract: str | None = None, period: str | None = None, *,
                 latest: bool = False) -> pa.Table:
        """Every verdict recorded (``latest``: only the current one of each period)."""
        return self._rows(VERDICTS, contract, period, latest)

    def credits(self, contract: str | None = None, period: str | None = None, *,
                latest: bool = False) -> pa.Table:
        """Every credit line and bonus recorded (``kind`` says which)."""
        return self._rows(CREDITS, contract, period, latest)

    def credit_totals(self, contract: str | None = None, *, latest: bool = False) -> pa.Table:
        """The period totals (``scope = 'period'``, ``label`` the period) and the contract-year
        totals (``scope = 'year'``) of every evaluation. ``latest`` keeps the period totals of
        each period's current entry and the year totals of each contract's last evaluation."""
        table = self._rows(CREDIT_TOTALS, contract, None, False)
        if not latest:
            return table
        sql = (f"SELECT t.* , e.contract_id, e.contract_version FROM credit_totals t "
               f"JOIN entries e ON e.seq = t.entry "
               f"WHERE ((t.scope = 'period' AND t.entry = (SELECT entry FROM ({_LATEST}) l "
               f"WHERE l.contract_id = e.contract_id AND l.period = t.label)) "
               f"OR (t.scope = 'year' AND t.entry = (SELECT max(seq) FROM entries x "
               f"WHERE x.contract_id = e.contract_id AND x.kind = 'evaluation')))")
        parameters: list[Any] = []
        if contract:
            sql += " AND e.contract_id = ?"
            parameters.append(contract)
        return _arrow(self._connection.execute(sql + " ORDER BY t.entry, t.position",
                                               parameters), CREDIT_TOTALS.name)

    def credit_flags(self, contract: str | None = None) -> pa.Table:
        """The flags (chronic failure, earn-back pending, ...) of every evaluation."""
        return self._rows(CREDIT_FLAGS, contract, None, False)

    def restatements(self, contract: str | None = None) -> pa.Table:
        """Every restatement: the closed period, the entry restated (``original_entry``), the
        restating entry (``entry``), the reason and ``differences`` (JSON text)."""
        return self._rows(RESTATEMENTS, contract, None, False)

    def closed_periods(self, contract: str | None = None) -> pa.Table:
        """Every period closed, with the entry that closed it."""
        from slaengine.ledger.schema import CLOSED_PERIODS

        return self._rows(CLOSED_PERIODS, contract, None, False)

    def _rows(self, table: Table, contract: str | None, period: str | None,
              latest: bool) -> pa.Table:
        own = [f"t.{name}" for name in table.names if name != "contract_id"]
        sql = (f"SELECT {', '.join(own)}, e.contract_id, e.contract_version FROM {table.name} t "
               "JOIN entries e ON e.seq = t.entry")
        conditions, parameters = [], []
        if latest:
            sql += (f" JOIN ({_LATEST}) l ON l.contract_id = e.contract_id "
                    "AND l.period = t.period AND l.entry = t.entry")
        if contract:
            conditions.append("e.contract_id = ?")
            parameters.append(contract)
        if period:
            conditions.append("t.period = ?")
            parameters.append(period)
        if conditions:
            sql += " WHERE " + " AND ".join(conditions)
        return _arrow(self._connection.execute(sql + " ORDER BY t.entry, t.position",
                                               parameters), table.name)


def _arrow(cursor: sqlite3.Cursor, table: str) -> pa.Table:
    """The cursor's rows as an Arrow table, each column typed by what it holds."""
    names = [d[0] for d in cursor.description]
    rows = cursor.fetchall()
    columns = {name: [row[i] for row in rows] for i, name in enumerate(names)}
    return pa.table({name: _column(name, values, table) for name, values in columns.items()})


def _column(name: str, values: Sequence[Any], table: str) -> pa.Array:
    if name in _MONEY.get(table, ()):
        from slaengine.tables import money_type

        amounts = [None if v is None else Decimal(v) for v in values]
        return pa.array(amounts, money_type(amounts))
    if name in _INTEGERS:
        return pa.array(values, pa.int64())
    if name in _FLAGS:
        return pa.array([None if v is None else bool(v) for v in values], pa.bool_())
    if name == "segment":
        return pa.array([list(json.loads(v).items()) for v in values],
                        pa.map_(pa.string(), pa.string()))
    if name in _JSON_LISTS:
        return pa.array([json.loads(v) for v in values], pa.list_(pa.string()))
    return pa.array(values, pa.string())
