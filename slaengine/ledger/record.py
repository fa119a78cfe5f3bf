"""Appending to the ledger: an evaluation (with a restatement for each closed period it
re-evaluates) or a period closed.

Each append is one ``BEGIN IMMEDIATE`` transaction: the writer takes the ledger's write lock
before it reads the last entry, so two evaluations appending at once are chained one after
the other (the second waits, up to :data:`~slaengine.ledger.schema.BUSY_TIMEOUT_MS`), and a
run stopped mid-append (killed, power lost) leaves no part of its entry: SQLite's journal rolls
the transaction back when the ledger is next opened.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from slaengine.errors import UsageError, did_you_mean
from slaengine.ledger import canonical
from slaengine.ledger.schema import (
    CLOSED_PERIODS,
    CREDIT_FLAGS,
    CREDIT_TOTALS,
    CREDITS,
    ENTRY_COLUMNS,
    RESTATEMENTS,
    ROW_TABLES,
    VERDICTS,
    connect,
)

if TYPE_CHECKING:
    from slaengine.credits.ledger import CreditSchedule, Totals
    from slaengine.verdicts import Evaluation, Verdict

Row = dict[str, str | int | None]


@dataclass(frozen=True)
class Appended:
    """What an append recorded: the entry's ``seq`` and hash, and the closed periods it
    restated."""

    seq: int
    entry_hash: str
    restated: tuple[str, ...] = ()


# --------------------------------------------------------------------------- exact text


def exact_text(value: float | int | Decimal | Fraction | None) -> str | None:
    """A figure as the ledger stores it: a Decimal as its exact text, a Fraction as
    ``numerator/denominator``, a float as the shortest text that reads back as the same float
    (``nan``, ``inf`` as Python writes them)."""
    if value is None:
        return None
    if isinstance(value, Fraction):
        return f"{value.numerator}/{value.denominator}"
    if isinstance(value, bool):
        raise TypeError(f"a figure, not a flag: {value!r}")
    if isinstance(value, Decimal | int):
        return str(value)
    return repr(float(value))


def segment_text(segment: Mapping[str, str]) -> str:
    """A verdict's segment as stored: a JSON object in the level's ``by`` order."""
    return json.dumps(dict(segment), ensure_ascii=False, separators=(",", ":"))


# --------------------------------------------------------------------------- rows


def verdict_rows(verdicts: Sequence[Verdict]) -> list[Row]:
    return [{"service_level": v.service_level, "metric": v.metric, "period": v.period,
             "segment": segment_text(v.segment), "statistic": v.statistic, "unit": v.unit,
             "value": exact_text(v.value), "target": v.target, "minimum": v.minimum,
             "status": v.status, "compliance": exact_text(v.compliance),
             "margin": exact_text(v.margin), "sample_size": int(v.sample_size),
             "unmeasured": int(v.unmeasured), "excluded": int(v.excluded),
             "hits": None if v.hits is None else int(v.hits),
             "missed_count": int(v.missed_count),
             "missed": json.dumps(list(v.missed), ensure_ascii=False),
             "paused": exact_text(v.paused), "note": v.note, "provisional": int(v.provisional)}
            for v in verdicts]


def _totals(scope: str, label: str, currency: str, t: Totals, provisional: bool) -> Row:
    return {"scope": scope, "label": label, "currency": currency,
            "before_caps": str(t.before_caps), "capped": str(t.capped),
            "after_caps": str(t.after_caps), "earned_back": str(t.earned_back),
            "bonuses": str(t.bonus_total), "net": str(t.net), "provisional": int(provisional)}


def credit_rows(schedule: CreditSchedule | None) -> dict[str, list[Row]]:
    """The credit lines and bonuses, the period and year totals and the flags of
    ``schedule`` (none without penalties)."""
    if schedule is None:
        return {}
    lines = [("credit", line) for line in schedule.credits]
    lines += [("bonus", line) for line in schedule.bonuses]
    totals = [_totals("period", p.period, schedule.currency, p, p.provisional)
              for p in schedule.periods]
    totals += [_totals("year", y.year, schedule.currency, y, y.provisional is not None)
               for y in schedule.years]
    return {
        CREDITS.name: [{"kind": kind, "period": line.period,
                        "service_level": line.service_level, "amount": str(line.amount),
                        "currency": line.currency, "rule": line.rule, "note": line.note,
                        "provisional": int(line.provisional)} for kind, line in lines],
        CREDIT_TOTALS.name: totals,
        CREDIT_FLAGS.name: [{"kind": f.kind, "service_level": f.service_level,
                             "periods": json.dumps(list(f.periods), ensure_ascii=False),
                             "note": f.note} for f in schedule.flags],
    }


def evaluation_rows(evaluation: Evaluation) -> dict[str, list[Row]]:
    """Every row an evaluation puts in the ledger, per table (``entry``/``position`` apart)."""
    return {VERDICTS.name: verdict_rows(evaluation.verdicts), **credit_rows(evaluation.credits)}


def _json(value: Any) -> str:
    return canonical.canonical_json(value)


# --------------------------------------------------------------------------- appending


def append_evaluation(path: Path, evaluation: Evaluation, *, reason: str | None = None) -> Appended:
    """Record ``evaluation`` in the ledger at ``path`` (created when missing).

    A period of the evaluation that was closed (``ledger close``) is restated: ``reason`` is
    then required (:class:`UsageError` naming the closed periods without it), and a restatement
    row per closed period records the entry it restates and the differences per service level
    and segment. The original entry stays as it was.
    """
    if reason is not None and not reason.strip():
        raise UsageError("--reason: give the reason in words (it is recorded in the ledger)")
    contract = evaluation.contract
    rows = evaluation_rows(evaluation)
    periods = sorted({v.period for v in evaluation.verdicts})
    manifest = evaluation.manifest
    entry: Row = {
        "kind": "evaluation", "contract_id": contract.id,
        "contract_version": _version(contract), "contract_sha256": contract.sha256,
        "contract_effective_from": _effective(contract), **_parties(contract),
        "options": _json(manifest.get("options") or {}), "manifest": _json(manifest),
        "reason": reason,
    }
    with _writing(path) as connection:
        closed = closed_periods(connection, contract.id, periods)
        if closed and reason is None:
            raise UsageError(
                f"{contract.id}: period{'s' if len(closed) > 1 else ''} "
                f"{', '.join(closed)} {'are' if len(closed) > 1 else 'is'} closed in the "
                "ledger; re-evaluating a closed period records a restatement beside the "
                'original: add --reason "..." saying why', file=path)
        seq = _next_seq(connection)
        restated = []
        for period in closed:
            original = latest_evaluation(connection, contract.id, period)
            assert original is not None  # a period is closed only once evaluated
            restated.append({
                "contract_id": contract.id, "period": period, "original_entry": original,
                "reason": reason,
                "differences": _json(differences(connection, original, period, rows)),
            })
        if restated:
            rows[RESTATEMENTS.name] = restated
        appended = _append(connection, seq, entry, rows)
    return Appended(appended.seq, appended.entry_hash, tuple(closed))


def close_period(path: Path, contract_id: str, period: str) -> Appended:
    """Close ``period`` of ``contract_id``: from now on re-evaluating it records a restatement.

    Refused (:class:`UsageError`) when the ledger holds no evaluation of that period, when the
    latest one is provisional (the period was not over at ``--as-of``), or when it is closed
    already.
    """
    with _writing(path) as connection:
        latest = latest_evaluation(connection, contract_id, period)
        if latest is None:
            known = [row[0] for row in connection.execute(
                "SELECT DISTINCT contract_id FROM entries ORDER BY 1")]
            if contract_id not in known:
                raise UsageError(f'--contract: no evaluation of contract "{contract_id}" is '
                                 "recorded", file=path,
                                 suggestion=did_you_mean(contract_id, known), accepted=known)
            evaluated = [row[0] for row in connection.execute(
                "SELECT DISTINCT v.period FROM verdicts v JOIN entries e ON e.seq = v.entry "
                "WHERE e.contract_id = ? ORDER BY 1", (contract_id,))]
            raise UsageError(f"--period: no evaluation of {contract_id} for {period} is "
                             "recorded; evaluate it with --ledger first", file=path,
                             suggestion=did_you_mean(period, evaluated), accepted=evaluated)
        provisional = connection.execute(
            "SELECT count(*) FROM verdicts WHERE entry = ? AND period = ? AND provisional = 1",
            (latest, period)).fetchone()[0]
        if provisional:
            raise UsageError(f"{contract_id} {period}: the latest evaluation of it (entry "
                             f"{latest}) is provisional (the period was not over at --as-of); "
                             "evaluate it again once it is over, then close it", file=path)
        if closed_periods(connection, contract_id, [period]):
            by = connection.execute(
                "SELECT entry FROM closed_periods WHERE contract_id = ? AND period = ?",
                (contract_id, period)).fetchone()[0]
            raise UsageError(f"{contract_id} {period} is already closed (entry {by})",
                             file=path)
        entry: Row = {"kind": "close", "contract_id": contract_id,
                      **_recorded_parties(connection, latest)}
        rows = {CLOSED_PERIODS.name: [{"contract_id": contract_id, "period": period}]}
        return _append(connection, _next_seq(connection), entry, rows)


class _writing:
    """The ledger opened for writing, inside one ``BEGIN IMMEDIATE`` transaction: committed
    when the block ends normally, rolled back otherwise, closed in both cases."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.connection: sqlite3.Connection | None = None

    def __enter__(self) -> sqlite3.Connection:
        self.connection = connect(self.path, write=True)
        try:
            self.connection.execute("BEGIN IMMEDIATE")
        except BaseException:
            self.connection.close()
            raise
        return self.connection

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        assert self.connection is not None
        try:
            self.connection.execute("COMMIT" if kind is None else "ROLLBACK")
        finally:
            self.connection.close()


