"""``--format html``: one self-contained page for a business review.

The page opens offline in any browser (no script, no web font, no network reference): the
contract's parties, currency, period and timezone; a status summary; a scorecard of every service
level (and segment) per period; one chart per service level (per segment when it has ``by``)
showing its value per period against the target line and the minimum line; the verdict table;
the service credits when the contract has a ``[penalties]`` table; where every input row went;
and the audit manifest (SHA-256 of the contract and inputs, versions, plugins, options).

With ``--as-of``, every verdict, credit line and period total of a period not yet over carries a
"provisional" badge, and a year holding such a period shows its final and provisional parts.

Every status is shown with a symbol and a word besides its colour, so the page reads in
greyscale and on a black-and-white printout. Charts are inline SVG drawn by pygal, an optional
extra (``pip install "slaengine[charts]"``); without it each service level gets a compact
value-per-period table instead, and the page says how to get the charts. The page is rendered
with jinja2 with autoescaping on: names and values from the contract or the data stay text.

The helpers here (:func:`report_context` and friends) are shared with the Markdown reporter.
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from slaengine import hookimpl
from slaengine.kinds import Reporter
from slaengine.outlook import describe as describe_outlook
from slaengine.verdicts import (
    STATUSES,
    Evaluation,
    evaluation_to_dict,
    format_compliance,
    format_margin,
    format_value,
)

if TYPE_CHECKING:
    from jinja2 import Environment

TEMPLATES = Path(__file__).parent / "templates"

STATUS_LOOK: dict[str, dict[str, str]] = {
    "met": {"symbol": "✓", "label": "met", "colour": "#1a7f37"},
    "breached": {"symbol": "✗", "label": "breached", "colour": "#b35900"},
    "critical": {"symbol": "‼", "label": "critical", "colour": "#c62828"},
    "insufficient_data": {"symbol": "?", "label": "insufficient data", "colour": "#6e7781"},
}
"""Symbol, word and colour of each status: the symbol and word carry it without colour."""

CHARTS_HINT = 'pip install "slaengine[charts]"'


# --------------------------------------------------------------------------- shared helpers


def target_text(verdict: dict[str, Any]) -> str:
    """The target as the terminal table shows it: ``p90 <= 24h``, ``85% within 1h``."""
    target, statistic = verdict["target"], verdict["statistic"]
    if statistic == "attainment" or target.startswith(statistic):
        return target
    return f"{statistic} {target}"


def segment_text(segment: dict[str, Any]) -> str:
    """``priority=urgent, channel=email``; empty for a service level without ``by``."""
    return ", ".join(f"{k}={'—' if v is None else v}" for k, v in segment.items())


def number(value: Any) -> float | Decimal | None:
    """A verdict-dict value back as a number (money is a string there)."""
    if value is None:
        return None
    if isinstance(value, str):
        return Decimal(value)
    return value


def money(text: Any) -> str:
    """Money text with thousands separators, its decimals kept exactly: ``12,500.00``."""
    if text is None:
        return "—"
    return f"{Decimal(str(text)):,}"


def percent(fraction: float | None) -> str:
    return format_compliance(fraction)


def moment_text(text: Any) -> str:
    """``2026-11-27T03:46:32+00:00`` as ``2026-11-27 03:46 UTC`` (other text unchanged)."""
    from datetime import datetime, timedelta

    if not text:
        return "—"
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        return str(text)
    if moment.utcoffset() == timedelta(0):
        return moment.strftime("%Y-%m-%d %H:%M UTC")
    return moment.strftime("%Y-%m-%d %H:%M %z") if moment.tzinfo else str(text)


def credits_of(evaluation: Evaluation, data: dict[str, Any]) -> dict[str, Any] | None:
    """The credit part of the document, or None when the evaluation has no credits.

    Taken from :func:`evaluation_to_dict` when it carries ``credits``; otherwise from an
    ``evaluation.credits`` schedule if there is one.
    """
    if "credits" not in data:
        schedule = getattr(evaluation, "credits", None)
        if schedule is None:
            return None
        from slaengine.credits.present import schedule_to_dict

        data = {**data, **schedule_to_dict(schedule)}
    keys = ("penalties", "credits", "bonuses", "credit_totals", "credit_years", "flags",
            "credit_exclusions")
    part = {key: data.get(key) or ([] if key != "penalties" else {}) for key in keys}
    if not any(part[key] for key in keys if key != "penalties"):
        return None
    return part


def report_context(evaluation: Evaluation) -> dict[str, Any]:
    """Everything a report template shows, as plain values (text already formatted)."""
    data = evaluation_to_dict(evaluation)
    contract = data["contract"]
    periods = sorted({v["period"] for v in data["verdicts"]})
    declared = {level.id: level for level in evaluation.contract.service_levels}

    levels: dict[str, dict[str, Any]] = {}
    rows = []
    for v in data["verdicts"]:
        look = STATUS_LOOK[v["status"]]
        row = {
            **v,
            "segment_text": segment_text(v["segment"]),
            "value_text": format_value(number(v["value"]), v["unit"]),
            "target_text": target_text(v),
            "minimum_text": v["minimum"] or "",
            "compliance_text": percent(v["compliance"]),
            "margin_text": format_margin(v["margin"], v["unit"]),
            "outlook_text": describe_outlook(v["outlook"]) if v.get("outlook") else "",
            "provisional": bool(v.get("provisional")),
            **look,
        }
        rows.append(row)
        level = levels.get(v["service_level"])
        if level is None:
            spec = declared.get(v["service_level"])
            level = levels[v["service_level"]] = {
                "id": v["service_level"], "metric": v["metric"], "unit": v["unit"],
                "statistic": v["statistic"], "target": v["target"],
                "target_text": row["target_text"], "minimum": v["minimum"],
                "description": getattr(spec, "description", ""),
                "by": list(getattr(spec, "by", ())),
                "min_sample": getattr(spec, "min_sample", None),
                "rows": [], "segments": {}, "counts": dict.fromkeys(STATUSES, 0),
            }
        level["rows"].append(row)
        level["counts"][v["status"]] += 1
        key = row["segment_text"]
        segment = level["segments"].setdefault(key, {"text": key, "cells": {}})
        segment["cells"][v["period"]] = row

    for level in levels.values():
        level["segments"] = list(level["segments"].values())
        level["failed"] = level["counts"]["breached"] + level["counts"]["critical"]

    summary = [{"status": s, "count": data["summary"][s], **STATUS_LOOK[s]} for s in STATUSES]
    manifest = dict(data["manifest"])
    known = ("contract", "inputs", "versions", "plugins", "evaluated_at", "options")
    return {
        "contract": {**contract, "monthly_fee_text": money(contract.get("monthly_fee"))
                     if contract.get("monthly_fee") is not None else None,
                     "description": getattr(evaluation.contract, "description", "")},
        "periods": periods,
        "provisional_periods": sorted({v["period"] for v in data["verdicts"]
                                       if v.get("provisional")}),
        "summary": summary,
        "total": len(rows),
        "rows": rows,
        "levels": list(levels.values()),
        "sources": [{"name": name, **account, "reconciles": account["read"] ==
                     account["accepted"] + account["rejected"] + account["duplicates"]}
                    for name, account in data["sources"].items()],
        "level_accounts": [{"name": name, **account}
                           for name, account in data["service_levels"].items()],
        "credits": credits_of(evaluation, data),
        "evaluated_text": moment_text(manifest.get("evaluated_at")),
        "manifest": {
            "contract": manifest.get("contract") or {},
            "inputs": manifest.get("inputs") or {},
            "versions": manifest.get("versions") or {},
            "plugins": manifest.get("plugins") or {},
            "evaluated_at": manifest.get("evaluated_at"),
            "options": json.dumps(manifest.get("options") or {}, indent=2, ensure_ascii=False,
                                  sort_keys=True, default=str),
            "other": {k: json.dumps(v, indent=2, ensure_ascii=False, default=str)
                      for k, v in manifest.items() if k not in known},
        },
        "status_look": STATUS_LOOK,
    }


def environment(*, autoescape: bool) -> Environment:
    """The jinja2 environment over the packaged templates."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=autoescape,
                      trim_blocks=True, lstrip_blocks=True, undefined=StrictUndefined,
                      keep_trailing_newline=True)
    env.filters["money"] = money
    return env


