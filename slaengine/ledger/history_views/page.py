"""The history as one self-contained HTML page: inline SVG charts when pygal is installed, no
script, no network reference, and autoescaped, so names from contracts and reasons typed by people
stay text."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slaengine.ledger.history_views.charts import CHARTS_HINT, add_charts
from slaengine.ledger.history_views.shared import (
    money,
    parties_text,
    span,
    to_date_text,
    version_text,
    with_texts,
)
from slaengine.ledger.report import MONEY

__all__ = ["render_html"]

_PAGE = """\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>History of {{ ledger.path }}</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto;
       max-width: 72rem; padding: 1rem; color: #24292f; }
section { border: 1px solid #d0d7de; border-radius: 6px; padding: 0 1rem 1rem; margin: 1rem 0; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; margin: .5rem 0; }
th, td { border-bottom: 1px solid #d8dee4; padding: .25rem .5rem; text-align: left;
         vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.chart svg { width: 100%; max-width: 640px; height: auto; }
.status { font-weight: 600; }
.note { color: #57606a; }
</style>
</head>
<body>
<h1>History of {{ ledger.path }}</h1>
<p>{{ ledger.entries }} entries
{%- if ledger.head %}; head hash <code>{{ ledger.head }}</code>{% endif %}.</p>
{% if not charts %}<p class="note">Charts need pygal: <code>{{ charts_hint }}</code></p>{% endif %}
{% if portfolio %}
<section id="portfolio">
<h2>Portfolio</h2>
<h3>Vendors</h3>
<div class="scroll"><table class="vendors">
<thead><tr><th>vendor</th><th>contracts</th><th>clients</th><th>periods</th>
<th>periods failed</th><th>credits to date</th><th>net to date</th><th>restatements</th>
<th>earn-backs open</th><th>chronic failures</th></tr></thead>
<tbody>
{% for v in portfolio.vendors %}
<tr><td>{{ v.vendor }}</td><td>{{ v.contracts | join(", ") }}</td>
<td>{{ v.clients | join(", ") or "—" }}</td><td>{{ span(v.periods) }}</td>
<td class="num">{{ v.failed }}</td><td class="num">{{ to_date_text(v, "credits") }}</td>
<td class="num">{{ to_date_text(v, "net") }}</td><td class="num">{{ v.restatements }}</td>
<td class="num">{{ v.open_earn_backs }}</td><td class="num">{{ v.chronic_failures }}</td></tr>
{% endfor %}
</tbody></table></div>
{% if portfolio.credits_chart %}<div class="chart">{{ portfolio.credits_chart }}</div>{% endif %}
<h3>Contracts</h3>
<div class="scroll"><table class="portfolio">
<thead><tr><th>contract</th><th>vendor</th><th>periods</th><th>periods failed</th><th>year</th>
<th>credits in year</th><th>net in year</th><th>restatements</th><th>earn-backs open</th>
<th>chronic failures</th></tr></thead>
<tbody>
{% for p in portfolio.contracts %}
<tr><td>{{ p.id }}</td><td>{{ p.vendor or "—" }}</td><td>{{ span(p.periods) }}</td>
<td class="num">{{ p.failed }}</td>
<td>{{ p.year or "—" }}</td><td class="num">{{ money(p.year_credits, p.currency) }}</td>
<td class="num">{{ money(p.year_net, p.currency) }}</td><td class="num">{{ p.restatements }}</td>
<td class="num">{{ p.open_earn_backs }}</td><td class="num">{{ p.chronic_failures }}</td></tr>
{% endfor %}
</tbody></table></div>
<h3>Worst service levels</h3>
<div class="scroll"><table class="worst">
<thead><tr><th>vendor</th><th>contract</th><th>service level</th><th>periods failed</th>
<th>critical</th><th>credits</th><th>failed in</th></tr></thead>
<tbody>
{% for w in portfolio.worst_service_levels %}
<tr><td>{{ w.vendor }}</td><td>{{ w.contract }}</td><td>{{ w.service_level }}</td>
<td class="num">{{ w.failed }}</td>
<td class="num">{{ w.critical }}</td><td class="num">{{ money(w.credits, w.currency) }}</td>
<td>{{ w.periods | join(", ") }}</td></tr>
{% endfor %}
</tbody></table></div>
{% if portfolio.worst_chart %}<div class="chart">{{ portfolio.worst_chart }}</div>{% endif %}
</section>
{% endif %}
{% for c in contracts %}
<section class="contract">
<h2>{{ c.id }}</h2>
<p class="parties">{{ parties_text(c) }}.</p>
<p>Periods {{ span(c.periods) }}
{%- if c.closed_periods %}; closed {{ c.closed_periods | join(", ") }}{% endif %}.</p>
{% if c.versions | length > 1 or c.versions and c.versions[0].version %}
<ul class="versions">{% for v in c.versions %}
<li>version {{ version_text(v) }}: {{ v.periods | join(", ") }}</li>
{% endfor %}</ul>
{% endif %}
{% for level in c.service_levels %}
<h3>{{ level.id }} <span class="note">({{ level.metric }})</span></h3>
<p>Periods failed: {{ level.failed_periods | length }}, {{ level.failures_in_a_row }} in a row
at the end{% if level.met_since_last_failure is not none %}; met
{{ level.met_since_last_failure }} in a row since the last failure{% endif %}.</p>
<div class="scroll"><table class="trail">
<thead><tr><th>period</th><th>segment</th><th>value</th><th>target</th><th>status</th>
<th>version</th><th>credit</th><th>notes</th></tr></thead>
<tbody>
{% for r in level.rows %}
<tr><td>{{ r.period }}</td><td>{{ r.segment_text }}</td><td class="num">{{ r.value_text }}</td>
<td>{{ r.target }}</td>
<td class="status" style="color: {{ r.colour }}">{{ r.symbol }} {{ r.status }}</td>
<td>{{ r.version_text }}</td><td class="num">{{ r.credit_text }}</td><td>{{ r.notes }}</td></tr>
{% endfor %}
</tbody></table></div>
{% endfor %}
{% if c.restatements %}
<h3>Restatements</h3>
<div class="scroll"><table class="restatements">
<thead><tr><th>period</th><th>entry</th><th>restates</th><th>reason</th><th>differences</th></tr></thead>
<tbody>
{% for r in c.restatements %}
<tr><td>{{ r.period }}</td><td class="num">{{ r.entry }}</td>
<td class="num">{{ r.original_entry }}</td><td>{{ r.reason }}</td>
<td>{% for line in r.lines %}{{ line }}{% if not loop.last %}<br>{% endif %}{% endfor %}</td></tr>
{% endfor %}
</tbody></table></div>
{% endif %}
{% if c.credit_periods %}
<h3>Credits ({{ c.currency }})</h3>
<div class="scroll"><table class="credits">
<thead><tr><th>period</th>
{% for n in money_columns %}<th>{{ n | replace("_", " ") }}</th>{% endfor %}</tr></thead>
<tbody>
{% for p in c.credit_periods %}
<tr><td>{{ p.period }}</td>
{% for n in money_columns %}<td class="num">{{ money(p[n]) }}</td>{% endfor %}</tr>
{% endfor %}
{% for y in c.credit_years %}
<tr class="year"><th>year {{ y.year }} to date</th>
{% for n in money_columns %}<th class="num">{{ money(y[n]) }}</th>{% endfor %}</tr>
{% endfor %}
</tbody></table></div>
{% if c.chart %}<div class="chart">{{ c.chart }}</div>{% endif %}
{% endif %}
{% if c.earn_back_runs or c.chronic_failures %}
<h3>Open earn-backs and chronic failures</h3>
<ul>
{% for run in c.earn_back_runs %}<li>earn-back open: {{ run.note }}</li>{% endfor %}
{% for flag in c.chronic_failures %}<li>chronic failure: {{ flag.note }}</li>{% endfor %}
</ul>
{% endif %}
</section>
{% endfor %}
</body>
</html>
"""


def render_html(document: Mapping[str, Any]) -> str:
    """The history as one self-contained HTML page (charts inline, no script, no network)."""
    from jinja2 import Environment, StrictUndefined
    from markupsafe import Markup

    context = with_texts(document)
    context["portfolio"] = dict(context["portfolio"]) if context["portfolio"] else None
    charts = add_charts(context)
    for c in context["contracts"]:
        if "chart" in c:
            c["chart"] = Markup(c["chart"])  # pygal escapes its text
    if context["portfolio"]:
        for key in ("credits_chart", "worst_chart"):
            if key in context["portfolio"]:
                context["portfolio"][key] = Markup(context["portfolio"][key])
            else:
                context["portfolio"][key] = None
    for c in context["contracts"]:
        c.setdefault("chart", None)
    env = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True,
                      undefined=StrictUndefined, keep_trailing_newline=True)
    template = env.from_string(_PAGE)
    return template.render(**context, charts=charts, charts_hint=CHARTS_HINT, money=money,
                           span=span, version_text=version_text,
                           to_date_text=to_date_text, parties_text=parties_text,
                           money_columns=MONEY)