def _version(contract: Any) -> str | None:
    """The contract's ``version`` (None when it names none)."""
    version = getattr(contract, "version", None)
    return None if version is None else str(version)


def _effective(contract: Any) -> str | None:
    """The first day of the contract version's ``effective_from`` (None without one)."""
    day = getattr(contract, "effective_from", None)
    return None if day is None else day.isoformat()


def _parties(contract: Any) -> Row:
    """The contract's ``client`` and ``vendor``, as the entry records them."""
    return {"contract_client": getattr(contract, "client", None),
            "contract_vendor": getattr(contract, "vendor", None)}


def _recorded_parties(connection: sqlite3.Connection, entry: int) -> Row:
    """The client and vendor recorded on ``entry`` (a period is closed under the parties of
    the evaluation it closes; null on an entry written before they were recorded)."""
    client, vendor = connection.execute(
        "SELECT contract_client, contract_vendor FROM entries WHERE seq = ?", (entry,)
    ).fetchone()
    return {"contract_client": client, "contract_vendor": vendor}


def _next_seq(connection: sqlite3.Connection) -> int:
    return int(connection.execute("SELECT coalesce(max(seq), 0) + 1 FROM entries").fetchone()[0])


def closed_periods(connection: sqlite3.Connection, contract_id: str,
                   periods: Iterable[str]) -> list[str]:
    """Those of ``periods`` that are closed for ``contract_id``, sorted."""
    closed = {row[0] for row in connection.execute(
        "SELECT period FROM closed_periods WHERE contract_id = ?", (contract_id,))}
    return sorted(closed.intersection(periods))


