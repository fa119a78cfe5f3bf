"""The checks of ``[[service_levels]]`` entries: source, metric and its options, inputs, target
and minimum in the unit of the statistic, ``where`` and ``by`` fields, calendar, ``period_by``
and pauses."""

from __future__ import annotations

from typing import Any

from slaengine import schema as contract_schema
from slaengine.contract.model import ServiceLevel, SourceSpec
from slaengine.contract.problems import ProblemList
from slaengine.errors import KeyPath, did_you_mean
from slaengine.fields import RECORD_KINDS, RecordKind
from slaengine.plugin import PAUSE_FIELDS, DerivedMetric, Metric, PeriodMetric
from slaengine.targets import Target, TargetError, parse_target

# A statistic's result is in one of these units; the target must be written in the same one.
TARGET_UNITS = {"duration": "duration", "rate": "rate", "score": "number", "points": "number",
                "count": "number", "money": "number"}
TARGET_EXAMPLES = {"duration": '"p90 <= 4h"', "rate": '">= 85%"', "number": '">= 4.2"'}


def statistic_unit(statistic: str, metric: Metric) -> str:
    """The unit of ``statistic`` applied to ``metric``'s measures, or ValueError if it makes
    no sense (a percentile of yes/no outcomes, a share of durations)."""
    if isinstance(metric, PeriodMetric) != (statistic == "value"):
        if statistic == "value":
            raise ValueError(f"{metric.name} measures each record; value is for period figures")
        raise ValueError(f"{metric.name} is one figure per period: write the target without a "
                         'statistic, e.g. "<= 200" or ">= 85%"')
    if statistic == "value":
        return metric.unit
    if statistic == "attainment":
        if metric.unit != "duration":
            raise ValueError(
                f'"NN% within D" needs a duration metric; {metric.name} measures {metric.unit}'
            )
        return "rate"
    if statistic == "share":
        if metric.unit not in ("boolean", "score"):
            raise ValueError(
                f"share needs a yes/no or survey metric; {metric.name} measures {metric.unit}"
            )
        return "rate"
    if statistic == "count":
        return "count"
    if metric.unit == "boolean":
        raise ValueError(
            f"{statistic} of yes/no outcomes makes no sense; use share (e.g. \">= 85%\")"
        )
    return metric.unit


