"""Turn a source's raw columns into canonical records, and reject the rows that cannot be used.

Every tabular source (CSV, Arrow, Parquet, ...) hands :func:`coerce` its columns as they came:
text to be parsed, or values that are already typed. :func:`coerce` returns the records typed
as :mod:`slaengine.fields` says, and one reject row (:data:`slaengine.kinds.REJECT_SCHEMA`) for
every input row it could not use, with the reason. Nothing is dropped silently, so
``accepted + rejected == read`` always holds.

Everything is vectorised with ``pyarrow.compute``; Python loops run per column, or per distinct
bad value on the error path, never per record.

Rules, by field type:

- text is trimmed and an empty string is a null; categories are then dictionary-encoded;
- timestamps are ISO 8601: ``YYYY-MM-DD`` or ``YYYY-MM-DD[T| ]HH:MM[:SS[.fraction]]``, with an
  optional ``Z``, ``±HH:MM`` or ``±HHMM`` offset. With an offset the instant is exact; without
  one it is a wall-clock time in the contract's timezone (see :func:`_localise` for the hours
  that a DST change skips or repeats). Fractions beyond microseconds are truncated;
- counts (``int64``) and seconds or scores (``float64``) are decimal numbers (``12``, ``-3``,
  ``2.5``, ``1e3``); a count must be a whole number (``2.0`` is 2, ``2.5`` is rejected).
  ``nan``, ``inf``, thousands separators and hexadecimal are not numbers;
- a null is fine except in the kind's required fields (``ticket_id``, ``created_at``);
- values must lie in the kind's ``bounds`` and respect its ``not_before`` order.

Already-typed columns: a timestamp with a timezone is converted to UTC, one without a timezone
(and a date) is read in the contract's timezone; integers, floats and decimals become the
field's number type. The same rules hold whatever the format: a float ``NaN``, ``inf`` or
``-inf`` is rejected as not a number (as the text ``nan`` is), a value outside the field's
bounds or outside its type's range is rejected with the reason a text value would get, and a
timestamp must lie between 1900-01-01 and 2199-12-31 (UTC), the dates a contract may name
(:data:`slaengine.periods.FIRST_DAY` .. :data:`~slaengine.periods.LAST_DAY`), so that every
period and calendar can place it. Large text, binary (UTF-8) and dictionary columns are read
like the plain column they encode. A column whose type a field cannot take (a list, a struct, a
map where a timestamp or a number belongs) stops the run naming the column, its type and what
the field expects (:func:`expects`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from slaengine.errors import DataError, did_you_mean
from slaengine.fields import TIMESTAMP, RecordKind
from slaengine.kinds import REJECT_SCHEMA
from slaengine.periods import FIRST_DAY, LAST_DAY
from slaengine.walltime import to_utc

__all__ = ["coerce", "expects"]

# ISO 8601 shapes accepted for timestamps; ranges (month 13, February 30, hour 25) are checked
# by Arrow's strict cast afterwards.
_ISO_RE = (
    r"^\d{4}-\d{2}-\d{2}"
    r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$"
)
_OFFSET_RE = r"[T ].*(?:Z|[+-]\d{2}:?\d{2})$"
_INT_RE = r"^[+-]?\d+$"
_AMOUNT_RE = r"^[+-]?\d+(?:\.\d+)?$"
_FLOAT_RE = r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$"
# Quote at most this many characters of a bad value inside a reason (the full value is kept in
# the reject's ``value`` column).
_QUOTE_MAX = 80
_INT64_LIMIT = 2.0**63
_WIDENS_TO_INT64 = {pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.uint8(), pa.uint16(),
                    pa.uint32()}
_EXACT_IN_FLOAT64 = {pa.int8(), pa.int16(), pa.int32(), pa.uint8(), pa.uint16(), pa.uint32()}
# Instants a timestamp field may hold (UTC microseconds): far enough inside what a datetime can
# show that a value stays representable, and placeable, in every timezone.
_EARLIEST_US = (FIRST_DAY - date(1970, 1, 1)).days * 86_400_000_000
_LATEST_US = (LAST_DAY - date(1970, 1, 1)).days * 86_400_000_000 + 86_400_000_000 - 1
_TIME_RANGE = f"{FIRST_DAY} to {LAST_DAY}"
# Wall times are clipped to just outside that range before they are placed in a timezone (an
# offset moves them by less than a day), so they stay rejectable and never overflow.
_WALL_LOW_US = _EARLIEST_US - 2 * 86_400_000_000  # 1899-12-30T00:00:00
_WALL_HIGH_US = _LATEST_US + 1 + 2 * 86_400_000_000  # 2200-01-03T00:00:00


@dataclass
class _Column:
    """One requested field while it is being coerced.

    ``typed`` holds the field's values (null where missing or invalid); ``raw`` is what the
    source gave, kept to quote values in reasons; ``problem`` is the reason text for each row
    that breaks a rule on this field (null where the row is fine), or None while there is none.
    """

    name: str
    raw: pa.Array
    typed: pa.Array
    problem: pa.Array | None = None
    _text: pa.Array | None = field(default=None, repr=False)

    @property
    def text(self) -> pa.Array:
        """The values as text, for reasons and the reject's ``value`` column (null if missing)."""
        if self._text is None:
            self._text = _trimmed(self.raw)
        return self._text

    def add_problem(
        self, mask: pa.Array, reason: pa.Array | str | Callable[[], pa.Array]
    ) -> None:
        """Record ``reason`` for the rows where ``mask`` is true, unless the row has one here.

        A callable reason is only built when some row has the problem: quoting every value of
        a clean column would cost more than parsing it.
        """
        if not pc.any(mask).as_py():  # nulls are skipped: a null mask entry is no problem
            return
        mask = pc.fill_null(mask, False)
        if callable(reason):
            reason = reason()
        if isinstance(reason, str):
            reason = pa.scalar(reason, pa.string())
        new = pc.if_else(mask, reason, pa.scalar(None, pa.string()))
        self.problem = new if self.problem is None else pc.coalesce(self.problem, new)


