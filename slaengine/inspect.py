"""``slaengine inspect``: what a source would deliver, before any contract is evaluated on it.

For each source of a contract (or a bare data file or folder) it shows the columns the data has,
the mapping of canonical fields onto them with their canonical types, the row accounting
(read, accepted, rejected by reason, duplicates) from the same :func:`read_source` that
``evaluate`` uses, the time range of ``created_at`` and a few sample records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc
from rich.console import Console
from rich.table import Table
from rich.text import Text

from slaengine.contract import Contract, SourceSpec, load_contract
from slaengine.engine import read_source
from slaengine.errors import DataError, UsageError, did_you_mean
from slaengine.fields import CATEGORY, COUNT, SECONDS, TEXT, TICKETS, TIMESTAMP
from slaengine.inputs import input_files
from slaengine.plugin import SourceConfig
from slaengine.pluginmanager import Registry, build_registry
from slaengine.verdicts import SourceAccount

# Adapter by file suffix (after a compression suffix) for a bare file.
ADAPTER_BY_SUFFIX = {
    ".csv": "csv", ".tsv": "csv", ".txt": "csv",
    ".parquet": "arrow", ".pq": "arrow", ".arrow": "arrow", ".feather": "arrow", ".ipc": "arrow",
    ".json": "zendesk", ".jsonl": "zendesk", ".ndjson": "zendesk",
}  # fmt: skip
_COMPRESSED = (".gz", ".bz2", ".zst", ".lz4")
_TYPE_NAMES = {TIMESTAMP: "timestamp", CATEGORY: "category", TEXT: "text", COUNT: "count"}


@dataclass
class Inspection:
    """What one source delivers. ``error`` is set when reading failed (e.g. a missing column);
    the columns are still shown then, so the mapping can be fixed."""

    source: str
    adapter: str
    path: Path
    timezone: str
    mapping: list[tuple[str, str, str]] = field(default_factory=list)
    columns: list[tuple[str, str]] | None = None
    account: SourceAccount | None = None
    first: datetime | None = None
    last: datetime | None = None
    sample: pa.Table | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)


def inspect_target(
    target: Path,
    *,
    source: str | None = None,
    adapter: str | None = None,
    rows: int = 5,
    registry: Registry | None = None,
) -> list[Inspection]:
    """Inspect every source of a contract (``.toml``), only ``source``, or one data file/folder."""
    registry = registry or build_registry()
    target = Path(target)
    if target.suffix.lower() == ".toml":
        if adapter is not None:
            raise UsageError("--adapter applies to a data file, not to a contract")
        contract = load_contract(target, registry)
        specs = list(contract.sources.values())
        if source is not None:
            if source not in contract.sources:
                names = list(contract.sources)
                raise UsageError(f'--source: the contract has no source called "{source}"',
                                 suggestion=did_you_mean(source, names), accepted=names)
            specs = [contract.sources[source]]
        return [inspect_source(contract, spec, registry, rows) for spec in specs]
    if source is not None:
        raise UsageError("--source applies to a contract; for a data file use --adapter")
    if not target.exists():
        raise UsageError(f"no such file or folder: {target}")
    chosen = adapter or guess_adapter(target)
    if chosen not in registry.sources:
        names = registry.names("source")
        raise UsageError(f'--adapter: no source adapter called "{chosen}"',
                         suggestion=did_you_mean(chosen, names), accepted=names)
    options: dict[str, Any] = {"delimiter": "\t"} if _suffix(target) == ".tsv" else {}
    spec = SourceSpec(name=target.name, adapter=chosen, path=target.resolve(), fields={},
                      options=options)
    contract = Contract(path=None, text="", id="inspect", client="-", vendor="-",
                        currency="USD", period="month", timezone="UTC",
                        sources={spec.name: spec}, service_levels=())
    return [inspect_source(contract, spec, registry, rows)]


def guess_adapter(path: Path) -> str:
    """The adapter for a bare file (by suffix) or folder (by the files in it)."""
    if path.is_dir():
        found = {ADAPTER_BY_SUFFIX.get(_suffix(p)) for p in input_files(path)}
        for adapter in ("arrow", "zendesk"):
            if adapter in found:
                return adapter
        raise UsageError(f"{path}: no Parquet, Arrow or JSON files in the folder; "
                         "name the adapter with --adapter")
    adapter = ADAPTER_BY_SUFFIX.get(_suffix(path))
    if adapter is None:
        raise UsageError(f'{path}: cannot tell the adapter from the suffix "{path.suffix}"; '
                         "name it with --adapter", accepted=sorted(set(ADAPTER_BY_SUFFIX.values())))
    return adapter


def inspect_source(
    contract: Contract, spec: SourceSpec, registry: Registry, rows: int
) -> Inspection:
    """Read one source the way ``evaluate`` would, with every field it can deliver."""
    plugin = registry.sources[spec.adapter]
    config = SourceConfig(name=spec.name, adapter=spec.adapter, path=spec.path,
                          fields=spec.fields, options=spec.options, timezone=contract.timezone)
    found = Inspection(source=spec.name, adapter=spec.adapter, path=spec.path,
                       timezone=contract.timezone)
    try:
        found.columns = plugin.columns(config)
    except DataError as exc:
        found.error = exc.render()
        return found
    available = plugin.available(config)
    names = {name for name, _ in found.columns or []}
    if available is not None:
        fields = [f for f in TICKETS.fields if f in available]
    elif found.columns is not None:
        fields = [f for f in TICKETS.fields if f in spec.fields or f in names]
    else:
        fields = [f for f in TICKETS.fields if f in spec.fields or f in TICKETS.required]
    origins = getattr(plugin, "origins", {})
    found.mapping = [(f, spec.fields.get(f) or origins.get(f, f), _type_name(f)) for f in fields]
    if not fields:
        found.notes.append(
            "no column has a canonical name; map them with "
            f'fields = {{ ticket_id = "...", created_at = "..." }} in [sources.{spec.name}]')
        return found
    for name in TICKETS.required:
        if name not in fields:
            found.notes.append(f'no column for "{name}": map one with fields.{name}')
    try:
        data = read_source(contract, spec, fields, registry)
    except DataError as exc:
        found.error = exc.render()
        return found
    found.account = data.account
    if "created_at" in fields and data.records.num_rows:
        low, high = pc.min_max(data.records["created_at"]).values()
        zone = ZoneInfo(contract.timezone)
        found.first = low.as_py().astimezone(zone) if low.is_valid else None
        found.last = high.as_py().astimezone(zone) if high.is_valid else None
    found.sample = data.records.slice(0, rows)
    return found


def render(inspections: list[Inspection], console: Console) -> None:
    """Print the inspections for people: one section per source.

    A source that cannot be read (a missing or corrupt file, a missing column) is shown as far
    as it could be read (its columns, so the mapping can be fixed), then every such source's
    error is raised as one :class:`DataError`: the command exits 2, as ``evaluate`` would.
    """
    for found in inspections:
        console.rule(Text.assemble((f"source {found.source}", "bold"),
                                   f" · adapter {found.adapter}"))
        console.print(Text(f"path: {found.path}"), highlight=False, soft_wrap=True)
        if found.columns is not None:
            used: dict[str, list[str]] = {}
            for canonical, column, _ in found.mapping:
                used.setdefault(column, []).append(canonical)
            table = Table(title="columns in the data", title_justify="left")
            for header in ("column", "type", "read as"):
                table.add_column(header)
            for name, type_ in found.columns:
                table.add_row(*_plain(name, type_, ", ".join(used.get(name, []))))
            console.print(table)
        if found.mapping:
            table = Table(title="canonical fields", title_justify="left")
            for header in ("field", "← column", "type"):
                table.add_column(header)
            for canonical, column, type_ in found.mapping:
                table.add_row(*_plain(canonical, column, type_))
            console.print(table)
        for note in found.notes:
            console.print(Text.assemble(("note:", "yellow"), f" {note}"), highlight=False)
        if found.error:
            continue
        if found.account is not None:
            _render_account(found, console)
        if found.sample is not None and found.sample.num_rows:
            _render_sample(found, console)
    failed = [found for found in inspections if found.error]
    if len(failed) == 1 and len(inspections) == 1:
        raise DataError(str(failed[0].error))
    if failed:
        raise DataError("\n".join(f"source {found.source}: {found.error}" for found in failed))


def _render_account(found: Inspection, console: Console) -> None:
    account = found.account
    assert account is not None
    console.print(Text(
        f"rows: {account.read} read = {account.accepted} accepted + {account.rejected} rejected"
        f" + {account.duplicates} duplicates"), highlight=False)
    if account.rejected_by_reason:
        table = Table(title="rejected by reason", title_justify="left")
        table.add_column("rows", justify="right")
        table.add_column("reason")
        for reason, count in account.rejected_by_reason.items():
            table.add_row(*_plain(str(count), reason))
        console.print(table)
    if found.first is not None and found.last is not None:
        console.print(Text(f"created_at: {found.first:%Y-%m-%d %H:%M} … "
                           f"{found.last:%Y-%m-%d %H:%M} ({found.timezone})"), highlight=False)


def _render_sample(found: Inspection, console: Console) -> None:
    """Sample records one per column (fields as rows), so many fields still fit a terminal."""
    sample = found.sample
    assert sample is not None
    zone = ZoneInfo(found.timezone)
    table = Table(title=f"first {sample.num_rows} records", title_justify="left")
    table.add_column("field")
    for i in range(sample.num_rows):
        table.add_column(f"#{i + 1}", overflow="fold")
    for name in sample.column_names:
        table.add_row(*_plain(name, *(_cell(v, zone) for v in sample[name].to_pylist())))
    console.print(table)


def _plain(*cells: str) -> list[Text]:
    """Cells shown as written: a column called ``[id]`` is text, not rich markup."""
    return [Text(cell) for cell in cells]


def _cell(value: Any, zone: ZoneInfo) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return f"{value.astimezone(zone):%Y-%m-%d %H:%M}"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _type_name(name: str) -> str:
    """A canonical field's type in words: timestamp, category, text, count, seconds, score."""
    type_ = TICKETS.fields[name]
    if type_ == SECONDS:
        return "seconds" if name.endswith("_seconds") else "score"
    return _TYPE_NAMES.get(type_, str(type_))


