"""The rules every penalty model shares, one function each, over a period's ledger.

:func:`slaengine.credits.schedule.assess_credits` walks the periods in order; for each it opens
a :class:`Period` and applies, in this order, :func:`charge` (each base line, with
:func:`exclude` and :func:`chronic`), :func:`cap`, :func:`earn_back`, :func:`bonuses` and
:func:`settle`. What one period leaves for later ones (failures so far, what each year has
charged, credits waiting to be earned back) is carried in a :class:`History`. Each rule leaves
its lines in the period's ledger, so a vendor can redo the sum by hand.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

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
    Flag,
    PeriodCap,
    PeriodCredits,
)
from slaengine.credits.money import plain, yearly_cap
from slaengine.credits.outcomes import LevelOutcome
from slaengine.credits.terms import Bonus, CreditTerms
from slaengine.readable import format_value


@dataclass
class Run:
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


@dataclass
class History:
    """What the periods so far leave for the later ones.

    ``labels`` and ``years``: every period and its contract year, in order; ``failures``: the
    periods (indices) in which each service level had a charged failure; ``chronic_at`` and
    ``chronic_failures``: where each service level was chronic, and the failures involved;
    ``waived``: the credit each exclusion waived; ``year_used``: what each contract year has
    charged after caps; ``returnable``: what each period kept after caps and earn-backs have
    not yet returned; ``runs``: the credits waiting to be earned back.
    """

    terms: CreditTerms
    labels: list[str]
    years: list[str]
    failures: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    chronic_at: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    chronic_failures: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    waived: dict[int, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    year_used: dict[str, Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    returnable: dict[str, Decimal] = field(default_factory=dict)
    runs: list[Run] = field(default_factory=list)


@dataclass
class Period:
    """One period in the making: its index, its outcomes by service level, its credits, and
    what each service level is charged in it (base + chronic, after exclusions)."""

    index: int
    outcomes: Mapping[str, LevelOutcome]
    credits: PeriodCredits
    charged: dict[str, Decimal] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.credits.period

    def add(self, history: History, level: str | None, amount: Decimal, rule: str,
            note: str) -> None:
        """Write a line in the ledger, in the contract's currency."""
        self.credits.lines.append(CreditLine(self.label, level, amount, history.terms.currency,
                                             rule, note))


# --------------------------------------------------------------------------- base and chronic


def charge(period: Period, line: CreditLine, history: History) -> None:
    """A model's base line: written, then waived by an exclusion or charged (and raised when
    the service level is chronic)."""
    period.credits.lines.append(line)
    level = line.service_level
    if exclude(period, line, history) or level is None:
        return
    period.charged[level] = period.charged.get(level, Decimal(0)) + line.amount
    history.failures[level].append(period.index)
    chronic(period, line, history)


def exclude(period: Period, line: CreditLine, history: History) -> bool:
    """Waive ``line`` with a line of the opposite amount if an exclusion covers it."""
    index = history.terms.exclusion(period.label, line.service_level)
    if index is None:
        return False
    reason = history.terms.exclusions[index].reason
    period.add(history, line.service_level, -line.amount, EXCLUSION,
               f"{line.amount} not charged: {reason}")
    history.waived[index] += line.amount
    return True


def chronic(period: Period, line: CreditLine, history: History) -> None:
    """Flag a service level failing ``breaches`` times within the window, and multiply its
    credit (a line of ``credit × (multiplier - 1)``)."""
    rule, level, i = history.terms.chronic, line.service_level, period.index
    if rule is None or level is None:
        return
    window = rule.window(history.failures[level], i, history.years)
    if len(window) < rule.breaches:
        return
    history.chronic_at[level].append(i)
    history.chronic_failures[level].update(window)
    if rule.multiplier == 1:
        return
    extra = history.terms.rounding(line.amount * (rule.multiplier - 1))
    involved = ", ".join(history.labels[j] for j in window)
    period.add(history, level, extra, CHRONIC,
               f"chronic failure: {len(window)} failures of {level} "
               f"{rule.describe(history.years[i])} ({involved}); "
               f"{line.amount} × {plain(rule.multiplier)} = {line.amount + extra}, "
               f"so {line.amount} × {plain(rule.multiplier - 1)} = {extra} more")
    period.charged[level] += extra