def coerce(
    raw: pa.Table,
    *,
    kind: RecordKind,
    columns: Mapping[str, str],
    timezone: str,
    rows: pa.Array | pa.ChunkedArray | Sequence[int] | np.ndarray,
    source: str,
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

    cols: dict[str, _Column] = {}
    for name, column in columns.items():
        if column not in raw.column_names:
            raise DataError(
                f"no column {column!r} for field {name!r}",
                where=f"source {source!r}",
                suggestion=did_you_mean(column, raw.column_names),
                accepted=raw.column_names,
            )
        cols[name] = _coerce_column(
            name, _single(raw.column(column)), kind.fields[name], timezone, source, column
        )

    _check_rules(cols, kind)

    problems = [c for c in cols.values() if c.problem is not None]
    schema = kind.schema(list(columns))
    if not problems:
        records = _table([c.typed for c in cols.values()], schema, raw)
        return records, REJECT_SCHEMA.empty_table()

    bad = _any_valid([c.problem for c in problems])
    good = pc.invert(bad)
    records = _table([c.typed.filter(good) for c in cols.values()], schema, raw.filter(good))
    return records, _rejects(problems, bad, _as_int64(rows), source)


# --------------------------------------------------------------------------- per column


def expects(field_type: pa.DataType, column_type: pa.DataType) -> str | None:
    """What a field of ``field_type`` expects, when a column of ``column_type`` cannot hold it
    (a struct where a timestamp belongs); None when :func:`coerce` can read the column.

    Sources that know a column's type before reading (Parquet, Arrow) call it to stop early,
    naming the file; :func:`coerce` raises the same DataError when it meets such a column.
    """
    t = _plain_type(column_type)
    if pa.types.is_null(t) or pa.types.is_string(t):
        return None
    if field_type == TIMESTAMP:
        ok = pa.types.is_timestamp(t) or pa.types.is_date(t)
        return None if ok else "timestamps (a timestamp, a date or ISO 8601 text)"
    if pa.types.is_integer(field_type) or pa.types.is_floating(field_type):
        ok = pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)
        return None if ok else "numbers (an integer, a float, a decimal or number text)"
    if pa.types.is_decimal(field_type):
        ok = pa.types.is_integer(t) or pa.types.is_decimal(t)
        return None if ok else "exact amounts (a decimal, an integer or amount text)"
    if pa.types.is_boolean(field_type):
        ok = pa.types.is_boolean(t) or pa.types.is_integer(t)
        return None if ok else "yes/no values (a boolean, 1/0 or yes/no text)"
    scalar = (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)
              or pa.types.is_boolean(t) or pa.types.is_date(t) or pa.types.is_timestamp(t))
    return None if scalar else "text (a string, or a number, date or yes/no value)"


