#!/usr/bin/env python
"""Generate realistic, seeded help-desk tickets for the slaengine examples.

The data imitates the ticket export of *Contoso Support Services*, which runs the
outsourced help desk of the ISP *Northwind Broadband*. Columns carry the vendor's own
header names; the example contract maps them onto slaengine's canonical names.

Times are local wall-clock times in America/New_York, written without an offset in CSV
(the contract names the zone) and as ``timestamp[us, tz=America/New_York]`` in Parquet.

Performance drifts by month so an example contract shows a mix of met and breached
service levels: months 1-2 are good, month 3 is bad (a staffing problem: slower
responses, lower first-contact resolution, lower satisfaction), the rest in between.
The pattern repeats every six months for longer periods.

Everything is vectorised with numpy and streamed in chunks of about a million rows,
so ten million rows take well under a minute in modest memory. The same arguments
always produce a byte-identical file.

    python examples/generate.py --rows 4000 --seed 7 --out examples/data/tickets.csv
"""

from __future__ import annotations

import argparse
import calendar
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

TZ_NAME = "America/New_York"
CHUNK_ROWS = 1_000_000
DEFAULT_OUT = Path(__file__).resolve().parent / "data" / "tickets.csv"
BAD_ROWS_SMALL = 6
BAD_ROWS_LIMIT = 100_000  # above this many rows no bad rows are injected by default

COLUMNS = [
    "Ticket ID",
    "Created",
    "First Reply",
    "Solved",
    "Priority",
    "Channel",
    "Agent",
    "Contacts",
    "Handle (s)",
    "CSAT",
    "NPS",
    "Reopens",
    "Escalated",
    "Replies",
    "Response (s)",
]

# --- the help desk ---------------------------------------------------------------------

PRIORITIES = ["urgent", "high", "normal", "low"]
PRIORITY_SHARE = np.array([0.05, 0.20, 0.55, 0.20])
# first response: median minutes and log-sd per priority
RESPONSE_MEDIAN_MIN = np.array([25.0, 90.0, 240.0, 600.0])
RESPONSE_SIGMA = np.array([0.80, 0.90, 0.90, 0.90])
# resolution, counted from the first response: median hours and log-sd per priority
RESOLUTION_MEDIAN_H = np.array([4.0, 12.0, 30.0, 60.0])
RESOLUTION_SIGMA = np.array([0.85, 0.90, 0.90, 0.90])
# handle time multiplier per priority
HANDLE_PRIORITY = np.array([1.30, 1.10, 1.00, 0.90])

CHANNELS = ["email", "phone", "chat", "web"]
CHANNEL_SHARE = np.array([0.40, 0.15, 0.20, 0.25])
RESPONSE_CHANNEL = np.array([1.10, 0.60, 0.70, 1.15])  # phone and chat are answered sooner
HANDLE_MEDIAN_S = np.array([560.0, 820.0, 700.0, 620.0])
HANDLE_SIGMA = 0.55

AGENTS = [
    "a.moreno", "b.okafor", "c.lindqvist", "d.haddad", "e.nakamura",
    "f.oconnor", "g.petrov", "h.silva", "i.kowalski", "j.mensah",
    "k.dubois", "l.chen", "m.rossi", "n.patel", "o.jensen",
    "p.alvarez", "q.nguyen", "r.schmidt", "s.ibrahim", "t.murphy",
    "u.tanaka", "v.costa", "w.novak", "x.bianchi", "y.kim",
]  # fmt: skip

NEVER_ANSWERED = 0.01  # share of tickets that never get a first reply
UNRESOLVED = 0.025  # share of answered tickets left open regardless of age
CSAT_RESPONSE_RATE = 0.31  # of solved tickets
NPS_RESPONSE_RATE = 0.15  # of solved tickets
MAX_RESPONSE_S = 20 * 86400
MAX_RESOLUTION_S = 30 * 86400

