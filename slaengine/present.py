"""An evaluation for people and programs: its JSON shape and the text every reporter shares.

The presentation floor. It reads the typed results (:class:`~slaengine.verdicts.Evaluation`,
:class:`~slaengine.credits.ledger.CreditSchedule`); the reporters, ``verify`` and the interface
read it. A reporter formats from the typed results through here: a figure is never written as
text and read back.

- :func:`evaluation_to_dict` -- the stable, documented JSON shape of an evaluation (what
  ``--format json`` writes and ``verify`` compares); :func:`schedule_to_dict` its credit part;
  :func:`report_json` that document as the report's text, its id lists written from Arrow.
- :func:`figure`, :func:`number` -- figures as JSON and CSV carry them: money as exact text, an
  exact fraction as the nearest float.
- :func:`format_value`, :func:`format_compliance`, :func:`format_margin` -- figures as people
  read them (defined in :mod:`slaengine.readable`, which the credit notes use too).
- :func:`format_money` -- an amount with thousands separators, its decimals kept exactly.
- :func:`format_schedule` -- the credit schedule as plain text; :func:`provisional_flag` says
  whether a flag concerns a period not over at ``--as-of``.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from json.encoder import encode_basestring as _encode_string  # JSON text of a str
from typing import TYPE_CHECKING, Any

from slaengine.lazy import pa, pc
from slaengine.readable import format_compliance, format_margin, format_value
from slaengine.verdicts import STATUSES, Ids

if TYPE_CHECKING:
    from slaengine.clocks.zendesk import Reconciliation
    from slaengine.credits.ledger import CreditLine, CreditSchedule, Flag, Totals
    from slaengine.verdicts import Evaluation, Verdict

__all__ = [
    "PROVISIONAL", "evaluation_to_dict", "figure", "format_compliance", "format_margin",
    "format_money", "format_schedule", "format_value", "number", "provisional_flag",
    "report_json", "schedule_to_dict",
]


# --------------------------------------------------------------------------- figures


def figure(value: float | Decimal | None) -> str | float | None:
    """A measured value as the JSON and CSV reports carry it: money (a Decimal) as its exact
    text, any other number as it is."""
    return str(value) if isinstance(value, Decimal) else value


def number(value: Fraction | float | None) -> float | None:
    """An exact figure (a compliance) as the JSON number it is written as: the float nearest
    to it."""
    return None if value is None else float(value)


def format_money(amount: Decimal, currency: str | None = None) -> str:
    """An amount as people read it, its decimals kept exactly: ``12,500.00``, or with the
    currency ``12,500.00 EUR``."""
    text = f"{amount:,}"
    return f"{text} {currency}" if currency else text


# --------------------------------------------------------------------------- the JSON shape


IdList = Callable[[Sequence[str]], Any]
"""How a list of record ids (a verdict's missed ids, an audit flag's tickets) enters the
document: ``list`` by default."""


def evaluation_to_dict(evaluation: Evaluation, ids: IdList = list) -> dict[str, Any]:
    """The stable, documented JSON shape of an evaluation (see the README).

    Durations are seconds, rates and compliance fractions 0-1, money strings. The shape's
    version is :data:`slaengine.jsonschema.REPORT_SCHEMA_VERSION`. ``ids`` makes each list of
    record ids (``list``: a list of strings; :func:`report_json` puts a placeholder there).
    """
    contract = evaluation.contract
    document = {
        "schema_version": 1,  # slaengine.jsonschema.REPORT_SCHEMA_VERSION: the report's shape
        "contract": {
            "id": contract.id, "client": contract.client, "vendor": contract.vendor,
            "period": contract.period, "timezone": contract.timezone,
            "currency": contract.currency, "monthly_fee": figure(contract.monthly_fee),
        },
        "manifest": evaluation.manifest,
        "summary": {status: evaluation.count(status) for status in STATUSES},
        "verdicts": [_verdict(v, ids) for v in evaluation.verdicts],
        "sources": {
            name: {"adapter": a.adapter, "path": a.path, "read": a.read, "accepted": a.accepted,
                   "rejected": a.rejected, "duplicates": a.duplicates,
                   "rejected_by_reason": a.rejected_by_reason,
                   **({"after_as_of": a.after_as_of} if a.after_as_of else {}),
                   **({"notes": a.notes} if a.notes else {})}
            for name, a in evaluation.sources.items()
        },
        "service_levels": {
            name: {"source": a.source, "accepted": a.accepted, "included": a.included,
                   "excluded": a.excluded, "outside_window": a.outside_window,
                   "agreed_exclusions": a.agreed,
                   **({"without_period": a.without_period} if a.without_period else {}),
                   **({"audit": [{"flag": f.flag, "period": f.period, "count": f.count,
                                  "tickets": ids(f.tickets),
                                  **({"segment": f.segment} if f.segment else {})}
                                 for f in a.audit]}
                      if a.audit else {}),
                   **({"reconciliation": _reconciliation(a.reconciliation)}
                      if a.reconciliation is not None else {})}
            for name, a in evaluation.levels.items()
        },
    }
    if evaluation.credits is not None:
        document.update(schedule_to_dict(evaluation.credits))
    return document


def _verdict(v: Verdict, ids: IdList = list) -> dict[str, Any]:
    return {
        "service_level": v.service_level, "metric": v.metric, "period": v.period,
        "segment": v.segment, "statistic": v.statistic, "value": figure(v.value),
        "unit": v.unit, "target": v.target, "minimum": v.minimum, "status": v.status,
        "compliance": number(v.compliance), "margin": v.margin,
        "sample_size": v.sample_size, "unmeasured": v.unmeasured, "excluded": v.excluded,
        "missed_count": v.missed_count, "missed": ids(v.missed), "paused": v.paused,
        **({"outlook": v.outlook} if v.outlook is not None else {}),
        **({"note": v.note} if v.note else {}),
        **({"provisional": True} if v.provisional else {}),
    }


# --------------------------------------------------------------------------- the JSON text


def report_json(evaluation: Evaluation,
                finish: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> str:
    """The JSON report's text: exactly ``json.dumps(strict_json(evaluation_to_dict(evaluation)),
    indent=2, ensure_ascii=False, allow_nan=False)`` and a newline, written faster.

    A report may name hundreds of thousands of record ids (a thousand per verdict). The
    document is dumped with a placeholder for each id list, then every list is written from
    the ids' Arrow arrays at once (escaped, quoted and joined by Arrow's string kernels), with
    no Python object per id. ``finish`` may change the document (not its id lists) before it is
    dumped (the manifest's paths relative to the report). Strict JSON: no NaN or Infinity.
    """
    lists = _IdLists()
    document = evaluation_to_dict(evaluation, ids=lists.add)
    if finish is not None:
        document = finish(document)
    out: list[str] = []
    _indented(document, out, "")
    return lists.fill("".join(out)) + "\n"


def _indented(value: Any, out: list[str], indent: str) -> None:
    """``value`` as ``json.dumps(strict_json(value), indent=2, ensure_ascii=False,
    allow_nan=False)`` writes it, appended to ``out`` piece by piece: the same text without
    the standard library's generators (several times faster on a report's thousands of
    figures). A float that is not finite is ``null``."""
    if isinstance(value, str):
        out.append(_encode_string(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, float):
        out.append(float.__repr__(value) if math.isfinite(value) else "null")
    elif isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        inner = indent + "  "
        lead = "{\n" + inner
        for key, item in value.items():
            out.append(lead + _encode_string(_key(key)) + ": ")
            _indented(item, out, inner)
            lead = ",\n" + inner
        out.append("\n" + indent + "}")
    elif isinstance(value, list | tuple):
        if not value:
            out.append("[]")
            return
        inner = indent + "  "
        lead = "[\n" + inner
        for item in value:
            out.append(lead)
            _indented(item, out, inner)
            lead = ",\n" + inner
        out.append("\n" + indent + "]")
    else:
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _key(key: Any) -> str:
    """A key as the standard library writes it: text as it is, a number or a constant as
    JSON text."""
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, bool):
        return {None: "null", True: "true", False: "false"}[key]
    if isinstance(key, int):
        return int.__repr__(key)
    if isinstance(key, float):
        return float.__repr__(key) if math.isfinite(key) else "null"
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")


class _IdLists:
    """Id lists set aside while a document is dumped: each is a placeholder string made of a
    random token no data can hold by chance and its number, replaced afterwards by the list's
    JSON text, indented where the placeholder stands."""

    def __init__(self) -> None:
        self.token = f"ids:{os.urandom(16).hex()}:"
        self.lists: list[Sequence[str]] = []

    def add(self, ids: Sequence[str]) -> str:
        self.lists.append(ids)
        return f"{self.token}{len(self.lists) - 1}"

    def fill(self, text: str) -> str:
        if not self.lists:
            return text
        found = list(re.finditer(f'"{re.escape(self.token)}(\\d+)"', text))
        arrays = [_id_array(self.lists[int(m.group(1))]) for m in found]
        # each placeholder is a value in an object: its line's indent is the object's
        indents = []
        for m in found:
            line = text.rfind("\n", 0, m.start()) + 1
            indents.append(" " * _spaces(text, line))
        rendered = _json_lists(arrays, indents)
        out, at = [], 0
        for m, written in zip(found, rendered, strict=True):
            out += [text[at:m.start()], written]
            at = m.end()
        out.append(text[at:])
        return "".join(out)


def _spaces(text: str, at: int) -> int:
    """How many spaces start ``text`` at ``at``."""
    end = at
    while text[end] == " ":
        end += 1
    return end - at


def _id_array(ids: Sequence[str]) -> pa.Array:
    """Ids as one Arrow text array (those of an :class:`~slaengine.verdicts.Ids` as they are)."""
    if isinstance(ids, Ids):
        return ids.array
    return pa.array([None if i is None else str(i) for i in ids], pa.string())


_JSON_ESCAPES = {"\\": "\\\\", '"': '\\"', "\b": "\\b", "\f": "\\f", "\n": "\\n",
                 "\r": "\\r", "\t": "\\t"}
"""JSON's short escapes (backslash first: the others add backslashes)."""


