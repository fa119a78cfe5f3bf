"""Country holidays: the public holidays of a country (or one of its subdivisions) that a
calendar closes, as the ``holidays`` package lists them, and the contract table naming them."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from slaengine.errors import ContractError, did_you_mean
from slaengine.periods import FIRST_DAY, LAST_DAY

COUNTRY_KEYS = ("country", "subdiv", "categories")
"""The keys of a country's holidays table in ``holidays``."""


@dataclass(frozen=True)
class CountryHolidays:
    """The holidays of a country, or of one of its subdivisions, as the ``holidays`` package
    lists them (observed days included).

    ``country`` is an ISO 3166-1 alpha-2 code, ``subdiv`` one of the country's subdivision codes,
    ``categories`` the package's holiday categories (empty: its default, ``public``). Checked by
    :func:`check_country_holidays`; the package is imported only when dates are asked for.
    """

    country: str
    subdiv: str | None = None
    categories: tuple[str, ...] = ()

    def dates(self, first_year: int, last_year: int) -> dict[int, frozenset[date]]:
        """The holiday dates of each year ``first_year .. last_year`` (clamped to the dates a
        contract may name, :data:`~slaengine.periods.FIRST_DAY` .. ``LAST_DAY``).

        Dates are grouped by the year they fall in, not the year that generated them, so a
        holiday observed on the last day of the previous year (New Year's Day on a Saturday) is
        found in its own year.
        """
        out: dict[int, set[date]] = {y: set() for y in range(first_year, last_year + 1)}
        lo, hi = max(first_year, FIRST_DAY.year), min(last_year, LAST_DAY.year)
        if lo <= hi:
            import holidays  # only when a calendar names a country: the import costs ~0.1 s

            found = holidays.country_holidays(
                self.country, subdiv=self.subdiv, categories=self.categories or None,
                years=range(max(lo - 1, FIRST_DAY.year), min(hi + 1, LAST_DAY.year) + 1),
            )
            for day in found:
                if day.year in out:
                    out[day.year].add(day)
        return {y: frozenset(days) for y, days in out.items()}

    def supported_years(self) -> tuple[int, int]:
        """The first and last year the installed ``holidays`` package lists this country for."""
        import holidays

        entity = getattr(holidays, self.country)
        return int(entity.start_year), int(entity.end_year)


def parse_country_holidays(table: Mapping[str, Any], path: Sequence[str | int]) -> CountryHolidays:
    """A ``{ country = "US", subdiv = "NY", categories = ["public"] }`` table, checked against
    the codes and categories the installed ``holidays`` package supports.

    Raises :class:`ContractError` naming the key, with the closest code and the accepted ones.
    Imports ``holidays`` (about 0.1 s) and the module of the one country named.
    """
    import holidays
    from holidays.registry import COUNTRIES, EntityLoader

    path = tuple(path)
    country = table.get("country")
    codes = sorted(EntityLoader.get_country_codes(include_aliases=False))
    if not isinstance(country, str) or country not in codes:
        shown = repr(country[:60]) if isinstance(country, str) else repr(country)
        names: dict[str, str] = {}  # other spellings -> alpha-2 code (hints only)
        for entity in COUNTRIES.values():
            for name in (entity[0], *entity[1:]):
                names[re.sub(r"[^A-Z0-9]", "", name.upper())] = entity[1]
        wanted = country if isinstance(country, str) else ""
        close = names.get(re.sub(r"[^A-Z0-9]", "", wanted.upper())) or did_you_mean(wanted, codes)
        raise ContractError(None, (*path, "country"),
                            f"{shown} is not a country code the holidays package knows; "
                            'expected an ISO 3166-1 alpha-2 code such as "US"',
                            suggestion=close, accepted=codes)
    entity = getattr(holidays, country)  # the class of that country (imports its module)
    subdiv = table.get("subdiv")
    if subdiv is not None:
        known = tuple(entity.subdivisions)
        if not known:
            raise ContractError(None, (*path, "subdiv"), f"the holidays package knows no "
                                f"subdivisions of {country}; leave subdiv out")
        if not isinstance(subdiv, str) or subdiv not in known:
            shown = repr(subdiv[:60]) if isinstance(subdiv, str) else repr(subdiv)
            wanted = subdiv if isinstance(subdiv, str) else str(subdiv)
            aliases = {k.upper(): v for k, v in getattr(entity, "subdivisions_aliases", {}).items()}
            aliases.update((code.upper(), code) for code in known)
            close = aliases.get(wanted.strip().upper()) or did_you_mean(wanted, known)
            raise ContractError(None, (*path, "subdiv"),
                                f"{shown} is not a subdivision of {country}",
                                suggestion=close, accepted=known)
    categories: tuple[str, ...] = ()
    given = table.get("categories")
    if given is not None:
        supported = tuple(entity.supported_categories)
        if not isinstance(given, list) or not given:
            raise ContractError(None, (*path, "categories"),
                                'expected a non-empty list such as ["public"]',
                                accepted=supported)
        for i, category in enumerate(given):
            if not isinstance(category, str) or category not in supported:
                raise ContractError(None, (*path, "categories", i),
                                    f"{category!r} is not a holiday category of {country}",
                                    suggestion=did_you_mean(str(category), supported),
                                    accepted=supported)
        categories = tuple(dict.fromkeys(given))
    return CountryHolidays(country, subdiv, categories)

