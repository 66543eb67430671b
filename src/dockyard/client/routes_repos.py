"""Flows for repositories, tags, images, stars, comments, collaborators, team permissions, search, audit logs,
webhooks and automated builds."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import httpx

from dockyard.client import models as m
from dockyard.client.calls import (
    Call,
    Flow,
    Listing,
    body,
    delete,
    fetch,
    fetch_list,
    get,
    item_parser,
    json_of,
    params,
    patch,
    post,
    put,
    seg,
    send,
)
from dockyard.client.calls import exists as _exists
from dockyard.client.context import Context
from dockyard.client.errors import error_for


def _when(value: datetime | str | None) -> str | None:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return value


def _ns(namespace: str, repository: str) -> str:
    """The current (`/v2/namespaces/...`) path of a repository."""
    return f"/v2/namespaces/{seg(namespace)}/repositories/{seg(repository)}"


def _legacy(namespace: str, repository: str) -> str:
    """The legacy (`/v2/repositories/...`) path, for the routes that exist only there."""
    return f"/v2/repositories/{seg(namespace)}/{seg(repository)}"


# --- repositories ------------------------------------------------------------------------------------------------
def list_repositories(
    ctx: Context,
    namespace: str,
    *,
    ordering: str | None = None,
    name: str | None = None,
    page_size: int = 100,
) -> Listing[m.Repository]:
    """A namespace's repositories. `ordering`: name, last_updated or pull_count, `-` first for descending;
    `name`: a part of the name to match."""
    query = params(ordering=ordering, name=name, page_size=page_size)
    return Listing(get(f"/v2/namespaces/{seg(namespace)}/repositories", query), item_parser(m.Repository))


def get_repository(ctx: Context, namespace: str, repository: str) -> Flow[m.Repository]:
    return (yield from fetch(m.Repository, get(_ns(namespace, repository))))


def repository_exists(ctx: Context, namespace: str, repository: str) -> Flow[bool]:
    return (yield from _exists(Call("HEAD", _ns(namespace, repository))))


def create_repository(
    ctx: Context,
    namespace: str,
    name: str,
    *,
    description: str | None = None,
    full_description: str | None = None,
    is_private: bool = False,
) -> Flow[m.Repository]:
    payload = body(
        name=name,
        namespace=namespace,
        description=description,
        full_description=full_description,
        is_private=is_private,
    )
    call = post(f"/v2/namespaces/{seg(namespace)}/repositories", payload, invalidates=(_legacy(namespace, name),))
    return (yield from fetch(m.Repository, call))


def update_repository(
    ctx: Context,
    namespace: str,
    repository: str,
    *,
    description: str | None = None,
    full_description: str | None = None,
) -> Flow[m.Repository]:
    """Change the short description and/or the full description (README)."""
    call = patch(_legacy(namespace, repository) + "/", body(description=description, full_description=full_description))
    return (yield from fetch(m.Repository, call))


def set_privacy(ctx: Context, namespace: str, repository: str, is_private: bool) -> Flow[None]:
    """Make a repository private or public."""
    return (yield from send(post(_legacy(namespace, repository) + "/privacy/", {"is_private": is_private})))


def delete_repository(ctx: Context, namespace: str, repository: str) -> Flow[None]:
    """Delete a repository with its tags and images."""
    return (yield from send(delete(_legacy(namespace, repository) + "/")))


def set_immutable_tags(
    ctx: Context, namespace: str, repository: str, enabled: bool, rules: Sequence[str] | None = None
) -> Flow[m.Repository]:
    """Turn immutable tags on or off, with the rules (regular expressions) naming the tags they cover."""
    payload = body(immutable_tags=enabled, immutable_tags_rules=list(rules) if rules is not None else None)
    return (yield from fetch(m.Repository, patch(_ns(namespace, repository) + "/immutabletags", payload)))


def verify_immutable_tags(ctx: Context, namespace: str, repository: str, regex: str) -> Flow[list[str]]:
    """The repository's tags a rule would make immutable."""
    call = post(_ns(namespace, repository) + "/immutabletags/verify", {"regex": regex}, invalidates=())
    verification = yield from fetch(m.ImmutableTagsVerification, call)
    return verification.tags


def star(ctx: Context, namespace: str, repository: str) -> Flow[None]:
    return (yield from send(post(_legacy(namespace, repository) + "/stars/", {})))


def unstar(ctx: Context, namespace: str, repository: str) -> Flow[None]:
    return (yield from send(delete(_legacy(namespace, repository) + "/stars/")))


