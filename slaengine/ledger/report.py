"""A ledger's history for people and programs: what ``slaengine history`` shows.

:func:`history_document` reads an open ledger (:mod:`slaengine.ledger.read`) into one document:

- per contract, per service level, the **verdict trail**: each period's current verdict (a
  closed period's latest restatement) with the contract version it was evaluated under, and
  where the target or minimum changed from the period before;
- the **restatements**: the period, the entry restated and the restating one, the reason and
  the differences (old and new status, value and credit);
- the **credits**: each period's current totals, and per contract year the credits to date,
  the sum of those totals (so a restated March and an April evaluated before it both count);
- the **open earn-back runs** and **chronic failures** as the contract's last evaluation left
  them, and per service level the failures counted from the trail (in all, in a row at the end,
  and the periods met in a row since the last failure);
- with several contracts, the **portfolio**: the vendors side by side (each vendor's contracts
  and their credits to date summed), the contracts side by side, and the worst service levels
  by failures, each named with its vendor. A contract recorded before the ledger held client
  and vendor stands for itself: its id in place of the vendor.

Money stays :class:`~decimal.Decimal` in the document; :func:`history_to_json` writes it as
strings. :func:`render_text`, :func:`render_markdown` and :func:`render_html` render it; the page
is self-contained (inline SVG charts when pygal is installed, no script, no network reference)
and autoescaped, so names from contracts and reasons typed by people stay text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from html import escape
from typing import Any

from slaengine.errors import UsageError, did_you_mean
from slaengine.readable import format_value
from slaengine.text import printable
from slaengine.years import placing_day

HISTORY_SCHEMA_VERSION = 1
"""The version of the history document's shape (``schema_version`` in its JSON)."""

FAILED = ("breached", "critical")
STATUSES = ("met", "breached", "critical", "insufficient_data")
MONEY = ("before_caps", "capped", "after_caps", "earned_back", "bonuses", "net")
WORST = 10
"""How many service levels the portfolio lists as the worst."""

SYMBOLS = {"met": "✓", "breached": "✗", "critical": "‼", "insufficient_data": "?"}
COLOURS = {"met": "#1a7f37", "breached": "#b35900", "critical": "#c62828",
           "insufficient_data": "#6e7781"}
CHARTS_HINT = 'pip install "slaengine[charts]"'


# --------------------------------------------------------------------------- the document


def history_document(ledger: Any, contract: str | None = None) -> dict[str, Any]:
    """The history of every contract in ``ledger`` (an open :class:`~slaengine.ledger.Ledger`),
    or of ``contract`` only; with several contracts, their portfolio too.

    Raises :class:`UsageError` for a ``contract`` the ledger holds no entry of, suggesting the
    closest id.
    """
    entries = ledger.entries().to_pylist()
    known = list(dict.fromkeys(e["contract_id"] for e in entries))
    if contract is not None and contract not in known:
        raise UsageError(f'--contract: the ledger holds no entry of contract "{contract}"',
                         file=ledger.path, suggestion=did_you_mean(contract, known),
                         accepted=known)
    ids = [contract] if contract is not None else known
    contracts = [_contract(ledger, cid, [e for e in entries if e["contract_id"] == cid])
                 for cid in ids]
    return {
        "schema_version": HISTORY_SCHEMA_VERSION,
        "ledger": {"path": str(ledger.path), "entries": len(entries),
                   "head": entries[-1]["entry_hash"] if entries else None},
        "contracts": contracts,
        "portfolio": portfolio(contracts) if len(contracts) > 1 else None,
    }