def _plain_type(type_: pa.DataType) -> pa.DataType:
    """The type a column is read as: a dictionary's values, text for large or binary text."""
    if pa.types.is_dictionary(type_):
        type_ = type_.value_type
    if _is_text_like(type_):
        return pa.string()
    return type_


def _is_text_like(type_: pa.DataType) -> bool:
    return (pa.types.is_large_string(type_) or pa.types.is_string_view(type_)
            or pa.types.is_binary(type_) or pa.types.is_large_binary(type_)
            or pa.types.is_binary_view(type_) or pa.types.is_fixed_size_binary(type_))


def _coerce_column(
    name: str, arr: pa.Array, type_: pa.DataType, timezone: str, source: str, column: str
) -> _Column:
    """Type one raw column as ``type_``, recording the rows it cannot type."""
    expected = expects(type_, arr.type)
    if expected is not None:
        raise _type_error(source, column, name, arr.type, expected)
    if pa.types.is_null(arr.type):
        # A column with no value at all (an empty or all-null typed input) is simply missing.
        arr = pa.nulls(len(arr), pa.string())
    if (pa.types.is_dictionary(arr.type) and pa.types.is_dictionary(type_)
            and pa.types.is_string(arr.type.value_type)):
        return _categories(name, arr, type_)
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    undecodable = None
    if _is_text_like(arr.type):
        arr, undecodable = _as_text(arr)

    if type_ == TIMESTAMP:
        col = _timestamps(name, arr, timezone, source, column)
    elif pa.types.is_integer(type_) or pa.types.is_floating(type_):
        col = _numbers(name, arr, type_, source, column)
    elif pa.types.is_decimal(type_):
        col = _amounts(name, arr, type_, source, column)
    elif pa.types.is_boolean(type_):
        col = _booleans(name, arr, source, column)
    elif pa.types.is_string(type_) or (
        pa.types.is_dictionary(type_) and pa.types.is_string(type_.value_type)
    ):
        text = _trimmed(arr) if _needs_trim(arr) else arr
        typed = pc.dictionary_encode(text) if pa.types.is_dictionary(type_) else text
        col = _Column(name, arr, typed.cast(type_), _text=text)
    else:
        raise ValueError(f"coerce: field {name!r} has a type coerce cannot make: {type_}")
    if undecodable is not None:
        col.add_problem(undecodable, f"{name}: not UTF-8 text")
    return col


def _as_text(arr: pa.Array) -> tuple[pa.Array, pa.Array | None]:
    """Large, viewed or binary text as plain text; binary values that are not UTF-8 become nulls
    (and are returned as a mask, to be rejected)."""
    if pa.types.is_large_string(arr.type) or pa.types.is_string_view(arr.type):
        return arr.cast(pa.string()), None
    try:
        return arr.cast(pa.string()), None
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    text = _strict_cast(arr.cast(pa.binary()), pa.string())
    return text, pc.and_(pc.is_valid(arr), pc.is_null(text))


def _categories(name: str, arr: pa.DictionaryArray, type_: pa.DataType) -> _Column:
    """Dictionary input for a category field: only the (short) dictionary is trimmed.

    Entries that become equal after trimming (``"urgent "`` and ``"urgent"``) are merged, and an
    empty entry becomes a null, exactly as for text input, at the cost of one index lookup.
    """
    if not _needs_trim(arr.dictionary) and arr.dictionary.null_count == 0 and (
            len(pc.unique(arr.dictionary)) == len(arr.dictionary)):
        return _Column(name, arr, arr.cast(type_))  # nothing to trim or merge
    trimmed = pc.dictionary_encode(_trimmed(arr.dictionary))
    indices = pc.take(trimmed.indices, arr.indices)
    typed = pa.DictionaryArray.from_arrays(indices, trimmed.dictionary)
    return _Column(name, arr, typed.cast(type_))


