"""JSON Schemas (draft 2020-12) of the contract and of the JSON report, for editors and pipelines.

The contract's schema is generated from the cerberus schemas the contract checker uses
(:data:`slaengine.schema.CONTRACT_SCHEMA`, the calendars', the penalty models' and every installed
plugin's own keys), so it says what ``validate`` accepts as far as JSON Schema can: types, keys,
names, patterns, bounds and defaults. What only code can check (a target's grammar, an amount, a
time zone) is left to ``validate``. TOML dates and date-times are strings in JSON Schema (what a
TOML editor such as Taplo compares them as).

The report's schema describes the document of ``--format json``
(:func:`slaengine.present.evaluation_to_dict`). Within one :data:`REPORT_SCHEMA_VERSION` keys may
be added, never removed or changed, so objects accept keys the schema does not list.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slaengine.clocks.audit import FLAGS

DRAFT = "https://json-schema.org/draft/2020-12/schema"
REPORT_SCHEMA_VERSION = 1
"""The ``schema_version`` of the JSON report this module describes."""

_TYPES = {"string": "string", "integer": "integer", "float": "number", "number": "number",
          "boolean": "boolean", "dict": "object", "list": "array", "date": "string",
          "datetime": "string"}
_FORMATS = {"date": "date", "datetime": "date-time"}


def rule_to_json(rule: Mapping[str, Any]) -> dict[str, Any]:
    """One cerberus rule set as a JSON Schema. Rules that only code checks are left out."""
    out: dict[str, Any] = {}
    types = rule.get("type")
    names = [types] if isinstance(types, str) else list(types or [])
    if names:
        json_types = sorted({_TYPES.get(n, "string") for n in names})
        out["type"] = json_types[0] if len(json_types) == 1 else json_types
        formats = {_FORMATS.get(n) for n in names if _TYPES.get(n) == "string"}
        if len(formats) == 1 and None not in formats:
            out["format"] = formats.pop()
    meta = rule.get("meta")
    if isinstance(meta, str):
        out["description"] = meta
    elif isinstance(meta, Mapping) and isinstance(meta.get("description"), str):
        out["description"] = meta["description"]
    if "default" in rule and not callable(rule["default"]):
        out["default"] = rule["default"]
    if "allowed" in rule:
        enum = list(rule["allowed"])
        if names == ["list"]:
            out["items"] = {"enum": enum}
        else:
            out["enum"] = enum
    if "regex" in rule:
        out["pattern"] = f"^(?:{rule['regex']})$"
    if "min" in rule:
        out["minimum"] = rule["min"]
    if "max" in rule:
        out["maximum"] = rule["max"]
    for cerberus_key, bound in (("minlength", "min"), ("maxlength", "max")):
        if cerberus_key in rule:
            out.update({f"{bound}Length": rule[cerberus_key], f"{bound}Items": rule[cerberus_key],
                        f"{bound}Properties": rule[cerberus_key]})
    if rule.get("empty") is False:
        out.update({"minLength": max(1, out.get("minLength", 0)),
                    "minItems": max(1, out.get("minItems", 0)),
                    "minProperties": max(1, out.get("minProperties", 0))})
    inner = rule.get("schema")
    if isinstance(inner, Mapping):
        if "dict" in names:
            out.update(_without_type(object_schema(inner)))
        if "list" in names:
            out["items"] = rule_to_json(inner)
    if isinstance(rule.get("keysrules"), Mapping):
        out["propertyNames"] = _without_type(rule_to_json(rule["keysrules"]))
    if isinstance(rule.get("valuesrules"), Mapping):
        out["additionalProperties"] = rule_to_json(rule["valuesrules"])
    for cerberus_key, json_key in (("anyof", "anyOf"), ("oneof", "oneOf"), ("allof", "allOf")):
        if cerberus_key in rule:
            out[json_key] = [rule_to_json(r) for r in rule[cerberus_key]]
    return out


def object_schema(keys: Mapping[str, Mapping[str, Any]], *, closed: bool = True) -> dict[str, Any]:
    """A table whose keys are ``keys`` (a cerberus mapping): required ones listed, no others
    when ``closed`` (cerberus rejects unknown keys)."""
    out: dict[str, Any] = {"type": "object",
                           "properties": {k: rule_to_json(r) for k, r in keys.items()}}
    required = [k for k, r in keys.items() if r.get("required")]
    if required:
        out["required"] = required
    if closed:
        out["additionalProperties"] = False
    return out


def _without_type(schema: dict[str, Any]) -> dict[str, Any]:
    """Property names are always strings: the ``type`` says nothing there."""
    return {k: v for k, v in schema.items() if k != "type"}


def _union(core: Mapping[str, Any], variants: Any) -> dict[str, Any]:
    """Every key any variant accepts (for an editor's completion), required only when ``core``
    requires it; each variant's own ``if``/``then`` closes the table."""
    keys: dict[str, Any] = {}
    for variant in variants:
        keys.update({k: {**r, "required": False} for k, r in variant.items()})
    keys.update(core)
    return object_schema(keys, closed=False)


def _by_name(key: str, variants: Mapping[str, dict[str, Any]], at: str) -> list[dict[str, Any]]:
    """``if key == name then variant`` for each plugin (``at``: where the variant applies)."""
    out = []
    for name, variant in variants.items():
        condition = {"properties": {key: {"const": name}}, "required": [key]}
        then = variant if not at else {"properties": {at: variant}}
        out.append({"if": condition, "then": then})
    return out


def contract_schema(registry: Any) -> dict[str, Any]:
    """The JSON Schema of a contract with the plugins of ``registry`` installed."""
    from slaengine import schema as core
    from slaengine.credits.schema import penalty_schema

    document = object_schema(core.CONTRACT_SCHEMA)
    properties = document["properties"]

    sources = {name: {**core.SOURCE_KEYS, **plugin.schema}
               for name, plugin in sorted(registry.sources.items())}
    source = _union(core.SOURCE_KEYS, sources.values())
    source["properties"]["adapter"]["enum"] = sorted(sources)
    source["allOf"] = _by_name("adapter", {n: object_schema(k) for n, k in sources.items()}, "")
    properties["sources"]["additionalProperties"] = source

    level = document["properties"]["service_levels"]["items"]
    # A metric, or a clock the contract declares in [clocks.NAME] (then the name of one).
    names = registry.names("metric")
    level["properties"]["metric"]["anyOf"] = [{"enum": names}, {"pattern": f"^{core.NAME}$"}]
    known = {"properties": {"metric": {"enum": names}}}
    document["if"] = {"required": ["clocks"]}
    document["else"] = {"properties": {"service_levels": {"items": known}}}
    options = {name: object_schema(metric.schema)
               for name, metric in sorted(registry.metrics.items())}
    level["allOf"] = _by_name("metric", options, "options")

    models = {name: penalty_schema(model)
              for name, model in sorted(registry.penalty_models.items())}
    penalties = _union(penalty_schema(None), models.values())
    penalties["properties"]["model"]["enum"] = sorted(models)
    penalties["allOf"] = _by_name("model", {n: object_schema(k) for n, k in models.items()}, "")
    properties["penalties"] = penalties

    return {"$schema": DRAFT, "$id": "https://slaengine.invalid/contract.schema.json",
            "title": "slaengine contract",
            "description": "A service-level agreement evaluated by slaengine (TOML).",
            **document}


_NUMBER_OR_NULL = {"type": ["number", "null"]}
_MONEY = {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$"}
_COUNT = {"type": "integer", "minimum": 0}
_COUNTS = {"type": "object", "additionalProperties": _COUNT}
_STRING_OR_NULL = {"type": ["string", "null"]}
_TOTALS = {"before_caps": _MONEY, "capped": _MONEY, "after_caps": _MONEY,
           "earned_back": _MONEY, "bonuses": _MONEY, "net": _MONEY}


def _record(properties: dict[str, Any], *, optional: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "object", "properties": properties,
            "required": [k for k in properties if k not in optional]}


def report_schema() -> dict[str, Any]:
    """The JSON Schema of the document ``--format json`` writes."""
    from slaengine.verdicts import STATUSES

    verdict = _record({
        "service_level": {"type": "string"}, "metric": {"type": "string"},
        "period": {"type": "string"},
        "segment": {"type": "object", "additionalProperties": {"type": "string"}},
        "statistic": {"type": "string"},
        "value": {"type": ["number", "string", "null"],
                  "description": "seconds for durations, a fraction 0-1 for rates, a string "
                                 "for money, null when nothing was measured"},
        "unit": {"type": "string"}, "target": {"type": "string"},
        "minimum": _STRING_OR_NULL, "status": {"enum": list(STATUSES)},
        "compliance": _NUMBER_OR_NULL, "margin": _NUMBER_OR_NULL,
        "sample_size": _COUNT, "unmeasured": _COUNT, "excluded": _COUNT,
        "missed_count": _COUNT, "missed": {"type": "array", "items": {"type": "string"}},
        "paused": _NUMBER_OR_NULL, "outlook": {"type": "object"}, "note": {"type": "string"},
    }, optional=("outlook", "note"))
    source = _record({
        "adapter": {"type": "string"}, "path": {"type": "string"}, "read": _COUNT,
        "accepted": _COUNT, "rejected": _COUNT, "duplicates": _COUNT,
        "rejected_by_reason": _COUNTS, "after_as_of": _COUNT, "notes": _COUNTS,
    }, optional=("after_as_of", "notes"))
    level = _record({
        "source": {"type": "string"}, "accepted": _COUNT, "included": _COUNT,
        "excluded": _COUNT, "outside_window": _COUNT, "agreed_exclusions": _COUNTS,
        "without_period": _COUNT,
        "audit": {"type": "array", "items": _record({
            "flag": {"enum": list(FLAGS)}, "period": {"type": "string"}, "count": _COUNT,
            "tickets": {"type": "array", "items": {"type": "string"}},
            "segment": {"type": "object",
                        "additionalProperties": {"type": ["string", "null"]}},
        }, optional=("segment",))},
        "reconciliation": _record({
            "target_seconds": _NUMBER_OR_NULL, "zendesk_breached": _COUNT,
            "contract_breached": _COUNT,
            "only_zendesk": {"type": "array", "items": {"type": "string"}},
            "only_contract": {"type": "array", "items": {"type": "string"}},
            "zendesk_targets": {"type": "array", "items": _record({
                "policy": _STRING_OR_NULL, "target_seconds": _NUMBER_OR_NULL,
                "business_hours": {"type": ["boolean", "null"]}, "records": _COUNT,
            })},
            "other_target": {"type": "array", "items": {"type": "string"}},
        }),
    }, optional=("without_period", "audit", "reconciliation"))
    line = _record({"period": {"type": "string"}, "service_level": _STRING_OR_NULL,
                    "amount": _MONEY, "currency": {"type": "string"},
                    "rule": {"type": "string"}, "note": {"type": "string"}})
    digest = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
    manifest = _record({
        "contract": _record({"path": {"type": "string"}, "sha256": digest}),
        "inputs": {"type": "object", "additionalProperties": {"type": "object"}},
        "versions": {"type": "object", "additionalProperties": {"type": "string"}},
        "plugins": {"type": "object", "additionalProperties": _record({
            "plugin": {"type": "string"}, "distribution": {"type": "string"},
            "version": {"type": "string"}})},
    }, optional=("inputs", "versions", "plugins"))
    credit_keys = ("penalties", "credits", "bonuses", "credit_totals", "credit_years", "flags",
                   "credit_exclusions")
    document = _record({
        "schema_version": {"const": REPORT_SCHEMA_VERSION},
        "contract": _record({
            "id": {"type": "string"}, "client": {"type": "string"}, "vendor": {"type": "string"},
            "period": {"enum": ["week", "month", "quarter", "year"]},
            "timezone": {"type": "string"}, "currency": {"type": "string"},
            "monthly_fee": {"anyOf": [_MONEY, {"type": "null"}]},
        }),
        "manifest": manifest,
        "summary": _record({status: _COUNT for status in STATUSES}),
        "verdicts": {"type": "array", "items": verdict},
        "sources": {"type": "object", "additionalProperties": source},
        "service_levels": {"type": "object", "additionalProperties": level},
        "penalties": _record({"model": {"type": "string"}, "currency": {"type": "string"},
                              "rounding": {"type": "string"}}),
        "credits": {"type": "array", "items": line},
        "bonuses": {"type": "array", "items": line},
        "credit_totals": {"type": "array", "items": _record(
            {"period": {"type": "string"}, **_TOTALS})},
        "credit_years": {"type": "array", "items": _record(
            {"year": {"type": "string"}, **_TOTALS})},
        "flags": {"type": "array", "items": _record({
            "kind": {"type": "string"}, "service_level": _STRING_OR_NULL,
            "periods": {"type": "array", "items": {"type": "string"}},
            "note": {"type": "string"}})},
        "credit_exclusions": {"type": "array", "items": _record({
            "period": {"type": "string"}, "service_level": _STRING_OR_NULL,
            "reason": {"type": "string"}, "waived": _MONEY})},
    }, optional=credit_keys)
    # The credit keys come together: all of them with a penalty model, none without.
    document["dependentRequired"] = {"penalties": [k for k in credit_keys if k != "penalties"]}
    return {"$schema": DRAFT, "$id": "https://slaengine.invalid/report.schema.json",
            "title": "slaengine JSON report",
            "description": "The evaluation of a contract as written by "
                           "`slaengine evaluate --format json`.", **document}
