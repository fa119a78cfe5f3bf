"""``ces``: customer effort score, a 1–7 survey answer (lower is better)."""

from __future__ import annotations

from slaengine import hookimpl
from slaengine.lazy import pa, pc
from slaengine.plugin import MeasureContext, Metric


class CustomerEffortScore(Metric):
    """Customer effort score per answer, 1 (very low effort) to 7 (very high effort).

    Formula: the mean of the answers (default statistic ``mean``); ``share`` is the share of
    "low effort" answers, 1 or 2. Unit: score. Direction: lower is better (a share of low-effort
    answers is read the other way: write ``"share >= 70%"``). Fields: ``ces`` on tickets or on a
    survey source (``kind = "surveys"``). Records without an answer are left out.

    Example::

        [[service_levels]]
        id = "effort"
        source = "surveys"
        metric = "ces"
        target = "mean <= 3"
    """

    name = "ces"
    requires = ("ces",)
    unit = "score"
    better = "lower"
    default_statistic = "mean"
    kinds = ("tickets", "surveys")
    formula = "mean of 1–7 effort answers; share = answers 1–2 (low effort) ÷ answers"

    def measure(self, table: pa.Table, context: MeasureContext) -> pa.Array:
        return table["ces"]

    def success(self, values: pa.Array) -> pa.Array:
        """Low effort: an answer of 1 or 2."""
        return pc.less_equal(values, 2)


@hookimpl
def register_metrics() -> list[Metric]:
    return [CustomerEffortScore()]