def _contract(ledger: Any, cid: str, entries: list[dict[str, Any]]) -> dict[str, Any]:
    by_seq = {e["seq"]: e for e in entries}
    verdicts = ledger.verdicts(cid, latest=True).to_pylist()
    credits = ledger.credits(cid, latest=True).to_pylist()
    totals = ledger.credit_totals(cid, latest=True).to_pylist()
    closed = sorted({r["period"] for r in ledger.closed_periods(cid).to_pylist()})
    restated = ledger.restatements(cid).to_pylist()
    evaluations = [e for e in entries if e["kind"] == "evaluation"]
    last = evaluations[-1]["seq"] if evaluations else None
    flags = [f for f in ledger.credit_flags(cid).to_pylist() if f["entry"] == last]
    period_totals = sorted((t for t in totals if t["scope"] == "period"),
                           key=lambda t: t["label"])
    currency = next((t["currency"] for t in totals), None)
    zero = period_totals[0]["net"] * 0 if period_totals else Decimal(0)  # 0.00: the scale
    levels = _levels(verdicts, credits, by_seq, {r["period"] for r in restated}, closed, zero)
    parties = [e for e in entries if e["contract_vendor"] is not None]
    return {
        "id": cid,
        "client": parties[-1]["contract_client"] if parties else None,
        "vendor": parties[-1]["contract_vendor"] if parties else None,
        "currency": currency,
        "versions": _versions(evaluations, verdicts),
        "periods": sorted({v["period"] for v in verdicts}),
        "closed_periods": closed,
        "entries": [e["seq"] for e in entries],
        "last_evaluation": last,
        "service_levels": levels,
        "restatements": [_restatement(r, by_seq) for r in restated],
        "credit_periods": [{"period": t["label"], "entry": t["entry"],
                            **{name: t[name] for name in MONEY},
                            "provisional": bool(t["provisional"])} for t in period_totals],
        "credit_years": _years(period_totals, totals, currency),
        "earn_back_runs": [_flag(f) for f in flags if f["kind"] == "earn-back-pending"],
        "chronic_failures": [_flag(f) for f in flags if f["kind"] == "chronic-failure"],
    }


