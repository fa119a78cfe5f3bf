"""The contract language of calendars: ``[calendars.NAME]`` tables read into calendars.

One ``[calendars.NAME]`` table per calendar (:data:`CALENDAR_SCHEMA`, parsed by
:func:`build_calendars`)::

    [calendars.support-hours]
    timezone = "America/New_York"             # IANA name; else inherited, else the contract's
    hours = { mon-fri = "08:00-12:00, 13:00-18:00", sat = "09:00-13:00" }
    holidays = [{ country = "US", subdiv = "NY" }, "2026-12-28..2026-12-31",
                { date = 2026-12-24, hours = "08:00-12:00" }]
    [calendars.night-desk]
    extend = "support-hours"                  # inherits timezone, hours, holidays
    hours = { mon-fri = "22:00-06:00" }       # replaces the inherited hours as a whole

* ``hours`` keys: ``mon`` .. ``sun`` or a range ``mon-fri``; a range may wrap round the week
  (``fri-mon`` is fri, sat, sun, mon). A day may be named by one key only; unnamed days are
  closed. Values: ``HH:MM-HH:MM`` intervals separated by commas, sorted or not, not
  overlapping; ``24:00`` ends a day at midnight; an end before the start runs past midnight
  (``22:00-06:00`` belongs to the day it starts); ``"closed"`` or ``""`` means no hours.
* ``holidays``: a TOML date, a ``"YYYY-MM-DD"`` string, a range string
  ``"YYYY-MM-DD..YYYY-MM-DD"`` (both ends included), or a table ``{ date = ..., hours = "..." }``
  whose ``date`` may be any of those forms: a partial day that has ONLY those hours. When
  several entries name one date the later one wins (a calendar's own entries come after the
  inherited ones), so a partial day can reopen one date of a holiday range.
* A table ``{ country = "US", subdiv = "NY", categories = ["public"] }`` closes the public
  holidays of a country (an ISO 3166-1 alpha-2 code), optionally of one subdivision, as the
  ``holidays`` package lists them, observed days included (``subdiv`` and ``categories`` are
  optional; the package's default category is ``public``). The dates are expanded lazily, year by
  year, for the years a measurement spans. A date the list names itself (a holiday or a partial
  day) takes precedence over a country's holiday, wherever the country table stands, so
  ``{ date = 2026-11-26, hours = "08:00-12:00" }`` opens half of Thanksgiving.
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from slaengine.calendars.always import Calendar
from slaengine.calendars.business import BusinessCalendar
from slaengine.calendars.countries import (
    COUNTRY_KEYS,
    CountryHolidays,
    parse_country_holidays,
)
from slaengine.calendars.hours import DAYS, HOURS_FORM, Interval, parse_days, parse_hours
from slaengine.errors import ContractError, did_you_mean
from slaengine.periods import date_range_problem

RANGE_SEPARATOR = ".."


@functools.cache
def timezones() -> frozenset[str]:
    """The IANA zone names this installation knows (read once)."""
    return frozenset(zoneinfo.available_timezones()) | {"UTC"}


def check_timezone(field: str, value: Any, error: Any) -> None:
    """Cerberus ``check_with``: ``value`` must be an IANA zone name such as ``Europe/Berlin``.

    Only names from the zone database's list are accepted, never a path: ``ZoneInfo`` alone
    would also open ``../x``-like keys' neighbours, folders (``America``) and local links
    (``localtime``), which differ from one machine to the next.
    """
    if not isinstance(value, str) or value not in timezones():
        shown = repr(value[:60]) if isinstance(value, str) else repr(value)
        close = did_you_mean(value, timezones()) if isinstance(value, str) else None
        hint = f'; did you mean "{close}"?' if close else ""
        error(field, f'unknown timezone {shown}; expected an IANA name such as '
                     f'"Europe/Berlin"{hint}')


CALENDAR_SCHEMA: dict[str, Any] = {
    "description": {"type": "string"},
    "extend": {"type": "string", "empty": False},
    "timezone": {"type": "string", "check_with": check_timezone},
    "hours": {
        "type": "dict",
        "keysrules": {"type": "string"},
        "valuesrules": {"type": "string"},
    },
    "holidays": {
        "type": "list",
        "meta": {"hint": 'such as holidays = [{ country = "US", subdiv = "NY" }, 2026-12-26, '
                         '{ date = 2026-12-24, hours = "08:00-12:00" }]'},
        "schema": {
            "type": ["date", "string", "dict"],
            "schema": {  # { date = ..., hours = ... } or { country = ..., subdiv = ..., ... }
                "date": {"type": ["date", "string"]},
                "hours": {"type": "string"},
                "country": {"type": "string"},
                "subdiv": {"type": "string"},
                "categories": {"type": "list", "schema": {"type": "string"}},
            },
        },
    },
}
"""Cerberus schema of one ``[calendars.NAME]`` table (the values are parsed by
:func:`build_calendars`, which reports bad hours, days and dates with their key path)."""

DATE_KEYS = ("date", "hours")
"""The keys of a holiday or partial-day table in ``holidays``."""

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")


def _parse_date(value: Any) -> tuple[date, date]:
    """A holiday's date or date range, inclusive; raises ValueError for people."""
    if isinstance(value, datetime):
        raise ValueError(f"{value} has a time; expected a date such as 2026-12-25")
    if isinstance(value, date):
        return _in_range(value, value), value
    if isinstance(value, str):
        parts = [p.strip() for p in value.split(RANGE_SEPARATOR)]
        if len(parts) in (1, 2) and all(_DATE.match(p) for p in parts):
            try:
                first, last = date.fromisoformat(parts[0]), date.fromisoformat(parts[-1])
            except ValueError as exc:
                raise ValueError(f'"{value}": {exc}') from None
            if last < first:
                raise ValueError(f'"{value}": the range ends before it starts')
            return _in_range(first, value), _in_range(last, value)
    raise ValueError(
        f"{value!r} is not a date; expected a date (2026-12-25) or a range "
        f'"2026-12-28..2026-12-31" (both ends included)'
    )


