"""Check a contract document completely and build the :class:`Contract`: the schema first, then
every part it found sound (calendars, sources, penalties, service levels, the window, agreed
exclusions), so one run reports every problem."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from slaengine import schema as contract_schema
from slaengine.calendars import build_calendars
from slaengine.contract.clocks import ClockChecks
from slaengine.contract.levels import LevelChecks, statistic_unit
from slaengine.contract.model import Contract, Exclusion, ServiceLevel
from slaengine.contract.sources import SourceChecks
from slaengine.credits.schema import (
    fee_problems,
    money_problems,
    penalty_schema,
    reference_problems,
)
from slaengine.credits.terms import CreditTerms, LevelFacts, parse_terms
from slaengine.errors import ContractError, KeyPath, did_you_mean
from slaengine.money import parse_amount
from slaengine.periods import PERIODS, date_range_problem, label_problem
from slaengine.years import YearStart

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _control_problems(document: dict[str, Any]) -> list[tuple[tuple, str]]:
    """Keys and strings holding control characters (an escape sequence rewrites a terminal, a
    NUL cuts a name short): the key path and what was found. Tabs and line breaks are fine."""
    found = []
    stack: list[tuple[tuple, Any]] = [((), document)]
    while stack:
        at, value = stack.pop()
        if isinstance(value, str):
            bad = _CONTROL.search(value)
            if bad:
                found.append((at, f"holds the control character {bad.group()!r}; write plain "
                                  "text"))
        elif isinstance(value, dict):
            for key, item in value.items():
                bad = _CONTROL.search(key)
                if bad:
                    found.append(((*at, key), f"the key holds the control character "
                                              f"{bad.group()!r}"))
                stack.append(((*at, key), item))
        elif isinstance(value, list):
            stack.extend(((*at, i), item) for i, item in enumerate(value))
    return found


class Checker(SourceChecks, ClockChecks, LevelChecks):
    """One contract document checked part by part; :meth:`check` gives the :class:`Contract`."""

    def check(self, document: dict[str, Any]) -> Contract:
        for key_path, message in _control_problems(document):
            self.problem(key_path, message)
        self.raise_if_any()
        document, problems = contract_schema.validate(document, contract_schema.CONTRACT_SCHEMA)
        for key_path, message, suggestion, accepted in problems:
            self.problem(key_path, message, suggestion, accepted)
        # Go on checking every part the schema found sound, so one run reports everything.
        broken = {tuple(p[0][:2]) if p[0][:1] in (("service_levels",), ("clocks",))
                  else tuple(p[0][:1]) for p in problems}
        self.broken = broken
        if (("sources",) in broken or ("service_levels",) in broken
                or not isinstance(document.get("contract"), dict)):
            self.raise_if_any()
        head = document["contract"]
        self.document_head = head
        # A part of the wrong type is already a problem: its contents are not looked into.
        sound = {key: document.get(key) for key in ("calendars", "penalties")
                 if (key,) not in broken}
        self.calendars = self.build_calendars(sound.get("calendars") or {}, head)
        sources = {
            name: self.source(name, table) for name, table in document["sources"].items()
        }
        self.check_links(sources)
        clock_tables = document.get("clocks") if ("clocks",) not in broken else None
        clocks = self.clocks(clock_tables or {}, {p[0][1] for p in problems
                                                  if p[0][:1] == ("clocks",) and len(p[0]) > 1})
        penalties = self.penalties(sound.get("penalties"))
        levels = [self.service_level(i, sl, sources)
                  for i, sl in enumerate(document["service_levels"])
                  if ("service_levels", i) not in broken]
        if penalties is not None and not any(p[0][:1] == ("penalties",) for p in problems):
            ids = [sl.get("id") for sl in document["service_levels"] if isinstance(sl, dict)]
            for problem in reference_problems(ids, penalties, self.penalty_model):
                self.problem(*problem)
            for i, entry in enumerate(penalties.get("exclusions") or []):
                label = entry.get("period") if isinstance(entry, dict) else None
                kind = head.get("period", "month")
                why = (label_problem(label, kind)
                       if isinstance(label, str) and kind in PERIODS else None)
                if why is not None:
                    self.problem(("penalties", "exclusions", i, "period"), why)
        seen: dict[str, int] = {}
        for level in levels:
            if level is None:
                continue
            if level.id in seen:
                self.problem(("service_levels", level.index, "id"),
                             f'"{level.id}" is already the id of service_levels[{seen[level.id]}]')
            seen.setdefault(level.id, level.index)
        if penalties is not None and not any(p[0][:1] in (("penalties",), ("contract",))
                                             for p in problems):
            fee = parse_amount(head["monthly_fee"]) if "monthly_fee" in head else None
            for problem in fee_problems(penalties, self.penalty_model, fee, head["period"]):
                self.problem(*problem)
        if not any(p[0][:1] == ("penalties",) or tuple(p[0][:2]) in (
                ("contract",), ("contract", "currency"), ("contract", "monthly_fee"))
                   for p in problems):
            for problem in money_problems(penalties, self.penalty_model, head["currency"],
                                          head.get("monthly_fee")):
                self.problem(*problem)
        if ("contract",) not in broken:
            self.check_window(head)
        self.unused_clocks(clocks, levels)
        self.raise_if_any()
        fee = head.get("monthly_fee")
        terms = self.credit_terms(penalties, head, levels)
        exclusions = self.exclusions(document.get("exclusions", []), head["timezone"], seen)
        return Contract(
            path=self.path, text=self.text, id=head["id"], client=head["client"],
            vendor=head["vendor"], currency=head["currency"], period=head["period"],
            timezone=head["timezone"], sources={k: v for k, v in sources.items() if v},
            service_levels=tuple(lv for lv in levels if lv is not None),
            monthly_fee=parse_amount(fee) if fee is not None else None,
            description=head.get("description", ""), penalties=penalties, credit_terms=terms,
            calendars=self.calendars, window=(head.get("start"), head.get("end")),
            exclusions=exclusions, warnings=tuple(self.warnings),
            year_start=YearStart.parse(head["year_start"]), clocks=clocks,
        )

    def unused_clocks(self, clocks: dict[str, Any], levels: list[ServiceLevel | None]) -> None:
        """A clock no service level measures is allowed, but probably not meant."""
        used = {level.metric for level in levels if level is not None}
        for name in clocks:
            if name not in used:
                line = contract_schema.line_of(self.lines, ("clocks", name))
                where = f"line {line}: " if line else ""
                self.warnings.append(f'{where}clocks.{name} is declared but no service level '
                                     f'measures it (metric = "{name}")')

    def check_window(self, head: dict[str, Any]) -> None:
        """``start`` and ``end`` lie in the accepted dates, and ``start`` comes first."""
        for key in ("start", "end"):
            if key in head:
                problem = date_range_problem(head[key])
                if problem:
                    self.problem(("contract", key), f"{problem}; leave {key} out for a contract "
                                 "without one")
        start, end = head.get("start"), head.get("end")
        if start is not None and end is not None and start >= end:
            self.problem(("contract", "end"), f"{end} is not after start = {start}; the "
                         "contract runs from start to end, both days included")

    def exclusions(self, tables: list[dict[str, Any]], timezone: str,
                   levels: dict[str, int]) -> tuple[Exclusion, ...]:
        out = []
        window = self.window_instants(timezone)
        for i, table in enumerate(tables):
            at = ("exclusions", i)
            for name in table.get("service_levels", []):
                if name not in levels:
                    self.problem((*at, "service_levels"), f'no service level called "{name}"',
                                 did_you_mean(name, levels), list(levels))
            bad = [k for k in ("from", "to") if self.date_problem((*at, k), table[k])]
            if bad:
                continue
            start, end = _instant(table["from"], timezone), _instant(table["to"], timezone)
            if end <= start:
                self.problem((*at, "to"), f"{table['to']} is not after from = {table['from']}")
            elif end <= window[0] or start >= window[1]:
                line = contract_schema.line_of(self.lines, at)
                where = f"line {line}: " if line else ""
                self.warnings.append(f"{where}exclusions[{i}] ({table['from']} .. {table['to']})"
                                     " lies outside the contract's start .. end and excludes "
                                     "nothing")
            where = {k: (v,) if isinstance(v, str) else tuple(v)
                     for k, v in table.get("where", {}).items()}
            out.append(Exclusion(reason=table["reason"], start=start, end=end,
                                 service_levels=tuple(table.get("service_levels", ())),
                                 where=where))
        self.raise_if_any()
        return tuple(out)

    def date_problem(self, key_path: KeyPath, value: date) -> bool:
        """Report ``value`` if it lies outside the accepted dates; True when it does."""
        problem = date_range_problem(value)
        if problem:
            self.problem(key_path, problem)
        return problem is not None

    def window_instants(self, timezone: str) -> tuple[datetime, datetime]:
        """The contract's ``start`` .. ``end`` as UTC instants (the end day included)."""
        head = self.document_head
        first = _instant(head["start"], timezone) if head.get("start") else datetime.min
        last = (_instant(head["end"] + timedelta(days=1), timezone) if head.get("end")
                else datetime.max)
        return first.replace(tzinfo=UTC), last.replace(tzinfo=UTC)

    def build_calendars(self, tables: dict[str, Any], head: dict[str, Any]) -> dict[str, Any]:
        if ("calendars",) in self.broken or not tables:
            return {}
        try:
            return build_calendars(tables, default_timezone=head.get("timezone"))
        except ContractError as exc:
            self.problem(exc.key_path, exc.message, exc.suggestion, exc.accepted)
            return {}

    def penalties(self, table: dict[str, Any] | None) -> dict[str, Any] | None:
        if table is None:
            return None
        model = table.get("model")
        plugin = self.registry.penalty_models.get(model) if isinstance(model, str) else None
        if isinstance(model, str) and plugin is None:
            names = self.registry.names("penalty model")
            self.problem(("penalties", "model"), f'no penalty model called "{model}"'
                         + self.registry.broken_note(),
                         did_you_mean(model, names), names)
        document, problems = contract_schema.validate(
            table, penalty_schema(plugin), ("penalties",))
        for key_path, message, suggestion, accepted in problems:
            self.problem(key_path, message, suggestion, accepted)
        self.penalty_model = plugin
        return document

    def credit_terms(self, penalties: dict[str, Any] | None, head: dict[str, Any],
                     levels: list[ServiceLevel | None]) -> CreditTerms | None:
        """The sound ``[penalties]`` table parsed once (see :func:`parse_terms`)."""
        if penalties is None:
            return None
        facts = {
            level.id: LevelFacts(level.id, level.statistic, statistic_unit(
                level.statistic, self.registry.metrics[level.metric]), level.target)
            for level in levels if level is not None
        }
        fee = head.get("monthly_fee")
        terms, problems = parse_terms(
            penalties, self.penalty_model, currency=head["currency"], period=head["period"],
            monthly_fee=parse_amount(fee) if fee is not None else None, levels=facts)
        for problem in problems:
            self.problem(*problem)
        self.raise_if_any()
        return terms


def _instant(value: date | datetime, timezone: str) -> datetime:
    """A TOML date or date-time as a UTC instant: a date is its midnight, a date-time without
    an offset is wall time, both in the contract's timezone."""
    if not isinstance(value, datetime):
        value = datetime.combine(value, time())
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(timezone))
    return value.astimezone(UTC)

