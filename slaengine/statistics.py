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

import operator
from dataclasses import dataclass, field
from fractions import Fraction

from slaengine.bits import float_values, zero_where
from slaengine.lazy import np, pa, pc
from slaengine.targets import is_statistic, percentile_of
from slaengine.workers import Worker


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
    """Measures as float64 with NaN for nulls (booleans become 0/1); numpy input as it is.
    Read-only when an Arrow float64 array without nulls is read in place."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.Array):
        return float_values(values)
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


class Tally:
    """Per-group counters of one measure, fed batch by batch, serving every statistic asked of it.

    Several service levels often read the same measure of the same records (mean, median, p90
    and "95% within 1h" of one first response time): they share one tally, so each batch is
    counted once, and the measured values an order statistic needs are kept once, however many
    percentiles are asked of them. Ask with :meth:`want` (and :meth:`count_where` for a count
    of measures passing a threshold) before the first batch.

    Counts, sums and threshold counts are added up per group as batches arrive; only order
    statistics keep values: one float per measured record, stored per group, never the records.
    Group ids may grow from batch to batch; :meth:`finish` maps them onto the final groups.

    Tallies of parts of the same records (the partitions of a dataset, counted apart) add up
    with :meth:`merge`. Counts and kept values add up exactly in any order; sums of floats do
    not (float addition is not associative), so a tally may record its per-batch sums in
    ``steps`` (a list; None, the default, records nothing): adding them again in the order of
    the batches gives, bit for bit, the sums of one tally fed every batch in that order.
    """

    def __init__(self) -> None:
        self.size = 0
        self.total = np.zeros(0, dtype=np.int64)
        self.counted = np.zeros(0, dtype=np.int64)
        self.sums: np.ndarray | None = None
        self.sample: np.ndarray | None = None  # share: records with a known outcome
        self.wins: np.ndarray | None = None  # share: successes among them
        self.thresholds: dict[tuple[str, float], np.ndarray] = {}
        self.values: dict[int, list[np.ndarray]] | None = None
        self.orders: set[str] = set()
        self.steps: list[tuple[np.ndarray, np.ndarray]] | None = None
        self._finished: tuple[tuple[bytes, int], TallyResult] | None = None

    def want(self, statistic: str, within: float | None = None) -> None:
        """Make the tally able to give ``statistic`` (``within``: attainment's limit)."""
        if not is_statistic(statistic):
            raise ValueError(f"unknown statistic {statistic!r}")
        if statistic == "mean":
            self.sums = self._grown(self.sums, np.float64)
        elif statistic == "share":
            self.sample = self._grown(self.sample, np.int64)
            self.wins = self._grown(self.wins, np.int64)
        elif statistic == "attainment":
            if within is None:
                raise ValueError("attainment needs a per-record limit: within=SECONDS")
            self.count_where("<=", float(within))
        elif statistic in ("median", "min", "max") or percentile_of(statistic) is not None:
            self.orders.add(statistic)
            if self.values is None:
                self.values = {}

    def count_where(self, op: str, threshold: float) -> None:
        """Also count, per group, the measures ``x op threshold`` (``<``, ``<=``, ``>``, ``>=``)."""
        if op not in _COMPARE:
            raise ValueError(f"unknown comparison {op!r}")
        key = (op, float(threshold))
        if key not in self.thresholds:
            self.thresholds[key] = np.zeros(self.size, dtype=np.int64)

    def add(self, x: np.ndarray, groups: np.ndarray, success: np.ndarray | None = None,
            layout: Layout | None = None) -> None:
        """Add one batch: measures as float64 (NaN: not measured), a group id per record, and for
        ``share`` each record's outcome (1.0 success, 0.0 not, NaN unknown). ``layout`` is
        :meth:`Layout.of` ``groups``, when the caller shares one among several tallies."""
        if groups.shape != x.shape:
            raise ValueError(f"{groups.size} group ids for {x.size} values")
        if not groups.size:
            return
        layout = layout or Layout.of(groups)
        self._grow(int(layout.present[-1]) + 1)
        present, starts = layout.present, layout.starts
        xs = layout.arrange(x)
        measured = ~np.isnan(xs)

        few = len(present) <= _FEW_GROUPS
        bounds = list(zip(starts.tolist(), (starts + layout.counts).tolist(), strict=True))

        def count(bits: np.ndarray) -> np.ndarray:
            if few:  # a batch usually holds few groups: count each run directly
                return np.array([np.count_nonzero(bits[a:b]) for a, b in bounds],
                                dtype=np.int64)
            return np.add.reduceat(bits.view(np.uint8), starts, dtype=np.int64)

        self.total[present] += layout.counts
        counted = count(measured)
        self.counted[present] += counted
        if self.sample is not None and self.wins is not None:
            if success is None:
                raise ValueError("share needs success=: one outcome per record")
            if success is x:  # a yes/no measure is its own outcome: arranged already
                ok, known = xs, measured
            else:
                ok = layout.arrange(np.asarray(success, dtype=np.float64))
                known = measured & ~np.isnan(ok)
            self.sample[present] += count(known)
            self.wins[present] += count(known & (ok != 0))
        for (op, threshold), hits in self.thresholds.items():
            # NaN compares false: an unmeasured record never passes a threshold
            hits[present] += count(_COMPARE[op](xs, threshold))
        if self.sums is not None:
            filled = zero_where(xs, measured)
            if few:
                sums = np.array([filled[a:b].sum() for a, b in bounds], dtype=np.float64)
            else:
                sums = np.add.reduceat(filled, starts)
            self.sums[present] += sums
            if self.steps is not None:
                self.steps.append((present.copy(), sums))
        if self.values is not None:
            kept = xs[measured]  # still in group order
            cuts = np.cumsum(counted)
            for group, end, n in zip(present.tolist(), cuts.tolist(), counted.tolist(),
                                     strict=True):
                if n:
                    self.values.setdefault(group, []).append(kept[end - n:end])

    def merge(self, other: Tally, groups: np.ndarray) -> None:
        """Add ``other``'s counts, sums and kept values: ``groups[g]`` is this tally's group
        for ``other``'s group ``g`` (distinct ids). Both must have been asked for the same
        statistics. Sums are added as totals; for the sums of one tally fed every batch in
        order, add ``other.steps`` instead (see the class)."""
        if (other.orders != self.orders or set(other.thresholds) != set(self.thresholds)
                or (other.sums is None) != (self.sums is None)
                or (other.sample is None) != (self.sample is None)):
            raise ValueError("a tally merges only with one asked for the same statistics")
        groups = np.asarray(groups, dtype=np.int64)[: other.size]
        if len(groups) < other.size:
            raise ValueError(f"{len(groups)} group ids for a tally of {other.size} groups")
        if len(groups) and (groups.min() < 0 or len(np.unique(groups)) != len(groups)):
            raise ValueError("group ids must be distinct and not negative")
        self._grow(int(groups.max(initial=-1)) + 1)
        self._finished = None
        self.total[groups] += other.total[: len(groups)]
        self.counted[groups] += other.counted[: len(groups)]
        for name in ("sums", "sample", "wins"):
            mine, theirs = getattr(self, name), getattr(other, name)
            if mine is not None:
                mine[groups] += theirs[: len(groups)]
        for key, hits in other.thresholds.items():
            self.thresholds[key][groups] += hits[: len(groups)]
        if self.values is not None and other.values is not None:
            for group, parts in other.values.items():
                if group < len(groups):
                    self.values.setdefault(int(groups[group]), []).extend(parts)

    def finish(self, remap: np.ndarray, n_groups: int) -> TallyResult:
        """The figures per final group; ``remap[g]`` is the final group of accumulated group
        ``g`` (-1: dropped)."""
        self._grow(len(remap))
        remap = np.asarray(remap, dtype=np.int64)
        memo = (remap.tobytes(), n_groups)
        if self._finished is not None and self._finished[0] == memo:
            return self._finished[1]  # levels sharing the tally ask with the same groups
        kept = remap >= 0
        target = remap[kept]

        def merged(per_group: np.ndarray, dtype: type = np.int64) -> np.ndarray:
            return np.bincount(target, weights=per_group[: len(remap)][kept],
                               minlength=n_groups).astype(dtype)

        result = TallyResult(total=merged(self.total), counted=merged(self.counted))
        if self.sums is not None:
            result.sums = merged(self.sums, np.float64)
        if self.sample is not None and self.wins is not None:
            result.sample, result.wins = merged(self.sample), merged(self.wins)
        result.thresholds = {key: merged(hits) for key, hits in self.thresholds.items()}
        if self.values is not None:
            result.orders = {s: np.full(n_groups, np.nan) for s in self.orders}
            final: dict[int, list[np.ndarray]] = {}
            for group, parts in self.values.items():
                if group < len(remap) and remap[group] >= 0:
                    final.setdefault(int(remap[group]), []).extend(parts)
            _select(final, self.orders, result.orders)
        self._finished = (memo, result)
        return result

    def _grow(self, size: int) -> None:
        if size <= self.size:
            return
        self.size = size
        self.total = self._grown(self.total, np.int64)
        self.counted = self._grown(self.counted, np.int64)
        for name in ("sums", "sample", "wins"):
            old = getattr(self, name)
            if old is not None:
                setattr(self, name, self._grown(old, old.dtype))
        self.thresholds = {k: self._grown(v, np.int64) for k, v in self.thresholds.items()}

    def _grown(self, old: np.ndarray | None, dtype: type) -> np.ndarray:
        new = np.zeros(self.size, dtype=dtype)
        if old is not None:
            new[: len(old)] = old
        return new


_FEW_GROUPS = 16
_SPLIT_SELECTION = 1_000_000  # values from which the selection is shared with a second thread


def _select(runs: dict[int, list[np.ndarray]], statistics: set[str],
            out: dict[str, np.ndarray]) -> None:
    """Each order statistic of each group's values, into ``out[statistic][group]``.

    One group's values are joined at a time and every rank asked of them is selected in one
    ``np.partition``. The selection runs when reading is over and releases the interpreter
    lock, so above a million values the groups are shared with one more thread: the core that
    read the data would otherwise sit idle.
    """
    def work(groups: list[int]) -> None:
        for group in groups:
            run = np.concatenate(runs[group])
            runs[group] = []
            ranks = {s: _rank(s, len(run)) for s in statistics}
            run.partition(sorted({r - 1 for r in ranks.values()}))
            for statistic, rank in ranks.items():
                out[statistic][group] = run[rank - 1]

    sizes = {group: sum(len(part) for part in parts) for group, parts in runs.items()}
    if sum(sizes.values()) < _SPLIT_SELECTION or len(sizes) < 2:
        work(list(sizes))
        return
    halves: tuple[list[int], list[int]] = ([], [])
    loads = [0, 0]
    for group in sorted(sizes, key=sizes.__getitem__, reverse=True):  # largest first
        lighter = 0 if loads[0] <= loads[1] else 1
        halves[lighter].append(group)
        loads[lighter] += sizes[group]
    other = Worker(lambda _stop: work(halves[1]), "slaengine-select")
    try:
        work(halves[0])
    except BaseException:
        other.close()  # waits for the other half; this error is the one raised
        raise
    other.join()


@dataclass
class Layout:
    """How one batch's records fall into groups, shared by the tallies that count them:
    ``order`` lists the records group by group (stable; None when they already are, as when a
    batch holds one group), ``present`` the groups with records, ascending, ``starts`` where
    each begins in that order and ``counts`` how many it has."""

    order: np.ndarray | None
    present: np.ndarray
    starts: np.ndarray
    counts: np.ndarray

    @classmethod
    def of(cls, groups: np.ndarray) -> Layout:
        """The layout of ``groups`` (non-negative ids, small: periods x segments)."""
        counts = np.bincount(groups)
        present = np.flatnonzero(counts)
        counts = counts[present]
        starts = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.intp)
        order = None
        if len(present) > 1 and not _ascending(groups):  # in order already: nothing to sort
            small = groups.astype(np.int16 if present[-1] < 2**15 else np.int64)
            order = pc.sort_indices(pa.array(small)).to_numpy()  # Arrow's stable radix sort
        return cls(order, present, starts, counts)

    def arrange(self, values: np.ndarray) -> np.ndarray:
        """``values`` (one per record) in group order."""
        return values if self.order is None else values[self.order]


