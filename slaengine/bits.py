"""Arrow bitmaps as numpy booleans, and numbers with their missing values as NaN, read
straight from the arrays' buffers.

Arrow's own conversion of a boolean array to numpy (``is_valid().to_numpy()``) and its
``fill_null`` cost about ten times one unpacking of the bitmap (``np.unpackbits``) on a batch
of a hundred thousand values; these helpers are what every data path uses instead. None of
them looks at a value in a null slot (its bytes are whatever the writer left there).
"""

from __future__ import annotations

from slaengine.lazy import np, pa, pc


def _chunks(arr: pa.Array | pa.ChunkedArray) -> list[pa.Array]:
    return arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]


def _unpacked(buffer: pa.Buffer, offset: int, length: int) -> np.ndarray:
    """``length`` bits of ``buffer`` from bit ``offset``, as a fresh (writable) bool array."""
    bits = np.unpackbits(np.frombuffer(buffer, dtype=np.uint8), bitorder="little",
                         count=offset + length)
    return bits[offset:].view(bool)


def _one(arrays: list[np.ndarray], length: int) -> np.ndarray:
    if len(arrays) == 1:
        return arrays[0]
    return np.concatenate(arrays) if arrays else np.zeros(length, dtype=bool)


def one_array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One contiguous array (a single chunk as it is, several joined)."""
    if isinstance(values, pa.ChunkedArray):
        if values.num_chunks == 1:
            return values.chunk(0)
        return values.combine_chunks() if values.num_chunks else pa.array([], values.type)
    return values


def numbers(arr: pa.Array) -> np.ndarray:
    """The values of a fixed-width numeric or temporal array (integers, floats, timestamps:
    int64), read in place (read-only); a missing value's slot holds whatever was left there."""
    dtype = np.dtype(np.int64) if pa.types.is_temporal(arr.type) else np.dtype(
        arr.type.to_pandas_dtype())
    return np.frombuffer(arr.buffers()[1], dtype=dtype, count=len(arr),
                         offset=arr.offset * dtype.itemsize)


def extremes(arr: pa.Array | pa.ChunkedArray) -> tuple[int, int] | None:
    """The smallest and largest present value of an integer or timestamp array (a timestamp
    in its unit), or None when none is present: from the buffer when none is missing."""
    if arr.null_count == len(arr):
        return None
    if arr.null_count == 0:
        values = numbers(one_array(arr))
        return int(values.min()), int(values.max())
    found = pc.min_max(arr.cast(pa.int64()) if pa.types.is_timestamp(arr.type) else arr)
    return found["min"].as_py(), found["max"].as_py()


def all_within(arr: pa.Array, low: float | None, high: float | None) -> bool:
    """Whether every present value of a numeric or timestamp array lies within
    ``low``..``high`` (a NaN does not): every slot first, in one pass on the buffer (a
    missing value's slot holds anything, so this settles only the common case), then only
    the present ones."""
    if arr.null_count == len(arr):
        return True
    type_ = arr.type
    if not (pa.types.is_integer(type_) or pa.types.is_floating(type_)
            or pa.types.is_timestamp(type_)):  # decimals: Arrow's own extremes
        found = pc.min_max(arr)
        least, most = found["min"].as_py(), found["max"].as_py()
        return (low is None or least >= low) and (high is None or most <= high)
    values = numbers(arr)
    inside = np.ones(len(values), dtype=bool)
    if low is not None:
        inside &= values >= low
    if high is not None:
        inside &= values <= high
    if inside.all():
        return True
    valid = valid_mask(arr)
    return valid is not None and bool((inside | ~valid).all())


def _few_missing(valid: np.ndarray) -> np.ndarray | None:
    """Where the missing values are, when they are few enough to be put in one by one (fewer
    than one in 32); else None."""
    missing = len(valid) - int(np.count_nonzero(valid))
    return np.flatnonzero(~valid) if missing * 32 < len(valid) else None


def valid_mask(arr: pa.Array | pa.ChunkedArray) -> np.ndarray | None:
    """Which values are present, as a numpy bool array; None when every value is."""
    if arr.null_count == 0:
        return None
    return validity(arr)