def _needs_escape(text: pa.Array) -> bool:
    """Whether any value holds a character JSON escapes (a quote, a backslash, a control
    character), from the bytes of the values: UTF-8 never uses these bytes inside another
    character."""
    from slaengine.lazy import np

    data = text.buffers()[2]
    if data is None or len(text) == 0:
        return False
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int32,
                            count=text.offset + len(text) + 1)[text.offset:]
    raw = np.frombuffer(data, dtype=np.uint8)[offsets[0]:offsets[-1]]
    return bool(((raw < 0x20) | (raw == 0x22) | (raw == 0x5C)).any())


def _json_escaped(text: pa.Array) -> pa.Array:
    """Each value escaped as ``json.dumps(value, ensure_ascii=False)`` writes it between its
    quotes: quotes, backslashes and control characters (Unicode kept)."""
    if not _needs_escape(text):
        return text
    for raw, escaped in _JSON_ESCAPES.items():
        text = pc.replace_substring(text, raw, escaped)
    for code in range(0x20):
        char = chr(code)
        if char not in _JSON_ESCAPES:
            text = pc.replace_substring(text, char, f"\\u{code:04x}")
    return text


def _json_lists(arrays: list[pa.Array], indents: list[str]) -> list[str]:
    """Lists of ids as ``json.dumps(..., indent=2)`` writes them inside an object indented by
    ``indents``: ``[]`` when empty, else one value a line. All lists are written at once: the
    values escaped, then each list joined by Arrow with its own separator (``",`` a newline,
    the indent and ``"``), so quoting costs nothing per id."""
    if not arrays:
        return []
    values = _json_escaped(pa.concat_arrays([a.cast(pa.string()) for a in arrays]))
    if values.null_count:  # no source accepts a record without an id; written as null
        values = pc.fill_null(pc.binary_join_element_wise('"', values, '"', ""), "null")
        quote, values = "", values
    else:
        quote = '"'
    offsets = pa.array([0, *_running([len(a) for a in arrays])], pa.int32())
    lists = pa.ListArray.from_arrays(offsets, values)
    separators = pa.array([f"{quote},\n{i}  {quote}" for i in indents], pa.string())
    joined = pc.binary_join(lists, separators).to_pylist()
    return [f"[\n{i}  {quote}{body}{quote}\n{i}]" if len(a) else "[]"
            for a, i, body in zip(arrays, indents, joined, strict=True)]


