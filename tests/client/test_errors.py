"""Refusals become exceptions that carry the status, the server's `detail` and `message`, the body and the
response, whatever shape the server used."""

from __future__ import annotations

import pytest

from dockyard.client import (
    AuthenticationError,
    BadRequest,
    Conflict,
    ConnectionFailed,
    Hub,
    HubError,
    NotFound,
    PermissionDenied,
    TwoFactorRequired,
)
from dockyard.client.errors import describe_body
from tests.client.fake import FakeServer, Reply
from tests.support.server import free_port

REPO = "/v2/namespaces/alice/repositories/app"


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, BadRequest),
        (401, AuthenticationError),
        (403, PermissionDenied),
        (404, NotFound),
        (409, Conflict),
        (418, HubError),
        (422, BadRequest),
    ],
)
def test_status_maps_to_an_exception_with_the_servers_words(
    fake: FakeServer, status: int, error: type[HubError]
) -> None:
    fake.add("GET", REPO, Reply(status, {"detail": "the detail", "message": "the message"}))
    with Hub(fake.base_url, retries=0) as hub, pytest.raises(error) as raised:
        hub.get_repository("alice", "app")
    exc = raised.value
    assert exc.status == status
    assert exc.message == "the message"
    assert exc.detail == "the detail"
    assert exc.body == {"detail": "the detail", "message": "the message"}
    assert exc.response is not None and exc.response.status_code == status
    assert exc.method == "GET" and exc.url is not None and exc.url.endswith(REPO)
    assert str(exc) == f"{status} the message"


def test_validation_fields_are_exposed(fake: FakeServer) -> None:
    body = {"detail": "invalid request: name: too short", "message": "invalid", "fields": {"name": ["too short"]}}
    fake.add("POST", "/v2/namespaces/alice/repositories", Reply(400, body))
    with Hub(fake.base_url) as hub, pytest.raises(BadRequest) as raised:
        hub.create_repository("alice", "a")
    assert raised.value.fields == {"name": ["too short"]}


def test_a_second_factor_challenge_without_a_callback(fake: FakeServer) -> None:
    challenge = {"detail": "Require secondary authentication on MFA enabled account", "login_2fa_token": "tok"}
    fake.add("POST", "/v2/users/login", Reply(401, challenge))
    with Hub(fake.base_url) as hub, pytest.raises(TwoFactorRequired) as raised:
        hub.login("alice", "pw")
    assert raised.value.login_2fa_token == "tok"
    assert raised.value.status == 401


def test_other_body_shapes() -> None:
    registry = {"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}]}
    assert describe_body(registry, "x") == ("MANIFEST_UNKNOWN: manifest unknown", None)
    assert describe_body({"detail": "only detail"}, "x") == ("only detail", "only detail")
    assert describe_body({"code": 5, "message": "grpc said"}, "x") == ("grpc said", None)
    assert describe_body("You have reached your pull rate limit.", "x") == (
        "You have reached your pull rate limit.",
        None,
    )
    assert describe_body({"detail": [{"msg": "field required"}]}, "x") == ("field required", "field required")
    assert describe_body(None, "Not Found") == ("Not Found", None)


def test_a_plain_text_refusal(fake: FakeServer) -> None:
    fake.add("GET", REPO, Reply(403, body=b"go away", headers={"Content-Type": "text/plain"}))
    with Hub(fake.base_url) as hub, pytest.raises(PermissionDenied) as raised:
        hub.get_repository("alice", "app")
    assert raised.value.message == "go away" and raised.value.body == "go away"


def test_no_answer_at_all() -> None:
    with Hub(f"http://127.0.0.1:{free_port()}", retries=0, timeout=5) as hub, pytest.raises(ConnectionFailed) as raised:
        hub.me()
    assert raised.value.status is None
    assert "cannot reach" in raised.value.message


def test_delete_images_refusals_are_a_result_not_an_exception(fake: FakeServer) -> None:
    refusal = {
        "txnid": "t",
        "message": "Deletion not possible: 1 error(s) and 1 warning(s) not ignored",
        "detail": "Deletion not possible: 1 error(s) and 1 warning(s) not ignored",
        "errinfo": {
            "type": "validation",
            "details": {
                "errors": [{"repository": "app", "digest": "sha256:1", "error": "not_found"}],
                "warnings": [{"repository": "app", "digest": "sha256:2", "warning": "current_tag", "tags": ["v1"]}],
            },
        },
    }
    fake.add("POST", "/v2/namespaces/alice/delete-images", Reply(400, refusal))
    with Hub(fake.base_url) as hub:
        result = hub.delete_images("alice", [("app", "sha256:1"), ("app", "sha256:2")], dry_run=True)
    assert not result.ok and result.dry_run
    assert result.message is not None and result.message.startswith("Deletion not possible")
    assert [(e.digest, e.error) for e in result.errors] == [("sha256:1", "not_found")]
    assert [(w.digest, w.warning, w.tags) for w in result.warnings] == [("sha256:2", "current_tag", ["v1"])]
    sent = fake.seen("POST", "/v2/namespaces/alice/delete-images")[0].json()
    assert sent["dry_run"] is True
    assert sent["manifests"] == [
        {"repository": "app", "digest": "sha256:1"},
        {"repository": "app", "digest": "sha256:2"},
    ]


def test_other_delete_images_refusals_still_raise(fake: FakeServer) -> None:
    fake.add("POST", "/v2/namespaces/alice/delete-images", Reply(400, {"detail": "bad body", "message": "bad body"}))
    with Hub(fake.base_url) as hub, pytest.raises(BadRequest):
        hub.delete_images("alice", [("app", "sha256:1")])