# --- tags --------------------------------------------------------------------------------------------------------
def list_tags(
    ctx: Context,
    namespace: str,
    repository: str,
    *,
    ordering: str | None = None,
    name: str | None = None,
    page_size: int = 100,
) -> Listing[m.Tag]:
    """A repository's tags (`ordering`: last_updated or name, `-` first for descending)."""
    query = params(ordering=ordering, name=name, page_size=page_size)
    return Listing(get(_ns(namespace, repository) + "/tags", query), item_parser(m.Tag))


def get_tag(ctx: Context, namespace: str, repository: str, tag: str) -> Flow[m.Tag]:
    return (yield from fetch(m.Tag, get(_ns(namespace, repository) + f"/tags/{seg(tag)}")))


def tag_exists(ctx: Context, namespace: str, repository: str, tag: str) -> Flow[bool]:
    return (yield from _exists(Call("HEAD", _ns(namespace, repository) + f"/tags/{seg(tag)}")))


def delete_tag(ctx: Context, namespace: str, repository: str, tag: str) -> Flow[None]:
    """Delete a tag (the image it pointed at stays, untagged)."""
    return (yield from send(delete(_legacy(namespace, repository) + f"/tags/{seg(tag)}/")))


# --- images ------------------------------------------------------------------------------------------------------
def images_summary(
    ctx: Context, namespace: str, repository: str, *, active_from: datetime | str | None = None
) -> Flow[m.ImagesSummary]:
    """How many images the repository has, active and inactive (pushed or pulled since `active_from`, by
    default a month ago)."""
    call = get(_ns(namespace, repository) + "/images-summary", params(active_from=_when(active_from)))
    return (yield from fetch(m.ImagesSummary, call))


def list_images(
    ctx: Context,
    namespace: str,
    repository: str,
    *,
    status: str | None = None,
    ordering: str | None = None,
    active_from: datetime | str | None = None,
    page_size: int = 100,
) -> Listing[m.ImageEntry]:
    """A repository's images with their tags and status (`status`: active or inactive; `ordering`:
    last_activity or digest, `-` first for descending)."""
    query = params(status=status, ordering=ordering, active_from=_when(active_from), page_size=page_size)
    return Listing(get(_ns(namespace, repository) + "/images", query), item_parser(m.ImageEntry))


def image_tags(
    ctx: Context, namespace: str, repository: str, digest: str, *, page_size: int = 100
) -> Listing[m.ImageTag]:
    """An image's current and past tags."""
    call = get(_ns(namespace, repository) + f"/images/{seg(digest)}/tags", params(page_size=page_size))
    return Listing(call, item_parser(m.ImageTag))


ManifestRef = tuple[str, str] | Mapping[str, str] | m.ImageEntry


def _manifest(namespace: str, ref: ManifestRef) -> dict[str, str]:
    if isinstance(ref, m.ImageEntry):
        return {"repository": ref.repository or "", "digest": ref.digest}
    if isinstance(ref, tuple):
        return {"repository": ref[0], "digest": ref[1]}
    return {"repository": ref["repository"], "digest": ref["digest"]}


def delete_images(
    ctx: Context,
    namespace: str,
    manifests: Iterable[ManifestRef],
    *,
    dry_run: bool = False,
    active_from: datetime | str | None = None,
    ignore_warnings: Iterable[m.DeleteImagesWarning | Mapping[str, Any]] | None = None,
) -> Flow[m.DeleteImagesResult]:
    """Delete images of a namespace (`manifests`: `(repository, digest)` pairs, dicts, or `ImageEntry`s).

    Nothing is deleted while there are errors (not found, not allowed, a child of a multi-arch image) or warnings
    not ignored (`is_active`, `current_tag`): the result then has `ok=False` with the `errors` and `warnings`,
    instead of an exception. Run with `dry_run=True` first, then pass the warnings you accept as
    `ignore_warnings` (the `DeleteImagesWarning`s themselves will do)."""
    wanted = [_manifest(namespace, ref) for ref in manifests]
    ignores = [w.ignore() if isinstance(w, m.DeleteImagesWarning) else dict(w) for w in ignore_warnings or []]
    payload = body(dry_run=dry_run, active_from=_when(active_from), manifests=wanted, ignore_warnings=ignores)
    touched = tuple(sorted({_legacy(namespace, item["repository"]) for item in wanted}))
    response = yield post(
        f"/v2/namespaces/{seg(namespace)}/delete-images", payload, ok=frozenset({400}), invalidates=touched
    )
    data = json_of(response)
    if response.status_code < 300:
        result = m.DeleteImagesResult.model_validate(data)
        result.ok = True
        return result
    details = ((data or {}).get("errinfo") or {}).get("details") if isinstance(data, dict) else None
    if not isinstance(details, dict):
        raise error_for(response)
    return m.DeleteImagesResult(
        dry_run=dry_run,
        ok=False,
        message=data.get("message") or data.get("detail"),
        errors=[m.DeleteImagesError.model_validate(e) for e in details.get("errors") or []],
        warnings=[m.DeleteImagesWarning.model_validate(w) for w in details.get("warnings") or []],
    )


