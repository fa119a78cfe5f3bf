"""The plugin types: what a source, a metric, a reporter and a penalty model must provide.

(A *record kind* — tickets, surveys, calls… — is something else: :mod:`slaengine.fields`.)
Each plugin type is a small base class with facts as class attributes and one verb. A plugin
subclasses one of them and returns an instance from the matching hook in :mod:`slaengine.hookspecs`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TextIO, TypeVar, cast

from slaengine.bits import validity
from slaengine.fields import TICKETS, RecordKind
from slaengine.inputs import source_files
from slaengine.lazy import np, pa, pc
from slaengine.periods import KeysMemo, period_keys

if TYPE_CHECKING:
    from slaengine.calendars import Calendar
    from slaengine.clocks.zendesk import Reconciliation
    from slaengine.credits.ledger import CreditLine, PeriodCap
    from slaengine.credits.money import PeriodFee
    from slaengine.credits.outcomes import PeriodOutcomes
    from slaengine.verdicts import Evaluation

Unit = Literal["duration", "boolean", "score", "points", "count", "rate", "money"]
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
    (the engine applies it anyway), never to reject rows. ``values`` maps a field with a closed
    set of values to the source's own names for them (``{"status": {"Resolved": "solved"}}``);
    ``kind`` then carries them (:meth:`RecordKind.with_aliases`), so a source that types its
    rows with :func:`slaengine.coerce.coerce` reads them as the canonical values.
    """

    name: str
    adapter: str
    path: Path
    fields: Mapping[str, str]
    options: Mapping[str, Any]
    timezone: str
    kind: RecordKind = TICKETS
    time_range: tuple[datetime | None, datetime | None] = (None, None)
    values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.values:
            object.__setattr__(self, "kind", self.kind.with_aliases(self.values))


@cache
def reject_schema() -> pa.Schema:
    """:data:`REJECT_SCHEMA`: one row per rejected input row, with its place and reason."""
    return pa.schema([("source", pa.string()), ("row", pa.int64()), ("field", pa.string()),
                      ("value", pa.string()), ("reason", pa.string())])


def __getattr__(name: str) -> Any:
    """``REJECT_SCHEMA``, made when first asked for (loading the plugin kinds imports no
    pyarrow)."""
    if name == "REJECT_SCHEMA":
        return reject_schema()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass
class SourceBatch:
    """One slice of a source: the accepted records and the rows that were rejected.

    ``records`` holds exactly the requested canonical fields, typed as in
    :mod:`slaengine.fields`. ``rejected`` follows :data:`REJECT_SCHEMA`: one row per rejected
    input row with the place it came from (``row``: the line number in a text file, the row
    index otherwise), the field and value at fault and the reason. ``duplicates`` (same schema)
    lists rows superseded by a later version of the same record (an export that repeats a
    ticket). ``read`` is the number of input rows this batch covers, so that
    ``read == len(records) + len(rejected) + len(duplicates)``. ``notes`` are counts a source
    wants in the report beside the accounting (Zendesk: ratings offered but not answered).
    ``position`` is how far the reading has come once this batch is read: bytes of the
    source's files (as stored, so compressed bytes for a compressed file), the files before
    the one being read counted whole. The progress shown on long reads comes from it; a
    source that cannot tell leaves it ``None``.
    """

    records: pa.Table
    rejected: pa.Table
    read: int
    duplicates: pa.Table = field(default_factory=lambda: reject_schema().empty_table())
    notes: dict[str, int] = field(default_factory=dict)
    position: int | None = None




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

    def columns(self, config: SourceConfig) -> list[tuple[str, str]] | None:
        """The columns the data has, as ``(name, type)`` pairs, for ``slaengine inspect``.

        Reads as little as it can (a header, a schema, a first page). ``None`` (the default)
        means the source cannot tell without reading everything.
        """
        return None

    def files(self, config: SourceConfig) -> list[Path]:
        """The files :meth:`read` reads for ``config``, each once, in reading order.

        The manifest hashes exactly these and ``verify`` compares them, so a source that reads
        files must read these and no others. The default is the one rule of
        :func:`slaengine.inputs.input_files` (a file, a folder's files, a pattern's matches);
        a source narrows it by passing ``accept`` to :func:`slaengine.inputs.source_files`.
        Raises :class:`slaengine.errors.DataError` when there is nothing to read.
        """
        return source_files(config.path, f"sources.{config.name}.path")

    def read(self, config: SourceConfig, fields: Sequence[str]) -> Iterator[SourceBatch]:
        """Yield batches holding the canonical ``fields`` (and nothing else), in order.

        Rows that cannot be used are rejected with a reason, never dropped silently. A problem
        that makes the whole source unusable (missing file, missing column) raises
        :class:`slaengine.errors.DataError` naming the file and what was expected.
        """
        raise NotImplementedError