HOLIDAY_RANGE_DAYS = 3660
"""The longest holiday range (about ten years): a longer one is a typo in a year."""


def _in_range(day: date, value: Any) -> date:
    problem = date_range_problem(day)
    if problem:
        raise ValueError(f"{value}: {problem}")
    return day


@dataclass
class _Parsed:
    """One calendar table parsed on its own (before ``extend`` is resolved)."""

    timezone: str | None
    week: list[tuple[Interval, ...]] | None
    days: dict[date, tuple[Interval, ...]]  # date -> intervals (empty: whole holiday), in order
    countries: list[CountryHolidays]
    extend: str | None
    description: str


def _parse_table(name: str, table: Mapping[str, Any]) -> _Parsed:
    where = ("calendars", name)
    if not isinstance(table, Mapping):
        raise ContractError(None, where, "expected a table")
    for key in table:
        if key not in CALENDAR_SCHEMA:
            raise ContractError(None, (*where, key), "unknown key",
                                suggestion=did_you_mean(str(key), CALENDAR_SCHEMA),
                                accepted=list(CALENDAR_SCHEMA))
    timezone = table.get("timezone")
    if timezone is not None:
        problems: list[str] = []
        if isinstance(timezone, str):
            check_timezone("timezone", timezone, lambda _f, m: problems.append(m))
        else:
            problems.append("expected a string such as \"Europe/Berlin\"")
        if problems:
            raise ContractError(None, (*where, "timezone"), problems[0])
    week: list[tuple[Interval, ...]] | None = None
    hours = table.get("hours")
    if hours is not None:
        if not isinstance(hours, Mapping):
            raise ContractError(None, (*where, "hours"),
                                'expected a table such as { mon-fri = "08:00-18:00" }')
        week = [()] * 7
        given_by: dict[int, str] = {}
        for key, text in hours.items():
            path = (*where, "hours", key)
            try:
                days = parse_days(str(key))
            except KeyError as exc:
                word = str(exc.args[0])
                close = did_you_mean(word, DAYS)
                suggestion = str(key).replace(word, close) if close else None
                raise ContractError(None, path, f'"{key}" is not a day or a day range '
                                    '(such as mon, mon-fri, sat-sun)',
                                    suggestion=suggestion, accepted=DAYS) from None
            if not isinstance(text, str):
                raise ContractError(None, path, f"expected a string of the form {HOURS_FORM}")
            try:
                intervals = parse_hours(text)
            except ValueError as exc:
                raise ContractError(None, path, str(exc)) from None
            for day in days:
                if day in given_by:
                    raise ContractError(None, path, f'{DAYS[day]} is already given by '
                                        f'"{given_by[day]}"')
                given_by[day] = str(key)
                week[day] = intervals
    days_map: dict[date, tuple[Interval, ...]] = {}
    countries: list[CountryHolidays] = []
    holidays = table.get("holidays", [])
    if isinstance(holidays, Mapping) and "country" in holidays:
        raise ContractError(None, (*where, "holidays"), "expected a list; write the country's "
                            "table as one of its entries, such as "
                            'holidays = [{ country = "US", subdiv = "NY" }, 2026-12-24]')
    if not isinstance(holidays, list):
        raise ContractError(None, (*where, "holidays"), "expected a list of dates")
    for index, item in enumerate(holidays):
        path: tuple[str | int, ...] = (*where, "holidays", index)
        intervals: tuple[Interval, ...] = ()
        value = item
        if isinstance(item, Mapping):
            _check_entry_keys(item, path)
            if "country" in item:
                countries.append(parse_country_holidays(item, path))
                continue
            value = item["date"]
            text = item.get("hours", "")
            if not isinstance(text, str):
                raise ContractError(None, (*path, "hours"),
                                    f"expected a string of the form {HOURS_FORM}")
            try:
                intervals = parse_hours(text)
            except ValueError as exc:
                raise ContractError(None, (*path, "hours"), str(exc)) from None
            path = (*path, "date")
        try:
            first, last = _parse_date(value)
        except ValueError as exc:
            raise ContractError(None, path, str(exc)) from None
        if (last - first).days >= HOLIDAY_RANGE_DAYS:
            raise ContractError(None, path, f'"{value}" spans {(last - first).days + 1} days; a '
                                f"holiday range may span at most {HOLIDAY_RANGE_DAYS} days")
        for k in range((last - first).days + 1):  # one per holiday date
            day = first + timedelta(days=k)
            days_map.pop(day, None)  # a later entry wins (and keeps list order)
            days_map[day] = intervals
    extend = table.get("extend")
    if extend is not None and not isinstance(extend, str):
        raise ContractError(None, (*where, "extend"), "expected the name of another calendar")
    description = table.get("description", "")
    return _Parsed(timezone, week, days_map, countries, extend, str(description))


