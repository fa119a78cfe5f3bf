"""The typed contract: what :func:`~slaengine.contract.load_contract` gives back once every check
has passed (sources, service levels, agreed exclusions, calendars, credit terms), and the spec
that decides which service levels share a measure."""

from __future__ import annotations

import hashlib
from collections.abc import Hashable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from slaengine.calendars import Calendar
from slaengine.clocks.custom import ClockDefinition
from slaengine.credits.terms import CreditTerms
from slaengine.fields import RECORD_KINDS, RecordKind
from slaengine.targets import Target
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
    values: dict[str, dict[str, str]] = field(default_factory=dict)

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
    ``as_of`` says when a clock record's fields (for ``where`` and ``by``) are read: at its
    start (``"start"``, the default) or at its end (``"end"``); None: the level does not say.
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
    as_of: str | None = None

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
    as_of: str | None = None


def measure_spec(contract: Contract, level: ServiceLevel) -> MeasureSpec:
    """The :class:`MeasureSpec` of ``level`` in ``contract``."""
    return MeasureSpec(
        source=level.source, metric=level.metric, where=_frozen(level.where), by=level.by,
        options=_frozen(level.options), inputs=_frozen(level.inputs), pause=level.pause,
        calendar=level.calendar, period_by=level.period_by, as_of=level.as_of,
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
    :mod:`slaengine.credits.terms`). ``clocks`` are the contract's own clocks
    (``[clocks.NAME]``), measured by service levels that name them as their metric.
    ``version`` names this version of the contract; ``effective_from`` is the first day of the
    first period it governs: the window starts there, the periods before it are left to the
    version before.
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
    clocks: dict[str, ClockDefinition] = field(default_factory=dict)
    version: str | None = None
    effective_from: date | None = None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    def service_level(self, id: str) -> ServiceLevel:
        for level in self.service_levels:
            if level.id == id:
                return level
        raise KeyError(id)
