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

Money stays :class:`~decimal.Decimal` in the document. :mod:`slaengine.ledger.history_views`
renders it: :func:`history_to_json` writes it as strings (:func:`history_schema` its shape),
:func:`render_text`, :func:`render_markdown` and :func:`render_html` for people.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

from slaengine.errors import UsageError, did_you_mean
from slaengine.years import placing_day

HISTORY_SCHEMA_VERSION = 1
"""The version of the history document's shape (``schema_version`` in its JSON)."""

FAILED = ("breached", "critical")
STATUSES = ("met", "breached", "critical", "insufficient_data")
MONEY = ("before_caps", "capped", "after_caps", "earned_back", "bonuses", "net")
WORST = 10
"""How many service levels the portfolio lists as the worst."""


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
