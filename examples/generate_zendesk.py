#!/usr/bin/env python
"""Generate a seeded, Zendesk-shaped ticket export for the slaengine examples.

The data imitates the email support of *Fabrikam Outdoor*, an online outdoor-gear shop, run by
*Contoso Support Services*, January to March 2026. It is written the way Zendesk's incremental
ticket export with the ``metric_sets`` side-load delivers it
(``GET /api/v2/incremental/tickets.json?include=metric_sets``): page files holding
``{"tickets": [...], "metric_sets": [...], "next_page", "count", "end_time", "end_of_stream"}``,
tickets ordered by ``updated_at``.

On purpose, for the example to show its accounting: a few tickets appear twice (an earlier,
open version on the first page, the final version later), two tickets are deleted, one ticket
has no metric set. Satisfaction ratings are ``good``, ``bad``, ``offered`` (asked, not
answered) or ``unoffered``. Service drifts by month: January good, February fair, March worse.

Columns are built with numpy and pyarrow; the same arguments always give byte-identical files.

    python examples/generate_zendesk.py --tickets 600 --seed 11 --out examples/data/zendesk
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

DEFAULT_OUT = Path(__file__).resolve().parent / "data" / "zendesk"
SUBDOMAIN = "fabrikamoutdoor"
START = datetime(2026, 1, 1, 7, tzinfo=UTC)  # midnight in Denver (MST)
END = datetime(2026, 4, 1, 6, tzinfo=UTC)  # midnight in Denver (MDT)
EXPORTED = datetime(2026, 4, 2, 6, 0, tzinfo=UTC)
FIRST_ID = 41_001

SUBJECTS = [
    "Where is my order?", "Wrong size delivered", "Return label request", "Tent pole broken",
    "Refund not received", "Change delivery address", "Discount code not working",
    "Sleeping bag warranty", "Missing item in parcel", "Cancel my order",
]  # fmt: skip
TAGS = ["shipping", "returns", "refund", "warranty", "sizing", "discount", "damaged"]
PRIORITIES = np.array(["low", "normal", "high", "urgent"], dtype=object)
PRIORITY_SHARE = [0.15, 0.65, 0.15, 0.05]
GROUPS = np.array([360_001, 360_002])  # Orders & Shipping, Returns & Warranty
AGENTS = np.array([900_101, 900_102, 900_103, 900_104, 900_105, 900_106])
BUSINESS_ORGS = np.array([510_001, 510_002, 510_003])  # a few club and school accounts
# Per month (Jan, Feb, Mar): median reply minutes, resolution hours, share of good ratings.
REPLY_MEDIAN_MIN = np.array([180.0, 300.0, 620.0])
RESOLUTION_MEDIAN_H = np.array([20.0, 28.0, 46.0])
GOOD_SHARE = np.array([0.86, 0.78, 0.62])
DUPLICATES = 8
DELETED = 2


def iso(seconds: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """Epoch seconds as Zendesk writes times: ``2026-01-05T09:12:44Z``."""
    mask = None if valid is None else ~valid
    stamps = pa.array(seconds.astype("datetime64[s]"), pa.timestamp("s"), mask=mask)
    return pc.strftime(stamps, format="%Y-%m-%dT%H:%M:%SZ")


def minutes(calendar: np.ndarray, business: np.ndarray, valid: np.ndarray) -> pa.StructArray:
    """A ``{"calendar": n, "business": n}`` object; both null where not reached yet."""
    cal = pa.array(np.rint(calendar).astype(np.int64), mask=~valid)
    bus = pa.array(np.rint(business).astype(np.int64), mask=~valid)
    return pa.StructArray.from_arrays([cal, bus], names=["calendar", "business"])


def build(n: int, seed: int) -> tuple[pa.Table, pa.Table]:
    """Tickets and metric sets in their final state, one row each."""
    rng = np.random.default_rng(seed)
    span = int((END - START).total_seconds())
    created = np.sort(int(START.timestamp()) + rng.integers(0, span, n))
    month = (created - int(START.timestamp())) * 3 // span
    ids = np.arange(FIRST_ID, FIRST_ID + n)

    reply_min = np.exp(rng.normal(0, 0.9, n)) * REPLY_MEDIAN_MIN[month]
    reply_min = np.maximum(reply_min, 3)
    # Business minutes (Mon-Fri 08-18): roughly the working share of the calendar time.
    reply_bus = reply_min * rng.uniform(0.25, 0.6, n)
    resolution_h = np.exp(rng.normal(0, 0.8, n)) * RESOLUTION_MEDIAN_H[month]
    full_min = reply_min + resolution_h * 60
    reopens = rng.choice(3, n, p=[0.85, 0.12, 0.03])
    first_min = np.where(reopens > 0, full_min * rng.uniform(0.3, 0.7, n), full_min)
    hold_min = np.where(rng.random(n) < 0.1, rng.uniform(30, 1440, n), 0.0)
    solved = created + full_min * 60
    answered = created + reply_min * 60 < EXPORTED.timestamp()
    is_solved = (solved < EXPORTED.timestamp()) & (rng.random(n) > 0.03)
    status = np.where(is_solved, np.where(solved < EXPORTED.timestamp() - 4 * 86400, "closed",
                                          "solved"), np.where(answered, "pending", "open"))
    updated = np.where(is_solved, solved, created + np.where(answered, reply_min * 60, 60))
    updated = updated.astype(np.int64) + rng.integers(60, 3600, n)

    offered = is_solved & (rng.random(n) < 0.7)
    answered_rating = offered & (rng.random(n) < 0.45)
    good = rng.random(n) < GOOD_SHARE[month]
    score = np.where(answered_rating, np.where(good, "good", "bad"),
                     np.where(offered, "offered", "unoffered"))

    tag_a = rng.integers(0, len(TAGS), n)
    tag_b = rng.integers(0, len(TAGS), n)
    two = rng.random(n) < 0.3
    # One tag per ticket, a second one for 30%: [a] or [a, b], flattened in row order.
    offsets = np.concatenate([[0], np.cumsum(np.where(two, 2, 1))]).astype(np.int32)
    pairs = np.stack([np.array(TAGS)[tag_a], np.array(TAGS)[tag_b]], axis=1)
    chosen = np.stack([np.ones(n, bool), two], axis=1)
    tag_lists = pa.ListArray.from_arrays(pa.array(offsets), pa.array(pairs[chosen]))
    priority = pa.array(rng.choice(PRIORITIES, n, p=PRIORITY_SHARE), pa.string())
    priority = pc.if_else(pa.array(rng.random(n) < 0.05), pa.scalar(None, pa.string()), priority)
    org = pa.array(rng.choice(BUSINESS_ORGS, n), mask=rng.random(n) > 0.12)
    agent = rng.choice(AGENTS, n)
    assigned = created + np.minimum(reply_min * 60 * 0.5, rng.uniform(60, 1800, n))
    subject = pa.array(np.array(SUBJECTS)[rng.integers(0, len(SUBJECTS), n)])
    ticket_url = pc.binary_join_element_wise(
        f"https://{SUBDOMAIN}.zendesk.com/api/v2/tickets/", pc.cast(pa.array(ids), pa.string()),
        ".json", "")
    via = pa.StructArray.from_arrays(
        [pa.repeat(pa.scalar("email"), n),
         pa.StructArray.from_arrays(
             [pa.repeat(pa.scalar("help@fabrikam-outdoor.example"), n)], names=["address"])],
        names=["channel", "source"])
    rating = pa.StructArray.from_arrays(
        [pa.array(score), pa.array(np.arange(n) + 7_000_001)], names=["score", "id"])

    tickets = pa.table({
        "url": ticket_url, "id": pa.array(ids), "created_at": iso(created),
        "updated_at": iso(updated), "type": pa.repeat(pa.scalar("question"), n),
        "subject": subject, "status": pa.array(status), "priority": priority,
        "requester_id": pa.array(rng.integers(1_000_000, 9_000_000, n)),
        "assignee_id": pa.array(agent, mask=~answered), "organization_id": org,
        "group_id": pa.array(np.where((tag_a == 1) | (tag_a == 3), GROUPS[1], GROUPS[0])),
        "tags": tag_lists, "via": via, "satisfaction_rating": rating,
        "updated_epoch": pa.array(updated),
    })
    metrics = pa.table({
        "url": pc.binary_join_element_wise(
            f"https://{SUBDOMAIN}.zendesk.com/api/v2/ticket_metrics/",
            pc.cast(pa.array(ids + 3_000_000), pa.string()), ".json", ""),
        "id": pa.array(ids + 3_000_000), "ticket_id": pa.array(ids),
        "created_at": iso(created), "updated_at": iso(updated),
        "group_stations": pa.array(1 + (rng.random(n) < 0.1).astype(np.int64)),
        "assignee_stations": pa.array(1 + (rng.random(n) < 0.15).astype(np.int64)),
        "reopens": pa.array(reopens), "replies": pa.array(1 + reopens + rng.integers(0, 3, n)),
        "initially_assigned_at": iso(assigned.astype(np.int64), answered),
        "assigned_at": iso(assigned.astype(np.int64), answered),
        "solved_at": iso(solved.astype(np.int64), is_solved),
        "reply_time_in_minutes": minutes(reply_min, reply_bus, answered),
        "first_resolution_time_in_minutes": minutes(first_min, first_min * 0.35, is_solved),
        "full_resolution_time_in_minutes": minutes(full_min, full_min * 0.35, is_solved),
        "agent_wait_time_in_minutes": minutes(reply_min + resolution_h * 20,
                                              (reply_min + resolution_h * 20) * 0.35, is_solved),
        "requester_wait_time_in_minutes": minutes(full_min - hold_min,
                                                  (full_min - hold_min) * 0.35, is_solved),
        "on_hold_time_in_minutes": minutes(hold_min, hold_min * 0.4, np.ones(n, bool)),
    })
    return tickets, metrics


def pages(tickets: pa.Table, metrics: pa.Table, n_pages: int, seed: int) -> list[dict]:
    """Split into export pages by updated_at, with earlier versions, deletions and a gap."""
    rng = np.random.default_rng([seed, 1])
    n = tickets.num_rows
    order = np.argsort(np.asarray(tickets["updated_epoch"]), kind="stable")
    tickets, metrics = tickets.take(order), metrics.take(order)
    # Deleted tickets: status "deleted", as the export reports them.
    deleted = rng.choice(np.arange(n // 3, n), DELETED, replace=False)
    status = np.asarray(tickets["status"], dtype=object)
    status[deleted] = "deleted"
    tickets = tickets.set_column(tickets.schema.get_field_index("status"), "status",
                                 pa.array(status, pa.string()))
    # One ticket whose metric set is missing from the side-load.
    gap = int(rng.integers(n // 2, n))
    keep = np.ones(n, bool)
    keep[gap] = False
    metrics = metrics.filter(pa.array(keep))
    bounds = np.linspace(0, n, n_pages + 1).astype(int)
    out = []
    for p in range(n_pages):
        chunk = tickets.slice(bounds[p], bounds[p + 1] - bounds[p])
        ids = chunk["id"]
        side = metrics.filter(pc.is_in(metrics["ticket_id"], value_set=ids))
        out.append({"tickets": chunk, "metric_sets": side})
    # Earlier, still-open versions of tickets finally on the last page, repeated on page 1.
    last = out[-1]["tickets"]
    picks = np.sort(rng.choice(last.num_rows, DUPLICATES, replace=False))
    early = last.take(picks)
    early = early.set_column(early.schema.get_field_index("status"), "status",
                             pa.repeat(pa.scalar("open"), DUPLICATES))
    early_updated = pc.subtract(early["updated_epoch"], pa.scalar(86_400 * 2, pa.int64()))
    early = early.set_column(early.schema.get_field_index("updated_at"), "updated_at",
                             iso(np.asarray(early_updated)))
    out[0]["tickets"] = pa.concat_tables([out[0]["tickets"], early])
    return out


def write(out_dir: Path, seed: int, n: int, n_pages: int) -> list[Path]:
    tickets, metrics = build(n, seed)
    written = []
    out_dir.mkdir(parents=True, exist_ok=True)
    chunks = pages(tickets, metrics, n_pages, seed)
    for p, chunk in enumerate(chunks, start=1):
        page_tickets = chunk["tickets"].drop_columns(["updated_epoch"])
        end_time = int(pc.max(chunk["tickets"]["updated_epoch"]).as_py())
        last = p == len(chunks)
        document = {
            "tickets": page_tickets.to_pylist(),
            "metric_sets": chunk["metric_sets"].to_pylist(),
            "next_page": None if last else (
                f"https://{SUBDOMAIN}.zendesk.com/api/v2/incremental/tickets.json"
                f"?include=metric_sets&start_time={end_time}"),
            "count": page_tickets.num_rows,
            "end_time": end_time,
            "end_of_stream": last,
        }
        path = out_dir / f"tickets-page-{p:03d}.json.gz"
        text = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
        with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
            gz.write(text.encode("utf-8"))
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=600, help="distinct tickets (600)")
    parser.add_argument("--pages", type=int, default=3, help="export pages (3)")
    parser.add_argument("--seed", type=int, default=11, help="random seed (11)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"folder ({DEFAULT_OUT})")
    args = parser.parse_args(argv)
    if args.tickets < 20 * args.pages or args.pages < 1:
        parser.error("--tickets must be at least 20 per page")
    paths = write(args.out, args.seed, args.tickets, args.pages)
    size = sum(p.stat().st_size for p in paths)
    print(f"generate_zendesk.py: wrote {len(paths)} pages, {args.tickets} tickets "
          f"(+{DUPLICATES} earlier versions, {DELETED} deleted, 1 without a metric set), "
          f"{size / 1024:.0f} KiB, to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
