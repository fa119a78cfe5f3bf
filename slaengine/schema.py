"""The contract's core cerberus schema, and cerberus errors turned into messages for people.

Plugins contribute schemas for their own keys (a source's keys in ``[sources.X]``, a penalty
model's keys in ``[penalties]``); they are checked with the same validator and the same messages.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

from cerberus import TypeDefinition, Validator, errors

from slaengine.calendars import CALENDAR_SCHEMA, check_timezone
from slaengine.clocks.custom import CONDITIONS, CYCLES, RETROACTIVE
from slaengine.errors import KeyPath
from slaengine.fields import RECORD_KINDS
from slaengine.money import parse_amount
from slaengine.periods import PERIODS
from slaengine.plugin import PAUSE_FIELDS
from slaengine.years import YearStart

NAME_LIMIT = 100
NAME = rf"[A-Za-z0-9][A-Za-z0-9_.-]{{0,{NAME_LIMIT - 1}}}"
"""An id or a table name: ASCII letters, digits, ``_ . -``, at most :data:`NAME_LIMIT` long."""


def _check_amount(field: str, value: Any, error: Any) -> None:
    try:
        parse_amount(value)
    except ValueError as exc:
        error(field, str(exc))


def _check_year_start(field: str, value: Any, error: Any) -> None:
    try:
        YearStart.parse(value)
    except ValueError as exc:
        error(field, str(exc))


def _check_effective_from(field: str, value: Any, error: Any) -> None:
    """A day (``2026-04-01``, a TOML date or that text) or a period label (``2026-04``); that
    it is the first day of one of the contract's periods is checked with the contract."""
    if isinstance(value, datetime):
        error(field, f"{value.isoformat()} is a date and time; write the day the version takes "
                     "effect (2026-04-01) or its first period (2026-04)")
    elif isinstance(value, str) and effective_day(value, None) is None:
        error(field, f"{_show(value)} is neither a day (2026-04-01) nor a period label "
                     "(2026-04, 2026-Q2, 2026-W14, 2026)")


def effective_day(value: date | str, period: str | None) -> date | None:
    """The first day ``effective_from`` names: a date as it is, text as a day (``2026-04-01``)
    or as the label of a ``period`` (any kind of period when None). None when it is neither."""
    from slaengine.periods import PERIODS as KINDS
    from slaengine.years import placing_day

    if isinstance(value, date):
        return value
    if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value, re.ASCII):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    for kind in KINDS if period is None else (period,):
        try:
            day = placing_day(value, kind)
        except ValueError:
            continue
        return day - timedelta(days=3) if kind == "week" else day  # a week's Monday
    return None


WHERE_LIMIT = 10_000
"""The most values one ``where`` field may list."""


def _check_values(field: str, value: Any, error: Any) -> None:
    """A ``where`` field: one string, or a non-empty list of at most :data:`WHERE_LIMIT`
    strings (checked here in one pass: a cerberus rule per item costs seconds on long lists)."""
    if not isinstance(value, list):
        return
    if not value:
        error(field, "the list is empty, so no record would be kept; list at least one value "
                     "or leave the field out")
    elif len(value) > WHERE_LIMIT:
        error(field, f"{len(value)} values; at most {WHERE_LIMIT} are accepted (choose a field "
                     "that groups them, such as a category)")
    else:
        wrong = next((i for i, v in enumerate(value) if not isinstance(v, str)), None)
        if wrong is not None:
            error(field, f"item {wrong} is {_show(value[wrong])}; expected strings")


def _check_by(field: str, value: Any, error: Any) -> None:
    seen: set[Any] = set()
    for name in value if isinstance(value, list) else ():
        if isinstance(name, str) and name in seen:
            error(field, f'"{name}" is named twice; name each field once')
        seen.add(name if isinstance(name, str) else None)


WHERE: dict[str, Any] = {
    "type": "dict",
    "valuesrules": {"type": ["string", "list"], "check_with": _check_values},
}
"""``where = { field = "value" }`` or ``{ field = ["a", "b"] }``: records whose field holds one
of the values."""

