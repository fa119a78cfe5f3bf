"""The commands that read no data import no numpy, pyarrow or jinja2.

Each command runs in a fresh interpreter (the modules an earlier test imported would hide a
regression), in-process through ``slaengine.cli.main``; the probe then records which modules
were imported. No timing is asserted: examples/startup.py measures the time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONTRACTS = sorted((ROOT / "contracts").glob("*.toml"))
HEAVY = {"pyarrow", "numpy", "jinja2"}

# Only the project's own plugins are loaded: a third-party plugin installed beside them (the
# plugin template, say) may import what it likes, and pays for it itself.
PROBE = """
import json, os, sys
from importlib import metadata
_entry_points = metadata.entry_points
def own_entry_points(**select):
    found = _entry_points(**select)
    if select.get("group") != "slaengine":
        return found
    return metadata.EntryPoints(ep for ep in found if ep.value.startswith("slaengine.plugins."))
metadata.entry_points = own_entry_points
from slaengine.cli import main
try:
    main(sys.argv[1:])
except SystemExit as stop:
    code = stop.code
else:
    code = 0
with open(os.environ["PROBE_RECORD"], "w") as out:
    json.dump({"code": code, "modules": sorted(sys.modules)}, out)
"""


def run_command(args: list[str], tmp_path: Path) -> tuple[int, str, set[str]]:
    """Run ``slaengine ARGS`` in a fresh interpreter: exit code, stdout, modules imported."""
    record = tmp_path / "modules.json"
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")}
    env["PROBE_RECORD"] = str(record)
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True,
                          cwd=ROOT, env=env, check=False)
    found = json.loads(record.read_text())
    assert done.returncode == 0, done.stderr  # the probe itself ran to its end
    return found["code"], done.stdout, set(found["modules"])


def heavy(modules: set[str]) -> set[str]:
    return {m for m in modules if m.split(".")[0] in HEAVY}


BUILT_IN_PLUGINS = sorted(ep.value for ep in metadata.entry_points(group="slaengine")
                          if ep.value.startswith("slaengine.plugins."))


@pytest.mark.parametrize(("args", "expected"), [
    (["--help"], "Usage:"),
    (["-V"], "slaengine, version"),
    (["plugins"], "first_response_time"),
    (["plugins", "csv"], "source csv"),
    (["plugins", "zendesk"], "source zendesk"),
    (["plugins", "arrow"], "source arrow"),
    (["plugins", "tiered"], "penalty model tiered"),
    (["plugins", "html"], "reporter html"),
    (["metrics"], "customer_lifetime_value"),
    (["metrics", "csat"], "metric csat"),
    (["metrics", "aged_backlog"], "metric aged_backlog"),
    (["schema", "contract"], '"$schema"'),
])
def test_command_reading_no_data_imports_no_arrow(args: list[str], expected: str,
                                                   tmp_path: Path) -> None:
    code, out, modules = run_command(args, tmp_path)
    assert code == 0
    assert expected in out
    assert heavy(modules) == set()
    if args[0].startswith("-"):  # nor any plugin machinery, to print help or the version
        assert "pluggy" not in modules and "slaengine.pluginmanager" not in modules


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda p: p.name)
def test_validate_imports_no_arrow(contract: Path, tmp_path: Path) -> None:
    """Every example contract, each source adapter among them (csv, parquet through arrow)."""
    code, out, modules = run_command(["validate", str(contract)], tmp_path)
    assert code == 0
    assert ": ok" in out
    # The plugins were loaded and their schemas used: the probe saw the real work done.
    assert {"slaengine.plugins.metrics.csat", "slaengine.plugins.sources.arrow",
            "slaengine.plugins.penalties.tiered", "slaengine.contract"} <= modules
    assert heavy(modules) == set()


def test_a_bad_contract_is_reported_without_arrow(tmp_path: Path) -> None:
    """The error path of validate (a wrong key and an unknown metric) stays light too."""
    bad = tmp_path / "bad.toml"
    bad.write_text((ROOT / "contracts" / "isp-helpdesk.toml").read_text()
                   .replace('metric = "first_response_time"', 'metric = "first_reponse_time"', 1))
    code, _, modules = run_command(["validate", str(bad)], tmp_path)
    assert code == 2
    assert heavy(modules) == set()


def test_every_built_in_plugin_module_loads_without_arrow() -> None:
    """A plugin module that imports pyarrow (or numpy) at its top would undo the above for
    every command; each is imported alone in a fresh interpreter."""
    assert len(BUILT_IN_PLUGINS) >= 39
    program = ("import importlib, sys\n"
               "for name in sys.argv[1:]:\n"
               "    importlib.import_module(name)\n"
               "print(sorted(m for m in sys.modules if m.split('.')[0] in "
               f"{sorted(HEAVY)!r}))")
    done = subprocess.run([sys.executable, "-c", program, *BUILT_IN_PLUGINS],
                          capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_evaluate_still_imports_arrow(tmp_path: Path) -> None:
    """The probe can see pyarrow: a command that reads data does import it."""
    code, _, modules = run_command(["evaluate", str(ROOT / "contracts" / "isp-helpdesk.toml"),
                                    "--format", "json", "-o", str(tmp_path / "r.json")],
                                   tmp_path)
    assert code == 0
    assert {"pyarrow", "numpy"} <= heavy(modules)


def test_types_made_on_first_use_are_the_arrow_types() -> None:
    import pyarrow as pa

    from slaengine import fields, plugin
    from slaengine.lazy import pa as lazy_pa

    made = [getattr(fields, name) for name in
            ("TIMESTAMP", "CATEGORY", "TEXT", "SECONDS", "COUNT", "SCORE", "BOOL", "MONEY")]
    assert made == [pa.timestamp("us", tz="UTC"), pa.dictionary(pa.int32(), pa.string()),
                    pa.string(), pa.float64(), pa.int64(), pa.float64(), pa.bool_(),
                    pa.decimal128(18, 4)]
    for kind in fields.RECORD_KINDS.values():
        for name, type_ in kind.fields.items():
            assert type_ == fields.arrow_type(kind.type_name(name))
    assert fields.TICKETS.fields["created_at"] == fields.TIMESTAMP
    assert fields.TICKETS.type_name("priority") == "category"
    assert fields.COSTS.fields["amount"] == fields.MONEY
    assert "csat" in fields.TICKETS.fields and "amount" not in fields.TICKETS.fields
    assert plugin.REJECT_SCHEMA.names == ["source", "row", "field", "value", "reason"]
    assert plugin.REJECT_SCHEMA.field("row").type == pa.int64()
    assert lazy_pa.table is pa.table
    with pytest.raises(AttributeError):
        _ = fields.NOT_A_TYPE
    with pytest.raises(AttributeError):
        _ = lazy_pa.no_such_function
