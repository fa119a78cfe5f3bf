"""The running period so far (``--as-of``): where each service level stands and what it needs.

For the period that contains the as-of instant, every verdict gets an ``outlook``: how much of
the period has elapsed, and for share and attainment targets how many of the rest of the
period's records must be within target — projected from the pace so far — or that the target
can no longer be met. A vendor runs this mid-month to see a miss coming while it can still be
turned around.

The running period's verdicts, and those of any later period (a record whose period comes from
another time field may fall in one), are ``provisional``: the period is not over, its figures
and the credits they decide may still change. The penalty schedule carries the mark on to the
credits of those periods and splits each year's totals into final and provisional parts.

Projection: the period's final sample is taken as ``ceil(sample so far / elapsed share)``; the
records still to come are the difference. This is a pace estimate, labelled as such.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime
from fractions import Fraction
from typing import Any

from slaengine.contract import Contract
from slaengine.lazy import np, pa
from slaengine.periods import period_bounds, period_keys, period_label
from slaengine.verdicts import Verdict


def apply(contract: Contract, verdicts: list[Verdict], as_of: datetime) -> list[Verdict]:
    """Verdicts with an outlook added to those of the period containing ``as_of``, and those
    of that period and any later one marked provisional.

    Labels of one period kind sort in time order (``2026-03`` < ``2026-04``, ``2026-W09`` <
    ``2026-W10``), so "not over" is ``period >= running``.
    """
    key = period_keys(pa.array([as_of], pa.timestamp("us", tz="UTC")), contract.period,
                      contract.timezone)
    running = period_label(contract.period)(int(key[0]))
    starts, ends = period_bounds(np.asarray(key), contract.period, contract.timezone)
    now = int(as_of.timestamp() * 1_000_000)
    elapsed = min(max((now - int(starts[0])) / (int(ends[0]) - int(starts[0])), 0.0), 1.0)
    out = []
    for verdict in verdicts:
        if verdict.period == running:
            level = contract.service_level(verdict.service_level)
            verdict = replace(verdict, outlook=project(verdict, level.target.threshold,
                                                       level.target.better, elapsed, as_of))
        if verdict.period >= running:
            verdict = replace(verdict, provisional=True)
        out.append(verdict)
    return out


def project(
    verdict: Verdict, threshold: Fraction, better: str, elapsed: float, as_of: datetime
) -> dict[str, Any]:
    """The outlook of one running-period verdict (see the module docstring)."""
    result: dict[str, Any] = {"as_of": as_of.isoformat(), "elapsed": elapsed}
    if verdict.statistic not in ("share", "attainment") or verdict.value is None or elapsed <= 0:
        return result
    n = verdict.sample_size
    hits = round(float(verdict.value) * n)
    projected = max(math.ceil(n / elapsed), n)
    remaining = projected - n
    result.update(projected_sample=projected, remaining=remaining)
    if better == "higher":
        needed = max(math.ceil(threshold * projected - hits), 0)
        result.update(needed_within_target=needed, achievable=needed <= remaining)
    else:
        allowance = math.floor(threshold * projected) - hits
        result.update(allowance=max(allowance, 0), achievable=allowance >= 0)
    return result
