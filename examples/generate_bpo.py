#!/usr/bin/env python
"""Generate seeded contact-centre data for the BPO example contract.

*Contoso Support Services* answers the phones of *Woodgrove Bank*'s retail customers in three
queues (billing, technical, sales). Writes, under ``examples/data/bpo/``:

- ``calls.csv``: about 5,800 calls from January to June 2026 with queue entry, answer and end
  times (UTC, ISO 8601), queue, agent and talk / hold / wrap seconds. Unanswered calls are
  abandons (a few within 5 seconds: misdials); a handful of broken rows show the rejects.
- ``costs.csv``: the monthly cost lines (staff, tooling, telephony) in USD.

Performance drifts by month so the contract shows met and breached verdicts: March is short
staffed (long queues, more abandons), June carries a tooling upgrade (a higher cost per call).
Vectorised with numpy; the same seed always writes the same bytes.

    python examples/generate_bpo.py --seed 11
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

OUT = Path(__file__).resolve().parent / "data" / "bpo"
START = np.datetime64("2026-01-01T00:00:00", "s")
MONTHS = np.arange("2026-01", "2026-07", dtype="datetime64[M]")
CALLS = 5800

QUEUES = np.array(["billing", "technical", "sales"])
QUEUE_SHARE = np.array([0.45, 0.40, 0.15])
TALK_MEDIAN = np.array([240.0, 420.0, 300.0])  # seconds, per queue
AGENTS = np.array([
    "amara", "bruno", "chen", "dana", "emil", "farah",
    "goran", "hana", "ivan", "jade", "kofi", "lena",
])  # fmt: skip
# Mean queue wait (seconds) and monthly volume factor, Jan..Jun: March is short-staffed.
MONTH_WAIT = np.array([9.0, 11.0, 30.0, 14.0, 10.0, 12.0])
MONTH_VOLUME = np.array([1.0, 0.95, 1.1, 1.0, 0.97, 1.02])
PATIENCE_MEAN = 120.0  # seconds a caller waits before hanging up (exponential)
MISDIAL = 0.012  # share of calls hung up within a few seconds whatever the wait
# Open 08:00-20:00 New York (13:00-01:00 UTC in winter; close enough for example data).
OPEN_UTC_HOURS = np.array([13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 0])
HOUR_WEIGHT = np.array([0.6, 1.0, 1.2, 1.1, 0.9, 1.0, 1.1, 1.0, 0.8, 0.6, 0.5, 0.3])

COST_LINES = [  # category, monthly amount in cents (before the drift below)
    ("staff", 520_000), ("tooling", 48_000), ("telephony", 41_000),
]  # fmt: skip
UPGRADE_MONTH, UPGRADE_CENTS = 5, 150_000  # June: a tooling upgrade


def _iso(seconds: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """Epoch seconds as ``2026-01-05T14:03:07Z`` text; empty where not valid."""
    text = np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s")
    out = pa.array(np.char.add(text, "Z"))
    return out if valid is None else pc.if_else(pa.array(valid), out, "")


def calls(rng: np.random.Generator) -> pa.Table:
    month_weight = MONTH_VOLUME / MONTH_VOLUME.sum()
    month = rng.choice(len(MONTHS), size=CALLS, p=month_weight)
    month_start = MONTHS.astype("datetime64[s]").astype(np.int64)
    days_in = ((MONTHS + 1).astype("datetime64[D]") - MONTHS.astype("datetime64[D]")).astype(
        np.int64)
    day = (rng.random(CALLS) * days_in[month]).astype(np.int64)
    hour = rng.choice(OPEN_UTC_HOURS, size=CALLS, p=HOUR_WEIGHT / HOUR_WEIGHT.sum())
    started = month_start[month] + day * 86400 + hour * 3600 + rng.integers(0, 3600, CALLS)
    started = np.sort(started)
    month = np.searchsorted(month_start, started, side="right") - 1

    queue = rng.choice(len(QUEUES), size=CALLS, p=QUEUE_SHARE)
    wait = rng.exponential(MONTH_WAIT[month])
    patience = rng.exponential(PATIENCE_MEAN, CALLS)
    misdial = rng.random(CALLS) < MISDIAL
    patience = np.where(misdial, rng.uniform(1, 5, CALLS), patience)
    abandoned = patience < wait
    answered_at = started + np.rint(wait).astype(np.int64)
    talk = np.rint(rng.lognormal(np.log(TALK_MEDIAN[queue]), 0.5)).astype(np.int64)
    hold = np.where(rng.random(CALLS) < 0.35, rng.integers(10, 180, CALLS), 0)
    wrap = np.rint(rng.lognormal(np.log(45.0), 0.4, CALLS)).astype(np.int64)
    ended = np.where(abandoned, started + np.rint(patience).astype(np.int64),
                     answered_at + talk + hold)
    agent = rng.choice(AGENTS, size=CALLS)
    answered = ~abandoned

    def parts(values: np.ndarray) -> pa.Array:
        return pc.if_else(pa.array(answered), pa.array(values.astype(str)), "")

    table = pa.table({
        "Call ID": pa.array(np.char.add("WB", np.arange(100001, 100001 + CALLS).astype(str))),
        "Queue Entered": _iso(started),
        "Answered": _iso(answered_at, answered),
        "Ended": _iso(ended),
        "Queue": pa.array(QUEUES[queue]),
        "Agent": pc.if_else(pa.array(answered), pa.array(agent), ""),
        "Talk (s)": parts(talk),
        "Hold (s)": parts(hold),
        "Wrap (s)": parts(wrap),
    })
    bad = pa.table({  # rows the source must reject, each with its reason
        "Call ID": ["WB-900001", "", "WB-900003", "WB-900004"],
        "Queue Entered": ["2026-02-30T10:00:00Z", "2026-03-03T15:00:00Z",
                          "2026-04-07T16:00:00Z", "yesterday"],
        "Answered": ["", "2026-03-03T15:00:09Z", "2026-04-07T15:59:00Z", ""],
        "Ended": ["", "2026-03-03T15:04:00Z", "2026-04-07T16:05:00Z", ""],
        "Queue": ["billing", "technical", "sales", "billing"],
        "Agent": ["", "chen", "hana", ""],
        "Talk (s)": ["", "200", "-30", ""],
        "Hold (s)": ["", "0", "0", ""],
        "Wrap (s)": ["", "40", "40", ""],
    })
    return pa.concat_tables([table, bad])


def costs(rng: np.random.Generator) -> pa.Table:
    n = len(COST_LINES) * len(MONTHS)
    month = np.repeat(np.arange(len(MONTHS)), len(COST_LINES))
    line = np.tile(np.arange(len(COST_LINES)), len(MONTHS))
    base = np.array([c for _, c in COST_LINES])[line]
    cents = base + rng.integers(-15_000, 15_000, n) * (line == 0)
    cents += np.where((month == UPGRADE_MONTH) & (line == 1), UPGRADE_CENTS, 0)
    cents += np.where((month == 2) & (line == 0), 40_000, 0)  # March overtime
    amount = np.char.add(np.char.add((cents // 100).astype(str), "."),
                         np.char.zfill((cents % 100).astype(str), 2))
    incurred = MONTHS[month].astype("datetime64[D]") + 14  # mid-month: same month everywhere
    return pa.table({
        "Line": pa.array(np.char.add("C-", np.arange(1, n + 1).astype(str))),
        "Date": pa.array(np.datetime_as_string(incurred)),
        "Category": pa.array(np.array([c for c, _ in COST_LINES])[line]),
        "Amount (USD)": pa.array(amount),
    })


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    options = pacsv.WriteOptions(quoting_style="none")  # no value holds a comma
    pacsv.write_csv(calls(rng), args.out / "calls.csv", options)
    pacsv.write_csv(costs(rng), args.out / "costs.csv", options)
    return 0


if __name__ == "__main__":
    sys.exit(main())