# --------------------------------------------------------------------------- charts


VALUE_FONT = 11

_DURATION_STEPS = (1, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 14400,
                   21600, 43200, 86400, 172800, 259200, 432000, 604800, 1209600, 2592000)


def axis_ticks(low: float, high: float, unit: str, most: int = 6) -> list[float]:
    """Round tick values covering ``[low, high]``, at most about ``most`` of them.

    Durations step in clock units (1min, 15min, 1h, 6h, 1d…); other units in 1, 2, 2.5 or 5
    times a power of ten (rates in whole or half percents).
    """
    if high <= low:
        high = low + (1 if low == 0 else abs(low) * 0.1)
    span = high - low
    if unit == "duration":
        step = next((s for s in _DURATION_STEPS if span / s <= most), None)
        if step is None:
            step = _DURATION_STEPS[-1] * math.ceil(span / most / _DURATION_STEPS[-1])
    else:
        raw = span / most
        power = 10 ** math.floor(math.log10(raw))
        step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    start = math.floor(low / step + 1e-9) * step
    stop = math.ceil(high / step - 1e-9) * step
    count = round((stop - start) / step)
    return [round(start + i * step, 10) for i in range(count + 1)]


def axis_label(value: float, unit: str) -> str:
    """An axis label: ``1h 30min``, ``85%``, ``+20``, ``4.5``."""
    from slaengine.targets import format_duration

    if unit == "duration":
        return "0" if value == 0 else format_duration(value)
    if unit == "rate":
        return f"{value * 100:g}%"
    if unit == "points":
        return f"{value:+g}" if value else "0"
    if unit == "money":
        return f"{value:,.0f}"
    return f"{value:g}"


