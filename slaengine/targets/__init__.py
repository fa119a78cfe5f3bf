"""Targets: what a contract writes after ``target =``, parsed (``grammar``), and what a parsed
:class:`Target` decides about a measured figure (``target``)."""

from slaengine.targets.grammar import (
    MAX_DURATION,
    MAX_NUMBER_CHARS,
    OPERATORS,
    TargetError,
    parse_duration,
    parse_target,
)
from slaengine.targets.target import (
    DURATION_UNITS,
    STATISTICS,
    Target,
    exact_figure,
    format_duration,
    is_statistic,
    percentile_of,
)

__all__ = [
    "DURATION_UNITS",
    "MAX_DURATION",
    "MAX_NUMBER_CHARS",
    "OPERATORS",
    "STATISTICS",
    "Target",
    "TargetError",
    "exact_figure",
    "format_duration",
    "is_statistic",
    "parse_duration",
    "parse_target",
    "percentile_of",
]