CONTRACT_KEYS: dict[str, Any] = {
    "id": {"type": "string", "required": True, "regex": NAME},
    "client": {"type": "string", "required": True, "empty": False},
    "vendor": {"type": "string", "required": True, "empty": False},
    "description": {"type": "string"},
    "currency": {"type": "string", "regex": "[A-Z]{3}", "default": "USD"},
    "monthly_fee": {"check_with": _check_amount},
    "period": {"type": "string", "allowed": list(PERIODS), "default": "month"},
    "timezone": {"type": "string", "check_with": check_timezone, "default": "UTC"},
    "year_start": {"type": "string", "check_with": _check_year_start, "default": "01-01"},
    "start": {"type": "date"},
    "end": {"type": "date"},
    "version": {"type": "string", "empty": False, "maxlength": NAME_LIMIT},
    "effective_from": {"type": ["date", "string"], "check_with": _check_effective_from},
}

def _check_value_names(field: str, value: Any, error: Any) -> None:
    """A source's own name for a value, as ``values`` maps it: a value is trimmed when read, so
    a name that is empty or starts or ends with whitespace could never match one."""
    if isinstance(value, str) and (not value.strip() or value != value.strip()):
        error(field, f"{_show(value)} can never match: values are read trimmed, and an empty "
                     "value is a missing one")


VALUES: dict[str, Any] = {
    "type": "dict",
    "valuesrules": {
        "type": "dict",
        "keysrules": {"type": "string", "check_with": _check_value_names},
        "valuesrules": {"type": "string"},
    },
}
"""``values = { status = { "Waiting for customer" = "pending" } }``: a source's own names for
the values of a field with a closed set (which field and value are checked against the kind)."""

SOURCE_KEYS: dict[str, Any] = {
    "adapter": {"type": "string", "required": True},
    "kind": {"type": "string", "allowed": list(RECORD_KINDS), "default": "tickets"},
    "path": {"type": "string", "required": True, "empty": False},
    "fields": {"type": "dict", "valuesrules": {"type": "string", "empty": False}},
    "link": {"type": "string"},
    "values": VALUES,
}

SERVICE_LEVEL_KEYS: dict[str, Any] = {
    "id": {"type": "string", "required": True, "regex": NAME},
    "description": {"type": "string"},
    "source": {"type": "string"},
    "metric": {"type": "string", "required": True},
    "target": {"type": "string", "required": True},
    "minimum": {"type": "string"},
    "min_sample": {"type": "integer", "min": 1},
    "where": WHERE,
    "by": {"type": "list", "maxlength": 8, "check_with": _check_by,
           "schema": {"type": "string"}},
    "options": {"type": "dict"},
    "inputs": {"type": "dict", "valuesrules": {"type": "string"}},
    "pause": {"type": "list", "schema": {"type": "string", "allowed": list(PAUSE_FIELDS)}},
    "calendar": {"type": "string"},
    "period_by": {"type": "string"},
    "as_of": {"type": "string", "allowed": ["start", "end"]},
}

EXCLUSION_KEYS: dict[str, Any] = {
    "reason": {"type": "string", "required": True, "empty": False},
    "from": {"type": ["datetime", "date"], "required": True},
    "to": {"type": ["datetime", "date"], "required": True},
    "service_levels": {"type": "list", "schema": {"type": "string"}},
    "where": WHERE,
}

CLOCK_KEYS: dict[str, Any] = {
    "description": {"type": "string"},
    **{key: {"type": ["dict", "list"], "meta": {"hint": (
        'a condition is a table such as { event = "comment", author = "agent" } or a list of '
        "them")}} for key in CONDITIONS},
    "retroactive_start": {"type": "string", "allowed": list(RETROACTIVE)},
    "cycles": {"type": "string", "allowed": list(CYCLES), "default": "each"},
}
"""``[clocks.NAME]``: a contract's own clock. The conditions' contents are checked by
:mod:`slaengine.contract.clocks`, which names the key and value at fault."""
CLOCK_KEYS["start"]["required"] = CLOCK_KEYS["stop"]["required"] = True

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
    "clocks": {
        "type": "dict",
        "keysrules": {"type": "string", "regex": NAME},
        "valuesrules": {"type": "dict", "schema": CLOCK_KEYS},
    },
}