# --- comments, collaborators, team permissions --------------------------------------------------------------------
def list_comments(ctx: Context, namespace: str, repository: str, *, page_size: int = 100) -> Listing[m.Comment]:
    call = get(_legacy(namespace, repository) + "/comments/", params(page_size=page_size))
    return Listing(call, item_parser(m.Comment))


def add_comment(ctx: Context, namespace: str, repository: str, comment: str) -> Flow[m.Comment]:
    return (yield from fetch(m.Comment, post(_legacy(namespace, repository) + "/comments/", {"comment": comment})))


def edit_comment(ctx: Context, namespace: str, repository: str, comment_id: int, comment: str) -> Flow[m.Comment]:
    call = patch(_legacy(namespace, repository) + f"/comments/{seg(comment_id)}/", {"comment": comment})
    return (yield from fetch(m.Comment, call))


def delete_comment(ctx: Context, namespace: str, repository: str, comment_id: int) -> Flow[None]:
    return (yield from send(delete(_legacy(namespace, repository) + f"/comments/{seg(comment_id)}/")))


def list_collaborators(
    ctx: Context, namespace: str, repository: str, *, page_size: int = 100
) -> Listing[m.Collaborator]:
    """A personal repository's collaborators."""
    call = get(_legacy(namespace, repository) + "/collaborators/", params(page_size=page_size))
    return Listing(call, item_parser(m.Collaborator))


def add_collaborator(
    ctx: Context, namespace: str, repository: str, username: str, permission: str | None = None
) -> Flow[m.Collaborator]:
    """Give a user access to a personal repository (`permission`: read, write (the default) or admin)."""
    call = post(_legacy(namespace, repository) + "/collaborators/", body(user=username, permission=permission))
    return (yield from fetch(m.Collaborator, call))


def remove_collaborator(ctx: Context, namespace: str, repository: str, username: str) -> Flow[None]:
    return (yield from send(delete(_legacy(namespace, repository) + f"/collaborators/{seg(username)}/")))


def list_repository_groups(
    ctx: Context, namespace: str, repository: str, *, page_size: int = 100
) -> Listing[m.TeamPermission]:
    """The groups with a permission on an organisation's repository."""
    call = get(_legacy(namespace, repository) + "/groups", params(page_size=page_size))
    return Listing(call, item_parser(m.TeamPermission))


def grant_group(
    ctx: Context, namespace: str, repository: str, group_id: int, permission: str
) -> Flow[m.TeamPermission]:
    """Give a group `read`, `write` or `admin` on an organisation's repository."""
    call = post(_legacy(namespace, repository) + "/groups", {"group_id": group_id, "permission": permission})
    return (yield from fetch(m.TeamPermission, call))


def revoke_group(ctx: Context, namespace: str, repository: str, group_id: int) -> Flow[None]:
    return (yield from send(delete(_legacy(namespace, repository) + f"/groups/{seg(group_id)}")))


# --- search ------------------------------------------------------------------------------------------------------
def search(ctx: Context, query: str, *, page_size: int = 100) -> Listing[m.SearchResult]:
    """Public repositories whose name or description matches."""
    return Listing(
        get("/v2/search/repositories/", params(query=query, page_size=page_size)), item_parser(m.SearchResult)
    )


def search_v1(ctx: Context, query: str, *, n: int | None = None, page: int | None = None) -> Flow[m.V1SearchResults]:
    """The v1 index search that `docker search` uses (`n`: results per page, 1 to 100)."""
    return (yield from fetch(m.V1SearchResults, get("/v1/search", params(q=query, n=n, page=page))))


