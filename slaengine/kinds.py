"""The plugin kinds: what a source, a metric, a reporter and a penalty model must provide.

Each kind is a small base class with facts as class attributes and one verb. A plugin subclasses
one of them and returns an instance from the matching hook in :mod:`slaengine.hookspecs`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
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
    offset are read in ``timezone``.
    """

    name: str
    adapter: str
    path: Path
    fields: Mapping[str, str]
    options: Mapping[str, Any]
    timezone: str
    kind: RecordKind = TICKETS


@dataclass
class SourceBatch:
    """One slice of a source: the accepted records and the rows that were rejected.

    ``records`` holds exactly the requested canonical fields, typed as in
    :mod:`slaengine.fields`. ``rejected`` follows :data:`REJECT_SCHEMA`: one row per rejected
    input row with the place it came from (``row``: the line number in a text file, the row
    index otherwise), the field and value at fault and the reason. ``read`` is the number of
    input rows this batch covers, so that ``read == len(records) + len(rejected)``.
    """

    records: pa.Table
    rejected: pa.Table
    read: int


REJECT_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("row", pa.int64()),
        ("field", pa.string()),
        ("value", pa.string()),
        ("reason", pa.string()),
    ]
)


class Source:
    """Reads records for one ``[sources.NAME]`` table whose ``adapter`` is this source's name.

    Subclasses set ``name`` and ``schema`` (a cerberus schema for the plugin's own contract
    keys, beyond ``adapter``, ``path`` and ``fields``) and implement :meth:`read`.
    """

    name: ClassVar[str]
    schema: ClassVar[dict[str, Any]] = {}

    def read(self, config: SourceConfig, fields: Sequence[str]) -> Iterator[SourceBatch]:
        """Yield batches holding the canonical ``fields`` (and nothing else), in order.

        Rows that cannot be used are rejected with a reason, never dropped silently. A problem
        that makes the whole source unusable (missing file, missing column) raises
        :class:`slaengine.errors.DataError` naming the file and what was expected.
        """
        raise NotImplementedError


# --------------------------------------------------------------------------- metrics


@dataclass(frozen=True)
class MeasureContext:
    """What a metric may need besides the records: the service level's calendar and options."""

    calendar: Calendar
    timezone: str
    service_level: str = ""
    options: Mapping[str, Any] = field(default_factory=dict)


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
