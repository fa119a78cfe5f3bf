"""Per-group statistics over per-record measures, fully vectorised.

The caller has already assigned every record a group id (its period and segment). Each statistic
is computed for all groups at once with ``np.bincount``; percentiles group the values with one
radix sort on the group id and select each group's rank with ``np.partition`` (a loop per group,
never per record).

Percentiles use the *nearest-rank* definition (sort ascending, take the ``ceil(p/100 * n)``-th
value) with the rank computed in exact integer arithmetic. That makes ``pNN <= X`` true exactly
when at least NN% of the measured records are ``<= X``, which is how SLA targets are read.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from slaengine.targets import is_statistic, percentile_of


@dataclass
class GroupStats:
    """One statistic for every group (arrays of length ``n_groups``).

    ``value``: float64, NaN where undefined (nothing measured). ``sample_size``: the records the
    statistic covers (non-null measures; all records for ``count`` and ``attainment``).
    ``unmeasured``: records of the group whose measure is null. ``hits``: the numerator of
    ``share`` and ``attainment`` (so verdicts can compare ``hits/sample_size`` exactly), else None.
    """

    value: np.ndarray
    sample_size: np.ndarray
    unmeasured: np.ndarray
    hits: np.ndarray | None = None


def group_statistic(
    statistic: str,
    values: pa.Array | pa.ChunkedArray | np.ndarray,
    group_ids: np.ndarray,
    n_groups: int,
    *,
    success: pa.Array | pa.ChunkedArray | np.ndarray | None = None,
    within: float | Fraction | None = None,
) -> GroupStats:
    """Compute ``statistic`` for each of ``n_groups`` groups of records.

    ``values`` holds one measure per record (numbers or booleans; booleans count as 0/1). A null
    — an Arrow null, or NaN — means "not measured". ``group_ids`` gives each record's group,
    0..n_groups-1; groups without records still get a row (sample size 0, value NaN).

    ``share`` needs ``success`` (one boolean per record, null where not measured): hits are the
    true ones among records where both the measure and ``success`` are non-null.
    ``attainment`` needs ``within`` (seconds): hits are measures ``<= within``, and every record
    counts in the sample — a null measure (never answered) is a miss.
    Raises ValueError for an unknown statistic or inconsistent inputs.
    """
    if not is_statistic(statistic):
        raise ValueError(f"unknown statistic {statistic!r}")
    x = as_float(values)
    groups = np.asarray(group_ids, dtype=np.int64)
    if groups.shape != x.shape:
        raise ValueError(f"group_ids has {groups.size} entries for {x.size} values")
    if groups.size and (groups.min() < 0 or groups.max() >= n_groups):
        raise ValueError(f"group ids must lie in 0..{n_groups - 1}")

    measured = ~np.isnan(x)
    total = np.bincount(groups, minlength=n_groups).astype(np.int64)
    counted = np.bincount(groups[measured], minlength=n_groups).astype(np.int64)
    unmeasured = total - counted

    if statistic == "count":
        return GroupStats(total.astype(np.float64), total, unmeasured)
    if statistic == "mean":
        sums = np.bincount(groups[measured], weights=x[measured], minlength=n_groups)
        return GroupStats(_ratio(sums, counted), counted, unmeasured)
    if statistic == "share":
        return _share(x, groups, n_groups, total, success)
    if statistic == "attainment":
        if within is None:
            raise ValueError("attainment needs a per-record limit: within=SECONDS")
        met = measured & (x <= float(within))
        hits = np.bincount(groups[met], minlength=n_groups).astype(np.int64)
        return GroupStats(_ratio(hits, total), total, unmeasured, hits)

    grouped = _by_group(x[measured], groups[measured], n_groups)
    starts = np.concatenate(([0], np.cumsum(counted)[:-1])).astype(np.int64)
    if statistic == "min":
        rank = np.ones(n_groups, dtype=np.int64)
    elif statistic == "max":
        rank = counted
    else:
        pct = percentile_of(statistic)
        assert pct is not None
        rank = nearest_rank(pct, counted)
    return GroupStats(_pick(grouped, starts, rank, counted), counted, unmeasured)


def nearest_rank(percentile: Fraction, n: np.ndarray) -> np.ndarray:
    """The 1-based nearest rank ``max(1, ceil(percentile/100 * n))`` for each sample size ``n``.

    Exact integer arithmetic (p90 of 10 values is rank 9, never 10 from ``0.9 * 10`` in floats).
    """
    num, den = percentile.numerator, percentile.denominator * 100
    sizes = np.asarray(n, dtype=np.int64)
    largest = int(sizes.max()) if sizes.size else 0
    if largest and num * largest >= 2**62:  # avoid int64 overflow for extreme decimals
        ranks = np.array([-(-(num * int(k)) // den) for k in sizes.tolist()], dtype=np.int64)
    else:
        ranks = -((-num * sizes) // den)
    return np.maximum(ranks, 1)


# --------------------------------------------------------------------------- helpers


def as_float(values: pa.Array | pa.ChunkedArray | np.ndarray) -> np.ndarray:
    """Measures as float64 with NaN for nulls (booleans become 0/1); numpy input as it is."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.Array):
        return pc.cast(values, pa.float64()).to_numpy(zero_copy_only=False).astype(np.float64)
    return np.asarray(values, dtype=np.float64)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """``numerator / denominator`` as float64, NaN where the denominator is 0."""
    out = np.full(denominator.shape, np.nan)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def _share(
    x: np.ndarray,
    groups: np.ndarray,
    n_groups: int,
    total: np.ndarray,
    success: pa.Array | pa.ChunkedArray | np.ndarray | None,
) -> GroupStats:
    if success is None:
        raise ValueError("share needs success=: one boolean per record")
    ok = as_float(success)
    if ok.shape != x.shape:
        raise ValueError(f"success has {ok.size} entries for {x.size} values")
    known = ~np.isnan(ok) & ~np.isnan(x)
    sample = np.bincount(groups[known], minlength=n_groups).astype(np.int64)
    hits = np.bincount(groups[known & (ok != 0)], minlength=n_groups).astype(np.int64)
    return GroupStats(_ratio(hits, sample), sample, total - sample, hits)


