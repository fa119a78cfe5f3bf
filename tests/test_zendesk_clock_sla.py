"""Clock levels on Zendesk's metric events: ``where`` and ``by`` (only through a linked tickets
source), the targets Zendesk's SLA policies set (``apply_sla``) beside the contract's, and a
clock still running that is already past the contract's limit, counted the same way by the
level and by the reconciliation.

The pages (office hours Mon-Fri 09:00-17:00 UTC; 2 March 2026 is a Monday;
requester_wait_time, id = the ticket)::

    1  apply_sla Bronze 60 min (Mon 08:59), apply_sla Gold 120 min business hours
       (Mon 09:00, the last one: it counts); activate Mon 09:00, fulfill 10:00     office 1h
    2  apply_sla Gold 120 min; activate Mon 09:00, pause 10:00, activate 16:00,
       breach 16:30, fulfill Tue 10:00                                             office 3h
    3  apply_sla Silver 240 min, calendar hours; activate Mon 16:00,
       fulfill Tue 10:00                                                           office 2h
    4  no policy; activate Fri 6 Mar 16:00, fulfill Mon 9 Mar 11:00               office 3h
    5  no policy; activate Mon 2 Mar 09:00, never stopped: runs to the end of the data (Mon 9
       Mar 11:00): Mon-Fri 5 x 8h + Mon 9 09:00-11:00 2h                           office 42h
    6  no policy; activate Mon 9 Mar 10:30, runs to 11:00                          office 0.5h

The tickets source: 1 and 2 acme, 3 globex; 4, 5 and 6 are not in it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from slaengine.cli import main
from slaengine.clocks.zendesk import ZendeskTarget
from slaengine.contract import load_contract
from slaengine.engine import evaluate
from slaengine.fields import RECORD_KINDS
from slaengine.jsonschema import report_schema
from slaengine.plugin import SourceConfig
from slaengine.pluginmanager import build_registry
from slaengine.plugins.sources.zendesk import ZendeskSource
from slaengine.present import evaluation_to_dict
from slaengine.testing import write_records

H = 3600.0
WAIT = "requester_wait_time"

HEAD = """[contract]
id = "zd"
client = "Client"
vendor = "Vendor"
period = "month"
timezone = "UTC"

[sources.zd]
adapter = "zendesk"
kind = "metric_events"
path = "pages"
{link}
[sources.tickets]
adapter = "csv"
kind = "tickets"
path = "tickets.csv"

[calendars.office]
timezone = "UTC"
hours = {{ mon-fri = "09:00-17:00" }}

