"""Read a contract (TOML), check it completely, and give back a typed :class:`Contract`.

Every problem names the file, the key path (``service_levels[2].target``) and, where the key can
be found, its line. All problems found are reported at once, so one run shows every typo.
"""

from __future__ import annotations

import hashlib
import re
import stat
import tomllib
from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from slaengine import schema as contract_schema
from slaengine.calendars import Calendar, build_calendars
from slaengine.credits.schema import (
    fee_problems,
    money_problems,
    penalty_schema,
    reference_problems,
)
from slaengine.credits.terms import CreditTerms, LevelFacts, parse_terms
from slaengine.errors import ContractError, KeyPath, SlaError, did_you_mean
from slaengine.fields import RECORD_KINDS, RecordKind
from slaengine.kinds import PAUSE_FIELDS, Metric, PeriodMetric
from slaengine.money import parse_amount
from slaengine.periods import PERIODS, date_range_problem, label_problem
from slaengine.pluginmanager import Registry, build_registry
from slaengine.targets import Target, TargetError, parse_target
from slaengine.years import CALENDAR_YEARS, YearStart


@dataclass(frozen=True)
class SourceSpec:
    """One ``[sources.NAME]`` table; ``path`` is resolved against the contract's folder."""

    name: str
    adapter: str
    path: Path
    fields: dict[str, str]
    options: dict[str, Any]
    kind: str = "tickets"
    link: str | None = None

    @property
    def record_kind(self) -> RecordKind:
        return RECORD_KINDS[self.kind]


@dataclass(frozen=True)
class ServiceLevel:
    """One ``[[service_levels]]`` entry, checked and with its defaults filled in.

    ``target`` and ``minimum`` carry the statistic (the metric's default when the text names
    none). ``where`` keeps records whose field has one of the listed values; ``by`` breaks the
    results down into one verdict per segment. ``options`` are the metric's own settings
    (checked by its schema); ``inputs`` names the sources of a period-level metric's further
    record sets (role -> source); ``pause`` lists the clock pauses that apply; ``calendar``
    names the business-hours calendar durations are counted in (None: 24x7); ``period_by``
    names the time field that decides a record's period (None: the kind's, e.g. created_at;
    ``"resolved_at"`` for contracts that count tickets in the month they were resolved).
    """

    id: str
    index: int
    source: str
    metric: str
    target: Target
    minimum: Target | None = None
    min_sample: int = 1
    where: dict[str, tuple[str, ...]] = field(default_factory=dict)
    by: tuple[str, ...] = ()
    description: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, str] = field(default_factory=dict)
    pause: tuple[str, ...] = ()
    calendar: str | None = None
    period_by: str | None = None

    @property
    def statistic(self) -> str:
        assert self.target.statistic is not None
        return self.target.statistic


NOT_MEASURED = frozenset({"id", "index", "target", "minimum", "min_sample", "description"})
"""The settings of a :class:`ServiceLevel` that only judge or name its figures; every other
setting changes which records it measures, how, or how it groups them (:class:`MeasureSpec`)."""


@dataclass(frozen=True)
class MeasureSpec:
    """Everything that decides which records a service level measures, how, and how it groups
    them: levels with equal specs share one narrowing, one measure and one tally per batch.

    Built only by :func:`measure_spec`; every :class:`ServiceLevel` field not in
    :data:`NOT_MEASURED` is one of these fields (checked by the tests), ``exclusions`` are the
    positions of the contract's agreed exclusions that apply to the level.
    """

    source: str
    metric: str
    where: tuple[tuple[str, tuple[str, ...]], ...]
    by: tuple[str, ...]
    options: Hashable
    inputs: tuple[tuple[str, str], ...]
    pause: tuple[str, ...]
    calendar: str | None
    period_by: str | None
    exclusions: tuple[int, ...]


def measure_spec(contract: Contract, level: ServiceLevel) -> MeasureSpec:
    """The :class:`MeasureSpec` of ``level`` in ``contract``."""
    return MeasureSpec(
        source=level.source, metric=level.metric, where=_frozen(level.where), by=level.by,
        options=_frozen(level.options), inputs=_frozen(level.inputs), pause=level.pause,
        calendar=level.calendar, period_by=level.period_by,
        exclusions=tuple(i for i, e in enumerate(contract.exclusions)
                         if e.applies_to(level.id)))


