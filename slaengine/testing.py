"""Case files for metric tests: small hand-checked tables in, expected verdicts out.

Usable by third-party plugin authors too: write a TOML case per metric, then one pytest
function runs them all::

    from slaengine.testing import assert_case, evaluate_case, load_cases

    @pytest.mark.parametrize("case", load_cases("tests/metrics/my_metric.toml"))
    def test_my_metric(case, tmp_path):
        assert_case(case, evaluate_case(case, tmp_path))

A case is a mapping (a parsed TOML file)::

    description = "what the case shows"
    [contract]                      # optional: period (month), timezone (UTC), currency (USD)
    period = "month"

    [sources.tickets]               # one table per source; kind defaults to the source's name
    kind = "tickets"                # when that is a record kind, else tickets
    rows = [                        # canonical field names; values as in a CSV file
      { ticket_id = "T1", created_at = 2026-01-05T09:00:00Z, reopens = 0 },
    ]
    # or: csv = '''ticket_id,created_at\\nT1,2026-01-05T09:00:00Z\\n'''

    [calendars.office]              # optional: calendars, as in a contract
    timezone = "UTC"
    hours = { mon-fri = "09:00-17:00" }

    [service_level]                 # one [[service_levels]] entry; id defaults to "case"
    metric = "reopen_rate"
    target = "<= 20%"

    [[expected]]                    # one per verdict (period, segment)
    period = "2026-01"
    segment = { agent = "a.moreno" }   # optional
    value = 0.5                     # a float, a string for exact money ("12.3400"), "none"
    status = "met"
    sample_size = 2                 # optional, as are unmeasured, missed, excluded

Every verdict must be listed unless the case says ``complete = false``. A file may hold several
cases sharing its ``contract`` and ``sources``: put each ``service_level`` and its ``expected``
in a ``[[cases]]`` entry (see :func:`load_cases`). Records are written to CSV files with
canonical column names, so the ``csv`` source reads them exactly as it reads real data.

Ticket histories (the ``events`` kind, which event clocks measure) are written event by
event with :func:`created`, :func:`said`, :func:`status` and :func:`prioritised`; the rows go
to :func:`write_records` for a contract, or to :func:`events_table` for
:func:`slaengine.clocks.measure` itself::

    history = [created("T1", "2026-01-05T09:00:00Z", "urgent"),
               said("T1", "2026-01-05T10:00:00Z", "agent"),
               status("T1", "2026-01-05T11:00:00Z", "solved")]
    write_records(history, tmp_path / "events.csv")
"""

from __future__ import annotations

import csv
import json
import math
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import tomli_w

from slaengine import hookimpl
from slaengine.contract import load_contract
from slaengine.engine import evaluate
from slaengine.fields import EVENTS, RECORD_KINDS
from slaengine.lazy import pa
from slaengine.plugin import Source, SourceBatch, SourceConfig
from slaengine.pluginmanager import Registry, build_registry
from slaengine.verdicts import Evaluation, Verdict

CASE_ID = "case"
CASE_ADAPTER = "case-csv"
NONE = "none"
"""``value = "none"`` expects a verdict without a value (nothing to compute it from)."""
CHECKED = ("status", "sample_size", "unmeasured", "excluded", "missed_count")


class CaseSource(Source):
    """The installed ``csv`` source, except that it can deliver exactly the columns its file
    has.

    A metric with alternative inputs (CSAT as a 1-5 score or as good/bad ``satisfaction``)
    then sees what the case's rows provide, as it would with a fixed-shape help-desk export.
    The ``csv`` source is the registry's, found the way every plugin is: the cases read their
    rows exactly as real data is read.
    """

    name = CASE_ADAPTER

    def __init__(self) -> None:
        self.csv: Source | None = None

    def _source(self) -> Source:
        if self.csv is None:
            raise RuntimeError("a case source is used through case_registry()")
        return self.csv

    def available(self, config: SourceConfig) -> frozenset[str] | None:
        columns = self._source().columns(config)
        return frozenset(name for name, _ in columns) if columns else None

    def columns(self, config: SourceConfig) -> list[tuple[str, str]] | None:
        return self._source().columns(config)

    def files(self, config: SourceConfig) -> list[Path]:
        return self._source().files(config)

    def read(self, config: SourceConfig, fields: Sequence[str]) -> Iterator[SourceBatch]:
        return self._source().read(config, fields)


class _CasePlugin:
    def __init__(self, source: CaseSource) -> None:
        self.source = source

    @hookimpl
    def register_sources(self) -> list[Source]:
        return [self.source]