# --- audit logs --------------------------------------------------------------------------------------------------
def audit_logs(
    ctx: Context,
    account: str,
    *,
    action: str | None = None,
    name: str | None = None,
    actor: str | None = None,
    since: datetime | str | None = None,
    until: datetime | str | None = None,
    page_size: int = 100,
) -> Listing[m.AuditLogEntry]:
    """An account's audit log, newest first (pages have no `next` link: they are asked for by number)."""
    query = params(action=action, name=name, actor=actor, page_size=page_size)
    query.update(params(**{"from": _when(since), "to": _when(until)}))
    call = get(f"/v2/auditlogs/{seg(account)}", query)
    return Listing(call, item_parser(m.AuditLogEntry), key="logs", page_numbers=True, page_size=page_size)


def audit_actions(ctx: Context, account: str) -> Flow[m.AuditActions]:
    """The catalogue of audit-log actions, by group."""
    return (yield from fetch(m.AuditActions, get(f"/v2/auditlogs/{seg(account)}/actions")))


# --- webhooks ----------------------------------------------------------------------------------------------------
def list_webhooks(ctx: Context, namespace: str, repository: str, *, page_size: int = 100) -> Listing[m.Webhook]:
    call = get(_legacy(namespace, repository) + "/webhooks/", params(page_size=page_size))
    return Listing(call, item_parser(m.Webhook))


def create_webhook(
    ctx: Context,
    namespace: str,
    repository: str,
    name: str,
    hook_urls: Sequence[str] = (),
    *,
    expect_final_callback: bool | None = None,
) -> Flow[m.Webhook]:
    """A webhook called with every push, to each of its hook URLs."""
    payload = body(
        name=name, expect_final_callback=expect_final_callback, webhooks=[{"hook_url": url} for url in hook_urls]
    )
    return (yield from fetch(m.Webhook, post(_legacy(namespace, repository) + "/webhooks/", payload)))


def get_webhook(ctx: Context, namespace: str, repository: str, webhook_id: int) -> Flow[m.Webhook]:
    return (yield from fetch(m.Webhook, get(_legacy(namespace, repository) + f"/webhooks/{seg(webhook_id)}/")))


def delete_webhook(ctx: Context, namespace: str, repository: str, webhook_id: int) -> Flow[None]:
    return (yield from send(delete(_legacy(namespace, repository) + f"/webhooks/{seg(webhook_id)}/")))


def add_hook(ctx: Context, namespace: str, repository: str, webhook_id: int, hook_url: str) -> Flow[m.Hook]:
    call = post(_legacy(namespace, repository) + f"/webhooks/{seg(webhook_id)}/hooks/", {"hook_url": hook_url})
    return (yield from fetch(m.Hook, call))


def remove_hook(ctx: Context, namespace: str, repository: str, webhook_id: int, hook_id: int) -> Flow[None]:
    path = _legacy(namespace, repository) + f"/webhooks/{seg(webhook_id)}/hooks/{seg(hook_id)}/"
    return (yield from send(delete(path)))


def list_deliveries(
    ctx: Context, namespace: str, repository: str, webhook_id: int, *, page_size: int = 100
) -> Listing[m.WebhookDelivery]:
    """A webhook's deliveries, with their status and attempts."""
    call = get(_legacy(namespace, repository) + f"/webhooks/{seg(webhook_id)}/deliveries/", params(page_size=page_size))
    return Listing(call, item_parser(m.WebhookDelivery))


def redeliver(
    ctx: Context, namespace: str, repository: str, webhook_id: int, delivery_id: int
) -> Flow[m.WebhookDelivery]:
    """Send a delivery's payload again (as a new delivery)."""
    path = _legacy(namespace, repository) + f"/webhooks/{seg(webhook_id)}/deliveries/{seg(delivery_id)}/redeliver/"
    return (yield from fetch(m.WebhookDelivery, post(path)))


def report_webhook_callback(
    ctx: Context,
    callback_url: str,
    state: str,
    *,
    description: str | None = None,
    context: str | None = None,
    target_url: str | None = None,
) -> Flow[dict[str, Any]]:
    """For a webhook receiver: report the outcome of a delivery to the `callback_url` of its payload (`state`:
    success, failure or error). The URL is the credential, so no token is sent."""
    payload = body(state=state, description=description, context=context, target_url=target_url)
    response = yield Call("POST", callback_url, json=payload, auth=False)
    data = json_of(response)
    return data if isinstance(data, dict) else {}


