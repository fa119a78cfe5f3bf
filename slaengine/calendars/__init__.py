"""Calendars: how much countable time lies between two instants.

Without a ``calendar`` a service level counts every second (24x7). A calendar measures whole
arrays at once; it never loops over records.

- ``always``: :class:`Calendar`, round-the-clock time (:data:`ALWAYS`), and the timestamp array
  access every calendar shares;
- ``business``: :class:`BusinessCalendar`, weekly hours in a timezone minus holidays, its
  vectorised business-time arithmetic and the rule it implements;
- ``hours``: the weekly hours a contract writes (``mon-fri = "08:00-18:00"``);
- ``countries``: a country's public holidays (:class:`CountryHolidays`) and their table;
- ``tables``: the ``[calendars.NAME]`` tables of a contract read into calendars
  (:func:`build_calendars`, :data:`CALENDAR_SCHEMA`, :func:`check_timezone`).
"""

from slaengine.calendars.always import ALWAYS, Calendar
from slaengine.calendars.business import BusinessCalendar, package_versions
from slaengine.calendars.countries import (
    COUNTRY_KEYS,
    CountryHolidays,
    parse_country_holidays,
)
from slaengine.calendars.hours import DAYS, HOURS_FORM, Interval, parse_days, parse_hours
from slaengine.calendars.tables import (
    CALENDAR_SCHEMA,
    DATE_KEYS,
    HOLIDAY_RANGE_DAYS,
    RANGE_SEPARATOR,
    build_calendars,
    check_timezone,
    timezones,
)

__all__ = [
    "ALWAYS",
    "CALENDAR_SCHEMA",
    "COUNTRY_KEYS",
    "DATE_KEYS",
    "DAYS",
    "HOLIDAY_RANGE_DAYS",
    "HOURS_FORM",
    "RANGE_SEPARATOR",
    "BusinessCalendar",
    "Calendar",
    "CountryHolidays",
    "Interval",
    "build_calendars",
    "check_timezone",
    "package_versions",
    "parse_country_holidays",
    "parse_days",
    "parse_hours",
    "timezones",
]