# --------------------------------------------------------------------------- metrics


NO_PERIOD = 2**63 - 1  # the largest int64
"""The key :meth:`MeasureContext.period_keys` gives a missing instant by default: after every
period (a ticket never resolved is still open at the end of every period)."""


@dataclass
class MeasureContext:
    """What a metric may need besides the records: the service level's clock and options.

    ``calendar`` counts time (24x7 unless the service level names a calendar); ``pause`` lists
    the clock pauses the service level switches on (``"on_hold"``: subtract
    ``on_hold_seconds``). Duration metrics call :meth:`duration`, which applies both and keeps
    the paused seconds per record in ``paused`` so the report can say how much was paused.
    ``as_of`` is the instant the data is evaluated as of (``--as-of``; None: the end of the
    data), up to which a :class:`DerivedMetric` counts what is still running. For a
    :class:`DerivedMetric`: ``fields_at`` says when a derived record's fields are read (its
    ``"start"`` or its ``"end"``, the level's ``as_of``); ``limit`` is the level's per-record
    target in seconds (None: its target sets none), past which a record still running is
    already a miss. ``shared`` is scratch space for work that several :class:`DerivedMetric`
    levels deriving from the same records can share: one dict per record set (or part of one),
    dropped after it; a metric keeps there, under a key of its own, what it would otherwise
    compute again (the event clocks: the ticket history, read once for every clock).
    ``memo``: the period keys of the batch being read, set by the engine for the levels that
    summarise it, so :meth:`period_keys` places each time column of a batch once.
    """

    calendar: Calendar
    timezone: str
    service_level: str = ""
    options: Mapping[str, Any] = field(default_factory=dict)
    pause: tuple[str, ...] = ()
    paused: pa.Array | None = None
    period: str = "month"
    as_of: datetime | None = None
    shared: dict[str, Any] = field(default_factory=dict)
    fields_at: str = "start"
    limit: float | None = None
    memo: KeysMemo | None = None

    def period_keys(self, timestamps: pa.Array | pa.ChunkedArray,
                    missing: int = NO_PERIOD) -> np.ndarray:
        """The contract's period of each instant, as the sortable int64 key a
        :class:`PeriodGrid` lists in ``keys`` (``202603`` for March 2026 when periods are
        months); ``missing`` where the instant is null. Keys compare in time order, so "created
        before the end of period p" is ``key <= p``."""
        memo = self.memo
        if memo is not None and (memo.period, memo.timezone) == (self.period, self.timezone):
            keys = memo.keys(timestamps)
            keys = keys.copy() if timestamps.null_count else keys
        else:
            keys = period_keys(timestamps, self.period, self.timezone)
        if timestamps.null_count:
            np.copyto(keys, missing, where=~validity(timestamps))
        return keys

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
    ``points``, ``count``, ``rate`` (a fraction 0-1) or ``money`` (an exact Decimal).
    ``better``: whether lower or higher values are good. ``default_statistic``: used when a
    target names none (``>= 85%``). ``kinds``: the record kinds the metric can read (a source
    declares its kind). ``schema``: a cerberus schema for the service level's ``options``
    table, which reaches :meth:`measure` as ``context.options``. ``formula``: one line for
    ``slaengine metrics``.

    A record whose measure cannot be computed (never answered, never resolved) gets a null.
    """

    name: ClassVar[str]
    requires: ClassVar[tuple[str, ...]] = ()
    unit: ClassVar[Unit]
    better: ClassVar[Better]
    default_statistic: ClassVar[str]
    kinds: ClassVar[tuple[str, ...]] = ("tickets",)
    schema: ClassVar[dict[str, Any]] = {}
    formula: ClassVar[str] = ""

    def required_fields(self, available: Collection[str]) -> tuple[str, ...]:
        """The fields to read, given the canonical fields the source can deliver.

        ``available`` is the source's :meth:`Source.available`, or every field of its record
        kind. The default is ``requires``; a metric with alternative inputs overrides it
        (CSAT reads ``csat`` scores, or Zendesk's good/bad ``satisfaction``).
        """
        return self.requires

    def selects(self, table: pa.Table, context: MeasureContext) -> pa.Array | None:
        """Which records the metric is about at all: a boolean per row, or None for every one.

        A record left out (false or null) is in no statistic's sample and is counted as
        excluded, as one that ``where`` leaves out; unlike a record measured as null, which an
        attainment counts as a miss. Called on the batch's records after ``where``, before
        :meth:`measure`. The default keeps every record.
        """
        return None

    def measure(self, table: pa.Table, context: MeasureContext) -> pa.Array:
        """Return one value per row of ``table`` (nulls allowed), without a per-row loop."""
        raise NotImplementedError

    def success(self, values: pa.Array) -> pa.Array:
        """Which measures count as a success for the ``share`` statistic.

        The default suits ``boolean`` metrics: the measure itself. A score metric overrides
        it (CSAT: 4 or 5 out of 5).
        """
        return pc.cast(values, pa.bool_())


class DerivedMetric(Metric):
    """A per-record metric whose records are derived from its source's records, not read.

    A ticket's history (records of kind ``events``) gives clock records: reply instances,
    update intervals, a ticket's requester wait. :meth:`derive` receives every accepted record
    of the source at once, with the fields in ``requires`` and those the service level selects
    or groups by (``where``, ``by``, agreed exclusions), and returns one row per derived record:
    its id in ``id_field``, the instant that decides its period in ``time_field``, and each of
    those other fields' value for it. The engine then narrows, measures (:meth:`measure`, on the
    derived rows), groups and counts them like the records of any per-record level; missed ids
    are the derived ids. The source's records are held whole for it, not streamed, or with
    :attr:`partition_by` handed over in parts.
    """

    id_field: ClassVar[str] = "id"
    time_field: ClassVar[str] = "started_at"
    partition_by: ClassVar[str | None] = None
    """A field of the source whose records may be derived apart: the derived records of the
    source records with one value of it depend on those records only (a ticket's clocks on its
    own events: ``ticket_id``). The engine may then hand :meth:`derive` the source in parts,
    each holding every record of some values of it, so a large source need not be in memory
    whole. None: always the whole source."""

    def derive(self, records: pa.Table, context: MeasureContext) -> pa.Table:
        """The derived records of ``records`` (the whole record set of the source, or with
        :attr:`partition_by` one part of it), measured on ``context.calendar`` up to
        ``context.as_of`` (``--as-of``, else the latest instant of the whole source, so that
        every part is measured to the same end)."""
        raise NotImplementedError

    def derive_with_spans(self, records: pa.Table,
                          context: MeasureContext) -> tuple[pa.Table, pa.Table | None]:
        """The derived records and, for a metric that can show how each was counted, its
        spans: one row per span with the record's ``id``, ``start``, ``end``, ``state``
        (``running`` or ``paused``), ``event`` (what began it) and the business ``seconds`` it
        counted (breach evidence shows them for the records that missed). None: no spans."""
        return self.derive(records, context), None

    def audit(self, records: pa.Table, derived: pa.Table, spans: pa.Table | None,
              context: MeasureContext, target: float | None) -> pa.Table | None:
        """Audit flags of the derived records (``flag``, ``ticket_id``, ``at``: the instant
        that decides the period), given the source's records, the derived ones, their spans and
        the per-record target in seconds (None when the target is not one). None: no audit."""
        return None

    def reconcile(self, derived: pa.Table, target: float | None) -> Reconciliation | None:
        """The derived records' own breach marks (a help desk's) against the contract's
        per-record target in seconds; None: the records carry none."""
        return None


@dataclass(frozen=True)
class Input:
    """One set of records a period-level metric reads: which kinds may supply it, which fields."""

    kinds: tuple[str, ...]
    fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class PeriodGrid:
    """The periods being evaluated: sorted keys, labels and their UTC bounds ``[start, end)``.

    ``starts`` and ``ends`` are int64 microseconds since the epoch (UTC), so a metric can compare
    them with timestamp columns cast to int64.
    """

    keys: np.ndarray
    labels: tuple[str, ...]
    starts: np.ndarray
    ends: np.ndarray

    def __len__(self) -> int:
        return len(self.keys)

    def index(self, timestamps: pa.Array | pa.ChunkedArray) -> np.ndarray:
        """The position of each timestamp's period in the grid; -1 outside it or null."""
        never = np.iinfo(np.int64).max
        micros = pc.fill_null(pc.cast(timestamps, pa.int64()), never)
        micros = np.asarray(micros.to_numpy(zero_copy_only=False), dtype=np.int64)
        # In place where it can be: this runs over whole record sets.
        position = np.searchsorted(self.starts, micros, side="right").astype(np.int64)
        position -= 1
        outside = position < 0
        np.clip(position, 0, None, out=position)
        outside |= micros >= self.ends[position]
        del micros
        position[outside] = -1
        return position


