"""The query path's one bounded cache (citeqa.cache.LRU)."""

from __future__ import annotations

import threading

import pytest

from citeqa.cache import LRU


def test_the_least_recently_used_item_goes_first() -> None:
    cache: LRU[str, int] = LRU(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "a" is now the most recently used
    cache.put("c", 3)
    assert cache.get("b") is None
    assert (cache.get("a"), cache.get("c"), len(cache)) == (1, 3, 2)


def test_putting_a_kept_key_again_replaces_its_value_and_keeps_the_size() -> None:
    cache: LRU[str, int] = LRU(2)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.put("a", 10)
    cache.put("c", 3)  # "b" was the least recently used
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (10, None, 3)


def test_a_cache_of_no_items_is_refused() -> None:
    with pytest.raises(ValueError):
        LRU(0)


def test_threads_sharing_a_cache_never_see_it_over_its_size() -> None:
    cache: LRU[int, int] = LRU(64)
    sizes: list[int] = []

    def work(offset: int) -> None:
        for i in range(2_000):
            cache.put(offset + i % 100, i)
            cache.get(offset + (i * 7) % 100)
            sizes.append(len(cache))

    threads = [threading.Thread(target=work, args=(k * 1000,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert max(sizes) <= 64 and len(cache) == 64
