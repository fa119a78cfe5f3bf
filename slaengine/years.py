"""Contract years: the years that yearly caps, yearly totals and ``within = "year"`` count in.

``[contract] year_start = "MM-DD"`` (default ``"01-01"``) is the first day of each contract year,
as outsourcing contracts are written ("the contract year starts on April 1st"). A contract year
is labelled by the calendar year it starts in and, when it does not start on January 1st, the
one it ends in: ``2026/27`` runs from 2026-04-01 to 2027-03-31; with the default ``2026`` is the
calendar year.

Which contract year a period belongs to:

- a month, quarter or year belongs to the contract year in which it **starts** (with
  ``year_start = "02-01"`` the quarter ``2026-Q1``, January to March, belongs to ``2025/26``,
  the year that holds January 1st);
- a week belongs to the contract year that holds its **Thursday**, the rule by which ISO 8601
  gives a week its year: with the default, the contract year of ``2026-W01`` (Monday
  2025-12-29) is ``2026``, the year its label names, so weekly contracts keep their years.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

YEAR_START_FORM = 'a day of the year as "MM-DD", such as "04-01" (April 1st); not "02-29"'
"""The accepted form of ``year_start``, for messages."""

_YEAR_START = re.compile(r"([0-9]{2})-([0-9]{2})", re.ASCII)
_LABELS = {
    "week": re.compile(r"([0-9]{4})-W([0-9]{2})", re.ASCII),
    "month": re.compile(r"([0-9]{4})-([0-9]{2})", re.ASCII),
    "quarter": re.compile(r"([0-9]{4})-Q([1-4])", re.ASCII),
    "year": re.compile(r"([0-9]{4})", re.ASCII),
}


@dataclass(frozen=True)
class YearStart:
    """The first day of every contract year, as a month and a day."""

    month: int = 1
    day: int = 1

    @classmethod
    def parse(cls, text: object) -> YearStart:
        """``"04-01"`` -> April 1st. Two digits each, a real day; February 29th is refused (a
        contract year must start every year). Raises ValueError with a message for people."""
        if not isinstance(text, str):
            raise ValueError(f"found {text!r}; expected {YEAR_START_FORM}")
        match = _YEAR_START.fullmatch(text)
        if match is None:
            raise ValueError(f"{_show(text)} is not a day of the year; expected {YEAR_START_FORM}")
        month, day = int(match.group(1)), int(match.group(2))
        if (month, day) == (2, 29):
            raise ValueError('"02-29" is not a day of every year, so a contract year could not '
                             'start on it; write "02-28" or "03-01"')
        try:
            date(2001, month, day)  # a common year: 02-29 is already refused
        except ValueError:
            raise ValueError(f"{_show(text)} is not a day of the year (no such month or day); "
                             f"expected {YEAR_START_FORM}") from None
        return cls(month, day)

    @property
    def text(self) -> str:
        return f"{self.month:02d}-{self.day:02d}"

    @property
    def calendar(self) -> bool:
        """Whether contract years are calendar years (the start is January 1st)."""
        return (self.month, self.day) == (1, 1)

    def year_of(self, day: date) -> int:
        """The calendar year in which the contract year holding ``day`` starts."""
        return day.year if (day.month, day.day) >= (self.month, self.day) else day.year - 1

    def label(self, first_year: int) -> str:
        """``2026`` (calendar years) or ``2026/27`` (the contract year starting in 2026)."""
        if self.calendar:
            return str(first_year)
        return f"{first_year}/{(first_year + 1) % 100:02d}"

    def first_day(self, first_year: int) -> date:
        """The first day of the contract year that starts in ``first_year``."""
        return date(first_year, self.month, self.day)

    def of_period(self, label: str, period: str) -> str:
        """The label of the contract year that period ``label`` (``2026-03``, ``2026-Q1``,
        ``2026-W09``, ``2026``) belongs to; see the module doc for the rule."""
        return self.label(self.year_of(placing_day(label, period)))


CALENDAR_YEARS = YearStart()
"""The default ``year_start = "01-01"``: contract years are calendar years."""


def placing_day(label: str, period: str) -> date:
    """The day that places a period in a contract year: its first day, or a week's Thursday.

    Raises ValueError for a label that is not one of ``period``'s.
    """
    pattern = _LABELS.get(period)
    match = pattern.fullmatch(label) if pattern is not None else None
    if match is None:
        raise ValueError(f"{label!r} is not the label of a {period}")
    year = int(match.group(1))
    try:
        if period == "week":
            return date.fromisocalendar(year, int(match.group(2)), 1) + timedelta(days=3)
        if period == "month":
            return date(year, int(match.group(2)), 1)
        if period == "quarter":
            return date(year, 3 * int(match.group(2)) - 2, 1)
        return date(year, 1, 1)
    except ValueError:
        raise ValueError(f"{label!r} is not the label of a {period}") from None


def periods_per_year(period: str) -> int:
    """The most periods a contract year can hold: 53 weeks, 12 months, 4 quarters, 1 year."""
    return {"week": 53, "month": 12, "quarter": 4, "year": 1}[period]


def _show(text: str, limit: int = 40) -> str:
    shown = repr(text[:limit])[1:-1]
    return f'"{shown}…"' if len(text) > limit else f'"{shown}"'
