"""``cost_per_contact``: total support cost ÷ contacts handled, per period."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import ClassVar

import pyarrow as pa

from slaengine import hookimpl
from slaengine.kinds import Input, MeasureContext, Metric, PeriodFigures, PeriodGrid, PeriodMetric
from slaengine.plugins.metrics._period import counts, money_sums, quantize, time_field

CONTACT_KINDS = ("tickets", "calls")


class CostPerContact(PeriodMetric):
    """Σ cost in the period ÷ contacts received in the period, in the contract's currency.

    Formula: Σ ``amount`` of the cost lines incurred in the period (``incurred_at``) ÷ the
    number of contacts created in the period (tickets by ``created_at`` or calls by
    ``started_at``). Computed in exact decimals and quantized to 4 decimal places with
    ROUND_HALF_UP (half a ten-thousandth rounds away from zero). The sample size is the number
    of contacts; a period without contacts has no figure. Unit: money. Direction: lower is
    better. Inputs: ``contacts`` (the service level's ``source``: tickets or calls) and
    ``costs`` (a costs source: ``incurred_at``, ``amount``; named in ``inputs`` or the
    contract's only costs source). ``where`` narrows each input that has the field (a queue
    on calls, a category on costs). A period-level metric: the target has no statistic.

    Example::

        [[service_levels]]
        id = "cost-per-contact"
        source = "calls"
        metric = "cost_per_contact"
        inputs = { costs = "costs" }
        target = "<= 6.50"
    """

    name = "cost_per_contact"
    unit = "money"
    better = "lower"
    formula = "Σ cost amount in the period ÷ contacts created in the period"
    inputs: ClassVar[dict[str, Input]] = {
        "contacts": Input(CONTACT_KINDS),
        "costs": Input(("costs",), ("incurred_at", "amount")),
    }

    def aggregate(
        self, inputs: Mapping[str, pa.Table], grid: PeriodGrid, context: MeasureContext
    ) -> PeriodFigures:
        contacts = inputs["contacts"]
        made = counts(grid.index(contacts[time_field(contacts, CONTACT_KINDS)]), grid)
        costs = inputs["costs"]
        spent = money_sums(costs["amount"], grid.index(costs["incurred_at"]), grid)
        value: list[float | Decimal | None] = [
            quantize(total / n) if n > 0 else None for total, n in zip(spent, made, strict=True)
        ]
        return PeriodFigures(value=value, sample_size=made)


@hookimpl
def register_metrics() -> list[Metric]:
    return [CostPerContact()]
