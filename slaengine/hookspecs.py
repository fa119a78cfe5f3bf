"""Every hook a slaengine plugin can implement.

A plugin is a module (or object) listed in the ``slaengine`` entry-point group of its
distribution. It implements some of these hooks with :data:`slaengine.hookimpl`::

    from slaengine import hookimpl

    @hookimpl
    def register_metrics():
        return [MyMetric()]

Every registration hook is called once, while the plugin manager is built, before any contract
is read. A name (``name`` attribute) claimed by two plugins is an error that names both
distributions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:  # importing slaengine stays light: no pyarrow, no numpy
    from slaengine.clocks.custom import ClockDefinition
    from slaengine.plugin import Metric, PenaltyModel, Reporter, Source

PROJECT = "slaengine"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_sources() -> list[Source]:
    """Offer source adapters that a contract can name in ``[sources.X] adapter = "..."``.

    :return: :class:`slaengine.plugin.Source` instances. Each one's ``schema`` validates its own
        keys in the contract, with the same messages as the core's keys.
    """


@hookspec
def register_metrics() -> list[Metric]:
    """Offer metrics that a service level can name in ``metric = "..."``.

    :return: :class:`slaengine.plugin.Metric` instances; each declares the canonical fields it
        requires, its unit, its good direction and its default statistic.
    """


@hookspec
def register_reporters() -> list[Reporter]:
    """Offer output formats that ``slaengine evaluate --format NAME`` can write.

    :return: :class:`slaengine.plugin.Reporter` instances.
    """


@hookspec
def register_penalty_models() -> list[PenaltyModel]:
    """Offer penalty models that a contract can name in ``[penalties] model = "..."``.

    :return: :class:`slaengine.plugin.PenaltyModel` instances. Each one's ``schema`` validates
        its own keys in ``[penalties]``.
    """


@hookspec(firstresult=True)
def define_clock(name: str, definition: ClockDefinition) -> Metric | None:
    """Build the metric that measures a contract's own clock ``[clocks.NAME]``, so a service
    level can name it in ``metric = "NAME"``.

    Called once per clock of each contract read, after the registration hooks. The first
    plugin to return a metric (its ``name`` equal to ``name``) measures the clock.

    :return: a :class:`slaengine.plugin.Metric`, or None to leave the clock to another plugin.
    """