def _versions(evaluations: Sequence[Mapping[str, Any]],
              verdicts: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The contract versions the current verdicts were evaluated under, in period order, each
    with its ``effective_from`` and periods."""
    effective = {e["seq"]: e["contract_effective_from"] for e in evaluations}
    found: dict[Any, dict[str, Any]] = {}
    for v in sorted(verdicts, key=lambda v: v["period"]):
        key = (v["contract_version"], effective.get(v["entry"]))
        version = found.setdefault(key, {"version": key[0], "effective_from": key[1],
                                         "periods": []})
        if v["period"] not in version["periods"]:
            version["periods"].append(v["period"])
    return list(found.values())


def _figure(text: str | None, unit: str) -> Decimal | float | None:
    """A stored figure for display: money exactly, an ``n/d`` fraction or any other figure as
    the float it is."""
    if text is None:
        return None
    if "/" in text:
        exact = Fraction(text)
        return Decimal(exact.numerator) / exact.denominator if unit == "money" else float(exact)
    return Decimal(text) if unit == "money" else float(text)


def _levels(verdicts: Sequence[Mapping[str, Any]], credits: Sequence[Mapping[str, Any]],
            by_seq: Mapping[int, Mapping[str, Any]], restated: set[str],
            closed: Sequence[str], zero: Decimal) -> list[dict[str, Any]]:
    """Per service level (in the order first recorded): its trail and its counters."""
    charged: dict[tuple[str, str], Decimal] = {}
    for line in credits:
        if line["kind"] == "credit" and line["service_level"]:
            key = (line["service_level"], line["period"])
            charged[key] = charged.get(key, Decimal(0)) + line["amount"]
    levels: dict[str, dict[str, Any]] = {}
    for v in sorted(verdicts, key=lambda v: (v["period"], v["entry"], v["position"])):
        level = levels.setdefault(v["service_level"], {
            "id": v["service_level"], "metric": v["metric"], "unit": v["unit"],
            "statistic": v["statistic"], "trail": [], "counts": dict.fromkeys(STATUSES, 0)})
        segment = dict(v["segment"])
        previous = next((row for row in reversed(level["trail"])
                         if row["segment"] == segment), None)
        changed = previous is not None and (previous["target"], previous["minimum"]) != (
            v["target"], v["minimum"])
        entry = by_seq.get(v["entry"], {})
        level["trail"].append({
            "period": v["period"], "segment": segment, "status": v["status"],
            "value": _figure(v["value"], v["unit"]), "target": v["target"],
            "minimum": v["minimum"], "version": v["contract_version"],
            "effective_from": entry.get("contract_effective_from"), "entry": v["entry"],
            "closed": v["period"] in closed, "restated": v["period"] in restated,
            "provisional": bool(v["provisional"]),
            "target_changed": ({"target": previous["target"], "minimum": previous["minimum"]}
                               if changed and previous is not None else None),
            "credit": charged.get((v["service_level"], v["period"])),
        })
        level["counts"][v["status"]] += 1
    for level in levels.values():
        level.update(_counters(level["trail"]))
        level["credits"] = sum((amount for (name, _), amount in charged.items()
                                if name == level["id"]), zero)
    return list(levels.values())


def _counters(trail: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A level's failures per period (a period failed when any segment of it did): the periods
    failed, how many in a row at the end, and the periods met in a row since the last one."""
    periods: dict[str, str] = {}
    for row in trail:
        now = periods.get(row["period"])
        if row["status"] in FAILED or now is None or (now == "met" and row["status"] != "met"):
            periods[row["period"]] = "failed" if row["status"] in FAILED else (
                now if now == "failed" else row["status"])
    order = sorted(periods)
    failed = [p for p in order if periods[p] == "failed"]
    in_a_row = met_since = 0
    for period in reversed(order):
        if periods[period] != "failed":
            break
        in_a_row += 1
    if failed:
        for period in reversed(order):
            if periods[period] != "met":
                break
            met_since += 1
    return {"failed_periods": failed, "failures_in_a_row": in_a_row,
            "met_since_last_failure": met_since if failed else None}


def _restatement(row: Mapping[str, Any], by_seq: Mapping[int, Mapping[str, Any]]) -> dict[str, Any]:
    entry = by_seq.get(row["entry"], {})
    return {"period": row["period"], "entry": row["entry"],
            "original_entry": row["original_entry"], "reason": row["reason"],
            "recorded_at": entry.get("recorded_at"),
            "differences": json.loads(row["differences"])}


def _flag(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"service_level": row["service_level"], "periods": list(row["periods"]),
            "note": row["note"], "entry": row["entry"]}


def _years(period_totals: Sequence[Mapping[str, Any]], totals: Sequence[Mapping[str, Any]],
           currency: str | None) -> list[dict[str, Any]]:
    """Per contract year, the credits to date: the sum of the current totals of its periods.

    A period's contract year is the year row of the entry holding its current totals that can
    hold it (the year it starts in, or the one before for a year that does not start on
    January 1st); ``recorded`` is that year's own total as the contract's last evaluation of it
    wrote it (it counts only the periods that evaluation could see)."""
    years_of: dict[int, list[str]] = {}
    for t in totals:
        if t["scope"] == "year":
            years_of.setdefault(t["entry"], []).append(t["label"])
    recorded = {t["label"]: t for t in totals if t["scope"] == "year"}
    found: dict[str, dict[str, Any]] = {}
    for t in period_totals:
        label = _year_of(t["label"], years_of.get(t["entry"], []))
        year = found.setdefault(label, {"year": label, "currency": currency, "periods": [],
                                        **{name: Decimal(0) for name in MONEY}})
        year["periods"].append(t["label"])
        for name in MONEY:
            year[name] += t[name]
    for label, year in found.items():
        mark = recorded.get(label)
        year["recorded"] = None if mark is None else {
            "entry": mark["entry"], **{name: mark[name] for name in MONEY}}
    return [found[label] for label in sorted(found)]


def _year_of(period: str, labels: Iterable[str]) -> str:
    """The contract-year label among ``labels`` that ``period`` can belong to; its calendar
    year when none is (or when more than one is, the year of its placing day)."""
    try:
        first = placing_day(period, _kind(period)).year
    except ValueError:
        return period[:4]
    fits = [label for label in labels
            if label == str(first) or re.fullmatch(rf"{first}/\d\d", label)
            or re.fullmatch(rf"{first - 1}/{first % 100:02d}", label)]
    return fits[0] if len(fits) == 1 else str(first)


def _kind(label: str) -> str:
    if "-W" in label:
        return "week"
    if "-Q" in label:
        return "quarter"
    return "month" if "-" in label else "year"


# --------------------------------------------------------------------------- the portfolio


def vendor_name(contract: Mapping[str, Any]) -> str:
    """The contract's vendor, or its id where the ledger holds no vendor for it."""
    return contract["vendor"] if contract["vendor"] is not None else contract["id"]


def portfolio(contracts: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The vendors and the contracts side by side, and the worst service levels across them by
    the periods they failed (then the critical verdicts, then the credits they cost)."""
    side = []
    worst = []
    for c in contracts:
        year = c["credit_years"][-1] if c["credit_years"] else None
        levels = c["service_levels"]
        side.append({
            "id": c["id"], "client": c["client"], "vendor": c["vendor"],
            "currency": c["currency"], "periods": c["periods"],
            "service_levels": len(levels),
            "failed": sum(len(level["failed_periods"]) for level in levels),
            "counts": {s: sum(level["counts"][s] for level in levels) for s in STATUSES},
            "year": None if year is None else year["year"],
            "year_credits": None if year is None else year["after_caps"],
            "year_net": None if year is None else year["net"],
            "credits": sum((p["after_caps"] for p in c["credit_periods"]), Decimal(0)),
            "restatements": len(c["restatements"]),
            "open_earn_backs": len(c["earn_back_runs"]),
            "chronic_failures": len(c["chronic_failures"]),
        })
        worst += [{"vendor": vendor_name(c), "contract": c["id"], "service_level": level["id"],
                   "failed": len(level["failed_periods"]),
                   "critical": level["counts"]["critical"],
                   "periods": level["failed_periods"], "credits": level["credits"],
                   "currency": c["currency"]}
                  for level in levels if level["failed_periods"]]
    worst.sort(key=lambda w: (-w["failed"], -w["critical"], -w["credits"], w["contract"],
                              w["service_level"]))
    return {"vendors": vendors(contracts, side), "contracts": side,
            "worst_service_levels": worst[:WORST]}


def vendors(contracts: Sequence[Mapping[str, Any]],
            side: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per vendor (in the order its first contract was recorded): its contracts and
    clients, and summed over its contracts the periods failed, the credits to date and net of
    each contract's latest contract year (per currency: amounts in two currencies are never
    added), the restatements, open earn-backs and chronic failures. A contract without a
    recorded vendor is a row of its own, named by its id (``vendor_known`` false)."""
    found: dict[tuple[bool, str], dict[str, Any]] = {}
    for c, p in zip(contracts, side, strict=True):
        key = (c["vendor"] is not None, vendor_name(c))
        row = found.setdefault(key, {
            "vendor": key[1], "vendor_known": key[0], "clients": [], "contracts": [],
            "periods": [], "failed": 0, "to_date": {}, "restatements": 0,
            "open_earn_backs": 0, "chronic_failures": 0})
        row["contracts"].append(c["id"])
        if c["client"] is not None and c["client"] not in row["clients"]:
            row["clients"].append(c["client"])
        row["periods"] = sorted({*row["periods"], *c["periods"]})
        for name in ("failed", "restatements", "open_earn_backs", "chronic_failures"):
            row[name] += p[name]
        if p["year_credits"] is not None:
            money_ = row["to_date"].setdefault(p["currency"], {
                "currency": p["currency"], "years": [], "credits": Decimal(0),
                "net": Decimal(0)})
            if p["year"] not in money_["years"]:
                money_["years"].append(p["year"])
            money_["credits"] += p["year_credits"]
            money_["net"] += p["year_net"]
    return [{**row, "to_date": list(row["to_date"].values())} for row in found.values()]


# --------------------------------------------------------------------------- JSON


def history_to_json(document: Mapping[str, Any]) -> str:
    """The document as strict JSON: money as strings, every other figure a finite number or
    null."""

    def plain(value: Any) -> Any:
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, float):
            return value if value == value and abs(value) != float("inf") else None
        if isinstance(value, Mapping):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        return value

    return json.dumps(plain(document), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def history_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of :func:`history_to_json`'s document."""
    money = {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$"}
    text = {"type": "string"}
    maybe_text = {"type": ["string", "null"]}
    periods = {"type": "array", "items": text}
    totals = {name: money for name in MONEY}

    def record(properties: dict[str, Any]) -> dict[str, Any]:
        return {"type": "object", "properties": properties, "required": sorted(properties),
                "additionalProperties": False}

    flag = record({"service_level": maybe_text, "periods": periods, "note": text,
                   "entry": {"type": "integer"}})
    side = {"status": maybe_text, "value": maybe_text, "credit": {"anyOf": [money,
                                                                            {"type": "null"}]}}
    trail = record({
        "period": text, "segment": {"type": "object", "additionalProperties": maybe_text},
        "status": {"enum": list(STATUSES)},
        "value": {"anyOf": [money, {"type": "number"}, {"type": "null"}]},
        "target": text, "minimum": maybe_text, "version": maybe_text,
        "effective_from": maybe_text, "entry": {"type": "integer"}, "closed": {"type": "boolean"},
        "restated": {"type": "boolean"}, "provisional": {"type": "boolean"},
        "target_changed": {"anyOf": [record({"target": text, "minimum": maybe_text}),
                                     {"type": "null"}]},
        "credit": {"anyOf": [money, {"type": "null"}]},
    })
    level = record({
        "id": text, "metric": text, "unit": text, "statistic": text,
        "trail": {"type": "array", "items": trail},
        "counts": record({s: {"type": "integer", "minimum": 0} for s in STATUSES}),
        "failed_periods": periods, "failures_in_a_row": {"type": "integer", "minimum": 0},
        "met_since_last_failure": {"type": ["integer", "null"]}, "credits": money,
    })
    contract = record({
        "id": text, "client": maybe_text, "vendor": maybe_text, "currency": maybe_text,
        "versions": {"type": "array", "items": record({"version": maybe_text,
                                                       "effective_from": maybe_text,
                                                       "periods": periods})},
        "periods": periods, "closed_periods": periods,
        "entries": {"type": "array", "items": {"type": "integer"}},
        "last_evaluation": {"type": ["integer", "null"]},
        "service_levels": {"type": "array", "items": level},
        "restatements": {"type": "array", "items": record({
            "period": text, "entry": {"type": "integer"}, "original_entry": {"type": "integer"},
            "reason": text, "recorded_at": maybe_text,
            "differences": {"type": "array", "items": {"type": "object", "properties": {
                "old": {"anyOf": [{"type": "object", "properties": side}, {"type": "null"}]},
                "new": {"anyOf": [{"type": "object", "properties": side}, {"type": "null"}]}}}},
        })},
        "credit_periods": {"type": "array", "items": record({
            "period": text, "entry": {"type": "integer"}, **totals,
            "provisional": {"type": "boolean"}})},
        "credit_years": {"type": "array", "items": record({
            "year": text, "currency": maybe_text, "periods": periods, **totals,
            "recorded": {"anyOf": [record({"entry": {"type": "integer"}, **totals}),
                                   {"type": "null"}]}})},
        "earn_back_runs": {"type": "array", "items": flag},
        "chronic_failures": {"type": "array", "items": flag},
    })
    optional_money = {"anyOf": [money, {"type": "null"}]}
    side_by_side = record({
        "id": text, "client": maybe_text, "vendor": maybe_text, "currency": maybe_text,
        "periods": periods,
        "service_levels": {"type": "integer"}, "failed": {"type": "integer"},
        "counts": record({s: {"type": "integer", "minimum": 0} for s in STATUSES}),
        "year": maybe_text, "year_credits": optional_money, "year_net": optional_money,
        "credits": money, "restatements": {"type": "integer"},
        "open_earn_backs": {"type": "integer"}, "chronic_failures": {"type": "integer"},
    })
    vendor = record({
        "vendor": text, "vendor_known": {"type": "boolean"}, "clients": periods,
        "contracts": periods, "periods": periods, "failed": {"type": "integer"},
        "to_date": {"type": "array", "items": record({
            "currency": maybe_text, "years": periods, "credits": money, "net": money})},
        "restatements": {"type": "integer"}, "open_earn_backs": {"type": "integer"},
        "chronic_failures": {"type": "integer"},
    })
    worst = record({"vendor": text, "contract": text, "service_level": text,
                    "failed": {"type": "integer"},
                    "critical": {"type": "integer"}, "periods": periods, "credits": money,
                    "currency": maybe_text})
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "slaengine history",
        **record({
            "schema_version": {"const": HISTORY_SCHEMA_VERSION},
            "ledger": record({"path": text, "entries": {"type": "integer"},
                              "head": maybe_text}),
            "contracts": {"type": "array", "items": contract},
            "portfolio": {"anyOf": [record({
                "vendors": {"type": "array", "items": vendor},
                "contracts": {"type": "array", "items": side_by_side},
                "worst_service_levels": {"type": "array", "items": worst}}),
                {"type": "null"}]},
        }),
    }


# --------------------------------------------------------------------------- shared text


def money(amount: Decimal | None, currency: str | None = None) -> str:
    """``12,500.00`` (``12,500.00 EUR`` with a currency); ``—`` for none."""
    if amount is None:
        return "—"
    text = f"{amount:,}"
    return f"{text} {currency}" if currency else text


def value_text(row: Mapping[str, Any], unit: str) -> str:
    return format_value(row["value"], unit)


def segment_text(segment: Mapping[str, Any]) -> str:
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


def _context(document: Mapping[str, Any]) -> dict[str, Any]:
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


# --------------------------------------------------------------------------- text


def _grid(header: Sequence[str], rows: Sequence[Sequence[str]], indent: int = 2) -> list[str]:
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows, strict=True)]
    line = " " * indent + "  ".join(f"{{:<{w}}}" for w in widths)
    return [line.format(*header).rstrip(),
            *(line.format(*row).rstrip() for row in rows)]