"""

_ids = iter(range(1, 100_000))


def event(ticket: int, type_: str, time: str, **more: Any) -> dict[str, Any]:
    return {"id": next(_ids), "ticket_id": ticket, "metric": WAIT, "instance_id": 1,
            "type": type_, "time": time, **more}


def sla(minutes: float, business: bool, title: str) -> dict[str, Any]:
    return {"sla": {"target": minutes, "business_hours": business,
                    "policy": {"id": 7, "title": title, "description": "d"}}}


EVENTS = [
    event(1, "apply_sla", "2026-03-02T08:59:00Z", **sla(60, True, "Bronze")),
    event(1, "apply_sla", "2026-03-02T09:00:00Z", **sla(120, True, "Gold")),
    event(1, "activate", "2026-03-02T09:00:00Z"),
    event(1, "fulfill", "2026-03-02T10:00:00Z"),
    event(2, "apply_sla", "2026-03-02T09:00:00Z", **sla(120, True, "Gold")),
    event(2, "activate", "2026-03-02T09:00:00Z"),
    event(2, "pause", "2026-03-02T10:00:00Z"),
    event(2, "activate", "2026-03-02T16:00:00Z"),
    event(2, "breach", "2026-03-02T16:30:00Z"),
    event(2, "fulfill", "2026-03-03T10:00:00Z"),
    event(3, "apply_sla", "2026-03-02T16:00:00Z", **sla(240, False, "Silver")),
    event(3, "activate", "2026-03-02T16:00:00Z"),
    event(3, "fulfill", "2026-03-03T10:00:00Z"),
    event(4, "activate", "2026-03-06T16:00:00Z"),
    event(4, "fulfill", "2026-03-09T11:00:00Z"),
    event(5, "activate", "2026-03-02T09:00:00Z"),
    event(6, "activate", "2026-03-09T10:30:00Z"),
]

TICKETS = [{"ticket_id": t, "created_at": "2026-03-02T09:00:00Z", "organization": o}
           for t, o in (("1", "acme"), ("2", "acme"), ("3", "globex"))]


def contract(tmp_path: Path, levels: str, link: bool = True,
             events: list[dict[str, Any]] = EVENTS) -> Path:
    pages = tmp_path / "pages"
    pages.mkdir(exist_ok=True)
    (pages / "page-001.json").write_text(json.dumps(
        {"ticket_metric_events": events, "next_page": None, "end_of_stream": True}))
    write_records(TICKETS, tmp_path / "tickets.csv")
    path = tmp_path / "contract.toml"
    path.write_text(HEAD.format(link='link = "tickets"\n' if link else "") + levels,
                    encoding="utf-8")
    return path


def level(target: str, extra: str = "", name: str = "x") -> str:
    return (f'[[service_levels]]\nid = "{name}"\nsource = "zd"\nmetric = "{WAIT}"\n'
            f'target = "{target}"\ncalendar = "office"\n' + extra)


def run(path: Path):
    registry = build_registry()
    return evaluate(load_contract(path, registry), registry)


def figures(evaluation, level_id: str = "x") -> list[tuple]:
    return [(dict(v.segment), v.value, v.sample_size, v.unmeasured, tuple(v.missed))
            for v in evaluation.verdicts if v.service_level == level_id]


def test_a_running_clock_past_the_limit_is_missed_and_breached_alike(tmp_path):
    found = run(contract(tmp_path, level("p90 <= 2h")))
    # Measured: 1 1h, 2 3h, 3 2h, 4 3h, and 5 (running, 42h > 2h: already a miss). 6 runs
    # with 0.5h: unmeasured. Sorted [1, 2, 3, 3, 42] h, rank ceil(0.9 * 5) = 5 -> 42h.
    # Missed named earliest first: 2 and 5 started 03-02 09:00 (then by id), 4 on 03-06.
    assert figures(found) == [({}, 42 * H, 5, 1, ("2", "5", "4"))]
    found_reconciled = found.levels["x"].reconciliation
    # The contract breaches exactly the records the level counts missed; Zendesk only 2.
    assert found_reconciled.contract_breached == 3
    assert found_reconciled.only_contract == ("4", "5")
    assert found_reconciled.only_zendesk == ()


def test_zendesk_targets_are_set_beside_the_contracts(tmp_path):
    path = contract(tmp_path, level("95% within 2h"))
    found = run(path).levels["x"].reconciliation
    # Last apply_sla of each clock: 1 Gold (not Bronze), 2 Gold, 3 Silver; 4, 5, 6 none.
    assert found.zendesk_targets == (
        ZendeskTarget("Gold", 2 * H, True, 2),
        ZendeskTarget("Silver", 4 * H, False, 1),
        ZendeskTarget(None, None, None, 3),
    )
    # Silver's 240 min is not the contract's 2h; a record without a policy has no target of
    # Zendesk's to compare.
    assert found.other_target == ("3",)
    report = json.loads(json.dumps(evaluation_to_dict(run(path)), default=str))
    shown = report["service_levels"]["x"]["reconciliation"]
    assert shown["zendesk_targets"][1] == {"policy": "Silver", "target_seconds": 4 * H,
                                           "business_hours": False, "records": 1}
    assert shown["other_target"] == ["3"]
    jsonschema.validate(report, report_schema())
    bad = json.loads(json.dumps(report))
    bad["service_levels"]["x"]["reconciliation"]["zendesk_targets"][0]["records"] = "2"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, report_schema())
    out = " ".join(CliRunner().invoke(main, ["evaluate", str(path)]).output.split())
    assert "Zendesk's target is not the contract's on 1 record" in out


def test_by_on_metric_events_takes_the_linked_tickets_fields(tmp_path):
    found = run(contract(tmp_path, level("95% within 2h", 'by = ["organization"]\n')))
    # acme: 1 (1h) met, 2 (3h) missed: 1 of 2. globex: 3 (2h) met. No ticket: 4 (3h) and 5
    # (running, past 2h) missed, 6 unmeasured: under attainment a miss, in the sample (3).
    assert [(s, float(v), n, u, m) for s, v, n, u, m in figures(found)] == [
        ({"organization": "acme"}, 0.5, 2, 0, ("2",)),
        ({"organization": "globex"}, 1.0, 1, 0, ()),
        # earliest first: 5 started 03-02, 4 on 03-06, 6 on 03-09
        ({"organization": None}, 0.0, 3, 1, ("5", "4", "6")),
    ]
    notes = run(contract(tmp_path, level("95% within 2h", 'by = ["organization"]\n'))).sources
    assert notes["zd"].notes == {
        "requester_wait_time records without a matching tickets record": 3}


@pytest.mark.parametrize(("extra", "key", "field"), [
    ('by = ["type"]\n', "service_levels[0].by", "type"),
    ('where = { metric = ["reply_time"] }\n', "service_levels[0].where", "metric"),
])
def test_a_field_the_clock_records_lack_is_a_contract_error(tmp_path, extra, key, field):
    path = contract(tmp_path, level("95% within 2h", extra), link=False)
    result = CliRunner().invoke(main, ["evaluate", str(path)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    text = " ".join(result.output.split())
    assert key in text and f'no field "{field}"' in text and 'service level "x"' in text
    assert "accepted:" in text and "ticket_id" in text and 'link = "tickets"' in text


def read(folder: Path, events: list[dict[str, Any]]):
    folder.mkdir(exist_ok=True)
    (folder / "page.json").write_text(json.dumps({"ticket_metric_events": events}))
    config = SourceConfig(name="zd", adapter="zendesk", path=folder, fields={}, options={},
                          timezone="UTC", kind=RECORD_KINDS["metric_events"])
    fields = ["ticket_id", "time", "metric", "instance_id", "type", "sla_target_seconds",
              "sla_business_hours", "sla_policy"]
    (batch,) = list(ZendeskSource().read(config, fields))
    return batch


def test_the_reader_takes_the_sla_object_and_rejects_a_negative_target(tmp_path):
    batch = read(tmp_path / "p", [
        event(1, "apply_sla", "2026-03-02T09:00:00Z", **sla(90, True, "Gold")),
        event(2, "apply_sla", "2026-03-02T09:00:00Z", **sla(-5, True, "Gold")),
        event(3, "activate", "2026-03-02T09:00:00Z"),
    ])
    # 90 min = 5400 s; the event without an sla object has none.
    assert batch.records.select(["sla_target_seconds", "sla_business_hours",
                                 "sla_policy"]).to_pylist() == [
        {"sla_target_seconds": 5400.0, "sla_business_hours": True, "sla_policy": "Gold"},
        {"sla_target_seconds": None, "sla_business_hours": None, "sla_policy": None},
    ]
    assert batch.read == 3 and batch.records.num_rows == 2
    (reject,) = batch.rejected.to_pylist()
    assert reject["row"] == 2 and reject["field"] == "sla_target_seconds"


def test_an_sla_that_is_not_an_object_is_a_data_error_naming_the_event(tmp_path):
    path = contract(tmp_path, level("95% within 2h"),
                    events=[*EVENTS, event(9, "apply_sla", "2026-03-02T09:00:00Z", sla="Gold")])
    result = CliRunner().invoke(main, ["evaluate", str(path)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert '"sla"' in result.output and "metric event 18" in result.output


def test_an_agreed_exclusion_on_a_field_the_clock_records_lack_is_a_contract_error(tmp_path):
    exclusion = ('[[exclusions]]\nreason = "outage"\nfrom = 2026-03-02\nto = 2026-03-03\n'
                 'where = { type = ["activate"] }\n\n')
    path = contract(tmp_path, exclusion + level("95% within 2h"), link=False)
    result = CliRunner().invoke(main, ["evaluate", str(path)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    text = " ".join(result.output.split())
    assert "exclusions[0].where" in text and 'no field "type"' in text
