"""An evaluation as typed Arrow tables, for analysis in a notebook or a data pipeline.

:func:`evaluation_tables` gives five tables, each with a fixed set of columns (a table with no
rows keeps them):

- ``verdicts``: one row per verdict, in the evaluation's order. ``period_start`` and
  ``period_end`` bound the period (``[start, end)``, timestamps in the contract's timezone);
  ``segment`` is a map (``{"priority": "urgent"}``, empty without ``by``). ``value`` is the
  figure as a float in base units (seconds, a fraction 0-1, the plain number); for a money
  figure ``value_money`` holds it exactly as a decimal (null for every other unit).
  ``compliance`` is the float nearest to the exact figure, ``compliance_numerator`` /
  ``compliance_denominator`` the exact figure itself (null when it does not fit in 64 bits).
- ``credits``: one row per ledger line and per bonus (``kind`` says which), signed ``amount``
  as a decimal: per period, the ``credit`` rows add up to ``after_caps - earned_back`` and the
  ``bonus`` rows to ``bonuses``.
- ``credit_totals``: one row per period with its six totals (see :mod:`slaengine.credits`).
- ``sources``: every source's row accounting (``read == accepted + rejected + duplicates``),
  ``rejected_by_reason`` and ``notes`` as maps.
- ``levels``: how each service level used its source's accepted records
  (``accepted == included + excluded + outside_window + without_period``).

Money columns are ``decimal128`` with the scale the amounts need (at least the rounding's
decimals for credits), so they sum exactly; Arrow refuses, rather than rounds, an amount that
would not fit. The tables are built from the verdicts and accounts (a few rows per service level
and period), never from the records.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from slaengine.credits.ledger import CreditLine, CreditSchedule
from slaengine.lazy import np, pa
from slaengine.periods import period_bounds
from slaengine.verdicts import Evaluation, LevelAccount, SourceAccount, Verdict

if TYPE_CHECKING:
    from slaengine.contract import Contract

INT64_MAX = 2**63 - 1
MONEY_PRECISION = 38
"""The digits of a money column: ``decimal128``'s most, the scale included."""


def evaluation_tables(evaluation: Evaluation) -> dict[str, pa.Table]:
    """The evaluation's verdicts, credits, credit totals, sources and levels as Arrow tables
    (see the module doc for their columns)."""
    contract = evaluation.contract
    return {
        "verdicts": verdict_table(evaluation.verdicts, contract),
        "credits": credit_table(evaluation.credits),
        "credit_totals": credit_totals_table(evaluation.credits),
        "sources": source_table(evaluation.sources.values()),
        "levels": level_table(evaluation.levels.values()),
    }


def verdict_table(verdicts: list[Verdict], contract: Contract) -> pa.Table:
    """One row per verdict (see the module doc)."""
    starts, ends = _period_bounds([v.period for v in verdicts], contract)
    money = [v.value if v.unit == "money" and isinstance(v.value, Decimal) else None
             for v in verdicts]
    instant = pa.timestamp("us", tz=contract.timezone)
    columns = {
        "service_level": (pa.string(), [v.service_level for v in verdicts]),
        "metric": (pa.string(), [v.metric for v in verdicts]),
        "period": (pa.string(), [v.period for v in verdicts]),
        "period_start": (instant, starts),
        "period_end": (instant, ends),
        "segment": (pa.map_(pa.string(), pa.string()), [v.segment for v in verdicts]),
        "statistic": (pa.string(), [v.statistic for v in verdicts]),
        "unit": (pa.string(), [v.unit for v in verdicts]),
        "value": (pa.float64(), [None if v.value is None else float(v.value) for v in verdicts]),
        "value_money": (money_type(money), money),
        "target": (pa.string(), [v.target for v in verdicts]),
        "minimum": (pa.string(), [v.minimum for v in verdicts]),
        "status": (pa.string(), [v.status for v in verdicts]),
        "compliance": (pa.float64(), [_float(v.compliance) for v in verdicts]),
        "compliance_numerator": (pa.int64(), [_part(v.compliance, 0) for v in verdicts]),
        "compliance_denominator": (pa.int64(), [_part(v.compliance, 1) for v in verdicts]),
        "margin": (pa.float64(), [v.margin for v in verdicts]),
        "sample_size": (pa.int64(), [v.sample_size for v in verdicts]),
        "hits": (pa.int64(), [v.hits for v in verdicts]),
        "unmeasured": (pa.int64(), [v.unmeasured for v in verdicts]),
        "excluded": (pa.int64(), [v.excluded for v in verdicts]),
        "missed_count": (pa.int64(), [v.missed_count for v in verdicts]),
        "missed": (pa.list_(pa.string()), [list(v.missed) for v in verdicts]),
        "paused": (pa.float64(), [v.paused for v in verdicts]),
        "provisional": (pa.bool_(), [v.provisional for v in verdicts]),
        "note": (pa.string(), [v.note for v in verdicts]),
    }
    return _table(columns)


