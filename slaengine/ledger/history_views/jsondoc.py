"""The history as strict JSON (money as strings, every other figure a finite number or null)
and the JSON Schema of that document."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from slaengine.ledger.report import HISTORY_SCHEMA_VERSION, MONEY, STATUSES

__all__ = ["history_schema", "history_to_json"]


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
