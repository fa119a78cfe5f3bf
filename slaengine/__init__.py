"""slaengine: SLA compliance from data.

A contract (TOML) names sources, metrics and targets; the engine evaluates every service level
per period and segment and gives a verdict with its evidence.
"""

from slaengine.hookspecs import hookimpl

__version__ = "0.1.0"

__all__ = ["__version__", "hookimpl"]
