"""What ships besides the code: the licence file the metadata declares and the typing marker."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_license_file_matches_the_declared_licence() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT"
    assert project["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License\n")
    assert "Copyright (c) the slaengine authors" in text
    assert 'THE SOFTWARE IS PROVIDED "AS IS"' in text


def test_py_typed_ships_as_package_data() -> None:
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "py.typed" in setuptools["package-data"]["slaengine"]
    assert (ROOT / "slaengine" / "py.typed").is_file()


def test_every_package_of_the_source_tree_ships() -> None:
    """The wheel holds the packages pyproject.toml lists, no others: a subpackage left out
    installs a slaengine that fails on import (``slaengine.engine`` missing)."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = set()
    for package, folder in setuptools["package-dir"].items():
        for init in (ROOT / folder).rglob("__init__.py"):
            parts = init.parent.relative_to(ROOT / folder).parts
            found.add(".".join((package, *parts)))
    assert found >= {"slaengine.engine", "slaengine.credits", "slaengine.plugins.metrics"}
    assert sorted(setuptools["packages"]) == sorted(found)


def test_holidays_is_a_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert any(d.split(">")[0].strip() == "holidays" for d in project["dependencies"])