def validity(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Which values are present, as a (writable) numpy bool array."""
    parts = []
    for chunk in _chunks(arr):
        if pa.types.is_null(chunk.type) or chunk.null_count == len(chunk):
            parts.append(np.zeros(len(chunk), dtype=bool))
        elif chunk.null_count == 0:
            parts.append(np.ones(len(chunk), dtype=bool))
        else:
            parts.append(_unpacked(chunk.buffers()[0], chunk.offset, len(chunk)))
    return _one(parts, len(arr))


def true_mask(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A boolean array's true values as a (writable) numpy bool array; a null is false."""
    parts = []
    for chunk in _chunks(arr):
        if pa.types.is_null(chunk.type) or chunk.null_count == len(chunk):
            parts.append(np.zeros(len(chunk), dtype=bool))
            continue
        if not pa.types.is_boolean(chunk.type):
            raise TypeError(f"expected booleans, found {chunk.type}")
        values = _unpacked(chunk.buffers()[1], chunk.offset, len(chunk))
        if chunk.null_count:
            values &= _unpacked(chunk.buffers()[0], chunk.offset, len(chunk))
        parts.append(values)
    return _one(parts, len(arr))


def nan_where(values: np.ndarray, valid: np.ndarray | None) -> np.ndarray:
    """``values`` as a new float64 array with NaN where ``valid`` is false.

    Branch-free (``values * (v / v)``, where ``v / v`` is 1.0 for a present value and NaN for a
    missing one): a masked assignment or ``np.where`` costs several times more on a mask with
    no pattern; only a few missing values are put in one by one. A present value is kept
    exactly (``x * 1.0 == x``, infinities and NaN included).
    """
    if valid is None:
        return np.array(values, dtype=np.float64)
    few = _few_missing(valid)
    if few is not None:
        out = np.array(values, dtype=np.float64)
        out[few] = np.nan
        return out
    factor = valid.astype(np.float64)
    with np.errstate(invalid="ignore"):
        np.divide(factor, factor, out=factor)
        np.multiply(values, factor, out=factor)
    return factor


def filled(values: np.ndarray, valid: np.ndarray | None, fill: int | float) -> np.ndarray:
    """``values`` with ``fill`` where ``valid`` is false (a new array; ``values`` itself when
    every value is valid): a few missing values are put in one by one, many in one pass."""
    if valid is None:
        return values
    few = _few_missing(valid)
    if few is not None:
        out = np.array(values)
        out[few] = fill
        return out
    return np.where(valid, values, fill)


def zero_where(values: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """float64 ``values`` with +0.0 where ``keep`` is false (NaN there included), as a new
    array: the bits of each value masked, without a branch per value."""
    bits = keep.view(np.int8).astype(np.int64)
    np.negative(bits, out=bits)  # all ones where kept, all zeros elsewhere
    np.bitwise_and(bits, np.ascontiguousarray(values, dtype=np.float64).view(np.int64),
                   out=bits)
    return bits.view(np.float64)


def float_values(arr: pa.Array) -> np.ndarray:
    """A numeric (or boolean: 1.0 and 0.0) array's values as float64, NaN where a value is
    missing: float64 values without a missing one are read in place (read-only), others are
    a new array."""
    if pa.types.is_boolean(arr.type):
        data = _unpacked(arr.buffers()[1], arr.offset, len(arr)).view(np.uint8)
    elif pa.types.is_null(arr.type):
        return np.full(len(arr), np.nan)
    elif not (pa.types.is_integer(arr.type) or pa.types.is_float32(arr.type)
              or pa.types.is_float64(arr.type)):
        return float_values(arr.cast(pa.float64()))
    else:
        data = numbers(arr)
        if arr.null_count == 0 and data.dtype == np.float64:
            return data
    return nan_where(data, valid_mask(arr))


def float_array(values: np.ndarray, like: pa.Array) -> pa.Array:
    """float64 ``values`` (one per value of ``like``) as an Arrow array missing exactly where
    ``like`` is: ``like``'s validity bitmap is shared, not rebuilt."""
    values = np.ascontiguousarray(values, dtype=np.float64)
    if len(values) != len(like):
        raise ValueError(f"{len(values)} values for an array of {len(like)}")
    if like.null_count == 0:
        return pa.array(values, pa.float64())
    data = values
    if like.offset:  # the bitmap starts ``offset`` bits in: so must the values
        data = np.empty(like.offset + len(values))
        data[like.offset:] = values
    return pa.Array.from_buffers(pa.float64(), len(like), [like.buffers()[0], pa.py_buffer(data)],
                                 null_count=like.null_count, offset=like.offset)


def present_where(values: pa.Array, keep: pa.Array) -> pa.Array:
    """``values`` missing also where ``keep`` (booleans, no nulls) is false: the validity
    bitmaps are ANDed and the values' buffers shared (what ``if_else(keep, values, null)``
    gives, without copying the values)."""
    if len(values) != len(keep) or keep.null_count:
        raise ValueError("keep must be one boolean, never null, per value")
    if keep.offset or values.offset or pa.types.is_nested(values.type) or (
            len(values.buffers()) != 2):
        return pc.if_else(keep, values, pa.scalar(None, values.type))
    if values.null_count:
        keep = pc.and_(keep, pc.is_valid(values))
    return pa.Array.from_buffers(values.type, len(values), [keep.buffers()[1],
                                                            values.buffers()[1]],
                                 null_count=keep.false_count)
