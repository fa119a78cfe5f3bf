"""Two lanes fold a source's batches side by side: the same report as one lane, bit for bit,
on every example contract; the levels that share state in one lane; an error of either lane
raised on the reading thread, and no thread left behind."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

import slaengine
from slaengine.contract import load_contract
from slaengine.engine import lanes
from slaengine.engine.lanes import Lanes, split
from slaengine.engine.levels import PeriodInput
from slaengine.engine.plan import plan
from slaengine.engine.record import RecordLevel
from slaengine.errors import DataError
from slaengine.pluginmanager import build_registry
from slaengine.plugins.sources.arrow import ArrowSource
from slaengine.plugins.sources.csv import CsvSource
from slaengine.testing import report_differences, without_run_facts

CONTRACTS = sorted((Path(__file__).resolve().parent.parent / "contracts").glob("*.toml"))


@pytest.fixture(scope="module")
def registry():
    return build_registry()


@pytest.mark.parametrize("path", CONTRACTS, ids=lambda p: p.stem)
def test_two_lanes_give_the_report_of_one(path: Path, registry, monkeypatch) -> None:
    # small batches: many of them, each folded by both lanes
    monkeypatch.setattr(CsvSource, "batch_rows", 257)
    monkeypatch.setattr(ArrowSource, "batch_rows", 257)
    monkeypatch.setattr(lanes.os, "cpu_count", lambda: 2)  # two lanes on any machine
    splits: list[tuple[int, int]] = []

    def split_seen(levels):
        own, other = split(levels)
        splits.append((len(own), len(other)))
        return own, other

    monkeypatch.setattr(lanes, "split", split_seen)
    reports = []
    for enabled in (False, True):
        monkeypatch.setattr(lanes, "ENABLED", enabled)
        reports.append(without_run_facts(slaengine.evaluate(path).to_dict()))
    assert report_differences(*reports) == []
    assert reports[0]["verdicts"]
    if path.stem.startswith("isp-helpdesk"):  # sixteen levels on one source: two lanes
        assert all(own and other for own, other in splits)


def test_levels_sharing_state_share_a_lane(registry) -> None:
    contract = load_contract(CONTRACTS[[p.stem for p in CONTRACTS].index("isp-helpdesk")],
                             registry)
    streamed, _ = plan(contract, registry, False)
    levels = streamed["tickets"]
    own, other = split(levels)
    assert own and other and len(own) + len(other) == len(levels)

    def lane_of(level) -> int:
        return 0 if any(level is x for x in own) else 1

    for a in levels:
        for b in levels:
            if isinstance(a, RecordLevel) and isinstance(b, RecordLevel) and (
                    a.share_key == b.share_key):
                assert lane_of(a) == lane_of(b)  # one tally
            if isinstance(a, PeriodInput) and isinstance(b, PeriodInput) and (
                    a.period_level is b.period_level):
                assert lane_of(a) == lane_of(b)


class _Failing:
    """A level whose batches fail on the lane it runs on."""

    def __init__(self, fails: bool) -> None:
        self.fails = fails
        self.seen = 0

    def add(self, batch) -> None:
        self.seen += 1
        if self.fails and self.seen == 2:
            raise DataError("the second batch is bad")


def test_an_error_of_the_first_lane_is_raised_at_once(monkeypatch) -> None:
    levels = [_Failing(True), _Failing(False)]
    monkeypatch.setattr(lanes, "split", lambda given: ([given[0]], [given[1]]))
    before = threading.active_count()
    fed = Lanes(levels)
    assert fed.other == [levels[1]]
    fed.add(object())  # type: ignore[arg-type]
    with pytest.raises(DataError, match="second batch"):
        fed.add(object())  # type: ignore[arg-type]
    fed.close()
    assert threading.active_count() == before
    assert levels[0].seen == 2  # the other lane may have folded none, one or both: abandoned
    assert levels[1].seen <= 2


def test_an_error_of_the_second_lane_is_raised_by_finish_and_stops_it(monkeypatch) -> None:
    levels = [_Failing(False), _Failing(True)]
    monkeypatch.setattr(lanes, "split", lambda given: ([given[0]], [given[1]]))
    before = threading.active_count()
    fed = Lanes(levels)
    for _ in range(3):
        fed.add(object())  # type: ignore[arg-type]
    with pytest.raises(DataError, match="second batch"):
        fed.finish()
    fed.close()
    assert threading.active_count() == before
    assert [level.seen for level in levels] == [3, 2]  # nothing folded after the error
