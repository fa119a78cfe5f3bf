"""A credit schedule for people and programs: its JSON shape and its plain text."""

from __future__ import annotations

from typing import Any

from slaengine.credits.ledger import CreditLine, CreditSchedule, Totals


def _line(line: CreditLine) -> dict[str, Any]:
    return {"period": line.period, "service_level": line.service_level,
            "amount": str(line.amount), "currency": line.currency, "rule": line.rule,
            "note": line.note, **({"provisional": True} if line.provisional else {})}


def _totals(t: Totals) -> dict[str, str]:
    return {"before_caps": str(t.before_caps), "capped": str(t.capped),
            "after_caps": str(t.after_caps), "earned_back": str(t.earned_back),
            "bonuses": str(t.bonus_total), "net": str(t.net)}


def schedule_to_dict(schedule: CreditSchedule) -> dict[str, Any]:
    """The JSON shape of a schedule, to merge into the evaluation's document. Money is strings.

    ``credits``: every ledger line in order (signed; their sum per period is ``after_caps -
    earned_back``); ``bonuses``: the bonus lines (same shape); ``credit_totals``: per period;
    ``credit_years``: per contract year (``"year": "2026"``, or ``"2026/27"`` when contract
    years start on ``year_start`` other than ``"01-01"``); ``flags``; ``credit_exclusions``.

    With ``--as-of``, each line, bonus, period total and flag of a period not yet over carries
    ``"provisional": true``, and a year holding such periods carries its ``final`` and
    ``provisional`` parts (each with the six totals; they add up to the year's).
    """
    open_periods = {p.period for p in schedule.periods if p.provisional}
    return {
        "penalties": {"model": schedule.model, "currency": schedule.currency,
                      "rounding": schedule.rounding.describe(),
                      "year_start": schedule.year_start,
                      "earn_back_order": schedule.earn_back_order},
        "credits": [_line(line) for line in schedule.credits],
        "bonuses": [_line(line) for line in schedule.bonuses],
        "credit_totals": [{"period": p.period, **_totals(p),
                           **({"provisional": True} if p.provisional else {})}
                          for p in schedule.periods],
        "credit_years": [{"year": y.year, **_totals(y),
                          **({"final": _totals(y.final), "provisional": _totals(y.provisional)}
                             if y.provisional is not None else {})}
                         for y in schedule.years],
        "flags": [{"kind": f.kind, "service_level": f.service_level, "periods": list(f.periods),
                   "note": f.note,
                   **({"provisional": True} if open_periods.intersection(f.periods) else {})}
                  for f in schedule.flags],
        "credit_exclusions": [{"period": e.period, "service_level": e.service_level,
                               "reason": e.reason, "waived": str(e.waived)}
                              for e in schedule.exclusions],
    }


PROVISIONAL = "(provisional: the period was not over at --as-of)"
"""How the text schedule marks a provisional period, its totals and its flags."""


def _year_text(t: Totals) -> str:
    return (f"after caps {t.after_caps}, earned back {t.earned_back}, bonuses {t.bonus_total}, "
            f"net {t.net}")


def format_schedule(schedule: CreditSchedule) -> str:
    """The schedule as plain text, line by line, for a terminal or a text report."""
    years = "" if schedule.year_start == "01-01" else (
        f", contract years from {schedule.year_start}")
    out = [f"Service credits ({schedule.model}, {schedule.currency}, rounding "
           f"{schedule.rounding.describe()}{years})"]
    open_periods = {p.period for p in schedule.periods if p.provisional}
    for p in schedule.periods:
        label = f"{p.period} {PROVISIONAL}" if p.provisional else p.period
        if not (p.lines or p.bonuses):
            out.append(f"{label}: no credits")
            continue
        out.append(f"{label}:")
        for line in [*p.lines, *p.bonuses]:
            out.append(f"  {line.amount:>12} {line.rule:<14} {line.service_level or '(period)'}"
                       f": {line.note}")
        out.append(f"  before caps {p.before_caps}, capped {p.capped}, after caps "
                   f"{p.after_caps}, earned back {p.earned_back}, bonuses {p.bonus_total}, "
                   f"net {p.net}" + (f" {PROVISIONAL}" if p.provisional else ""))
    for y in schedule.years:
        out.append(f"{y.year}: {_year_text(y)}")
        if y.provisional is not None:
            out.append(f"  of which final: {_year_text(y.final)}")
            out.append(f"  of which provisional: {_year_text(y.provisional)}")
    out.extend(f"! {f.kind}: {f.note}" + (f" {PROVISIONAL}" if open_periods.intersection(
        f.periods) else "") for f in schedule.flags)
    out.extend(f"excluded {e.period} {e.service_level or '(every service level)'}: {e.reason}"
               f" (waived {e.waived})" for e in schedule.exclusions)
    return "\n".join(out)

