"""The checks of ``[sources.NAME]`` tables: adapter, the adapter's own keys, canonical field
names and the ``link`` that joins one source's records to another's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from slaengine import schema as contract_schema
from slaengine.contract.model import SourceSpec
from slaengine.contract.problems import ProblemList
from slaengine.errors import did_you_mean
from slaengine.fields import RECORD_KINDS, RecordKind


class SourceChecks(ProblemList):
    """Each source table read into a :class:`SourceSpec`, and the links between them."""

    def source(self, name: str, table: dict[str, Any]) -> SourceSpec | None:
        where = ("sources", name)
        adapter = table.get("adapter")
        plugin = self.registry.sources.get(adapter) if isinstance(adapter, str) else None
        if isinstance(adapter, str) and plugin is None:
            names = self.registry.names("source")
            self.problem((*where, "adapter"), f'no source adapter called "{adapter}"'
                         + self.registry.broken_note(),
                         did_you_mean(adapter, names), names)
        schema = dict(contract_schema.SOURCE_KEYS)
        if plugin is not None:
            schema.update(plugin.schema)
        document, problems = contract_schema.validate(table, schema, where)
        for key_path, message, suggestion, accepted in problems:
            self.problem(key_path, message, suggestion, accepted)
        if problems or plugin is None:
            return None
        kind = RECORD_KINDS[document.get("kind", "tickets")]
        if document["adapter"] == "zendesk" and kind.name == "events":
            # The events Zendesk exports are its clocks' (ticket_metric_events): the adapter
            # reads them as metric events, so the source holds that kind.
            kind = RECORD_KINDS["metric_events"]
        mapping = document.get("fields", {})
        for canonical in mapping:
            if canonical not in kind.fields:
                self.problem((*where, "fields", canonical),
                             f"not a canonical {kind.name} field",
                             did_you_mean(canonical, kind.fields), list(kind.fields))
        values = document.get("values", {})
        self.check_values(where, kind, values)
        base = self.path.parent if self.path is not None else Path.cwd()
        options = {k: v for k, v in document.items() if k not in contract_schema.SOURCE_KEYS}
        return SourceSpec(name=name, adapter=document["adapter"],
                          path=(base / document["path"]).resolve(), fields=dict(mapping),
                          options=options, kind=kind.name, link=document.get("link"),
                          values={f: dict(m) for f, m in values.items()})

    def check_values(self, where: tuple, kind: RecordKind,
                     values: dict[str, dict[str, str]]) -> None:
        """``values`` maps a source's own names onto the canonical values of a field that has
        a closed set of them (``status``): never onto a value outside that set."""
        closed = list(kind.values)
        for name, mapping in values.items():
            at = (*where, "values", name)
            if name not in kind.fields:
                self.problem(at, f"not a canonical {kind.name} field",
                             did_you_mean(name, kind.fields), closed or None)
                continue
            allowed = kind.values.get(name)
            if allowed is None:
                fields = f" ({', '.join(closed)})" if closed else ""
                self.problem(at, f"field {name} takes any value, so it has nothing to map "
                                 f"onto; values maps only the {kind.name} fields with a closed "
                                 f"set of values{fields}", None, closed or None)
                continue
            for own, canonical in mapping.items():
                if canonical not in allowed:
                    self.problem((*at, own), f'"{canonical}" is not a {name} value',
                                 did_you_mean(canonical, allowed), list(allowed))

    def check_links(self, sources: dict[str, SourceSpec | None]) -> None:
        """``link = "tickets"`` joins a source's records to another source's by the latter's
        id (surveys to tickets by ``ticket_id``): never implicit, and only on a shared id."""
        for name, spec in sources.items():
            if spec is None or spec.link is None:
                continue
            at = ("sources", name, "link")
            other = sources.get(spec.link)
            if spec.link not in sources or spec.link == name:
                others = [n for n in sources if n != name]
                self.problem(at, f'no other source called "{spec.link}"',
                             did_you_mean(spec.link, others), others)
            elif other is not None:
                key = other.record_kind.id_field
                if key not in spec.record_kind.fields:
                    self.problem(at, f"{spec.kind} records have no {key} to find their "
                                 f"{other.kind} by")
                elif other.link is not None:
                    self.problem(at, f'source "{spec.link}" is itself linked; link to the '
                                 "source that holds the records")