def credit_table(schedule: CreditSchedule | None) -> pa.Table:
    """One row per ledger line, then per bonus, period by period (see the module doc)."""
    rows: list[tuple[str, CreditLine]] = []
    if schedule is not None:
        for period in schedule.periods:
            rows += [("credit", line) for line in period.lines]
            rows += [("bonus", line) for line in period.bonuses]
    amounts = [line.amount for _, line in rows]
    columns = {
        "period": (pa.string(), [line.period for _, line in rows]),
        "service_level": (pa.string(), [line.service_level for _, line in rows]),
        "kind": (pa.string(), [kind for kind, _ in rows]),
        "rule": (pa.string(), [line.rule for _, line in rows]),
        "amount": (money_type(amounts, _decimals(schedule)), amounts),
        "currency": (pa.string(), [line.currency for _, line in rows]),
        "note": (pa.string(), [line.note for _, line in rows]),
        "provisional": (pa.bool_(), [line.provisional for _, line in rows]),
    }
    return _table(columns)


TOTAL_COLUMNS = {"before_caps": "before_caps", "capped": "capped", "after_caps": "after_caps",
                 "earned_back": "earned_back", "bonuses": "bonus_total", "net": "net"}
"""The money columns of ``credit_totals`` (named as in the JSON report) and their
:class:`~slaengine.credits.ledger.Totals` fields."""


def credit_totals_table(schedule: CreditSchedule | None) -> pa.Table:
    """One row per period of the schedule with its totals (see the module doc)."""
    periods = schedule.periods if schedule is not None else []
    currency = schedule.currency if schedule is not None else None
    columns: dict[str, tuple[pa.DataType, list[Any]]] = {
        "period": (pa.string(), [p.period for p in periods]),
    }
    for column, name in TOTAL_COLUMNS.items():
        amounts = [getattr(p, name) for p in periods]
        columns[column] = (money_type(amounts, _decimals(schedule)), amounts)
    columns["currency"] = (pa.string(), [currency for _ in periods])
    columns["provisional"] = (pa.bool_(), [p.provisional for p in periods])
    return _table(columns)


def source_table(accounts: Iterable[SourceAccount]) -> pa.Table:
    """One row per source: what it read and what became of every row."""
    accounts = list(accounts)
    counts = pa.map_(pa.string(), pa.int64())
    columns = {
        "source": (pa.string(), [a.source for a in accounts]),
        "adapter": (pa.string(), [a.adapter for a in accounts]),
        "path": (pa.string(), [a.path for a in accounts]),
        **{name: (pa.int64(), [getattr(a, name) for a in accounts])
           for name in ("read", "accepted", "rejected", "duplicates", "after_as_of")},
        "rejected_by_reason": (counts, [a.rejected_by_reason for a in accounts]),
        "notes": (counts, [a.notes for a in accounts]),
    }
    return _table(columns)


def level_table(accounts: Iterable[LevelAccount]) -> pa.Table:
    """One row per service level: how it used its source's accepted records."""
    accounts = list(accounts)
    columns = {
        "service_level": (pa.string(), [a.service_level for a in accounts]),
        "source": (pa.string(), [a.source for a in accounts]),
        **{name: (pa.int64(), [getattr(a, name) for a in accounts])
           for name in ("accepted", "included", "excluded", "outside_window", "without_period")},
        "agreed_exclusions": (pa.map_(pa.string(), pa.int64()), [a.agreed for a in accounts]),
    }
    return _table(columns)


def money_type(amounts: Iterable[Decimal | None], decimals: int = 2) -> pa.DataType:
    """A ``decimal128`` that holds every one of ``amounts`` exactly: at least ``decimals``
    places, more if an amount has them."""
    scale = decimals
    for amount in amounts:
        if amount is not None and amount.is_finite():
            exponent = amount.as_tuple().exponent
            assert isinstance(exponent, int)  # finite
            scale = max(scale, -exponent)
    return pa.decimal128(MONEY_PRECISION, min(scale, MONEY_PRECISION))


def period_key(label: str) -> int:
    """The key of a period label, the inverse of :func:`slaengine.periods.period_label`: its
    digits (``2026-03`` -> 202603, ``2026-Q1`` -> 20261, ``2026-W09`` -> 202609, ``2026``)."""
    return int("".join(ch for ch in label if ch.isdigit()))


def _period_bounds(labels: list[str], contract: Contract) -> tuple[np.ndarray, np.ndarray]:
    """The UTC bounds (microseconds) of each label's period, computed once per period."""
    distinct = sorted(set(labels))
    keys = np.array([period_key(label) for label in distinct], dtype=np.int64)
    starts, ends = period_bounds(keys, contract.period, contract.timezone)
    where = {label: i for i, label in enumerate(distinct)}
    order = np.array([where[label] for label in labels], dtype=np.int64)
    return starts[order], ends[order]


def _decimals(schedule: CreditSchedule | None) -> int:
    return schedule.rounding.decimals if schedule is not None else 2


def _float(value: Fraction | None) -> float | None:
    return None if value is None else float(value)


def _part(value: Fraction | None, which: int) -> int | None:
    """The numerator (0) or denominator (1) of an exact figure; None when either does not fit
    in an int64 (the float column still holds the figure)."""
    if value is None or abs(value.numerator) > INT64_MAX or value.denominator > INT64_MAX:
        return None
    return (value.numerator, value.denominator)[which]


def _table(columns: Mapping[str, tuple[pa.DataType, Any]]) -> pa.Table:
    return pa.table({name: pa.array(values, type=type_)
                     for name, (type_, values) in columns.items()})