def _timestamps(name: str, arr: pa.Array, timezone: str, source: str, column: str) -> _Column:
    """Timestamps as UTC microseconds: parsed from ISO 8601 text, or converted if typed.

    Typed values a microsecond timestamp cannot hold, and instants outside
    :data:`_TIME_RANGE`, are rejected as out of range.
    """
    t = arr.type
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        if pa.types.is_date(t):
            micros, zone = _strict_cast(arr, pa.timestamp("us")), None
        else:
            micros, zone = _to_us(arr, t.unit, t.tz), t.tz
        typed = micros.cast(TIMESTAMP) if zone is not None else _localise(micros, timezone)
        col = _Column(name, arr, typed)
        _check_time_range(col, typed_input=True)
        return col
    if not pa.types.is_string(t):
        raise _type_error(source, column, name, t, "timestamps")

    text = _trimmed(arr)
    shaped = pc.fill_null(pc.match_substring_regex(text, _ISO_RE), False)
    fast = _uniform(text, shaped, timezone)
    if fast is not None:
        col = _Column(name, arr, fast, _text=text)
        _check_time_range(col)
        return col
    # Arrow parses at most microseconds for a "us" timestamp; finer digits are truncated.
    norm = pc.replace_substring_regex(text, r"(\.\d{6})\d+", r"\1")
    has_offset = pc.fill_null(pc.match_substring_regex(norm, _OFFSET_RE), False)
    null = pa.scalar(None, pa.string())
    naive_text = pc.if_else(pc.and_(shaped, pc.invert(has_offset)), norm, null)
    aware_text = pc.if_else(pc.and_(shaped, has_offset), norm, null)
    naive = _localise(_strict_cast(naive_text, pa.timestamp("us")), timezone)
    aware = _strict_cast(aware_text, TIMESTAMP)
    typed = pc.coalesce(naive, aware)

    col = _Column(name, arr, typed, _text=text)
    invalid = pc.and_(pc.is_valid(text), pc.is_null(typed))
    col.add_problem(invalid, lambda: _reason(name, text, " is not an ISO 8601 timestamp"))
    _check_time_range(col)
    return col


def _check_time_range(col: _Column, *, typed_input: bool = False) -> None:
    """Reject the rows whose instant lies outside :data:`_TIME_RANGE` or, for typed input,
    whose raw value is present but whose instant is missing (it did not fit a microsecond
    timestamp). One min-max pass when every value fits."""
    as_int = col.typed.cast(pa.int64())
    extremes = pc.min_max(as_int)
    least, most = extremes["min"].as_py(), extremes["max"].as_py()
    inside = least is None or (least >= _EARLIEST_US and most <= _LATEST_US)
    lost_some = typed_input and col.typed.null_count > col.raw.null_count
    if inside and not lost_some:
        return
    outside = pc.or_(pc.less(as_int, _EARLIEST_US), pc.greater(as_int, _LATEST_US))
    bad = pc.fill_null(outside, False)
    if lost_some:
        bad = pc.or_(bad, pc.and_(pc.is_valid(col.raw), pc.is_null(col.typed)))
    what = f" is out of range ({_TIME_RANGE})"
    col.add_problem(bad, lambda: _reason(col.name, col.text, what))


def _uniform(text: pa.Array, shaped: pa.Array, timezone: str) -> pa.Array | None:
    """The common case in one cast: every value well-formed and all naive (or all with an
    offset). None when the column is mixed or has a bad value: then the careful path runs."""
    if not pc.all(pc.or_(shaped, pc.is_null(text))).as_py():
        return None
    try:
        return _localise(pc.cast(text, pa.timestamp("us")), timezone)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    try:
        return pc.cast(text, TIMESTAMP)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


