"""The seed's images API: summary, images with status and current/past tags, an image's tags, and bulk
deletion that does nothing unless there are no errors and every warning is ignored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.testclient import TestClient

from tests.hub.content.helpers import (
    OCI_MANIFEST,
    admin,
    auth_for,
    create_repo,
    pull,
    push,
    push_index,
    run_analytics,
    user,
)
from tests.registry.helpers import assert_error

IMAGES = "/v2/namespaces/admin/repositories/app/images"
SUMMARY = "/v2/namespaces/admin/repositories/app/images-summary"
DELETE = "/v2/namespaces/admin/delete-images"
FUTURE = (datetime.now(UTC) + timedelta(days=365)).isoformat()
PAST = "2000-01-01T00:00:00Z"


def iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def test_active_and_inactive_images(client: TestClient) -> None:
    headers = admin(client)
    old = push(client, "admin/app", "old")
    pulled = push(client, "admin/app", "pulled")
    cutoff = datetime.now(UTC)
    assert pull(client, "admin/app", "pulled").status_code == 200
    assert pull(client, "admin/app", "old", method="HEAD").status_code == 200  # a HEAD is not a pull
    run_analytics(client)

    summary = client.get(SUMMARY, params={"active_from": iso(cutoff)}, headers=headers).json()
    assert summary["statistics"] == {"total": 2, "active": 1, "inactive": 1}
    assert summary["active_from"] == iso(cutoff)
    default = client.get(SUMMARY, headers=headers).json()
    assert default["statistics"] == {"total": 2, "active": 2, "inactive": 0}
    assert datetime.fromisoformat(default["active_from"]) < datetime.now(UTC) - timedelta(days=27)

    def listed(**params: Any) -> list[dict[str, Any]]:
        response = client.get(IMAGES, params={"active_from": iso(cutoff), **params}, headers=headers)
        assert response.status_code == 200, response.text
        results: list[dict[str, Any]] = response.json()["results"]
        return results

    images = {image["digest"]: image for image in listed()}
    assert images[pulled]["status"] == "active" and images[pulled]["last_pulled"]
    assert images[old]["status"] == "inactive" and images[old]["last_pulled"] is None
    assert images[old]["tags"] == [{"tag": "old", "is_current": True}]
    assert set(images[old]) == {"namespace", "repository", "digest", "tags", "last_pushed", "last_pulled", "status"}
    assert (images[old]["namespace"], images[old]["repository"]) == ("admin", "app")
    assert [i["digest"] for i in listed(status="active")] == [pulled]
    assert [i["digest"] for i in listed(status="inactive")] == [old]
    assert [i["digest"] for i in listed(ordering="-last_activity")] == [pulled, old]
    assert [i["digest"] for i in listed(ordering="last_activity")] == [old, pulled]
    assert [i["digest"] for i in listed(ordering="digest")] == sorted([old, pulled])
    assert [i["digest"] for i in listed(ordering="-digest")] == sorted([old, pulled], reverse=True)


def test_images_pages_and_validation(client: TestClient) -> None:
    headers = admin(client)
    for tag in ("a", "b", "c"):
        push(client, "admin/app", tag)
    page = client.get(IMAGES, params={"page_size": 2}, headers=headers).json()
    assert page["count"] == 3 and len(page["results"]) == 2
    assert page["next"] == "http://testserver/v2/namespaces/admin/repositories/app/images?page_size=2&page=2"
    second = client.get(page["next"].removeprefix("http://testserver"), headers=headers).json()
    assert second["previous"] == "http://testserver/v2/namespaces/admin/repositories/app/images?page_size=2&page=1"
    assert client.get(IMAGES, params={"page": 3, "page_size": 2}, headers=headers).status_code == 404
    assert client.get(IMAGES, params={"page_size": 500}, headers=headers).json()["count"] == 3
    assert client.get(IMAGES + "/", headers=headers).status_code == 200
    for params in ({"status": "asleep"}, {"ordering": "size"}, {"active_from": "yesterday"}, {"page": "x"}):
        response = client.get(IMAGES, params=params, headers=headers)
        assert response.status_code == 400, params
        assert "detail" in response.json()
    assert client.get(SUMMARY, params={"active_from": "soon"}, headers=headers).status_code == 400


def test_images_show_current_and_past_tags(client: TestClient) -> None:
    headers = admin(client)
    first = push(client, "admin/app", "latest", seed="one")
    registry = auth_for(client, "admin/app")
    body = client.get(f"/v2/admin/app/manifests/{first}", headers={**registry, "Accept": OCI_MANIFEST}).content
    assert (
        client.put(
            "/v2/admin/app/manifests/v1", content=body, headers={**registry, "Content-Type": OCI_MANIFEST}
        ).status_code
        == 201
    )
    push(client, "admin/app", "latest", seed="two")  # `latest` moves on; `v1` stays
    images = {i["digest"]: i for i in client.get(IMAGES, headers=headers).json()["results"]}
    assert images[first]["tags"] == [{"tag": "latest", "is_current": False}, {"tag": "v1", "is_current": True}]

    tags = client.get(f"{IMAGES}/{first}/tags", headers=headers)
    assert tags.status_code == 200
    assert tags.json()["results"] == images[first]["tags"] and tags.json()["count"] == 2
    assert client.get(f"{IMAGES}/sha256:{'0' * 64}/tags", headers=headers).status_code == 404
    assert client.get(f"{IMAGES}/not-a-digest/tags", headers=headers).status_code == 400


def test_images_of_private_repositories_are_invisible(client: TestClient) -> None:
    headers = admin(client)
    assert create_repo(client, headers, "admin", "app", is_private=True).status_code == 201
    digest = push(client, "admin/app", "v1")
    bob = user(client, "bob")
    for who in ({}, bob):
        assert client.get(IMAGES, headers=who).status_code == 404
        assert client.get(SUMMARY, headers=who).status_code == 404
        assert client.get(f"{IMAGES}/{digest}/tags", headers=who).status_code == 404
    assert client.get(IMAGES, headers=headers).json()["count"] == 1


# --- delete-images -----------------------------------------------------------------------------------------
def delete(client: TestClient, headers: dict[str, str], manifests: list[dict[str, str]], **extra: Any) -> Any:
    return client.post(DELETE, json={"manifests": manifests, **extra}, headers=headers)


def rejected(response: Any) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    body: dict[str, Any] = response.json()
    assert body["detail"] == body["message"] and body["txnid"]
    assert body["errinfo"]["type"] == "validation"
    assert body["errinfo"]["api_call_name"] == "PostNamespacesDeleteImages"
    details: dict[str, Any] = body["errinfo"]["details"]
    return details


def still_there(client: TestClient, repo: str, digest: str) -> bool:
    headers = {**auth_for(client, repo, "pull"), "Accept": OCI_MANIFEST}
    return client.get(f"/v2/{repo}/manifests/{digest}", headers=headers).status_code == 200


def test_warnings_must_all_be_ignored_before_anything_is_deleted(client: TestClient) -> None:
    headers = admin(client)
    tagged = push(client, "admin/app", "v1")
    registry = auth_for(client, "admin/app")
    body = client.get(f"/v2/admin/app/manifests/{tagged}", headers={**registry, "Accept": OCI_MANIFEST}).content
    client.put("/v2/admin/app/manifests/v1.0", content=body, headers={**registry, "Content-Type": OCI_MANIFEST})
    untagged = push(client, "admin/app", None, seed="untagged")
    manifests = [{"repository": "app", "digest": tagged}, {"repository": "app", "digest": untagged}]

    details = rejected(delete(client, headers, manifests))
    assert details["errors"] == []
    assert details["warnings"] == [
        {"repository": "app", "digest": tagged, "warning": "is_active", "tags": None},
        {"repository": "app", "digest": tagged, "warning": "current_tag", "tags": ["v1", "v1.0"]},
        {"repository": "app", "digest": untagged, "warning": "is_active", "tags": None},
    ]
    assert still_there(client, "admin/app", tagged) and still_there(client, "admin/app", untagged)

    # Ignoring some of the warnings is not enough; the rest come back.
    partial = [{"repository": "app", "digest": d, "warning": "is_active"} for d in (tagged, untagged)]
    details = rejected(delete(client, headers, manifests, ignore_warnings=partial))
    assert [w["warning"] for w in details["warnings"]] == ["current_tag"]
    # An ignore that names fewer tags than the image has now does not cover it.
    stale = [*partial, {"repository": "app", "digest": tagged, "warning": "current_tag", "tags": ["v1"]}]
    assert [w["tags"] for w in rejected(delete(client, headers, manifests, ignore_warnings=stale))["warnings"]] == [
        ["v1", "v1.0"]
    ]
    assert still_there(client, "admin/app", tagged)

    everything = [*partial, {"repository": "app", "digest": tagged, "warning": "current_tag", "tags": ["v1", "v1.0"]}]
    dry = delete(client, headers, manifests, ignore_warnings=everything, dry_run=True)
    assert dry.status_code == 200, dry.text
    assert dry.json() == {
        "dry_run": True,
        "metrics": {"manifest_deletes": 2, "manifest_errors": 0, "tag_deletes": 2, "tag_errors": 0},
    }
    assert still_there(client, "admin/app", tagged)

    done = delete(client, headers, manifests, ignore_warnings=everything)
    assert done.status_code == 200, done.text
    assert done.json() == {
        "dry_run": False,
        "metrics": {"manifest_deletes": 2, "manifest_errors": 0, "tag_deletes": 2, "tag_errors": 0},
    }
    assert not still_there(client, "admin/app", tagged) and not still_there(client, "admin/app", untagged)
    assert client.get("/v2/repositories/admin/app/tags/").json()["count"] == 0
    assert_error(client.get("/v2/admin/app/manifests/v1", headers=registry), 404, "MANIFEST_UNKNOWN")


def test_an_old_untagged_image_needs_no_ignores(client: TestClient) -> None:
    headers = admin(client)
    digest = push(client, "admin/app", None)
    response = delete(client, headers, [{"repository": "app", "digest": digest}], active_from=FUTURE)
    assert response.status_code == 200, response.text
    assert response.json()["metrics"]["manifest_deletes"] == 1
    assert not still_there(client, "admin/app", digest)


def test_errors_cannot_be_ignored(client: TestClient) -> None:
    headers = admin(client)
    index, children = push_index(client, "admin/app", "multi", [("linux", "amd64"), ("linux", "arm64")])
    plain = push(client, "admin/app", None, seed="plain")
    push(client, "admin/secret", "v1")
    client.post("/v2/repositories/admin/secret/privacy/", json={"is_private": True}, headers=headers)
    missing = "sha256:" + "0" * 64
    manifests = [
        {"repository": "app", "digest": plain},
        {"repository": "app", "digest": children[0]},
        {"repository": "app", "digest": missing},
        {"repository": "nope", "digest": plain},
    ]
    ignore = [{"repository": "app", "digest": plain, "warning": "is_active"}]
    details = rejected(delete(client, headers, manifests, ignore_warnings=ignore, active_from=PAST))
    assert details["errors"] == [
        {"repository": "app", "digest": children[0], "error": "child_manifest"},
        {"repository": "app", "digest": missing, "error": "not_found"},
        {"repository": "nope", "digest": plain, "error": "not_found"},
    ]
    assert still_there(client, "admin/app", plain)

    # Someone who may read but not delete gets `unauthorized`; a private repository they cannot see, `not_found`.
    bob = user(client, "bob")
    secret = push(client, "admin/secret", "v2", seed="secret")
    details = rejected(
        delete(client, bob, [{"repository": "app", "digest": plain}, {"repository": "secret", "digest": secret}])
    )
    assert details["errors"] == [
        {"repository": "app", "digest": plain, "error": "unauthorized"},
        {"repository": "secret", "digest": secret, "error": "not_found"},
    ]
    assert still_there(client, "admin/app", plain)
    assert index


def test_deleting_an_index_takes_its_children(client: TestClient) -> None:
    headers = admin(client)
    index, children = push_index(client, "admin/app", "multi", [("linux", "amd64"), ("linux", "arm64")])
    ignore = [
        {"repository": "app", "digest": index, "warning": "is_active"},
        {"repository": "app", "digest": index, "warning": "current_tag"},
    ]
    response = delete(client, headers, [{"repository": "app", "digest": index}], ignore_warnings=ignore)
    assert response.status_code == 200, response.text
    assert response.json()["metrics"] == {
        "manifest_deletes": 3,
        "manifest_errors": 0,
        "tag_deletes": 1,
        "tag_errors": 0,
    }
    assert not any(still_there(client, "admin/app", d) for d in (index, *children))
    assert client.get(IMAGES, headers=headers).json()["count"] == 0


def test_delete_images_validation(client: TestClient) -> None:
    headers = admin(client)
    digest = push(client, "admin/app", "v1")
    assert delete(client, {}, [{"repository": "app", "digest": digest}]).status_code == 401
    assert (
        client.post(
            "/v2/namespaces/nobody/delete-images",
            json={"manifests": [{"repository": "app", "digest": digest}]},
            headers=headers,
        ).status_code
        == 404
    )
    for body in (
        {"manifests": []},
        {},
        {"manifests": [{"repository": "app", "digest": "sha256:short"}]},
        {"manifests": [{"repository": "App", "digest": digest}]},
        {
            "manifests": [{"repository": "app", "digest": digest}],
            "ignore_warnings": [{"repository": "app", "digest": digest, "warning": "other"}],
        },
        {"manifests": [{"repository": "app", "digest": digest}], "active_from": "later"},
        {"manifests": [{"repository": "app", "digest": digest}], "dry_run": "perhaps"},
    ):
        response = client.post(DELETE, json=body, headers=headers)
        assert response.status_code == 400, body
        assert "detail" in response.json()
    assert still_there(client, "admin/app", digest)
