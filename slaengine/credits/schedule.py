"""Service credits: from verdicts to what the vendor owes, every step shown.

A penalty model (a plugin, ``[penalties] model = "NAME"``) turns each period's verdicts into base
credit lines, one per failed service level. :func:`assess_credits` then applies the rules that
hold for any model (:mod:`slaengine.credits.rules`), in this order, each leaving a line in the
period's ledger so a vendor can redo the sum by hand:

1. **rounding** -- every line is rounded to the currency's minor unit when it is made
   (``rounding = "half-up"`` by default, or ``"half-even"``, ``"down"``; ``decimals`` overrides
   the minor unit). Later steps work on rounded amounts, so the ledger adds up exactly. Amounts
   written in the contract are never rounded: one finer than the currency's minor unit (or
   ``decimals``, when finer) is refused when the contract is read (:func:`money_problems`).
2. **exclusions** -- ``[[penalties.exclusions]]`` with ``period``, optional ``service_level``
   (none: every service level) and ``reason``. The base line stays visible and a line of the
   opposite amount (rule ``exclusion``) says why it is not charged. An excluded failure does not
   count towards chronic failure, and an excluded period is skipped by the earn-back window.
3. **chronic failure** -- ``chronic = { breaches = 3, within = 6, multiplier = "1.5",
   note = "termination right" }``: when a service level has a credit-bearing failure in
   ``breaches`` or more of the last ``within`` evaluated periods (the current one included), the
   schedule carries a ``chronic-failure`` flag, and the current credit is multiplied (a line
   with rule ``chronic`` adds ``credit × (multiplier - 1)``). ``within = "year"`` counts the
   failures of the current contract year so far instead.
4. **caps** -- first any cap the model sets (the at-risk pool), then ``cap_per_period`` (an
   amount, or a share of the period's fee: ``"12%"``; a quarter's fee is 3 monthly fees, a
   week's 12/52 of one, a year's 12), then ``cap_per_year`` (an amount, or a share of twelve
   **monthly** fees whatever the period), each a negative line. The year is the contract year
   (``[contract] year_start``, see :mod:`slaengine.years`; by default the calendar year).
   Earn-back does not free room under the yearly cap.
5. **earn-back** -- ``earn_back_periods = N``: a service level's charged credit is returned when
   the service level is ``met`` (its target, not just its minimum) in each of the next ``N``
   evaluated periods that are not excluded for it. The return is a negative line (rule
   ``earn-back``) in the period that completes the run. What it returns is the credit's share
   of what its period kept after caps: the whole credit (base + chronic) when the period was
   not capped; when it was, ``earn_back_order = "pro-rata"`` (the default) gives each credit
   ``credit × kept ÷ credits before caps`` (shares rounded down to the minor unit, the units
   left over to the largest remainders, so they add up to what was kept), whichever of them
   comes due and when; ``"contract-order"`` returns whole credits, in the order they come
   due (within a period in the contract's order), until what the period kept runs out. Every
   return line shows its share. A run still open at the end of the data is flagged
   ``earn-back-pending``. Only an earn-back takes a period's credits (``after_caps -
   earned_back``) below zero, and its line says so.
6. **bonuses** -- ``[[penalties.bonuses]]`` with ``service_level``, ``stretch`` (a target in the
   contract grammar, e.g. ``">= 90%"``) and ``amount`` (money or a share of the period's fee):
   each period in which every verdict of the service level meets the stretch target earns a
   bonus line. Bonuses are kept apart from the credits and only meet them in ``net``.

Per period: ``before_caps`` (base + chronic - exclusions), ``capped`` (what the caps removed),
``after_caps``, ``earned_back``, ``bonuses`` and ``net = after_caps - earned_back - bonuses``
(what the vendor owes the client; negative: the client owes the vendor). Per contract year
(``2026``, or ``2026/27`` with ``year_start = "04-01"``): the sums of its periods.

A service level broken down with ``by`` has one verdict per segment; a model sees one
:class:`LevelOutcome` per service level and period whose status is the worst of its segments
(critical > breached > insufficient data > met) and whose compliance is the lowest.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from slaengine.credits import rules
from slaengine.credits.ledger import (
    TOTALS,
    CreditLine,
    CreditSchedule,
    PeriodCap,
    PeriodCredits,
    Totals,
    YearTotals,
)
from slaengine.credits.outcomes import LevelOutcome, PeriodOutcomes, level_outcomes
from slaengine.credits.terms import CreditTerms
from slaengine.errors import ContractError, PluginError, SlaError
from slaengine.verdicts import Evaluation, Verdict

if TYPE_CHECKING:
    from slaengine.contract import Contract
    from slaengine.plugin import PenaltyModel


def assess_credits(evaluation: Evaluation, model: PenaltyModel, terms: CreditTerms,
                   *, earlier: Sequence[Verdict] = ()) -> CreditSchedule:
    """The credit schedule of ``evaluation`` under ``model`` and the contract's terms.

    ``terms`` are the ``[penalties]`` terms parsed when the contract was read
    (``contract.credit_terms``): the common rules described in the module doc and the model's
    own options. The model gives the base lines; the rules of :mod:`slaengine.credits.rules`
    round them and apply exclusions, chronic failure, caps, earn-back and bonuses, period by
    period. Nothing here can fail on the terms: they were checked when the contract was read.

    ``earlier``: the verdicts of periods evaluated before, in other runs (an evaluation ledger
    keeps them), none of them a period of ``evaluation``. They are walked through the same
    rules first, so the chronic counts, the yearly caps and the earn-back runs start where
    those periods left them: a month evaluated alone gets the credits it gets in one run over
    every month. The schedule holds ``evaluation``'s periods; its year totals are those of
    the contract years they lie in, to date (earlier periods of the year included), and its
    flags those left at the end of its last period.
    """
    contract = evaluation.contract
    own = {v.period for v in evaluation.verdicts}
    overlap = sorted(own.intersection(v.period for v in earlier))
    if overlap:
        raise ValueError(f"earlier verdicts given for {', '.join(overlap)}, a period the "
                         "evaluation holds itself")
    verdicts = [*earlier, *evaluation.verdicts]
    found: dict[str, dict[str, LevelOutcome]] = defaultdict(dict)
    for outcome in level_outcomes(verdicts):
        found[outcome.period][outcome.service_level] = outcome
    base, model_caps = _model_output(found, model, terms)
    labels = sorted(found)
    years = _contract_years(labels, contract)
    history = rules.History(terms, labels, years)
    periods = []
    for i, label in enumerate(labels):
        period = rules.Period(i, found[label], PeriodCredits(period=label))
        for line in base.get(label, []):
            rules.charge(period, line, history)
        rules.cap(period, model_caps.get(label, []), history)
        rules.earn_back(period, history)
        rules.bonuses(period, history)
        rules.settle(period, history)
        periods.append(period.credits)
    _mark_provisional(periods, verdicts)
    own_years = {year for label, year in zip(labels, years, strict=True) if label in own}
    return CreditSchedule(
        model=model.name, currency=terms.currency, rounding=terms.rounding,
        periods=[p for p in periods if p.period in own],
        years=[y for y in _years(periods, years) if y.year in own_years],
        flags=rules.closing_flags(history),
        exclusions=rules.applied_exclusions(history), year_start=contract.year_start.text,
        earn_back_order=terms.earn_back_order,
    )


def _contract_years(labels: list[str], contract: Contract) -> list[str]:
    """The contract year of each period label (see :mod:`slaengine.years`)."""
    year_start = contract.year_start
    try:
        return [year_start.of_period(label, contract.period) for label in labels]
    except ValueError as exc:
        raise SlaError(f"a credit or verdict names a period that cannot be placed in a "
                       f"contract year: {exc}") from None


def _model_output(
    found: Mapping[str, Mapping[str, LevelOutcome]], model: PenaltyModel, terms: CreditTerms,
) -> tuple[dict[str, list[CreditLine]], dict[str, list[PeriodCap]]]:
    """The model's base lines (rounded, by period) and caps, period by period."""
    lines: dict[str, list[CreditLine]] = defaultdict(list)
    caps: dict[str, list[PeriodCap]] = defaultdict(list)
    for label, by_level in found.items():
        given = PeriodOutcomes(label, tuple(by_level.values()), terms.fee, terms.currency,
                               terms.rounding, terms.options)
        for item in _assess_period(model, given):
            if isinstance(item, CreditLine):
                lines[label].append(replace(item, amount=terms.rounding(item.amount),
                                            currency=terms.currency))
            else:
                caps[label].append(item)
    return lines, caps