def _numbers(name: str, arr: pa.Array, type_: pa.DataType, source: str, column: str) -> _Column:
    """Counts (int64) or seconds and scores (float64): parsed strictly from text, or cast."""
    t = arr.type
    whole = pa.types.is_integer(type_)
    if pa.types.is_string(t):
        text = _trimmed(arr)
        is_float = pc.fill_null(pc.match_substring_regex(text, _FLOAT_RE), False)
        null = pa.scalar(None, pa.string())
        if whole:
            is_int = pc.fill_null(pc.match_substring_regex(text, _INT_RE), False)
            digits = pc.replace_substring_regex(pc.if_else(is_int, text, null), r"^\+", "")
            ints = _strict_cast(digits, pa.int64())
            rest = pc.and_(is_float, pc.invert(is_int))
            floats = _strict_cast(pc.if_else(rest, text, null), pa.float64())
            typed, fraction = _whole(ints, floats)
            too_big = pc.and_(is_int, pc.is_null(ints))  # digits past the int64 range
        else:
            typed = _strict_cast(pc.if_else(is_float, text, null), pa.float64())
            # "1e999" parses as infinity, which is no more a number of seconds than "inf" is.
            typed = pc.if_else(pc.is_finite(typed), typed, pa.scalar(None, pa.float64()))
            fraction = too_big = None
        col = _Column(name, arr, typed, _text=text)
        if too_big is not None:
            col.add_problem(too_big, lambda: _reason(name, text, " is out of range"))
        if fraction is not None:
            col.add_problem(fraction, lambda: _reason(name, text, " is not a whole number"))
        invalid = pc.and_(pc.is_valid(text), pc.is_null(typed))
        col.add_problem(invalid, lambda: _reason(name, text, " is not a number"))
        return col

    if whole and t in _WIDENS_TO_INT64:  # every value fits: nothing to check
        return _Column(name, arr, arr.cast(pa.int64()))
    if not whole and t in _EXACT_IN_FLOAT64:
        return _Column(name, arr, arr.cast(pa.float64()))
    if pa.types.is_integer(t) or pa.types.is_decimal(t):
        if whole and pa.types.is_integer(t):
            typed, fraction = _strict_cast(arr, pa.int64()), None
        elif whole:
            typed, fraction = _whole(
                pa.nulls(len(arr), pa.int64()), _strict_cast(arr, pa.float64())
            )
        else:
            typed, fraction = _strict_cast(arr, pa.float64()), None
    elif pa.types.is_floating(t):
        return _floats(name, arr, whole)
    else:
        raise _type_error(source, column, name, t, "numbers")
    col = _Column(name, arr, typed)
    if fraction is not None:
        col.add_problem(fraction, lambda: _reason(name, col.text, " is not a whole number"))
    out_of_range = pc.and_(pc.is_valid(arr), pc.is_null(typed))
    col.add_problem(out_of_range, lambda: _reason(name, col.text, " is out of range"))
    return col


def _floats(name: str, arr: pa.Array, whole: bool) -> _Column:
    """A typed float column: ``NaN``, ``inf`` and ``-inf`` are not numbers (the reason the text
    ``nan`` or ``inf`` gets), and a count must be a whole number within int64."""
    values = arr.cast(pa.float64())
    finite = pc.is_finite(values)  # null where the value is missing
    non_finite = arr.null_count < len(arr) and not pc.all(finite).as_py()
    if non_finite:
        values = pc.if_else(finite, values, pa.scalar(None, pa.float64()))
    if whole:
        typed, fraction = _whole(pa.nulls(len(arr), pa.int64()), values)
    else:
        typed, fraction = values, None
    col = _Column(name, arr, typed)
    if non_finite:
        col.add_problem(pc.invert(finite), lambda: _reason(name, col.text, " is not a number"))
    if fraction is not None:
        col.add_problem(fraction, lambda: _reason(name, col.text, " is not a whole number"))
    return col


