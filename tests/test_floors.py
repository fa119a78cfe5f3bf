"""The core in floors: a module imports from its own floor or the floors below, never above.

Read bottom to top, each floor uses only what lies under it:

1. vocabulary: errors, Arrow bitmaps, fields, money, periods, time zones, targets, statistics,
   calendars, the files behind a path and how outputs are written — facts with no notion of
   a contract;
2. plugin protocol: the plugin types (``slaengine.plugin``), the hooks, the plugin manager and
   the coercion every source shares;
3. contract language: the contract's schema and loading, the service-credit terms (a contract
   is checked against the installed plugins' schemas, so the protocol lies below it);
4. results: verdicts, accounts and credit schedules as typed values, with no formatting;
5. engine: the evaluation, the credit assessment, the outlook and ``inspect``;
6. presentation: the report's dict shape and text, the Arrow tables of a result, evidence
   files, ``verify`` (which re-checks a report in that shape), JSON Schemas, descriptions, the
   evaluation ledger (it stores results and reads them back);
7. interface: the command line, the Python API, the test kit for plugin authors.

An import under ``if TYPE_CHECKING:`` names a type for annotations only and may point anywhere.
The plugins (``slaengine.plugins``) sit beside the core: they use its floors up to presentation
but never the engine or the interface, and the core never imports a plugin.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "slaengine"
PLUGINS = ROOT / "plugins"

FLOORS: list[tuple[str, list[str]]] = [
    ("vocabulary", ["errors", "text", "lazy", "bits", "fields", "money", "periods", "years",
                    "walltime", "targets", "statistics", "inputs", "calendars", "outputs",
                    "manifest", "readahead", "workers", "allocator", "runtime", "progress",
                    "readable", "clocks"]),
    ("plugin protocol", ["plugin", "kinds", "hookspecs", "pluginmanager", "coerce"]),
    ("contract language", ["schema", "contract", "credits.money", "credits.schema",
                           "credits.terms"]),
    ("results", ["verdicts", "credits.ledger", "credits.outcomes", "credits.results"]),
    ("engine", ["engine", "credits.rules", "credits.schedule", "credits", "outlook", "inspect",
                "spark"]),
    ("presentation", ["present", "tables", "evidence", "verify", "jsonschema", "describe",
                      "starter", "ledger"]),
    ("interface", ["cli", "api", "testing", ""]),
]


def floor_of(module: str) -> int:
    """The floor of ``slaengine.X...``: the longest listed name that ``X...`` starts with."""
    name = module.removeprefix("slaengine").removeprefix(".")
    best, found = -1, None
    for level, (_, names) in enumerate(FLOORS):
        for listed in names:
            if (name == listed or name.startswith(listed + ".") or listed == "") and \
                    len(listed) > best:
                best, found = len(listed), level
    if found is None:
        raise LookupError(module)
    return found


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    if parts[0] == "plugins":
        parts = ["slaengine", *parts]
    return ".".join(parts)


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports(path: Path) -> list[tuple[int, str]]:
    """``(line, module)`` of every slaengine import in ``path``."""
    return imports_in(path.read_text(encoding="utf-8"), module_name(path),
                      path.name == "__init__.py")


# Names the package itself gives every floor (``from slaengine import hookimpl``).
PACKAGE_NAMES = {"__version__", "hookimpl"}


def imports_in(source: str, module: str, package: bool = False) -> list[tuple[int, str]]:
    """``(line, module)`` of every slaengine import in ``source`` (the text of ``module``), at
    any depth (imports inside functions included), except those under ``if TYPE_CHECKING:``."""
    here = module if package else module.rsplit(".", 1)[0]
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.extend((node.lineno, a.name) for a in node.names
                         if a.name.startswith("slaengine"))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = here.split(".")[:len(here.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            if base == "slaengine":  # from slaengine import X: X a module, or a package name
                for alias in node.names:
                    if alias.name in PACKAGE_NAMES:
                        continue
                    is_module = (CORE / alias.name).is_dir() or (CORE / f"{alias.name}.py").exists()
                    found.append((node.lineno, f"slaengine.{alias.name}" if is_module
                                  else "slaengine"))
            elif base.startswith("slaengine"):
                found.append((node.lineno, base))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(source))
    return found


CORE_FILES = sorted(p for p in CORE.rglob("*.py"))
PLUGIN_FILES = sorted(p for p in PLUGINS.rglob("*.py"))


def test_every_core_module_has_a_floor() -> None:
    unplaced = []
    for path in CORE_FILES:
        try:
            floor_of(module_name(path))
        except LookupError:
            unplaced.append(module_name(path))
    assert not unplaced, f"give these a floor in FLOORS: {unplaced}"


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_core_module_imports_from_a_higher_floor(path: Path) -> None:
    own = floor_of(module_name(path))
    upward = []
    for line, target in imports(path):
        assert not target.startswith("slaengine.plugins"), (
            f"{path.relative_to(ROOT)}:{line}: the core imports the plugin {target}")
        if target == "slaengine" and own < len(FLOORS) - 1:
            upward.append(f"line {line}: the package itself (interface floor)")
            continue
        if floor_of(target) > own:
            upward.append(f"line {line}: {target} ({FLOORS[floor_of(target)][0]})")
    assert not upward, (f"{module_name(path)} ({FLOORS[own][0]}) imports from above: "
                        + "; ".join(upward))


@pytest.mark.parametrize("path", PLUGIN_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_plugins_use_the_core_below_the_engine_and_presentation(path: Path) -> None:
    engine = [name for name, _ in FLOORS].index("engine")
    wrong = []
    for line, target in imports(path):
        if target.startswith("slaengine.plugins"):
            group = module_name(path).split(".")[2]
            if not target.startswith(f"slaengine.plugins.{group}"):
                wrong.append(f"line {line}: another plugin group's {target}")
            continue
        if target == "slaengine":
            continue  # from slaengine import hookimpl
        floor = floor_of(target)
        if floor == engine or floor == len(FLOORS) - 1:
            wrong.append(f"line {line}: {target} ({FLOORS[floor][0]})")
    assert not wrong, f"{module_name(path)}: " + "; ".join(wrong)


def test_the_check_sees_an_upward_import() -> None:
    """The checker itself: imports inside functions and relative ones are found, one under
    TYPE_CHECKING and the package's own names are not."""
    source = ("from typing import TYPE_CHECKING\n"
              "from slaengine import __version__\n"
              "if TYPE_CHECKING:\n    from slaengine.engine import evaluate\n"
              "def f():\n    from slaengine.cli import main\n    from slaengine import text\n"
              "    from .batch import Batch\n")
    found = [target for _, target in imports_in(source, "slaengine.engine.levels")]
    assert found == ["slaengine.cli", "slaengine.text", "slaengine.engine.batch"]
    assert floor_of("slaengine.cli") > floor_of("slaengine.engine.levels")
    assert floor_of("slaengine.engine.levels") == floor_of("slaengine.engine")
    assert floor_of("slaengine.credits.terms") < floor_of("slaengine.credits.rules")
