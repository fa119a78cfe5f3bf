"""``contacts_handled``: the number of contacts (tickets or calls) handled."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from slaengine import hookimpl
from slaengine.kinds import MeasureContext, Metric


class ContactsHandled(Metric):
    """Contacts handled in the period: each ticket or call counts 1.

    Formula: the number of records (default statistic ``count``), usually per agent with
    ``by = ["agent"]``. Unit: count. Direction: higher is better (a productivity floor).
    Fields: none beyond the record's id and time; reads tickets or calls. A record without an
    agent forms its own segment.

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
    formula = "number of tickets or calls (1 per record)"

    def measure(self, table: pa.Table, context: MeasureContext) -> pa.Array:
        return pa.array(np.ones(table.num_rows, dtype=np.float64))


@hookimpl
def register_metrics() -> list[Metric]:
    return [ContactsHandled()]
