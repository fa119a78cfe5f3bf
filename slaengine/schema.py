"""The contract's core cerberus schema, and cerberus errors turned into messages for people.

Plugins contribute schemas for their own keys (a source's keys in ``[sources.X]``, a penalty
model's keys in ``[penalties]``); they are checked with the same validator and the same messages.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Iterator
from typing import Any

from cerberus import Validator, errors

from slaengine.calendars import CALENDAR_SCHEMA
from slaengine.errors import KeyPath
from slaengine.fields import RECORD_KINDS
from slaengine.kinds import PAUSE_FIELDS
from slaengine.money import parse_amount
from slaengine.periods import PERIODS

NAME = r"[A-Za-z0-9][A-Za-z0-9_.-]*"


def _check_timezone(field: str, value: Any, error: Any) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        error(field, f'unknown timezone "{value}"; expected an IANA name such as "Europe/Berlin"')


def _check_amount(field: str, value: Any, error: Any) -> None:
    try:
        parse_amount(value)
    except ValueError as exc:
        error(field, str(exc))


CONTRACT_KEYS: dict[str, Any] = {
    "id": {"type": "string", "required": True, "regex": NAME},
    "client": {"type": "string", "required": True, "empty": False},
    "vendor": {"type": "string", "required": True, "empty": False},
    "description": {"type": "string"},
    "currency": {"type": "string", "regex": "[A-Z]{3}", "default": "USD"},
    "monthly_fee": {"check_with": _check_amount},
    "period": {"type": "string", "allowed": list(PERIODS), "default": "month"},
    "timezone": {"type": "string", "check_with": _check_timezone, "default": "UTC"},
    "start": {"type": "date"},
    "end": {"type": "date"},
}

SOURCE_KEYS: dict[str, Any] = {
    "adapter": {"type": "string", "required": True},
    "kind": {"type": "string", "allowed": list(RECORD_KINDS), "default": "tickets"},
    "path": {"type": "string", "required": True, "empty": False},
    "fields": {"type": "dict", "valuesrules": {"type": "string", "empty": False}},
    "link": {"type": "string"},
}

SERVICE_LEVEL_KEYS: dict[str, Any] = {
    "id": {"type": "string", "required": True, "regex": NAME},
    "description": {"type": "string"},
    "source": {"type": "string"},
    "metric": {"type": "string", "required": True},
    "target": {"type": "string", "required": True},
    "minimum": {"type": "string"},
    "min_sample": {"type": "integer", "min": 1},
    "where": {
        "type": "dict",
        "valuesrules": {"type": ["string", "list"], "schema": {"type": "string"}},
    },
    "by": {"type": "list", "schema": {"type": "string"}},
    "options": {"type": "dict"},
    "inputs": {"type": "dict", "valuesrules": {"type": "string"}},
    "pause": {"type": "list", "schema": {"type": "string", "allowed": list(PAUSE_FIELDS)}},
    "calendar": {"type": "string"},
    "period_by": {"type": "string"},
}

EXCLUSION_KEYS: dict[str, Any] = {
    "reason": {"type": "string", "required": True, "empty": False},
    "from": {"type": ["datetime", "date"], "required": True},
    "to": {"type": ["datetime", "date"], "required": True},
    "service_levels": {"type": "list", "schema": {"type": "string"}},
    "where": {
        "type": "dict",
        "valuesrules": {"type": ["string", "list"], "schema": {"type": "string"}},
    },
}

PENALTY_KEYS: dict[str, Any] = {"model": {"type": "string", "required": True}}

CONTRACT_SCHEMA: dict[str, Any] = {
    "contract": {"type": "dict", "required": True, "schema": CONTRACT_KEYS},
    "sources": {
        "type": "dict",
        "required": True,
        "minlength": 1,
        "keysrules": {"type": "string", "regex": NAME},
        "valuesrules": {"type": "dict"},
    },
    "service_levels": {
        "type": "list",
        "required": True,
        "minlength": 1,
        "schema": {"type": "dict", "schema": SERVICE_LEVEL_KEYS},
    },
    "calendars": {
        "type": "dict",
        "keysrules": {"type": "string", "regex": NAME},
        "valuesrules": {"type": "dict", "schema": CALENDAR_SCHEMA},
    },
    "exclusions": {"type": "list", "schema": {"type": "dict", "schema": EXCLUSION_KEYS}},
    "penalties": {"type": "dict"},
}

Problem = tuple[KeyPath, str, str | None, list[str] | None]
"""(key path, message, suggestion, accepted keys)."""


def validate(
    document: dict[str, Any], schema: dict[str, Any], prefix: KeyPath = ()
) -> tuple[dict[str, Any], list[Problem]]:
    """Validate ``document`` against ``schema``; return it with defaults filled, and problems."""
    validator = Validator(schema)
    if validator.validate(document):
        return validator.document, []
    return validator.document or document, list(
        _problems(validator._errors, schema, tuple(prefix))
    )


def _problems(errs: Any, schema: dict[str, Any], prefix: tuple) -> Iterator[Problem]:
    from slaengine.errors import did_you_mean

    for err in errs:
        if err.is_group_error:
            yield from _problems(err.child_errors, schema, prefix)
            continue
        path = prefix + tuple(err.document_path)
        rel = tuple(err.document_path)
        if err.code == errors.UNKNOWN_FIELD.code:
            accepted = sorted(_schema_at(schema, rel[:-1]))
            key = str(rel[-1])
            yield path, "unknown key", did_you_mean(key, accepted), accepted
        elif err.rule == "required":
            yield path, "required key is missing", None, None
        elif err.rule == "type":
            yield path, f"expected {_types(err.constraint)}, found {_show(err.value)}", None, None
        elif err.rule == "allowed":
            accepted = [str(a) for a in err.constraint]
            yield (
                path,
                f"{_show(err.value)} is not accepted",
                did_you_mean(str(err.value), accepted),
                accepted,
            )
        elif err.rule == "regex":
            message = f"{_show(err.value)} does not match the pattern {err.constraint}"
            yield path, message, None, None
        elif err.rule in ("min", "minlength"):
            yield path, f"{_show(err.value)} is below the minimum of {err.constraint}", None, None
        elif err.rule in ("max", "maxlength"):
            yield path, f"{_show(err.value)} is above the maximum of {err.constraint}", None, None
        elif err.rule == "empty":
            yield path, "must not be empty", None, None
        elif err.rule == "check_with" or err.code == errors.CUSTOM.code:
            for message in err.info or ():
                yield path, str(message), None, None
        else:
            yield path, f"{err.rule}: {err.constraint} (found {_show(err.value)})", None, None


def _schema_at(schema: dict[str, Any], path: tuple) -> dict[str, Any]:
    """The mapping of accepted keys at ``path`` (list indices are skipped)."""
    current: dict[str, Any] = schema
    for part in path:
        if isinstance(part, int):
            continue
        rule = current.get(part, {})
        inner = rule.get("schema", {})
        if rule.get("type") == "list":
            inner = inner.get("schema", {})
        current = inner
    return current


_TYPE_WORDS = {"date": "a date such as 2026-01-01",
               "datetime": "a date-time such as 2026-03-10T08:00:00-05:00", "string": "a string",
               "integer": "a whole number", "dict": "a table", "list": "a list",
               "number": "a number", "boolean": "true or false"}


def _types(constraint: Any) -> str:
    names = constraint if isinstance(constraint, list) else [constraint]
    return " or ".join(_TYPE_WORDS.get(n, n) for n in names)


def _show(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"the number {value}"
    return str(value)


_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-\"'.]+)\s*=")
_INLINE_KEY = re.compile(r"([A-Za-z0-9_\-]+|\"[^\"]+\")\s*=")


def key_lines(text: str) -> dict[tuple, int]:
    """Map key paths to the line that defines them, for error messages.

    A light scan, not a TOML parser: table headers, arrays of tables, ``key =`` lines and the
    keys of one-line inline tables. Keys it cannot place simply get no line.
    """
    lines: dict[tuple, int] = {}
    table: tuple = ()
    counters: dict[tuple, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header and not _KEY.match(line):
            names = tuple(_unquote(p) for p in header.group(2).split("."))
            if header.group(1) == "[[":
                index = counters.get(names, -1) + 1
                counters[names] = index
                table = (*names, index)
            else:
                table = names
            lines.setdefault(table, number)
            continue
        key = _KEY.match(line)
        if key:
            names = tuple(_unquote(p) for p in key.group(1).split("."))
            path = table + names
            lines.setdefault(path, number)
            rest = line[key.end():]
            if rest.strip().startswith("{"):
                for inner in _INLINE_KEY.finditer(rest):
                    lines.setdefault((*path, _unquote(inner.group(1))), number)
    return lines


def line_of(lines: dict[tuple, int], key_path: KeyPath) -> int | None:
    """The line of the deepest prefix of ``key_path`` that the scan placed."""
    path = tuple(key_path)
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return None


def _unquote(name: str) -> str:
    return name.strip().strip("\"'")
