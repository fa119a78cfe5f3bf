"""The checks of ``[clocks.NAME]`` tables (a contract's own clocks): each condition's keys and
values, conditions that could never match, and a name no metric has already."""

from __future__ import annotations

from typing import Any

from slaengine.clocks.custom import CONDITION_KEYS, CONDITIONS, ClockDefinition
from slaengine.clocks.history import AUTHORS, EVENTS, STATUSES
from slaengine.contract.problems import ProblemList
from slaengine.errors import PluginError, did_you_mean
from slaengine.plugin import Metric
from slaengine.pluginmanager import PluginInfo

_NAMES = {"event": ("an event", EVENTS), "status": ("a status", STATUSES),
          "author": ("an author", AUTHORS)}

# Which events each key can match: a status is entered by a status change or, for ``new``, by
# the creation; an author is a comment's or the creation's; only a comment is public or not.
_CAN_MATCH = {"status": {"status"}, "author": {"comment", "created"}, "public": {"comment"}}


class ClockChecks(ProblemList):
    """Each ``[clocks.NAME]`` table read into a :class:`ClockDefinition` and its metric."""

    def clocks(self, tables: dict[str, Any], broken: set[str]) -> dict[str, ClockDefinition]:
        """The sound clocks by name; ``broken`` names those the schema already refused.
        Their metrics are added to ``self.registry`` so service levels can name them."""
        self.clock_names = set(tables)
        found: dict[str, ClockDefinition] = {}
        metrics: dict[str, tuple[Metric, PluginInfo]] = {}
        for name, table in tables.items():
            at = ("clocks", name)
            before = len(self.problems)
            if name in self.registry.metrics:
                self.problem(at, f'a clock may not take the name of the metric "{name}"; a '
                             "service level naming it would be ambiguous: rename the clock")
            if name in broken:
                continue
            for key in CONDITIONS:
                if key in table:
                    self.condition(table[key], (*at, key))
            if "resume" in table and "pause" not in table:
                self.problem((*at, "resume"), "a clock that never pauses never resumes: give "
                             "pause too, or leave resume out")
            if len(self.problems) > before:
                continue
            definition = ClockDefinition.of(table)
            try:
                metrics[name] = self.registry.clock_metric(name, definition)
            except PluginError as exc:
                self.problem(at, exc.message)
                continue
            found[name] = definition
        if metrics:
            self.registry = self.registry.with_metrics(metrics)
        return found

    def condition(self, value: Any, at: tuple) -> None:
        """A condition: a table, or a non-empty list of tables any of which matches."""
        if isinstance(value, dict):
            self.condition_table(value, at)
            return
        if not value:
            self.problem(at, "the list is empty, so it would never match; give at least one "
                         "table such as { event = \"created\" }, or leave the key out")
        for i, item in enumerate(value):
            if isinstance(item, dict):
                self.condition_table(item, (*at, i))
            else:
                self.problem((*at, i), f"expected a table such as {{ event = \"created\" }}, "
                             f"found {_kind(item)}")

    def condition_table(self, table: dict[str, Any], at: tuple) -> None:
        """One table: known keys, known values, and a combination some event can match."""
        if not table:
            self.problem(at, "an empty condition would match every event; name at least one "
                         "of " + ", ".join(CONDITION_KEYS))
            return
        sound = True
        for key, value in table.items():
            if key not in CONDITION_KEYS:
                self.problem((*at, key), "unknown key", did_you_mean(key, CONDITION_KEYS),
                             list(CONDITION_KEYS))
                sound = False
            elif key == "public":
                if not isinstance(value, bool):
                    self.problem((*at, key), f"expected true or false, found {_kind(value)}")
                    sound = False
            else:
                sound = self.names(key, value, (*at, key)) and sound
        if sound:
            self.can_match(table, at)

    def names(self, key: str, value: Any, at: tuple) -> bool:
        """``event``, ``status`` or ``author``: one known name or a non-empty list of them."""
        what, accepted = _NAMES[key]
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list) or not values:
            shown = "an empty list" if isinstance(values, list) else _kind(value)
            self.problem(at, f"expected {what} or a list of them, found {shown}",
                         accepted=list(accepted))
            return False
        sound = True
        for item in values:
            if not isinstance(item, str):
                self.problem(at, f"expected {what}, found {_kind(item)}", accepted=list(accepted))
                sound = False
            elif item not in accepted:
                self.problem(at, f'"{item}" is not {what} of a ticket\'s history',
                             did_you_mean(item, accepted), list(accepted))
                sound = False
        return sound

    def can_match(self, table: dict[str, Any], at: tuple) -> None:
        """Refuse a table no event can satisfy (``{ event = "status", author = "agent" }``)."""
        events = set(_listed(table.get("event", list(EVENTS))))
        if "status" in table:
            statuses = _listed(table["status"])
            events &= _CAN_MATCH["status"] | ({"created"} if "new" in statuses else set())
        for key in ("author", "public"):
            if key in table:
                events &= _CAN_MATCH[key]
        if not events:
            keys = " and ".join(k for k in CONDITION_KEYS if k in table)
            self.problem(at, f"no event can match {keys} together: a status is entered by a "
                         "status change (new: also by the creation), an author is a comment's "
                         "or the creation's, only a comment is public or not")


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return repr(value)