def _suffix(path: Path) -> str:
    """The data suffix of ``path``, looking past a compression suffix (``.csv.gz`` → .csv)."""
    name = path.name.lower()
    for ending in _COMPRESSED:
        name = name.removesuffix(ending)
    return Path(name).suffix


# Column names that commonly mean a canonical ticket field, normalised (see :func:`_normalise`).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "ticket_id": ("ticket", "id", "ticket_number", "ticket_no", "number", "case", "case_id",
                  "case_number", "incident", "incident_id", "key", "reference", "ref"),
    "created_at": ("created", "opened", "opened_at", "created_on", "creation_time",
                   "created_time", "created_date", "date_created", "submitted", "submitted_at",
                   "received", "received_at", "open_time", "reported_at"),
    "first_response_at": ("first_reply", "first_reply_at", "first_response",
                          "first_responded", "first_responded_at", "responded", "responded_at",
                          "first_reply_time", "first_response_time"),
    "resolved_at": ("resolved", "solved", "solved_at", "closed", "closed_at", "resolved_on",
                    "resolution_time", "resolved_time", "solved_time", "close_time",
                    "completed", "completed_at"),
    "updated_at": ("updated", "last_updated", "modified", "modified_at", "last_modified"),
    "status": ("state", "ticket_status"),
    "priority": ("urgency", "severity", "prio"),
    "channel": ("via", "source", "medium", "contact_channel"),
    "group": ("team", "queue", "assignment_group", "group_name"),
    "agent": ("assignee", "owner", "assigned_to", "agent_name", "handled_by"),
    "contacts": ("contact_count", "touches", "interactions"),
    "reopens": ("reopened", "reopen_count", "times_reopened"),
    "handle_seconds": ("handle", "handle_s", "handle_time", "aht", "handle_time_s",
                       "handling_time"),
    "organization": ("organisation", "org", "company", "account", "customer"),
    "tags": ("labels", "tag"),
    "replies": ("reply_count", "public_replies"),
    "response_seconds": ("response", "response_s"),
    "escalated": ("escalation", "is_escalated"),
    "csat": ("satisfaction_score", "csat_score", "customer_satisfaction"),
    "nps": ("nps_score", "likelihood_to_recommend"),
    "ces": ("effort", "customer_effort", "ces_score"),
}


