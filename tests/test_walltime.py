"""walltime.to_utc: the same instants as Arrow's assume_timezone, skipped and repeated hours
included, in zones with odd changes (half-hour DST, a skipped day)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slaengine.walltime import to_utc

ZONES = ["America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata",
         "America/Santiago", "Pacific/Apia", "UTC"]
START = int(np.datetime64("2010-01-01", "us").astype(np.int64))
YEARS_US = 16 * 365 * 86_400 * 1_000_000


def arrow(local: np.ndarray, zone: str) -> np.ndarray:
    naive = pa.array(local, pa.timestamp("us"))
    aware = pc.assume_timezone(naive, zone, ambiguous="earliest", nonexistent="earliest")
    return aware.cast(pa.int64()).to_numpy()


@pytest.mark.parametrize("zone", ZONES)
def test_every_quarter_hour_of_sixteen_years(zone: str) -> None:
    local = START + np.arange(0, YEARS_US, 15 * 60 * 1_000_000, dtype=np.int64)
    np.testing.assert_array_equal(to_utc(local, zone), arrow(local, zone))


def test_new_york_changes_by_hand() -> None:
    # 2026-03-08 02:30 does not exist in New York: the last instant before the gap,
    # 06:59:59.999999Z;
    # 2026-11-01 01:30 happens twice: the first, still daylight time (-4h), 05:30Z.
    local = np.array(["2026-03-08T02:30", "2026-11-01T01:30", "2026-07-01T12:00"],
                     dtype="datetime64[us]").astype(np.int64)
    expected = np.array(["2026-03-08T06:59:59.999999", "2026-11-01T05:30", "2026-07-01T16:00"],
                        dtype="datetime64[us]").astype(np.int64)
    np.testing.assert_array_equal(to_utc(local, "America/New_York"), expected)


@settings(max_examples=60, deadline=None)
@given(zone=st.sampled_from(ZONES),
       offsets=st.lists(st.integers(0, YEARS_US), min_size=1, max_size=50))
def test_random_wall_times_agree_with_arrow(zone: str, offsets: list[int]) -> None:
    local = START + np.array(offsets, dtype=np.int64)
    np.testing.assert_array_equal(to_utc(local, zone), arrow(local, zone))
