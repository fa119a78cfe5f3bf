"""``sla_attainment``: share of tickets within their priority's response or resolution limit."""

from __future__ import annotations

from typing import Any, ClassVar

from slaengine import hookimpl
from slaengine.bits import one_array, present_where
from slaengine.lazy import pa, pc
from slaengine.plugin import MeasureContext, Metric
from slaengine.targets import TargetError, parse_duration

DEFAULT_WITHIN = {"urgent": "1h", "high": "4h", "normal": "8h", "low": "24h"}
CLOCKS = {"first_response": "first_response_at", "resolution": "resolved_at"}


def _check_duration(field: str, value: Any, error: Any) -> None:
    try:
        parse_duration(value)
    except (TargetError, ValueError) as exc:
        error(field, f'{value!r} is not a duration such as "4h" or "30min" ({exc})')


class SlaAttainment(Metric):
    """Tickets within their priority's limit ÷ tickets: one yes/no per ticket.

    Formula: a ticket measures yes when the time from ``created_at`` to the clock's end
    (``first_response_at``, or ``resolved_at`` with ``clock = "resolution"``), on the service
    level's calendar, is at most the limit of its ``priority``. A ticket never answered (never
    resolved) is a miss. A ticket whose priority is not in the ``within`` table, or empty, has
    no value: it is left out of the share and counted as unmeasured. Unit: boolean (``share``
    gives a rate). Direction: higher is better. Fields: ``created_at``, ``first_response_at``,
    ``resolved_at`` and ``priority`` (both clock ends are read whatever the option says, so the
    source must have both columns).

    Options: ``within`` maps priorities to durations (default urgent 1h, high 4h, normal 8h,
    low 24h; a table given replaces the default whole); ``clock`` is ``"first_response"``
    (default) or ``"resolution"``.

    Example::

        [[service_levels]]
        id = "sla"
        metric = "sla_attainment"
        target = ">= 90%"
        options = { clock = "resolution", within = { urgent = "4h", high = "1d", normal = "3d" } }
    """

    name = "sla_attainment"
    requires = ("created_at", "first_response_at", "resolved_at", "priority")
    unit = "boolean"
    better = "higher"
    default_statistic = "share"
    formula = "tickets answered (or resolved) within their priority's limit ÷ tickets"
    schema: ClassVar[dict[str, Any]] = {
        "within": {
            "type": "dict", "minlength": 1,
            "keysrules": {"type": "string"},
            "valuesrules": {"type": "string", "check_with": _check_duration},
        },
        "clock": {"type": "string", "allowed": list(CLOCKS), "default": "first_response"},
    }

    def measure(self, table: pa.Table, context: MeasureContext) -> pa.Array:
        within = context.options.get("within") or DEFAULT_WITHIN
        end = CLOCKS[context.options.get("clock", "first_response")]
        names = list(within)
        limits = pa.array([float(parse_duration(within[n])) for n in names], pa.float64())
        limit = pc.take(limits, _positions(table["priority"], names))  # null: not in the table
        elapsed = context.duration(table, "created_at", end)
        inside = pc.fill_null(pc.less_equal(elapsed, limit), False)
        return present_where(one_array(inside), one_array(pc.is_valid(limit)))  # no limit: none


def _positions(values: pa.Array | pa.ChunkedArray, names: list[str]) -> pa.Array:
    """Each value's place among ``names`` (null when absent). A category column is looked up
    entry by entry in its (short) dictionary, then per record by its index: no text per
    record."""
    wanted = pa.array(names, pa.string())
    if isinstance(values, pa.ChunkedArray):
        values = values.unify_dictionaries() if pa.types.is_dictionary(values.type) else values
        chunks = [_positions(chunk, names) for chunk in values.chunks]
        return pa.concat_arrays(chunks) if chunks else pa.array([], pa.int32())
    if pa.types.is_dictionary(values.type):
        entries = pc.index_in(pc.cast(values.dictionary, pa.string()), value_set=wanted)
        return pc.take(entries, values.indices)
    return pc.index_in(pc.cast(values, pa.string()), value_set=wanted)


@hookimpl
def register_metrics() -> list[Metric]:
    return [SlaAttainment()]
