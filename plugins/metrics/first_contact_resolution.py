"""``first_contact_resolution``: share of resolved tickets resolved with one contact."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from slaengine import hookimpl
from slaengine.kinds import MeasureContext, Metric


class FirstContactResolution(Metric):
    """Resolved with one contact ÷ resolved (FCR).

    Example: ``target = ">= 85%"``. Each resolved ticket measures yes (``contacts`` is 1) or
    no; an unresolved ticket, or one whose contact count is unknown, has no value and is left
    out of the share.
    """

    name = "first_contact_resolution"
    requires = ("resolved_at", "contacts")
    unit = "boolean"
    better = "higher"
    default_statistic = "share"
    formula = "resolved with one contact ÷ resolved"

    def measure(self, table: pa.Table, context: MeasureContext) -> pa.Array:
        one_contact = pc.equal(table["contacts"], 1)
        resolved = pc.is_valid(table["resolved_at"])
        return pc.if_else(resolved, one_contact, pa.scalar(None, pa.bool_()))


@hookimpl
def register_metrics() -> list[Metric]:
    return [FirstContactResolution()]