def _normalise(name: str) -> str:
    """``"First Reply (UTC)"`` → ``first_reply_utc``: lower case, runs of other characters as
    one underscore."""
    import re

    return re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_")


def propose_fields(columns: list[str], kind: str = "tickets") -> dict[str, str]:
    """The canonical fields of ``kind`` the ``columns`` most likely hold: ``{field: column}``.

    A column whose normalised name is a field's name wins; then one whose name (without a
    ``_utc``/``_at``/``_date`` ending) is a common synonym. Each column is used once, each field
    once, in the order of the record kind's fields.
    """
    from slaengine.fields import RECORD_KINDS

    fields = RECORD_KINDS[kind].fields
    by_name: dict[str, str] = {}
    for column in columns:
        key = _normalise(column)
        by_name.setdefault(key, column)
        for ending in ("_utc", "_local", "_date", "_time", "_at", "_s"):
            if key.endswith(ending) and len(key) > len(ending):
                by_name.setdefault(key.removesuffix(ending), column)
    proposal: dict[str, str] = {}
    used: set[str] = set()
    for rank in (0, 1):
        for name in fields:
            if name in proposal:
                continue
            candidates = (name,) if rank == 0 else SYNONYMS.get(name, ()) if kind == "tickets" \
                else ()
            for candidate in candidates:
                column = by_name.get(candidate)
                if column is not None and column not in used:
                    proposal[name] = column
                    used.add(column)
                    break
    return {name: proposal[name] for name in fields if name in proposal}


def data_columns(path: Path, adapter: str | None = None,
                 registry: Registry | None = None) -> tuple[str, list[str]]:
    """The adapter for a data file or folder and the names of its columns, as ``inspect`` reads
    them (an error when the adapter cannot tell them)."""
    registry = registry or build_registry()
    if not path.exists():
        raise UsageError(f"no such file or folder: {path}")
    chosen = adapter or guess_adapter(path)
    found = inspect_target(path, adapter=chosen, rows=0, registry=registry)[0]
    if found.columns is None:
        raise DataError(found.error or f"{path}: the {chosen} adapter cannot list the columns "
                        "before reading; write the fields mapping by hand", file=path)
    return chosen, [name for name, _ in found.columns]