def latest_evaluation(connection: sqlite3.Connection, contract_id: str,
                      period: str) -> int | None:
    """The last entry that evaluated ``period`` of ``contract_id`` (the latest restatement,
    when there is one), or None."""
    found = connection.execute(
        "SELECT max(v.entry) FROM verdicts v JOIN entries e ON e.seq = v.entry "
        "WHERE e.contract_id = ? AND v.period = ?", (contract_id, period)).fetchone()[0]
    return None if found is None else int(found)


def _level_credits(lines: Iterable[Mapping[str, Any]], period: str) -> dict[str, Decimal]:
    found: dict[str, Decimal] = {}
    for line in lines:
        if line["kind"] == "credit" and line["period"] == period and line["service_level"]:
            level = str(line["service_level"])
            found[level] = found.get(level, Decimal(0)) + Decimal(str(line["amount"]))
    return found


def _side(verdict: Mapping[str, Any] | None, credits: Mapping[str, Decimal]) -> Any:
    if verdict is None:
        return None
    credit = credits.get(str(verdict["service_level"]))
    return {"status": verdict["status"], "value": verdict["value"],
            "credit": None if credit is None else str(credit)}


def differences(connection: sqlite3.Connection, original: int, period: str,
                rows: Mapping[str, Sequence[Row]]) -> list[dict[str, Any]]:
    """Per service level and segment of ``period``: the original entry's status, value and
    credit against the new ones, where they differ (a side is None where it has no verdict)."""
    columns = ("service_level", "segment", "status", "value")
    old = {(r[0], r[1]): dict(zip(columns, r, strict=True)) for r in connection.execute(
        "SELECT service_level, segment, status, value FROM verdicts WHERE entry = ? AND "
        "period = ? ORDER BY position", (original, period))}
    old_credits = _level_credits(
        (dict(zip(("kind", "period", "service_level", "amount"), r, strict=True))
         for r in connection.execute("SELECT kind, period, service_level, amount FROM credits "
                                     "WHERE entry = ?", (original,))), period)
    new = {(str(r["service_level"]), str(r["segment"])): r
           for r in rows.get(VERDICTS.name, ()) if r["period"] == period}
    new_credits = _level_credits(rows.get(CREDITS.name, ()), period)
    found = []
    for key in [*old, *(k for k in new if k not in old)]:
        before, after = _side(old.get(key), old_credits), _side(new.get(key), new_credits)
        if before != after:
            found.append({"service_level": key[0], "period": period,
                          "segment": json.loads(key[1]), "old": before, "new": after})
    return found


