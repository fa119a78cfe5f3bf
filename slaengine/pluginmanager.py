"""All plugin loading in one place: entry points, registration, clashes and failures."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from importlib import metadata
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

import pluggy

from slaengine import hookspecs
from slaengine.errors import PluginError, SlaError, did_you_mean
from slaengine.plugin import Metric, PenaltyModel, Reporter, Source

if TYPE_CHECKING:
    from slaengine.clocks.custom import ClockDefinition

T = TypeVar("T")

PLUGIN_TYPES: dict[str, tuple[str, type]] = {
    "source": ("register_sources", Source),
    "metric": ("register_metrics", Metric),
    "reporter": ("register_reporters", Reporter),
    "penalty model": ("register_penalty_models", PenaltyModel),
}


@dataclass(frozen=True)
class PluginInfo:
    """Where a registered object came from: its plugin and that plugin's distribution."""

    plugin: str
    distribution: str
    version: str

    def __str__(self) -> str:
        return f"{self.plugin} ({self.distribution} {self.version})"


@dataclass
class Registry:
    """The plugins in use and everything they registered, by kind and name."""

    manager: pluggy.PluginManager
    plugins: dict[str, PluginInfo] = field(default_factory=dict)
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    origins: dict[tuple[str, str], PluginInfo] = field(default_factory=dict)
    broken: dict[str, str] = field(default_factory=dict)

    def names(self, kind: str) -> list[str]:
        return sorted(self.objects.get(kind, {}))

    def get(self, kind: str, name: str) -> Any:
        """The ``kind`` object called ``name``; a clear error listing the others if none is."""
        found = self.objects.get(kind, {}).get(name)
        if found is None:
            raise PluginError(
                f'no {kind} called "{name}"' + self.broken_note(),
                suggestion=did_you_mean(name, self.names(kind)),
                accepted=self.names(kind),
            )
        return found

    def broken_note(self) -> str:
        """A sentence naming plugins that failed to load, for "not found" messages."""
        if not self.broken:
            return ""
        return " (plugins that failed to load: " + "; ".join(self.broken.values()) + ")"

    def origin(self, kind: str, name: str) -> PluginInfo:
        return self.origins[(kind, name)]

    def clock_metric(self, name: str, definition: ClockDefinition) -> tuple[Metric, PluginInfo]:
        """The metric measuring the contract's own clock ``name`` (hook ``define_clock``: the
        last plugin registered answers first) and the plugin that built it; PluginError if no
        plugin measures custom clocks or one built something unusable."""
        for impl in reversed(self.manager.hook.define_clock.get_hookimpls()):
            plugin = self.manager.get_name(impl.plugin)
            info = self.plugins.get(plugin)
            if info is None:
                continue
            found = _call_plugin(info, "define_clock", impl.function, name, definition)
            if found is None:
                continue
            _check("metric", Metric, found, info)
            if found.name != name:
                raise PluginError(f'plugin {info} built the clock "{name}" as a metric called '
                                  f'"{found.name}"')
            return found, info
        raise PluginError(f'no installed plugin measures custom clocks such as "{name}"'
                          + self.broken_note())

    def with_clocks(self, clocks: Mapping[str, ClockDefinition]) -> Registry:
        """This registry and, beside its metrics, one per clock of ``clocks`` (a contract's
        ``[clocks.NAME]``), under the clock's name. The registry itself is left unchanged, so
        contracts with clocks of the same name never meet."""
        if not clocks:
            return self
        metrics = {name: self.clock_metric(name, definition)
                   for name, definition in clocks.items()}
        return self.with_metrics(metrics)

    def with_metrics(self, metrics: Mapping[str, tuple[Metric, PluginInfo]]) -> Registry:
        """A copy of this registry with ``metrics`` (name -> metric and its plugin) added."""
        objects = {kind: dict(found) for kind, found in self.objects.items()}
        origins = dict(self.origins)
        for name, (metric, info) in metrics.items():
            objects.setdefault("metric", {})[name] = metric
            origins[("metric", name)] = info
        return replace(self, objects=objects, origins=origins)

    @property
    def sources(self) -> dict[str, Source]:
        return self.objects["source"]

    @property
    def metrics(self) -> dict[str, Metric]:
        return self.objects["metric"]

    @property
    def reporters(self) -> dict[str, Reporter]:
        return self.objects["reporter"]

    @property
    def penalty_models(self) -> dict[str, PenaltyModel]:
        return self.objects["penalty model"]


class PluginWarning(UserWarning):
    """An installed plugin failed to load and was left out; the others are in use."""