class LevelChecks(ProblemList):
    """Each service level entry read into a :class:`ServiceLevel`."""

    def service_level(
        self, index: int, table: dict[str, Any], sources: dict[str, SourceSpec | None]
    ) -> ServiceLevel | None:
        at: tuple = ("service_levels", index)
        before = len(self.problems)
        source = self.main_source(table, sources, at)
        metric = self.registry.metrics.get(table["metric"])
        if metric is None and table["metric"] in self.clock_names:
            pass  # a clock the contract declares, whose own problems are reported
        elif metric is None:
            names = self.registry.names("metric")
            self.problem((*at, "metric"), f'no metric called "{table["metric"]}"'
                         + self.registry.broken_note(),
                         did_you_mean(table["metric"], names), names)
        target = self.target(table["target"], (*at, "target"), metric)
        minimum = None
        if "minimum" in table:
            minimum = self.target(table["minimum"], (*at, "minimum"), metric)
            if target and minimum:
                self.check_minimum(target, minimum, (*at, "minimum"))
        spec = sources.get(source) if source else None
        inputs: dict[str, str] = {}
        options: dict[str, Any] = {}
        if metric is not None and spec is not None:
            inputs = self.inputs(metric, spec, table, sources, at)
            kinds = [RECORD_KINDS[s.kind] for s in (sources[n] for n in inputs.values()) if s]
            linked = sources.get(spec.link) if spec.link else None
            if linked is not None:
                kinds.append(linked.record_kind)
            self.check_fields(table, kinds or [spec.record_kind], at)
            if table.get("by") and isinstance(metric, PeriodMetric):
                self.problem((*at, "by"), f"{metric.name} is one figure per period; it cannot "
                             "be broken down with by")
            options, problems = contract_schema.validate(
                table.get("options", {}), metric.schema, (*at, "options"))
            for key_path, message, suggestion, accepted in problems:
                self.problem(key_path, message, suggestion, accepted)
            calendar = table.get("calendar")
            if calendar is not None and calendar not in self.calendars:
                names = sorted(self.calendars)
                self.problem((*at, "calendar"), f'no calendar called "{calendar}" in [calendars]',
                             did_you_mean(calendar, names), names or None)
            elif calendar is not None and metric.unit != "duration":
                self.problem((*at, "calendar"), f"{metric.name} measures {metric.unit}, not "
                             "time; a calendar only applies to duration metrics")
            elif calendar is not None and isinstance(metric, PeriodMetric):
                self.problem((*at, "calendar"), f"{metric.name} is one figure per period; a "
                             "calendar only applies to durations measured record by record")
            period_by = table.get("period_by")
            if period_by is not None:
                kind = spec.record_kind
                times = [f for f in kind.fields if kind.type_name(f) == "timestamp"]
                if period_by not in times:
                    self.problem((*at, "period_by"), f'"{period_by}" is not a time field of '
                                 f"{kind.name}", did_you_mean(period_by, times), times)
                elif isinstance(metric, PeriodMetric):
                    self.problem((*at, "period_by"), f"{metric.name} is one figure per "
                                 "period and decides itself which time counts")
            if "as_of" in table and not isinstance(metric, DerivedMetric):
                self.problem((*at, "as_of"), f"{metric.name} is not a clock: as_of (when a "
                             "clock record's fields are read, at its start or its end) applies "
                             "only to metrics that derive clock records from a history")
            for pause in table.get("pause", []):
                needed = PAUSE_FIELDS[pause]
                if metric.unit != "duration" or needed not in spec.record_kind.fields:
                    self.problem((*at, "pause"), f'pause "{pause}" needs a duration metric on '
                                 f"records with {needed}; {metric.name} on {spec.kind} has none")
        if len(self.problems) > before or metric is None or target is None or source is None:
            return None
        where_values = {
            k: (v,) if isinstance(v, str) else tuple(v) for k, v in table.get("where", {}).items()
        }
        return ServiceLevel(
            id=table["id"], index=index, source=source, metric=table["metric"], target=target,
            minimum=minimum, min_sample=table.get("min_sample", 1), where=where_values,
            by=tuple(table.get("by", ())), description=table.get("description", ""),
            options=options, inputs=inputs, pause=tuple(table.get("pause", ())),
            calendar=table.get("calendar"), period_by=table.get("period_by"),
            as_of=table.get("as_of"),
        )

    def main_source(
        self, table: dict[str, Any], sources: dict[str, SourceSpec | None], at: tuple
    ) -> str | None:
        source = table.get("source")
        if source is None:
            if len(sources) == 1:
                return next(iter(sources))
            self.problem((*at, "source"), "required when the contract has more than one source",
                         accepted=list(sources))
            return None
        if source not in sources:
            self.problem((*at, "source"), f'no source called "{source}" in [sources]',
                         did_you_mean(source, sources), list(sources))
            return None
        return source

    def inputs(self, metric: Metric, spec: SourceSpec, table: dict[str, Any],
               sources: dict[str, SourceSpec | None], at: tuple) -> dict[str, str]:
        """Which source feeds each record set the metric reads (role -> source name)."""
        if not isinstance(metric, PeriodMetric):
            if "inputs" in table:
                self.problem((*at, "inputs"), f"{metric.name} reads one source; inputs is for "
                             "period-level metrics such as cost_per_contact")
            if spec.kind not in metric.kinds:
                self.problem((*at, "source"), f'{metric.name} reads {" or ".join(metric.kinds)} '
                             f'records; source "{spec.name}" holds {spec.kind}')
            return {"records": spec.name}
        roles = list(metric.inputs)
        chosen = {roles[0]: spec.name}
        if spec.kind not in metric.inputs[roles[0]].kinds:
            self.problem((*at, "source"), f"{metric.name} reads its {roles[0]} from "
                         f'{" or ".join(metric.inputs[roles[0]].kinds)} records; source '
                         f'"{spec.name}" holds {spec.kind}')
        given = table.get("inputs", {})
        for role in given:
            if role not in roles[1:]:
                self.problem((*at, "inputs", role), f"{metric.name} has no input called "
                             f'"{role}"', did_you_mean(role, roles[1:]), roles[1:])
        for role in roles[1:]:
            kinds = metric.inputs[role].kinds
            name = given.get(role)
            if name is None:
                fitting = [n for n, s in sources.items() if s and s.kind in kinds]
                if len(fitting) != 1:
                    self.problem((*at, "inputs", role), f"{metric.name} needs a source of "
                                 f'{" or ".join(kinds)} records for "{role}"; name it in inputs',
                                 accepted=fitting or None)
                    continue
                name = fitting[0]
            found = sources.get(name)
            if name not in sources:
                self.problem((*at, "inputs", role), f'no source called "{name}" in [sources]',
                             did_you_mean(name, sources), list(sources))
            elif found is not None and found.kind not in kinds:
                self.problem((*at, "inputs", role), f'source "{name}" holds {found.kind}; '
                             f'{role} must be {" or ".join(kinds)} records')
            chosen[role] = name
        return chosen

    def check_fields(self, table: dict[str, Any], kinds: list[RecordKind], at: tuple) -> None:
        """``where`` and ``by`` must name category fields of the records read."""
        allowed = sorted({f for k in kinds for f in k.fields if _is_segmentable(k, f)})
        names = " or ".join(sorted({k.name for k in kinds}))
        for name in table.get("where", {}):
            if name not in allowed:
                self.problem((*at, "where", name), f'"{name}" is not a category field of {names}',
                             did_you_mean(name, allowed), allowed)
        for name in table.get("by", []):
            if name not in allowed:
                self.problem((*at, "by"), f'"{name}" is not a category field of {names}',
                             did_you_mean(name, allowed), allowed)

    def target(self, text: str, key_path: KeyPath, metric: Metric | None) -> Target | None:
        try:
            target = parse_target(text)
        except TargetError as exc:
            self.problem(key_path, str(exc))
            return None
        if metric is None:
            return target
        target = target.with_statistic(target.statistic or metric.default_statistic)
        try:
            unit = statistic_unit(target.statistic, metric)
        except ValueError as exc:
            self.problem(key_path, f"{target.text!r}: {exc}")
            return None
        expected = TARGET_UNITS[unit]
        if target.unit == expected and target.statistic == "share" and not (
            0 <= target.threshold <= 1
        ):
            self.problem(key_path, f"{target.text!r}: a share of records must be between 0% "
                         "and 100%")
            return None
        if target.unit != expected:
            self.problem(
                key_path,
                f"{target.text!r}: {target.statistic} of {metric.name} is a {unit}, "
                f"so the target needs a {expected} value, e.g. {TARGET_EXAMPLES[expected]}",
            )
            return None
        return target

    def check_minimum(self, target: Target, minimum: Target, key_path: KeyPath) -> None:
        if (minimum.statistic, minimum.better, minimum.within) != (
            target.statistic, target.better, target.within
        ):
            self.problem(key_path, f'"{minimum.text}" must use the same statistic and '
                         f'direction as the target "{target.text}"')
        elif (minimum.better == "higher" and minimum.threshold > target.threshold) or (
            minimum.better == "lower" and minimum.threshold < target.threshold
        ):
            self.problem(key_path, f'"{minimum.text}" is stricter than the target '
                         f'"{target.text}"; the minimum is the level below which a miss is '
                         "critical")


def _is_segmentable(kind: RecordKind, name: str) -> bool:
    return kind.type_name(name) == "category" or name == kind.id_field
