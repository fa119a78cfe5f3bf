"""Type one raw column as its field's type, recording the rows it cannot type.

Rules, by field type:

- text is trimmed and an empty string is a null; categories are then dictionary-encoded;
- timestamps are ISO 8601: ``YYYY-MM-DD`` or ``YYYY-MM-DD[T| ]HH:MM[:SS[.fraction]]``, with an
  optional ``Z``, ``±HH:MM`` or ``±HHMM`` offset. With an offset the instant is exact; without
  one it is a wall-clock time in the contract's timezone (see
  :func:`slaengine.coerce.times._localise` for the hours that a DST change skips or repeats).
  Fractions beyond microseconds are truncated;
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

import pyarrow as pa
import pyarrow.compute as pc

from slaengine.coerce.column import (
    Column,
    needs_trim,
    reasons,
    strict_cast,
    trimmed_text,
    type_error,
)
from slaengine.coerce.times import timestamps
from slaengine.fields import TIMESTAMP

_INT_RE = r"^[+-]?\d+$"
_AMOUNT_RE = r"^[+-]?\d+(?:\.\d+)?$"
_FLOAT_RE = r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$"
_INT64_LIMIT = 2.0**63
_WIDENS_TO_INT64 = {pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.uint8(), pa.uint16(),
                    pa.uint32()}
_EXACT_IN_FLOAT64 = {pa.int8(), pa.int16(), pa.int32(), pa.uint8(), pa.uint16(), pa.uint32()}


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


def coerce_column(
    name: str, arr: pa.Array, type_: pa.DataType, timezone: str, source: str, column: str
) -> Column:
    """Type one raw column as ``type_``, recording the rows it cannot type."""
    expected = expects(type_, arr.type)
    if expected is not None:
        raise type_error(source, column, name, arr.type, expected)
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
        col = timestamps(name, arr, timezone, source, column)
    elif pa.types.is_integer(type_) or pa.types.is_floating(type_):
        col = _numbers(name, arr, type_, source, column)
    elif pa.types.is_decimal(type_):
        col = _amounts(name, arr, type_, source, column)
    elif pa.types.is_boolean(type_):
        col = _booleans(name, arr, source, column)
    elif pa.types.is_string(type_) or (
        pa.types.is_dictionary(type_) and pa.types.is_string(type_.value_type)
    ):
        text = trimmed_text(arr) if needs_trim(arr) else arr
        typed = pc.dictionary_encode(text) if pa.types.is_dictionary(type_) else text
        col = Column(name, arr, typed.cast(type_), _text=text)
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
    text = strict_cast(arr.cast(pa.binary()), pa.string())
    return text, pc.and_(pc.is_valid(arr), pc.is_null(text))


def _categories(name: str, arr: pa.DictionaryArray, type_: pa.DataType) -> Column:
    """Dictionary input for a category field: only the (short) dictionary is trimmed.

    Entries that become equal after trimming (``"urgent "`` and ``"urgent"``) are merged, and an
    empty entry becomes a null, exactly as for text input, at the cost of one index lookup.
    """
    if not needs_trim(arr.dictionary) and arr.dictionary.null_count == 0 and (
            len(pc.unique(arr.dictionary)) == len(arr.dictionary)):
        return Column(name, arr, arr.cast(type_))  # nothing to trim or merge
    trimmed = pc.dictionary_encode(trimmed_text(arr.dictionary))
    indices = pc.take(trimmed.indices, arr.indices)
    typed = pa.DictionaryArray.from_arrays(indices, trimmed.dictionary)
    return Column(name, arr, typed.cast(type_))


def _numbers(name: str, arr: pa.Array, type_: pa.DataType, source: str, column: str) -> Column:
    """Counts (int64) or seconds and scores (float64): parsed strictly from text, or cast."""
    t = arr.type
    whole = pa.types.is_integer(type_)
    if pa.types.is_string(t):
        text = trimmed_text(arr)
        is_float = pc.fill_null(pc.match_substring_regex(text, _FLOAT_RE), False)
        null = pa.scalar(None, pa.string())
        if whole:
            is_int = pc.fill_null(pc.match_substring_regex(text, _INT_RE), False)
            digits = pc.replace_substring_regex(pc.if_else(is_int, text, null), r"^\+", "")
            ints = strict_cast(digits, pa.int64())
            rest = pc.and_(is_float, pc.invert(is_int))
            floats = strict_cast(pc.if_else(rest, text, null), pa.float64())
            typed, fraction = _whole(ints, floats)
            too_big = pc.and_(is_int, pc.is_null(ints))  # digits past the int64 range
        else:
            typed = strict_cast(pc.if_else(is_float, text, null), pa.float64())
            # "1e999" parses as infinity, which is no more a number of seconds than "inf" is.
            typed = pc.if_else(pc.is_finite(typed), typed, pa.scalar(None, pa.float64()))
            fraction = too_big = None
        col = Column(name, arr, typed, _text=text)
        if too_big is not None:
            col.add_problem(too_big, lambda: reasons(name, text, " is out of range"))
        if fraction is not None:
            col.add_problem(fraction, lambda: reasons(name, text, " is not a whole number"))
        invalid = pc.and_(pc.is_valid(text), pc.is_null(typed))
        col.add_problem(invalid, lambda: reasons(name, text, " is not a number"))
        return col

    if whole and t in _WIDENS_TO_INT64:  # every value fits: nothing to check
        return Column(name, arr, arr.cast(pa.int64()))
    if not whole and t in _EXACT_IN_FLOAT64:
        return Column(name, arr, arr.cast(pa.float64()))
    if pa.types.is_integer(t) or pa.types.is_decimal(t):
        if whole and pa.types.is_integer(t):
            typed, fraction = strict_cast(arr, pa.int64()), None
        elif whole:
            typed, fraction = _whole(
                pa.nulls(len(arr), pa.int64()), strict_cast(arr, pa.float64())
            )
        else:
            typed, fraction = strict_cast(arr, pa.float64()), None
    elif pa.types.is_floating(t):
        return _floats(name, arr, whole)
    else:
        raise type_error(source, column, name, t, "numbers")
    col = Column(name, arr, typed)
    if fraction is not None:
        col.add_problem(fraction, lambda: reasons(name, col.text, " is not a whole number"))
    out_of_range = pc.and_(pc.is_valid(arr), pc.is_null(typed))
    col.add_problem(out_of_range, lambda: reasons(name, col.text, " is out of range"))
    return col


def _floats(name: str, arr: pa.Array, whole: bool) -> Column:
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
    col = Column(name, arr, typed)
    if non_finite:
        col.add_problem(pc.invert(finite), lambda: reasons(name, col.text, " is not a number"))
    if fraction is not None:
        col.add_problem(fraction, lambda: reasons(name, col.text, " is not a whole number"))
    return col


def _amounts(name: str, arr: pa.Array, type_: pa.DataType, source: str, column: str) -> Column:
    """Money as exact decimals: ``1234.50`` text, or typed integers and decimals.

    More decimal places than the field keeps is an error, never a silent rounding. Float
    columns are refused: a float has already lost the exact amount.
    """
    t = arr.type
    if pa.types.is_string(t):
        text = trimmed_text(arr)
        shaped = pc.fill_null(pc.match_substring_regex(text, _AMOUNT_RE), False)
        typed = strict_cast(pc.if_else(shaped, text, pa.scalar(None, pa.string())), type_)
        col = Column(name, arr, typed, _text=text)
        wrong = pc.and_(pc.is_valid(text), pc.invert(shaped))
        col.add_problem(wrong, lambda: reasons(name, text, " is not an amount"))
        lost = pc.and_(shaped, pc.is_null(typed))
        decimals = f" has more than {type_.scale} decimals"
        col.add_problem(lost, lambda: reasons(name, text, decimals))
        return col
    if not (pa.types.is_integer(t) or pa.types.is_decimal(t)):
        raise type_error(source, column, name, t, "exact amounts (decimal or integer)")
    typed = strict_cast(arr, type_)
    col = Column(name, arr, typed)
    lost = pc.and_(pc.is_valid(arr), pc.is_null(typed))
    col.add_problem(lost, lambda: reasons(name, col.text, f" does not fit {type_}"))
    return col


_TRUE = ["true", "yes", "y", "1", "t"]
_FALSE = ["false", "no", "n", "0", "f"]


def _booleans(name: str, arr: pa.Array, source: str, column: str) -> Column:
    """Yes/no values: true/false, yes/no, y/n, t/f, 1/0 (any case), or typed booleans."""
    t = arr.type
    if pa.types.is_boolean(t):
        return Column(name, arr, arr)
    if pa.types.is_integer(t):
        arr = pc.cast(arr, pa.string())
    elif not pa.types.is_string(t):
        raise type_error(source, column, name, t, "yes/no values")
    text = trimmed_text(arr)
    lower = pc.utf8_lower(text)
    yes = pc.is_in(lower, value_set=pa.array(_TRUE))
    no = pc.is_in(lower, value_set=pa.array(_FALSE))
    typed = pc.if_else(yes, True, pc.if_else(no, False, pa.scalar(None, pa.bool_())))
    col = Column(name, arr, typed, _text=text)
    wrong = pc.and_(pc.is_valid(text), pc.is_null(typed))
    col.add_problem(wrong, lambda: reasons(name, text, " is not yes/no"))
    return col


def _whole(ints: pa.Array, floats: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Merge integers with floats that are whole numbers; also say which floats were not."""
    finite = pc.and_(pc.is_finite(floats), pc.less(pc.abs(floats), _INT64_LIMIT))
    integral = pc.and_(finite, pc.equal(pc.floor(floats), floats))
    as_int = pc.if_else(integral, floats, pa.scalar(None, pa.float64())).cast(pa.int64())
    fraction = pc.fill_null(pc.and_(pc.is_valid(floats), pc.invert(integral)), False)
    return pc.coalesce(ints, as_int), fraction
