"""The registry basics a Hub client needs, over the OCI Distribution API with Docker token auth: resolve a tag to
a digest (HEAD), read a manifest, delete a manifest by digest, list a repository's tags, and read the pull
rate-limit headers the way hub-tool does (a pull token for `ratelimitpreview/test`, then a HEAD of its manifest,
which is not counted as a pull).

Tokens come from the token service named by the registry's `WWW-Authenticate: Bearer realm=...,service=...`
challenge (or from `auth_url`, set by default for Docker Hub), with HTTP Basic credentials when the client holds a
password, a personal access token or a refresh token, anonymously otherwise. They are kept per scope until they
expire.
"""

from __future__ import annotations

import base64
import re
import time
from urllib.parse import quote

import httpx

from dockyard.client import models as m
from dockyard.client.calls import Call, Flow, json_of, repo_path, seg
from dockyard.client.constants import RATE_LIMIT_PROBE
from dockyard.client.context import Context, RegistryToken
from dockyard.client.errors import error_for

MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
ACCEPT = ", ".join(MANIFEST_TYPES)
_PARAM = re.compile(r'(\w+)="([^"]*)"|(\w+)=([^,\s]+)')
_LIMIT = re.compile(r"^\s*(\d+)\s*(?:;\s*w\s*=\s*(\d+))?")


def parse_challenge(header: str | None) -> dict[str, str] | None:
    """The parameters of a `Bearer` challenge (`realm`, `service`, `scope`), or None for another scheme."""
    if not header:
        return None
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    found: dict[str, str] = {}
    for match in _PARAM.finditer(rest):
        key = match.group(1) or match.group(3)
        found[key.lower()] = match.group(2) if match.group(1) else match.group(4)
    return found if "realm" in found else None


def parse_limit(value: str | None) -> tuple[int | None, int | None]:
    """`100;w=21600` -> (100, 21600)."""
    if not value:
        return None, None
    match = _LIMIT.match(value)
    if match is None:
        return None, None
    return int(match.group(1)), int(match.group(2)) if match.group(2) else None


def _no_auth(call_path: str, ctx: Context) -> Call:
    return Call("GET", ctx.registry(call_path), auth=False, cache=False, ok=frozenset({401}))


def registry_token(ctx: Context, repository: str, actions: str = "pull") -> Flow[str | None]:
    """A registry bearer token for `repository:<name>:<actions>` (None when the registry asks for none)."""
    scope = f"repository:{repository}:{actions}"
    key = (ctx.registry_url, scope)
    held = ctx.registry_tokens.get(key)
    if held is not None and held.expires > time.time() + 5:
        return held.token
    realm, service = ctx.auth_url, ctx.auth_service
    if realm is None:
        probe = yield _no_auth("/v2/", ctx)
        challenge = parse_challenge(probe.headers.get("www-authenticate"))
        if probe.status_code != 401 or challenge is None:
            return None
        realm, service = challenge["realm"], challenge.get("service")
        ctx.auth_url, ctx.auth_service = realm, service
    query = [("scope", scope)] + ([("service", service)] if service else [])
    headers: dict[str, str] = {}
    credentials = ctx.basic_credentials()
    if credentials is not None:
        encoded = base64.b64encode(f"{credentials[0]}:{credentials[1]}".encode()).decode()
        headers["Authorization"] = f"Basic {encoded}"
    response = yield Call("GET", realm, params=query, headers=headers, auth=False, cache=False)
    data = json_of(response) or {}
    token = data.get("token") or data.get("access_token")
    if not isinstance(token, str) or not token:
        raise error_for(response)
    expires_in = data.get("expires_in")
    lifetime = float(expires_in) if isinstance(expires_in, int | float) and expires_in > 0 else 60.0
    ctx.registry_tokens[key] = RegistryToken(token, time.time() + lifetime)
    return token


def _authorized(ctx: Context, repository: str, actions: str) -> Flow[dict[str, str]]:
    token = yield from registry_token(ctx, repository, actions)
    return {"Authorization": f"Bearer {token}"} if token else {}