# Monthly drift, relative to the start month; repeats every len() months.
#                          Jan    Feb    Mar    Apr    May    Jun
MONTH_VOLUME = np.array([1.00, 0.95, 1.12, 1.00, 0.98, 1.03])
MONTH_RESPONSE = np.array([0.85, 0.80, 2.20, 1.25, 1.00, 1.10])
MONTH_RESOLUTION = np.array([0.90, 0.85, 1.70, 1.20, 1.00, 1.05])
MONTH_FCR = np.array([0.86, 0.87, 0.75, 0.81, 0.84, 0.83])
MONTH_CSAT = np.array([0.10, 0.15, -0.45, -0.10, 0.00, 0.05])
MONTH_REOPEN = np.array([0.05, 0.04, 0.11, 0.07, 0.05, 0.06])  # of solved tickets
ESCALATION = np.array([0.20, 0.10, 0.05, 0.02])  # per priority
MONTH_ESCALATION = np.array([1.00, 0.90, 1.80, 1.20, 1.00, 1.00])

# Arrivals: local hour-of-day profile and weekday factor (Monday first).
HOUR_PROFILE = np.array([
    0.15, 0.10, 0.08, 0.07, 0.08, 0.15, 0.35, 0.70, 1.20, 1.60, 1.70, 1.65,
    1.40, 1.50, 1.55, 1.50, 1.35, 1.15, 0.95, 0.85, 0.75, 0.60, 0.40, 0.25,
])  # fmt: skip
WEEKDAY_FACTOR = np.array([1.15, 1.05, 1.00, 1.00, 0.95, 0.55, 0.45])

BAD_KINDS = [
    "unparseable Created",
    "impossible Created date",
    "CSAT out of range",
    "empty Ticket ID",
    "First Reply before Created",
    "non-numeric Contacts",
]

CSV_SCHEMA = pa.schema(
    [(name, pa.string()) for name in COLUMNS[:8]]
    + [("Handle (s)", pa.int64()), ("CSAT", pa.int64()), ("NPS", pa.int64())]
    + [("Reopens", pa.int64()), ("Escalated", pa.string()), ("Replies", pa.int64()),
       ("Response (s)", pa.int64())]
)
TS_TYPE = pa.timestamp("us", tz=TZ_NAME)
PARQUET_SCHEMA = pa.schema(
    [
        ("Ticket ID", pa.string()),
        ("Created", TS_TYPE),
        ("First Reply", TS_TYPE),
        ("Solved", TS_TYPE),
        ("Priority", pa.string()),
        ("Channel", pa.string()),
        ("Agent", pa.string()),
        ("Contacts", pa.int32()),
        ("Handle (s)", pa.int32()),
        ("CSAT", pa.int32()),
        ("NPS", pa.int32()),
        ("Reopens", pa.int32()),
        ("Escalated", pa.bool_()),
        ("Replies", pa.int32()),
        ("Response (s)", pa.int64()),
    ]
)


# --- time helpers ----------------------------------------------------------------------


def add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


