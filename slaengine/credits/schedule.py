"""Service credits: from verdicts to what the vendor owes, every step shown.

A penalty model (a plugin, ``[penalties] model = "NAME"``) turns each period's verdicts into base
credit lines, one per failed service level. :func:`assess` then applies the rules that hold for
any model, in this order, each leaving a line in the period's ledger so a vendor can redo the sum
by hand:

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

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from slaengine.credits.ledger import (
    BONUS,
    CAP_PER_PERIOD,
    CAP_PER_YEAR,
    CHRONIC,
    EARN_BACK,
    EXCLUSION,
    TOTALS,
    AppliedExclusion,
    CreditLine,
    CreditSchedule,
    Flag,
    PeriodCap,
    PeriodCredits,
    Totals,
    YearTotals,
)
from slaengine.credits.money import (
    Rounding,
    plain,
    yearly_cap,
)
from slaengine.credits.outcomes import LevelOutcome, outcomes
from slaengine.credits.terms import Bonus, CreditTerms
from slaengine.errors import PluginError, SlaError
from slaengine.verdicts import Evaluation, Verdict, format_value

if TYPE_CHECKING:
    from slaengine.contract import Contract
    from slaengine.kinds import PenaltyModel

def assess_credits(evaluation: Evaluation, model: PenaltyModel, terms: CreditTerms
                   ) -> CreditSchedule:
    """The credit schedule of ``evaluation`` under ``model`` and the contract's terms.

    ``terms`` are the ``[penalties]`` terms parsed when the contract was read
    (``contract.credit_terms``): the common rules described in the module doc and the model's
    own options. The model gives the base lines; this function rounds them and applies
    exclusions, chronic failure, caps, earn-back and bonuses.
    """
    contract = evaluation.contract
    currency = contract.currency
    rounding = terms.rounding
    common = terms
    fee = terms.fee.amount
    options = terms.options
    base, model_caps = _model_output(evaluation, model, options, rounding)
    found: dict[str, dict[str, LevelOutcome]] = defaultdict(dict)
    for outcome in outcomes(evaluation):
        found[outcome.period][outcome.service_level] = outcome
    labels = sorted({*found, *base})
    years = _contract_years(labels, contract)
    flags: list[Flag] = []
    applied: list[AppliedExclusion] = []
    waived: dict[int, Decimal] = defaultdict(Decimal)
    failures: dict[str, list[int]] = defaultdict(list)
    chronic_at: dict[str, list[int]] = defaultdict(list)
    chronic_failures: dict[str, set[int]] = defaultdict(set)
    returnable: dict[str, Decimal] = {}
    open_runs: list[_Run] = []
    year_used: dict[str, Decimal] = defaultdict(Decimal)
    periods: list[PeriodCredits] = []

    for i, label in enumerate(labels):
        credits = PeriodCredits(period=label)
        ledger = credits.lines
        charged: dict[str, Decimal] = {}
        for line in base.get(label, []):
            ledger.append(line)
            level = line.service_level
            index = common.exclusion(label, level)
            if index is not None:
                reason = common.exclusions[index].reason
                ledger.append(CreditLine(label, level, -line.amount, currency, EXCLUSION,
                                         f"{line.amount} not charged: {reason}"))
                waived[index] += line.amount
                continue
            if level is None:
                continue
            charged[level] = charged.get(level, Decimal(0)) + line.amount
            failures[level].append(i)
            if common.chronic is None:
                continue
            chronic = common.chronic
            window = chronic.window(failures[level], i, years)
            if len(window) < chronic.breaches:
                continue
            chronic_at[level].append(i)
            chronic_failures[level].update(window)
            if chronic.multiplier != 1:
                extra = rounding(line.amount * (chronic.multiplier - 1))
                ledger.append(CreditLine(
                    label, level, extra, currency, CHRONIC,
                    f"chronic failure: {len(window)} failures of {level} "
                    f"{chronic.describe(years[i])} ({', '.join(labels[j] for j in window)}); "
                    f"{line.amount} × {plain(chronic.multiplier)} = {line.amount + extra}, "
                    f"so {line.amount} × {plain(chronic.multiplier - 1)} = {extra} more"))
                charged[level] += extra

        total = credits.before_caps = sum((line.amount for line in ledger), Decimal(0))
        caps = [(c.amount, c.rule, c.note) for c in model_caps.get(label, [])]
        if common.cap_per_period is not None:
            limit = common.cap_per_period.of(fee)
            caps.append((limit, CAP_PER_PERIOD,
                         f"cap per period {common.cap_per_period.explain(fee)}"))
        for limit, rule, note in caps:
            limit = rounding(limit)
            if total > limit:
                ledger.append(CreditLine(label, None, limit - total, currency, rule,
                                         f"{note}: {total} capped at {limit}"))
                total = limit
        if common.cap_per_year is not None:
            year = years[i]
            limit, how = yearly_cap(common.cap_per_year, terms.fee.monthly, rounding)
            used = year_used[year]
            if used + total > limit:
                cut = min(total, used + total - limit)
                ledger.append(CreditLine(
                    label, None, -cut, currency, CAP_PER_YEAR,
                    f"cap per year {how}: {_year_name(year)} charged {used} before this "
                    f"period, {used} + {total} - {limit} = {cut} over"))
                total -= cut
            year_used[year] += total
        credits.after_caps = total
        credits.capped = credits.before_caps - total
        returnable[label] = total

        # Earn-back: runs started by earlier credits move on with this period's outcome.
        if common.earn_back:
            still_open: list[_Run] = []
            due: list[_Run] = []
            for run in open_runs:
                if common.exclusion(label, run.service_level) is not None:
                    still_open.append(run)
                    continue
                outcome = found.get(label, {}).get(run.service_level)
                if outcome is None or outcome.status != "met":
                    continue  # forfeited
                run.met.append(label)
                (due if len(run.met) >= common.earn_back else still_open).append(run)
            balance = total
            for run in due:
                wanted = run.share if common.earn_back_order == "pro-rata" else run.amount
                amount = min(wanted, returnable[run.period])
                returnable[run.period] -= amount
                if amount <= 0:
                    continue
                balance -= amount
                ledger.append(CreditLine(
                    label, run.service_level, -amount, currency, EARN_BACK,
                    _earn_back_note(run, amount, common.earn_back_order, label,
                                    rounding(balance))))
                credits.earned_back += amount
            open_runs = still_open
            shares = (_pro_rata(charged, credits.before_caps, total, rounding.quantum)
                      if common.earn_back_order == "pro-rata" else charged)
            open_runs.extend(_Run(label, level, amount, shares[level], total,
                                  credits.before_caps)
                             for level, amount in charged.items() if amount > 0)

        for bonus in common.bonuses:
            outcome = found.get(label, {}).get(bonus.service_level)
            if outcome is None or not _meets(outcome, bonus):
                continue
            amount = rounding(bonus.amount.of(fee))
            shown = ", ".join(format_value(v.value, v.unit) for v in outcome.verdicts)
            how = bonus.amount.explain(fee)
            note = f"{bonus.service_level} {shown} meets the stretch target {bonus.stretch.text}"
            note += f" in {label}: bonus " + (f"{how} = {amount}" if how != str(amount) else how)
            credits.bonuses.append(CreditLine(label, bonus.service_level, amount, currency,
                                              BONUS, note + (f"; {bonus.note}" if bonus.note
                                                             else "")))
            credits.bonus_total += amount
        credits.net = credits.after_caps - credits.earned_back - credits.bonus_total
        for name in ("before_caps", "capped", "after_caps", "earned_back", "bonus_total", "net"):
            # Sums of rounded lines are exact; this only writes 0 as 0.00.
            setattr(credits, name, rounding(getattr(credits, name)))
        periods.append(credits)

    for run in open_runs:
        flags.append(Flag(
            "earn-back-pending", run.service_level, (run.period, *run.met),
            f"{run.service_level}'s credit of {run.period} ({run.amount}) is returned if its "
            f"target is met in {common.earn_back} periods in a row after it; "
            f"{len(run.met)} so far"))
    for index, exclusion in enumerate(common.exclusions):
        applied.append(AppliedExclusion(exclusion.period, exclusion.service_level,
                                        exclusion.reason, waived[index]))
        if exclusion.period not in labels:
            flags.append(Flag("exclusion-unused", exclusion.service_level, (exclusion.period,),
                              f"exclusion for {exclusion.period} ({exclusion.reason}) matches "
                              "no evaluated period"))
    if common.chronic is not None:
        for level, hits in chronic_at.items():
            involved = tuple(labels[j] for j in sorted(chronic_failures[level]))
            note = (f"{level} failed in {', '.join(involved)}: {common.chronic.breaches} or more "
                    f"failures within {common.chronic.within} periods from {labels[hits[0]]}")
            if common.chronic.note:
                note += f"; {common.chronic.note}"
            flags.append(Flag("chronic-failure", level, involved, note))

    _mark_provisional(periods, evaluation.verdicts)
    return CreditSchedule(
        model=model.name, currency=currency, rounding=rounding, periods=periods,
        years=_years(periods, years), flags=flags, exclusions=applied,
        year_start=contract.year_start.text, earn_back_order=common.earn_back_order,
    )


@dataclass
class _Run:
    """A charged credit waiting to be earned back: the periods met so far.

    ``share`` is what it returns under ``earn_back_order = "pro-rata"``: the credit's share of
    what its period ``kept`` after caps, in proportion to the period's credits (``whole``).
    """

    period: str
    service_level: str
    amount: Decimal
    share: Decimal
    kept: Decimal
    whole: Decimal
    met: list[str] = field(default_factory=list)


def _contract_years(labels: list[str], contract: Contract) -> list[str]:
    """The contract year of each period label (see :mod:`slaengine.years`)."""
    year_start = contract.year_start
    try:
        return [year_start.of_period(label, contract.period) for label in labels]
    except ValueError as exc:
        raise SlaError(f"a credit or verdict names a period that cannot be placed in a "
                       f"contract year: {exc}") from None


def _year_name(year: str) -> str:
    """``"2026"`` or ``"contract year 2026/27"``, for notes."""
    return f"contract year {year}" if "/" in year else year




def _pro_rata(credits: Mapping[str, Decimal], whole: Decimal, kept: Decimal, quantum: Decimal
              ) -> dict[str, Decimal]:
    """Each credit's share of what its period ``kept`` after caps: ``credit × kept ÷ whole``.

    ``whole`` is the period's credits before caps. Uncapped (``kept >= whole``), every credit
    is its own share. Capped, the exact shares are rounded down to ``quantum`` and the units
    left over go one each to the largest remainders (ties: contract order), so the shares add
    up exactly to what was kept (largest-remainder apportionment).
    """
    if kept >= whole or not credits:
        return dict(credits)
    unit = Fraction(quantum)
    exact = {k: Fraction(v) * Fraction(kept) / Fraction(whole) / unit for k, v in credits.items()}
    floors = {k: math.floor(x) for k, x in exact.items()}
    left = math.floor(sum(exact.values())) - sum(floors.values())
    for k in sorted(exact, key=lambda k: exact[k] - floors[k], reverse=True)[:left]:
        floors[k] += 1
    return {k: Decimal(n) * quantum for k, n in floors.items()}


def _earn_back_note(run: _Run, amount: Decimal, order: str, label: str, balance: Decimal
                    ) -> str:
    """Why a credit is returned and what share of it, with the arithmetic."""
    note = (f"earned back: {run.service_level}'s credit of {run.period} ({run.amount}) is "
            f"returned, the target being met in {', '.join(run.met)}; ")
    if run.kept >= run.whole:
        note += f"share: all of it ({run.period} was not capped)"
    elif order == "pro-rata":
        exact = run.amount * run.kept / run.whole
        note += (f"share pro rata: {run.period} kept {run.kept} of its {run.whole} of credits "
                 f"after caps, so {run.amount} × {run.kept} ÷ {run.whole} = {amount}")
        if exact != amount:
            note += f" (rounded so that {run.period}'s shares add up to {run.kept})"
    elif amount == run.amount:
        note += (f"share in contract order: all of it, from what {run.period} kept after caps "
                 f"({run.kept})")
    else:
        note += (f"share in contract order: limited to the {amount} left of {run.period}'s "
                 f"credits after caps ({run.kept}; earlier earn-backs of {run.period} took "
                 f"{run.kept - amount})")
    if balance < 0:
        note += (f"; {label}'s credits stand at {balance} after it: below zero only because "
                 f"this returns credit charged in {run.period}")
    return note


def _model_output(
    evaluation: Evaluation, model: PenaltyModel, options: Mapping[str, Any], rounding: Rounding
) -> tuple[dict[str, list[CreditLine]], dict[str, list[PeriodCap]]]:
    """The model's base lines (rounded, by period) and caps; anything else is a plugin bug."""
    lines: dict[str, list[CreditLine]] = defaultdict(list)
    caps: dict[str, list[PeriodCap]] = defaultdict(list)
    currency = evaluation.contract.currency
    try:
        produced = model.assess(evaluation, options)
    except SlaError:
        raise
    except Exception as exc:
        raise PluginError(f'penalty model "{model.name}" failed in assess: '
                          f"{type(exc).__name__}: {exc}") from exc
    for item in produced:
        if isinstance(item, CreditLine):
            if not isinstance(item.amount, Decimal) or item.amount < 0:
                raise PluginError(f'penalty model "{model.name}" gave {item.amount!r} for '
                                  f"{item.service_level} in {item.period}; a credit is a Decimal "
                                  ">= 0")
            lines[item.period].append(replace(item, amount=rounding(item.amount),
                                              currency=currency))
        elif isinstance(item, PeriodCap):
            caps[item.period].append(item)
        else:
            raise PluginError(f'penalty model "{model.name}" returned {item!r}; expected '
                              "CreditLine or PeriodCap objects")
    return lines, caps


def _meets(outcome: LevelOutcome, bonus: Bonus) -> bool:
    """Whether every verdict of ``outcome`` meets the bonus's stretch target (checked against
    the service level when the contract was read, see :mod:`slaengine.credits.terms`)."""
    for verdict in outcome.verdicts:
        if verdict.status == "insufficient_data" or verdict.value is None:
            return False
        counts = {} if verdict.hits is None else {"hits": verdict.hits, "n": verdict.sample_size}
        if not bonus.stretch.holds(verdict.value, **counts):
            return False
    return True


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


