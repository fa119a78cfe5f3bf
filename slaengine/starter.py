"""``slaengine init``: a starter contract that explains itself and is valid as written.

Every section carries TOML comments saying what it is for and what else it accepts, so a new
contract can be written by editing this one; with ``init --from DATA_FILE`` the source's
``fields`` mapping is proposed from the file's columns (:func:`slaengine.inspect.propose_fields`).
"""

from __future__ import annotations

from typing import Any

import tomli_w

from slaengine.errors import UsageError, did_you_mean

DEFAULT_TARGETS: dict[str, str] = {
    "first_response_time": "90% within 4h",
    "resolution_time": "90% within 3d",
    "ticket_volume": "count <= 100000",
}
"""Metrics a starter contract chooses from, in order, with a target to start from."""


def choose_metric(registry: Any, metric: str | None, target: str | None,
                  fields: dict[str, str] | None) -> tuple[str, str]:
    """The first service level's metric and target: as given, else the first of
    :data:`DEFAULT_TARGETS` whose fields the data has (all of them without data)."""
    available = set(fields) if fields is not None else None
    if metric is None:
        for name, default in DEFAULT_TARGETS.items():
            found = registry.metrics.get(name)
            if found is not None and (available is None or _reads(found, available)):
                return name, target or default
        raise UsageError("--metric: name the first service level's metric "
                         "(see `slaengine metrics`)")
    found = registry.metrics.get(metric)
    if found is None:
        names = registry.names("metric")
        raise UsageError(f'--metric: no metric called "{metric}"',
                         suggestion=did_you_mean(metric, names), accepted=names)
    if available is not None and not _reads(found, available):
        lacking = [f for f in found.required_fields(available) if f not in available]
        raise UsageError(f"--metric {metric}: reads {', '.join(lacking)}, which no column of "
                         "the data was taken for; map it by hand in the fields table, or choose "
                         "another metric")
    if target is None:
        if metric not in DEFAULT_TARGETS:
            raise UsageError(f'--target: give the target of {metric}, e.g. "95% within 1h" or '
                             '">= 85%" (see `slaengine metrics ' + metric + "`)")
        target = DEFAULT_TARGETS[metric]
    return metric, target


def _reads(metric: Any, available: set[str]) -> bool:
    """Whether ``metric`` can be measured on tickets with ``available`` fields."""
    if "tickets" not in getattr(metric, "kinds", ("tickets",)) or hasattr(metric, "inputs"):
        return False
    return set(metric.required_fields(available)) <= available | {"ticket_id", "created_at"}


def _toml(value: Any) -> str:
    """One TOML value, quoted and escaped as TOML wants it."""
    return tomli_w.dumps({"v": value})[4:].strip()


def _key(name: str) -> str:
    return tomli_w.dumps({name: 0}).split(" = ")[0]


def starter_contract(*, contract_id: str, timezone: str, adapter: str, path: str, metric: str,
                     target: str, fields: dict[str, str] | None, unmapped: list[str],
                     registry: Any) -> str:
    """The starter contract's text (see the module's docstring)."""
    source_keys = registry.sources[adapter].schema if adapter in registry.sources else {}
    lines = [
        "# A service-level agreement for slaengine: edit it, then check it without reading any",
        "# data with `slaengine validate THIS_FILE`, and evaluate it with `slaengine evaluate",
        "# THIS_FILE`. For completion in TOML editors (Taplo, Even Better TOML), save the output",
        "# of `slaengine schema contract` as slaengine-contract.schema.json beside this file and",
        "# make the first line `#:schema ./slaengine-contract.schema.json`.",
        "",
        "# The agreement: its parties, the fee credits are shares of, the period and time zone.",
        "[contract]",
        f"id = {_toml(contract_id)}  # letters, digits, _ . - (named in reports)",
        'client = "Client Ltd"  # who receives the service',
        'vendor = "Vendor Inc"  # who delivers it',
        'currency = "USD"  # ISO 4217 code of every amount',
        'monthly_fee = "10000.00"  # the fee service credits are shares of (a string: exact)',
        'period = "month"  # week, month, quarter or year: one verdict per period',
        f"timezone = {_toml(timezone)}  # IANA name; periods and times without an offset use it",
        '# start = 2026-01-01  # optional: the first day the contract covers (end = ... the last)',
        "",
        "# Where the records come from. One table per source; `slaengine inspect THIS_FILE` shows",
        "# what a source delivers (columns, mapping, rejected rows) before any evaluation.",
        "[sources.tickets]",
        f"adapter = {_toml(adapter)}  # {', '.join(registry.names('source'))}",
        f"path = {_toml(path)}  # relative to this file; a glob reads several files",
        "# kind = \"tickets\"  # the record kind: tickets, surveys, calls, costs, customers, sales",
    ]
    if source_keys:
        lines.append(f"# also accepted by the {adapter} adapter: {', '.join(source_keys)} "
                     f"(`slaengine plugins {adapter}`)")
    lines += [
        "",
        "# Canonical field = the data's column. A column already named like its field needs no",
        "# line; `slaengine inspect` lists the canonical fields.",
        "[sources.tickets.fields]",
    ]
    if fields:
        lines += [f"{_key(name)} = {_toml(column)}" for name, column in fields.items()]
    else:
        lines += ['ticket_id = "Ticket ID"', 'created_at = "Created"',
                  'first_response_at = "First Reply"', 'resolved_at = "Solved"']
    if unmapped:
        lines.append(f"# columns not read: {', '.join(unmapped)}")
    lines += [
        "",
        "# One [[service_levels]] table per promise. `slaengine metrics` lists the metrics and",
        "# `slaengine metrics NAME` a metric's options (options = { ... }).",
        "[[service_levels]]",
        f"id = {_toml(metric.replace('_', '-'))}",
        f"metric = {_toml(metric)}",
        f"target = {_toml(target)}  # e.g. \"95% within 1h\", \"p90 <= 4h\", \">= 85%\"",
        "# minimum = \"80% within 1h\"  # below it the verdict is critical, not only breached",
        "min_sample = 30  # fewer records in a period: insufficient_data, not a verdict",
        "# where = { priority = [\"urgent\", \"high\"] }  # only these records",
        "# by = [\"priority\"]  # one verdict per value of a field",
        "# calendar = \"support-hours\"  # count time only within a [calendars.NAME] table",
        "",
        "# Service credits for missed targets: see `slaengine plugins` for the penalty models",
        f"# ({', '.join(registry.names('penalty model'))}) and `slaengine plugins MODEL` for",
        "# their keys. For example:",
        "# [penalties]",
        "# model = \"fixed\"",
        f"# amounts = {{ {_key(metric.replace('_', '-'))} = \"500.00\" }}",
        "",
    ]
    return "\n".join(lines)