def build_registry(
    extra: Iterable[ModuleType | object] = (), *, entry_points: bool = True
) -> Registry:
    """Load every plugin of the ``slaengine`` entry-point group (sorted by name), then ``extra``.

    ``extra`` registers plugin objects directly, as a test or an embedding program would; a
    problem with one of them raises :class:`PluginError`. An installed plugin that fails (its
    module does not import, a hook raises or offers something unusable, it implements a hook
    that does not exist, or it offers a name another plugin offers) is left out with what went
    wrong in ``Registry.broken``, and a :class:`PluginWarning` says so: one broken plugin must
    not take the others, or the commands that do not need it, down.
    """
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    registry = Registry(manager=manager)
    installed: set[str] = set()
    distributions: dict[metadata.Distribution | None, tuple[str, str]] = {}
    if entry_points:
        for ep in sorted(metadata.entry_points(group=hookspecs.PROJECT), key=lambda e: e.name):
            if ep.dist not in distributions:
                distributions[ep.dist] = _distribution(ep.dist)
            info = PluginInfo(ep.name, *distributions[ep.dist])
            try:
                plugin = ep.load()
                _register(registry, plugin, info)
            except Exception as exc:
                _broken(registry, info, f"from {ep.value}: {_reason(exc)}")
                continue
            installed.add(info.plugin)
    for plugin in extra:
        name = getattr(plugin, "__name__", type(plugin).__name__)
        _register(registry, plugin, PluginInfo(name, "local", "unknown"))
    _unknown_hooks(registry, installed)
    try:
        manager.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"a plugin implements a hook that does not exist: {exc}") from exc
    for kind in PLUGIN_TYPES:
        registry.objects.setdefault(kind, {})
    offers = []
    for name, info in list(registry.plugins.items()):
        try:
            offers.append((info, _offered(registry, manager.get_plugin(name), info)))
        except PluginError as exc:
            if name not in installed:
                raise
            _drop(registry, name, exc.message)
    clashes: dict[tuple[str, str], list[PluginInfo]] = {}
    for info, objects in offers:
        for kind, obj in objects:
            clashes.setdefault((kind, obj.name), []).append(info)
    for (kind, name), infos in clashes.items():
        if len(infos) > 1:
            message = (f'two plugins register a {kind} called "{name}": {infos[0]} and '
                       f"{infos[1]}; uninstall one of them or rename its {kind}")
            if not {i.plugin for i in infos} <= installed:
                raise PluginError(message)
            for info in infos:
                _drop(registry, info.plugin, message)
    for info, objects in offers:
        if info.plugin in registry.plugins:
            for kind, obj in objects:
                registry.objects[kind][obj.name] = obj
                registry.origins[(kind, obj.name)] = info
    return registry


def _distribution(dist: metadata.Distribution | None) -> tuple[str, str]:
    """The name and version of a plugin's distribution. Its metadata is read once here (each
    read parses the whole file, long description included) and kept per distribution by the
    caller, as one distribution offers many plugins."""
    if dist is None:
        return "unknown", "unknown"
    found = dist.metadata
    return found["Name"], found["Version"]


def _reason(exc: BaseException) -> str:
    if isinstance(exc, SlaError):
        return exc.message
    return f"{type(exc).__name__}: {exc}"


def _broken(registry: Registry, info: PluginInfo, why: str) -> None:
    import warnings

    registry.broken[info.plugin] = f"{info} {why}"
    warnings.warn(f"plugin {info} failed to load and is not in use: {why}", PluginWarning,
                  stacklevel=3)


def _drop(registry: Registry, name: str, why: str) -> None:
    """Leave an installed plugin out: unregistered, recorded as broken with ``why``."""
    info = registry.plugins.pop(name)
    plugin = registry.manager.get_plugin(name)
    if plugin is not None:
        registry.manager.unregister(plugin)
    _broken(registry, info, why)


def _unknown_hooks(registry: Registry, installed: set[str]) -> None:
    """Installed plugins implementing a hook that does not exist are left out (a misspelt hook
    would otherwise offer nothing, silently)."""
    manager = registry.manager
    for hook_name, caller in list(vars(manager.hook).items()):
        if caller.has_spec():
            continue
        for impl in caller.get_hookimpls():
            name = manager.get_name(impl.plugin)
            if name in installed and name in registry.plugins:
                _drop(registry, name, f"implements {hook_name}, a hook that does not exist")


def _offered(registry: Registry, plugin: object, info: PluginInfo) -> list[tuple[str, Any]]:
    """Every object ``plugin`` registers, by kind, checked (its hooks called once each)."""
    found = []
    for kind, (hook_name, base) in PLUGIN_TYPES.items():
        for impl in getattr(registry.manager.hook, hook_name).get_hookimpls():
            if impl.plugin is not plugin:
                continue
            for obj in _call_plugin(info, hook_name, impl.function) or []:
                _check(kind, base, obj, info)
                found.append((kind, obj))
    return found


def _register(registry: Registry, plugin: object, info: PluginInfo) -> None:
    # Already there: a plugin under test that is also installed through its entry point.
    if info.plugin in registry.plugins or registry.manager.is_registered(plugin):
        return
    try:
        registry.manager.register(plugin, name=info.plugin)
    except (pluggy.PluginValidationError, ValueError) as exc:
        raise PluginError(f"plugin {info} cannot be registered: {exc}") from exc
    registry.plugins[info.plugin] = info


def _check(kind: str, base: type, obj: Any, info: PluginInfo) -> None:
    if not isinstance(obj, base):
        raise PluginError(
            f"plugin {info} registered {obj!r} as a {kind}, "
            f"but it is not a {base.__module__}.{base.__name__}"
        )
    name = getattr(obj, "name", None)
    if not isinstance(name, str) or not name:
        raise PluginError(f"plugin {info} registered a {kind} without a name: {obj!r}")


def _call_plugin(info: PluginInfo, what: str, func: Callable[..., T], *args: Any) -> T:
    try:
        return func(*args)
    except SlaError:
        raise
    except Exception as exc:
        raise PluginError(f"plugin {info} failed in {what}: {type(exc).__name__}: {exc}") from exc


def guarded(registry: Registry, kind: str, name: str, what: str) -> Callable[..., Any]:
    """Wrap a call into a plugin object so a failure names the plugin that failed."""
    obj = registry.get(kind, name)
    info = registry.origin(kind, name)
    method = getattr(obj, what)

    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except (SlaError, BrokenPipeError):
            raise  # a reader that went away is not the plugin's failure
        except Exception as exc:
            raise PluginError(
                f'{kind} "{name}" from plugin {info} failed in {what}: '
                f"{type(exc).__name__}: {exc}"
            ) from exc

    return call