def _by_group(x: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """Measured values reordered so each group's values are contiguous (in group order).

    A stable sort on small integer keys is a radix sort in numpy: one linear pass, much cheaper
    than sorting by (group, value) when only one rank per group is needed.
    """
    key = groups.astype(np.int16) if n_groups < 2**15 else groups
    return x[np.argsort(key, kind="stable")]


def _pick(
    grouped: np.ndarray, starts: np.ndarray, rank: np.ndarray, counted: np.ndarray
) -> np.ndarray:
    """The ``rank``-th (1-based) smallest value of each group's run; NaN for empty groups.

    ``np.partition`` selects in linear time; the loop runs once per group (periods x
    segments), never per record.
    """
    out = np.full(counted.shape, np.nan)
    for g in np.flatnonzero(counted > 0):
        run = grouped[starts[g]:starts[g] + counted[g]]
        k = int(rank[g]) - 1
        out[g] = np.partition(run, k)[k]
    return out


class GroupAccumulator:
    """:func:`group_statistic` fed batch by batch, so a source never has to be held whole.

    Counts, sums and hits are added up per group as batches arrive; only order statistics
    (percentiles, median, min, max) keep the measured values themselves — one float and one
    group id per measured record, never the records. Group ids may grow from batch to batch;
    :meth:`finish` maps them onto the final groups.
    """

    def __init__(self, statistic: str, within: float | None = None) -> None:
        if not is_statistic(statistic):
            raise ValueError(f"unknown statistic {statistic!r}")
        self.statistic = statistic
        self.within = within
        self.total = np.zeros(0, dtype=np.int64)
        self.counted = np.zeros(0, dtype=np.int64)
        self.sums = np.zeros(0, dtype=np.float64)
        self.hits = np.zeros(0, dtype=np.int64)
        self.sample = np.zeros(0, dtype=np.int64)
        self.values: dict[int, list[np.ndarray]] = {}
        self.keeps_values = statistic in ("median", "min", "max") or (
            percentile_of(statistic) is not None
        )

    def add(
        self,
        values: pa.Array | pa.ChunkedArray | np.ndarray,
        groups: np.ndarray,
        success: pa.Array | pa.ChunkedArray | np.ndarray | None = None,
    ) -> None:
        """Add one batch: a measure and a group id per record (and success for ``share``)."""
        x = as_float(values)
        groups = np.asarray(groups, dtype=np.int64)
        size = int(groups.max()) + 1 if groups.size else 0
        self._grow(size)
        measured = ~np.isnan(x)
        # One counting pass per batch: each record's group and state folded into one code
        # (state 0: not measured, 1: measured, 2: measured and a hit), so no masked copies.
        state = measured.astype(np.int64)
        if self.statistic == "share":
            if success is None:
                raise ValueError("share needs success=: one boolean per record")
            ok = as_float(success)
            known = ~np.isnan(ok) & measured
            state = known.astype(np.int64) + (known & (ok != 0))
        elif self.statistic == "attainment":
            if self.within is None:
                raise ValueError("attainment needs a per-record limit: within=SECONDS")
            state += measured & (x <= float(self.within))
        counts = np.bincount(groups * 3 + state, minlength=3 * size).reshape(size, 3)
        self.total[:size] += counts.sum(axis=1)
        if self.statistic == "share":
            self.sample[:size] += counts[:, 1] + counts[:, 2]
            self.hits[:size] += counts[:, 2]
            # counted: records with a measure, known outcome or not
            self.counted[:size] += np.bincount(groups, weights=measured,
                                               minlength=size).astype(np.int64)
        else:
            self.counted[:size] += counts[:, 1] + counts[:, 2]
            self.hits[:size] += counts[:, 2]
        if self.statistic == "mean":
            self.sums[:size] += np.bincount(groups, weights=np.where(measured, x, 0.0),
                                            minlength=size)
        elif self.keeps_values:
            # Kept per group, so the end never needs one array of every value at once.
            kept, owner = x[measured], groups[measured]
            small = np.int16 if len(self.total) < 2**15 else np.int64  # int16: radix sort
            order = np.argsort(owner.astype(small), kind="stable")
            kept, owner = kept[order], owner[order]
            cuts = np.flatnonzero(np.diff(owner)) + 1
            starts = np.concatenate(([0], cuts)).astype(np.int64)
            for start, part in zip(starts, np.split(kept, cuts), strict=True):
                if len(part):
                    self.values.setdefault(int(owner[start]), []).append(part)

    def finish(self, remap: np.ndarray, n_groups: int) -> GroupStats:
        """The statistic per final group; ``remap[g]`` is the final group of accumulated ``g``."""
        self._grow(len(remap))
        remap = np.asarray(remap, dtype=np.int64)

        def merged(per_group: np.ndarray, dtype: type = np.int64) -> np.ndarray:
            return np.bincount(remap, weights=per_group[: len(remap)],
                               minlength=n_groups).astype(dtype)

        total, counted = merged(self.total), merged(self.counted)
        unmeasured = total - counted
        if self.statistic == "count":
            return GroupStats(total.astype(np.float64), total, unmeasured)
        if self.statistic == "mean":
            return GroupStats(_ratio(merged(self.sums, np.float64), counted), counted, unmeasured)
        if self.statistic == "share":
            hits, sample = merged(self.hits), merged(self.sample)
            return GroupStats(_ratio(hits, sample), sample, total - sample, hits)
        if self.statistic == "attainment":
            hits = merged(self.hits)
            return GroupStats(_ratio(hits, total), total, unmeasured, hits)
        value = np.full(n_groups, np.nan)
        final: dict[int, list[np.ndarray]] = {}
        for group, parts in self.values.items():
            final.setdefault(int(remap[group]), []).extend(parts)
        for group, parts in final.items():
            run = np.concatenate(parts)  # one group's values at a time
            n = np.array([len(run)])
            if self.statistic == "min":
                rank = 1
            elif self.statistic == "max":
                rank = len(run)
            else:
                pct = percentile_of(self.statistic)
                assert pct is not None
                rank = int(nearest_rank(pct, n)[0])
            value[group] = np.partition(run, rank - 1)[rank - 1]
            final[group] = []
        return GroupStats(value, counted, unmeasured)

    def _grow(self, size: int) -> None:
        if size <= len(self.total):
            return
        for name in ("total", "counted", "sums", "hits", "sample"):
            old = getattr(self, name)
            new = np.zeros(size, dtype=old.dtype)
            new[: len(old)] = old
            setattr(self, name, new)
