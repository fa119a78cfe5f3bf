"""All plugin loading in one place: entry points, registration, clashes and failures."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import metadata
from types import ModuleType
from typing import Any, TypeVar

import pluggy

from slaengine import hookspecs
from slaengine.errors import PluginError, SlaError, did_you_mean
from slaengine.kinds import Metric, PenaltyModel, Reporter, Source

T = TypeVar("T")

KINDS: dict[str, tuple[str, type]] = {
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


def build_registry(
    extra: Iterable[ModuleType | object] = (), *, entry_points: bool = True
) -> Registry:
    """Load every plugin of the ``slaengine`` entry-point group (sorted by name), then ``extra``.

    ``extra`` registers plugin objects directly, as a test or an embedding program would.
    """
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    registry = Registry(manager=manager)
    if entry_points:
        for ep in sorted(metadata.entry_points(group=hookspecs.PROJECT), key=lambda e: e.name):
            dist = ep.dist
            info = PluginInfo(
                ep.name, dist.name if dist else "unknown", dist.version if dist else "unknown"
            )
            try:
                plugin = ep.load()
            except Exception as exc:
                # One broken plugin must not take the others down: it is reported (by
                # ``slaengine plugins`` and by any lookup of a name it would have offered).
                registry.broken[info.plugin] = (
                    f"{info} from {ep.value}: {type(exc).__name__}: {exc}"
                )
                continue
            _register(registry, plugin, info)
    for plugin in extra:
        name = getattr(plugin, "__name__", type(plugin).__name__)
        _register(registry, plugin, PluginInfo(name, "local", "unknown"))
    try:
        manager.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"a plugin implements a hook that does not exist: {exc}") from exc
    for kind, (hook_name, base) in KINDS.items():
        registry.objects.setdefault(kind, {})
        for impl in manager.hook.__dict__[hook_name].get_hookimpls():
            info = registry.plugins[manager.get_name(impl.plugin)]
            result = _call_plugin(info, hook_name, impl.function)
            for obj in result or []:
                _add(registry, kind, base, obj, info)
    return registry


def _register(registry: Registry, plugin: object, info: PluginInfo) -> None:
    # Already there: a plugin under test that is also installed through its entry point.
    if info.plugin in registry.plugins or registry.manager.is_registered(plugin):
        return
    try:
        registry.manager.register(plugin, name=info.plugin)
    except (pluggy.PluginValidationError, ValueError) as exc:
        raise PluginError(f"plugin {info} cannot be registered: {exc}") from exc
    registry.plugins[info.plugin] = info


def _add(registry: Registry, kind: str, base: type, obj: Any, info: PluginInfo) -> None:
    if not isinstance(obj, base):
        raise PluginError(
            f"plugin {info} registered {obj!r} as a {kind}, "
            f"but it is not a {base.__module__}.{base.__name__}"
        )
    name = getattr(obj, "name", None)
    if not isinstance(name, str) or not name:
        raise PluginError(f"plugin {info} registered a {kind} without a name: {obj!r}")
    if name in registry.objects[kind]:
        first = registry.origins[(kind, name)]
        raise PluginError(
            f'two plugins register a {kind} called "{name}": {first} and {info}; '
            "uninstall one of them or rename its " + kind
        )
    registry.objects[kind][name] = obj
    registry.origins[(kind, name)] = info


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
        except SlaError:
            raise
        except Exception as exc:
            raise PluginError(
                f'{kind} "{name}" from plugin {info} failed in {what}: '
                f"{type(exc).__name__}: {exc}"
            ) from exc

    return call

