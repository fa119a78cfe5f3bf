"""Breach evidence: the records behind every breached or critical verdict, as CSV files.

``slaengine evaluate ... --evidence DIR`` writes ``DIR/<service level>/<period>.csv`` (with the
segment in the name when the service level has ``by``) holding the records behind the verdict
and the fields that decided it, plus ``DIR/index.csv`` with a row for every failed verdict.
This is what a vendor needs to dispute a verdict, and what procurement needs to make it stick.

What a file holds depends on the target:

- a per-record target (attainment, share, a percentile, min or max): the records that missed
  it; a mean: the records whose measure lies beyond the target (a CSAT answer below 4.0 for
  ``mean >= 4.0``); sorted worst measure first. For a mean or an order statistic the index also
  gives the figure without the worst 1% of the measures (at least one): how concentrated the
  miss is (a p90 that meets the target once the worst 1% are left out was missed by a few
  outliers);
- a count: every record counted;
- a period-level figure (backlog, response time, cost per contact ...): the records behind it,
  as its metric names them (the tickets open at the end of the period, the cost lines and
  contacts of the period), with an ``input`` column when it reads several record sets.

For a clock level (records derived from a ticket's history), each records file has a spans
file beside it, ``<period>.intervals.csv``: every running and paused span of those records
(``id``, ``start``, ``end``, ``state``, ``event`` that began it, business ``seconds`` it
counted), record by record in the records file's order; a record's seconds are the sum of its
spans'. The index names it in ``intervals``.

For a clock level with audit flags, ``<service level>/audit.csv`` lists every flag of the
window, one row each: ``flag``, ``period``, ``segment`` (the level's ``by`` fields as a JSON
object, empty without ``by``), ``ticket_id``, ``at`` (the instant that decides its period) and
``record`` (the clock record flagged, for ``paused_near_target``), only flags of the level's
selection (its ``where``). Flags are not verdicts: the index names the file in a row of its
own whose ``status`` is ``audit``, with the number of flags in ``records``.

A failed verdict without a file (no record to show) has a row all the same, with ``note``
saying why.

The folder is written whole beside ``DIR`` and swapped into place at the end, so an earlier run
is replaced whole (no stale file) and a failed run leaves it as it was. File names are readable
and unique: a name whose text had to change to be safe on every file system (``a/b``, ``a?b``,
``..``, a null, a case that differs only in letters' case, a value too long for a file name)
carries a short hash of the exact text, and ``index.csv`` holds the exact values (the segment
as a JSON object) and the exact file each verdict was written to. Text cells are kept from being
read as spreadsheet formulas (see :mod:`slaengine.outputs`).
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from slaengine.outputs import atomic_folder, neutralise_cell, neutralise_table
from slaengine.verdicts import FAILED, Evaluation, Verdict, verdict_key

EVIDENCE_STATUSES = FAILED

INDEX_COLUMNS = ("service_level", "period", "segment", "status", "target", "value", "records",
                 "file", "worst_left_out", "value_without_worst", "note", "intervals")
"""``value``: the verdict's figure; ``records``: the rows of ``file`` (empty without one);
``intervals``: for a clock level, the file of the running and paused spans of those records;
``worst_left_out`` and ``value_without_worst``: for a mean or an order statistic, how many of
the worst measures make up 1% of the sample (at least one) and the figure without them (empty
when none would be left); ``note``: why a failed verdict has no file. A row whose ``status`` is
``audit`` names a level's audit flags file (``period`` and ``segment`` empty)."""

AUDIT_STATUS = "audit"
"""The ``status`` of the index row that names a level's audit flags file."""

SPANS_SUFFIX = ".intervals.csv"
"""A clock level's spans file sits beside its records file: ``2026-01.intervals.csv``."""

_UNSAFE = re.compile(r"[^A-Za-z0-9_.=-]+")
_LONGEST = 100
"""Characters of readable text kept in a name (far below the 255 bytes file systems allow)."""
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)),
             *(f"LPT{i}" for i in range(10))}


def write_evidence(evaluation: Evaluation, directory: Path) -> list[Path]:
    """Write the evidence folder (replacing an earlier one whole); return the paths of the
    files written, the index first."""
    with atomic_folder(directory) as folder:
        relative = write_evidence_files(evaluation, folder)
    return [directory / path for path in relative]