def render_text(document: Mapping[str, Any]) -> str:
    """The history as plain text, for a terminal or a text file."""
    context = _context(document)
    ledger = context["ledger"]
    out = [f"History of {ledger['path']}: {ledger['entries']} entries"
           + (f", head {ledger['head']}" if ledger["head"] else "")]
    portfolio_ = context["portfolio"]
    if portfolio_:
        out += ["", "Portfolio: vendors"]
        out += _grid(("vendor", "contracts", "clients", "periods", "failed", "credits to date",
                      "net to date", "restated", "earn-backs open", "chronic"),
                     [(v["vendor"], ", ".join(v["contracts"]), ", ".join(v["clients"]) or "—",
                       _span(v["periods"]), str(v["failed"]), to_date_text(v, "credits"),
                       to_date_text(v, "net"), str(v["restatements"]),
                       str(v["open_earn_backs"]), str(v["chronic_failures"]))
                      for v in portfolio_["vendors"]])
        out += ["", "Portfolio: contracts"]
        out += _grid(("contract", "vendor", "periods", "failed", "year", "credits in year",
                      "net in year", "restated", "earn-backs open", "chronic"),
                     [(p["id"], p["vendor"] or "—", _span(p["periods"]), str(p["failed"]),
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
        out += ["", f"Contract {c['id']}: periods {_span(c['periods'])}"
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


def _span(periods: Sequence[str]) -> str:
    if not periods:
        return "—"
    return periods[0] if len(periods) == 1 else f"{periods[0]} .. {periods[-1]}"


# --------------------------------------------------------------------------- Markdown


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
    context = _context(document)
    out = [f"# History of {_cell(context['ledger']['path'])}", ""]
    portfolio_ = context["portfolio"]
    if portfolio_:
        out += ["## Portfolio", "", "### Vendors", ""]
        out += _md_table(("vendor", "contracts", "clients", "periods", "periods failed",
                          "credits to date", "net to date", "restatements", "earn-backs open",
                          "chronic"),
                         [(v["vendor"], ", ".join(v["contracts"]), ", ".join(v["clients"]) or "—",
                           _span(v["periods"]), v["failed"], to_date_text(v, "credits"),
                           to_date_text(v, "net"), v["restatements"], v["open_earn_backs"],
                           v["chronic_failures"]) for v in portfolio_["vendors"]])
        out += ["", "### Contracts", ""]
        out += _md_table(("contract", "vendor", "periods", "periods failed", "year",
                          "credits in year", "net in year", "restatements", "earn-backs open",
                          "chronic"),
                         [(p["id"], p["vendor"] or "—", _span(p["periods"]), p["failed"],
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


# --------------------------------------------------------------------------- HTML


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

    context = _context(document)
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
                           span=_span, version_text=version_text,
                           to_date_text=to_date_text, parties_text=parties_text,
                           money_columns=MONEY)