def _amounts(name: str, arr: pa.Array, type_: pa.DataType, source: str, column: str) -> _Column:
    """Money as exact decimals: ``1234.50`` text, or typed integers and decimals.

    More decimal places than the field keeps is an error, never a silent rounding. Float
    columns are refused: a float has already lost the exact amount.
    """
    t = arr.type
    if pa.types.is_string(t):
        text = _trimmed(arr)
        shaped = pc.fill_null(pc.match_substring_regex(text, _AMOUNT_RE), False)
        typed = _strict_cast(pc.if_else(shaped, text, pa.scalar(None, pa.string())), type_)
        col = _Column(name, arr, typed, _text=text)
        wrong = pc.and_(pc.is_valid(text), pc.invert(shaped))
        col.add_problem(wrong, lambda: _reason(name, text, " is not an amount"))
        lost = pc.and_(shaped, pc.is_null(typed))
        decimals = f" has more than {type_.scale} decimals"
        col.add_problem(lost, lambda: _reason(name, text, decimals))
        return col
    if not (pa.types.is_integer(t) or pa.types.is_decimal(t)):
        raise _type_error(source, column, name, t, "exact amounts (decimal or integer)")
    typed = _strict_cast(arr, type_)
    col = _Column(name, arr, typed)
    lost = pc.and_(pc.is_valid(arr), pc.is_null(typed))
    col.add_problem(lost, lambda: _reason(name, col.text, f" does not fit {type_}"))
    return col


_TRUE = ["true", "yes", "y", "1", "t"]
_FALSE = ["false", "no", "n", "0", "f"]


def _booleans(name: str, arr: pa.Array, source: str, column: str) -> _Column:
    """Yes/no values: true/false, yes/no, y/n, t/f, 1/0 (any case), or typed booleans."""
    t = arr.type
    if pa.types.is_boolean(t):
        return _Column(name, arr, arr)
    if pa.types.is_integer(t):
        arr = pc.cast(arr, pa.string())
    elif not pa.types.is_string(t):
        raise _type_error(source, column, name, t, "yes/no values")
    text = _trimmed(arr)
    lower = pc.utf8_lower(text)
    yes = pc.is_in(lower, value_set=pa.array(_TRUE))
    no = pc.is_in(lower, value_set=pa.array(_FALSE))
    typed = pc.if_else(yes, True, pc.if_else(no, False, pa.scalar(None, pa.bool_())))
    col = _Column(name, arr, typed, _text=text)
    wrong = pc.and_(pc.is_valid(text), pc.is_null(typed))
    col.add_problem(wrong, lambda: _reason(name, text, " is not yes/no"))
    return col


