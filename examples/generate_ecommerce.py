#!/usr/bin/env python
"""Generate seeded survey, sales and customer data for the e-commerce email-support example.

Writes, under ``examples/data/ecommerce/`` (January to March 2026, UTC, ISO 8601):

- ``surveys.csv``: post-contact surveys (CSAT 1-5, NPS 0-10, CES 1-7, some unanswered),
  linked to tickets by ``Ticket``;
- ``sales.csv``: orders (new, upsell, cross_sell) with customer, agent and amount (2 decimals);
- ``customers.csv``: customer accounts started since July 2025, some closed.

February is a bad month (slow replies after a peak): lower scores, fewer upsells, more churn.
Vectorised with numpy; the same seed always writes the same bytes.

    python examples/generate_ecommerce.py --seed 5
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

OUT = Path(__file__).resolve().parent / "data" / "ecommerce"
START = np.datetime64("2026-01-01T00:00:00", "s")
DAYS = 90  # Jan 1 - Mar 31
AGENTS = np.array(["ines", "marco", "noor", "oskar", "priya", "quinn"])
MOOD = np.array([0.3, -0.6, 0.1])  # Jan, Feb, Mar: shifts every score
CUSTOMERS = 1500


def _times(rng: np.random.Generator, n: int, days: int, start: np.datetime64) -> np.ndarray:
    return np.sort(start + rng.integers(0, days * 86400, n).astype("timedelta64[s]"))


def _iso(times: np.ndarray) -> pa.Array:
    return pa.array(np.char.add(np.datetime_as_string(times, unit="s"), "Z"))


def _month(times: np.ndarray) -> np.ndarray:
    return (times.astype("datetime64[M]") - np.datetime64("2026-01", "M")).astype(np.int64)


def _optional(values: np.ndarray, keep: np.ndarray) -> pa.Array:
    return pc.if_else(pa.array(keep), pa.array(values.astype(str)), "")


def surveys(rng: np.random.Generator) -> pa.Table:
    n = 1400
    at = _times(rng, n, DAYS, START)
    mood = MOOD[_month(at)]
    csat = np.clip(np.rint(rng.normal(4.1 + mood, 0.9)), 1, 5).astype(np.int64)
    nps = np.clip(np.rint(rng.normal(7.9 + 1.5 * mood, 1.8)), 0, 10).astype(np.int64)
    ces = np.clip(np.rint(rng.normal(2.6 - 1.2 * mood, 1.1)), 1, 7).astype(np.int64)
    return pa.table({
        "Survey": pa.array(np.char.add("SV", np.arange(10001, 10001 + n).astype(str))),
        "Answered": _iso(at),
        "Ticket": pa.array(np.char.add("#", rng.integers(40000, 60000, n).astype(str))),
        "Agent": pa.array(rng.choice(AGENTS, n)),
        "CSAT": _optional(csat, rng.random(n) < 0.92),
        "NPS": _optional(nps, rng.random(n) < 0.70),
        "CES": _optional(ces, rng.random(n) < 0.60),
    })


def customers(rng: np.random.Generator) -> pa.Table:
    started = _times(rng, CUSTOMERS, 273, np.datetime64("2025-07-01T00:00:00", "s"))
    lifetime = rng.exponential(900, CUSTOMERS) * 86400  # seconds; most stay past March
    churn_feb = (rng.random(CUSTOMERS) < 0.04).astype(np.int64) * 86400 * 40
    ended = started + (lifetime - churn_feb).clip(86400, None).astype("timedelta64[s]")
    ended_text = pc.if_else(pa.array(ended < np.datetime64("2026-04-01T00:00:00", "s")),
                            _iso(ended), "")
    return pa.table({
        "Customer": pa.array(np.char.add("CU", np.arange(1, CUSTOMERS + 1).astype(str))),
        "Since": _iso(started),
        "Closed": ended_text,
        "Plan": pa.array(rng.choice(["basic", "plus", "premium"], CUSTOMERS, p=[.6, .3, .1])),
    })


def sales(rng: np.random.Generator) -> pa.Table:
    n = 2200
    at = _times(rng, n, DAYS, START)
    month = _month(at)
    upsell_share = np.array([0.16, 0.09, 0.15])[month]
    roll = rng.random(n)
    kind = np.where(roll < upsell_share, "upsell",
                    np.where(roll < upsell_share + 0.10, "cross_sell", "new"))
    cents = np.rint(rng.lognormal(np.log(6500), 0.6, n)).astype(np.int64)
    amount = np.char.add(np.char.add((cents // 100).astype(str), "."),
                         np.char.zfill((cents % 100).astype(str), 2))
    supported = kind != "new"
    return pa.table({
        "Order": pa.array(np.char.add("OR", np.arange(700001, 700001 + n).astype(str))),
        "Ordered": _iso(at),
        "Customer": pa.array(np.char.add("CU", rng.integers(1, CUSTOMERS + 1, n).astype(str))),
        "Type": pa.array(kind),
        "Agent": pc.if_else(pa.array(supported), pa.array(rng.choice(AGENTS, n)), ""),
        "Amount": pa.array(amount),
    })


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    options = pacsv.WriteOptions(quoting_style="none")  # no value holds a comma
    pacsv.write_csv(surveys(rng), args.out / "surveys.csv", options)
    pacsv.write_csv(sales(rng), args.out / "sales.csv", options)
    pacsv.write_csv(customers(rng), args.out / "customers.csv", options)
    return 0


if __name__ == "__main__":
    sys.exit(main())
