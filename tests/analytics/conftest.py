"""Analytics tests drive a real server too (live capture through real clients): share the e2e fixtures."""

from tests.e2e.conftest import server_factory, unique

__all__ = ["server_factory", "unique"]