# --- automated builds --------------------------------------------------------------------------------------------
def get_autobuild(ctx: Context, namespace: str, repository: str) -> Flow[m.AutoBuild]:
    return (yield from fetch(m.AutoBuild, get(_legacy(namespace, repository) + "/autobuild/")))


def create_autobuild(
    ctx: Context,
    namespace: str,
    repository: str,
    *,
    source_url: str | None = None,
    vcs_repo_name: str | None = None,
    provider: str | None = None,
    build_name: str | None = None,
    active: bool | None = None,
    build_tags: Sequence[Mapping[str, Any]] | None = None,
) -> Flow[m.AutoBuild]:
    """Set up automated builds from a source repository (`build_tags`: rules `{name, dockerfile_location,
    source_type, source_name}`)."""
    payload = body(
        source_url=source_url,
        vcs_repo_name=vcs_repo_name,
        provider=provider,
        build_name=build_name,
        active=active,
        build_tags=[dict(t) for t in build_tags] if build_tags is not None else None,
    )
    return (yield from fetch(m.AutoBuild, post(_legacy(namespace, repository) + "/autobuild/", payload)))


def delete_autobuild(ctx: Context, namespace: str, repository: str) -> Flow[None]:
    return (yield from send(delete(_legacy(namespace, repository) + "/autobuild/")))


def add_build_tag(
    ctx: Context,
    namespace: str,
    repository: str,
    *,
    name: str | None = None,
    dockerfile_location: str | None = None,
    source_type: str | None = None,
    source_name: str | None = None,
) -> Flow[m.BuildTag]:
    payload = body(name=name, dockerfile_location=dockerfile_location, source_type=source_type, source_name=source_name)
    return (yield from fetch(m.BuildTag, post(_legacy(namespace, repository) + "/autobuild/tags/", payload)))


def update_build_tag(
    ctx: Context,
    namespace: str,
    repository: str,
    tag_id: int,
    *,
    name: str | None = None,
    dockerfile_location: str | None = None,
    source_type: str | None = None,
    source_name: str | None = None,
) -> Flow[m.BuildTag]:
    payload = body(name=name, dockerfile_location=dockerfile_location, source_type=source_type, source_name=source_name)
    call = put(_legacy(namespace, repository) + f"/autobuild/tags/{seg(tag_id)}/", payload)
    return (yield from fetch(m.BuildTag, call))


def delete_build_tag(ctx: Context, namespace: str, repository: str, tag_id: int) -> Flow[None]:
    return (yield from send(delete(_legacy(namespace, repository) + f"/autobuild/tags/{seg(tag_id)}/")))


def trigger_build(
    ctx: Context,
    namespace: str,
    repository: str,
    *,
    source_type: str | None = None,
    source_name: str | None = None,
    dockerfile_location: str | None = None,
) -> Flow[list[m.TriggeredBuild]]:
    """Build the rules matching a branch or tag."""
    payload = body(source_type=source_type, source_name=source_name, dockerfile_location=dockerfile_location)
    call = post(_legacy(namespace, repository) + "/autobuild/trigger-build/", payload)
    response = yield call
    data = json_of(response)
    rows = data if isinstance(data, list) else [data] if isinstance(data, dict) else []
    return [m.TriggeredBuild.model_validate(row) for row in rows]


def list_builds(ctx: Context, namespace: str, repository: str, *, page_size: int = 100) -> Listing[m.Build]:
    """A repository's builds, newest first."""
    return Listing(
        get(_legacy(namespace, repository) + "/buildhistory/", params(page_size=page_size)), item_parser(m.Build)
    )


def get_build(ctx: Context, namespace: str, repository: str, build_code: str) -> Flow[m.Build]:
    """One build, with its log."""
    return (yield from fetch(m.Build, get(_legacy(namespace, repository) + f"/buildhistory/{seg(build_code)}/")))


def get_build_trigger(ctx: Context, namespace: str, repository: str) -> Flow[m.BuildTrigger]:
    return (yield from fetch(m.BuildTrigger, get(_legacy(namespace, repository) + "/buildtrigger/")))


def update_build_trigger(
    ctx: Context, namespace: str, repository: str, *, active: bool | None = None, regenerate: bool = False
) -> Flow[m.BuildTrigger]:
    """Activate or pause the trigger URL, or give it a new token."""
    call = post(_legacy(namespace, repository) + "/buildtrigger/", body(active=active, regenerate=regenerate or None))
    return (yield from fetch(m.BuildTrigger, call))


