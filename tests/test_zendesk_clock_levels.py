"""Clock levels measured on Zendesk's own metric events, end to end: a zendesk source of kind
``metric_events`` feeds a level such as ``requester_wait_time``; each record is Zendesk's clock
measured again under the level's calendar, and the level's account reconciles Zendesk's breaches
with the contract's (results, JSON report, table reporter).

The pages (written below; office hours Mon-Fri 09:00-17:00 UTC, 2 March 2026 is a Monday):

    requester_wait_time   (ticket clock: id = the ticket)
      1  activate Mon 09:00, fulfill Mon 10:00                    office 1h
      2  activate Mon 09:00, pause 10:00, activate 16:00,
         breach 16:30, fulfill Tue 10:00                          office 1h + 1h + 1h = 3h
      3  activate Mon 16:00, breach Mon 18:00, fulfill Tue 10:00  office 1h + 1h = 2h
      4  activate Fri 6 Mar 16:00, breach (deleted),
         fulfill Mon 9 Mar 11:00                                  office 1h + 2h = 3h
    reply_time            (instance clock: id = TICKET#N)
      1#1 activate Mon 09:00, breach 11:00, fulfill Mon 13:00     office 4h
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from slaengine.cli import main
from slaengine.clocks.zendesk import Reconciliation, ZendeskTarget
from slaengine.contract import load_contract
from slaengine.engine import evaluate
from slaengine.jsonschema import report_schema
from slaengine.pluginmanager import build_registry
from slaengine.present import evaluation_to_dict

H = 3600.0

HEAD = """[contract]
id = "zd"
client = "Client"
vendor = "Vendor"
period = "month"
timezone = "UTC"
{window}
[sources.zd]
adapter = "zendesk"
kind = "{kind}"
path = "pages"

