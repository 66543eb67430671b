from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.client.fake import FakeServer


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    server = FakeServer().start()
    yield server
    server.stop()