def _whole(ints: pa.Array, floats: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Merge integers with floats that are whole numbers; also say which floats were not."""
    finite = pc.and_(pc.is_finite(floats), pc.less(pc.abs(floats), _INT64_LIMIT))
    integral = pc.and_(finite, pc.equal(pc.floor(floats), floats))
    as_int = pc.if_else(integral, floats, pa.scalar(None, pa.float64())).cast(pa.int64())
    fraction = pc.fill_null(pc.and_(pc.is_valid(floats), pc.invert(integral)), False)
    return pc.coalesce(ints, as_int), fraction


# --------------------------------------------------------------------------- row rules


def _check_rules(cols: dict[str, _Column], kind: RecordKind) -> None:
    """Add the problems that look at typed values: bounds, order, required fields."""
    for name, (low, high) in kind.bounds.items():
        col = cols.get(name)
        if col is None or (low is None and high is None):
            continue
        if _within(col.typed, low, high):  # one pass for the common case: all values fit
            continue
        too_low = pc.less(col.typed, low) if low is not None else None
        too_high = pc.greater(col.typed, high) if high is not None else None
        if too_low is not None and too_high is not None:
            mask, what = pc.or_(too_low, too_high), f" is outside {_num(low)}-{_num(high)}"
        elif too_low is not None:
            mask, what = too_low, f" is below {_num(low)}"
        else:
            mask, what = too_high, f" is above {_num(high)}"
        col.add_problem(mask, lambda n=name, c=col, w=what: _reason(n, c.text, w, quote=""))

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


def _within(values: pa.Array, low: float | None, high: float | None) -> bool:
    """Whether every value lies within ``low``..``high`` (nulls aside)."""
    if values.null_count:  # Arrow's min_max is slow on nulls; comparisons are not
        return not ((low is not None and pc.any(pc.less(values, low)).as_py())
                    or (high is not None and pc.any(pc.greater(values, high)).as_py()))
    extremes = pc.min_max(values)
    least, most = extremes["min"].as_py(), extremes["max"].as_py()
    if least is None:
        return True
    return (low is None or least >= low) and (high is None or most <= high)


def _rejects(problems: list[_Column], bad: pa.Array, places: pa.Array, source: str) -> pa.Table:
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


def _problem(col: _Column) -> pa.Array:
    """A column's problems; only called for columns that have some."""
    if col.problem is None:
        raise AssertionError(f"column {col.name!r} has no problems")
    return col.problem


# --------------------------------------------------------------------------- helpers


def _localise(naive: pa.Array, timezone: str) -> pa.Array:
    """Read naive timestamps as wall-clock times in ``timezone`` and return UTC instants.

    DST changes: a wall time that occurs twice (the hour repeated when clocks go back) takes
    its first occurrence (``ambiguous="earliest"``: 01:30 on 2026-11-01 in New York is
    05:30Z, still daylight time); a wall time that does not exist (the hour skipped when clocks
    go forward) becomes the last instant before the gap (``nonexistent="earliest"``: 02:30 on
    2026-03-08 in New York is 06:59:59.999999Z). Both are what a clock on the wall would show a
    moment earlier, so a record is never moved later than it was written. (The same as
    ``pyarrow.compute.assume_timezone`` with ``ambiguous="earliest"`` and
    ``nonexistent="earliest"``, in a few passes: see :mod:`slaengine.walltime`.)
    """
    if naive.null_count == len(naive):
        return pa.nulls(len(naive), TIMESTAMP)
    if naive.offset:
        naive = pa.concat_arrays([naive])  # buffers that start at the first value
    validity, data = naive.buffers()[:2]
    local = np.frombuffer(data, dtype=np.int64, count=len(naive))
    if local.min() < _WALL_LOW_US or local.max() > _WALL_HIGH_US:
        # out of range either way (rejected by the caller); clipped so they can be placed
        local = np.clip(local, _WALL_LOW_US, _WALL_HIGH_US)
    if not naive.null_count:
        return pa.array(to_utc(local, timezone), TIMESTAMP)
    valid = np.unpackbits(np.frombuffer(validity, dtype=np.uint8), bitorder="little",
                          count=len(naive)).view(bool)
    # a valid value in the null slots keeps the span of offsets to search small
    local = np.where(valid, local, local[int(np.argmax(valid))])
    return pa.Array.from_buffers(TIMESTAMP, len(naive),
                                 [validity, pa.py_buffer(to_utc(local, timezone))],
                                 null_count=naive.null_count)


def _to_us(arr: pa.Array, unit: str, tz: str | None) -> pa.Array:
    """Typed timestamps in microseconds; nanoseconds are truncated, coarser units widened."""
    target = pa.timestamp("us", tz=tz)
    if unit == "ns":
        return arr.cast(target, safe=False)
    return _strict_cast(arr, target)


def _strict_cast(arr: pa.Array, type_: pa.DataType) -> pa.Array:
    """Cast strictly; the values Arrow refuses become nulls instead of failing the whole array.

    Arrow's cast is all-or-nothing. When it fails, the distinct values are cast again by
    bisection (halves that fail are split until single values remain), so the cost is
    vectorised casts of O(distinct bad values x log n) pieces, and those values are nulled.
    """
    try:
        return pc.cast(arr, type_)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    distinct = pc.unique(arr.drop_null())
    bad = pa.concat_arrays(_refused(distinct, type_) or [distinct.slice(0, 0)])
    keep = pc.invert(pc.is_in(arr, value_set=bad))
    return pc.cast(pc.if_else(keep, arr, pa.scalar(None, arr.type)), type_)


def _refused(values: pa.Array, type_: pa.DataType) -> list[pa.Array]:
    """The pieces of ``values`` (single values in the end) that Arrow refuses to cast."""
    try:
        pc.cast(values, type_)
        return []
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        if len(values) <= 1:
            return [values]
    half = len(values) // 2
    return _refused(values.slice(0, half), type_) + _refused(values.slice(half), type_)


# Bytes that may start or end a value that trimming changes: ASCII whitespace, and every
# byte of a multi-byte character (Unicode spaces among them).
_EDGE_NEEDS_TRIM = np.zeros(256, dtype=bool)
_EDGE_NEEDS_TRIM[[9, 10, 11, 12, 13, 28, 29, 30, 31, 32]] = True
_EDGE_NEEDS_TRIM[0x80:] = True


def _needs_trim(arr: pa.Array) -> bool:
    """Whether :func:`_trimmed` could change a text array: an empty value, or one whose first
    or last byte is whitespace or not ASCII (Unicode spaces are several bytes). Looks at two
    bytes per value in the raw buffers instead of trimming every value."""
    if not pa.types.is_string(arr.type):
        return True
    if len(arr) == 0:
        return False
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32,
                            count=arr.offset + len(arr) + 1)[arr.offset:]
    starts, ends = offsets[:-1], offsets[1:]
    valid = ends > starts
    if arr.null_count:
        valid_bits = np.unpackbits(np.frombuffer(arr.buffers()[0], dtype=np.uint8),
                                   bitorder="little", count=arr.offset + len(arr))
        present = valid_bits[arr.offset:].astype(bool)
        if (present & ~valid).any():  # an empty string becomes a null
            return True
        valid &= present
    elif not valid.all():
        return True
    data = arr.buffers()[2]
    if data is None:
        return False
    text = np.frombuffer(data, dtype=np.uint8)
    if not valid.all():
        starts, ends = starts[valid], ends[valid]
    return bool(_EDGE_NEEDS_TRIM[text[starts]].any() or _EDGE_NEEDS_TRIM[text[ends - 1]].any())


