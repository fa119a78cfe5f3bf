#!/usr/bin/env python
"""Generate a small, seeded Zendesk ``ticket_metric_events`` export (two JSON pages).

Each ticket has a requester wait clock and one or two reply clocks (instance 1, and a follow-up
as instance 2). A clock is activated when the ticket is created (reply instance 2: when the
requester follows up), may be paused while the ticket waits on the requester and activated
again, and is fulfilled when the agent answers (reply) or the ticket is solved (requester
wait). Zendesk marks a clock breached when its own wall-clock figure passes its policy's target
(reply 4h, requester wait 8h) and sometimes withdraws a breach (``deleted: true``). Events are
written in time order across tickets, as an export arrives. The same seed always writes the
same bytes.

    python examples/generate_zendesk_metric_events.py --tickets 120 --seed 17 \\
        --out examples/data/zendesk-metric-events
"""

from __future__ import annotations

import argparse
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
TARGETS = {"reply_time": timedelta(hours=4), "requester_wait_time": timedelta(hours=8)}


def clock(rng: random.Random, ticket: int, metric: str, instance: int,
          start: datetime) -> tuple[list[tuple[datetime, dict[str, Any]]], datetime]:
    """One clock's events (instant, event) and when it was fulfilled."""
    events = [(start, {"type": "activate"})]
    at, running = start, timedelta(0)
    for _ in range(rng.choice((0, 0, 1))):  # a pause while the ticket waits on the requester
        run = timedelta(minutes=rng.randint(10, 300))
        at, running = at + run, running + run
        events.append((at, {"type": "pause"}))
        at += timedelta(minutes=rng.randint(30, 1_500))
        events.append((at, {"type": "activate"}))
    run = timedelta(minutes=int(rng.lognormvariate(4.8, 1.0)) + 1)
    target = TARGETS[metric]
    if running + run > target:
        breach = at + (target - running)
        events.append((breach, {"type": "breach", "deleted": rng.random() < 0.1}))
    at, running = at + run, running + run
    events.append((at, {"type": "fulfill"}))
    return [(t, {"ticket_id": ticket, "metric": metric, "instance_id": instance, **e})
            for t, e in events], at


def generate(tickets: int, seed: int) -> list[dict[str, Any]]:
    """Every metric event of ``tickets`` tickets, in time order, with ids 1, 2, ..."""
    rng = random.Random(seed)
    found: list[tuple[datetime, dict[str, Any]]] = []
    for ticket in range(1001, 1001 + tickets):
        created = START + timedelta(minutes=rng.randint(0, 60 * 24 * 88))  # March to May
        replies, answered = clock(rng, ticket, "reply_time", 1, created)
        found += replies
        if rng.random() < 0.4:  # the requester follows up after the first answer
            follow_up = answered + timedelta(minutes=rng.randint(5, 600))
            found += clock(rng, ticket, "reply_time", 2, follow_up)[0]
        found += clock(rng, ticket, "requester_wait_time", 1, created)[0]
    found.sort(key=lambda pair: (pair[0], pair[1]["ticket_id"]))
    return [{"id": n, **event, "time": at.strftime("%Y-%m-%dT%H:%M:%SZ")}
            for n, (at, event) in enumerate(found, start=1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=120)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--out", type=Path, default=Path("examples/data/zendesk-metric-events"))
    args = parser.parse_args()
    events = generate(args.tickets, args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    half = len(events) // 2
    for n, part in enumerate((events[:half], events[half:]), start=1):
        page = {"ticket_metric_events": part,
                "next_page": None if n == 2 else "page-002.json", "end_of_stream": n == 2}
        (args.out / f"page-{n:03}.json").write_text(json.dumps(page, indent=1) + "\n",
                                                   encoding="utf-8")


if __name__ == "__main__":
    main()
