"""What Spark evaluates so far, and a clear refusal of the rest.

A contract that uses a feature the Spark engine does not evaluate yet is refused before any
work, with exit 2 and the feature named: never an answer that could differ from the local
engine's.
"""

from __future__ import annotations

from slaengine.contract import Contract
from slaengine.errors import UsageError
from slaengine.plugin import DerivedMetric, PeriodMetric
from slaengine.pluginmanager import Registry


def unsupported(contract: Contract, registry: Registry, *, evidence: bool = False,
                ) -> list[str]:
    """The features of ``contract`` (and of the options asked) Spark does not evaluate yet."""
    found: list[str] = []
    if evidence:
        found.append("--evidence (the records behind failed verdicts)")
    from slaengine.spark.catalog import is_catalog, remote_path
    from slaengine.spark.whole import IPC_SUFFIXES, reads_whole

    for name, spec in sorted(contract.sources.items()):
        if spec.link and not (reads_whole(contract, registry, name)
                              and not is_catalog(contract, spec.link)):
            found.append(f"source {name}: a link to source {spec.link} (Spark joins a link "
                         "for a source read whole by its adapter, such as CSV or Zendesk, to "
                         "a source of files)")
        remote = remote_path(contract, name)
        if remote is not None and (spec.options.get("format") == "ipc" or remote.lower()
                                   .rstrip("/").endswith(IPC_SUFFIXES)):
            found.append(f"source {name}: Arrow IPC files at a URI (Spark reads Parquet "
                         "there; Arrow IPC files are read from a local or shared path)")
    for level in contract.service_levels:
        metric = registry.metrics[level.metric]
        if isinstance(metric, DerivedMetric):
            found.append(f'service level {level.id}: metric "{level.metric}" measures event '
                         "clocks (records derived from whole ticket histories)")
        elif isinstance(metric, PeriodMetric) and not metric.summary_keys:
            found.append(f'service level {level.id}: metric "{level.metric}" needs its '
                         "records whole (a period-level metric without summaries)")
    return found


def check(contract: Contract, registry: Registry, *, evidence: bool = False) -> None:
    """Raise a UsageError naming every feature Spark does not evaluate yet."""
    found = unsupported(contract, registry, evidence=evidence)
    if found:
        where = f" ({contract.path})" if contract.path is not None else ""
        raise UsageError(
            f"--engine spark does not evaluate these yet{where}:\n"
            + "\n".join(f"  {item}" for item in found)
            + "\n--engine local evaluates them")