def _ascending(groups: np.ndarray) -> bool:
    """Whether ``groups`` never decreases (records in time order grouped by period alone):
    a stable sort would leave them as they are. A short look at the start settles most
    batches that are not."""
    head = groups[:64]
    if (head[1:] < head[:-1]).any():
        return False
    return bool((groups[1:] >= groups[:-1]).all())


# On arrays these are numpy's element-wise comparisons (np.less, ...).
_COMPARE = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def _rank(statistic: str, n: int) -> int:
    """The 1-based rank an order statistic takes among ``n`` sorted values."""
    if statistic == "min":
        return 1
    if statistic == "max":
        return n
    pct = percentile_of(statistic)
    assert pct is not None
    return int(nearest_rank(pct, np.array([n]))[0])


@dataclass
class TallyResult:
    """What a :class:`Tally` counted, per final group (arrays of length ``n_groups``)."""

    total: np.ndarray
    counted: np.ndarray
    sums: np.ndarray | None = None
    sample: np.ndarray | None = None
    wins: np.ndarray | None = None
    thresholds: dict[tuple[str, float], np.ndarray] = field(default_factory=dict)
    orders: dict[str, np.ndarray] = field(default_factory=dict)

    def stats(self, statistic: str, within: float | None = None) -> GroupStats:
        """``statistic`` per group, as :func:`group_statistic` gives it."""
        total, counted = self.total, self.counted
        unmeasured = total - counted
        if statistic == "count":
            return GroupStats(total.astype(np.float64), total, unmeasured)
        if statistic == "mean":
            assert self.sums is not None, "the tally was not asked for a mean"
            return GroupStats(_ratio(self.sums, counted), counted, unmeasured)
        if statistic == "share":
            assert self.sample is not None and self.wins is not None
            return GroupStats(_ratio(self.wins, self.sample), self.sample,
                              total - self.sample, self.wins)
        if statistic == "attainment":
            assert within is not None
            hits = self.thresholds[("<=", float(within))]
            return GroupStats(_ratio(hits, total), total, unmeasured, hits)
        return GroupStats(self.orders[statistic], counted, unmeasured)


class GroupAccumulator:
    """A :class:`Tally` asked for one statistic: :func:`group_statistic` fed batch by batch."""

    def __init__(self, statistic: str, within: float | None = None) -> None:
        self.statistic = statistic
        self.within = within
        self.tally = Tally()
        self.tally.want(statistic, within)

    def add(
        self,
        values: pa.Array | pa.ChunkedArray | np.ndarray,
        groups: np.ndarray,
        success: pa.Array | pa.ChunkedArray | np.ndarray | None = None,
    ) -> None:
        """Add one batch: a measure and a group id per record (and success for ``share``)."""
        if self.statistic == "share" and success is None:
            raise ValueError("share needs success=: one boolean per record")
        self.tally.add(as_float(values), np.asarray(groups, dtype=np.int64),
                       None if success is None else as_float(success))

    def finish(self, remap: np.ndarray, n_groups: int) -> GroupStats:
        """The statistic per final group; ``remap[g]`` is the final group of accumulated ``g``."""
        return self.tally.finish(remap, n_groups).stats(self.statistic, self.within)
