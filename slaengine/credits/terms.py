"""The ``[penalties]`` terms, parsed once when the contract is read into typed, frozen objects.

The schema (:mod:`slaengine.credits.schema`) checks each key on its own; :func:`parse_terms`
then reads the checked table and finds what only the whole contract shows: a chronic rule that
cannot fit in its window, a stretch target that cannot be read off its service level, a share of
the fee without a fee. Every problem comes out here, at its key path, so that assessing the
credits of a checked contract cannot fail on its terms.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from slaengine.credits.money import NO_FEE, FeeShare, PeriodFee, Rounding, rounding_of
from slaengine.credits.schema import EARN_BACK_ORDERS, YEAR_WINDOW, reference_problems
from slaengine.errors import ContractError, KeyPath
from slaengine.money import parse_amount
from slaengine.schema import key_lines, line_of
from slaengine.targets import Target, parse_target
from slaengine.years import periods_per_year

if TYPE_CHECKING:
    from slaengine.contract import Contract
    from slaengine.plugin import PenaltyModel

Problem = tuple[KeyPath, str, str | None, list[str] | None]
"""A problem as :func:`slaengine.schema.validate` gives it: key path, message, suggestion,
accepted values."""


class TermsProblem(ValueError):
    """A problem of the ``[penalties]`` terms at ``key_path``, raised by a penalty model's
    ``parse`` (see :class:`slaengine.plugin.PenaltyModel`); the contract reports it there."""

    def __init__(self, key_path: KeyPath, message: str) -> None:
        super().__init__(message)
        self.key_path = key_path
        self.message = message


@dataclass(frozen=True)
class Exclusion:
    """``[[penalties.exclusions]]``: no credit for ``service_level`` (None: every one) in
    ``period``."""

    period: str
    service_level: str | None
    reason: str


@dataclass(frozen=True)
class Chronic:
    """``chronic = { breaches, within, multiplier, note }``; ``within`` None: the contract
    year so far."""

    breaches: int
    within: int | None
    multiplier: Decimal
    note: str

    def window(self, failures: list[int], i: int, years: list[str]) -> list[int]:
        """The failures (period indices) that count at period ``i``: the last ``within``
        periods, or the contract year of ``i`` so far."""
        if self.within is None:
            return [j for j in failures if years[j] == years[i]]
        return [j for j in failures if j > i - self.within]

    def describe(self, year: str) -> str:
        """``"within 6 periods"`` or ``"within contract year 2026/27"``."""
        return f"within contract year {year}" if self.within is None else (
            f"within {self.within} periods")


@dataclass(frozen=True)
class Bonus:
    """``[[penalties.bonuses]]`` entry ``index``: ``amount`` for each period in which every
    verdict of ``service_level`` meets ``stretch``."""

    index: int
    service_level: str
    stretch: Target
    amount: FeeShare
    note: str


@dataclass(frozen=True)
class LevelFacts:
    """What the terms need to know of a service level: its verdicts' statistic and unit (as
    a verdict carries them: ``"rate"``, ``"score"``, ``"duration"`` ...) and its target."""

    id: str
    statistic: str | None
    unit: str
    target: Target


@dataclass(frozen=True)
class CreditTerms:
    """The whole ``[penalties]`` table, parsed: the common rules and ``options``, what the
    model's own ``parse`` made of its keys. ``fee`` is the fee of one period."""

    model: str
    currency: str
    rounding: Rounding
    fee: PeriodFee
    exclusions: tuple[Exclusion, ...] = ()
    chronic: Chronic | None = None
    cap_per_period: FeeShare | None = None
    cap_per_year: FeeShare | None = None
    earn_back: int | None = None
    earn_back_order: str = EARN_BACK_ORDERS[0]
    bonuses: tuple[Bonus, ...] = ()
    options: Any = None

    def exclusion(self, period: str, level: str | None) -> int | None:
        """The index of the first exclusion covering ``level`` in ``period``, if any."""
        for index, exclusion in enumerate(self.exclusions):
            if exclusion.period == period and exclusion.service_level in (None, level):
                return index
        return None