def write_evidence_files(evaluation: Evaluation, folder: Path) -> list[Path]:
    """Write the evidence files into ``folder`` (an empty one); return their paths relative
    to it, the index first."""
    names = _Names()
    written: list[Path] = []
    rows = []
    for verdict in evaluation.verdicts:
        if verdict.status not in EVIDENCE_STATUSES:
            continue
        table = evaluation.evidence.get(verdict.service_level)
        chosen = _records_of(table, verdict) if table is not None else None
        row = [verdict.service_level, verdict.period,
               json.dumps(verdict.segment, ensure_ascii=False), verdict.status, verdict.target,
               _figure(verdict.value)]
        concentration = evaluation.concentration.get(verdict_key(verdict))
        spread = (["", ""] if concentration is None else
                  [concentration.left_out, _figure(concentration.value)])
        if chosen is None or chosen.num_rows == 0:
            rows.append([*row, "", "", *spread, _why_none(verdict), ""])
            continue
        level = names.folder(verdict.service_level)
        segment = verdict.segment.items()
        readable = "_".join([verdict.period,
                             *(f"{k}-{'' if v is None else v}" for k, v in segment)])
        exact = json.dumps([verdict.period, list(segment)], ensure_ascii=False)
        nulls = any(v is None for _, v in segment)
        path = Path(level) / (names.file(level, readable, exact, force=nulls) + ".csv")
        (folder / level).mkdir(exist_ok=True)
        pacsv.write_csv(neutralise_table(_plain(chosen)), folder / path)
        written.append(path)
        spans = _spans_of(evaluation.intervals.get(verdict.service_level), chosen)
        beside = ""
        if spans is not None:
            beside = path.with_name(path.stem + SPANS_SUFFIX)
            pacsv.write_csv(neutralise_table(spans), folder / beside)
            written.append(beside)
            beside = beside.as_posix()
        rows.append([*row, chosen.num_rows, path.as_posix(), *spread, "", beside])
    for service_level, flags in evaluation.audit.items():
        if flags.num_rows == 0:
            continue
        level = names.folder(service_level)
        path = Path(level) / (names.file(level, "audit", json.dumps(["audit"])) + ".csv")
        (folder / level).mkdir(exist_ok=True)
        pacsv.write_csv(neutralise_table(_plain(flags)), folder / path)
        written.append(path)
        rows.append([service_level, "", "", AUDIT_STATUS, "", "", flags.num_rows,
                     path.as_posix(), "", "", "audit flags of the clock, not verdicts", ""])
    index = Path("index.csv")
    with (folder / index).open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(INDEX_COLUMNS)
        out.writerows([[neutralise_cell(cell) for cell in row] for row in rows])
    return [index, *written]


def _records_of(table: pa.Table, verdict: Verdict) -> pa.Table:
    """The rows of a level's evidence table that belong to one verdict (its period and
    segment), in the table's order."""
    mask = pc.equal(table["period"], verdict.period)
    for name, value in verdict.segment.items():
        column = pc.cast(table[name], pa.string())
        same = pc.is_null(column) if value is None else pc.equal(column, str(value))
        mask = pc.and_(mask, pc.fill_null(same, False))
    return table.filter(mask)


def _spans_of(intervals: pa.Table | None, chosen: pa.Table) -> pa.Table | None:
    """The spans of the clock records in ``chosen`` (by their ``id``), record by record in the
    order of ``chosen`` and each record's spans in time order; None for a level without spans."""
    if intervals is None or "id" not in chosen.column_names:
        return None
    order = pc.index_in(intervals["id"], value_set=chosen["id"])
    numbered = intervals.append_column("__record", order).append_column(
        "__span", pa.array(range(intervals.num_rows), pa.int64()))
    kept = numbered.filter(pc.is_valid(order))
    kept = kept.sort_by([("__record", "ascending"), ("__span", "ascending")])
    return kept.drop_columns(["__record", "__span"])


def _why_none(verdict: Verdict) -> str:
    """Why a failed verdict has no evidence file."""
    if verdict.statistic == "value":
        return "no records: none fed the period's figure"
    if verdict.statistic == "count":
        return "no records: the period had none"
    return "no records: none of the period's records lies beyond the target"


def _figure(value: object) -> object:
    """A figure as the index shows it: the number itself (a Decimal exact), empty for none."""
    return "" if value is None else value


class _Names:
    """Unique, safe file names: readable where the text allows, with a hash where it does not.

    Names are compared case-folded, as a case-insensitive file system (macOS, Windows) would.
    """

    def __init__(self) -> None:
        self.folders: dict[str, str] = {}
        self.used: dict[str, set[str]] = {}

    def folder(self, service_level: str) -> str:
        if service_level not in self.folders:
            taken = {name.casefold() for name in self.folders.values()}
            taken.add("index.csv")
            self.folders[service_level] = safe_name(service_level, service_level, taken)
        return self.folders[service_level]

    def file(self, folder: str, readable: str, exact: str, *, force: bool = False) -> str:
        """A file name (without ``.csv``) whose spans file (``NAME.intervals.csv``) is free
        too: no name is another's name with ``.intervals`` appended."""
        used = self.used.setdefault(folder, set())
        name = safe_name(readable, exact, used, force=force)
        if (name + ".intervals").casefold() in used:
            name = safe_name(readable, exact, used, force=True)
        used.update({name.casefold(), (name + ".intervals").casefold()})
        return name


def safe_name(readable: str, exact: str, taken: set[str] = frozenset(),  # type: ignore[assignment]
              *, force: bool = False) -> str:
    """``readable`` as a file name made of ``A-Za-z0-9_.=-`` only; when that changed the text,
    was forced, is reserved, too long or already ``taken`` (case-folded), a hash of ``exact``
    is appended so that different texts never share a name."""
    safe = _UNSAFE.sub("-", readable).strip(".") or "-"
    plain = (not force and safe == readable and len(safe) <= _LONGEST
             and safe.split(".")[0].upper() not in _RESERVED and safe.casefold() not in taken)
    if plain:
        return safe
    digest = hashlib.sha256(exact.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"{safe[:_LONGEST]}~{digest}"


def _plain(table: pa.Table) -> pa.Table:
    """Dictionary columns decoded, so the CSV shows the values."""
    columns = [pc.cast(c, c.type.value_type) if pa.types.is_dictionary(c.type) else c
               for c in table.columns]
    return pa.table(columns, names=table.column_names)
