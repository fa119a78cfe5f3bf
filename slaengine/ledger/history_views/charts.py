"""The history page's charts: inline SVG bar charts drawn by pygal, without its script.

pygal is optional (``slaengine[charts]``): without it the page goes without charts and says how
to get them (:data:`CHARTS_HINT`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

__all__ = ["CHARTS_HINT", "add_charts"]

CHARTS_HINT = 'pip install "slaengine[charts]"'


def _bar_chart(title: str, labels: Sequence[str], series: Mapping[str, Sequence[float | None]],
               number: int, *, horizontal: bool = False, counts: bool = False) -> str:
    """An inline SVG bar chart (pygal), without its script, titled ``title``; ``counts``:
    whole-number ticks."""
    import pygal
    from pygal.style import Style

    style = Style(background="#ffffff", plot_background="#ffffff", foreground="#24292f",
                  foreground_strong="#24292f", foreground_subtle="#d0d7de",
                  colors=("#0969da", "#b35900", "#1a7f37", "#8250df", "#c62828"),
                  font_family="system-ui, -apple-system, 'Segoe UI', 'DejaVu Sans', sans-serif")
    kind = pygal.HorizontalBar if horizontal else pygal.Bar
    chart = kind(style=style, js=[], disable_xml_declaration=True, explicit_size=False,
                 width=640, height=320, legend_at_bottom=True, print_values=False,
                 truncate_label=-1, truncate_legend=-1, x_label_rotation=0 if horizontal
                 else (40 if len(labels) > 6 else 0))
    chart.x_labels = list(labels)
    if counts:
        most = max((v or 0 for values in series.values() for v in values), default=0)
        chart.y_labels = list(range(0, int(most) + 1, max(1, int(most) // 8 or 1)))
    for name, values in series.items():
        chart.add(name, list(values))
    svg = chart.render(is_unicode=True)
    svg = re.sub(r"<!--.*?-->|<script\b.*?</script>", "", svg, flags=re.S)
    svg = re.sub(r"</defs><title>[^<]*</title>",
                 lambda _: f"</defs><title>{escape(title, quote=False)}</title>", svg, count=1)
    found = re.search(r'id="(chart-[0-9a-f-]+)"', svg)
    if found:
        svg = svg.replace(found.group(1), f"history-chart-{number}")
    return svg


def add_charts(context: dict[str, Any]) -> bool:
    """Charts for the page: per contract its credits per period; with a portfolio, credits per
    vendor to date (its contracts' latest years, a bar per currency) and the worst service
    levels' failed periods. False when pygal is not installed."""
    try:
        import pygal  # noqa: F401
    except ImportError:
        return False
    count = 0
    for c in context["contracts"]:
        if c["credit_periods"]:
            count += 1
            c["chart"] = _bar_chart(
                f"{c['id']}: credits per period ({c['currency']})",
                [p["period"] for p in c["credit_periods"]],
                {"after caps": [float(p["after_caps"]) for p in c["credit_periods"]],
                 "earned back": [float(p["earned_back"]) for p in c["credit_periods"]]}, count)
    portfolio_ = context["portfolio"]
    if portfolio_:
        bars = [(v["vendor"], t) for v in portfolio_["vendors"] for t in v["to_date"]]
        count += 1
        portfolio_["credits_chart"] = _bar_chart(
            "credits per vendor to date (its contracts' latest contract years)",
            [f"{name} ({', '.join(t['years'])}, {t['currency'] or '—'})" for name, t in bars],
            {"credits after caps": [float(t["credits"]) for _, t in bars],
             "net": [float(t["net"]) for _, t in bars]}, count, horizontal=True)
        worst = portfolio_["worst_service_levels"]
        if worst:
            count += 1
            portfolio_["worst_chart"] = _bar_chart(
                "worst service levels: periods failed",
                [f"{w['contract']}: {w['service_level']}" for w in worst],
                {"periods failed": [w["failed"] for w in worst]}, count, horizontal=True,
                counts=True)
    return True
