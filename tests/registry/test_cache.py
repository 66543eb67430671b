"""The manifest cache never resurrects an answer read before a change that invalidated it."""

from __future__ import annotations

from dockyard.registry.cache import CachedManifest, ManifestCache

OLD = CachedManifest(1, "sha256:" + "a" * 64, "application/vnd.oci.image.manifest.v1+json", 2, b"{}")


def test_a_lookup_that_raced_a_change_is_not_cached() -> None:
    cache = ManifestCache(ttl_seconds=60)
    started = cache.epoch  # a GET reads the database ...
    cache.invalidate("ns/app")  # ... while a push commits and invalidates the repository
    cache.put("ns/app", "latest", OLD, started)
    assert cache.get("ns/app", "latest") is None

    cache.put("ns/app", "latest", OLD, cache.epoch)
    assert cache.get("ns/app", "latest") == OLD
    cache.clear()
    assert cache.get("ns/app", "latest") is None


def test_entries_expire_and_a_zero_ttl_caches_nothing() -> None:
    cache = ManifestCache(ttl_seconds=0)
    cache.put("ns/app", "latest", OLD, cache.epoch)
    assert cache.get("ns/app", "latest") is None
