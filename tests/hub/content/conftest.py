"""Hub content test fixtures on top of tests/conftest.py."""

from __future__ import annotations

import pytest

from tests.registry.helpers import cheap_password_hashing

__all__ = ["fast_passwords"]


@pytest.fixture(autouse=True)
def fast_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2id at the lowest cost, so creating and logging in users stays quick."""
    cheap_password_hashing(monkeypatch)
