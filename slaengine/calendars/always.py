"""Round-the-clock time, the calendar of a service level that names none, and the access to
timestamp arrays every calendar shares (one contiguous ``timestamp[us]`` array, its int64 values
without a copy, its smallest and largest instant)."""

from __future__ import annotations

from slaengine.bits import extremes, numbers, validity
from slaengine.lazy import np, pa, pc


class Calendar:
    """Round-the-clock time: the plain difference between two instants, in seconds."""

    name = "24x7"

    def elapsed(
        self, start: pa.Array | pa.ChunkedArray, end: pa.Array | pa.ChunkedArray
    ) -> pa.Array | pa.ChunkedArray:
        """Seconds from ``start`` to ``end`` per record (float64); null where either is null."""
        if isinstance(start, pa.ChunkedArray) or isinstance(end, pa.ChunkedArray):
            return pa.chunked_array([self.elapsed(as_array(start), as_array(end))])
        if not (is_us(start) and is_us(end)):
            span = pc.subtract(pc.cast(end, pa.int64()), pc.cast(start, pa.int64()))
            return pc.divide(pc.cast(span, pa.float64()), 1_000_000.0)
        # The common case in numpy, straight on the buffers: one subtraction, one division.
        # Instants of 1900-2199 are exact as float64, so subtracting them as floats rounds
        # the true difference once, as the integer difference made float would.
        seconds = np.subtract(numbers(end), numbers(start), dtype=np.float64)
        seconds /= 1_000_000.0
        if not start.null_count and not end.null_count:
            return pa.array(seconds, pa.float64())
        both = pc.and_(pc.is_valid(start), pc.is_valid(end))  # its data bitmap is the validity
        return pa.Array.from_buffers(pa.float64(), len(seconds),
                                     [both.buffers()[1], pa.py_buffer(seconds)], offset=0)


ALWAYS = Calendar()


def is_us(values: pa.Array) -> bool:
    """Whether ``values`` are timestamps in microseconds (read straight from their buffer)."""
    return pa.types.is_timestamp(values.type) and values.type.unit == "us"


def as_array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One contiguous timestamp[us] array (chunks combined, other units cast)."""
    arr = values
    if isinstance(values, pa.ChunkedArray):
        arr = values.chunk(0) if values.num_chunks == 1 else values.combine_chunks()
    if not pa.types.is_timestamp(arr.type):
        raise TypeError(f"expected timestamps, found {arr.type}")
    if arr.type.unit != "us":
        arr = pc.cast(arr, pa.timestamp("us", tz=arr.type.tz))
    return arr


def micros(arr: pa.Array) -> tuple[np.ndarray, np.ndarray | None]:
    """The int64 values of a timestamp array without copying, and its validity (None: no nulls)."""
    values = numbers(arr)
    if arr.null_count == 0:
        return values, None
    return values, validity(arr)


def min_max(arr: pa.Array) -> tuple[int, int] | None:
    """Smallest and largest valid value in microseconds, or None when all are null."""
    return extremes(arr)

