"""``contacts_handled``: the number of contacts (tickets or calls) handled."""

from __future__ import annotations

from collections.abc import Collection

from slaengine import hookimpl
from slaengine.lazy import np, pa
from slaengine.plugin import MeasureContext, Metric
from slaengine.plugins.metrics.cost_per_contact import HANDLED_BY, handled


class ContactsHandled(Metric):
    """Contacts handled in the period: each call answered or ticket worked counts 1.

    Definition (reference article 003, section Calls Handled): the number of calls each agent
    handled in the period, a productivity quota. A contact is handled when an agent
    took it: a call answered (``answered_at``), a ticket replied to or resolved
    (``first_response_at`` or ``resolved_at``); the fields the source has decide, and a source
    with none of them counts every record. A contact nobody handled (an abandoned call, an
    untouched ticket) is left out and counted as excluded, so with ``by = ["agent"]`` the
    abandoned calls, which have no agent, form no segment. A handled contact whose agent is
    unknown still forms its own segment: its work is counted, not lost.

    Formula: the number of handled records (default statistic ``count``), usually per agent
    with ``by = ["agent"]``. Unit: count. Direction: higher is better (a productivity floor).
    Fields: ``answered_at`` (calls) or ``first_response_at``, ``resolved_at`` (tickets), when
    the source has them.

    Example::

        [[service_levels]]
        id = "contacts-per-agent"
        source = "calls"
        metric = "contacts_handled"
        by = ["agent"]
        target = "count >= 400"
    """

    name = "contacts_handled"
    requires = ()
    unit = "count"
    better = "higher"
    default_statistic = "count"
    kinds = ("tickets", "calls")
    formula = "number of calls answered or tickets replied to or resolved (1 per record)"

    def required_fields(self, available: Collection[str]) -> tuple[str, ...]:
        return tuple(name for name in HANDLED_BY if name in available)

    def selects(self, table: pa.Table, context: MeasureContext) -> pa.Array | None:
        if not any(name in table.column_names for name in HANDLED_BY):
            return None
        return pa.array(handled(table))

    def measure(self, table: pa.Table, context: MeasureContext) -> pa.Array:
        return pa.array(np.ones(table.num_rows, dtype=np.float64))


@hookimpl
def register_metrics() -> list[Metric]:
    return [ContactsHandled()]
