"""``nps``: Net Promoter Score from 0–10 "would you recommend us" answers."""

from __future__ import annotations

from slaengine import hookimpl
from slaengine.bits import float_array, float_values, one_array
from slaengine.lazy import np, pa
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
        score = one_array(table["nps"])
        answers = float_values(score)  # NaN where nobody answered
        # +100 for a promoter (9-10), -100 for a detractor (0-6), 0 for a passive (7-8); in
        # numpy, then missing exactly where the answer is (Arrow's if_else costs several times
        # more on a column that is mostly missing)
        points = (answers >= 9).astype(np.float64)
        points -= answers <= 6
        points *= 100.0
        return float_array(points, score)


@hookimpl
def register_metrics() -> list[Metric]:
    return [NetPromoterScore()]