[calendars.office]
timezone = "UTC"
hours = {{ mon-fri = "09:00-17:00" }}
"""

_ids = iter(range(1, 10_000))


def event(ticket: int, metric: str, type_: str, time: str, instance: int = 1,
          **more: Any) -> dict[str, Any]:
    return {"id": next(_ids), "ticket_id": ticket, "metric": metric, "instance_id": instance,
            "type": type_, "time": time, **more}


WAIT = "requester_wait_time"
EVENTS = [
    event(1, WAIT, "activate", "2026-03-02T09:00:00Z"),
    event(1, WAIT, "fulfill", "2026-03-02T10:00:00Z"),
    event(1, "reply_time", "activate", "2026-03-02T09:00:00Z"),
    event(1, "reply_time", "breach", "2026-03-02T11:00:00Z"),
    event(1, "reply_time", "fulfill", "2026-03-02T13:00:00Z"),
    event(2, WAIT, "activate", "2026-03-02T09:00:00Z"),
    event(2, WAIT, "pause", "2026-03-02T10:00:00Z"),
    event(2, WAIT, "activate", "2026-03-02T16:00:00Z"),
    event(2, WAIT, "breach", "2026-03-02T16:30:00Z"),
    event(2, WAIT, "fulfill", "2026-03-03T10:00:00Z"),
    event(3, WAIT, "activate", "2026-03-02T16:00:00Z"),
    event(3, WAIT, "breach", "2026-03-02T18:00:00Z"),
    event(3, WAIT, "fulfill", "2026-03-03T10:00:00Z"),
    event(4, WAIT, "activate", "2026-03-06T16:00:00Z"),
    event(4, WAIT, "breach", "2026-03-07T10:00:00Z", deleted=True),
    event(4, WAIT, "fulfill", "2026-03-09T11:00:00Z"),
]


def contract(tmp_path: Path, levels: str, kind: str = "metric_events", window: str = "",
             events: list[dict[str, Any]] = EVENTS) -> Path:
    pages = tmp_path / "pages"
    pages.mkdir(exist_ok=True)
    half = len(events) // 2  # two pages, a clock's events spread across both
    for n, part in enumerate((events[:half], events[half:]), start=1):
        (pages / f"page-{n:03}.json").write_text(json.dumps(
            {"ticket_metric_events": part, "next_page": None, "end_of_stream": n == 2}))
    path = tmp_path / "contract.toml"
    path.write_text(HEAD.format(window=window, kind=kind) + levels, encoding="utf-8")
    return path


def level(metric: str, target: str, name: str = "x", calendar: str = "office") -> str:
    return (f'[[service_levels]]\nid = "{name}"\nmetric = "{metric}"\ntarget = "{target}"\n'
            f'calendar = "{calendar}"\n')


def run(path: Path, **options: Any):
    registry = build_registry()
    return evaluate(load_contract(path, registry), registry, **options)


def figures(evaluation, level_id: str = "x") -> list[tuple]:
    return [(v.period, v.value, v.sample_size, v.unmeasured, tuple(v.missed))
            for v in evaluation.verdicts if v.service_level == level_id]


def test_a_clock_level_evaluates_zendesk_metric_events(tmp_path: Path) -> None:
    found = run(contract(tmp_path, level(WAIT, "95% within 2h")))
    # Office seconds: 1 -> 1h, 2 -> 3h, 3 -> 2h (exactly the limit meets it), 4 -> 3h.
    # Attainment 2 of 4 = 50 %; missed 2 and 4. Ticket 1's reply clock is not this level's.
    ((period, value, sample, unmeasured, missed),) = figures(found)
    assert (period, sample, unmeasured, missed) == ("2026-03", 4, 0, ("2", "4"))
    assert float(value) == pytest.approx(0.5)
    account = found.levels["x"]
    assert account.accepted == 4  # Zendesk's clocks of this name, not its events
    assert account.audit == ()  # metric events hold no ticket history to audit


def test_a_zendesk_source_of_kind_events_reads_metric_events(tmp_path: Path) -> None:
    path = contract(tmp_path, level(WAIT, "95% within 2h"), kind="events")
    registry = build_registry()
    assert load_contract(path, registry).sources["zd"].kind == "metric_events"
    found = run(path)
    assert [f[2:] for f in figures(found)] == [(4, 0, ("2", "4"))]
    assert found.levels["x"].reconciliation.only_zendesk == ("3",)


def test_the_level_reconciles_zendesk_breaches_with_the_contract(tmp_path: Path) -> None:
    found = run(contract(tmp_path, level(WAIT, "95% within 2h")))
    # Zendesk breached 2 and 3 (4's breach was deleted); the contract (> 2h office) 2 and 4.
    # No apply_sla event: Zendesk set no target on any of the 4 records.
    assert found.levels["x"].reconciliation == Reconciliation(
        zendesk_breached=2, contract_breached=2, only_zendesk=("3",), only_contract=("4",),
        target_seconds=2 * H, zendesk_targets=(ZendeskTarget(None, None, None, 4),))


def test_a_duration_threshold_is_the_contracts_per_record_limit(tmp_path: Path) -> None:
    found = run(contract(tmp_path, level(WAIT, "p90 <= 1h") + level("reply_time", "p90 <= 5h",
                                                                    name="reply")))
    # > 1h office: 2 (3h), 3 (2h), 4 (3h); Zendesk: 2 and 3.
    none = ZendeskTarget(None, None, None, 4)  # no apply_sla: no target of Zendesk's
    assert found.levels["x"].reconciliation == Reconciliation(2, 3, (), ("4",), 1 * H, (none,))
    # Reply 1#1: 4h office, within 5h; Zendesk breached it (2h of its own clock).
    assert found.levels["reply"].reconciliation == Reconciliation(
        1, 0, ("1#1",), (), 5 * H, (ZendeskTarget(None, None, None, 1),))
    assert figures(found, "reply") == [("2026-03", 4 * H, 1, 0, ())]


def test_only_the_windows_records_are_reconciled(tmp_path: Path) -> None:
    window = "start = 2026-04-01\n"
    late = [*EVENTS, event(9, WAIT, "activate", "2026-04-01T09:00:00Z"),
            event(9, WAIT, "fulfill", "2026-04-01T09:30:00Z")]
    found = run(contract(tmp_path, level(WAIT, "95% within 2h"), window=window, events=late))
    # Only ticket 9 (April, 30 min, no breach on either side) is inside the window.
    assert found.levels["x"].reconciliation == Reconciliation(
        0, 0, (), (), 2 * H, (ZendeskTarget(None, None, None, 1),))
    assert found.levels["x"].outside_window == 4


def test_the_json_report_and_the_table_show_the_reconciliation(tmp_path: Path) -> None:
    path = contract(tmp_path, level(WAIT, "95% within 2h"))
    report = evaluation_to_dict(run(path))
    assert report["service_levels"]["x"]["reconciliation"] == {
        "target_seconds": 2 * H, "zendesk_breached": 2, "contract_breached": 2,
        "only_zendesk": ["3"], "only_contract": ["4"],
        "zendesk_targets": [{"policy": None, "target_seconds": None, "business_hours": None,
                             "records": 4}],
        "other_target": []}
    jsonschema.validate(json.loads(json.dumps(report, default=str)), report_schema())
    out = CliRunner().invoke(main, ["evaluate", str(path), "--format", "table"])
    assert "zendesk x: 2 breached by Zendesk, 2 by the contract, 2 differ" in out.output
