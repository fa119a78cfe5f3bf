"""The history as Markdown (GitHub's tables); text from contracts and reasons escaped."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from slaengine.ledger.history_views.shared import (
    money,
    parties_text,
    span,
    to_date_text,
    with_texts,
)
from slaengine.ledger.report import MONEY
from slaengine.text import printable

__all__ = ["render_markdown"]


def _cell(text: Any) -> str:
    """A Markdown table cell: pipes, backslashes and markup characters escaped, one line."""
    value = "" if text is None else str(text)
    value = re.sub(r"([\\|`*_\[\]<>#])", r"\\\1", value)
    return printable(value.replace("\n", " "), newlines=False)


def _md_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(_cell(x) for x in row) + " |" for row in rows)]


def render_markdown(document: Mapping[str, Any]) -> str:
    """The history as Markdown (GitHub's tables); text from contracts and reasons escaped."""
    context = with_texts(document)
    out = [f"# History of {_cell(context['ledger']['path'])}", ""]
    portfolio_ = context["portfolio"]
    if portfolio_:
        out += ["## Portfolio", "", "### Vendors", ""]
        out += _md_table(("vendor", "contracts", "clients", "periods", "periods failed",
                          "credits to date", "net to date", "restatements", "earn-backs open",
                          "chronic"),
                         [(v["vendor"], ", ".join(v["contracts"]), ", ".join(v["clients"]) or "—",
                           span(v["periods"]), v["failed"], to_date_text(v, "credits"),
                           to_date_text(v, "net"), v["restatements"], v["open_earn_backs"],
                           v["chronic_failures"]) for v in portfolio_["vendors"]])
        out += ["", "### Contracts", ""]
        out += _md_table(("contract", "vendor", "periods", "periods failed", "year",
                          "credits in year", "net in year", "restatements", "earn-backs open",
                          "chronic"),
                         [(p["id"], p["vendor"] or "—", span(p["periods"]), p["failed"],
                           p["year"] or "—",
                           money(p["year_credits"], p["currency"]),
                           money(p["year_net"], p["currency"]), p["restatements"],
                           p["open_earn_backs"], p["chronic_failures"])
                          for p in portfolio_["contracts"]])
        out += ["", "### Worst service levels", ""]
        out += _md_table(("vendor", "contract", "service level", "periods failed", "critical",
                          "credits"),
                         [(w["vendor"], w["contract"], w["service_level"], w["failed"],
                           w["critical"], money(w["credits"], w["currency"]))
                          for w in portfolio_["worst_service_levels"]])
        out.append("")
    for c in context["contracts"]:
        out += [f"## {_cell(c['id'])}", "", _cell(parties_text(c)) + ".", ""]
        for level in c["service_levels"]:
            out += [f"### {_cell(level['id'])}", "",
                    f"Periods failed: {len(level['failed_periods'])}, "
                    f"{level['failures_in_a_row']} in a row at the end.", ""]
            out += _md_table(("period", "segment", "value", "target", "status", "version",
                              "credit", "notes"),
                             [(r["period"], r["segment_text"], r["value_text"], r["target"],
                               f"{r['symbol']} {r['status']}", r["version_text"],
                               r["credit_text"], r["notes"]) for r in level["rows"]])
            out.append("")
        if c["restatements"]:
            out += ["### Restatements", ""]
            out += _md_table(("period", "entry", "restates", "reason", "differences"),
                             [(r["period"], r["entry"], r["original_entry"], r["reason"],
                               "; ".join(r["lines"])) for r in c["restatements"]])
            out.append("")
        if c["credit_periods"]:
            out += [f"### Credits ({_cell(c['currency'])})", ""]
            out += _md_table(("period", *MONEY), [(p["period"], *(money(p[n]) for n in MONEY))
                                                  for p in c["credit_periods"]])
            out += ["", *_md_table(("contract year", *MONEY),
                             [(y["year"], *(money(y[n]) for n in MONEY))
                              for y in c["credit_years"]])] if c["credit_years"] else []
            out.append("")
        for run in c["earn_back_runs"]:
            out.append(f"- earn-back open: {_cell(run['note'])}")
        for flag in c["chronic_failures"]:
            out.append(f"- chronic failure: {_cell(flag['note'])}")
    return "\n".join(out).rstrip("\n") + "\n"
