"""The HTML report of each example contract, opened in a real browser (headless Chromium).

Each report is loaded from its file at a desktop (1280 px) and a phone (420 px) viewport width,
and checked for what only a browser can tell: no console error and no script error; no request
for anything but the file itself (the page must work offline); nothing wider than the viewport
and no element spilling out of its card (wide tables scroll inside their own box, and at desktop
width none needs to); one inline SVG chart per service level and segment, each with its dots,
titled with its service level (not pygal's "Pygal"), its dots inside the plot, its text inside
the chart and no two texts (value labels, axis labels, legend) overlapping each other or the
target and minimum lines.

The browser is Debian's ``chromium`` driven by ``playwright`` (the ``browser`` extra) through
``executable_path``, so no browser is downloaded; ``.ci/run`` installs both. Without them the
module is skipped; ``-m "not browser"`` deselects it.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

sync_api = pytest.importorskip(
    "playwright.sync_api", reason='playwright is not installed: pip install -e ".[browser]"')
CHROMIUM = Path(os.environ.get("SLAENGINE_CHROMIUM", "/usr/bin/chromium"))
if not CHROMIUM.is_file():
    pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install chromium (or set SLAENGINE_CHROMIUM)",
                allow_module_level=True)

from slaengine.contract import load_contract  # noqa: E402
from slaengine.engine import evaluate  # noqa: E402
from slaengine.pluginmanager import build_registry  # noqa: E402
from slaengine.plugins.reporters.html import HtmlReporter  # noqa: E402
from slaengine.present import evaluation_to_dict  # noqa: E402

CONTRACTS = sorted((Path(__file__).parent.parent / "contracts").glob("*.toml"))
WIDTHS = (1280, 420)

# The flags that keep Chromium off the network of its own accord (updates, sync, safe browsing)
# and let it run as root in a container without a GPU.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-dev-shm-usage"]

# What the page looks like to a reader, measured in the browser in one pass.
MEASURE = r"""
() => {
  const W = window.innerWidth;
  const name = e => {
    const cls = typeof e.className === 'string' && e.className.trim()
      ? '.' + e.className.trim().split(/\s+/).join('.') : '';
    return e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + cls;
  };
  const where = e => {
    const parts = [];
    for (let x = e; x && x !== document.body; x = x.parentElement) parts.unshift(name(x));
    return parts.join(' > ');
  };
  const clips = e => getComputedStyle(e).overflowX !== 'visible';
  const clipped = e => {
    for (let a = e.parentElement; a && a !== document.body; a = a.parentElement)
      if (clips(a)) return true;
    return false;
  };
  const wide = [], spills = [], scrolls = [];
  for (const e of document.querySelectorAll('body *')) {
    if (e.closest('svg') && e.tagName.toLowerCase() !== 'svg') continue;
    const r = e.getBoundingClientRect();
    if (!r.width && !r.height) continue;
    if (!clipped(e) && (r.right > W + 0.5 || r.left < -0.5))
      wide.push(`${where(e)} spans ${Math.round(r.left)}..${Math.round(r.right)} px`);
    const p = e.parentElement;
    if (p && p !== document.body && !clips(p)) {
      const pr = p.getBoundingClientRect();
      if (r.right > pr.right + 0.5 || r.left < pr.left - 0.5)
        spills.push(`${where(e)} sticks out of its ${name(p)} by ` +
                    `${Math.round(Math.max(r.right - pr.right, pr.left - r.left))} px`);
    }
    if (clips(e) && e.scrollWidth > e.clientWidth + 1)
      scrolls.push({where: where(e), section: e.closest('section')?.id,
                    scroll: e.classList.contains('scroll') || e.tagName === 'PRE',
                    by: e.scrollWidth - e.clientWidth});
  }
  // Text may be rotated (the period labels of a long series): each text is the quadrilateral
  // its box becomes on screen, and two shapes touch unless some edge's normal separates them.
  const quad = el => {
    const b = el.getBBox(), m = el.getScreenCTM();
    return [[b.x, b.y], [b.x + b.width, b.y], [b.x + b.width, b.y + b.height],
            [b.x, b.y + b.height]].map(([x, y]) => [m.a * x + m.c * y + m.e,
                                                   m.b * x + m.d * y + m.f]);
  };
  const rect = (r, pad = 0) => [[r.left, r.top - pad], [r.right, r.top - pad],
                                [r.right, r.bottom + pad], [r.left, r.bottom + pad]];
  const hit = (p, q) => {
    for (const shape of [p, q]) for (let i = 0; i < 4; i++) {
      const [x1, y1] = shape[i], [x2, y2] = shape[(i + 1) % 4];
      const nx = y1 - y2, ny = x2 - x1, len = Math.hypot(nx, ny) || 1;
      const along = pts => pts.map(([x, y]) => (x * nx + y * ny) / len);
      const a = along(p), b = along(q);
      if (Math.max(...a) <= Math.min(...b) + 0.5 || Math.max(...b) <= Math.min(...a) + 0.5)
        return false;
    }
    return true;
  };
  const inside = (pts, r) => pts.every(([x, y]) => x >= r.left - 0.5 && x <= r.right + 0.5 &&
                                                   y >= r.top - 0.5 && y <= r.bottom + 0.5);
  const charts = [...document.querySelectorAll('#service-levels figure svg')].map(svg => {
    const box = svg.getBoundingClientRect();
    const title = svg.querySelector(':scope > title');
    const texts = [...svg.querySelectorAll('text')]
      .filter(t => t.textContent.trim() && t.getBoundingClientRect().width > 0);
    const lines = [...svg.querySelectorAll(
      'g.plot:not(.overlay):not(.text-overlay) > g.series:not(.serie-0) > path')];
    const clashes = [];
    const shapes = texts.map(quad);
    texts.forEach((t, i) => {
      if (!inside(shapes[i], box)) clashes.push(`"${t.textContent}" runs off the chart`);
      texts.slice(i + 1).forEach((u, j) => {
        if (hit(shapes[i], shapes[i + 1 + j]))
          clashes.push(`"${t.textContent}" overlaps "${u.textContent}"`);
      });
      lines.forEach(l => {
        if (hit(shapes[i], rect(l.getBoundingClientRect(), 1)))
          clashes.push(`"${t.textContent}" crosses the ` +
                       (l.parentElement.matches('.serie-1') ? 'target' : 'minimum') + ' line');
      });
    });
    const plot = svg.querySelector('g.plot > rect.background');
    const area = plot ? plot.getBoundingClientRect() : box;
    svg.querySelectorAll('circle.dot').forEach(d => {
      const c = d.getBoundingClientRect(), x = (c.left + c.right) / 2, y = (c.top + c.bottom) / 2;
      if (x < area.left - 0.5 || x > area.right + 0.5 || y < area.top - 0.5 ||
          y > area.bottom + 0.5) clashes.push(`a dot lies outside the plot at ${Math.round(y)}`);
    });
    return {
      id: svg.id, width: box.width, height: box.height,
      title: title ? title.textContent : null,
      dots: svg.querySelectorAll('circle.dot').length,
      lines: lines.length,
      paths: svg.querySelectorAll('path').length,
      pygal: [...svg.querySelectorAll('title, desc')].map(t => t.textContent)
        .filter(t => /pygal/i.test(t)),
      clashes,
    };
  });
  return {width: W, scrollWidth: document.documentElement.scrollWidth,
          wide, spills, scrolls, charts};
}
"""


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, dict[str, Any]]:
    """Each example's report.html on disk, with the evaluation it shows."""
    registry = build_registry()
    folder = tmp_path_factory.mktemp("reports")
    out = {}
    for path in CONTRACTS:
        evaluation = evaluate(load_contract(path, registry), registry)
        stream = io.StringIO()
        HtmlReporter().write(evaluation, stream)
        page = folder / f"{path.stem}.html"
        page.write_text(stream.getvalue(), encoding="utf-8")
        out[path.stem] = {"file": page, "document": evaluation_to_dict(evaluation)}
    return out


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                              args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def open_page(browser, page_file: Path, width: int) -> dict[str, Any]:
    """Load a page at a viewport width; what it logged, what it asked for and how it looks."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    page.on("request", lambda request: requests.append(request.url))
    # Whatever the page asks of the network is recorded above and refused here, so a page that
    # does not work offline fails the check instead of waiting on this machine's closed network.
    page.route(re.compile(r"^(?!file:|data:)"), lambda route: route.abort())
    try:
        page.goto(page_file.resolve().as_uri(), wait_until="load")
        page.wait_for_load_state("networkidle")
        measured = page.evaluate(MEASURE)
    finally:
        page.close()
    own = page_file.resolve().as_uri()
    foreign = [url for url in requests if url != own and not url.startswith("data:")]
    return {"errors": errors, "requests": foreign, **measured}


@pytest.fixture(scope="module")
def opened(browser, reports):
    """Each report opened once per width, on first use."""
    seen: dict[tuple[str, int], dict[str, Any]] = {}

    def get(name: str, width: int) -> dict[str, Any]:
        if (name, width) not in seen:
            seen[name, width] = open_page(browser, reports[name]["file"], width)
        return seen[name, width]

    return get


EACH = pytest.mark.parametrize(("name", "width"),
                               [(path.stem, width) for path in CONTRACTS for width in WIDTHS])


@EACH
def test_no_console_error_and_no_network_request(opened, name, width):
    page = opened(name, width)
    assert page["errors"] == []
    assert page["requests"] == [], "the report must open offline"


@EACH
def test_nothing_is_wider_than_the_viewport_or_its_card(opened, name, width):
    page = opened(name, width)
    assert page["width"] == width
    assert page["scrollWidth"] <= width, "the page scrolls sideways"
    assert page["wide"] == []
    assert page["spills"] == []
    if width >= 1280:
        # At desktop width every table fits its card, none hiding columns behind a scroll bar;
        # only the scorecard, one column per period, may grow wider than the screen.
        assert [s for s in page["scrolls"] if s["section"] != "scorecard"] == []
    else:
        # On a phone only the tables' own scroll boxes (and preformatted text) scroll.
        assert [s for s in page["scrolls"] if not s["scroll"]] == []


def expected_charts(document: dict[str, Any]) -> dict[str, int]:
    """Chart title prefix (``level`` or ``level (k=v, …)``) -> dots it must show (one per
    period with a value)."""
    charts: dict[str, int] = {}
    for verdict in document["verdicts"]:
        segment = ", ".join(f"{k}={'—' if v is None else v}"
                            for k, v in verdict["segment"].items())
        key = verdict["service_level"] + (f" ({segment})" if segment else "")
        charts[key] = charts.get(key, 0) + (verdict["value"] is not None)
    return charts


@EACH
def test_every_chart_is_drawn_and_titled_with_its_service_level(opened, reports, name, width):
    page = opened(name, width)
    document = reports[name]["document"]
    expected = expected_charts(document)
    levels = {v["service_level"] for v in document["verdicts"]}
    assert len(expected) >= len(levels) >= 2  # every example carries several levels
    drawn = {}
    for chart in page["charts"]:
        assert chart["pygal"] == [], chart["id"]
        assert chart["title"], f"{chart['id']} has no title"
        prefix = chart["title"].split(": ")[0]
        assert prefix not in drawn, f"two charts titled {prefix}"
        drawn[prefix] = chart["dots"]
        assert chart["width"] > 100 and chart["height"] > 50, chart
        assert chart["lines"] >= 1, f"{prefix}: no target line"
        assert chart["paths"] > chart["lines"], f"{prefix}: no value line"
    assert drawn == expected


@EACH
def test_chart_labels_do_not_overlap(opened, name, width):
    page = opened(name, width)
    assert page["charts"]
    clashes = {chart["title"]: chart["clashes"] for chart in page["charts"] if chart["clashes"]}
    assert clashes == {}


# ---------------------------------------------------------------- the checks catch what they seek

BROKEN = """<!DOCTYPE html><html><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="https://fonts.example.invalid/font.css"></head>
<body style="margin:0"><main>
<section style="width:300px"><table><tr><td style="white-space:nowrap">{wide}</td></tr></table>
</section>
<section id="service-levels"><figure><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 100"
 width="200" height="100"><title>Pygal</title>
