"""Records and rejects: every field's column coerced, the rules that look at typed values
(bounds, order, required fields), and one reject row, with all its reasons, per row that breaks
any of them, so ``accepted + rejected == read``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from slaengine.bits import all_within, one_array
from slaengine.coerce.column import Column, reasons
from slaengine.coerce.types import coerce_column
from slaengine.errors import DataError, did_you_mean
from slaengine.fields import RecordKind
from slaengine.plugin import REJECT_SCHEMA


def coerce(
    raw: pa.Table,
    *,
    kind: RecordKind,
    columns: Mapping[str, str],
    timezone: str,
    rows: pa.Array | pa.ChunkedArray | Sequence[int] | np.ndarray,
    source: str,
    native_id: bool = False,
) -> tuple[pa.Table, pa.Table]:
    """Type a source's raw columns as canonical records and reject the rows that cannot be used.

    :param raw: the source's columns, as text or already typed.
    :param kind: the record kind; gives each field's type, required fields, bounds and order.
    :param columns: each requested canonical field -> the raw column holding it. Two fields may
        read the same raw column.
    :param timezone: IANA zone in which timestamps without an offset are read.
    :param rows: the place of each raw row (its line number in a text file, its index
        otherwise), reported with every reject; one per row of ``raw``.
    :param source: the source's name, reported with every reject.
    :param native_id: an integer column holding the kind's id field stays integer (its records
        keep it; the ids a report shows are made text then): converting every record's id to
        text costs more than reading it. Only for kinds whose id is compared with itself.
    :return: ``(records, rejected)``: the accepted rows with exactly the requested fields, in
        the order of ``columns``, typed per ``kind.fields``; and one :data:`REJECT_SCHEMA` row
        per rejected input row. A row with several problems is rejected once: ``field`` and
        ``value`` (its text, null when missing) are those of the first failing field in
        ``columns`` order, ``reason`` joins every problem with ``"; "``.
    :raises DataError: a raw column is absent, or holds a type the field cannot take (a list
        where a timestamp belongs): a problem of the whole source, not of single rows.
    """
    n = raw.num_rows
    if len(rows) != n:
        raise ValueError(f"coerce: {len(rows)} row places for {n} rows of source {source!r}")
    unknown = [f for f in columns if f not in kind.fields]
    if unknown:
        raise ValueError(f"coerce: {unknown} are not fields of record kind {kind.name!r}")

    cols: dict[str, Column] = {}
    for name, column in columns.items():
        if column not in raw.column_names:
            raise DataError(
                f"no column {column!r} for field {name!r}",
                where=f"source {source!r}",
                suggestion=did_you_mean(column, raw.column_names),
                accepted=raw.column_names,
            )
        values = one_array(raw.column(column))
        if native_id and name == kind.id_field and pa.types.is_integer(values.type):
            cols[name] = Column(name, values, values)  # no whitespace, never empty: no rule
            continue
        cols[name] = coerce_column(
            name, values, kind.fields[name], timezone, source, column
        )

    _check_rules(cols, kind)

    problems = [c for c in cols.values() if c.problem is not None]
    schema = kind.schema(list(columns))
    if native_id and kind.id_field in cols:
        at = schema.get_field_index(kind.id_field)
        schema = schema.set(at, schema.field(at).with_type(cols[kind.id_field].typed.type))
    if not problems:
        records = _table([c.typed for c in cols.values()], schema, raw)
        return records, REJECT_SCHEMA.empty_table()

    bad = _any_valid([c.problem for c in problems])
    good = pc.invert(bad)
    records = _table([c.typed.filter(good) for c in cols.values()], schema, raw.filter(good))
    return records, _rejects(problems, bad, _as_int64(rows), source)


def _check_rules(cols: dict[str, Column], kind: RecordKind) -> None:
    """Add the problems that look at typed values: closed sets of values, bounds, order,
    required fields."""
    for name, allowed in kind.values.items():
        if name in cols:
            _closed(cols[name], allowed, kind.aliases.get(name, {}))
    for name, (low, high) in kind.bounds.items():
        col = cols.get(name)
        if col is None or (low is None and high is None):
            continue
        # The common case, all values inside, in one pass; on the source's own numbers when
        # they are (narrower and, widened exactly, the same values), else on the typed ones.
        numeric = (pa.types.is_integer(col.raw.type) or pa.types.is_floating(col.raw.type))
        if all_within(col.raw if numeric else col.typed, low, high):
            continue
        too_low = pc.less(col.typed, low) if low is not None else None
        too_high = pc.greater(col.typed, high) if high is not None else None
        if too_low is not None and too_high is not None:
            mask, what = pc.or_(too_low, too_high), f" is outside {_num(low)}-{_num(high)}"
        elif too_low is not None:
            mask, what = too_low, f" is below {_num(low)}"
        else:
            mask, what = too_high, f" is above {_num(high)}"
        col.add_problem(mask, lambda n=name, c=col, w=what: reasons(n, c.text, w, quote=""))

    for later, earlier in kind.not_before:
        if later in cols and earlier in cols:
            before = pc.less(cols[later].typed, cols[earlier].typed)
            cols[later].add_problem(before, f"{later}: before {earlier}")

    for name in kind.required:
        col = cols.get(name)
        if col is None:
            continue
        missing = pc.is_null(col.typed)
        if col.problem is not None:
            missing = pc.and_(missing, pc.is_null(col.problem))
        col.add_problem(missing, f"{name}: missing")


_NAMES_SHOWN = 20
"""A reason lists at most this many of a source's own names for a field's values."""


def _closed(col: Column, allowed: tuple[str, ...], aliases: Mapping[str, str]) -> None:
    """Read a category column's values as canonical ones: a source's own name (``aliases``)
    becomes the value it maps onto, any other value outside ``allowed`` is a problem of its row.

    Works on the (short) dictionary of distinct values: a lookup per distinct value, then one
    ``take`` of the row indices. Rejected values leave the dictionary, so accepted records hold
    canonical values only.
    """
    typed = col.typed
    if not pa.types.is_dictionary(typed.type):
        raise ValueError(f"coerce: field {col.name!r} has a closed set but is no category")
    names = typed.dictionary
    if aliases:
        mapped = pc.take(pa.array(list(aliases.values()), pa.string()),
                         pc.index_in(names, value_set=pa.array(list(aliases), pa.string())))
        names = pc.coalesce(mapped, names)
    known = pc.is_in(names, value_set=pa.array(allowed, pa.string()))
    if aliases or not pc.all(known).as_py():
        canonical = pc.dictionary_encode(
            pc.if_else(known, names, pa.scalar(None, pa.string())))
        indices = pc.take(canonical.indices, typed.indices)
        col.typed = pa.DictionaryArray.from_arrays(indices, canonical.dictionary)
    if pc.all(known).as_py():
        return
    unknown = pc.and_(pc.is_valid(typed), pc.invert(pc.take(known, typed.indices)))
    what = f" is not one of {', '.join(allowed)}"
    if aliases:
        own = sorted(aliases)
        shown = ", ".join(own[:_NAMES_SHOWN]) + (", ..." if len(own) > _NAMES_SHOWN else "")
        what += f", nor a name values.{col.name} maps ({shown})"
    col.add_problem(unknown, lambda: reasons(col.name, col.text, what))


def _rejects(problems: list[Column], bad: pa.Array, places: pa.Array, source: str) -> pa.Table:
    """One reject row per bad row: first failing field and its value, all reasons joined."""
    found = [(col, _problem(col).filter(bad)) for col in problems]
    count = len(found[0][1])
    reason = found[0][1]
    for _, p in found[1:]:
        # binary_join_element_wise(null_handling="skip") loses rows in pyarrow 26 when every
        # input of a row is null, so the reasons are joined pairwise and coalesced instead.
        reason = pc.coalesce(pc.binary_join_element_wise(reason, p, "; "), reason, p)
    field_ = pa.nulls(count, pa.string())
    value = pa.nulls(count, pa.string())
    for col, p in reversed(found):
        failing = pc.is_valid(p)
        field_ = pc.if_else(failing, pa.scalar(col.name, pa.string()), field_)
        value = pc.if_else(failing, col.text.filter(bad), value)
    source_ = pa.repeat(pa.scalar(source, pa.string()), count)
    arrays = [source_, places.filter(bad), field_, value, reason]
    return pa.Table.from_arrays(arrays, schema=REJECT_SCHEMA)


def _problem(col: Column) -> pa.Array:
    """A column's problems; only called for columns that have some."""
    if col.problem is None:
        raise AssertionError(f"column {col.name!r} has no problems")
    return col.problem


def _num(x: float) -> str:
    """A bound as people write it: 5, not 5.0."""
    return f"{x:g}"


def _any_valid(arrays: list[pa.Array]) -> pa.Array:
    """True where any of ``arrays`` holds a value."""
    out = pc.is_valid(arrays[0])
    for a in arrays[1:]:
        out = pc.or_(out, pc.is_valid(a))
    return out


def _as_int64(rows: pa.Array | pa.ChunkedArray | Sequence[int] | np.ndarray) -> pa.Array:
    """Row places as one int64 array."""
    if isinstance(rows, pa.ChunkedArray):
        rows = one_array(rows)
    if not isinstance(rows, pa.Array):
        rows = pa.array(rows)
    return rows.cast(pa.int64())


def _table(arrays: list[pa.Array], schema: pa.Schema, raw: pa.Table) -> pa.Table:
    """The records table; with no fields requested it still has one row per accepted row."""
    if not arrays:
        return raw.select([])
    return pa.Table.from_arrays(arrays, schema=schema)

