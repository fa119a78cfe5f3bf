"""The texts every rendering of the history shares: money, a span of periods, parties,
versions, a trail row's notes and a restatement's differences, and the document with each trail
row's texts added (:func:`with_texts`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from slaengine.readable import format_value

__all__ = ["COLOURS", "SYMBOLS", "difference_text", "money", "parties_text", "segment_text",
           "span", "to_date_text", "trail_notes", "value_text", "version_text", "with_texts"]

SYMBOLS = {"met": "✓", "breached": "✗", "critical": "‼", "insufficient_data": "?"}
"""A verdict status's mark in the tables."""
COLOURS = {"met": "#1a7f37", "breached": "#b35900", "critical": "#c62828",
           "insufficient_data": "#6e7781"}
"""A verdict status's colour on the page."""


def money(amount: Decimal | None, currency: str | None = None) -> str:
    """``12,500.00`` (``12,500.00 EUR`` with a currency); ``—`` for none."""
    if amount is None:
        return "—"
    text = f"{amount:,}"
    return f"{text} {currency}" if currency else text


def value_text(row: Mapping[str, Any], unit: str) -> str:
    """A trail row's measured value, as people read it (``45min``, ``93.4%``, ``4.21``)."""
    return format_value(row["value"], unit)


def segment_text(segment: Mapping[str, Any]) -> str:
    """``region=EU, tier=—``: a segment's fields, ``—`` for a missing value."""
    return ", ".join(f"{k}={'—' if v is None else v}" for k, v in segment.items())


def to_date_text(vendor: Mapping[str, Any], field: str) -> str:
    """A vendor's ``credits`` or ``net`` to date, per currency: ``1,050.00 USD (2026)``."""
    return "; ".join(f"{money(t[field], t['currency'])} ({', '.join(t['years'])})"
                     for t in vendor["to_date"]) or "—"


def parties_text(contract: Mapping[str, Any]) -> str:
    """``Client Client Ltd, vendor Vendor Inc``; said so where the ledger holds neither."""
    if contract["vendor"] is None and contract["client"] is None:
        return "Client and vendor not recorded (entries written before the ledger held them)"
    return f"Client {contract['client'] or '—'}, vendor {contract['vendor'] or '—'}"


def version_text(row: Mapping[str, Any]) -> str:
    """``2 (from 2026-04-01)``, ``2``, or ``—`` for a contract without versions."""
    if row.get("version") is None:
        return "—"
    return row["version"] + (f" (from {row['effective_from']})" if row.get("effective_from")
                             else "")


def trail_notes(row: Mapping[str, Any]) -> str:
    """What to know about a period's verdict besides its status: a changed target, a
    restatement, closed, provisional."""
    notes = []
    change = row.get("target_changed")
    if change:
        notes.append(f"target changed from {change['target']}"
                     + (f" (minimum {change['minimum']})" if change.get("minimum") else ""))
    if row["restated"]:
        notes.append("restated")
    if row["closed"]:
        notes.append("closed")
    if row["provisional"]:
        notes.append("provisional")
    return "; ".join(notes)


def difference_text(difference: Mapping[str, Any]) -> str:
    """``csat: breached 3.8 (credit 200.00) -> met 4.0``."""

    def side(found: Mapping[str, Any] | None) -> str:
        if found is None:
            return "no verdict"
        text = f"{found.get('status')} {found.get('value') or '—'}"
        return text + (f" (credit {found['credit']})" if found.get("credit") else "")

    segment = segment_text(difference.get("segment") or {})
    name = difference.get("service_level", "") + (f" ({segment})" if segment else "")
    return f"{name}: {side(difference.get('old'))} -> {side(difference.get('new'))}"


def span(periods: Sequence[str]) -> str:
    """``2026-01 .. 2026-06``, the one period, or ``—`` for none."""
    if not periods:
        return "—"
    return periods[0] if len(periods) == 1 else f"{periods[0]} .. {periods[-1]}"


def with_texts(document: Mapping[str, Any]) -> dict[str, Any]:
    """The document with each trail row's texts, for the templates."""
    contracts = []
    for c in document["contracts"]:
        levels = []
        for level in c["service_levels"]:
            rows = [{**row, "value_text": value_text(row, level["unit"]),
                     "segment_text": segment_text(row["segment"]),
                     "version_text": version_text(row), "notes": trail_notes(row),
                     "symbol": SYMBOLS[row["status"]], "colour": COLOURS[row["status"]],
                     "credit_text": money(row["credit"]) if row["credit"] else ""}
                    for row in level["trail"]]
            levels.append({**level, "rows": rows})
        restatements = [{**r, "lines": [difference_text(d) for d in r["differences"]]}
                        for r in c["restatements"]]
        contracts.append({**c, "service_levels": levels, "restatements": restatements})
    return {**document, "contracts": contracts}
