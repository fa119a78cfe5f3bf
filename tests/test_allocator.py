"""keep_freed_memory: tunes glibc once, and stays out of the way when told."""

from __future__ import annotations

import platform

import pytest

from slaengine import allocator


def test_leaves_malloc_alone_when_the_environment_sets_it(monkeypatch) -> None:
    monkeypatch.setattr(allocator, "_done", False)
    monkeypatch.setenv("MALLOC_ARENA_MAX", "2")
    assert allocator.keep_freed_memory() is False
    assert allocator._done is False


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
                    reason="glibc only")
def test_tunes_glibc_once(monkeypatch) -> None:
    for name in [n for n in __import__("os").environ if n.startswith("MALLOC_")]:
        monkeypatch.delenv(name)
    monkeypatch.setattr(allocator, "_done", False)
    assert allocator.keep_freed_memory() is True
    assert allocator.keep_freed_memory() is True  # the second call changes nothing
    assert allocator._done is True


def test_other_systems_are_left_alone(monkeypatch) -> None:
    monkeypatch.setattr(allocator, "_done", False)
    monkeypatch.setattr(platform, "system", lambda: "Darwin")
    assert allocator.keep_freed_memory() is False


def test_arrow_pool_is_jemalloc_where_arrow_has_it(monkeypatch) -> None:
    import pyarrow as pa

    before = pa.default_memory_pool()
    monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL", raising=False)
    try:
        try:
            pa.jemalloc_memory_pool()
            expected = "jemalloc"
        except NotImplementedError:
            expected = before.backend_name
        assert allocator.choose_arrow_pool() == expected
    finally:
        pa.set_memory_pool(before)


def test_arrow_pool_named_in_the_environment_is_kept(monkeypatch) -> None:
    import pyarrow as pa

    before = pa.default_memory_pool()
    monkeypatch.setenv("ARROW_DEFAULT_MEMORY_POOL", "system")
    assert allocator.choose_arrow_pool() == before.backend_name


_STATE = """
import gc, json, sys
import pyarrow as pa
from slaengine.contract import load_contract
from slaengine.engine import evaluate, tuned

def state():
    return [pa.default_memory_pool().backend_name, gc.isenabled()]

before = state()
evaluate(load_contract(sys.argv[1]))
after = state()
with tuned():
    inside = state()
    evaluate(load_contract(sys.argv[1]))
left = state()
print(json.dumps({"before": before, "after": after, "inside": inside, "left": left}))
"""


def test_evaluate_leaves_the_process_as_it_found_it_and_tuned_undoes_itself() -> None:
    # In a fresh interpreter (the suite's own process may have been tuned by earlier tests):
    # a plain evaluate() keeps Arrow's default pool and the cycle collector; inside tuned()
    # the pool is jemalloc (where Arrow has it) and the collector off; after it, as before.
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    import pyarrow as pa

    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    contract = Path(__file__).parent / "data" / "small.toml"
    done = subprocess.run([sys.executable, "-c", _STATE, str(contract)], env=env,
                          capture_output=True, text=True, check=True)
    found = json.loads(done.stdout)
    assert found["before"][1] is True
    assert found["after"] == found["before"]
    try:
        pa.jemalloc_memory_pool()
        jemalloc = "jemalloc"
    except NotImplementedError:
        jemalloc = found["before"][0]
    assert found["inside"] == [jemalloc, False]
    assert found["left"] == found["before"]
    if jemalloc == "jemalloc":  # the wheels default to mimalloc: the change is real
        assert found["before"][0] != "jemalloc"


def test_tuned_restores_the_collector_and_the_pool_when_the_body_fails() -> None:
    import gc

    import pyarrow as pa

    from slaengine.runtime import tuned

    pool, collecting = pa.default_memory_pool().backend_name, gc.isenabled()
    with pytest.raises(RuntimeError), tuned():
        assert not gc.isenabled()
        raise RuntimeError("stop")
    assert (pa.default_memory_pool().backend_name, gc.isenabled()) == (pool, collecting)