def _threshold(text: str | None) -> float | None:
    if not text:
        return None
    from slaengine.targets import TargetError, parse_target

    try:
        return float(parse_target(text).threshold)
    except (TargetError, ValueError):
        return None


def chart_svg(level: dict[str, Any], segment: dict[str, Any], periods: list[str],
              number_: int) -> str:
    """One line chart (inline SVG): the value per period, dots coloured by status and labelled
    with the value and the status symbol, the target as a dashed line, the minimum dotted."""
    import pygal
    from pygal.style import Style

    unit = level["unit"]
    target = _threshold(level["target"])
    minimum = _threshold(level["minimum"])
    cells = segment["cells"]
    values = [None if cells.get(p) is None else number(cells[p]["value"]) for p in periods]
    values = [None if v is None else float(v) for v in values]
    known = [v for v in values if v is not None]
    bounds = [*known, *(t for t in (target, minimum) if t is not None)] or [0.0]
    low, high = min(bounds), max(bounds)
    pad = (high - low) * 0.1 or abs(high) * 0.1 or 1.0
    if unit in ("duration", "count") and low >= 0:
        low, high = 0.0, high + pad
    elif unit == "rate":
        low, high = max(low - pad, 0.0), min(high + pad, 1.0) if high <= 1.0 else high + pad
    else:
        low, high = low - pad, high + pad
    ticks = axis_ticks(low, high, unit)

    many = len(periods) > 12
    style = Style(
        background="#ffffff", plot_background="#ffffff", foreground="#24292f",
        foreground_strong="#24292f", foreground_subtle="#d0d7de",
        colors=("#24292f", "#0969da", "#8a1c1c"),
        font_family="system-ui, -apple-system, 'Segoe UI', 'DejaVu Sans', sans-serif",
        label_font_size=12, major_label_font_size=12, value_font_size=VALUE_FONT,
        legend_font_size=12, tooltip_font_size=11, opacity="1", opacity_hover="1",
        value_colors=("#24292f",), stroke_opacity="1", stroke_opacity_hover="1",
        guide_stroke_color="#d8dee4", guide_stroke_dasharray="0",
        major_guide_stroke_color="#d8dee4", major_guide_stroke_dasharray="0",
    )
    chart = pygal.Line(
        style=style, js=[], disable_xml_declaration=True, explicit_size=False,
        width=640, height=320, margin=12, margin_right=44, margin_bottom=20, spacing=14,
        show_legend=True, legend_at_bottom=True,
        legend_at_bottom_columns=3, print_values=not many, print_values_position="top",
        y_labels=[{"label": axis_label(t, unit), "value": t} for t in ticks],
        range=(ticks[0], ticks[-1]), show_y_guides=True, show_x_guides=False,
        allow_interruptions=False, truncate_label=-1, truncate_legend=-1,
        x_label_rotation=40 if len(periods) > 8 else 0, dots_size=5, stroke_style={"width": 2},
        show_minor_x_labels=not many,
        x_labels_major_every=max(1, len(periods) // 12) if many else None,
    )
    chart.x_labels = periods
    points = []
    for period, value in zip(periods, values, strict=True):
        row = cells.get(period)
        if value is None or row is None:
            points.append(None)
            continue
        shown = f"{row['value_text']} {row['symbol']}"
        points.append({"value": value, "color": row["colour"],
                       "formatter": lambda _v, shown=shown: shown,
                       "label": f"{period}: {row['label']}"})
    chart.add(level["metric"].replace("_", " ") if not segment["text"] else segment["text"],
              points, formatter=lambda v: axis_label(v, unit), stroke_style={"width": 2.5})
    if target is not None:
        chart.add(f"target {level['target_text']}", [target] * len(periods), show_dots=False,
                  print_values=False, stroke_style={"width": 2.5, "dasharray": "9,5"})
    if minimum is not None:
        chart.add(f"minimum {level['minimum']}", [minimum] * len(periods), show_dots=False,
                  print_values=False, stroke_style={"width": 2.5, "dasharray": "2,4"})
    svg = chart.render(is_unicode=True)
    # Deterministic and quiet: a stable id instead of a random one, no generator comments and
    # no script (pygal always embeds its configuration for its optional tooltips script).
    svg = re.sub(r"<!--.*?-->|<script\b.*?</script>", "", svg, flags=re.S)
    # Value labels centred just above their dot (pygal puts them below and to the right, where
    # the last one runs off the chart); the first and last ones lean inwards.
    label = re.compile(r'<text text-anchor="left" x="([-\d.]+)" y="([-\d.]+)" class="value">')
    xs = [float(m[1]) for m in label.finditer(svg)]

    def above(m: re.Match[str]) -> str:
        x, y = float(m[1]) - VALUE_FONT, float(m[2]) - 2 * VALUE_FONT - 1
        anchor = "middle"
        if len(xs) > 1 and float(m[1]) == min(xs):
            anchor, x = "start", x - 4
        elif len(xs) > 1 and float(m[1]) == max(xs):
            anchor, x = "end", x + 4
        return f'<text text-anchor="{anchor}" x="{x:.2f}" y="{y:.2f}" class="value">'

    svg = label.sub(above, svg)
    found = re.search(r'id="(chart-[0-9a-f-]+)"', svg)
    if found:
        svg = svg.replace(found.group(1), f"sla-chart-{number_}")
    return svg


def add_charts(context: dict[str, Any]) -> bool:
    """Give every segment of every level its chart; False when pygal is not installed."""
    try:
        import pygal  # noqa: F401
    except ImportError:
        return False
    count = 0
    for level in context["levels"]:
        for segment in level["segments"]:
            count += 1
            segment["chart"] = chart_svg(level, segment, context["periods"], count)
    return True


# --------------------------------------------------------------------------- the reporter


class HtmlReporter(Reporter):
    """One self-contained HTML page: summary, scorecard, charts, verdicts, credits, manifest."""

    name = "html"
    suffix = ".html"

    def write(self, evaluation: Evaluation, stream: TextIO) -> None:
        from markupsafe import Markup

        context = report_context(evaluation)
        context["charts"] = add_charts(context)
        context["charts_hint"] = CHARTS_HINT
        for level in context["levels"]:
            for segment in level["segments"]:
                if "chart" in segment:
                    segment["chart"] = Markup(segment["chart"])  # pygal escapes its text
        template = environment(autoescape=True).get_template("report.html.j2")
        stream.write(template.render(**context))


@hookimpl
def register_reporters() -> list[Reporter]:
    return [HtmlReporter()]
