"""``csat``: customer satisfaction, a 1–5 survey score or Zendesk's good/bad rating."""

from __future__ import annotations

from collections.abc import Collection

from slaengine import hookimpl
from slaengine.lazy import pa, pc
from slaengine.plugin import MeasureContext, Metric

GOOD, BAD = 5.0, 1.0


class Csat(Metric):
    """Customer satisfaction score per answered survey, 1 (very unhappy) to 5 (very happy).

    Formula: the mean of the answers (default statistic ``mean``); ``share`` is the share of
    satisfied answers, 4 or 5. Unit: score. Direction: higher is better. Fields: ``csat`` on
    tickets or on a survey source (``kind = "surveys"``); records without an answer are left
    out.

    Zendesk's good/bad rating: when the source cannot deliver ``csat`` but has
    ``satisfaction`` (good, bad, offered, unoffered), the rating is read instead: good counts
    as 5, bad as 1, offered and unoffered (no answer) as no value. ``share`` is then
    good ÷ (good + bad), the figure Zendesk reports; a ``mean`` on such data equals
    1 + 4 × share, so prefer ``share`` targets there.

    Examples: ``target = "mean >= 4.2"`` (the average score), ``target = "share >= 80%"``
    (the share of answers that are 4 or 5)::

        [[service_levels]]
        id = "csat"
        metric = "csat"
        target = "share >= 80%"
        min_sample = 30
    """

    name = "csat"
    requires = ("csat",)
    unit = "score"
    better = "higher"
    default_statistic = "mean"
    kinds = ("tickets", "surveys")
    formula = "mean of 1–5 answers; share = answers 4–5 ÷ answers (good ÷ rated for good/bad)"

    def required_fields(self, available: Collection[str]) -> tuple[str, ...]:
        if "csat" not in available and "satisfaction" in available:
            return ("satisfaction",)
        return self.requires

    def measure(self, table: pa.Table, context: MeasureContext) -> pa.Array:
        if "csat" in table.column_names or "satisfaction" not in table.column_names:
            return table["csat"]
        rating = pc.utf8_lower(pc.cast(table["satisfaction"], pa.string()))
        return pc.if_else(pc.equal(rating, "good"), GOOD,
                          pc.if_else(pc.equal(rating, "bad"), BAD,
                                     pa.scalar(None, pa.float64())))

    def success(self, values: pa.Array) -> pa.Array:
        """A satisfied customer answered 4 or 5 (or rated good)."""
        return pc.greater_equal(values, 4)


@hookimpl
def register_metrics() -> list[Metric]:
    return [Csat()]
