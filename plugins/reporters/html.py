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
from collections.abc import Mapping
from dataclasses import fields
from decimal import Decimal
from html import escape, unescape
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from slaengine import hookimpl
from slaengine.plugin import Reporter
from slaengine.present import (
    describe_outlook,
    format_compliance,
    format_margin,
    format_money,
    format_value,
    provisional_flag,
)
from slaengine.verdicts import STATUSES, Evaluation, Verdict

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


def target_text(verdict: Verdict) -> str:
    """The target as the terminal table shows it: ``p90 <= 24h``, ``85% within 1h``."""
    target, statistic = verdict.target, verdict.statistic
    if statistic == "attainment" or target.startswith(statistic):
        return target
    return f"{statistic} {target}"


def segment_text(segment: Mapping[str, Any]) -> str:
    """``priority=urgent, channel=email``; empty for a service level without ``by``."""
    return ", ".join(f"{k}={'—' if v is None else v}" for k, v in segment.items())


def money(amount: Decimal | None, currency: str | None = None) -> str:
    """An amount with thousands separators, its decimals kept exactly: ``12,500.00`` (with
    ``currency``: ``12,500.00 EUR``); ``—`` for none."""
    return "—" if amount is None else format_money(amount, currency)


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


def _fields(result: Any) -> dict[str, Any]:
    """A result's fields by name, their values as they are (numbers stay numbers)."""
    return {f.name: getattr(result, f.name) for f in fields(result)}


def credits_of(evaluation: Evaluation) -> dict[str, Any] | None:
    """The credit schedule as the templates show it, or None when the evaluation has no
    credits or its schedule is empty. Amounts stay Decimals (the ``money`` filter shows them);
    ``lines`` are the ledger lines then the bonuses; a flag carries ``provisional`` when it
    concerns a period not over at ``--as-of``."""
    schedule = evaluation.credits
    if schedule is None or not (schedule.periods or schedule.years or schedule.flags
                                or schedule.exclusions):
        return None
    return {
        "model": schedule.model, "currency": schedule.currency,
        "rounding": schedule.rounding.describe(),
        "lines": [*schedule.credits, *schedule.bonuses],
        "periods": schedule.periods, "years": schedule.years,
        "flags": [{**_fields(f), "provisional": provisional_flag(schedule, f)}
                  for f in schedule.flags],
        "exclusions": schedule.exclusions,
    }


def _row(verdict: Verdict) -> dict[str, Any]:
    """A verdict as a report's row: its fields, its figures as text, its status's look."""
    return {
        **_fields(verdict),
        "segment_text": segment_text(verdict.segment),
        "value_text": format_value(verdict.value, verdict.unit),
        "target_text": target_text(verdict),
        "minimum_text": verdict.minimum or "",
        "compliance_text": format_compliance(verdict.compliance),
        "margin_text": format_margin(verdict.margin, verdict.unit),
        "outlook_text": describe_outlook(verdict.outlook) if verdict.outlook else "",
        **STATUS_LOOK[verdict.status],
    }