def parse_terms(
    table: Mapping[str, Any], model: PenaltyModel, *, currency: str, period: str,
    monthly_fee: Decimal | None, levels: Mapping[str, LevelFacts],
) -> tuple[CreditTerms | None, list[Problem]]:
    """The terms of a ``[penalties]`` table the schema found sound, or the problems found.

    ``levels`` are the contract's service levels by id (a bonus's stretch target is checked
    against its service level's target). ``model.parse`` reads the model's own keys.
    """
    problems: list[Problem] = []
    fee = PeriodFee.of(monthly_fee, period)
    chronic = _chronic(table.get("chronic"), period, problems)
    bonuses = tuple(_bonus(i, entry, levels, problems)
                    for i, entry in enumerate(table.get("bonuses") or []))
    caps = {key: FeeShare.parse(table[key]) for key in ("cap_per_period", "cap_per_year")
            if table.get(key) is not None}
    for key, cap in caps.items():
        _needs_fee(cap, fee, ("penalties", key), problems,
                   "period's fee" if key == "cap_per_period" else "yearly fee (12 monthly fees)")
    for bonus in bonuses:
        _needs_fee(bonus.amount, fee, ("penalties", "bonuses", bonus.index, "amount"), problems)
    try:
        options = model.parse(table, fee)
    except TermsProblem as exc:
        problems.append((exc.key_path, exc.message, None, None))
    if problems:
        return None, problems
    return CreditTerms(
        model=model.name, currency=currency, rounding=rounding_of(table, currency), fee=fee,
        exclusions=tuple(Exclusion(e["period"], e.get("service_level"), e["reason"])
                         for e in table.get("exclusions") or []),
        chronic=chronic, cap_per_period=caps.get("cap_per_period"),
        cap_per_year=caps.get("cap_per_year"), earn_back=table.get("earn_back_periods"),
        earn_back_order=table.get("earn_back_order", EARN_BACK_ORDERS[0]), bonuses=bonuses,
        options=options,
    ), []


def _chronic(table: Mapping[str, Any] | None, period: str, problems: list[Problem]
             ) -> Chronic | None:
    """``chronic``, refused when its breaches cannot fit within its window."""
    if not table:
        return None
    within = None if table["within"] == YEAR_WINDOW else int(table["within"])
    chronic = Chronic(int(table["breaches"]), within,
                      parse_amount(table.get("multiplier", "1")), table.get("note", ""))
    room = periods_per_year(period) if within is None else within
    if chronic.breaches > room:
        where = (f"a contract year ({room} {period}s at most)" if within is None
                 else f"{within} periods")
        problems.append((("penalties", "chronic", "breaches"),
                         f"{chronic.breaches} breaches cannot fit within {where}", None, None))
    return chronic


_NUMBER_UNITS = {"score", "points", "count"}


def _bonus(index: int, entry: Mapping[str, Any], levels: Mapping[str, LevelFacts],
           problems: list[Problem]) -> Bonus:
    """Bonus ``index``, its stretch target checked against its service level's verdicts: the
    same statistic and unit, and the same time limit (only the share may differ)."""
    bonus = Bonus(index, entry["service_level"], parse_target(entry["stretch"]),
                  FeeShare.parse(entry["amount"]), entry.get("note", ""))
    level = levels.get(bonus.service_level)
    if level is None:
        return bonus  # reported as an unknown service level
    stretch, at = bonus.stretch, ("penalties", "bonuses", index, "stretch")
    statistic = stretch.statistic or level.statistic
    unit = "number" if level.unit in _NUMBER_UNITS else level.unit
    if statistic != level.statistic or stretch.unit != unit:
        problems.append((at, f'"{stretch.text}" cannot be read off {level.id}, whose verdicts are '
                         f"the {level.statistic} in {level.unit}; write the stretch like its "
                         f'target "{level.target.text}"', None, None))
    elif stretch.within is not None and level.target.within != stretch.within:
        problems.append((at, f'"{stretch.text}" needs a different time limit than the target '
                         f'"{level.target.text}"; only the share may differ', None, None))
    return bonus


def _needs_fee(amount: FeeShare, fee: PeriodFee, at: KeyPath, problems: list[Problem],
               fee_name: str = "period's fee") -> None:
    """A share of the fee in a contract without a ``monthly_fee`` cannot be paid."""
    if amount.share is not None and fee.monthly is None:
        problems.append((at, f'"{amount.text}" ' + NO_FEE.format(fee=fee_name), None, None))


def needs_fee(amount: FeeShare, fee: PeriodFee, at: KeyPath) -> None:
    """Raise :class:`TermsProblem` at ``at`` if ``amount`` is a share of the fee and the
    contract has none: for a penalty model's ``parse``."""
    if amount.share is not None and fee.monthly is None:
        raise TermsProblem(at, f'"{amount.text}" ' + NO_FEE.format(fee="period's fee"))


def terms_of(contract: Contract, model: PenaltyModel, table: Mapping[str, Any]) -> CreditTerms:
    """The terms of ``table`` for a contract made in code (a loaded contract carries its own,
    :attr:`slaengine.contract.Contract.credit_terms`); ContractError at the first problem.

    A service level's verdicts are taken to be in its target's unit."""
    levels = {level.id: LevelFacts(level.id, level.target.statistic, level.target.unit,
                                   level.target) for level in contract.service_levels}
    problems = reference_problems(list(levels), table, model)
    terms = None
    if not problems:
        terms, problems = parse_terms(table, model, currency=contract.currency,
                                      period=contract.period, monthly_fee=contract.monthly_fee,
                                      levels=levels)
    if problems:
        key_path, message, suggestion, accepted = problems[0]
        line = line_of(key_lines(contract.text), key_path) if contract.text else None
        raise ContractError(contract.path, key_path, message, line=line, suggestion=suggestion,
                            accepted=accepted)
    assert terms is not None
    return terms
