"""The evaluation loop: read each source once, measure, group, compare, give verdicts.

For each service level: keep the records its ``where`` selects, let the metric measure each
record (vectorised), group the measures by period and segment, compute the statistic per group
and compare it with the target. Every period present in the source gets a verdict for every
segment seen, so an empty segment shows up as ``insufficient_data`` instead of vanishing.
"""

from slaengine.engine.read import (
    contract_folder,
    naming_contract,
    read_source,
    source_config,
    source_files,
)
from slaengine.engine.run import evaluate, plan
from slaengine.runtime import tuned

__all__ = ["contract_folder", "evaluate", "naming_contract", "plan", "read_source",
           "source_config", "source_files", "tuned"]
