"""A source's records held for a later step in bounded memory: kept in memory while they are
few, split by a key into parts on disk once they are many.

A metric that derives its records from the whole source (an event clock) needs every record of
a ticket at once, but not every ticket at once: its records for one ticket depend only on that
ticket's events (:attr:`~slaengine.plugin.DerivedMetric.partition_by`). So once the records held
pass a budget, each batch is split by a hash of that key into a fixed number of parts, each an
Arrow IPC stream (uncompressed) in a temporary folder, and the later step reads the parts one
at a time. Every record of one key lands in one part, in the order the batches came (file
order), so a part is a whole record set for its keys and the order of simultaneous events is
kept.

Memory: the budget while reading, then one part at a time (about the records held divided by
the number of parts), whatever the order of the input. Disk: about the records' Arrow size,
removed when the holder is closed.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from slaengine.lazy import np, pa, pc

DEFAULT_BUDGET = 64 * 1024 * 1024
"""Bytes of records held in memory before they go to parts on disk."""

DEFAULT_PARTS = 64
"""Parts a spilled record set is split into."""

_MULTIPLIER = 0x9E3779B97F4A7C15  # Fibonacci hashing's odd constant (2^64 / phi)


def part_of(keys: pa.Array | pa.ChunkedArray, parts: int) -> np.ndarray:
    """The part (0 .. ``parts``-1) of each key: the same key always gives the same part.

    Strings are hashed from their bytes (a polynomial in them, then mixed), integers
    from their value; a null key goes to part 0. Vectorised over the keys' buffers."""
    if isinstance(keys, pa.ChunkedArray):
        keys = keys.combine_chunks()
    if pa.types.is_integer(keys.type):
        values = np.asarray(pc.fill_null(keys, 0).to_numpy(), dtype=np.int64).view(np.uint64)
        return _mix(values) % parts
    if not pa.types.is_string(keys.type):
        keys = pc.cast(keys, pa.string())
    keys = pc.fill_null(keys, "")
    if isinstance(keys, pa.ChunkedArray):
        keys = keys.combine_chunks()
    if len(keys) > 1024:  # a key repeats (a ticket's events): each distinct one hashed once
        encoded = pc.dictionary_encode(keys)
        if len(encoded.dictionary) < len(keys) // 2:
            hashed = _hash_text(encoded.dictionary, parts)
            return hashed[np.asarray(encoded.indices.to_numpy(), dtype=np.int64)]
    return _hash_text(keys, parts)


def _hash_text(keys: pa.Array, parts: int) -> np.ndarray:
    """:func:`part_of` of non-null strings: a polynomial in their bytes, mixed."""
    offsets = np.frombuffer(keys.buffers()[1], dtype=np.int32)[keys.offset:keys.offset + len(keys)
                                                               + 1].astype(np.int64)
    data = np.frombuffer(keys.buffers()[2], dtype=np.uint8) if keys.buffers()[2] else \
        np.zeros(0, dtype=np.uint8)
    start, stop = offsets[0], offsets[-1]
    data = data[start:stop].astype(np.uint64)
    lengths = np.diff(offsets)
    if not len(data):
        return np.zeros(len(keys), dtype=np.int64)
    place = np.arange(len(data), dtype=np.int64)
    place -= np.repeat(offsets[:-1] - start, lengths)  # each byte's place in its key
    with np.errstate(over="ignore"):  # a polynomial in the bytes, modulo 2^64
        powers = np.cumprod(np.full(int(lengths.max()), np.uint64(_MULTIPLIER), dtype=np.uint64))
        mixed = (data + np.uint64(1)) * powers[place]
    sums = np.zeros(len(keys), dtype=np.uint64)
    _add_runs(sums, mixed, lengths)
    return _mix(sums + lengths.astype(np.uint64)) % parts