<g class="plot"><g class="series serie-0"><path d="M0 50 L200 50"/></g>
<g class="series serie-1"><path d="M0 40 L200 40" stroke="blue"/></g></g>
<text x="10" y="44" font-size="12">88.9% ✓</text><text x="20" y="46" font-size="12">87%</text>
<circle class="dot" cx="10" cy="50" r="5"/><circle class="dot" cx="30" cy="160" r="5"/>
</svg></figure></section>
<script>console.error("broken"); undefinedFunction();</script>
</main></body></html>"""


def test_the_checks_catch_what_they_look_for(browser, tmp_path):
    page_file = tmp_path / "broken.html"
    page_file.write_text(BROKEN.format(wide="x" * 200), encoding="utf-8")
    page = open_page(browser, page_file, 420)
    assert any("broken" in e for e in page["errors"])
    assert any(e.startswith("uncaught:") for e in page["errors"])
    assert page["requests"] == ["https://fonts.example.invalid/font.css"]
    assert page["scrollWidth"] > 420
    assert any(w.startswith("main > section > table") for w in page["wide"])
    assert any("sticks out of its section" in s for s in page["spills"])
    (chart,) = page["charts"]
    assert chart["pygal"] == ["Pygal"]
    assert '"88.9% ✓" overlaps "87%"' in chart["clashes"]
    assert '"88.9% ✓" crosses the target line' in chart["clashes"]
    assert sum("a dot lies outside the plot" in c for c in chart["clashes"]) == 1


# ---------------------------------------------------------------- charts harder than the examples'


def crowded_level(unit: str, target: str, minimum: str | None, text: str) -> dict[str, Any]:
    return {"id": f"crowded-{unit}", "unit": unit, "metric": "sla_attainment", "target": target,
            "target_text": text, "minimum": minimum}


def cells(periods: list[str], values: list[float | None], shown) -> dict[str, Any]:
    return {p: {"value": v, "value_text": shown(v), "symbol": "✓", "colour": "#1a7f37",
                "label": "met"} for p, v in zip(periods, values, strict=True) if v is not None}


MONTHS = [f"2026-{m:02d}" for m in range(1, 13)]
WEEKS = [f"2026-W{w:02d}" for w in range(1, 27)]
RATE = "{:.1%}".format


def duration(seconds: float) -> str:
    days, rest = divmod(int(seconds), 86400)
    return f"{days}d {rest // 3600}h {rest % 3600 // 60}min"


HARD_CHARTS = {
    # twelve values within half a point of the target, the minimum just under them
    "hugging the target": (crowded_level("rate", ">= 80%", ">= 79.5%", "share >= 80%"), "",
                           MONTHS, [0.798 + 0.0005 * (i * 7 % 9) for i in range(12)], RATE),
    # long value labels on every month, alternately above and below the target
    "long labels": (crowded_level("duration", "p90 <= 5d", None, "p90 <= 5d"), "",
                    MONTHS, [5 * 86400 + (-1) ** i * 3700 * (i + 1) for i in range(12)],
                    duration),
    # a return that goes negative, with gaps
    "negative with gaps": (crowded_level("rate", ">= -50%", None, "value >= -50%"), "",
                           MONTHS[:6], [-0.2, None, -0.517, -0.359, None, -0.49], RATE),
    # legend entries too long for three columns, or for one
    "long legend": (crowded_level("rate", ">= 80%", ">= 70%",
                                  "share >= 80% within 1 business day, counted in support hours"),
                    "priority=urgent, channel=email, region=" + "north-america-east" * 4,
                    MONTHS[:3], [0.81, 0.79, 0.8], RATE),
    # half a year of weeks: no value labels, slanted period labels
    "many periods": (crowded_level("rate", ">= 85%", ">= 60%", "85% within 1h"), "",
                     WEEKS, [0.6 + 0.4 * ((i * 5) % 11) / 10 for i in range(26)], RATE),
    "one period": (crowded_level("rate", ">= 85%", None, "85% within 1h"), "",
                   MONTHS[:1], [0.85], RATE),
}


def test_hard_charts_keep_their_labels_apart_and_inside(browser, reports, tmp_path):
    from markupsafe import escape

    from slaengine.plugins.reporters.html import chart_svg

    figures = []
    for number, (level, segment_text, periods, values, shown) in enumerate(
            HARD_CHARTS.values(), start=1):
        segment = {"text": segment_text, "cells": cells(periods, values, shown)}
        figures.append(f"<figure>{chart_svg(level, segment, periods, 900 + number)}</figure>")
    # The charts go into a real report, so that they are drawn with the report's own styles.
    page_text = reports["isp-helpdesk"]["file"].read_text(encoding="utf-8")
    page_text = page_text.replace('<div class="levels">', '<div class="levels">'
                                  '<div class="level-card wide"><div class="charts">'
                                  + "".join(figures) + "</div></div>", 1)
    assert str(escape("crowded-rate")) in page_text
    page_file = tmp_path / "hard.html"
    page_file.write_text(page_text, encoding="utf-8")
    for width in WIDTHS:
        page = open_page(browser, page_file, width)
        hard = [c for c in page["charts"] if c["title"].startswith("crowded-")]
        assert len(hard) == len(HARD_CHARTS)
        for chart, values in zip(hard, (case[3] for case in HARD_CHARTS.values()), strict=True):
            assert chart["dots"] == sum(v is not None for v in values), chart["title"]
            assert chart["clashes"] == [], chart["title"]
        assert page["wide"] == [] and page["spills"] == []