# --------------------------------------------------------------------------- caps


def cap(period: Period, model_caps: list[PeriodCap], history: History) -> None:
    """The caps, in order: the model's, ``cap_per_period``, ``cap_per_year``; then the
    period's ``before_caps``, ``capped`` and ``after_caps``."""
    credits = period.credits
    total = credits.before_caps = sum((line.amount for line in credits.lines), Decimal(0))
    total = _period_caps(period, model_caps, total, history)
    total = _yearly_cap(period, total, history)
    credits.after_caps = total
    credits.capped = credits.before_caps - total
    history.returnable[period.label] = total


def _period_caps(period: Period, model_caps: list[PeriodCap], total: Decimal,
                 history: History) -> Decimal:
    terms = history.terms
    fee = terms.fee.amount
    caps = [(c.amount, c.rule, c.note) for c in model_caps]
    if terms.cap_per_period is not None:
        caps.append((terms.cap_per_period.of(fee), CAP_PER_PERIOD,
                     f"cap per period {terms.cap_per_period.explain(fee)}"))
    for limit, rule, note in caps:
        limit = terms.rounding(limit)
        if total > limit:
            period.add(history, None, limit - total, rule, f"{note}: {total} capped at {limit}")
            total = limit
    return total


def _yearly_cap(period: Period, total: Decimal, history: History) -> Decimal:
    terms = history.terms
    if terms.cap_per_year is None:
        return total
    year = history.years[period.index]
    limit, how = yearly_cap(terms.cap_per_year, terms.fee.monthly, terms.rounding)
    used = history.year_used[year]
    if used + total > limit:
        cut = min(total, used + total - limit)
        period.add(history, None, -cut, CAP_PER_YEAR,
                   f"cap per year {how}: {year_name(year)} charged {used} before this period, "
                   f"{used} + {total} - {limit} = {cut} over")
        total -= cut
    history.year_used[year] += total
    return total


def year_name(year: str) -> str:
    """``"2026"`` or ``"contract year 2026/27"``, for notes."""
    return f"contract year {year}" if "/" in year else year


# --------------------------------------------------------------------------- earn-back


def earn_back(period: Period, history: History) -> None:
    """Move the waiting credits on with this period's outcomes, return those that come due,
    and start a run for each credit charged in this period."""
    terms = history.terms
    if not terms.earn_back:
        return
    still_open: list[Run] = []
    due: list[Run] = []
    for run in history.runs:
        if terms.exclusion(period.label, run.service_level) is not None:
            still_open.append(run)
            continue
        outcome = period.outcomes.get(run.service_level)
        if outcome is None or outcome.status != "met":
            continue  # forfeited
        run.met.append(period.label)
        (due if len(run.met) >= terms.earn_back else still_open).append(run)
    _return(period, due, history)
    credits = period.credits
    shares = (pro_rata(period.charged, credits.before_caps, credits.after_caps,
                       terms.rounding.quantum)
              if terms.earn_back_order == "pro-rata" else period.charged)
    history.runs = still_open + [
        Run(period.label, level, amount, shares[level], credits.after_caps, credits.before_caps)
        for level, amount in period.charged.items() if amount > 0]


def _return(period: Period, due: list[Run], history: History) -> None:
    """A negative line for each credit come due, limited to what its period still holds."""
    terms, credits = history.terms, period.credits
    balance = credits.after_caps
    for run in due:
        wanted = run.share if terms.earn_back_order == "pro-rata" else run.amount
        amount = min(wanted, history.returnable[run.period])
        history.returnable[run.period] -= amount
        if amount <= 0:
            continue
        balance -= amount
        period.add(history, run.service_level, -amount, EARN_BACK,
                   earn_back_note(run, amount, terms.earn_back_order, period.label,
                                  terms.rounding(balance)))
        credits.earned_back += amount