@dataclass
class PeriodFigures:
    """What a period-level metric computes: one value per period of the grid and its sample.

    ``value`` items are floats, exact Decimals (money) or None (no figure: nothing to divide
    by); ``sample_size`` is the number of records behind each figure (the tickets open, the
    contacts, the customers at the start), compared with ``min_sample``.
    """

    value: list[float | Decimal | None]
    sample_size: np.ndarray


class PeriodMetric(Metric):
    """A figure per period computed from whole sets of records, not one measure per record.

    Backlog at the end of the period, cost per contact, retention: each period gets one value,
    compared with the target as the statistic ``value`` (``target = "<= 200"``). ``inputs``
    names the record sets the metric reads; the first comes from the service level's
    ``source``, the others from its ``inputs`` table or, when the contract has exactly one
    source of a fitting kind, from that source.

    Two ways to compute the figures:

    - :meth:`aggregate` sees every record set whole (the engine keeps them in memory);
    - or, to be fed batch by batch in bounded memory, a metric names ``summary_keys`` and
      implements :meth:`summarise` (one batch of one record set to a small table: the key
      columns, int64 period keys from :meth:`MeasureContext.period_keys`, and columns to add
      up) and :meth:`figures` (the summaries, added up per key, to the figures). The engine
      then never holds the records; :meth:`aggregate` works too, on one whole batch.
    """

    default_statistic = "value"
    inputs: ClassVar[dict[str, Input]] = {}
    summary_keys: ClassVar[tuple[str, ...]] = ()
    spans: ClassVar[tuple[str, ...]] = ()
    """Time fields of the level's own records that stretch the periods evaluated: besides the
    periods of the kind's time field, every period from the first to the last in which any of
    these falls (a month in which no customer started still has customers, and churn)."""

    def aggregate(
        self, inputs: Mapping[str, pa.Table], grid: PeriodGrid, context: MeasureContext
    ) -> PeriodFigures:
        """Compute one figure per period of ``grid`` from the ``inputs`` tables (by role)."""
        if not self.summary_keys:
            raise NotImplementedError
        summaries = {role: combine_summaries([self.summarise(role, table, context)],
                                             self.summary_keys)
                     for role, table in inputs.items()}
        return self.figures(summaries, grid, context)

    def summarise(self, role: str, records: pa.Table, context: MeasureContext) -> pa.Table:
        """Streaming: one batch of the ``role`` record set, summed by ``summary_keys``."""
        raise NotImplementedError

    def figures(self, summaries: Mapping[str, pa.Table], grid: PeriodGrid,
                context: MeasureContext) -> PeriodFigures:
        """Streaming: the figures from each role's summary (every batch's, added up by key)."""
        raise NotImplementedError

    def records_behind(self, role: str, records: pa.Table, grid: PeriodGrid,
                       context: MeasureContext) -> list[np.ndarray] | None:
        """Breach evidence: per period of ``grid``, which records of the ``role`` record set
        fed its figure (a boolean mask each; a record may feed several periods, as a ticket
        open at several period ends does). None, the default: the records whose kind's time
        field falls in the period. ``grid`` holds only the periods asked about."""
        return None


