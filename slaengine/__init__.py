"""slaengine: SLA compliance from data.

A contract (TOML) names sources, metrics and targets; the engine evaluates every service level
per period and segment and gives a verdict with its evidence.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from slaengine.hookspecs import hookimpl

__version__ = "0.1.0"

__all__ = ["__version__", "hookimpl"]


def __getattr__(name: str) -> Any:
    """``hookimpl``, the marker of a plugin's hooks (:mod:`slaengine.hookspecs`), imported
    when a plugin asks for it: ``slaengine --help`` and ``-V`` need no plugin machinery."""
    if name == "hookimpl":
        from slaengine.hookspecs import hookimpl

        return hookimpl
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