def _trimmed(arr: pa.Array) -> pa.Array:
    """Values as text, whitespace trimmed, with an empty string as null."""
    text = arr if pa.types.is_string(arr.type) else pc.cast(arr, pa.string())
    text = pc.utf8_trim_whitespace(text)
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)


def _reason(name: str, text: pa.Array, what: str, quote: str = "'") -> pa.Array:
    """``name: 'value' what`` for every row (null where the value is null)."""
    shown = pc.utf8_slice_codeunits(text, 0, _QUOTE_MAX)
    cut = pc.greater(pc.utf8_length(text), _QUOTE_MAX)
    shown = pc.if_else(cut, pc.binary_join_element_wise(shown, "...", ""), shown)
    return pc.binary_join_element_wise(f"{name}: {quote}", shown, f"{quote}{what}", "")


def _num(x: float) -> str:
    """A bound as people write it: 5, not 5.0."""
    return f"{x:g}"


def _any_valid(arrays: list[pa.Array]) -> pa.Array:
    """True where any of ``arrays`` holds a value."""
    out = pc.is_valid(arrays[0])
    for a in arrays[1:]:
        out = pc.or_(out, pc.is_valid(a))
    return out


def _single(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """One contiguous array, so every column of a batch lines up element by element."""
    if isinstance(column, pa.ChunkedArray):
        return column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    return column


def _as_int64(rows: pa.Array | pa.ChunkedArray | Sequence[int] | np.ndarray) -> pa.Array:
    """Row places as one int64 array."""
    if isinstance(rows, pa.ChunkedArray):
        rows = _single(rows)
    if not isinstance(rows, pa.Array):
        rows = pa.array(rows)
    return rows.cast(pa.int64())


def _table(arrays: list[pa.Array], schema: pa.Schema, raw: pa.Table) -> pa.Table:
    """The records table; with no fields requested it still has one row per accepted row."""
    if not arrays:
        return raw.select([])
    return pa.Table.from_arrays(arrays, schema=schema)


def _type_error(
    source: str, column: str, name: str, type_: pa.DataType, expected: str
) -> DataError:
    return DataError(
        f"column {column!r} holds {type_} values, but field {name!r} expects {expected}",
        where=f"source {source!r}",
    )
