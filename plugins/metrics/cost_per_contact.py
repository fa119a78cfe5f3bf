"""``cost_per_contact``: total support cost ÷ contacts handled (or offered), per period."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar

from slaengine import hookimpl
from slaengine.lazy import np, pa, pc
from slaengine.plugin import Input, MeasureContext, Metric, PeriodFigures, PeriodGrid, PeriodMetric
from slaengine.plugins.metrics._period import counts, money_sums, quantize, time_field

CONTACT_KINDS = ("tickets", "calls")


PER = ("handled", "offered")
HANDLED_BY = ("answered_at", "first_response_at", "resolved_at")
"""A call is handled when answered; a ticket when an agent replied to it or resolved it."""


def handled(contacts: pa.Table) -> np.ndarray:
    """Which contacts were handled: any of :data:`HANDLED_BY` the records carry is set."""
    done = np.zeros(contacts.num_rows, dtype=bool)
    for name in HANDLED_BY:
        if name in contacts.column_names:
            done |= np.asarray(pc.is_valid(contacts[name]).to_numpy(zero_copy_only=False),
                               dtype=bool)
    return done


class CostPerContact(PeriodMetric):
    """Σ cost in the period ÷ contacts handled in the period, in the contract's currency.

    Definition (reference article 001, section Cost per Contact): the total support cost
    divided by the number of contacts, the cost of each customer interaction. An
    interaction is a contact the team handled: a call answered (``answered_at``), a ticket
    replied to or resolved (``first_response_at`` or ``resolved_at``). An abandoned call cost
    nothing to handle. Option ``per = "offered"`` divides by every contact received instead
    (abandoned calls and untouched tickets too), for contracts that say so.

    Formula: Σ ``amount`` of the cost lines incurred in the period (``incurred_at``) ÷ the
    number of contacts created in the period (tickets by ``created_at``, calls by
    ``started_at``) that were handled (or all of them). Computed in exact decimals and
    quantized to 4 decimal places with ROUND_HALF_UP. The sample size is that number of
    contacts; a period without any has no figure. Unit: money. Direction: lower is better.
    Inputs: ``contacts`` (the service level's ``source``: tickets or calls, which must have
    ``answered_at``, or ``first_response_at`` and ``resolved_at``) and ``costs`` (a costs
    source: ``incurred_at``, ``amount``; named in ``inputs`` or the contract's only costs
    source). ``where`` narrows each input that has the field (a queue on calls, a category on
    costs). A period-level metric: the target has no statistic.

    Example::

        [[service_levels]]
        id = "cost-per-contact"
        source = "calls"
        metric = "cost_per_contact"
        inputs = { costs = "costs" }
        target = "<= 6.50"
        options = { per = "offered" }
    """

    name = "cost_per_contact"
    unit = "money"
    better = "lower"
    formula = "Σ cost amount in the period ÷ contacts handled (or offered) in the period"
    schema: ClassVar[dict[str, Any]] = {
        "per": {"type": "string", "allowed": list(PER), "default": "handled"},
    }
    inputs: ClassVar[dict[str, Input]] = {
        "contacts": Input(CONTACT_KINDS, HANDLED_BY),
        "costs": Input(("costs",), ("incurred_at", "amount")),
    }

    def aggregate(
        self, inputs: Mapping[str, pa.Table], grid: PeriodGrid, context: MeasureContext
    ) -> PeriodFigures:
        contacts = inputs["contacts"]
        mask = None if context.options.get("per", "handled") == "offered" else handled(contacts)
        made = counts(grid.index(contacts[time_field(contacts, CONTACT_KINDS)]), grid, mask)
        costs = inputs["costs"]
        spent = money_sums(costs["amount"], grid.index(costs["incurred_at"]), grid)
        value: list[float | Decimal | None] = [
            quantize(total / n) if n > 0 else None for total, n in zip(spent, made, strict=True)
        ]
        return PeriodFigures(value=value, sample_size=made)

    def records_behind(self, role: str, records: pa.Table, grid: PeriodGrid,
                       context: MeasureContext) -> list[np.ndarray] | None:
        """The cost lines of the period; the contacts of the period divided by (handled, or
        all of them)."""
        if role != "contacts":
            return None
        index = grid.index(records[time_field(records, CONTACT_KINDS)])
        if context.options.get("per", "handled") != "offered":
            index = np.where(handled(records), index, -1)
        return [index == p for p in range(len(grid))]


@hookimpl
def register_metrics() -> list[Metric]:
    return [CostPerContact()]
