"""Credits that take their history from the ledger, and an evaluation narrowed to one period.

Earn-back ("returned after 3 periods on target"), chronic failure ("3 breaches within 6
periods") and yearly caps look back at earlier periods. An evaluation appended to a ledger
takes those periods from it: for each period of the same contract id before the evaluation's
last one that the evaluation does not hold itself, the verdicts of the last entry that
evaluated it (a closed period's latest restatement). They are walked through the credit rules
first (:func:`slaengine.credits.schedule.assess_credits`), under the contract's current
terms, so evaluating January, February, ... each in its own run gives the credits of one run
over all the months.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from slaengine.errors import UsageError
from slaengine.ledger.schema import VERDICTS, connect
from slaengine.periods import label_problem
from slaengine.years import placing_day

if TYPE_CHECKING:
    from slaengine.contract import Contract
    from slaengine.plugin import PenaltyModel
    from slaengine.verdicts import Evaluation, Verdict


def period_span(label: str, period: str) -> tuple[date, date]:
    """The first and last day of the period ``label`` (a ``period``: month, quarter, ...)."""
    first = placing_day(label, period)
    if period == "week":
        first -= timedelta(days=3)  # placing_day gives a week's Thursday
        return first, first + timedelta(days=6)
    if period == "month":
        after = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    elif period == "quarter":
        after = date(first.year + (first.month + 2) // 12, (first.month + 2) % 12 + 1, 1)
    else:
        after = date(first.year + 1, 1, 1)
    return first, after - timedelta(days=1)


def narrowed_to(contract: Contract, label: str, option: str = "--period") -> Contract:
    """``contract`` evaluating only the period ``label``: its window cut to that period.

    The sources are read whole (every row is still accounted for); records of other periods
    count as outside the window. Raises :class:`UsageError` naming ``option`` for a label that
    is not one of the contract's periods, or that lies outside its window (``start``, ``end``,
    ``effective_from``).
    """
    if not isinstance(label, str):
        raise UsageError(f"{option}: expected a period label such as 2026-03, found {label!r}")
    problem = label_problem(label, contract.period)
    if problem is not None:
        raise UsageError(f"{option}: {problem} (the contract is measured by {contract.period})")
    first, last = period_span(label, contract.period)
    start, end = contract.window
    effective = getattr(contract, "effective_from", None)
    if effective is not None and last < effective:
        raise UsageError(
            f"{option} {label}: the contract's version {contract.version or '(unnamed)'} is in "
            f"force from {effective.isoformat()} (effective_from); evaluate {label} with the "
            "contract file of the version in force then", file=contract.path)
    if (start is not None and last < start) or (end is not None and first > end):
        raise UsageError(f"{option} {label}: the period lies outside the contract's window "
                         f"({start or '...'} .. {end or '...'})", file=contract.path)
    return replace(contract, window=(max(first, start) if start else first,
                                     min(last, end) if end else last))


# --------------------------------------------------------------------------- earlier periods


_INTEGERS = ("sample_size", "unmeasured", "excluded", "missed_count")


def _figure(text: str | None, money: bool) -> Any:
    """A stored figure read back exactly: ``n/d`` a Fraction, money a Decimal, else a float
    (stored as the shortest text that reads back as the same float)."""
    if text is None:
        return None
    if "/" in text:
        return Fraction(text)
    return Decimal(text) if money else float(text)


def _verdict(row: sqlite3.Row) -> Verdict:
    from slaengine.verdicts import Verdict

    return Verdict(
        service_level=row["service_level"], metric=row["metric"], period=row["period"],
        segment=json.loads(row["segment"]), statistic=row["statistic"],
        value=_figure(row["value"], row["unit"] == "money"), unit=row["unit"],
        target=row["target"], minimum=row["minimum"], status=row["status"],
        compliance=None if row["compliance"] is None else Fraction(row["compliance"]),
        margin=_figure(row["margin"], False),
        **{name: int(row[name]) for name in _INTEGERS},
        missed=tuple(json.loads(row["missed"])), paused=_figure(row["paused"], False),
        note=row["note"], provisional=bool(row["provisional"]), hits=row["hits"],
    )


def earlier_verdicts(path: Path, contract: Contract, periods: Sequence[str]) -> list[Verdict]:
    """The current verdicts recorded in the ledger at ``path`` for ``contract``'s id, of the
    periods before the last of ``periods`` that ``periods`` does not hold, in period order (and
    recorded order within a period). None when ``path`` does not exist yet."""
    if not periods or not path.is_file():
        return []
    own = set(periods)
    last = max(periods)
    connection = connect(path, write=False)
    connection.row_factory = sqlite3.Row
    try:
        rows = connection.execute(
            f"SELECT {', '.join('v.' + name for name in VERDICTS.names)} FROM verdicts v "
            "JOIN (SELECT v2.period AS period, max(v2.entry) AS entry FROM verdicts v2 "
            "JOIN entries e ON e.seq = v2.entry WHERE e.contract_id = ? AND v2.period < ? "
            "GROUP BY v2.period) l ON l.period = v.period AND l.entry = v.entry "
            "ORDER BY v.period, v.position", (contract.id, last)).fetchall()
    finally:
        connection.close()
    return [_verdict(row) for row in rows
            if row["period"] not in own and label_problem(row["period"], contract.period) is None]


def assess_with_history(evaluation: Evaluation, model: PenaltyModel, path: Path) -> None:
    """Assess ``evaluation``'s credits again with the earlier periods the ledger at ``path``
    holds (nothing changes when it holds none)."""
    from slaengine.credits.schedule import assess_credits

    contract = evaluation.contract
    if contract.credit_terms is None:
        return
    earlier = earlier_verdicts(path, contract, evaluation.periods)
    if earlier:
        evaluation.credits = assess_credits(evaluation, model, contract.credit_terms,
                                            earlier=earlier)
