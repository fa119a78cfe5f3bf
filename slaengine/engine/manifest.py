"""The manifest of an evaluation: everything needed to rerun it and get the same verdicts.
"""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime
from typing import Any

from slaengine import __version__
from slaengine.calendars import package_versions
from slaengine.contract import Contract
from slaengine.lazy import pa
from slaengine.manifest import Digests
from slaengine.pluginmanager import Registry


def manifest(contract: Contract, registry: Registry, options: dict[str, Any],
             digests: Digests) -> dict[str, Any]:
    """Everything needed to rerun the evaluation and get the same verdicts."""
    used = {("source", s.adapter) for s in contract.sources.values()}
    used |= {("metric", lv.metric) for lv in contract.service_levels}
    if contract.penalties is not None:
        used.add(("penalty model", contract.penalties["model"]))
    plugins = {}
    for kind, name in sorted(used):
        origin = registry.origin(kind, name)
        plugins[f"{kind}:{name}"] = {"plugin": origin.plugin,
                                     "distribution": origin.distribution,
                                     "version": origin.version}
    inputs = digests.result()
    return {
        "contract": {"path": os.path.abspath(contract.path) if contract.path else None,
                     "sha256": contract.sha256},
        "inputs": inputs,
        "versions": {"slaengine": __version__, "pyarrow": pa.__version__,
                     "python": platform.python_version(),
                     **package_versions(contract.calendars.values())},
        "plugins": plugins,
        "evaluated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "options": options,
    }