def _running(sizes: list[int]) -> list[int]:
    total, out = 0, []
    for size in sizes:
        total += size
        out.append(total)
    return out


def _line(line: CreditLine) -> dict[str, Any]:
    return {"period": line.period, "service_level": line.service_level,
            "amount": str(line.amount), "currency": line.currency, "rule": line.rule,
            "note": line.note, **({"provisional": True} if line.provisional else {})}


def _totals(t: Totals) -> dict[str, str]:
    return {"before_caps": str(t.before_caps), "capped": str(t.capped),
            "after_caps": str(t.after_caps), "earned_back": str(t.earned_back),
            "bonuses": str(t.bonus_total), "net": str(t.net)}


def schedule_to_dict(schedule: CreditSchedule) -> dict[str, Any]:
    """The JSON shape of a schedule, merged into the evaluation's document. Money is strings.

    ``credits``: every ledger line in order (signed; their sum per period is ``after_caps -
    earned_back``); ``bonuses``: the bonus lines (same shape); ``credit_totals``: per period;
    ``credit_years``: per contract year (``"year": "2026"``, or ``"2026/27"`` when contract
    years start on ``year_start`` other than ``"01-01"``); ``flags``; ``credit_exclusions``.

    With ``--as-of``, each line, bonus, period total and flag of a period not yet over carries
    ``"provisional": true``, and a year holding such periods carries its ``final`` and
    ``provisional`` parts (each with the six totals; they add up to the year's).
    """
    return {
        "penalties": {"model": schedule.model, "currency": schedule.currency,
                      "rounding": schedule.rounding.describe(),
                      "year_start": schedule.year_start,
                      "earn_back_order": schedule.earn_back_order},
        "credits": [_line(line) for line in schedule.credits],
        "bonuses": [_line(line) for line in schedule.bonuses],
        "credit_totals": [{"period": p.period, **_totals(p),
                           **({"provisional": True} if p.provisional else {})}
                          for p in schedule.periods],
        "credit_years": [{"year": y.year, **_totals(y),
                          **({"final": _totals(y.final), "provisional": _totals(y.provisional)}
                             if y.provisional is not None else {})}
                         for y in schedule.years],
        "flags": [{"kind": f.kind, "service_level": f.service_level, "periods": list(f.periods),
                   "note": f.note,
                   **({"provisional": True} if provisional_flag(schedule, f) else {})}
                  for f in schedule.flags],
        "credit_exclusions": [{"period": e.period, "service_level": e.service_level,
                               "reason": e.reason, "waived": str(e.waived)}
                              for e in schedule.exclusions],
    }


