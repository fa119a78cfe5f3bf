"""Calendars: how much countable time lies between two instants.

Without a ``calendar`` a service level counts every second (24x7). A calendar measures whole
arrays at once; it never loops over records.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc


class Calendar:
    """Round-the-clock time: the plain difference between two instants, in seconds."""

    name = "24x7"

    def elapsed(
        self, start: pa.Array | pa.ChunkedArray, end: pa.Array | pa.ChunkedArray
    ) -> pa.Array | pa.ChunkedArray:
        """Seconds from ``start`` to ``end`` per record (float64); null where either is null."""
        micros = pc.subtract(pc.cast(end, pa.int64()), pc.cast(start, pa.int64()))
        return pc.divide(pc.cast(micros, pa.float64()), 1_000_000.0)


ALWAYS = Calendar()