def _check_entry_keys(item: Mapping[str, Any], path: tuple[str | int, ...]) -> None:
    """A table in ``holidays`` is either a date table or a country table, never both."""
    if "country" in item and "date" in item:
        raise ContractError(None, path, 'a holiday table has either "date" (a holiday or a '
                            'partial day) or "country" (a country\'s holidays), not both')
    accepted = (COUNTRY_KEYS if "country" in item else DATE_KEYS if "date" in item
                else DATE_KEYS + COUNTRY_KEYS)
    for key in item:
        if key not in accepted:
            raise ContractError(None, (*path, key), "unknown key",
                                suggestion=did_you_mean(str(key), accepted), accepted=accepted)
    if "country" not in item and "date" not in item:
        if "hours" in item:
            raise ContractError(None, (*path, "date"), "required key is missing")
        if any(key in item for key in COUNTRY_KEYS):
            raise ContractError(None, (*path, "country"), "required key is missing")
        raise ContractError(None, path, 'expected { date = 2026-12-24, hours = "08:00-12:00" } '
                            'or { country = "US", subdiv = "NY" }')


def build_calendars(
    tables: Mapping[str, Mapping[str, Any]], *, default_timezone: str | None = None
) -> dict[str, Calendar]:
    """Parse every ``[calendars.NAME]`` table into a :class:`BusinessCalendar`.

    ``extend = "OTHER"`` inherits OTHER's timezone, hours and holidays (its countries' holidays
    included); the calendar's own ``timezone`` and ``hours`` replace the inherited ones
    (``hours`` as a whole table, not day by day) and its ``holidays`` are added after the
    inherited ones (a later entry for the same date wins, so a child's partial day can reopen a
    parent's holiday and vice versa; a country's holidays are added, and any dated entry, own or
    inherited, takes precedence over them). A
    calendar without a timezone (own or inherited) takes ``default_timezone`` (the contract's),
    and is an error when there is none. Raises :class:`ContractError` with the key path
    ``("calendars", NAME, ...)`` for the first problem found.
    """
    parsed = {name: _parse_table(name, table) for name, table in tables.items()}
    resolved: dict[str, BusinessCalendar] = {}

    def resolve(name: str, chain: tuple[str, ...]) -> tuple[str | None, Any, dict, list]:
        own = parsed[name]
        if own.extend is None:
            return own.timezone, own.week, dict(own.days), list(own.countries)
        if own.extend in chain or own.extend == name:
            cycle = " -> ".join((*chain, name, own.extend))
            raise ContractError(None, ("calendars", name, "extend"),
                                f"extend forms a cycle: {cycle}")
        if own.extend not in parsed:
            known = sorted(n for n in parsed if n != name)
            raise ContractError(None, ("calendars", name, "extend"),
                                f'no calendar called "{own.extend}"',
                                suggestion=did_you_mean(own.extend, known), accepted=known)
        timezone, week, days, countries = resolve(own.extend, (*chain, name))
        for day, intervals in own.days.items():
            days.pop(day, None)
            days[day] = intervals
        return (own.timezone or timezone, own.week if own.week is not None else week, days,
                countries + own.countries)

    for name in parsed:
        timezone, week, days, countries = resolve(name, ())
        where = ("calendars", name)
        timezone = timezone or default_timezone
        if timezone is None:
            raise ContractError(None, (*where, "timezone"), "required key is missing")
        if week is None:
            raise ContractError(None, (*where, "hours"),
                                'required key is missing (such as { mon-fri = "08:00-18:00" })')
        if not any(week) and not any(days.values()):
            raise ContractError(None, where, "the calendar is never open: no day has business "
                                "hours, so every duration counted in it would be 0 s and every "
                                'target met; give it hours such as { mon-fri = "08:00-18:00" }')
        resolved[name] = BusinessCalendar(
            name, timezone, week,
            holidays=[d for d, iv in days.items() if not iv],
            partial_days={d: iv for d, iv in days.items() if iv},
            description=parsed[name].description,
            countries=countries,
        )
    return dict(resolved)
