"""The README tells the truth: its error example and its first screen are what the tool prints,
its Python example gives what it shows, and it names every plugin the project ships."""

import doctest
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.cells import cell_len

from slaengine.cli import main
from slaengine.contract import parse_contract
from slaengine.errors import SlaError
from slaengine.pluginmanager import PLUGIN_TYPES, build_registry

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()


def test_readme_starts_with_the_two_commands():
    head = README.split("---")[0]
    assert 'pip install -e ".[test]" && slaengine evaluate contracts/isp-helpdesk.toml' in head
    assert "python -m pytest" in head


def test_readme_first_screen_is_the_real_output_at_80_columns(monkeypatch):
    # The excerpt after the two commands: each part between "..." lines is printed as it is by
    # `COLUMNS=80 slaengine evaluate contracts/isp-helpdesk.toml` run in the project folder.
    head = README.split("\n---\n")[0]
    (excerpt,) = re.findall(r"```text\n(.*?)\n```", head, flags=re.S)
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("COLUMNS", "80")
    result = CliRunner().invoke(main, ["evaluate", "contracts/isp-helpdesk.toml"])
    assert result.exit_code == 0, result.output
    parts = excerpt.split("\n...\n")
    assert len(parts) == 3 and result.stdout.startswith(parts[0] + "\n")
    for part in parts:
        assert part + "\n" in result.stdout, part
    assert max(cell_len(line) for line in excerpt.splitlines()) <= 80
    assert max(cell_len(line) for line in result.stdout.splitlines()) <= 80


def test_readme_error_example_is_real():
    contract = ROOT / "contracts" / "isp-helpdesk.toml"
    text = contract.read_text().replace('minimum = "60% within 1h"', 'minimun = "60% within 1h"')
    with pytest.raises(SlaError) as info:
        parse_contract(text, path=Path("contracts/isp-helpdesk.toml"))
    assert info.value.render() in README


@pytest.mark.parametrize("kind", list(PLUGIN_TYPES))
def test_readme_names_every_builtin_plugin(kind):
    registry = build_registry()
    builtin = [n for n in registry.names(kind)
               if registry.origin(kind, n).distribution == "slaengine"]
    missing = [n for n in builtin if f"`{n}`" not in README]
    assert not missing, f"README does not mention these {kind}s: {missing}"


def test_readme_python_example_gives_what_it_shows(monkeypatch):
    # The session in the "Python API" section, run as a doctest in the project folder: every
    # line it shows is what that line gives.
    section = README.split("\n## Python API\n")[1].split("\n## ")[0]
    (session,) = re.findall(r"```python\n(>>> .*?)\n```", section, flags=re.S)
    monkeypatch.chdir(ROOT)
    test = doctest.DocTestParser().get_doctest(session, {}, "README Python API", "README.md", 0)
    assert len(test.examples) >= 15
    report = []
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    result = runner.run(test, out=report.append)
    assert result.failed == 0, "".join(report)