def _levels(evaluation: Evaluation, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows by service level, in the order of the verdicts: each level's heading, its rows,
    its segments (each with its row per period) and its status counts."""
    declared = {level.id: level for level in evaluation.contract.service_levels}
    levels: dict[str, dict[str, Any]] = {}
    for row in rows:
        level = levels.get(row["service_level"])
        if level is None:
            spec = declared.get(row["service_level"])
            level = levels[row["service_level"]] = {
                "id": row["service_level"], "metric": row["metric"], "unit": row["unit"],
                "statistic": row["statistic"], "target": row["target"],
                "target_text": row["target_text"], "minimum": row["minimum"],
                "description": getattr(spec, "description", ""),
                "by": list(getattr(spec, "by", ())),
                "min_sample": getattr(spec, "min_sample", None),
                "rows": [], "segments": {}, "counts": dict.fromkeys(STATUSES, 0),
            }
        level["rows"].append(row)
        level["counts"][row["status"]] += 1
        key = row["segment_text"]
        segment = level["segments"].setdefault(key, {"text": key, "cells": {}})
        segment["cells"][row["period"]] = row
    for level in levels.values():
        level["segments"] = list(level["segments"].values())
        level["failed"] = level["counts"]["breached"] + level["counts"]["critical"]
    return list(levels.values())


def report_context(evaluation: Evaluation) -> dict[str, Any]:
    """Everything a report template shows, read from the typed results: figures formatted
    through :mod:`slaengine.present`, counts and amounts as the numbers they are."""
    contract = evaluation.contract
    rows = [_row(v) for v in evaluation.verdicts]
    summary = [{"status": s, "count": evaluation.count(s), **STATUS_LOOK[s]} for s in STATUSES]
    manifest = dict(evaluation.manifest)
    known = ("contract", "inputs", "versions", "plugins", "evaluated_at", "options")
    return {
        "contract": {"id": contract.id, "client": contract.client, "vendor": contract.vendor,
                     "period": contract.period, "timezone": contract.timezone,
                     "currency": contract.currency, "monthly_fee": contract.monthly_fee,
                     "description": getattr(contract, "description", "")},
        "periods": evaluation.periods,
        "provisional_periods": sorted({v.period for v in evaluation.verdicts if v.provisional}),
        "summary": summary,
        "total": len(rows),
        "rows": rows,
        "levels": _levels(evaluation, rows),
        "sources": [{"name": name, **_fields(account), "reconciles": account.reconciles}
                    for name, account in evaluation.sources.items()],
        "level_accounts": [{**_fields(account), "name": name}
                           for name, account in evaluation.levels.items()],
        "credits": credits_of(evaluation),
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


def chart_title(level: dict[str, Any], segment: dict[str, Any]) -> str:
    """What a chart shows, as its SVG title (the tooltip over the chart): the service level, the
    segment, the metric and the target."""
    name = level["id"] + (f" ({segment['text']})" if segment["text"] else "")
    text = f"{name}: {level['metric'].replace('_', ' ')} per period, target {level['target_text']}"
    return text + (f", minimum {level['minimum']}" if level["minimum"] else "")


# Advance widths (in ems) of DejaVu Sans, the widest of the usual sans-serif system fonts and the
# one system-ui falls back to on Linux; bold is about a tenth wider. Any other character counts
# as a full em.
_CHAR_WIDTHS = {
    **dict.fromkeys(" ,.", 0.318), **dict.fromkeys(":;/|\\", 0.337),
    **dict.fromkeys("0123456789$", 0.636), **dict.fromkeys("+<=>~^#", 0.838),
    "!": 0.401, '"': 0.460, "%": 0.950, "&": 0.780, "'": 0.275, "(": 0.390, ")": 0.390,
    "[": 0.390, "]": 0.390, "{": 0.636, "}": 0.636, "*": 0.500, "-": 0.361, "?": 0.531,
    "@": 1.0, "_": 0.500, "`": 0.500,
    "A": 0.684, "B": 0.686, "C": 0.698, "D": 0.770, "E": 0.632, "F": 0.575, "G": 0.775,
    "H": 0.752, "I": 0.295, "J": 0.295, "K": 0.656, "L": 0.557, "M": 0.863, "N": 0.748,
    "O": 0.787, "P": 0.603, "Q": 0.787, "R": 0.695, "S": 0.635, "T": 0.611, "U": 0.732,
    "V": 0.684, "W": 0.989, "X": 0.685, "Y": 0.611, "Z": 0.685,
    "a": 0.613, "b": 0.635, "c": 0.550, "d": 0.635, "e": 0.615, "f": 0.352, "g": 0.635,
    "h": 0.634, "i": 0.278, "j": 0.278, "k": 0.579, "l": 0.278, "m": 0.974, "n": 0.634,
    "o": 0.612, "p": 0.635, "q": 0.635, "r": 0.411, "s": 0.521, "t": 0.392, "u": 0.634,
    "v": 0.592, "w": 0.818, "x": 0.592, "y": 0.592, "z": 0.525,
}
DOT_RADIUS = 5


def text_width(text: str, size: float, *, bold: bool = False) -> float:
    """A generous estimate of the width of a text in the chart's font (5 % over DejaVu Sans),
    so that texts kept apart by it stay apart whichever sans-serif font the browser picks."""
    ems = sum(_CHAR_WIDTHS.get(ch, 1.0) for ch in text)
    return size * ems * (1.1 if bold else 1.0) * 1.05


Box = tuple[float, float, float, float]


def _overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def place_value_labels(svg: str) -> str:
    """Put each value label above or below its dot, wherever it crosses neither the target nor
    the minimum line, no other label and no other dot.

    pygal writes every label below and to the right of its dot, where it runs over the next
    dot, the threshold lines and (for the last one) off the chart. Labels are placed left to
    right; each takes the free place nearest its dot, trying just above, just below, then 3
    units further up and down at a time; when none is free, the one with the fewest
    collisions. The first and last labels lean inwards so that they stay inside the chart.
    """
    size = VALUE_FONT
    plot = re.search(r'class="plot"><rect x="0" y="0" width="[-\d.]+" height="([-\d.]+)"', svg)
    bottom = float(plot[1]) if plot else math.inf
    lines = [float(m[1]) for m in re.finditer(
        r'<g class="series serie-[1-9]\d* color-\d+"><path d="M[-\d.]+ ([-\d.]+) ', svg)]
    label = re.compile(r'<text text-anchor="left" x="([-\d.]+)" y="([-\d.]+)" class="value">'
                       r'([^<]*)</text>')
    found = list(label.finditer(svg))
    # pygal's label sits at (cx + size, cy + size + size / 3) from its dot's centre.
    dots = [(float(m[1]) - size, float(m[2]) - size * 4 / 3) for m in found]
    reach = DOT_RADIUS + 1.5
    obstacles: list[Box] = [(cx - reach, cy - reach, cx + reach, cy + reach) for cx, cy in dots]
    obstacles += [(-math.inf, y - 2.5, math.inf, y + 2.5) for y in lines]
    xs = [cx for cx, _ in dots]
    placed: dict[int, str] = {}
    for index, (m, (cx, cy)) in enumerate(zip(found, dots, strict=True)):
        width = text_width(unescape(m[3]), size, bold=True) + 2
        anchor, left = "middle", cx - width / 2
        if len(xs) > 1 and cx == min(xs):
            anchor, left = "start", cx - 4
        elif len(xs) > 1 and cx == max(xs):
            anchor, left = "end", cx + 4 - width
        x = {"middle": cx, "start": cx - 4, "end": cx + 4}[anchor]
        above = cy - reach - 0.25 * size - 1
        below = cy + reach + 0.95 * size + 1
        best: tuple[int, float, Box] | None = None
        for baseline in (y for shift in range(0, 5 * size, 3)
                         for y in (above - shift, below + shift)):
            box = (left, baseline - 0.95 * size, left + width, baseline + 0.25 * size)
            if box[1] < -10 or box[3] > bottom:
                continue
            own = obstacles[index]
            hits = sum(_overlaps(box, o) for o in obstacles if o is not own)
            if best is None or hits < best[0]:
                best = (hits, baseline, box)
            if hits == 0:
                break
        if best is None:
            best = (0, above, (left, above - 0.95 * size, left + width, above + 0.25 * size))
        obstacles.append(best[2])
        placed[m.start()] = (f'<text text-anchor="{anchor}" x="{x:.2f}" y="{best[1]:.2f}" '
                             f'class="value">{m[3]}</text>')
    return label.sub(lambda m: placed[m.start()], svg)



LEGEND_FONT = 12
LEGEND_WIDTH = 640 - 12 - 44  # the chart's width less its left and right margins


def legend_layout(entries: list[str]) -> tuple[int, int]:
    """Legend columns (3 unless an entry would run into the next) and the number of characters
    to cut entries at (-1: none) when even one column is too narrow."""
    # An entry is a 12-unit swatch, a 5-unit gap and its text, then at least 4 units of space.
    needed = max(text_width(entry, LEGEND_FONT) for entry in entries) + 12 + 5 + 4
    for columns in (3, 2, 1):
        if needed <= LEGEND_WIDTH / columns:
            return columns, -1
    return 1, int((LEGEND_WIDTH - 21) / (1.05 * LEGEND_FONT))


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
    values = [None if cells.get(p) is None or cells[p]["value"] is None
              else float(cells[p]["value"]) for p in periods]
    known = [v for v in values if v is not None]
    bounds = [*known, *(t for t in (target, minimum) if t is not None)] or [0.0]
    low, high = min(bounds), max(bounds)
    pad = (high - low) * 0.1 or abs(high) * 0.1 or 1.0
    if unit in ("duration", "count") and low >= 0:
        low, high = 0.0, high + pad
    elif unit == "rate":
        # A share stays within 0..100 %; a rate that can go negative (a return) keeps its sign.
        low = max(low - pad, 0.0) if low >= 0 else low - pad
        high = min(high + pad, 1.0) if high <= 1.0 else high + pad
    else:
        low, high = low - pad, high + pad
    ticks = axis_ticks(low, high, unit)

    many = len(periods) > 12
    legend = [level["metric"].replace("_", " ") if not segment["text"] else segment["text"]]
    if target is not None:
        legend.append(f"target {level['target_text']}")
    if minimum is not None:
        legend.append(f"minimum {level['minimum']}")
    columns, truncate = legend_layout(legend)
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
        legend_at_bottom_columns=columns, print_values=not many, print_values_position="top",
        y_labels=[{"label": axis_label(t, unit), "value": t} for t in ticks],
        range=(ticks[0], ticks[-1]), show_y_guides=True, show_x_guides=False,
        allow_interruptions=False, truncate_label=-1, truncate_legend=truncate,
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
    chart.add(legend[0], points, formatter=lambda v: axis_label(v, unit),
              stroke_style={"width": 2.5})
    if target is not None:
        chart.add(legend[1], [target] * len(periods), show_dots=False,
                  print_values=False, stroke_style={"width": 2.5, "dasharray": "9,5"})
    if minimum is not None:
        chart.add(legend[-1], [minimum] * len(periods), show_dots=False,
                  print_values=False, stroke_style={"width": 2.5, "dasharray": "2,4"})
    svg = chart.render(is_unicode=True)
    # Deterministic and quiet: a stable id instead of a random one, no generator comments and
    # no script (pygal always embeds its configuration for its optional tooltips script).
    svg = re.sub(r"<!--.*?-->|<script\b.*?</script>", "", svg, flags=re.S)
    svg = place_value_labels(svg)
    # The chart's own title (its tooltip) names the service level; pygal's default is "Pygal".
    title = escape(chart_title(level, segment), quote=False)
    svg = re.sub(r"</defs><title>[^<]*</title>", lambda _: f"</defs><title>{title}</title>", svg,
                 count=1)
    # An axis label's tooltip is the label itself ("3h"), not the raw number behind it (10800).
    svg = re.sub(r'(<text [^>]*>([^<]*)</text>)<title>[^<]*</title>', r"\1<title>\2</title>", svg)
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
