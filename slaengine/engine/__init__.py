"""The evaluation loop: read each source once, measure, group, compare, give verdicts.

For each service level: keep the records its ``where`` selects, let the metric measure each
record (vectorised), group the measures by period and segment, compute the statistic per group
and compare it with the target. Every period present in the source gets a verdict for every
segment seen, so an empty segment shows up as ``insufficient_data`` instead of vanishing.

The modules, in the order an evaluation uses them:

- ``run``: :func:`evaluate`, the loop below, and the service credits at the end;
- ``plan`` and ``columns``: per source, the fields read and the levels fed batch by batch;
- ``read``: each source read once (one step ahead, on a thread), every row accounted for;
- ``batch``: a batch's periods, segments and groups, computed once for all its levels;
- ``narrow``: the one step (window, ``where``, agreed exclusions, accounting) every level
  takes, per-record or period-level, streamed or held;
- ``levels`` and ``record``: the levels behind one protocol (``add(batch)``, ``finish()``
  giving a :class:`~slaengine.engine.levels.LevelResult`);
- ``missed``: the records that count against a target, the ids and evidence kept of them;
- ``verdict``: a verdict from a level's typed figures; ``manifest``: what reruns it.

Nothing here changes the process: the allocator and collector tuning of a long evaluation is
:func:`slaengine.runtime.tuned`, entered by the command line.
"""

from slaengine.engine.read import (
    contract_folder,
    naming_contract,
    read_source,
    source_config,
    source_files,
)
from slaengine.engine.run import evaluate
from slaengine.runtime import tuned

__all__ = ["contract_folder", "evaluate", "naming_contract", "read_source", "source_config",
           "source_files", "tuned"]
