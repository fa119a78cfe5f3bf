"""Tallies counted in parts and merged equal one tally fed every batch (no Spark needed)."""

from __future__ import annotations

import numpy as np
import pytest

from slaengine.statistics import Tally

STATISTICS = ("mean", "median", "p90", "min", "max", "share", "count")


def _tally(steps: bool = False) -> Tally:
    tally = Tally()
    for statistic in STATISTICS:
        tally.want(statistic)
    tally.want("attainment", 3600.0)
    tally.count_where(">", 7200.0)
    if steps:
        tally.steps = []
    return tally


def _batches(seed: int = 7) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Ten batches of measures (some NaN: unmeasured) over 5 groups, with outcomes."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(10):
        n = int(rng.integers(0, 400))
        x = rng.exponential(3000.0, n) + rng.random(n) / 3  # sums that round differently
        x[rng.random(n) < 0.1] = np.nan
        groups = rng.integers(0, 5, n)
        success = np.where(rng.random(n) < 0.2, np.nan, (rng.random(n) < 0.7) * 1.0)
        out.append((x, groups, success))
    return out


def test_merged_parts_equal_one_tally_bit_for_bit():
    batches = _batches()
    whole = _tally()
    for x, groups, success in batches:
        whole.add(x, groups, success)
    # Two parts, each numbering its groups its own way, counted out of order.
    merged = _tally()
    steps = []
    for offset, part in ((5, batches[5:]), (0, batches[:5])):  # offset: the first's number
        tally = _tally(steps=True)
        for x, groups, success in part:
            tally.add(x, 4 - groups, success)  # group g is 4 - g in the part
        renumber = np.array([4, 3, 2, 1, 0])  # the part's group -> the merged tally's group
        merged.merge(tally, renumber)
        steps += [(offset + i, renumber[present], sums)
                  for i, (present, sums) in enumerate(tally.steps)]
    # Sums added again in the order of the batches: the very floats of one tally.
    merged.sums[:] = 0.0
    for _, groups, sums in sorted(steps, key=lambda s: s[0]):
        merged.sums[groups] += sums
    remap = np.arange(5)
    a, b = whole.finish(remap, 5), merged.finish(remap, 5)
    for statistic in STATISTICS:
        left, right = a.stats(statistic), b.stats(statistic)
        np.testing.assert_array_equal(left.value, right.value)
        np.testing.assert_array_equal(left.sample_size, right.sample_size)
        np.testing.assert_array_equal(left.unmeasured, right.unmeasured)
    np.testing.assert_array_equal(a.sums.view(np.int64), b.sums.view(np.int64))  # bit for bit
    for key in a.thresholds:
        np.testing.assert_array_equal(a.thresholds[key], b.thresholds[key])
    assert a.total.sum() == sum(len(x) for x, _, _ in batches)


def test_merge_grows_to_the_groups_named():
    mine, other = Tally(), Tally()
    for tally in (mine, other):
        tally.want("p90")
    other.add(np.array([1.0, 2.0, 3.0]), np.array([0, 1, 1]))
    mine.merge(other, np.array([6, 2]))
    result = mine.finish(np.arange(7), 7)
    # group 6 holds [1.0]; group 2 holds [2.0, 3.0]: p90 rank ceil(0.9 * 2) = 2 -> 3.0
    assert result.orders["p90"][6] == 1.0 and result.orders["p90"][2] == 3.0
    assert result.total.tolist() == [0, 0, 2, 0, 0, 0, 1]


@pytest.mark.parametrize("other_wants", ["mean", "p95", "share"])
def test_merge_refuses_a_tally_asked_for_other_statistics(other_wants):
    mine, other = Tally(), Tally()
    mine.want("p90")
    other.want("p90")
    other.want(other_wants)
    with pytest.raises(ValueError, match="same statistics"):
        mine.merge(other, np.array([0]))


def test_merge_refuses_repeated_or_missing_group_ids():
    mine, other = Tally(), Tally()
    other.add(np.array([1.0, 2.0]), np.array([0, 1]))
    with pytest.raises(ValueError, match="distinct"):
        mine.merge(other, np.array([3, 3]))
    with pytest.raises(ValueError, match="1 group ids for a tally of 2"):
        mine.merge(other, np.array([3]))