# --------------------------------------------------------------------------- the schedule as text


PROVISIONAL = "(provisional: the period was not over at --as-of)"
"""How the text schedule marks a provisional period, its totals and its flags."""


def provisional_flag(schedule: CreditSchedule, flag: Flag) -> bool:
    """Whether ``flag`` concerns a period of ``schedule`` not over at ``--as-of``."""
    return any(p.provisional and p.period in flag.periods for p in schedule.periods)


def _year_text(t: Totals) -> str:
    return (f"after caps {t.after_caps}, earned back {t.earned_back}, bonuses {t.bonus_total}, "
            f"net {t.net}")


def format_schedule(schedule: CreditSchedule) -> str:
    """The schedule as plain text, line by line, for a terminal or a text report."""
    years = "" if schedule.year_start == "01-01" else (
        f", contract years from {schedule.year_start}")
    out = [f"Service credits ({schedule.model}, {schedule.currency}, rounding "
           f"{schedule.rounding.describe()}{years})"]
    for p in schedule.periods:
        label = f"{p.period} {PROVISIONAL}" if p.provisional else p.period
        if not (p.lines or p.bonuses):
            out.append(f"{label}: no credits")
            continue
        out.append(f"{label}:")
        for line in [*p.lines, *p.bonuses]:
            out.append(f"  {line.amount:>12} {line.rule:<14} {line.service_level or '(period)'}"
                       f": {line.note}")
        out.append(f"  before caps {p.before_caps}, capped {p.capped}, after caps "
                   f"{p.after_caps}, earned back {p.earned_back}, bonuses {p.bonus_total}, "
                   f"net {p.net}" + (f" {PROVISIONAL}" if p.provisional else ""))
    for y in schedule.years:
        out.append(f"{y.year}: {_year_text(y)}")
        if y.provisional is not None:
            out.append(f"  of which final: {_year_text(y.final)}")
            out.append(f"  of which provisional: {_year_text(y.provisional)}")
    out.extend(f"! {f.kind}: {f.note}" + (f" {PROVISIONAL}" if provisional_flag(schedule, f)
                                          else "") for f in schedule.flags)
    out.extend(f"excluded {e.period} {e.service_level or '(every service level)'}: {e.reason}"
               f" (waived {e.waived})" for e in schedule.exclusions)
    return "\n".join(out)


def describe_outlook(outlook: Mapping[str, Any]) -> str:
    """An outlook (:mod:`slaengine.outlook`) in one sentence for people: ``needs 12 of the
    next ~40 records within target``."""
    elapsed = f"{outlook['elapsed'] * 100:.0f}% of the period elapsed"
    if "achievable" not in outlook:
        return elapsed
    remaining = outlook["remaining"]
    if "needed_within_target" in outlook:
        needed = outlook["needed_within_target"]
        if not outlook["achievable"]:
            return (f"{elapsed}; can no longer be met at this pace: needs {needed} within "
                    f"target but only ~{remaining} more records are expected")
        return f"{elapsed}; needs {needed} of the next ~{remaining} records within target"
    if not outlook["achievable"]:
        return f"{elapsed}; already over the limit for the period at this pace"
    return f"{elapsed}; can afford {outlook['allowance']} more of the next ~{remaining} records"


def _reconciliation(found: Reconciliation) -> dict[str, Any]:
    """Zendesk's breaches against the contract's, as the JSON report gives them."""
    return {"target_seconds": found.target_seconds,
            "zendesk_breached": found.zendesk_breached,
            "contract_breached": found.contract_breached,
            "only_zendesk": list(found.only_zendesk),
            "only_contract": list(found.only_contract),
            "zendesk_targets": [{"policy": t.policy, "target_seconds": t.target_seconds,
                                 "business_hours": t.business_hours, "records": t.records}
                                for t in found.zendesk_targets],
            "other_target": list(found.other_target)}
