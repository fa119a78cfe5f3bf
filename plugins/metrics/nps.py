"""``nps``: Net Promoter Score from 0–10 "would you recommend us" answers."""

from __future__ import annotations

from slaengine import hookimpl
from slaengine.lazy import pa, pc
from slaengine.plugin import MeasureContext, Metric


class NetPromoterScore(Metric):
    """% promoters (9–10) minus % detractors (0–6), in points from -100 to 100.

    Each answer measures +100 (promoter), 0 (passive, 7–8) or -100 (detractor), so the mean of
    the measures is the NPS: 5 promoters, 3 passives and 2 detractors give (500 - 200) / 10 = 30.
    Example: ``target = ">= 30"``. Tickets or surveys without an answer are left
    out. Fields: ``nps`` on tickets or on a survey source (``kind = "surveys"``).
    """

    name = "nps"
    requires = ("nps",)
    unit = "points"
    better = "higher"
    default_statistic = "mean"
    kinds = ("tickets", "surveys")
    formula = "% promoters (9–10) − % detractors (0–6), in points"

    def measure(self, table: pa.Table, context: MeasureContext) -> pa.Array:
        score = table["nps"]
        passive_or_detractor = pc.if_else(pc.less_equal(score, 6), -100.0, 0.0)
        return pc.if_else(pc.greater_equal(score, 9), 100.0, passive_or_detractor)


@hookimpl
def register_metrics() -> list[Metric]:
    return [NetPromoterScore()]
