"""Routes without a typed method stay reachable: the raw `request`, and the v1 API's HTTP Basic routes."""

from __future__ import annotations

import base64

import pytest

from dockyard.client import Hub, NotFound
from tests.client.fake import FakeServer, Reply


def test_a_raw_request_is_signed_and_checked(fake: FakeServer) -> None:
    fake.add("GET", "/v2/anything/", Reply(json={"ok": True}))
    fake.add("DELETE", "/v2/gone/", Reply(404, {"detail": "gone"}))
    with Hub(fake.base_url, token="t") as hub:
        response = hub.request("GET", "/v2/anything/", query={"a": "1"})
        assert response.json() == {"ok": True}
        with pytest.raises(NotFound):
            hub.request("DELETE", "/v2/gone/")
        assert hub.request("DELETE", "/v2/gone/", ok=[404]).status_code == 404
    sent = fake.seen("GET", "/v2/anything/")[0]
    assert sent.headers["authorization"] == "Bearer t" and sent.query == [("a", "1")]


def test_v1_routes_use_basic_credentials(fake: FakeServer) -> None:
    fake.add("GET", "/v1/users/", Reply(json="OK"))
    fake.add("PUT", "/v1/users/alice/", Reply(204))
    with Hub(fake.base_url, username="alice", password="old") as hub:
        assert hub.v1_check_credentials()
        hub.v1_update_user(password="new")
        assert hub.context.password == "new"
    basic = "Basic " + base64.b64encode(b"alice:old").decode()
    assert fake.seen("GET", "/v1/users/")[0].headers["authorization"] == basic
    assert fake.seen("PUT", "/v1/users/alice/")[0].json() == {"password": "new"}
    with Hub(fake.base_url, token="only-a-token") as hub, pytest.raises(ValueError):
        hub.v1_check_credentials()
