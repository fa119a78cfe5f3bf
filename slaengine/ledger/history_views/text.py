"""The history as plain text: aligned columns, for a terminal or a text file."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from slaengine.ledger.history_views.shared import (
    money,
    parties_text,
    span,
    to_date_text,
    version_text,
    with_texts,
)
from slaengine.ledger.report import MONEY
from slaengine.text import printable

__all__ = ["render_text"]


def _grid(header: Sequence[str], rows: Sequence[Sequence[str]], indent: int = 2) -> list[str]:
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows, strict=True)]
    line = " " * indent + "  ".join(f"{{:<{w}}}" for w in widths)
    return [line.format(*header).rstrip(),
            *(line.format(*row).rstrip() for row in rows)]


def render_text(document: Mapping[str, Any]) -> str:
    """The history as plain text, for a terminal or a text file."""
    context = with_texts(document)
    ledger = context["ledger"]
    out = [f"History of {ledger['path']}: {ledger['entries']} entries"
           + (f", head {ledger['head']}" if ledger["head"] else "")]
    portfolio_ = context["portfolio"]
    if portfolio_:
        out += ["", "Portfolio: vendors"]
        out += _grid(("vendor", "contracts", "clients", "periods", "failed", "credits to date",
                      "net to date", "restated", "earn-backs open", "chronic"),
                     [(v["vendor"], ", ".join(v["contracts"]), ", ".join(v["clients"]) or "—",
                       span(v["periods"]), str(v["failed"]), to_date_text(v, "credits"),
                       to_date_text(v, "net"), str(v["restatements"]),
                       str(v["open_earn_backs"]), str(v["chronic_failures"]))
                      for v in portfolio_["vendors"]])
        out += ["", "Portfolio: contracts"]
        out += _grid(("contract", "vendor", "periods", "failed", "year", "credits in year",
                      "net in year", "restated", "earn-backs open", "chronic"),
                     [(p["id"], p["vendor"] or "—", span(p["periods"]), str(p["failed"]),
                       p["year"] or "—",
                       money(p["year_credits"], p["currency"]),
                       money(p["year_net"], p["currency"]), str(p["restatements"]),
                       str(p["open_earn_backs"]), str(p["chronic_failures"]))
                      for p in portfolio_["contracts"]])
        if portfolio_["worst_service_levels"]:
            out += ["", "Worst service levels"]
            out += _grid(("vendor", "contract", "service level", "periods failed", "critical",
                          "credits", "failed in"),
                         [(w["vendor"], w["contract"], w["service_level"], str(w["failed"]),
                           str(w["critical"]), money(w["credits"], w["currency"]),
                           ", ".join(w["periods"])) for w in portfolio_["worst_service_levels"]])
    for c in context["contracts"]:
        out += ["", f"Contract {c['id']}: periods {span(c['periods'])}"
                + (f", closed {', '.join(c['closed_periods'])}" if c["closed_periods"] else ""),
                f"  {parties_text(c)}"]
        for v in c["versions"]:
            out.append(f"  version {version_text(v)}: {', '.join(v['periods'])}")
        for level in c["service_levels"]:
            out += ["", f"  {level['id']} ({level['metric']}): failed "
                    f"{len(level['failed_periods'])} of {len({r['period'] for r in level['rows']})}"
                    f" periods, {level['failures_in_a_row']} in a row at the end"
                    + (f", met {level['met_since_last_failure']} since the last failure"
                       if level["met_since_last_failure"] is not None else "")]
            out += _grid(("period", "segment", "value", "target", "status", "version", "credit",
                          "notes"),
                         [(r["period"], r["segment_text"], r["value_text"], r["target"],
                           r["status"], r["version_text"], r["credit_text"], r["notes"])
                          for r in level["rows"]], indent=4)
        if c["restatements"]:
            out += ["", "  Restatements"]
            for r in c["restatements"]:
                out.append(f"    {r['period']}: entry {r['entry']} restates entry "
                           f"{r['original_entry']}: {r['reason']}")
                out += [f"      {line}" for line in r["lines"]]
        if c["credit_periods"]:
            out += ["", f"  Credits ({c['currency']})"]
            out += _grid(("period", *MONEY), [(p["period"], *(money(p[n]) for n in MONEY))
                                              for p in c["credit_periods"]], indent=4)
            for y in c["credit_years"]:
                out.append(f"    contract year {y['year']} to date: after caps "
                           f"{money(y['after_caps'])}, earned back {money(y['earned_back'])}, "
                           f"net {money(y['net'])} {c['currency']}")
        for run in c["earn_back_runs"]:
            out.append(f"  earn-back open: {run['note']}")
        for flag in c["chronic_failures"]:
            out.append(f"  chronic failure: {flag['note']}")
    return printable("\n".join(out)) + "\n"