def case_registry(extra: Sequence[object] = ()) -> Registry:
    """Every installed plugin, the ``case-csv`` source, and ``extra`` plugins (modules or
    objects with hook implementations, e.g. the plugin under test before it is installed)."""
    case = CaseSource()
    registry = build_registry([_CasePlugin(case), *extra])
    case.csv = registry.get("source", "csv")
    return registry


def load_cases(path: str | Path) -> list[dict[str, Any]]:
    """The cases of one TOML file: the file itself, or each ``[[cases]]`` entry merged over the
    file's shared keys (``contract``, ``sources``, ``description``). Each case gets ``name``
    (``FILE`` or ``FILE[i]``) for test ids."""
    path = Path(path)
    document = tomllib.loads(path.read_text(encoding="utf-8"))
    entries = document.pop("cases", None)
    if entries is None:
        return [{"name": path.stem, **document}]
    return [{"name": f"{path.stem}[{i}]", **document, **entry} for i, entry in enumerate(entries)]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


def write_records(records: Sequence[Mapping[str, Any]] | str, path: Path) -> Path:
    """Write rows (mappings, canonical names; a missing key is an empty cell) or CSV text."""
    if isinstance(records, str):
        path.write_text(records, encoding="utf-8")
        return path
    columns: list[str] = []
    for row in records:
        columns.extend(name for name in row if name not in columns)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        writer.writerows([_text(row.get(name)) for name in columns] for row in records)
    return path


def event(ticket: str, at: str | datetime, kind: str, *, status: str | None = None,
          author: str | None = None, public: bool | None = None,
          priority: str | None = None) -> dict[str, Any]:
    """One event of a ticket's history, with the ``events`` kind's canonical fields (``kind``
    is its ``event``: ``created``, ``comment``, ``status``, ``priority``); ``at`` an ISO 8601
    text with its offset, or an aware datetime."""
    return {"ticket_id": ticket, "at": at, "event": kind, "status": status, "author": author,
            "public": public, "priority": priority}


def created(ticket: str, at: str | datetime, priority: str | None = None, *,
            author: str | None = "requester") -> dict[str, Any]:
    """The ticket is opened (by the requester, unless told)."""
    return event(ticket, at, "created", author=author, priority=priority)


def said(ticket: str, at: str | datetime, author: str, public: bool = True) -> dict[str, Any]:
    """A comment by ``author`` (``requester``, ``agent``, ...); ``public=False``: internal."""
    return event(ticket, at, "comment", author=author, public=public)


def status(ticket: str, at: str | datetime, value: str) -> dict[str, Any]:
    """The ticket's status becomes ``value`` (``open``, ``pending``, ``solved``, ...)."""
    return event(ticket, at, "status", status=value)


def prioritised(ticket: str, at: str | datetime, value: str) -> dict[str, Any]:
    """The ticket's priority becomes ``value``."""
    return event(ticket, at, "priority", priority=value)


def events_table(rows: Sequence[Mapping[str, Any]]) -> pa.Table:
    """History rows (:func:`event` and the helpers after it) as a table of the ``events``
    kind's canonical types, as a source delivers it: what :func:`slaengine.clocks.measure`
    reads."""
    def instant(at: str | datetime) -> datetime:
        return at if isinstance(at, datetime) else datetime.fromisoformat(at)

    names = ["ticket_id", "at", "event", "status", "author", "public", "priority"]
    columns = {name: [row.get(name) for row in rows] for name in names}
    columns["at"] = [instant(at) for at in columns["at"]]
    return pa.table(columns, schema=EVENTS.schema(names))


def case_contract(case: Mapping[str, Any], folder: Path) -> Path:
    """Write the case's records and a contract reading them into ``folder``; return its path.

    The contract has canonical column names (no ``fields`` mapping), timezone UTC and monthly
    periods unless the case's ``contract`` table says otherwise, and one service level. Sources
    use the ``case-csv`` adapter (:class:`CaseSource`).
    """
    head = {"id": CASE_ID, "client": "Case Client", "vendor": "Case Vendor", "currency": "USD",
            "period": "month", "timezone": "UTC", **case.get("contract", {})}
    sources: dict[str, dict[str, Any]] = {}
    for name, spec in case["sources"].items():
        kind = spec.get("kind", name if name in RECORD_KINDS else "tickets")
        records = spec["csv"] if "csv" in spec else spec.get("rows", [])
        write_records(records, folder / f"{name}.csv")
        sources[name] = {"adapter": CASE_ADAPTER, "kind": kind, "path": f"{name}.csv"}
    level = {"id": CASE_ID, **case["service_level"]}
    document = {"contract": head, "sources": sources, "service_levels": [level]}
    if "calendars" in case:  # business hours a service level's ``calendar`` names
        document["calendars"] = case["calendars"]
    path = folder / "contract.toml"
    path.write_text(tomli_w.dumps(document), encoding="utf-8")
    return path


