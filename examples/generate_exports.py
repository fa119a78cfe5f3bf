#!/usr/bin/env python
"""Generate seeded help-desk tickets shaped the way real ticket exports are, as Parquet.

The same simulated help desk as ``examples/generate.py`` (the same arrivals, response and
resolution times, contacts, satisfaction and monthly drift for a seed), written with the types
a warehouse or a help-desk export gives rather than the example's text-friendly ones:

- ``id``: integer ticket ids (``int64``), increasing with gaps (ids of deleted and merged
  tickets are missing from a real export);
- ``created_at``, ``first_reply_at``, ``solved_at``: ``timestamp[ms, tz=UTC]`` (null: never
  answered, not yet solved);
- ``priority``, ``status``, ``channel``, ``group``: ``dictionary<int8, string>`` categories;
- ``contacts``, ``csat``, ``nps``, ``reopens``: small nullable integers (``int8``; contacts is
  null for a ticket never answered, csat and nps without a survey answer, reopens while
  unsolved), ``handle_seconds`` ``int32``, ``escalated`` ``bool``;
- row groups of exactly 1,000,000 rows (the last one shorter).

No broken rows: every row is a usable ticket. The same arguments always give a byte-identical
file; ten million rows take well under a minute.

    python examples/generate_exports.py --rows 10000000 --seed 7 --out /tmp/exports.parquet
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
import generate as base  # the simulation itself, shared with the example data

ROW_GROUP = 1_000_000
FIRST_ID = 4_200_000
"""The first ticket id: an export of a help desk that has been running for years."""
GAP_SHARE = 0.03
"""Share of ids missing after a ticket (deleted, merged or spam tickets)."""

GROUPS = ["tier 1", "tier 2", "billing", "field service", "outage desk"]
STATUSES = ["new", "open", "pending", "solved", "closed"]

TS_TYPE = pa.timestamp("ms", tz="UTC")
CATEGORY = pa.dictionary(pa.int8(), pa.string())
SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("created_at", TS_TYPE),
        ("first_reply_at", TS_TYPE),
        ("solved_at", TS_TYPE),
        ("priority", CATEGORY),
        ("status", CATEGORY),
        ("channel", CATEGORY),
        ("group", CATEGORY),
        ("contacts", pa.int8()),
        ("handle_seconds", pa.int32()),
        ("csat", pa.int8()),
        ("nps", pa.int8()),
        ("reopens", pa.int8()),
        ("escalated", pa.bool_()),
    ]
)


def category(codes: np.ndarray, names: list[str]) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int8)), pa.array(names))


def small(values: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """``values`` as int8, null where not ``valid``."""
    mask = None if valid is None else ~valid
    return pa.array(values.astype(np.int8), pa.int8(), mask=mask)


def batch_of(ids: np.ndarray, created: np.ndarray, t: dict[str, np.ndarray],
             rng: np.random.Generator) -> pa.RecordBatch:
    """One chunk of simulated tickets (``base.simulate``) in the export's types."""
    n = len(created)

    def instant(utc_s: np.ndarray, valid: np.ndarray) -> pa.Array:
        return pa.array(utc_s * 1000, TS_TYPE, mask=~valid)

    resolved, answered = t["resolved"], t["answered"]
    # solved tickets are closed some days later; unsolved ones are new, open or pending
    waiting = rng.choice(3, size=n, p=[0.05, 0.6, 0.35])
    status = np.where(resolved, 3 + (rng.random(n) < 0.7), waiting)
    group = np.where(t["escalated"], 1 + rng.choice(4, size=n, p=[0.5, 0.2, 0.2, 0.1]), 0)
    return pa.RecordBatch.from_arrays(
        [
            pa.array(ids, pa.int64()),
            instant(created, np.ones(n, dtype=bool)),
            instant(t["first"], answered),
            instant(t["solved"], resolved),
            category(t["prio"], base.PRIORITIES),
            category(status, STATUSES),
            category(t["chan"], base.CHANNELS),
            category(group, GROUPS),
            small(t["contacts"], answered),
            pa.array(t["handle"].astype(np.int32)),
            small(t["csat"], t["csat_given"]),
            small(t["nps"], t["nps_given"]),
            small(t["reopens"], resolved),
            pa.array(t["escalated"]),
        ],
        schema=SCHEMA,
    )


def generate(out: Path, rows: int, seed: int = 7, start: date = date(2026, 1, 1),
             months: int = 12) -> int:
    """Write ``rows`` tickets to ``out`` in row groups of :data:`ROW_GROUP`; the rows written."""
    end = base.add_months(start, months)
    clock = base.Clock(start, end)
    bins, counts = base.hourly_arrivals(rows, seed, clock, start)
    agent_weight = np.random.default_rng([seed, 1]).dirichlet(np.full(len(base.AGENTS), 15.0))
    out.parent.mkdir(parents=True, exist_ok=True)
    pending: list[pa.RecordBatch] = []
    held = written = 0
    next_id = FIRST_ID
    with pq.ParquetWriter(out, SCHEMA, compression="zstd") as writer:

        def flush(final: bool) -> None:
            nonlocal pending, held
            table = pa.Table.from_batches(pending, SCHEMA)
            while table.num_rows >= ROW_GROUP or (final and table.num_rows):
                writer.write_table(table.slice(0, ROW_GROUP), row_group_size=ROW_GROUP)
                table = table.slice(ROW_GROUP)
            pending, held = table.to_batches(), table.num_rows

        for chunk_no, (lo, hi) in enumerate(base.chunk_plan(counts, base.CHUNK_ROWS)):
            rng = np.random.default_rng([seed, 2, chunk_no])
            created = np.repeat(bins[lo:hi], counts[lo:hi])
            if len(created) == 0:
                continue
            created = np.sort(created + rng.integers(0, 3600, len(created)))
            fields = base.simulate(rng, created, clock, start, agent_weight)
            extra = np.random.default_rng([seed, 3, chunk_no])  # the export's own columns
            steps = 1 + (extra.random(len(created)) < GAP_SHARE) * extra.integers(1, 40,
                                                                                   len(created))
            ids = next_id + np.cumsum(steps) - steps[0]
            next_id = int(ids[-1]) + 1
            pending.append(batch_of(ids, created, fields, extra))
            held += len(created)
            written += len(created)
            if held >= ROW_GROUP:
                flush(final=False)
        flush(final=True)
    return written


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=1_000_000, help="tickets to write (1000000)")
    p.add_argument("--seed", type=int, default=7, help="random seed (7)")
    p.add_argument("--start", type=date.fromisoformat, default=date(2026, 1, 1),
                   help="first day, New York time (2026-01-01)")
    p.add_argument("--months", type=int, default=12, help="length of the period (12)")
    p.add_argument("--out", type=Path, required=True, help="the Parquet file to write")
    args = p.parse_args(argv)
    if args.rows < 1 or args.months < 1:
        p.error("--rows and --months must be >= 1")
    t0 = time.perf_counter()
    written = generate(args.out, args.rows, args.seed, args.start, args.months)
    print(f"generate_exports.py: wrote {written} tickets (seed {args.seed}, from {args.start}, "
          f"{args.months} months) to {args.out} in {time.perf_counter() - t0:.1f}s",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
