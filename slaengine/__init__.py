"""slaengine: SLA compliance from data.

A contract (TOML) names sources, metrics and targets; the engine evaluates every service level
per period and segment and gives a verdict with its evidence.

    >>> import slaengine
    >>> result = slaengine.evaluate("contracts/isp-helpdesk.toml")
    >>> tables = result.to_arrow()  # verdicts, credits, credit_totals, sources, levels

The public names are imported when first used (:data:`__all__`): ``slaengine --help`` and
``-V`` load no plugin machinery and no Arrow.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from slaengine.api import Result, evaluate, load_contract
    from slaengine.hookspecs import hookimpl
    from slaengine.verdicts import Evaluation, Verdict

__version__ = "0.1.0"

_LAZY = {
    "load_contract": "slaengine.api",
    "evaluate": "slaengine.api",
    "Result": "slaengine.api",
    "Evaluation": "slaengine.verdicts",
    "Verdict": "slaengine.verdicts",
    "hookimpl": "slaengine.hookspecs",
}
"""Each public name and the module it lives in; ``hookimpl`` is the marker of a plugin's
hooks."""

__all__ = ["Evaluation", "Result", "Verdict", "__version__", "evaluate", "hookimpl",
           "load_contract"]


def __getattr__(name: str) -> Any:
    """A public name, imported from its module on first use and kept."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
