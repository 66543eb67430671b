"""Registry test fixtures on top of tests/conftest.py."""

from __future__ import annotations

import pytest

from tests.registry.helpers import cheap_password_hashing

__all__ = ["fast_passwords"]


@pytest.fixture(autouse=True)
def fast_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2id, at the lowest cost: every test's app hashes the administrator's password at start-up and
    each account's first login verifies one, which at production cost dominates the suite's run time."""
    cheap_password_hashing(monkeypatch)