def _mix(values: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser: every input bit moves every output bit (unsigned arithmetic
    wraps), then the top bits as a non-negative integer."""
    with np.errstate(over="ignore"):
        values = values ^ (values >> np.uint64(30))
        values = values * np.uint64(0xBF58476D1CE4E5B9)
        values = values ^ (values >> np.uint64(27))
        values = values * np.uint64(0x94D049BB133111EB)
        values = values ^ (values >> np.uint64(31))
    return (values >> np.uint64(33)).astype(np.int64)


def _add_runs(sums: np.ndarray, mixed: np.ndarray, lengths: np.ndarray) -> None:
    """Per key, the sum of its run of ``mixed`` (``np.add.reduceat`` over the non-empty runs;
    unsigned sums wrap, which a hash wants)."""
    filled = np.flatnonzero(lengths > 0)
    heads = (np.cumsum(lengths) - lengths)[filled]
    sums[filled] = np.add.reduceat(mixed, heads)


class Held:
    """Records held for a later step: in memory, or in parts on disk past ``budget`` bytes.

    :meth:`add` each batch (the parts take the first batch's schema, later ones are cast to
    it), then :meth:`finish`; :meth:`tables` gives the whole record set (one table; ``empty``
    when nothing was added) or, once spilled, each part in turn; :meth:`close` removes the
    parts. With ``key`` None the records are always held in memory."""

    compression: str | None = None
    """How the parts are compressed on disk: not at all (``"lz4"`` writes about half the
    bytes, at about twice the time to write and four times to read)."""

    def __init__(self, key: str | None, empty: pa.Schema, budget: int | None = None,
                 parts: int | None = None, folder: Path | None = None) -> None:
        self.key, self.schema = key, empty
        self.budget = DEFAULT_BUDGET if budget is None else budget
        self.parts = DEFAULT_PARTS if parts is None else parts
        self._folder = folder
        self._memory: list[pa.Table] = []
        self._bytes = 0
        self._rows = 0
        self._writers: list[pa.ipc.RecordBatchStreamWriter] = []
        self._paths: list[Path] = []
        self._made: Path | None = None

    @property
    def spilled(self) -> bool:
        """Whether the records went to parts on disk."""
        return bool(self._paths)

    @property
    def num_rows(self) -> int:
        return self._rows

    def add(self, table: pa.Table) -> None:
        """Hold one batch of records."""
        if not table.num_rows:
            return
        if not self._rows:
            self.schema = table.schema
        self._rows += table.num_rows
        if self._writers:
            self._write(table)
            return
        self._memory.append(table)
        self._bytes += table.nbytes
        if self.key is not None and self._bytes > self.budget:
            self._spill()

    def finish(self) -> None:
        """No more batches: the parts on disk are closed (ready to read)."""
        for writer in self._writers:
            writer.close()
        self._writers = []

    def tables(self) -> Iterator[pa.Table]:
        """The records held: one table in memory, or each part on disk in turn (every record
        of one key in one part, in the order added)."""
        if not self._paths:
            yield (pa.concat_tables(self._memory) if self._memory
                   else self.schema.empty_table())
            return
        for path in self._paths:
            with pa.OSFile(str(path), "rb") as source:
                part = pa.ipc.open_stream(source).read_all()
            # one chunk (and one dictionary) per column: a part came in many small batches
            yield part.unify_dictionaries().combine_chunks()

    def whole(self) -> pa.Table:
        """Every record in one table (in memory: only for record sets held in memory)."""
        if self._paths:
            raise RuntimeError("the records were split into parts on disk; read tables()")
        return next(self.tables())

    def close(self) -> None:
        """Remove the parts on disk (if any)."""
        self.finish()
        if self._made is not None:
            shutil.rmtree(self._made, ignore_errors=True)
            self._made = None

    def _spill(self) -> None:
        made = Path(tempfile.mkdtemp(prefix="slaengine-parts-", dir=self._folder))
        self._made = made
        options = pa.ipc.IpcWriteOptions(compression=self.compression)
        for i in range(self.parts):
            path = made / f"part-{i:04d}.arrows"
            self._paths.append(path)
            self._writers.append(pa.ipc.new_stream(str(path), self.schema, options=options))
        held, self._memory, self._bytes = self._memory, [], 0
        for table in held:
            self._write(table)

    def _write(self, table: pa.Table) -> None:
        table = table.cast(self.schema) if table.schema != self.schema else table
        part = part_of(table[self.key], self.parts)
        small = part.astype(np.uint8 if self.parts <= 256 else np.uint16)
        order = np.argsort(small, kind="stable")  # a radix sort for such small integers
        bounds = np.searchsorted(part[order], np.arange(self.parts + 1))
        ordered = table.take(pa.array(order))
        for i in np.flatnonzero(np.diff(bounds)):
            piece = ordered.slice(int(bounds[i]), int(bounds[i + 1] - bounds[i]))
            for batch in piece.to_batches():
                self._writers[i].write_batch(batch)
