"""A contract's own clocks (``[clocks.NAME]``), measured as metrics named after the clock."""

from __future__ import annotations

from collections.abc import Collection

from slaengine import hookimpl
from slaengine.clocks import ClockTables
from slaengine.clocks.custom import ClockDefinition, discarded_cycles, measure_custom
from slaengine.clocks.history import COLUMNS
from slaengine.errors import DataError
from slaengine.lazy import pa
from slaengine.plugin import MeasureContext, Metric
from slaengine.plugins.metrics._clock import (
    ClockMetric,
    clock_history,
    history_flags,
    is_metric_events,
)


class CustomClock(ClockMetric):
    """Business seconds of a contract's own clock, per record of its ``cycles``.

    Everything but the measuring is the built-in clocks' (:class:`ClockMetric`): calendar,
    ``--as-of``, ``where`` and ``by`` as they stood at the record's first event, the period
    of the record's start, spans for evidence, audit flags. The audit flags also count the
    cycles the clock's ``reset`` and ``cancel`` conditions discarded (``cycle_reset``,
    ``cycle_cancelled``), so no cycle is lost unseen. It reads a ticket's history only.
    """

    kinds = ("events",)

    def __init__(self, name: str, definition: ClockDefinition) -> None:
        self.name = self.clock = name
        self.definition = definition
        self.formula = definition.description or definition.summary()
        self.default_statistic = "p90"

    def required_fields(self, available: Collection[str]) -> tuple[str, ...]:
        return COLUMNS

    def derive_with_spans(self, records: pa.Table,
                          context: MeasureContext) -> tuple[pa.Table, pa.Table | None]:
        if is_metric_events(records.column_names):
            raise DataError(f'the clock "{self.name}" reads a ticket\'s history (at, event, '
                            "status, author, public); this source holds Zendesk's metric events")
        return super().derive_with_spans(records, context)

    def measure_clock(self, records: pa.Table, context: MeasureContext) -> ClockTables:
        return measure_custom(records, self.definition, context.calendar, context.as_of,
                              clock_history(records, context))[0]

    def audit(self, records: pa.Table, derived: pa.Table, spans: pa.Table | None,
              context: MeasureContext, target: float | None) -> pa.Table | None:
        """The built-in clocks' flags and the discarded cycles."""
        found = super().audit(records, derived, spans, context, target)
        discarded = history_flags(
            discarded_cycles(records, self.definition, context.as_of,
                             clock_history(records, context)), records, derived, context)
        return discarded if found is None else pa.concat_tables([found, discarded])


@hookimpl
def define_clock(name: str, definition: ClockDefinition) -> Metric:
    return CustomClock(name, definition)