# --------------------------------------------------------------------------- the entry


def _append(connection: sqlite3.Connection, seq: int, entry: Row,
            rows: Mapping[str, Sequence[Row]]) -> Appended:
    """Insert the entry ``seq`` and its rows, chained to the last entry."""
    last = connection.execute(
        "SELECT entry_hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
    previous = last[0] if last else canonical.GENESIS
    full: Row = {name: None for name, _ in ENTRY_COLUMNS}
    full.update({name: value for name, value in entry.items() if value is not None}, seq=seq,
                recorded_at=datetime.now(UTC).isoformat(timespec="microseconds"))
    placed = {table: [{"entry": seq, "position": i, **row} for i, row in enumerate(found)]
              for table, found in rows.items()}
    text = canonical.content(full, placed)
    full["content"] = text
    full["content_sha256"] = canonical.sha256(text)
    full["previous_hash"] = previous
    full["entry_hash"] = canonical.chain(previous, str(full["content_sha256"]))
    _insert(connection, "entries", [full])
    for table in ROW_TABLES:
        if placed.get(table.name):
            _insert(connection, table.name, placed[table.name])
    return Appended(seq, str(full["entry_hash"]))


def _insert(connection: sqlite3.Connection, table: str, rows: Sequence[Row]) -> None:
    names = list(rows[0])
    connection.executemany(
        f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
        [[row[name] for name in names] for row in rows])
