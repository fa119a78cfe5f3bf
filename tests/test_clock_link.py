"""Clock levels on a source of events linked to a tickets source: the linked fields in
``where`` and ``by`` (the history's own value first, the ticket's where the history never set
one), ``as_of`` (fields at the record's start or end), audit flags inside the level's
selection and per segment, in the JSON report and the evidence, and running records already
past their limit counted as missed.

The history (24x7, UTC; the end of the data is T4's last event, Thu 8 Jan 09:30)::

    T1  created Mon 5 Jan 09:00 (no priority in the history), answered 10:00      T1#1 1h
        priority -> urgent 10:30; requester 11:00, answered 14:00; solved          T1#2 3h
    T2  created Tue 6 Jan 09:00 with priority low; priority -> urgent 11:00;
        answered 12:00; solved                                                     T2#1 3h
    T3  created Wed 7 Jan 09:00 (no priority); priority -> low 20:00; never
        answered: runs to Thu 8 Jan 09:30                                          T3#1 24.5h
    T4  created Thu 8 Jan 09:00, answered 09:30; solved                            T4#1 0.5h

The tickets source: T1 normal/acme, T2 high/globex, T3 high/acme; T4 is not in it.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from slaengine.cli import main
from slaengine.contract import load_contract
from slaengine.engine import evaluate
from slaengine.jsonschema import report_schema
from slaengine.pluginmanager import build_registry
from slaengine.present import evaluation_to_dict
from slaengine.testing import created, prioritised, said, status, write_records

H = 3600.0

HEAD = """[contract]
id = "c"
client = "Client"
vendor = "Vendor"
period = "month"
timezone = "UTC"

[sources.events]
adapter = "csv"
kind = "events"
path = "events.csv"
{link}
[sources.tickets]
adapter = "csv"
kind = "tickets"
path = "tickets.csv"

