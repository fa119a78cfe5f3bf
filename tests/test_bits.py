"""The bitmap helpers against Arrow's own conversions, on arrays with offsets, nulls and chunks,
and with garbage in the null slots (they must never be read)."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slaengine.bits import (
    float_array,
    float_values,
    nan_where,
    present_where,
    true_mask,
    valid_mask,
    validity,
    zero_where,
)

maybe_ints = st.lists(st.one_of(st.none(), st.integers(-128, 127)), max_size=70)
maybe_bools = st.lists(st.one_of(st.none(), st.booleans()), max_size=70)
maybe_floats = st.lists(st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
                        max_size=70)


def arrow_valid(arr: pa.Array) -> np.ndarray:
    return np.asarray(pc.is_valid(arr).to_numpy(zero_copy_only=False), dtype=bool)


@settings(deadline=None)  # the first call imports what Arrow converts with
@given(maybe_ints, st.integers(0, 9), st.integers(0, 9))
def test_validity_matches_arrow_on_sliced_arrays(values: list, start: int, cut: int) -> None:
    arr = pa.array(values, pa.int8())
    arr = arr.slice(min(start, len(arr)), max(len(arr) - start - cut, 0))
    assert np.array_equal(validity(arr), arrow_valid(arr))
    found = valid_mask(arr)
    assert (found is None) == (arr.null_count == 0)
    if found is not None:
        assert np.array_equal(found, arrow_valid(arr))


@settings(deadline=None)  # the first call imports what Arrow converts with
@given(maybe_bools, st.integers(0, 9))
def test_true_mask_is_true_and_present(values: list, start: int) -> None:
    arr = pa.array(values, pa.bool_()).slice(min(start, len(values)))
    expected = np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False), dtype=bool)
    assert np.array_equal(true_mask(arr), expected)
    chunked = pa.chunked_array([arr, arr], pa.bool_())
    assert np.array_equal(true_mask(chunked), np.concatenate([expected, expected]))


@settings(deadline=None)  # the first call imports what Arrow converts with
@given(maybe_ints, st.integers(0, 9))
def test_float_values_match_cast_and_fill_null(values: list, start: int) -> None:
    arr = pa.array(values, pa.int8()).slice(min(start, len(values)))
    expected = pc.fill_null(pc.cast(arr, pa.float64()), math.nan).to_numpy(zero_copy_only=False)
    assert np.array_equal(float_values(arr), expected, equal_nan=True)


@settings(deadline=None)  # the first call imports what Arrow converts with
@given(maybe_floats)
def test_float_values_keep_every_present_float_exactly(values: list) -> None:
    arr = pa.array(values, pa.float64())
    found = float_values(arr)
    for got, want in zip(found.tolist(), values, strict=True):
        if want is None or math.isnan(want):
            assert math.isnan(got)
        else:
            assert got == want and math.copysign(1, got) == math.copysign(1, want)


def test_null_slots_are_never_read() -> None:
    # int8 values 1, <null holding 99>, 3: the null slot's bytes are garbage a writer left
    data = pa.py_buffer(np.array([1, 99, 3], dtype=np.int8).tobytes())
    bits = pa.py_buffer(np.packbits([1, 0, 1], bitorder="little").tobytes())
    arr = pa.Array.from_buffers(pa.int8(), 3, [bits, data], null_count=1)
    assert np.array_equal(float_values(arr), [1.0, np.nan, 3.0], equal_nan=True)
    flags = pa.Array.from_buffers(pa.bool_(), 3, [bits, pa.py_buffer(b"\x07")], null_count=1)
    assert true_mask(flags).tolist() == [True, False, True]


def test_booleans_and_all_null_arrays() -> None:
    assert np.array_equal(float_values(pa.array([True, None, False])), [1.0, np.nan, 0.0],
                          equal_nan=True)
    assert np.isnan(float_values(pa.nulls(3, pa.int64()))).all()
    assert validity(pa.nulls(2)).tolist() == [False, False]
    assert true_mask(pa.nulls(2, pa.bool_())).tolist() == [False, False]
    with pytest.raises(TypeError, match="expected booleans"):
        true_mask(pa.array([1, 2]))


def test_decimals_are_cast() -> None:
    from decimal import Decimal

    arr = pa.array([Decimal("1.50"), None], pa.decimal128(5, 2))
    assert np.array_equal(float_values(arr), [1.5, np.nan], equal_nan=True)


def test_nan_where_and_zero_where() -> None:
    values = np.array([1.5, np.inf, -0.0, 7.0, np.nan])
    keep = np.array([True, True, True, False, False])
    assert np.array_equal(nan_where(values, keep), [1.5, np.inf, -0.0, np.nan, np.nan],
                          equal_nan=True)
    assert math.copysign(1, nan_where(values, keep)[2]) == -1  # -0.0 stays -0.0
    assert zero_where(values, keep).tolist() == [1.5, np.inf, -0.0, 0.0, 0.0]
    assert nan_where(np.array([2, 3], dtype=np.int8), None).dtype == np.float64


@settings(deadline=None)
@given(maybe_ints, st.integers(0, 9))
def test_float_array_keeps_the_nulls_of_its_model(values: list, start: int) -> None:
    like = pa.array(values, pa.int8()).slice(min(start, len(values)))
    doubled = np.arange(len(like), dtype=np.float64) * 2  # 0, 2, 4, ...
    made = float_array(doubled, like)
    assert made.to_pylist() == [None if v is None else 2.0 * i
                                for i, v in enumerate(like.to_pylist())]


@settings(deadline=None)
@given(maybe_bools, st.lists(st.booleans(), max_size=70))
def test_present_where_is_if_else_with_null(values: list, keep: list) -> None:
    size = min(len(values), len(keep))
    arr, flags = pa.array(values[:size], pa.bool_()), pa.array(keep[:size], pa.bool_())
    expected = pc.if_else(flags, arr, pa.scalar(None, pa.bool_()))
    found = present_where(arr, flags)
    assert found.to_pylist() == expected.to_pylist()
    assert found.null_count == expected.null_count
    numbers = pa.array(range(size), pa.int64())
    assert present_where(numbers, flags).to_pylist() == [i if k else None
                                                         for i, k in enumerate(keep[:size])]


def test_nan_where_with_few_and_many_missing() -> None:
    values = np.arange(100, dtype=np.int64)
    few = np.ones(100, dtype=bool)
    few[[3, 50]] = False  # 2 of 100: put in one by one
    many = np.arange(100) % 2 == 0  # half: the branch-free product
    for valid in (few, many):
        found = nan_where(values, valid)
        assert np.array_equal(np.isnan(found), ~valid)
        assert np.array_equal(found[valid], values[valid])


def test_filled_puts_the_fill_where_missing() -> None:
    from slaengine.bits import filled

    values = np.arange(100, dtype=np.int64)
    assert filled(values, None, -1) is values
    for valid in (np.arange(100) != 7, np.arange(100) % 3 == 0):  # one missing; two thirds
        out = filled(values, valid, -1)
        assert np.array_equal(out, np.where(valid, values, -1))
        assert values[7] == 7  # the input is left as it was


def test_extremes_and_all_within_never_read_a_null_slot() -> None:
    from slaengine.bits import all_within, extremes, numbers

    # int8 values 1, <null holding 99>, 3: out of 0..5 only in the null slot
    data = pa.py_buffer(np.array([1, 99, 3], dtype=np.int8).tobytes())
    bits = pa.py_buffer(np.packbits([1, 0, 1], bitorder="little").tobytes())
    arr = pa.Array.from_buffers(pa.int8(), 3, [bits, data], null_count=1)
    assert numbers(arr).tolist() == [1, 99, 3]  # the buffer as it is
    assert extremes(arr) == (1, 3)
    assert all_within(arr, 0, 5) and not all_within(arr, 2, 5)
    assert all_within(pa.array([1.5, float("nan")]), 0, 5) is False  # NaN is not inside
    assert extremes(pa.nulls(2, pa.int64())) is None and all_within(pa.nulls(2), 0, 1)
    assert extremes(pa.chunked_array([[4], [None, 9]])) == (4, 9)