def _assess_period(model: PenaltyModel, given: PeriodOutcomes[Any]
                   ) -> Sequence[CreditLine | PeriodCap]:
    """What ``model`` makes of one period; anything but credit lines and caps of that period
    is a fault of the plugin."""
    name = model.name
    try:
        produced = list(model.assess(given))
    except ContractError as exc:
        raise PluginError(f'penalty model "{name}" found a problem of the contract in assess '
                          f"(the contract's terms are checked in parse): {exc}") from exc
    except SlaError:
        raise
    except Exception as exc:
        raise PluginError(f'penalty model "{name}" failed in assess: '
                          f"{type(exc).__name__}: {exc}") from exc
    for item in produced:
        if not isinstance(item, CreditLine | PeriodCap):
            raise PluginError(f'penalty model "{name}" returned {item!r}; expected '
                              "CreditLine or PeriodCap objects")
        if item.period != given.period:
            raise PluginError(f'penalty model "{name}" returned {item!r} for {given.period}; '
                              "a model credits the period it is given")
        if isinstance(item, CreditLine) and (not isinstance(item.amount, Decimal)
                                             or item.amount < 0):
            raise PluginError(f'penalty model "{name}" gave {item.amount!r} for '
                              f"{item.service_level} in {item.period}; a credit is a Decimal "
                              ">= 0")
    return produced


def _mark_provisional(periods: list[PeriodCredits], verdicts: Iterable[Verdict]) -> None:
    """Mark provisional the periods not over at the ``--as-of`` instant, with every line and
    bonus of them: the first period with a provisional verdict and every later one.

    Only these periods' own amounts are marked: an earlier period's credits were settled before
    them (caps, chronic failure and earn-back look back, never ahead), so they are final.
    """
    running = min((v.period for v in verdicts if v.provisional), default=None)
    if running is None:
        return
    for credits in periods:
        if credits.period >= running:
            credits.provisional = True
            credits.lines[:] = [replace(line, provisional=True) for line in credits.lines]
            credits.bonuses[:] = [replace(line, provisional=True) for line in credits.bonuses]


def _years(periods: Iterable[PeriodCredits], labels: Iterable[str]) -> list[YearTotals]:
    """The periods added up by contract year (``labels``: each period's contract year)."""
    years: dict[str, YearTotals] = {}
    for p, label in zip(periods, labels, strict=True):
        year = years.setdefault(label, YearTotals(year=label))
        year.before_caps += p.before_caps
        year.capped += p.capped
        year.after_caps += p.after_caps
        year.earned_back += p.earned_back
        year.bonus_total += p.bonus_total
        year.net += p.net
        if p.provisional:
            year.provisional = year.provisional or Totals()
            for name in TOTALS:
                setattr(year.provisional, name, getattr(year.provisional, name) +
                        getattr(p, name))
    return list(years.values())