def evaluate_case(
    case: Mapping[str, Any], tmp_path: Path, registry: Registry | None = None
) -> Evaluation:
    """Write the case to ``tmp_path`` as CSV files and a contract, and evaluate it.

    ``registry`` must offer the ``case-csv`` source: use :func:`case_registry` (the default).
    """
    registry = registry or case_registry()
    contract = load_contract(case_contract(case, Path(tmp_path)), registry)
    return evaluate(contract, registry)


def _same_value(expected: Any, actual: float | Decimal | None) -> bool:
    if isinstance(expected, str) and expected.lower() == NONE:
        return actual is None
    if actual is None:
        return False
    if isinstance(expected, str):  # exact money
        return isinstance(actual, Decimal) and actual == Decimal(expected)
    if isinstance(actual, Decimal):
        return False  # money must be written as a string, to be compared exactly
    return math.isclose(float(actual), float(expected), rel_tol=1e-9, abs_tol=1e-9)


def check_case(case: Mapping[str, Any], evaluation: Evaluation) -> list[str]:
    """Compare the evaluation's verdicts with the case's ``expected``; return the differences
    (an empty list when everything matches)."""
    problems: list[str] = []
    found: dict[tuple[str, tuple], Verdict] = {
        (v.period, tuple(sorted(v.segment.items()))): v for v in evaluation.verdicts
    }
    listed = set()
    for expected in case.get("expected", []):
        key = (expected["period"], tuple(sorted(expected.get("segment", {}).items())))
        listed.add(key)
        where = f"{key[0]}{' ' + str(dict(key[1])) if key[1] else ''}"
        verdict = found.get(key)
        if verdict is None:
            problems.append(f"{where}: no verdict (found: {sorted(p for p, _ in found)})")
            continue
        if "value" in expected and not _same_value(expected["value"], verdict.value):
            problems.append(f"{where}: value {verdict.value!r}, expected {expected['value']!r}")
        for name in CHECKED:
            if name in expected and getattr(verdict, name) != expected[name]:
                problems.append(f"{where}: {name} {getattr(verdict, name)!r}, "
                                f"expected {expected[name]!r}")
        if "missed" in expected and list(verdict.missed) != list(expected["missed"]):
            problems.append(f"{where}: missed {list(verdict.missed)}, "
                            f"expected {list(expected['missed'])}")
    if case.get("complete", True):
        for key in sorted(set(found) - listed):
            v = found[key]
            problems.append(f"{key[0]} {dict(key[1]) or ''}: unexpected verdict "
                            f"value={v.value!r} status={v.status} n={v.sample_size}")
    return problems


def assert_case(case: Mapping[str, Any], evaluation: Evaluation) -> None:
    """Raise AssertionError listing every difference between the verdicts and ``expected``."""
    problems = check_case(case, evaluation)
    if problems:
        name = case.get("name", case.get("description", "case"))
        raise AssertionError(f"{name}:\n  " + "\n  ".join(problems))


def without_run_facts(report: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON report (``Evaluation.to_dict()``) without what differs between two runs of the
    same evaluation: the engine that ran it and the time it ran."""
    found = json.loads(json.dumps(report))
    found["manifest"].pop("engine", None)
    found["manifest"].pop("evaluated_at", None)
    return found


def report_differences(left: Any, right: Any, path: str = "") -> list[str]:
    """Every place two JSON documents differ, by key path (values compared exactly: floats
    bit for bit)."""
    if type(left) is not type(right):
        return [f"{path}: {left!r} != {right!r}"]
    if isinstance(left, dict):
        out = [f"{path}/{k}: only on one side" for k in sorted(set(left) ^ set(right))]
        for key in sorted(set(left) & set(right)):
            out += report_differences(left[key], right[key], f"{path}/{key}")
        return out
    if isinstance(left, list):
        out = [f"{path}: {len(left)} != {len(right)} items"] if len(left) != len(right) else []
        for i, (a, b) in enumerate(zip(left, right, strict=False)):
            out += report_differences(a, b, f"{path}[{i}]")
        return out
    return [] if left == right else [f"{path}: {left!r} != {right!r}"]