"""


HISTORY = [
    created("T1", "2026-01-05T09:00:00Z"),
    said("T1", "2026-01-05T10:00:00Z", "agent"),
    prioritised("T1", "2026-01-05T10:30:00Z", "urgent"),
    said("T1", "2026-01-05T11:00:00Z", "requester"),
    said("T1", "2026-01-05T14:00:00Z", "agent"),
    status("T1", "2026-01-05T14:00:00Z", "solved"),
    created("T2", "2026-01-06T09:00:00Z", "low"),
    prioritised("T2", "2026-01-06T11:00:00Z", "urgent"),
    said("T2", "2026-01-06T12:00:00Z", "agent"),
    status("T2", "2026-01-06T12:00:00Z", "solved"),
    created("T3", "2026-01-07T09:00:00Z"),
    prioritised("T3", "2026-01-07T20:00:00Z", "low"),
    created("T4", "2026-01-08T09:00:00Z"),
    said("T4", "2026-01-08T09:30:00Z", "agent"),
    status("T4", "2026-01-08T09:30:00Z", "solved"),
]

TICKETS = [
    {"ticket_id": "T1", "created_at": "2026-01-05T09:00:00Z", "priority": "normal",
     "organization": "acme"},
    {"ticket_id": "T2", "created_at": "2026-01-06T09:00:00Z", "priority": "high",
     "organization": "globex"},
    {"ticket_id": "T3", "created_at": "2026-01-07T09:00:00Z", "priority": "high",
     "organization": "acme"},
]


def contract(tmp_path: Path, levels: str, history: list[dict] = HISTORY,
             tickets: list[dict] = TICKETS, link: bool = True) -> Path:
    write_records(history, tmp_path / "events.csv")
    write_records(tickets, tmp_path / "tickets.csv")
    path = tmp_path / "contract.toml"
    head = HEAD.format(link='link = "tickets"\n' if link else "")
    path.write_text(head + levels, encoding="utf-8")
    return path


def level(metric: str, target: str, extra: str = "", name: str = "x") -> str:
    return (f'[[service_levels]]\nid = "{name}"\nsource = "events"\nmetric = "{metric}"\n'
            f'target = "{target}"\n' + extra)


def run(path: Path, **options):
    registry = build_registry()
    return evaluate(load_contract(path, registry), registry, **options)


def figures(evaluation, level_id: str = "x") -> list[tuple]:
    return [(dict(v.segment), v.value, v.sample_size, v.unmeasured, tuple(v.missed))
            for v in evaluation.verdicts if v.service_level == level_id]


def test_by_a_field_only_the_tickets_have_takes_the_ticket_value(tmp_path):
    found = run(contract(tmp_path, level("reply_time", "p90 <= 2h",
                                         'by = ["organization"]\n')))
    # acme: T1#1 1h, T1#2 3h, T3#1 24.5h (running, already past 2h: measured and missed);
    # sorted [1, 3, 24.5] h, rank ceil(0.9 * 3) = 3 -> 24.5h. globex: T2#1 3h. T4 has no
    # ticket: no organization, its own segment (0.5h, met).
    assert figures(found) == [
        ({"organization": "acme"}, 24.5 * H, 3, 0, ("T1#2", "T3#1")),
        ({"organization": "globex"}, 3 * H, 1, 0, ("T2#1",)),
        ({"organization": None}, 0.5 * H, 1, 0, ()),
    ]
    notes = found.sources["events"].notes
    assert notes == {"reply_time records without a matching tickets record": 1}


def test_a_field_both_have_is_the_historys_first_and_the_tickets_where_never_set(tmp_path):
    found = run(contract(tmp_path, level("reply_time", "p90 <= 2h", 'by = ["priority"]\n')))
    # At each record's start: T1#1 none yet -> the ticket's normal; T1#2 urgent (10:30);
    # T2#1 low (its created event; the ticket says high: the history wins); T3#1 none yet ->
    # the ticket's high; T4#1 none anywhere.
    assert figures(found) == [
        ({"priority": "high"}, 24.5 * H, 1, 0, ("T3#1",)),
        ({"priority": "low"}, 3 * H, 1, 0, ("T2#1",)),
        ({"priority": "normal"}, 1 * H, 1, 0, ()),
        ({"priority": "urgent"}, 3 * H, 1, 0, ("T1#2",)),
        ({"priority": None}, 0.5 * H, 1, 0, ()),
    ]


def test_as_of_end_reads_the_fields_at_the_records_end(tmp_path):
    found = run(contract(tmp_path, level("reply_time", "p90 <= 2h",
                                         'by = ["priority"]\nas_of = "end"\n')))
    # At each record's end (after every event of that instant): T1#1 ends 10:00, before the
    # 10:30 change -> normal (the ticket's); T1#2 urgent; T2#1 ends 12:00, urgent since
    # 11:00; T3#1 still runs: the end of the data, low since 20:00. Urgent [3, 3] h -> 3h.
    assert figures(found) == [
        ({"priority": "low"}, 24.5 * H, 1, 0, ("T3#1",)),
        ({"priority": "normal"}, 1 * H, 1, 0, ()),
        ({"priority": "urgent"}, 3 * H, 2, 0, ("T1#2", "T2#1")),
        ({"priority": None}, 0.5 * H, 1, 0, ()),
    ]


def test_where_on_a_linked_field_and_a_running_record_past_the_limit(tmp_path):
    acme = 'where = { organization = ["acme"] }\n'
    found = run(contract(tmp_path, level("reply_time", "95% within 2h", acme)))
    # acme: T1#1 1h met, T1#2 3h missed, T3#1 running 24.5h > 2h: measured and missed.
    # Attainment 1 / 3.
    ((segment, value, sample, unmeasured, missed),) = figures(found)
    assert segment == {}
    assert (sample, unmeasured, missed) == (3, 0, ("T1#2", "T3#1"))
    assert float(value) == pytest.approx(1 / 3)
    assert found.levels["x"].excluded == 2  # T2#1 (globex), T4#1 (no organization)
    # Under a 48h limit T3#1's 24.5h so far decide nothing yet: it stays unmeasured.
    wide = run(contract(tmp_path, level("reply_time", "p90 <= 48h", acme)))
    assert [f[2:4] for f in figures(wide)] == [(2, 1)]


def test_evidence_shows_a_running_record_counted_as_missed(tmp_path):
    found = run(contract(tmp_path, level("reply_time", "p90 <= 2h")), evidence=True)
    rows = {r["id"]: r for r in found.evidence["x"].to_pylist()}
    assert rows["T3#1"]["running"] is True and rows["T3#1"]["overdue"] is True
    assert rows["T3#1"]["measure"] == 24.5 * H
    assert rows["T1#2"]["overdue"] is False


# Audit: P1 (acme) and P2 (globex) are set pending with the requester's message unanswered;
# P3 (globex) is reopened by the requester an hour after its solve. P1's pending came after
# 30 min of requester wait: within the 15 min grace before a 40 min target.
AUDITED = [
    created("P1", "2026-01-12T09:00:00Z"),
    status("P1", "2026-01-12T09:30:00Z", "pending"),
    created("P2", "2026-01-12T09:00:00Z"),
    status("P2", "2026-01-12T10:00:00Z", "pending"),
    created("P3", "2026-01-12T09:00:00Z"),
    status("P3", "2026-01-12T10:00:00Z", "solved"),
    said("P3", "2026-01-12T11:00:00Z", "requester"),
    status("P3", "2026-01-12T11:00:00Z", "open"),
]
AUDITED_TICKETS = [
    {"ticket_id": t, "created_at": "2026-01-12T09:00:00Z", "priority": "normal",
     "organization": o} for t, o in (("P1", "acme"), ("P2", "globex"), ("P3", "globex"))
]


def audit(found, level_id: str = "x") -> list[tuple]:
    return [(a.flag, a.period, a.segment, a.count, a.tickets)
            for a in found.levels[level_id].audit]


def test_audit_flags_are_counted_per_segment_of_by(tmp_path):
    path = contract(tmp_path, level("requester_wait_time", "p90 <= 40min",
                                    'by = ["organization"]\n'), AUDITED, AUDITED_TICKETS)
    found = run(path)
    acme, globex = {"organization": "acme"}, {"organization": "globex"}
    # In flag order, then period, then segment (sorted by value).
    assert audit(found) == [
        ("paused_unanswered", "2026-01", acme, 1, ("P1",)),
        ("paused_unanswered", "2026-01", globex, 1, ("P2",)),
        ("paused_near_target", "2026-01", acme, 1, ("P1",)),
        ("quick_reopen", "2026-01", globex, 1, ("P3",)),
    ]
    shown = " ".join(CliRunner().invoke(main, ["evaluate", str(path)]).output.split())
    assert ("audit x: 2 set pending while the requester waited for an answer (1 period, "
            "2 segments)") in shown
    report = json.loads(json.dumps(evaluation_to_dict(found), default=str))
    assert report["service_levels"]["x"]["audit"][0] == {
        "flag": "paused_unanswered", "period": "2026-01", "count": 1, "tickets": ["P1"],
        "segment": {"organization": "acme"}}
    jsonschema.validate(report, report_schema())


def test_audit_flags_outside_the_levels_where_are_not_counted(tmp_path):
    path = contract(tmp_path, level("requester_wait_time", "p90 <= 40min",
                                    'where = { organization = ["globex"] }\n'),
                    AUDITED, AUDITED_TICKETS)
    # Only P2 and P3 are globex tickets: P1's two flags are left out.
    assert audit(run(path)) == [
        ("paused_unanswered", "2026-01", {}, 1, ("P2",)),
        ("quick_reopen", "2026-01", {}, 1, ("P3",)),
    ]


def test_audit_flags_follow_a_field_of_the_history_at_the_flags_instant(tmp_path):
    # P2 becomes urgent at 09:45, before its 10:00 pending; P3 is urgent from 10:30, after
    # its solve and before its reopen at 11:00; P1 never is (the ticket's normal).
    history = [*AUDITED, prioritised("P2", "2026-01-12T09:45:00Z", "urgent"),
               prioritised("P3", "2026-01-12T10:30:00Z", "urgent")]
    path = contract(tmp_path, level("requester_wait_time", "p90 <= 8h",
                                    'where = { priority = ["urgent"] }\n'), history,
                    AUDITED_TICKETS)
    assert audit(run(path)) == [
        ("paused_unanswered", "2026-01", {}, 1, ("P2",)),
        ("quick_reopen", "2026-01", {}, 1, ("P3",)),
    ]


def read_csv(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_evidence_lists_every_audit_flag_with_its_segment(tmp_path):
    path = contract(tmp_path, level("requester_wait_time", "p90 <= 40min",
                                    'by = ["organization"]\n'), AUDITED, AUDITED_TICKETS)
    folder = tmp_path / "ev"
    result = CliRunner().invoke(main, ["evaluate", str(path), "--evidence", str(folder)])
    assert result.exit_code in (0, 1), result.output
    index = read_csv(folder / "index.csv")
    (named,) = [r for r in index if r["status"] == "audit"]
    assert (named["service_level"], named["file"], named["records"]) == ("x", "x/audit.csv",
                                                                          "4")
    rows = read_csv(folder / "x" / "audit.csv")
    assert [(r["flag"], r["period"], json.loads(r["segment"]), r["ticket_id"], r["at"][:16],
             r["record"]) for r in rows] == [
        ("paused_unanswered", "2026-01", {"organization": "acme"}, "P1", "2026-01-12 09:30",
         ""),
        ("paused_unanswered", "2026-01", {"organization": "globex"}, "P2",
         "2026-01-12 10:00", ""),
        ("paused_near_target", "2026-01", {"organization": "acme"}, "P1", "2026-01-12 09:00",
         "P1"),
        ("quick_reopen", "2026-01", {"organization": "globex"}, "P3", "2026-01-12 11:00", ""),
    ]


@pytest.mark.parametrize(("extra", "words"), [
    ('as_of = "later"\n', '"later" is not accepted'),
    ("as_of = 1\n", "as_of"),
])
def test_a_bad_as_of_is_a_contract_error_naming_the_key(tmp_path, extra, words):
    path = contract(tmp_path, level("reply_time", "p90 <= 2h", extra))
    result = CliRunner().invoke(main, ["evaluate", str(path)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "service_levels[0].as_of" in result.output and words in result.output


def test_as_of_on_a_metric_that_is_not_a_clock_is_a_contract_error(tmp_path):
    levels = ('[[service_levels]]\nid = "t"\nsource = "tickets"\n'
              'metric = "first_response_time"\ntarget = "p90 <= 2h"\nas_of = "end"\n')
    path = contract(tmp_path, levels)
    result = CliRunner().invoke(main, ["evaluate", str(path)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "service_levels[0].as_of" in result.output and "not a clock" in result.output


def test_a_linked_field_without_a_link_is_a_contract_error(tmp_path):
    path = contract(tmp_path, level("reply_time", "p90 <= 2h", 'by = ["organization"]\n'),
                    link=False)
    result = CliRunner().invoke(main, ["evaluate", str(path)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "service_levels[0].by" in result.output and "organization" in result.output


def test_a_field_both_kinds_have_but_the_tickets_file_lacks_is_the_historys_alone(tmp_path):
    tickets = [{k: v for k, v in t.items() if k != "priority"} for t in TICKETS]
    found = run(contract(tmp_path, level("reply_time", "p90 <= 2h", 'by = ["priority"]\n'),
                         tickets=tickets))
    # No fallback to read: T1#1 and T3#1 (nothing set at their start) join T4#1 in the
    # empty segment: [1, 24.5, 0.5] h sorted [0.5, 1, 24.5], rank 3 -> 24.5h.
    assert figures(found) == [
        ({"priority": "low"}, 3 * H, 1, 0, ("T2#1",)),
        ({"priority": "urgent"}, 3 * H, 1, 0, ("T1#2",)),
        ({"priority": None}, 24.5 * H, 3, 0, ("T3#1",)),
    ]
