"""One field's column while it is coerced (its typed values and the reason each bad row gets),
and what every type's coercion shares: the strict cast that nulls the values Arrow refuses,
trimming, the quoted reasons, the error for a column of the wrong type."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from slaengine.errors import DataError

# Quote at most this many characters of a bad value inside a reason (the full value is kept in
# the reject's ``value`` column).
_QUOTE_MAX = 80


@dataclass
class Column:
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
            self._text = trimmed_text(self.raw)
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


def strict_cast(arr: pa.Array, type_: pa.DataType) -> pa.Array:
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


def needs_trim(arr: pa.Array) -> bool:
    """Whether :func:`trimmed_text` could change a text array: an empty value, or one whose first
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
    if not len(starts):
        return False
    edges = (np.take(text, starts), np.take(text, ends - 1))
    if all(e.min() > 32 and e.max() < 0x80 for e in edges):  # printable ASCII: the usual case
        return False
    return bool(_EDGE_NEEDS_TRIM[edges[0]].any() or _EDGE_NEEDS_TRIM[edges[1]].any())


def trimmed_text(arr: pa.Array) -> pa.Array:
    """Values as text, whitespace trimmed, with an empty string as null."""
    text = arr if pa.types.is_string(arr.type) else pc.cast(arr, pa.string())
    text = pc.utf8_trim_whitespace(text)
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)


def reasons(name: str, text: pa.Array, what: str, quote: str = "'") -> pa.Array:
    """``name: 'value' what`` for every row (null where the value is null)."""
    shown = pc.utf8_slice_codeunits(text, 0, _QUOTE_MAX)
    cut = pc.greater(pc.utf8_length(text), _QUOTE_MAX)
    shown = pc.if_else(cut, pc.binary_join_element_wise(shown, "...", ""), shown)
    return pc.binary_join_element_wise(f"{name}: {quote}", shown, f"{quote}{what}", "")


def type_error(
    source: str, column: str, name: str, type_: pa.DataType, expected: str
) -> DataError:
    return DataError(
        f"column {column!r} holds {type_} values, but field {name!r} expects {expected}",
        where=f"source {source!r}",
    )
