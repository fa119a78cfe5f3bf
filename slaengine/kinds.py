"""The plugin kinds: what a source, a metric, a reporter and a penalty model must provide.

Each kind is a small base class with facts as class attributes and one verb. A plugin subclasses
one of them and returns an instance from the matching hook in :mod:`slaengine.hookspecs`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TextIO

import pyarrow as pa
import pyarrow.compute as pc

from slaengine.fields import TICKETS, RecordKind

if TYPE_CHECKING:
    from slaengine.calendars import Calendar
    from slaengine.verdicts import Evaluation

Unit = Literal["duration", "boolean", "score", "points", "count"]
Better = Literal["lower", "higher"]


# --------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class SourceConfig:
    """One ``[sources.NAME]`` table of a contract, as a source plugin receives it.

    ``path`` is already resolved against the contract's folder. ``fields`` maps canonical field
    names to the source's own column names (an absent field keeps its canonical name).
    ``options`` holds the plugin's own keys, validated by its ``schema``. Timestamps without an
    offset are read in ``timezone``. ``time_range`` is the evaluated window ``[start, end)`` of
    the kind's time field in UTC (``None``: open); a source may use it to skip data early
    (the engine applies it anyway), never to reject rows.
    """

    name: str
    adapter: str
    path: Path
    fields: Mapping[str, str]
    options: Mapping[str, Any]
    timezone: str
    kind: RecordKind = TICKETS
    time_range: tuple[datetime | None, datetime | None] = (None, None)


REJECT_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("row", pa.int64()),
        ("field", pa.string()),
        ("value", pa.string()),
        ("reason", pa.string()),
    ]
)


@dataclass
class SourceBatch:
    """One slice of a source: the accepted records and the rows that were rejected.

    ``records`` holds exactly the requested canonical fields, typed as in
    :mod:`slaengine.fields`. ``rejected`` follows :data:`REJECT_SCHEMA`: one row per rejected
    input row with the place it came from (``row``: the line number in a text file, the row
    index otherwise), the field and value at fault and the reason. ``duplicates`` (same schema)
    lists rows superseded by a later version of the same record (an export that repeats a
    ticket). ``read`` is the number of input rows this batch covers, so that
    ``read == len(records) + len(rejected) + len(duplicates)``.
    """

    records: pa.Table
    rejected: pa.Table
    read: int
    duplicates: pa.Table = field(default_factory=lambda: REJECT_SCHEMA.empty_table())




class Source:
    """Reads records for one ``[sources.NAME]`` table whose ``adapter`` is this source's name.

    Subclasses set ``name`` and ``schema`` (a cerberus schema for the plugin's own contract
    keys, beyond ``adapter``, ``path`` and ``fields``) and implement :meth:`read`.
    """

    name: ClassVar[str]
    schema: ClassVar[dict[str, Any]] = {}

    def available(self, config: SourceConfig) -> Collection[str] | None:
        """The canonical fields this source can deliver for ``config``.

        ``None`` (the default) means any field of the kind, found through ``fields`` or under its
        own name. A source with a fixed shape (a help-desk export) returns its set, which lets a
        metric choose between alternative fields (CSAT as a 1-5 score or as good/bad).
        """
        return None

    def read(self, config: SourceConfig, fields: Sequence[str]) -> Iterator[SourceBatch]:
        """Yield batches holding the canonical ``fields`` (and nothing else), in order.

        Rows that cannot be used are rejected with a reason, never dropped silently. A problem
        that makes the whole source unusable (missing file, missing column) raises
        :class:`slaengine.errors.DataError` naming the file and what was expected.
        """
        raise NotImplementedError


# --------------------------------------------------------------------------- metrics


@dataclass
class MeasureContext:
    """What a metric may need besides the records: the service level's clock and options.

    ``calendar`` counts time (24x7 unless the service level names a calendar); ``pause`` lists
    the clock pauses the service level switches on (``"on_hold"``: subtract
    ``on_hold_seconds``). Duration metrics call :meth:`duration`, which applies both and keeps
    the paused seconds per record in ``paused`` so the report can say how much was paused.
    """

    calendar: Calendar
    timezone: str
    service_level: str = ""
    options: Mapping[str, Any] = field(default_factory=dict)
    pause: tuple[str, ...] = ()
    paused: pa.Array | None = None

    def duration(self, table: pa.Table, start: str, end: str) -> pa.Array:
        """Seconds from ``start`` to ``end`` per record on this clock; null if either is null.

        With ``pause = ["on_hold"]`` the record's ``on_hold_seconds`` are subtracted (a
        missing value subtracts nothing), never below zero.
        """
        elapsed = self.calendar.elapsed(table[start], table[end])
        if "on_hold" not in self.pause:
            return elapsed
        hold = pc.fill_null(table["on_hold_seconds"], 0.0)
        hold = pc.if_else(pc.is_valid(elapsed), pc.min_element_wise(hold, elapsed), None)
        self.paused = hold.combine_chunks() if isinstance(hold, pa.ChunkedArray) else hold
        return pc.subtract(elapsed, hold)


PAUSE_FIELDS = {"on_hold": "on_hold_seconds"}


class Metric:
    """Turns records into one measure per record.

    ``requires``: canonical fields the metric reads. ``unit``: what one measure is —
    ``duration`` (seconds), ``boolean`` (a yes/no outcome), ``score`` (a survey answer),
    ``points`` or ``count``. ``better``: whether lower or higher values are good.
    ``default_statistic``: used when a target names none (``>= 85%``).

    A record whose measure cannot be computed (never answered, never resolved) gets a null.
    """

    name: ClassVar[str]
    requires: ClassVar[tuple[str, ...]] = ()
    unit: ClassVar[Unit]
    better: ClassVar[Better]
    default_statistic: ClassVar[str]
    kind: ClassVar[RecordKind] = TICKETS

    def required_fields(self, available: Collection[str] | None) -> tuple[str, ...]:
        """The fields to read, given what the source can deliver (``None``: anything).

        The default is ``requires``; a metric with alternative inputs overrides it.
        """
        return self.requires

    def measure(self, table: pa.Table, context: MeasureContext) -> pa.Array:
        """Return one value per row of ``table`` (nulls allowed), without a per-row loop."""
        raise NotImplementedError

    def success(self, values: pa.Array) -> pa.Array:
        """Which measures count as a success for the ``share`` statistic.

        The default suits ``boolean`` metrics: the measure itself. A score metric overrides
        it (CSAT: 4 or 5 out of 5).
        """
        return pc.cast(values, pa.bool_())


# --------------------------------------------------------------------------- reporters


class Reporter:
    """Writes an evaluation in one format, chosen with ``--format NAME``.

    ``suffix`` is the file extension the format usually has (used to guess the format from
    ``--output``).
    """

    name: ClassVar[str]
    suffix: ClassVar[str] = ""

    def write(self, evaluation: Evaluation, stream: TextIO) -> None:
        """Write the whole evaluation to ``stream`` (a terminal, a file or a buffer)."""
        raise NotImplementedError


# --------------------------------------------------------------------------- penalty models


class PenaltyModel:
    """Turns verdicts into service credits, chosen with ``[penalties] model = "NAME"``.

    ``schema`` is a cerberus schema for the model's own keys in ``[penalties]``.
    """

    name: ClassVar[str]
    schema: ClassVar[dict[str, Any]] = {}

    def assess(self, evaluation: Evaluation, options: Mapping[str, Any]) -> list[Any]:
        """Return the credits the evaluation's verdicts trigger, every step shown."""
        raise NotImplementedError