Problem = tuple[KeyPath, str, str | None, list[str] | None]
"""(key path, message, suggestion, accepted keys)."""


class _Validator(Validator):
    """Cerberus with three holes closed: ``true`` is not a whole number (Python's bool is an
    int), a date-time is not a date (it is a date's subclass), and a ``regex`` must match the
    whole text (cerberus appends ``$``, which lets a trailing newline through)."""

    types_mapping = {**Validator.types_mapping,
                     "integer": TypeDefinition("integer", (int,), (bool,)),
                     "date": TypeDefinition("date", (date,), (datetime,))}

    def _validate_regex(self, pattern: str, field: str, value: Any) -> None:
        """{'type': 'string'}"""
        if isinstance(value, str) and re.fullmatch(pattern, value) is None:
            self._error(field, errors.REGEX_MISMATCH)


def validate(
    document: dict[str, Any], schema: dict[str, Any], prefix: KeyPath = ()
) -> tuple[dict[str, Any], list[Problem]]:
    """Validate ``document`` against ``schema``; return it with defaults filled, and problems."""
    validator = _Validator(schema)
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
            message = f"expected {_types(err.constraint)}, found {_show(err.value)}"
            hint = _rule_at(schema, tuple(err.schema_path)[:-1]).get("meta", {}).get("hint")
            yield path, f"{message}; {hint}" if hint else message, None, None
        elif err.rule == "allowed":
            accepted = [str(a) for a in err.constraint]
            yield (
                path,
                f"{_show(err.value)} is not accepted",
                did_you_mean(str(err.value), accepted),
                accepted,
            )
        elif err.rule == "regex" and err.constraint == NAME:
            yield path, (f"{_show(err.value)} is not a name: expected up to {NAME_LIMIT} ASCII "
                         "letters, digits, _ . or -, starting with a letter or digit"), None, None
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
    """The mapping of accepted keys of the table at document ``path``: a list index steps into
    the list's item rule, a key into a table's schema or, for a table of named tables such as
    ``[calendars.NAME]``, into its ``valuesrules``."""
    rule: dict[str, Any] = {"type": "dict", "schema": schema}
    for part in path:
        inner = rule.get("schema")
        if isinstance(part, int):
            rule = inner if _is_list(rule) and isinstance(inner, dict) else {}
        elif isinstance(inner, dict) and not _is_list(rule):
            rule = inner.get(part, {})
        else:
            rule = rule.get("valuesrules", {})
    inner = rule.get("schema", {})
    return inner if isinstance(inner, dict) and not _is_list(rule) else {}


def _is_list(rule: dict[str, Any]) -> bool:
    return rule.get("type") in ("list", ["list"])


def _rule_at(schema: dict[str, Any], schema_path: tuple) -> dict[str, Any]:
    """The rule a cerberus error's ``schema_path`` (without its last part, the rule's name)
    leads to, or ``{}``."""
    node: Any = schema
    for part in schema_path:
        node = node.get(part) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else {}


_TYPE_WORDS = {"date": "a date such as 2026-01-01",
               "datetime": "a date-time such as 2026-03-10T08:00:00-05:00", "string": "a string",
               "integer": "a whole number", "dict": "a table", "list": "a list",
               "number": "a number", "boolean": "true or false"}


def _types(constraint: Any) -> str:
    names = constraint if isinstance(constraint, list) else [constraint]
    return " or ".join(_TYPE_WORDS.get(n, n) for n in names)


def _show(value: Any, limit: int = 60) -> str:
    """A found value for a message: strings quoted with escapes shown, cut to ``limit``."""
    if isinstance(value, str):
        shown = repr(value[:limit])[1:-1]
        return f'"{shown}…" ({len(value)} characters)' if len(value) > limit else f'"{shown}"'
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
