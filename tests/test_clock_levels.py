"""Service levels on event clocks, end to end: records derived from the whole events source,
then evaluated like any per-record level (period by the record's start, ``where`` and ``by`` on
the fields as they stood at the start, running records unmeasured, ``--as-of``, evidence)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from slaengine.cli import main
from slaengine.contract import load_contract
from slaengine.engine import evaluate
from slaengine.engine.plan import plan
from slaengine.errors import DataError
from slaengine.pluginmanager import build_registry
from slaengine.testing import created, prioritised, said, status, write_records

HEAD = """[contract]
id = "c"
client = "Client"
vendor = "Vendor"
period = "month"
timezone = "UTC"
{window}
[sources.events]
adapter = "csv"
kind = "events"
path = "events.csv"

[calendars.office]
timezone = "UTC"
hours = {{ mon-fri = "09:00-17:00" }}
"""


# A1: normal, answered after 1h; raised to urgent at 10:30; the follow-up at 11:00 (urgent at
#     its start) answered at 14:00 (3h); solved at 14:00.
# A2: urgent, a first reply after 2h; the follow-up of Jan 31 23:00 is answered Feb 1 01:00:
#     it belongs to January, where it started. Then waits on the requester, never solved.
HISTORY = [
    created("A1", "2026-01-05T09:00:00Z", "normal"),
    said("A1", "2026-01-05T09:00:00Z", "requester"),
    said("A1", "2026-01-05T10:00:00Z", "agent"),
    prioritised("A1", "2026-01-05T10:30:00Z", "urgent"),
    said("A1", "2026-01-05T11:00:00Z", "requester"),
    said("A1", "2026-01-05T14:00:00Z", "agent"),
    status("A1", "2026-01-05T14:00:00Z", "solved"),
    created("A2", "2026-01-31T20:00:00Z", "urgent"),
    said("A2", "2026-01-31T20:00:00Z", "requester"),
    said("A2", "2026-01-31T22:00:00Z", "agent"),
    said("A2", "2026-01-31T23:00:00Z", "requester"),
    said("A2", "2026-02-01T01:00:00Z", "agent"),
    status("A2", "2026-02-01T01:00:00Z", "pending"),
    said("A2", "2026-02-03T12:00:00Z", "agent", public=False),
]
H = 3600.0


def contract(tmp_path: Path, levels: str, history: list[dict] | None = None,
             window: str = "") -> Path:
    write_records(HISTORY if history is None else history, tmp_path / "events.csv")
    path = tmp_path / "contract.toml"
    path.write_text(HEAD.format(window=window) + levels, encoding="utf-8")
    return path


def run(path: Path, **options):
    registry = build_registry()
    return evaluate(load_contract(path, registry), registry, **options)


def level(metric: str, target: str, extra: str = "", name: str = "x") -> str:
    return (f'[[service_levels]]\nid = "{name}"\nmetric = "{metric}"\ntarget = "{target}"\n'
            + extra)


def figures(evaluation, level_id: str = "x") -> list[tuple]:
    return [(v.period, dict(v.segment), v.value, v.sample_size, v.unmeasured, tuple(v.missed))
            for v in evaluation.verdicts if v.service_level == level_id]


def test_a_record_belongs_to_the_period_it_started_in(tmp_path):
    found = run(contract(tmp_path, level("next_reply_time", "mean <= 2h")))
    # A1#2 11:00 -> 14:00 = 3h; A2#2 Jan 31 23:00 -> Feb 1 01:00 = 2h: both January.
    # February has no clock record starting in it, so no verdict.
    assert figures(found) == [("2026-01", {}, 2.5 * H, 2, 0, ())]
    assert found.levels["x"].accepted == 2  # clock records, not events


def test_period_by_the_event_time_is_the_start(tmp_path):
    same = run(contract(tmp_path, level("next_reply_time", "mean <= 2h", 'period_by = "at"\n')))
    assert figures(same) == [("2026-01", {}, 2.5 * H, 2, 0, ())]


def test_by_and_where_read_the_priority_as_it_stood_at_the_start(tmp_path):
    found = run(contract(tmp_path, level("reply_time", "p90 <= 2h", 'by = ["priority"]\n')))
    # A1#1 (normal at 09:00) 1h; A1#2 (urgent since 10:30) 3h; A2#1 urgent 2h; A2#2 urgent 2h.
    # Urgent sorted [2, 2, 3] h, rank ceil(0.9 * 3) = 3 -> 3h, missed A1#2.
    assert figures(found) == [
        ("2026-01", {"priority": "normal"}, 1 * H, 1, 0, ()),
        ("2026-01", {"priority": "urgent"}, 3 * H, 3, 0, ("A1#2",)),
    ]
    where = run(contract(tmp_path, level("reply_time", "mean <= 2h",
                                         'where = { priority = ["normal"] }\n')))
    assert figures(where) == [("2026-01", {}, 1 * H, 1, 0, ())]
    assert where.levels["x"].excluded == 3


def test_running_clocks_are_unmeasured_and_as_of_cuts_the_history(tmp_path):
    path = contract(tmp_path, level("requester_wait_time", "p90 <= 8h"))
    found = run(path)
    # A1 new 09:00 -> solved 14:00 = 5h; A2 pending since Feb 1, never solved: running.
    assert figures(found)[0][2:5] == (5 * H, 1, 1)
    # As of Jan 5 12:00 nothing was solved yet: A1 runs, A2 does not exist; the 9 events
    # after that instant are left out and counted.
    early = run(path, as_of=datetime(2026, 1, 5, 12, tzinfo=UTC))
    assert figures(early) == [("2026-01", {}, None, 0, 1, ())]
    assert early.sources["events"].after_as_of == 9


def test_evidence_names_the_clock_records_that_missed(tmp_path):
    found = run(contract(tmp_path, level("next_reply_time", "95% within 150min")),
                evidence=True)
    rows = found.evidence["x"].to_pylist()
    assert [(r["id"], r["ticket_id"], r["instance"], r["measure"]) for r in rows] == [
        ("A1#2", "A1", 2, 3 * H)]
    assert rows[0]["started_at"] == datetime(2026, 1, 5, 11, tzinfo=UTC)
    assert rows[0]["ended_at"] == datetime(2026, 1, 5, 14, tzinfo=UTC)


def test_the_calendar_counts_business_time_only(tmp_path):
    urgent = 'calendar = "office"\nwhere = { priority = ["urgent"] }\n'
    found = run(contract(tmp_path, level("reply_time", "mean <= 2h", urgent)))
    # Office hours Mon-Fri 09-17 UTC: A1#2 11:00 -> 14:00 = 3h; A2#1 and A2#2 fall on
    # Saturday 31 January and Sunday 1 February: 0 s each. Mean (3 + 0 + 0) / 3 = 1h.
    assert figures(found) == [("2026-01", {}, 1 * H, 3, 0, ())]


def test_the_window_leaves_out_records_started_outside_it(tmp_path):
    path = contract(tmp_path, level("reply_time", "mean <= 2h"),
                    window='start = 2026-02-01\nend = 2026-02-28\n')
    found = run(path)
    assert figures(found) == []
    assert found.levels["x"].outside_window == 4


def test_clock_levels_hold_the_source_and_are_not_streamed(tmp_path):
    registry = build_registry()
    path = contract(tmp_path, level("agent_work_time", "mean <= 2h"))
    streamed, keep = plan(load_contract(path, registry), registry, evidence=False)
    assert streamed == {}
    assert keep["events"][:6] == ["ticket_id", "at", "event", "status", "author", "public"]


@pytest.mark.parametrize(("bad", "words"), [
    (said("A1", "2026-01-05T12:00:00Z", "agent") | {"author": None}, "names its author"),
    (said("A1", "2026-01-05T12:00:00Z", "agent") | {"public": None}, "whether it is public"),
    (status("A1", "2026-01-05T12:00:00Z", "open") | {"status": None}, "names the status"),
])
def test_a_history_the_clocks_cannot_read_is_a_data_error_naming_the_source(tmp_path, bad,
                                                                             words):
    path = contract(tmp_path, level("reply_time", "mean <= 2h"), [*HISTORY, bad])
    with pytest.raises(DataError) as caught:
        run(path)
    assert words in caught.value.message and "'events'" in caught.value.message
    result = CliRunner().invoke(main, ["evaluate", str(path)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert words in result.output


# B1: created 09:00 by the requester; pending 10:00 (answered privately only), open again
#     12:00 when the requester writes back; solved 15:00. B2: created 09:00, solved 10:00.
PAUSED = [
    created("B1", "2026-01-05T09:00:00Z", "normal"),
    said("B1", "2026-01-05T09:00:00Z", "requester"),
    status("B1", "2026-01-05T10:00:00Z", "pending"),
    said("B1", "2026-01-05T12:00:00Z", "requester"),
    status("B1", "2026-01-05T12:00:00Z", "open"),
    status("B1", "2026-01-05T15:00:00Z", "solved"),
    created("B2", "2026-01-05T09:00:00Z", "normal"),
    status("B2", "2026-01-05T10:00:00Z", "solved"),
]


def test_evidence_writes_the_spans_of_every_missed_clock_record(tmp_path):
    path = contract(tmp_path, level("requester_wait_time", "100% within 2h"), PAUSED)
    found = run(path, evidence=True)
    # B1: running 09:00-10:00 (1h), paused in pending 10:00-12:00, running 12:00-15:00 (3h):
    # 4h > 2h, missed. B2: 09:00-10:00, 1h, met: it has no spans in the evidence.
    t = lambda hour: datetime(2026, 1, 5, hour, tzinfo=UTC)  # noqa: E731
    assert found.intervals["x"].to_pylist() == [
        {"id": "B1", "start": t(9), "end": t(10), "state": "running", "event": "created",
         "seconds": 1 * H},
        {"id": "B1", "start": t(10), "end": t(12), "state": "paused",
         "event": "status:pending", "seconds": 0.0},
        {"id": "B1", "start": t(12), "end": t(15), "state": "running", "event": "status:open",
         "seconds": 3 * H},
    ]
    folder = tmp_path / "ev"
    result = CliRunner().invoke(main, ["evaluate", str(path), "--evidence", str(folder)])
    assert result.exit_code in (0, 1), result.output
    index = read_csv(folder / "index.csv")
    # B1 set pending at 10:00 with the requester's 09:00 message unanswered: one audit flag,
    # in a file of its own that the index names with the status "audit".
    assert [(r["file"], r["status"], r["records"], r["intervals"]) for r in index] == [
        ("x/2026-01.csv", "breached", "1", "x/2026-01.intervals.csv"),
        ("x/audit.csv", "audit", "1", "")]
    spans = read_csv(folder / "x" / "2026-01.intervals.csv")
    assert [(r["id"], r["state"], r["event"], float(r["seconds"])) for r in spans] == [
        ("B1", "running", "created", 3600.0), ("B1", "paused", "status:pending", 0.0),
        ("B1", "running", "status:open", 10800.0)]
    assert [r["start"][:19] for r in spans] == [
        "2026-01-05 09:00:00", "2026-01-05 10:00:00", "2026-01-05 12:00:00"]
    records = read_csv(folder / "x" / "2026-01.csv")
    assert sum(float(r["seconds"]) for r in spans) == float(records[0]["measure"]) == 4 * H


def test_spans_follow_the_records_file_of_each_segment_and_a_still_running_span_is_open(
        tmp_path):
    history = [*PAUSED, prioritised("B3", "2026-01-05T09:00:00Z", "urgent"),
               status("B3", "2026-01-05T09:30:00Z", "hold")]
    path = contract(tmp_path, level("agent_work_time", "100% within 2h", 'by = ["priority"]\n'),
                    history)
    # agent work runs in new and open only. B1 4h (as above) missed, normal; B3 (urgent, no
    # created event: created at its first event 09:00) runs 09:00-09:30, on hold to the end of
    # the data (15:00): never solved, so unmeasured and counted as missed.
    found = run(path, evidence=True)
    spans = found.intervals["x"].to_pylist()
    assert [(s["id"], s["state"], s["seconds"]) for s in spans] == [
        ("B1", "running", 1 * H), ("B1", "paused", 0.0), ("B1", "running", 3 * H),
        ("B3", "running", 1800.0), ("B3", "paused", 0.0)]
    assert spans[-1]["end"] is None
    folder = tmp_path / "ev"
    CliRunner().invoke(main, ["evaluate", str(path), "--evidence", str(folder)])
    index = {r["segment"]: r for r in read_csv(folder / "index.csv")}
    normal = read_csv(folder / index['{"priority": "normal"}']["intervals"])
    urgent = read_csv(folder / index['{"priority": "urgent"}']["intervals"])
    assert {r["id"] for r in normal} == {"B1"} and {r["id"] for r in urgent} == {"B3"}
    assert [r["end"] for r in urgent] == ["2026-01-05 09:30:00.000000Z", ""]


def read_csv(path: Path) -> list[dict]:
    import csv
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_the_level_accounts_audit_flags_per_period_with_their_tickets(tmp_path):
    history = [
        *PAUSED,
        # C1 (February): the requester writes, pending 40 min later unanswered; the requester
        # writes and it reopens an hour after the solve. The pending came at 40 min counted.
        created("C1", "2026-02-02T09:00:00Z", "normal"),
        status("C1", "2026-02-02T09:40:00Z", "pending"),
        status("C1", "2026-02-02T10:00:00Z", "solved"),
        said("C1", "2026-02-02T11:00:00Z", "requester"),
        status("C1", "2026-02-02T11:00:00Z", "open"),
        status("C1", "2026-02-02T12:00:00Z", "solved"),
    ]
    extra = 'options = { grace = "25min" }\n'
    found = run(contract(tmp_path, level("requester_wait_time", "p90 <= 1h", extra), history))
    # January: B1 pending at 10:00 with the requester's 09:00 message unanswered. B1's pause
    # came at 1h counted: not below the 1h target. February: C1 pending unanswered at 09:40,
    # 40 min counted, within [35, 60) min; reopened by the requester 1h after the solve.
    assert [(a.flag, a.period, a.count, a.tickets) for a in found.levels["x"].audit] == [
        ("paused_unanswered", "2026-01", 1, ("B1",)),
        ("paused_unanswered", "2026-02", 1, ("C1",)),
        ("paused_near_target", "2026-02", 1, ("C1",)),
        ("quick_reopen", "2026-02", 1, ("C1",)),
    ]
    narrow = run(contract(tmp_path, level("requester_wait_time", "p90 <= 1h",
                                          'options = { grace = "15min" }\n'), history))
    assert "paused_near_target" not in {a.flag for a in narrow.levels["x"].audit}


def test_a_grace_that_is_not_a_duration_is_a_contract_error(tmp_path):
    path = contract(tmp_path, level("reply_time", "p90 <= 1h", 'options = { grace = "15" }\n'))
    result = CliRunner().invoke(main, ["evaluate", str(path)])
    assert result.exit_code == 2 and "grace" in result.output and "Traceback" not in result.output


def test_audit_flags_reach_the_json_report_valid_by_its_schema_and_a_table_line(tmp_path):
    import json

    import jsonschema

    from slaengine.jsonschema import report_schema
    from slaengine.present import evaluation_to_dict

    history = [*PAUSED,
               created("C1", "2026-01-06T09:00:00Z"), status("C1", "2026-01-06T10:00:00Z",
                                                             "pending")]
    path = contract(tmp_path, level("requester_wait_time", "p90 <= 8h"), history)
    found = run(path)
    # B1 and C1 set pending with the requester's message unanswered, both January.
    report = json.loads(json.dumps(evaluation_to_dict(found), default=str))
    assert report["service_levels"]["x"]["audit"] == [
        {"flag": "paused_unanswered", "period": "2026-01", "count": 2, "tickets": ["B1", "C1"]}]
    jsonschema.validate(report, report_schema())
    bad = json.loads(json.dumps(report))
    bad["service_levels"]["x"]["audit"][0]["flag"] = "forged"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, report_schema())
    shown = CliRunner().invoke(main, ["evaluate", str(path)]).output
    assert "audit x: 2 set pending while the requester waited for an answer (1 period)" in shown


def test_a_history_built_for_a_test_is_what_the_csv_source_delivers(tmp_path):
    """slaengine.testing's history rows, written to CSV and read by the csv source, are the
    table events_table makes of them: the same values, the same canonical types."""
    from slaengine.engine import read_source
    from slaengine.testing import events_table

    path = contract(tmp_path, level("reply_time", "mean <= 2h"))
    registry = build_registry()
    loaded = load_contract(path, registry)
    names = ["ticket_id", "at", "event", "status", "author", "public", "priority"]
    read = read_source(loaded, loaded.sources["events"], names, registry).records
    assert read.num_rows == len(HISTORY)
    expected = events_table(HISTORY)
    assert read.schema == expected.schema
    assert read.to_pylist() == expected.to_pylist()