def combine_summaries(parts: Sequence[pa.Table], keys: Sequence[str]) -> pa.Table:
    """Summary tables of several batches as one: rows with equal ``keys`` added up (every
    other column is summed; Decimal sums stay exact)."""
    whole = pa.concat_tables(parts)
    values = [c for c in whole.column_names if c not in keys]
    summed = whole.group_by(list(keys)).aggregate([(c, "sum") for c in values])
    return summed.rename_columns([c[:-4] if c.endswith("_sum") and c[:-4] in values else c
                                  for c in summed.column_names]).select([*keys, *values])


def count_by(columns: Mapping[str, np.ndarray | pa.Array]) -> pa.Table:
    """How many records share each combination of the key ``columns``: a summary table with
    the keys and ``n``."""
    table = pa.table(dict(columns))
    counted = table.group_by(list(columns)).aggregate([([], "count_all")])
    return counted.rename_columns(["n" if c == "count_all" else c
                                   for c in counted.column_names]).select([*columns, "n"])


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


OptionsT = TypeVar("OptionsT")


class PenaltyModel(Generic[OptionsT]):
    """Turns one period's outcomes into service credits, chosen with ``[penalties] model =
    "NAME"``.

    ``schema`` is a cerberus schema for the model's own keys in ``[penalties]``; ``level_keys``
    names those whose table keys or list items are service-level ids (checked against the
    contract). :meth:`parse` reads the checked keys once, when the contract is read, into the
    model's own options (``OptionsT``, best a frozen dataclass); :meth:`assess` is then given
    each period's outcomes with those options, and cannot meet a problem of the contract.
    """

    name: ClassVar[str]
    schema: ClassVar[dict[str, Any]] = {}
    level_keys: ClassVar[tuple[str, ...]] = ()

    def parse(self, options: Mapping[str, Any], fee: PeriodFee) -> OptionsT:
        """The model's own keys of the checked ``[penalties]`` table (the whole table, common
        keys included), parsed. Raise :class:`slaengine.credits.terms.TermsProblem` at a key
        for a problem the schema cannot see, e.g. a share of the fee when the contract has no
        fee (``fee.monthly`` is None; see :func:`slaengine.credits.terms.needs_fee`). By
        default the options are the table itself, as a dict."""
        return cast(OptionsT, dict(options))

    def assess(self, period: PeriodOutcomes[OptionsT]) -> Sequence[CreditLine | PeriodCap]:
        """The base credit lines of one period (amounts >= 0, one per failed service level
        that costs), and any cap the model puts on the period, every step in the notes."""
        raise NotImplementedError