def _registry_call(
    ctx: Context,
    repository: str,
    actions: str,
    method: str,
    url: str,
    *,
    accept: bool = False,
    ok: frozenset[int] = frozenset(),
    retry: bool = True,
    invalidates: tuple[str, ...] = (),
) -> Flow[httpx.Response]:
    """A registry request with a bearer token. A 401 with a token kept from earlier (whose grant may have
    changed since: a new collaborator, a repository made public) fetches a fresh token and tries once more."""
    scope_key = (ctx.registry_url, f"repository:{repository}:{actions}")
    reused = scope_key in ctx.registry_tokens
    for attempt in (1, 2):
        headers = yield from _authorized(ctx, repository, actions)
        if accept:
            headers["Accept"] = ACCEPT
        call = Call(
            method, url, headers=headers, auth=False, cache=False, ok=ok | {401}, retry=retry, invalidates=invalidates
        )
        response: httpx.Response = yield call
        if response.status_code != 401 or 401 in ok:
            return response
        if attempt == 1 and reused:
            ctx.registry_tokens.pop(scope_key, None)
            continue
        raise error_for(response)
    raise AssertionError("unreachable")


def _manifest_url(ctx: Context, repository: str, reference: str) -> str:
    return ctx.registry(f"/v2/{repo_path(repository)}/manifests/{quote(reference, safe=':')}")


def resolve(ctx: Context, repository: str, reference: str = "latest") -> Flow[str]:
    """The digest a tag points at (`HEAD /v2/<name>/manifests/<tag>`; a HEAD is not counted as a pull)."""
    url = _manifest_url(ctx, repository, reference)
    response = yield from _registry_call(ctx, repository, "pull", "HEAD", url, accept=True)
    digest = response.headers.get("docker-content-digest")
    if not digest:
        raise error_for(response)
    return str(digest)


def get_manifest(ctx: Context, repository: str, reference: str = "latest") -> Flow[m.Manifest]:
    """A manifest (an image manifest, or an index / manifest list for a multi-arch image)."""
    url = _manifest_url(ctx, repository, reference)
    response = yield from _registry_call(ctx, repository, "pull", "GET", url, accept=True)
    content = json_of(response)
    return m.Manifest(
        repository=repository,
        reference=reference,
        digest=response.headers.get("docker-content-digest"),
        media_type=(response.headers.get("content-type") or "").split(";")[0] or None,
        size=len(response.content),
        content=content if isinstance(content, dict) else {},
    )


def delete_manifest(ctx: Context, repository: str, digest: str) -> Flow[None]:
    """Delete a manifest by digest, with every tag pointing at it (`DELETE /v2/<name>/manifests/<digest>`)."""
    if not digest.startswith("sha") or ":" not in digest:
        raise ValueError("delete by digest (sha256:...), not by tag")
    namespace, _, name = repository.partition("/")
    invalidates = (f"/v2/repositories/{seg(namespace)}/{seg(name)}",) if name else ()
    url = _manifest_url(ctx, repository, digest)
    yield from _registry_call(ctx, repository, "delete", "DELETE", url, invalidates=invalidates)
    return None


def registry_tags(ctx: Context, repository: str) -> Flow[list[str]]:
    """The tag names the registry holds for a repository (`GET /v2/<name>/tags/list`, every page)."""
    url: str | None = ctx.registry(f"/v2/{repo_path(repository)}/tags/list")
    names: list[str] = []
    while url:
        response = yield from _registry_call(ctx, repository, "pull", "GET", url)
        names += list((json_of(response) or {}).get("tags") or [])
        url = _next_link(ctx, response.headers.get("link"))
    return names


def _next_link(ctx: Context, header: str | None) -> str | None:
    if not header:
        return None
    match = re.search(r'<([^>]+)>\s*;\s*rel="?next"?', header)
    if match is None:
        return None
    target = match.group(1)
    return target if "://" in target else ctx.registry(target)


def pull_limits(ctx: Context, repository: str = RATE_LIMIT_PROBE, reference: str = "latest") -> Flow[m.PullLimits]:
    """The caller's pull rate limit, from the `ratelimit-limit`, `ratelimit-remaining` and
    `docker-ratelimit-source` headers of a manifest HEAD (which does not use up a pull). No headers means the
    caller is not limited. On Docker Hub the probe repository is `ratelimitpreview/test`; elsewhere pass any
    repository the caller can pull."""
    url = _manifest_url(ctx, repository, reference)
    response = yield from _registry_call(
        ctx, repository, "pull", "HEAD", url, accept=True, ok=frozenset({404, 429}), retry=False
    )
    limit, window = parse_limit(response.headers.get("ratelimit-limit"))
    remaining, remaining_window = parse_limit(response.headers.get("ratelimit-remaining"))
    return m.PullLimits(
        limit=limit,
        remaining=remaining,
        window_seconds=window or remaining_window,
        source=response.headers.get("docker-ratelimit-source"),
        status=response.status_code,
    )
