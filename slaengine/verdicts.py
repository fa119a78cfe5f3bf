"""What an evaluation produces: verdicts with their evidence, row accounting and a manifest.

The types only: their JSON shape and their text for people are :mod:`slaengine.present`'s.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Literal

from slaengine.lazy import pa
from slaengine.plugin import reject_schema

if TYPE_CHECKING:
    from slaengine.clocks.zendesk import Reconciliation
    from slaengine.contract import Contract
    from slaengine.credits.ledger import CreditSchedule

class Ids(Sequence[str]):
    """Record ids a result names (the records that missed), kept as one Arrow text array.

    A verdict may name a thousand ids and an evaluation hundreds of verdicts: the ids stay in
    Arrow until they are shown, so the JSON report writes them from the array
    (:func:`slaengine.present.report_json`) without a Python string per id. Everything else
    reads them as the sequence of strings they are: iterating, indexing, ``len`` and comparing
    with a tuple of strings (``verdict.missed == ("T-1", "T-2")``) work as for a tuple.
    """

    __slots__ = ("_items", "array")

    def __init__(self, array: pa.Array) -> None:
        self.array: pa.Array = array
        self._items: tuple[str, ...] | None = None

    def items(self) -> tuple[str, ...]:
        """The ids as Python strings (made once, on first use)."""
        if self._items is None:
            self._items = tuple(self.array.to_pylist())
        return self._items

    def __len__(self) -> int:
        return len(self.array)

    def __getitem__(self, index):  # type: ignore[override]  # int -> str, slice -> tuple
        return self.items()[index]

    def __iter__(self) -> Iterator[str]:
        return iter(self.items())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Ids):
            return self.items() == other.items()
        if isinstance(other, tuple):
            return self.items() == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.items())

    def __repr__(self) -> str:
        return repr(self.items())

    def __reduce__(self) -> tuple:
        return (Ids, (self.array,))


Status = Literal["met", "breached", "critical", "insufficient_data"]
STATUSES: tuple[Status, ...] = ("met", "breached", "critical", "insufficient_data")


@dataclass(frozen=True)
class Verdict:
    """One service level in one period and segment.

    ``value`` is in base units: seconds for durations, a fraction 0-1 for rates, the plain
    number otherwise (``unit`` says which). ``sample_size`` is the number of records the
    statistic covers (for an attainment target every record, measured or not; otherwise the
    measured ones); ``unmeasured`` the records whose measure is null (never answered, never
    resolved, no survey answer); ``excluded`` the records of the period that ``where`` left out.
    ``compliance`` is achieved ÷ target in the good direction, capped at 1, as an exact Fraction
    (72 of 100 against ``>= 80%`` is exactly 9/10: it decides credit bands); ``hits`` the
    records that counted as achieved for a share or attainment (the exact figure is ``hits /
    sample_size``), None for other statistics; ``margin`` is the
    distance to the target on the good side (negative: missed by that much). ``missed`` holds the
    ids of the records that missed a per-record target (attainment, share, percentiles), at most
    :data:`MISSED_LIMIT` of them, as text (a tuple of strings, or :class:`Ids` from the engine);
    ``missed_count`` is the full number. ``paused`` is the total of seconds the clock stood still
    (``pause``), None when no pause applies. Money values are
    exact Decimals. ``outlook`` is set for the running period of an ``--as-of`` evaluation
    (see :mod:`slaengine.outlook`); ``provisional`` marks a verdict of a period not over at the
    ``--as-of`` instant (its figure may still change). ``note`` says why a verdict is not what
    its numbers alone would give (a period in which the level's calendar is never open).
    """

    service_level: str
    metric: str
    period: str
    segment: dict[str, str]
    statistic: str
    value: float | Decimal | None
    unit: str
    target: str
    minimum: str | None
    status: Status
    compliance: Fraction | None
    margin: float | None
    sample_size: int
    unmeasured: int
    excluded: int
    missed_count: int = 0
    missed: Sequence[str] = ()
    paused: float | None = None
    outlook: dict[str, Any] | None = None
    note: str | None = None
    provisional: bool = False
    hits: int | None = None


MISSED_LIMIT = 1000

FAILED: tuple[Status, ...] = ("breached", "critical")
"""The statuses of a failed verdict (those breach evidence is written for)."""


@dataclass(frozen=True)
class Concentration:
    """How concentrated the miss of a mean or order-statistic target is: ``value`` is the
    figure the verdict would have without its ``left_out`` worst measures (the worst 1% of its
    sample, at least one); None when nothing would be left."""

    left_out: int
    value: float | None


def verdict_key(verdict: Verdict) -> tuple[str, str, tuple]:
    """A verdict's place: service level, period and segment (values in ``by`` order)."""
    return (verdict.service_level, verdict.period, tuple(verdict.segment.items()))


@dataclass
class SourceAccount:
    """Every row a source read, accounted for: ``read == accepted + rejected + duplicates``.

    ``rejected_by_reason`` counts rejected rows by reason (the offending values left out);
    ``duplicates`` are rows superseded by a later version of the same record. With
    ``--as-of``, ``after_as_of`` of the accepted records lie after that instant and were left out.
    """

    source: str
    adapter: str
    path: str
    read: int = 0
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    after_as_of: int = 0
    notes: dict[str, int] = field(default_factory=dict)

    @property
    def reconciles(self) -> bool:
        return self.read == self.accepted + self.rejected + self.duplicates


@dataclass(frozen=True)
class AuditFlag:
    """A pattern in one period that may show a clock stopped without serving the customer
    (:mod:`slaengine.clocks.audit`): a flag, not a verdict. ``count`` is how many times it was
    seen; ``tickets`` the tickets it was seen on, in order, at most :data:`MISSED_LIMIT`;
    ``segment`` the values of the level's ``by`` fields it was counted under (empty without
    ``by``). Only flags of the level's selection (its ``where``) are counted."""

    flag: str
    period: str
    count: int
    tickets: tuple[str, ...] = ()
    segment: dict[str, str | None] = field(default_factory=dict)


@dataclass
class LevelAccount:
    """How a service level used its source's accepted records:
    ``accepted == included + excluded + outside_window`` (``excluded``: left out by ``where``
    or by an agreed exclusion — ``agreed`` counts the latter by reason; ``outside_window``: in
    periods outside the contract's ``start``..``end``). With ``period_by``, ``without_period``
    records have no time in that field yet (unresolved) and belong to no period: counted apart,
    so ``accepted == included + excluded + outside_window + without_period``. ``audit``: for a
    clock level, the audit flags per period (periods of the window only). ``reconciliation``:
    for a clock level measured on Zendesk's metric events, Zendesk's breaches of the window's
    records against the contract's."""

    service_level: str
    source: str
    accepted: int
    included: int
    excluded: int
    outside_window: int = 0
    agreed: dict[str, int] = field(default_factory=dict)
    without_period: int = 0
    audit: tuple[AuditFlag, ...] = ()
    reconciliation: Reconciliation | None = None


@dataclass
class Evaluation:
    """The result of evaluating a contract: what reporters render and ``verify`` re-checks.

    ``evidence``: per service level, the records behind its failed verdicts (with
    ``--evidence``); ``intervals``: per clock level among them, the running and paused spans
    of those records (columns ``id``, ``start``, ``end``, ``state``, ``event``, ``seconds``);
    ``audit``: per clock level with ``--evidence``, every audit flag of the window (columns
    ``flag``, ``period``, ``segment``, ``ticket_id``, ``at``, ``record``).
    """

    contract: Contract
    verdicts: list[Verdict]
    sources: dict[str, SourceAccount]
    levels: dict[str, LevelAccount]
    manifest: dict[str, Any]
    rejected: pa.Table = field(default_factory=lambda: reject_schema().empty_table())
    evidence: dict[str, pa.Table] = field(default_factory=dict)
    intervals: dict[str, pa.Table] = field(default_factory=dict)
    audit: dict[str, pa.Table] = field(default_factory=dict)
    concentration: dict[tuple[str, str, tuple], Concentration] = field(default_factory=dict)
    credits: CreditSchedule | None = None

    def verdict(self, service_level: str, period: str, **segment: str) -> Verdict:
        """The verdict of ``service_level`` in ``period`` (and segment, if the level has one)."""
        for verdict in self.verdicts:
            if (verdict.service_level, verdict.period, verdict.segment) == (
                service_level, period, segment
            ):
                return verdict
        raise KeyError(f"no verdict for {service_level} in {period} {segment or ''}".strip())

    def count(self, status: Status) -> int:
        return sum(1 for v in self.verdicts if v.status == status)

    @property
    def periods(self) -> list[str]:
        return sorted({v.period for v in self.verdicts})