def list_trigger_history(
    ctx: Context, namespace: str, repository: str, *, page_size: int = 100
) -> Listing[m.TriggerEvent]:
    call = get(_legacy(namespace, repository) + "/buildtrigger/history/", params(page_size=page_size))
    return Listing(call, item_parser(m.TriggerEvent))


def call_build_trigger(
    ctx: Context,
    trigger_url: str,
    *,
    source_type: str | None = None,
    source_name: str | None = None,
    docker_tag: str | None = None,
) -> Flow[list[m.TriggeredBuild]]:
    """Call a trigger URL (the token in it is the credential): every rule, the rules of a branch or tag, or the
    rule producing `docker_tag`."""
    payload = body(source_type=source_type, source_name=source_name, docker_tag=docker_tag)
    return (yield from fetch_list(m.TriggeredBuild, Call("POST", trigger_url, json=payload, auth=False)))


def list_build_links(ctx: Context, namespace: str, repository: str, *, page_size: int = 100) -> Listing[m.BuildLink]:
    """Repositories whose pushes rebuild this one."""
    return Listing(
        get(_legacy(namespace, repository) + "/links/", params(page_size=page_size)), item_parser(m.BuildLink)
    )


def add_build_link(ctx: Context, namespace: str, repository: str, to_repo: str) -> Flow[m.BuildLink]:
    return (yield from fetch(m.BuildLink, post(_legacy(namespace, repository) + "/links/", {"to_repo": to_repo})))


def delete_build_link(ctx: Context, namespace: str, repository: str, link_id: int) -> Flow[None]:
    return (yield from send(delete(_legacy(namespace, repository) + f"/links/{seg(link_id)}/")))


# --- registry events ---------------------------------------------------------------------------------------------
def send_registry_events(ctx: Context, envelope: Mapping[str, Any], secret: str) -> Flow[dict[str, Any]]:
    """Forward a CNCF distribution notification envelope to `POST /api/registry-events`, authenticated with the
    server's events secret (`DOCKYARD_EVENTS_TOKEN`) instead of a Hub token."""
    call = Call(
        "POST", "/api/registry-events", json=dict(envelope), auth=False, headers={"Authorization": f"Bearer {secret}"}
    )
    response = yield call
    data = json_of(response)
    return data if isinstance(data, dict) else {}


def has_tags(ctx: Context, namespace: str, repository: str) -> Flow[bool]:
    """Whether a repository has any tag (`HEAD .../tags`: 404 when it has none)."""
    return (yield from _exists(Call("HEAD", _ns(namespace, repository) + "/tags")))


# --- v1 API and raw requests --------------------------------------------------------------------------------------
def _basic(ctx: Context) -> dict[str, str]:
    credentials = ctx.basic_credentials()
    if credentials is None or not ctx.password:
        raise ValueError("the v1 API needs the client's username and password")
    encoded = base64.b64encode(f"{credentials[0]}:{credentials[1]}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


def v1_check_credentials(ctx: Context) -> Flow[bool]:
    """Whether the client's username and password are accepted by the v1 API (`GET /v1/users/`, HTTP Basic)."""
    response = yield Call("GET", "/v1/users/", headers=_basic(ctx), auth=False, cache=False, ok=frozenset({401}))
    return bool(response.status_code < 300)


def v1_update_user(ctx: Context, *, email: str | None = None, password: str | None = None) -> Flow[None]:
    """Change the signed-in user's e-mail address or password through the v1 API (`PUT /v1/users/<name>/`)."""
    if not ctx.username:
        raise ValueError("the v1 API needs the client's username and password")
    call = Call(
        "PUT",
        f"/v1/users/{seg(ctx.username)}/",
        json=body(email=email, password=password),
        headers=_basic(ctx),
        auth=False,
    )
    yield call
    if password is not None:
        ctx.password = password
    return None


def request(
    ctx: Context,
    method: str,
    path: str,
    *,
    query: Mapping[str, Any] | None = None,
    json: Any = None,
    headers: Mapping[str, str] | None = None,
    ok: Iterable[int] = (),
) -> Flow[httpx.Response]:
    """Any request to the Hub (a path under the base URL, or an absolute URL), signed in like the others, for
    routes the SDK has no method for; the raw `httpx.Response`. Refusals raise, unless their status is in `ok`."""
    call = Call(
        method.upper(),
        path,
        params=dict(query) if query else None,
        json=json,
        headers=dict(headers) if headers else None,
        ok=frozenset(ok),
        cache=False,
    )
    response: httpx.Response = yield call
    return response
