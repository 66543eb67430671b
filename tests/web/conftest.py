"""Web page tests: in-process pages through Starlette's TestClient, and a real browser against a real server (the
e2e fixtures)."""

import pytest

from tests.analytics.helpers import pin_today
from tests.e2e.conftest import server_factory, unique
from tests.registry.helpers import cheap_password_hashing
from tests.web.data import TODAY

__all__ = ["fast_passwords", "server_factory", "unique"]


@pytest.fixture(autouse=True)
def fast_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2id at its lowest cost: these tests sign in many times."""
    cheap_password_hashing(monkeypatch)


@pytest.fixture(autouse=True)
def pinned_today(monkeypatch: pytest.MonkeyPatch) -> None:
    """(The browser test's server is a process of its own, and keeps the real today.)"""
    pin_today(monkeypatch, TODAY)