class Clock:
    """UTC-hour grid with the New York UTC offset of every hour (DST changes on the hour)."""

    def __init__(self, start: date, end: date) -> None:
        tz = ZoneInfo(TZ_NAME)
        self.start_utc = int(datetime(start.year, start.month, start.day, tzinfo=tz).timestamp())
        self.end_utc = int(datetime(end.year, end.month, end.day, tzinfo=tz).timestamp())
        # leave room for the longest response plus resolution after the period ends
        self.grid0 = self.start_utc - 2 * 86400
        hours = (self.end_utc + 60 * 86400 - self.grid0) // 3600 + 1
        self.offset = np.empty(hours, dtype=np.int64)
        for h in range(hours):
            moment = datetime.fromtimestamp(self.grid0 + 3600 * h, UTC)
            self.offset[h] = int(moment.astimezone(tz).utcoffset().total_seconds())

    def to_local(self, utc: np.ndarray) -> np.ndarray:
        idx = np.clip((utc - self.grid0) // 3600, 0, len(self.offset) - 1)
        return utc + self.offset[idx]


def month_index(local_s: np.ndarray, start: date) -> np.ndarray:
    months = local_s.astype("datetime64[s]").astype("datetime64[M]").astype(np.int64)
    return months - ((start.year - 1970) * 12 + start.month - 1)


# --- generation ------------------------------------------------------------------------


def hourly_arrivals(rows: int, seed: int, clock: Clock, start: date) -> tuple[np.ndarray, ...]:
    """Number of tickets created in each UTC hour of the period."""
    bins = np.arange(clock.start_utc, clock.end_utc, 3600, dtype=np.int64)
    local = clock.to_local(bins)
    hour = (local // 3600) % 24
    weekday = (local // 86400 + 3) % 7  # 1970-01-01 was a Thursday
    month = month_index(local, start) % len(MONTH_VOLUME)
    weight = HOUR_PROFILE[hour] * WEEKDAY_FACTOR[weekday] * MONTH_VOLUME[month]
    rng = np.random.default_rng([seed, 0])
    counts = rng.multinomial(rows, weight / weight.sum())
    return bins, counts


def chunk_plan(counts: np.ndarray, chunk_rows: int) -> list[tuple[int, int]]:
    """Split the hour bins into consecutive ranges of at most chunk_rows tickets each
    (an hour bin is never split, so a single bin may exceed it)."""
    cum = np.cumsum(counts)
    plan, lo = [], 0
    while lo < len(counts):
        base = cum[lo - 1] if lo else 0
        hi = int(np.searchsorted(cum, base + chunk_rows, side="right"))
        hi = min(max(hi, lo + 1), len(counts))
        plan.append((lo, hi))
        lo = hi
    return plan


def simulate(
    rng: np.random.Generator,
    created: np.ndarray,
    clock: Clock,
    start: date,
    agent_weight: np.ndarray,
) -> dict[str, np.ndarray]:
    """All ticket fields for one chunk of sorted UTC creation instants (seconds)."""
    n = len(created)
    local = clock.to_local(created)
    month = month_index(local, start) % len(MONTH_VOLUME)

    prio = rng.choice(len(PRIORITIES), size=n, p=PRIORITY_SHARE)
    chan = rng.choice(len(CHANNELS), size=n, p=CHANNEL_SHARE)
    agent = rng.choice(len(AGENTS), size=n, p=agent_weight)

    # First response. Low-priority tickets raised at night wait for the 07:00 shift.
    scale = RESPONSE_MEDIAN_MIN[prio] * 60 * RESPONSE_CHANNEL[chan] * MONTH_RESPONSE[month]
    response = np.exp(rng.normal(0.0, RESPONSE_SIGMA[prio])) * scale
    response = np.minimum(np.maximum(response, 15.0), MAX_RESPONSE_S).astype(np.int64)
    hour = (local // 3600) % 24
    night = (prio == 3) & ((hour >= 20) | (hour < 7))
    wait = np.where(hour >= 20, 31 - hour, 7 - hour) * 3600 - local % 3600
    response = response + np.where(night, wait, 0)
    answered = rng.random(n) >= NEVER_ANSWERED
    first = created + response

    # Contacts: most tickets are solved on first contact.
    fcr = rng.random(n) < MONTH_FCR[month]
    extra = rng.choice(3, size=n, p=[0.6, 0.3, 0.1]) + 2
    contacts = np.where(fcr, 1, extra)

    # Resolution after the first response; reopened tickets take longer.
    res_scale = RESOLUTION_MEDIAN_H[prio] * 3600 * MONTH_RESOLUTION[month]
    res_scale = res_scale * np.where(fcr, 1.0, 1.6)
    resolution = np.exp(rng.normal(0.0, RESOLUTION_SIGMA[prio])) * res_scale
    resolution = np.minimum(np.maximum(resolution, 60.0), MAX_RESOLUTION_S).astype(np.int64)
    solved = first + resolution
    # The export is taken at the end of the period: later events have not happened yet.
    answered &= first <= clock.end_utc
    resolved = answered & (rng.random(n) >= UNRESOLVED) & (solved <= clock.end_utc)

    handle = np.exp(rng.normal(0.0, HANDLE_SIGMA, n)) * HANDLE_MEDIAN_S[chan]
    handle = handle * HANDLE_PRIORITY[prio] * (1.0 + 0.35 * (contacts - 1))
    handle = np.maximum(handle, 20.0).astype(np.int64)

    # Satisfaction: slower answers, repeat contacts and the bad month lower it.
    slowness = np.log(np.maximum(response, 60) / (RESPONSE_MEDIAN_MIN[prio] * 60))
    mood = 0.9 - 0.45 * slowness - 0.5 * (~fcr) + MONTH_CSAT[month] + rng.normal(0.0, 1.0, n)
    csat = 1 + (mood > -1.6).astype(np.int64) + (mood > -0.9) + (mood > -0.1) + (mood > 0.7)
    nps = np.clip(np.rint(7.0 + 1.5 * mood + rng.normal(0.0, 1.2, n)), 0, 10).astype(np.int64)
    csat_given = resolved & (rng.random(n) < CSAT_RESPONSE_RATE)
    nps_given = resolved & (rng.random(n) < NPS_RESPONSE_RATE)

    # Drawn last, so the columns above stay what they were for a given seed.
    reopens = np.where(resolved & (rng.random(n) < MONTH_REOPEN[month]),
                       1 + (rng.random(n) < 0.2), 0).astype(np.int64)
    escalated = rng.random(n) < ESCALATION[prio] * MONTH_ESCALATION[month]
    replies = np.where(answered, contacts + rng.integers(0, 3, n), 0).astype(np.int64)
    # Every reply after the first is quicker than the first: 40% of it on average.
    later = response * 0.4 * np.exp(rng.normal(0.0, 0.4, n))
    response_total = np.where(answered, response + (replies - 1) * later, 0).astype(np.int64)

    return {
        "local": local,
        "first": first,
        "answered": answered,
        "solved": solved,
        "resolved": resolved,
        "prio": prio,
        "chan": chan,
        "agent": agent,
        "contacts": contacts,
        "handle": handle,
        "csat": csat,
        "csat_given": csat_given,
        "nps": nps,
        "nps_given": nps_given,
        "reopens": reopens,
        "escalated": escalated,
        "replies": replies,
        "response_total": response_total,
    }


def bad_row_plan(total: int, bad: int) -> tuple[np.ndarray, np.ndarray]:
    """Row positions of the injected bad rows, evenly spread, and the kind of each."""
    if bad <= 0 or total <= 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    pos = ((np.arange(bad) + 0.5) * total / bad).astype(np.int64)
    return pos, np.arange(bad) % len(BAD_KINDS)


def local_strings(local_s: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    arr = pa.array(local_s, pa.timestamp("s"), mask=None if valid is None else ~valid)
    return pc.cast(arr, pa.string())


def build_batch(
    fmt: str,
    row0: int,
    created: np.ndarray,
    t: dict[str, np.ndarray],
    clock: Clock,
    bad_pos: np.ndarray,
    bad_kind: np.ndarray,
) -> pa.RecordBatch:
    n = len(created)
    sel = (bad_pos >= row0) & (bad_pos < row0 + n)
    local_pos, kinds = bad_pos[sel] - row0, bad_kind[sel]

    def rows_of(kind: int) -> np.ndarray:
        return local_pos[kinds == kind]

    first, answered = t["first"].copy(), t["answered"].copy()
    early = rows_of(4)
    first[early] = created[early] - 3600 - (row0 + early) % 3000
    answered[early] = True
    csat, csat_given = t["csat"].copy(), t["csat_given"].copy()
    csat[rows_of(2)] = 7
    csat_given[rows_of(2)] = True
    contacts_bad = np.zeros(n, dtype=bool)
    contacts_bad[rows_of(5)] = True

    ids = pc.utf8_lpad(pc.cast(pa.array(np.arange(row0 + 1, row0 + n + 1)), pa.string()), 6, "0")
    ids = pc.binary_join_element_wise("NW", ids, "-")
    no_id = np.zeros(n, dtype=bool)
    no_id[rows_of(3)] = True
    if no_id.any():
        ids = pc.replace_with_mask(ids, pa.array(no_id), pa.array([""] * int(no_id.sum())))

    prio = pa.array(PRIORITIES).take(pa.array(t["prio"]))
    chan = pa.array(CHANNELS).take(pa.array(t["chan"]))
    agent = pa.array(AGENTS).take(pa.array(t["agent"]))
    handle = t["handle"]
    csat_arr = pa.array(csat, mask=~csat_given)
    nps_arr = pa.array(t["nps"], mask=~t["nps_given"])

    tail = [
        pa.array(t["reopens"], mask=~t["resolved"]),
        pa.array(np.where(t["escalated"], "yes", "no")),
        pa.array(t["replies"]),
        pa.array(t["response_total"], mask=~answered),
    ]

    broken_created = {0: "yesterday", 1: "2026-02-30 10:00:00"}
    created_bad = np.zeros(n, dtype=bool)
    for kind in broken_created:
        created_bad[rows_of(kind)] = True

    if fmt == "csv":
        created_s = local_strings(t["local"])
        if created_bad.any():
            order = np.flatnonzero(created_bad)
            texts = [broken_created[int(kinds[local_pos == i][0])] for i in order]
            created_s = pc.replace_with_mask(created_s, pa.array(created_bad), pa.array(texts))
        contacts = pc.cast(pa.array(t["contacts"]), pa.string())
        if contacts_bad.any():
            twos = pa.array(["two"] * int(contacts_bad.sum()))
            contacts = pc.replace_with_mask(contacts, pa.array(contacts_bad), twos)
        columns = [
            ids,
            created_s,
            local_strings(clock.to_local(first), answered),
            local_strings(clock.to_local(t["solved"]), t["resolved"]),
            prio,
            chan,
            agent,
            contacts,
            pa.array(handle),
            csat_arr,
            nps_arr,
            *tail,
        ]
        return pa.RecordBatch.from_arrays(columns, schema=CSV_SCHEMA)

    # Parquet carries real types: values that cannot be represented become null.
    def ts(utc: np.ndarray, valid: np.ndarray) -> pa.Array:
        return pa.array(utc * 1_000_000, TS_TYPE, mask=~valid)

    columns = [
        ids,
        ts(created, ~created_bad),
        ts(first, answered),
        ts(t["solved"], t["resolved"]),
        prio,
        chan,
        agent,
        pa.array(t["contacts"].astype(np.int32), mask=contacts_bad),
        pa.array(handle.astype(np.int32)),
        pc.cast(csat_arr, pa.int32()),
        pc.cast(nps_arr, pa.int32()),
        pa.array(t["reopens"].astype(np.int32), mask=~t["resolved"]),
        pa.array(t["escalated"]),
        pa.array(t["replies"].astype(np.int32)),
        pa.array(t["response_total"], mask=~answered),
    ]
    return pa.RecordBatch.from_arrays(columns, schema=PARQUET_SCHEMA)


# --- command line ----------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Generate seeded example help-desk tickets (Northwind Broadband / "
        "Contoso Support Services)."
    )
    p.add_argument("--rows", type=int, default=4000, help="clean tickets to write (4000)")
    p.add_argument("--seed", type=int, default=7, help="random seed (7)")
    p.add_argument("--start", type=date.fromisoformat, default=date(2026, 1, 1),
                   help="first day, local time (2026-01-01)")  # fmt: skip
    p.add_argument("--months", type=int, default=6, help="length of the period (6)")
    p.add_argument("--format", choices=["csv", "parquet"], default=None,
                   help="output format (default: from --out's suffix, else csv)")  # fmt: skip
    p.add_argument("--bad-rows", type=int, default=None,
                   help=f"extra deliberately broken rows (default {BAD_ROWS_SMALL}, "
                   f"0 when --rows > {BAD_ROWS_LIMIT})")  # fmt: skip
    p.add_argument("--out", type=Path, default=None, help=f"output file ({DEFAULT_OUT})")
    args = p.parse_args(argv)
    if args.rows < 0 or args.months < 1 or (args.bad_rows is not None and args.bad_rows < 0):
        p.error("--rows and --bad-rows must be >= 0 and --months >= 1")
    if args.format is None:
        suffix = args.out.suffix.lower() if args.out else ""
        args.format = "parquet" if suffix in (".parquet", ".pq") else "csv"
    if args.out is None:
        args.out = DEFAULT_OUT.with_suffix(".parquet" if args.format == "parquet" else ".csv")
    if args.bad_rows is None:
        args.bad_rows = BAD_ROWS_SMALL if args.rows <= BAD_ROWS_LIMIT else 0
    return args


def generate(
    out: Path,
    rows: int = 4000,
    seed: int = 7,
    start: date = date(2026, 1, 1),
    months: int = 6,
    fmt: str = "csv",
    bad_rows: int = 0,
    chunk_rows: int = CHUNK_ROWS,
) -> int:
    """Write rows clean tickets plus bad_rows broken ones to out; return the rows written."""
    end = add_months(start, months)
    clock = Clock(start, end)
    total = rows + bad_rows
    bins, counts = hourly_arrivals(total, seed, clock, start)
    agent_weight = np.random.default_rng([seed, 1]).dirichlet(np.full(len(AGENTS), 15.0))
    bad_pos, bad_kind = bad_row_plan(total, bad_rows)

    out.parent.mkdir(parents=True, exist_ok=True)
    row0 = 0
    with open(out, "wb") as fh:
        if fmt == "csv":
            fh.write((",".join(COLUMNS) + "\n").encode())
            options = pacsv.WriteOptions(include_header=False, quoting_style="none")
            writer = pacsv.CSVWriter(fh, CSV_SCHEMA, write_options=options)
        else:
            writer = pq.ParquetWriter(fh, PARQUET_SCHEMA, compression="zstd")
        try:
            for chunk_no, (lo, hi) in enumerate(chunk_plan(counts, chunk_rows)):
                rng = np.random.default_rng([seed, 2, chunk_no])
                created = np.repeat(bins[lo:hi], counts[lo:hi])
                if len(created) == 0:
                    continue
                created = np.sort(created + rng.integers(0, 3600, len(created)))
                fields = simulate(rng, created, clock, start, agent_weight)
                batch = build_batch(fmt, row0, created, fields, clock, bad_pos, bad_kind)
                if fmt == "csv":
                    writer.write_batch(batch)
                else:
                    # one row group per chunk
                    table = pa.Table.from_batches([batch])
                    writer.write_table(table, row_group_size=max(len(batch), 1))
                row0 += len(created)
        finally:
            writer.close()
    return row0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    t0 = time.perf_counter()
    written = generate(
        args.out, args.rows, args.seed, args.start, args.months, args.format, args.bad_rows
    )
    end = add_months(args.start, args.months) - timedelta(days=1)
    print(
        f"generate.py: wrote {written} rows ({args.rows} tickets + {args.bad_rows} bad rows, "
        f"seed {args.seed}, {args.start}..{end}, {args.format}) to {args.out} "
        f"in {time.perf_counter() - t0:.1f}s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