def _frozen(value: Any) -> Any:
    """``value`` as a hashable equal only for equal settings: tables as sorted pairs, lists as
    tuples, each value with its type (``1``, ``1.0`` and ``true`` are different settings)."""
    if isinstance(value, dict):
        return tuple(sorted((str(k), _frozen(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_frozen(v) for v in value)
    return (type(value).__name__, value)


@dataclass(frozen=True)
class Exclusion:
    """Records excluded by agreement (``[[exclusions]]``): those whose time lies in
    ``[start, end)`` (UTC) and match ``where``, for the listed service levels (all when empty).
    Force majeure, an outage the client caused: the reason is carried into every report."""

    reason: str
    start: datetime
    end: datetime
    service_levels: tuple[str, ...] = ()
    where: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def applies_to(self, level: str) -> bool:
        return not self.service_levels or level in self.service_levels


@dataclass(frozen=True)
class Contract:
    """A checked contract. ``text`` is the file's exact content (its SHA-256 is in manifests).

    ``window`` holds the optional ``start`` and ``end`` dates: only the periods that overlap
    them are evaluated. ``warnings`` are things that are allowed but probably not meant (an
    exclusion that lies outside the window), for ``validate`` to show. ``year_start`` is the
    first day of each contract year (see :mod:`slaengine.years`). ``penalties`` is the checked
    ``[penalties]`` table as written, ``credit_terms`` the same parsed (see
    :mod:`slaengine.credits.terms`).
    """

    path: Path | None
    text: str
    id: str
    client: str
    vendor: str
    currency: str
    period: str
    timezone: str
    sources: dict[str, SourceSpec]
    service_levels: tuple[ServiceLevel, ...]
    monthly_fee: Decimal | None = None
    description: str = ""
    penalties: dict[str, Any] | None = None
    credit_terms: CreditTerms | None = None
    calendars: dict[str, Calendar] = field(default_factory=dict)
    window: tuple[date | None, date | None] = (None, None)
    exclusions: tuple[Exclusion, ...] = ()
    warnings: tuple[str, ...] = ()
    year_start: YearStart = CALENDAR_YEARS

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    def service_level(self, id: str) -> ServiceLevel:
        for level in self.service_levels:
            if level.id == id:
                return level
        raise KeyError(id)


# A statistic's result is in one of these units; the target must be written in the same one.
TARGET_UNITS = {"duration": "duration", "rate": "rate", "score": "number", "points": "number",
                "count": "number", "money": "number"}
TARGET_EXAMPLES = {"duration": '"p90 <= 4h"', "rate": '">= 85%"', "number": '">= 4.2"'}


def statistic_unit(statistic: str, metric: Metric) -> str:
    """The unit of ``statistic`` applied to ``metric``'s measures, or ValueError if it makes
    no sense (a percentile of yes/no outcomes, a share of durations)."""
    if isinstance(metric, PeriodMetric) != (statistic == "value"):
        if statistic == "value":
            raise ValueError(f"{metric.name} measures each record; value is for period figures")
        raise ValueError(f"{metric.name} is one figure per period: write the target without a "
                         'statistic, e.g. "<= 200" or ">= 85%"')
    if statistic == "value":
        return metric.unit
    if statistic == "attainment":
        if metric.unit != "duration":
            raise ValueError(
                f'"NN% within D" needs a duration metric; {metric.name} measures {metric.unit}'
            )
        return "rate"
    if statistic == "share":
        if metric.unit not in ("boolean", "score"):
            raise ValueError(
                f"share needs a yes/no or survey metric; {metric.name} measures {metric.unit}"
            )
        return "rate"
    if statistic == "count":
        return "count"
    if metric.unit == "boolean":
        raise ValueError(
            f"{statistic} of yes/no outcomes makes no sense; use share (e.g. \">= 85%\")"
        )
    return metric.unit


MAX_CONTRACT_BYTES = 10 * 1024 * 1024
"""The largest contract file read (10 MiB; real contracts are a few KiB)."""

MAX_DEPTH = 32
"""The deepest nesting of tables and arrays a contract may have (real ones reach 4)."""


def load_contract(path: str | Path, registry: Registry | None = None) -> Contract:
    """Read and check the contract at ``path`` against the plugins in ``registry``.

    The file is sized up before it is read: anything but a regular file (a folder, a device such
    as ``/dev/zero``, a pipe) and anything above :data:`MAX_CONTRACT_BYTES` is refused unread.
    """
    path = Path(path)
    return parse_contract(_read_text(path), path=path, registry=registry)


def _read_text(path: Path) -> str:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ContractError(path, (), "no such contract file") from None
    except OSError as exc:
        raise ContractError(path, (), f"cannot read the contract: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        what = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        raise ContractError(path, (), f"{what}; expected a contract file (.toml)")
    if info.st_size > MAX_CONTRACT_BYTES:
        raise ContractError(path, (), f"{info.st_size} bytes; a contract may have at most "
                            f"{MAX_CONTRACT_BYTES} bytes")
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_CONTRACT_BYTES + 1)  # the file may have grown since
    except OSError as exc:
        raise ContractError(path, (), f"cannot read the contract: {exc.strerror}") from None
    if len(data) > MAX_CONTRACT_BYTES:
        raise ContractError(path, (), f"more than {MAX_CONTRACT_BYTES} bytes; a contract may "
                            f"have at most {MAX_CONTRACT_BYTES} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ContractError(path, (), f"byte {exc.start + 1} ({data[exc.start]:#04x}) is not "
                            "UTF-8; save the contract as UTF-8", line=line) from None


def parse_contract(
    text: str, *, path: Path | None = None, registry: Registry | None = None
) -> Contract:
    """Check contract ``text``; ``path`` (if any) names it in messages and anchors its paths."""
    registry = registry or build_registry()
    document = _parse_toml(text, path)
    try:
        return _Checker(text, path, registry).check(document)
    except RecursionError:  # a shape no check foresaw; never a traceback
        raise ContractError(path, (), f"nested too deeply (at most {MAX_DEPTH} levels of "
                            "tables and arrays)") from None


_TOML_PLACE = re.compile(r"\(at line (\d+), column (\d+)\)")


def _parse_toml(text: str, path: Path | None) -> dict[str, Any]:
    """``text`` as TOML; a problem names its line and, for a repeated key, the key."""
    if text.startswith("\ufeff"):
        raise ContractError(path, (), "the file starts with a byte-order mark; save it as UTF-8 "
                            "without one", line=1)
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        place = _TOML_PLACE.search(message)
        line = int(place.group(1)) if place else None
        reason = _TOML_PLACE.sub("", message).strip()
        if line is not None and ("overwrite" in reason or "twice" in reason):
            key = _key_at(text, line, int(place.group(2)))
            if key:
                reason = f'"{key}" is given twice ({reason[:1].lower()}{reason[1:]})'
        raise ContractError(path, (), f"not valid TOML: {reason}", line=line) from None
    except RecursionError:
        raise ContractError(path, (), f"not valid TOML: nested too deeply (at most {MAX_DEPTH} "
                            "levels of tables and arrays)") from None
    depth = _depth(document)
    if depth > MAX_DEPTH:
        raise ContractError(path, (), f"nested {depth} levels deep; at most {MAX_DEPTH} levels "
                            "of tables and arrays")
    return document


def _key_at(text: str, line: int, column: int) -> str | None:
    """The key written on ``line`` at or before ``column`` (a header's name, ``key =``)."""
    lines = text.splitlines()
    if not 0 < line <= len(lines):
        return None
    found = lines[line - 1]
    header = re.match(r"\s*\[\[?\s*([^\]]+?)\s*\]", found)
    if header:
        return header.group(1)
    keys = [m.group(1) for m in re.finditer(r"([A-Za-z0-9_\-.\"']+)\s*=", found[:column + 1])]
    return keys[-1].strip("\"'") if keys else None


def _depth(document: Any) -> int:
    """How deeply tables and arrays nest in ``document`` (counted without recursion)."""
    deepest = 0
    stack = [(document, 0)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        deepest = max(deepest, level + 1)
        if deepest > MAX_DEPTH:
            return deepest
        stack.extend((child, level + 1) for child in children)
    return deepest


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


class ContractProblems(SlaError):
    """Several problems in one contract, reported together in line order."""

    def __init__(self, problems: list[ContractError]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.line or 0, p.render()))
        head = f"{len(self.problems)} problems in the contract:\n" if len(problems) > 1 else ""
        super().__init__(head + "\n".join(p.render() for p in self.problems))

    def render(self) -> str:
        return self.message


class _Checker:
    def __init__(self, text: str, path: Path | None, registry: Registry) -> None:
        self.path = path
        self.registry = registry
        self.lines = contract_schema.key_lines(text)
        self.text = text
        self.problems: list[ContractError] = []
        self.penalty_model: Any = None
        self.calendars: dict[str, Calendar] = {}
        self.broken: set[tuple] = set()
        self.warnings: list[str] = []

    def problem(self, key_path: KeyPath, message: str, suggestion: str | None = None,
                accepted: list[str] | None = None) -> None:
        line = contract_schema.line_of(self.lines, key_path)
        self.problems.append(ContractError(
            self.path, tuple(_printable(p) for p in key_path), message, line=line,
            suggestion=suggestion, accepted=accepted,
        ))

    def raise_if_any(self) -> None:
        if len(self.problems) == 1:
            raise self.problems[0]
        if self.problems:
            raise ContractProblems(self.problems)

    def check(self, document: dict[str, Any]) -> Contract:
        for key_path, message in _control_problems(document):
            self.problem(key_path, message)
        self.raise_if_any()
        document, problems = contract_schema.validate(document, contract_schema.CONTRACT_SCHEMA)
        for key_path, message, suggestion, accepted in problems:
            self.problem(key_path, message, suggestion, accepted)
        # Go on checking every part the schema found sound, so one run reports everything.
        broken = {tuple(p[0][:2]) if p[0][:1] == ("service_levels",) else tuple(p[0][:1])
                  for p in problems}
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
            year_start=YearStart.parse(head["year_start"]),
        )

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

    def source(self, name: str, table: dict[str, Any]) -> SourceSpec | None:
        where = ("sources", name)
        adapter = table.get("adapter")
        plugin = self.registry.sources.get(adapter) if isinstance(adapter, str) else None
        if isinstance(adapter, str) and plugin is None:
            names = self.registry.names("source")
            self.problem((*where, "adapter"), f'no source adapter called "{adapter}"'
                         + self.registry.broken_note(),
                         did_you_mean(adapter, names), names)
        schema = dict(contract_schema.SOURCE_KEYS)
        if plugin is not None:
            schema.update(plugin.schema)
        document, problems = contract_schema.validate(table, schema, where)
        for key_path, message, suggestion, accepted in problems:
            self.problem(key_path, message, suggestion, accepted)
        if problems or plugin is None:
            return None
        kind = RECORD_KINDS[document.get("kind", "tickets")]
        mapping = document.get("fields", {})
        for canonical in mapping:
            if canonical not in kind.fields:
                self.problem((*where, "fields", canonical),
                             f"not a canonical {kind.name} field",
                             did_you_mean(canonical, kind.fields), list(kind.fields))
        base = self.path.parent if self.path is not None else Path.cwd()
        options = {k: v for k, v in document.items() if k not in contract_schema.SOURCE_KEYS}
        return SourceSpec(name=name, adapter=document["adapter"],
                          path=(base / document["path"]).resolve(), fields=dict(mapping),
                          options=options, kind=kind.name, link=document.get("link"))

    def check_links(self, sources: dict[str, SourceSpec | None]) -> None:
        """``link = "tickets"`` joins a source's records to another source's by the latter's
        id (surveys to tickets by ``ticket_id``): never implicit, and only on a shared id."""
        for name, spec in sources.items():
            if spec is None or spec.link is None:
                continue
            at = ("sources", name, "link")
            other = sources.get(spec.link)
            if spec.link not in sources or spec.link == name:
                others = [n for n in sources if n != name]
                self.problem(at, f'no other source called "{spec.link}"',
                             did_you_mean(spec.link, others), others)
            elif other is not None:
                key = other.record_kind.id_field
                if key not in spec.record_kind.fields:
                    self.problem(at, f"{spec.kind} records have no {key} to find their "
                                 f"{other.kind} by")
                elif other.link is not None:
                    self.problem(at, f'source "{spec.link}" is itself linked; link to the '
                                 "source that holds the records")

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

    def service_level(
        self, index: int, table: dict[str, Any], sources: dict[str, SourceSpec | None]
    ) -> ServiceLevel | None:
        at: tuple = ("service_levels", index)
        before = len(self.problems)
        source = self.main_source(table, sources, at)
        metric = self.registry.metrics.get(table["metric"])
        if metric is None:
            names = self.registry.names("metric")
            self.problem((*at, "metric"), f'no metric called "{table["metric"]}"'
                         + self.registry.broken_note(),
                         did_you_mean(table["metric"], names), names)
        target = self.target(table["target"], (*at, "target"), metric)
        minimum = None
        if "minimum" in table:
            minimum = self.target(table["minimum"], (*at, "minimum"), metric)
            if target and minimum:
                self.check_minimum(target, minimum, (*at, "minimum"))
        spec = sources.get(source) if source else None
        inputs: dict[str, str] = {}
        options: dict[str, Any] = {}
        if metric is not None and spec is not None:
            inputs = self.inputs(metric, spec, table, sources, at)
            kinds = [RECORD_KINDS[s.kind] for s in (sources[n] for n in inputs.values()) if s]
            linked = sources.get(spec.link) if spec.link else None
            if linked is not None:
                kinds.append(linked.record_kind)
            self.check_fields(table, kinds or [spec.record_kind], at)
            if table.get("by") and isinstance(metric, PeriodMetric):
                self.problem((*at, "by"), f"{metric.name} is one figure per period; it cannot "
                             "be broken down with by")
            options, problems = contract_schema.validate(
                table.get("options", {}), metric.schema, (*at, "options"))
            for key_path, message, suggestion, accepted in problems:
                self.problem(key_path, message, suggestion, accepted)
            calendar = table.get("calendar")
            if calendar is not None and calendar not in self.calendars:
                names = sorted(self.calendars)
                self.problem((*at, "calendar"), f'no calendar called "{calendar}" in [calendars]',
                             did_you_mean(calendar, names), names or None)
            elif calendar is not None and metric.unit != "duration":
                self.problem((*at, "calendar"), f"{metric.name} measures {metric.unit}, not "
                             "time; a calendar only applies to duration metrics")
            elif calendar is not None and isinstance(metric, PeriodMetric):
                self.problem((*at, "calendar"), f"{metric.name} is one figure per period; a "
                             "calendar only applies to durations measured record by record")
            period_by = table.get("period_by")
            if period_by is not None:
                kind = spec.record_kind
                times = [f for f in kind.fields if kind.type_name(f) == "timestamp"]
                if period_by not in times:
                    self.problem((*at, "period_by"), f'"{period_by}" is not a time field of '
                                 f"{kind.name}", did_you_mean(period_by, times), times)
                elif isinstance(metric, PeriodMetric):
                    self.problem((*at, "period_by"), f"{metric.name} is one figure per "
                                 "period and decides itself which time counts")
            for pause in table.get("pause", []):
                needed = PAUSE_FIELDS[pause]
                if metric.unit != "duration" or needed not in spec.record_kind.fields:
                    self.problem((*at, "pause"), f'pause "{pause}" needs a duration metric on '
                                 f"records with {needed}; {metric.name} on {spec.kind} has none")
        if len(self.problems) > before or metric is None or target is None or source is None:
            return None
        where_values = {
            k: (v,) if isinstance(v, str) else tuple(v) for k, v in table.get("where", {}).items()
        }
        return ServiceLevel(
            id=table["id"], index=index, source=source, metric=table["metric"], target=target,
            minimum=minimum, min_sample=table.get("min_sample", 1), where=where_values,
            by=tuple(table.get("by", ())), description=table.get("description", ""),
            options=options, inputs=inputs, pause=tuple(table.get("pause", ())),
            calendar=table.get("calendar"), period_by=table.get("period_by"),
        )

    def main_source(
        self, table: dict[str, Any], sources: dict[str, SourceSpec | None], at: tuple
    ) -> str | None:
        source = table.get("source")
        if source is None:
            if len(sources) == 1:
                return next(iter(sources))
            self.problem((*at, "source"), "required when the contract has more than one source",
                         accepted=list(sources))
            return None
        if source not in sources:
            self.problem((*at, "source"), f'no source called "{source}" in [sources]',
                         did_you_mean(source, sources), list(sources))
            return None
        return source

    def inputs(self, metric: Metric, spec: SourceSpec, table: dict[str, Any],
               sources: dict[str, SourceSpec | None], at: tuple) -> dict[str, str]:
        """Which source feeds each record set the metric reads (role -> source name)."""
        if not isinstance(metric, PeriodMetric):
            if "inputs" in table:
                self.problem((*at, "inputs"), f"{metric.name} reads one source; inputs is for "
                             "period-level metrics such as cost_per_contact")
            if spec.kind not in metric.kinds:
                self.problem((*at, "source"), f'{metric.name} reads {" or ".join(metric.kinds)} '
                             f'records; source "{spec.name}" holds {spec.kind}')
            return {"records": spec.name}
        roles = list(metric.inputs)
        chosen = {roles[0]: spec.name}
        if spec.kind not in metric.inputs[roles[0]].kinds:
            self.problem((*at, "source"), f"{metric.name} reads its {roles[0]} from "
                         f'{" or ".join(metric.inputs[roles[0]].kinds)} records; source '
                         f'"{spec.name}" holds {spec.kind}')
        given = table.get("inputs", {})
        for role in given:
            if role not in roles[1:]:
                self.problem((*at, "inputs", role), f"{metric.name} has no input called "
                             f'"{role}"', did_you_mean(role, roles[1:]), roles[1:])
        for role in roles[1:]:
            kinds = metric.inputs[role].kinds
            name = given.get(role)
            if name is None:
                fitting = [n for n, s in sources.items() if s and s.kind in kinds]
                if len(fitting) != 1:
                    self.problem((*at, "inputs", role), f"{metric.name} needs a source of "
                                 f'{" or ".join(kinds)} records for "{role}"; name it in inputs',
                                 accepted=fitting or None)
                    continue
                name = fitting[0]
            found = sources.get(name)
            if name not in sources:
                self.problem((*at, "inputs", role), f'no source called "{name}" in [sources]',
                             did_you_mean(name, sources), list(sources))
            elif found is not None and found.kind not in kinds:
                self.problem((*at, "inputs", role), f'source "{name}" holds {found.kind}; '
                             f'{role} must be {" or ".join(kinds)} records')
            chosen[role] = name
        return chosen

    def check_fields(self, table: dict[str, Any], kinds: list[RecordKind], at: tuple) -> None:
        """``where`` and ``by`` must name category fields of the records read."""
        allowed = sorted({f for k in kinds for f in k.fields if _is_segmentable(k, f)})
        names = " or ".join(sorted({k.name for k in kinds}))
        for name in table.get("where", {}):
            if name not in allowed:
                self.problem((*at, "where", name), f'"{name}" is not a category field of {names}',
                             did_you_mean(name, allowed), allowed)
        for name in table.get("by", []):
            if name not in allowed:
                self.problem((*at, "by"), f'"{name}" is not a category field of {names}',
                             did_you_mean(name, allowed), allowed)

    def target(self, text: str, key_path: KeyPath, metric: Metric | None) -> Target | None:
        try:
            target = parse_target(text)
        except TargetError as exc:
            self.problem(key_path, str(exc))
            return None
        if metric is None:
            return target
        target = target.with_statistic(target.statistic or metric.default_statistic)
        try:
            unit = statistic_unit(target.statistic, metric)
        except ValueError as exc:
            self.problem(key_path, f"{target.text!r}: {exc}")
            return None
        expected = TARGET_UNITS[unit]
        if target.unit == expected and target.statistic == "share" and not (
            0 <= target.threshold <= 1
        ):
            self.problem(key_path, f"{target.text!r}: a share of records must be between 0% "
                         "and 100%")
            return None
        if target.unit != expected:
            self.problem(
                key_path,
                f"{target.text!r}: {target.statistic} of {metric.name} is a {unit}, "
                f"so the target needs a {expected} value, e.g. {TARGET_EXAMPLES[expected]}",
            )
            return None
        return target

    def check_minimum(self, target: Target, minimum: Target, key_path: KeyPath) -> None:
        if (minimum.statistic, minimum.better, minimum.within) != (
            target.statistic, target.better, target.within
        ):
            self.problem(key_path, f'"{minimum.text}" must use the same statistic and '
                         f'direction as the target "{target.text}"')
        elif (minimum.better == "higher" and minimum.threshold > target.threshold) or (
            minimum.better == "lower" and minimum.threshold < target.threshold
        ):
            self.problem(key_path, f'"{minimum.text}" is stricter than the target '
                         f'"{target.text}"; the minimum is the level below which a miss is '
                         "critical")


def _is_segmentable(kind: RecordKind, name: str) -> bool:
    return kind.type_name(name) == "category" or name == kind.id_field


def _instant(value: date | datetime, timezone: str) -> datetime:
    """A TOML date or date-time as a UTC instant: a date is its midnight, a date-time without
    an offset is wall time, both in the contract's timezone."""
    if not isinstance(value, datetime):
        value = datetime.combine(value, time())
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(timezone))
    return value.astimezone(UTC)


def _printable(part: str | int) -> str | int:
    """A key as it can be shown: control characters escaped, cut to 60 characters."""
    if isinstance(part, int) or (part.isprintable() and len(part) <= 60):
        return part
    shown = repr(part[:60])[1:-1]
    return f"{shown}…" if len(part) > 60 else shown
