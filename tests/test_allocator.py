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
    monkeypatch.setattr(allocator, "_pool_chosen", False)
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
    monkeypatch.setattr(allocator, "_pool_chosen", False)
    assert allocator.choose_arrow_pool() == before.backend_name