def pro_rata(credits: Mapping[str, Decimal], whole: Decimal, kept: Decimal, quantum: Decimal
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


def earn_back_note(run: Run, amount: Decimal, order: str, label: str, balance: Decimal) -> str:
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


# --------------------------------------------------------------------------- bonuses, totals


def bonuses(period: Period, history: History) -> None:
    """A bonus line for each bonus whose service level meets its stretch target."""
    terms, credits = history.terms, period.credits
    fee = terms.fee.amount
    for bonus in terms.bonuses:
        outcome = period.outcomes.get(bonus.service_level)
        if outcome is None or not meets(outcome, bonus):
            continue
        amount = terms.rounding(bonus.amount.of(fee))
        shown = ", ".join(format_value(v.value, v.unit) for v in outcome.verdicts)
        how = bonus.amount.explain(fee)
        note = (f"{bonus.service_level} {shown} meets the stretch target {bonus.stretch.text} "
                f"in {period.label}: bonus " + (f"{how} = {amount}" if how != str(amount)
                                                 else how))
        credits.bonuses.append(CreditLine(period.label, bonus.service_level, amount,
                                          terms.currency, BONUS,
                                          note + (f"; {bonus.note}" if bonus.note else "")))
        credits.bonus_total += amount


def meets(outcome: LevelOutcome, bonus: Bonus) -> bool:
    """Whether every verdict of ``outcome`` meets the bonus's stretch target (checked against
    the service level when the contract was read, see :mod:`slaengine.credits.terms`)."""
    for verdict in outcome.verdicts:
        if verdict.status == "insufficient_data" or verdict.value is None:
            return False
        counts = {} if verdict.hits is None else {"hits": verdict.hits, "n": verdict.sample_size}
        if not bonus.stretch.holds(verdict.value, **counts):
            return False
    return True


def settle(period: Period, history: History) -> None:
    """``net = after_caps - earned_back - bonuses``, every total written to the minor unit
    (sums of rounded lines are exact; this only writes 0 as 0.00)."""
    credits = period.credits
    credits.net = credits.after_caps - credits.earned_back - credits.bonus_total
    for name in TOTALS:
        setattr(credits, name, history.terms.rounding(getattr(credits, name)))


# --------------------------------------------------------------------------- at the end


def closing_flags(history: History) -> list[Flag]:
    """The flags the whole run leaves: earn-backs still pending, exclusions that matched no
    period, chronic failures."""
    terms = history.terms
    flags = [Flag("earn-back-pending", run.service_level, (run.period, *run.met),
                  f"{run.service_level}'s credit of {run.period} ({run.amount}) is returned if "
                  f"its target is met in {terms.earn_back} periods in a row after it; "
                  f"{len(run.met)} so far") for run in history.runs]
    flags += [Flag("exclusion-unused", e.service_level, (e.period,),
                   f"exclusion for {e.period} ({e.reason}) matches no evaluated period")
              for e in terms.exclusions if e.period not in history.labels]
    if terms.chronic is not None:
        for level, hits in history.chronic_at.items():
            involved = tuple(history.labels[j] for j in sorted(history.chronic_failures[level]))
            note = (f"{level} failed in {', '.join(involved)}: {terms.chronic.breaches} or more "
                    f"failures within {terms.chronic.within} periods from "
                    f"{history.labels[hits[0]]}")
            if terms.chronic.note:
                note += f"; {terms.chronic.note}"
            flags.append(Flag("chronic-failure", level, involved, note))
    return flags


def applied_exclusions(history: History) -> list[AppliedExclusion]:
    """Each exclusion of the contract and the credit it waived."""
    return [AppliedExclusion(e.period, e.service_level, e.reason, history.waived[index])
            for index, e in enumerate(history.terms.exclusions)]
