"""The exports-shaped generator (examples/generate_exports.py) writes the types real exports
have, in row groups of a fixed size, the same bytes for the same seed; and the benchmark's
DuckDB and polars queries compute on it what slaengine computes."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"slaengine_examples_{name}",
                                                  EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def gen():
    path, modules = list(sys.path), set(sys.modules)
    yield _load("generate_exports")
    sys.path[:] = path
    for name in set(sys.modules) - modules:
        sys.modules.pop(name, None)


@pytest.fixture(scope="module")
def small(gen, tmp_path_factory):
    """2,500 tickets over three months in row groups of 1,000 (the real size is 1,000,000)."""
    out = tmp_path_factory.mktemp("exports") / "exports.parquet"
    size, gen.ROW_GROUP = gen.ROW_GROUP, 1000
    try:
        assert gen.generate(out, 2500, seed=7, months=3) == 2500
    finally:
        gen.ROW_GROUP = size
    return out


def test_the_columns_have_the_types_of_real_exports(small):
    schema = pq.read_schema(small)
    assert schema.field("id").type == pa.int64()
    for name in ("priority", "status", "channel", "group"):
        assert schema.field(name).type == pa.dictionary(pa.int8(), pa.string()), name
    for name in ("contacts", "csat", "nps", "reopens"):
        assert schema.field(name).type == pa.int8(), name
    assert schema.field("created_at").type == pa.timestamp("ms", tz="UTC")
    table = pq.read_table(small)
    ids = table["id"].to_numpy()
    assert (ids[1:] > ids[:-1]).all() and ids[0] == 4_200_000  # increasing, unique
    assert ids[-1] - ids[0] + 1 > len(ids)  # with gaps, as deleted tickets leave them
    # nullable small integers: no survey answer, never answered, still open
    assert table["csat"].null_count > 0 and table["nps"].null_count > 0
    assert table["contacts"].null_count == table["first_reply_at"].null_count > 0
    assert pc.all(pc.is_valid(table["created_at"])).as_py()


def test_row_groups_are_of_the_fixed_size(small):
    meta = pq.ParquetFile(small).metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [1000, 1000, 500]


def test_the_same_seed_writes_the_same_bytes(gen, small, tmp_path):
    again = tmp_path / "again.parquet"
    size, gen.ROW_GROUP = gen.ROW_GROUP, 1000
    try:
        gen.generate(again, 2500, seed=7, months=3)
    finally:
        gen.ROW_GROUP = size
    assert again.read_bytes() == small.read_bytes()
    other = tmp_path / "other.parquet"
    gen.generate(other, 2500, seed=8, months=3)
    assert other.read_bytes() != small.read_bytes()


@pytest.mark.parametrize("engine", ["duckdb", "polars"])
def test_the_benchmark_engines_agree_with_slaengine_on_exports(small, engine, tmp_path):
    """Every figure of the nine service levels (3 months x (6 levels x 4 priorities + 3)),
    counts and shares exactly, percentiles exactly, means to 1e-9: the FCR query also leaves
    out reopened tickets, as slaengine does when the source has reopens."""
    pytest.importorskip(engine, reason="the benchmark compares with it (the bench extra)")
    bench = _load("benchmark")
    from slaengine.pluginmanager import build_registry

    variant = bench.VARIANTS["exports"]
    contract = bench.contract_copy(small, "parquet", variant, tmp_path)
    ours, read, _ = bench.run_slaengine(small, "parquet", contract, build_registry(),
                                        tmp_path / "report.json")
    theirs, rows = getattr(bench, f"run_{engine}")(small, "parquet", variant)
    assert read == rows == 2500
    assert len(ours) == 3 * (6 * 4 + 3)
    assert bench.compare(ours, theirs, engine) == []
    # and the comparison can fail: one hit fewer is found
    key = next(k for k in ours if k.startswith("fcr|"))
    theirs[key] = [theirs[key][0], theirs[key][1] - 1, theirs[key][2]]
    assert bench.compare(ours, theirs, engine) != []


@pytest.mark.parametrize("engine", ["slaengine", "reading", "floor+id"])
def test_the_benchmark_times_the_work_alone(small, engine, tmp_path):
    """Each engine runs in a fresh process, as the benchmark runs it, and imports nothing
    inside its timed work (pyarrow.parquet.read_table imports pyarrow.dataset, and with it
    pandas when installed: half a second that was once counted as the floor's reading)."""
    import json
    import subprocess

    bench = _load("benchmark")
    contract = bench.contract_copy(small, "parquet", bench.VARIANTS["exports"], tmp_path)
    result = tmp_path / "result.json"
    subprocess.run([sys.executable, str(EXAMPLES / "benchmark.py"), "--child", engine,
                    "--child-format", "parquet", "--child-variant", "exports",
                    "--child-data", str(small), "--child-contract", str(contract),
                    "--child-result", str(result)], check=True)
    found = json.loads(result.read_text())
    assert found["rows"] == 2500
    assert found["imported"] == []
    assert found["wall"] > 0
