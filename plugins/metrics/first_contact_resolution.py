"""``first_contact_resolution``: share of cases resolved on the first contact."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, ClassVar

from slaengine import hookimpl
from slaengine.bits import one_array, present_where
from slaengine.lazy import pa, pc
from slaengine.plugin import MeasureContext, Metric

OF = ("all", "resolved")


class FirstContactResolution(Metric):
    """Cases resolved on the first contact ÷ cases (FCR).

    Definition (reference article 001, section First Call Resolution Rate): the cases resolved
    on the first call divided by all cases (its January: 70%). A case is a ticket of the
    period (``created_at``); it measures yes when it is resolved (``resolved_at``), took one
    contact (``contacts`` is 1) and was never reopened (``reopens`` is 0: a reopened ticket was
    not resolved on its first contact). An unresolved ticket measures no: it stays in the
    denominator. A resolved ticket whose contact count (or reopen count) is unknown has no
    value: it is left out of the share and counted as unmeasured. ``reopens`` is read when the
    source has it; without it, contacts alone decide.

    Option ``of``: ``"all"`` (default, every case of the period) or ``"resolved"`` (only
    resolved tickets in the denominator, for contracts that define FCR that way; a reopened
    ticket still does not count as resolved on first contact).

    Example::

        [[service_levels]]
        id = "fcr"
        metric = "first_contact_resolution"
        target = ">= 85%"
        options = { of = "resolved" }
    """

    name = "first_contact_resolution"
    requires = ("resolved_at", "contacts")
    unit = "boolean"
    better = "higher"
    default_statistic = "share"
    formula = "resolved on the first contact, never reopened ÷ cases (or ÷ resolved)"
    schema: ClassVar[dict[str, Any]] = {
        "of": {"type": "string", "allowed": list(OF), "default": "all"},
    }

    def required_fields(self, available: Collection[str]) -> tuple[str, ...]:
        return (*self.requires, "reopens") if "reopens" in available else self.requires

    def measure(self, table: pa.Table, context: MeasureContext) -> pa.Array:
        first = pc.equal(table["contacts"], 1)
        if "reopens" in table.column_names:
            first = pc.and_kleene(first, pc.equal(table["reopens"], 0))
        resolved = pc.is_valid(table["resolved_at"])
        if context.options.get("of", "all") == "resolved":  # unresolved: no measure
            return present_where(one_array(first), one_array(resolved))
        return pc.and_kleene(resolved, first)  # unresolved: no, whatever else is unknown


@hookimpl
def register_metrics() -> list[Metric]:
    return [FirstContactResolution()]
