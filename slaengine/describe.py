"""Plugins described for people: their docstrings as plain text and their keys from their schemas.

``slaengine metrics NAME`` and ``slaengine plugins NAME`` show what a metric's ``options``, a
source's ``[sources.X]`` keys or a penalty model's ``[penalties]`` keys accept, read from the same
cerberus schemas the contract checker uses, so the list cannot fall behind the code.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Mapping
from typing import Any

_ROLE = re.compile(r":[a-z]+(?::[a-z]+)?:`(~?)([^`<]*?)(?:\s*<[^>]*>)?`")
_LITERAL = re.compile(r"``(.+?)``", re.DOTALL)
_TYPE_WORDS = {"string": "text", "integer": "whole number", "float": "number",
               "number": "number", "boolean": "true or false", "dict": "table", "list": "list",
               "date": "date", "datetime": "date-time"}


def plain_text(doc: str | None) -> str:
    """A reST docstring as plain text: ````x```` → `x`, ``:func:`a.b``` → ``a.b``, ``::`` → ``:``;
    indentation removed, paragraphs and literal blocks kept."""
    if not doc:
        return ""
    text = inspect.cleandoc(doc)
    text = _ROLE.sub(lambda m: m.group(2).split(".")[-1] if m.group(1) else m.group(2), text)
    text = _LITERAL.sub(r"`\1`", text)
    text = re.sub(r"(\S)::$", r"\1:", text, flags=re.MULTILINE)
    text = re.sub(r"^\s*::$\n", "", text, flags=re.MULTILINE)
    return text


def summary(doc: str | None) -> str:
    """The first sentence line of a docstring, as plain text."""
    lines = plain_text(doc).splitlines()
    return lines[0] if lines else ""


def describe_rule(rule: Mapping[str, Any]) -> str:
    """One key's rule in words: ``text, one of a, b; default "7d"; required``."""
    parts = []
    types = rule.get("type")
    names = [types] if isinstance(types, str) else list(types or [])
    if names:
        parts.append(" or ".join(_TYPE_WORDS.get(n, n) for n in names))
    if "allowed" in rule:
        parts.append("one of " + ", ".join(str(a) for a in rule["allowed"]))
    if "min" in rule and "max" in rule:
        parts.append(f"{rule['min']} to {rule['max']}")
    elif "min" in rule:
        parts.append(f"at least {rule['min']}")
    elif "max" in rule:
        parts.append(f"at most {rule['max']}")
    if "minlength" in rule:
        parts.append(f"at least {rule['minlength']} item(s)")
    if "maxlength" in rule:
        parts.append(f"at most {rule['maxlength']} item(s)")
    if "default" in rule and not callable(rule["default"]):
        parts.append(f"default {_toml(rule['default'])}")
    if rule.get("required"):
        parts.append("required")
    meta = rule.get("meta")
    if isinstance(meta, Mapping) and isinstance(meta.get("description"), str):
        parts.append(meta["description"])
    elif isinstance(meta, str):
        parts.append(meta)
    return "; ".join(parts) or "any value"


def key_lines(schema: Mapping[str, Mapping[str, Any]], indent: str = "  ") -> list[str]:
    """One line per key of ``schema`` (nested tables and lists of tables indented below)."""
    if not schema:
        return []
    width = max(len(k) for k in schema)
    out = []
    for key, rule in schema.items():
        out.append(f"{indent}{key:<{width}}  {describe_rule(rule)}")
        inner = rule.get("schema")
        if isinstance(inner, Mapping) and inner.get("type") == "dict":
            inner = inner.get("schema")  # a list of tables: the table's keys
        if isinstance(inner, Mapping) and inner and all(isinstance(r, Mapping)
                                                        for r in inner.values()):
            out.extend(key_lines(inner, indent + "    "))
    return out


def _toml(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
