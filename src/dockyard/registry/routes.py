"""HTTP for the OCI Distribution API: parse the request, call the service, shape the response.

Routes are plain Starlette routes (no OpenAPI, no dependency injection) because they are the hot path. A route
whose first name segment is a reserved Hub API word does not match, so `/v2/namespaces/...` reaches the Hub API.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Match, Route
from starlette.types import Scope, Send

from dockyard.accounts.names import RESERVED_NAMES
from dockyard.http import client_ip
from dockyard.registry import mediatypes as mt
from dockyard.registry.auth import Caller, RegistryAuth
from dockyard.registry.errors import (
    ManifestTooLarge,
    PaginationNumberInvalid,
    RangeInvalid,
    RegistryError,
    Unauthorized,
)
from dockyard.registry.references import is_digest
from dockyard.registry.service import RegistryService, Repo, repo_for
from dockyard.registry.tokens import token_routes

log = logging.getLogger(__name__)

API_VERSION = {"Docker-Distribution-Api-Version": "registry/2.0"}
RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")
DEFAULT_PAGE = 1000
MAX_PAGE = 10_000

Handler = Callable[[Request], Awaitable[Response]]


class BlobFileResponse(FileResponse):
    """A byte range of a blob (whole blobs go through BlobResponse)."""

    chunk_size = 1024 * 1024


class BlobResponse(StreamingResponse):
    """A whole blob as the storage reads it; the reader is closed as soon as the response ends or the client
    leaves, so a disconnect never keeps a file open until garbage collection."""

    body_iterator: AsyncGenerator[bytes, None]

    async def stream_response(self, send: Send) -> None:
        try:
            await super().stream_response(send)
        finally:
            await self.body_iterator.aclose()


def error_response(error: RegistryError, *, head: bool = False) -> Response:
    headers = {**API_VERSION, **error.headers}
    if head:
        return Response(status_code=error.status, headers=headers)
    return JSONResponse(error.body(), status_code=error.status, headers=headers)


class RegistryRoute(Route):
    """A route under /v2/{name}/... that steps aside for names the Hub API owns."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        if match is not Match.NONE:
            name = child.get("path_params", {}).get("name", "")
            if name.split("/", 1)[0] in RESERVED_NAMES:
                return Match.NONE, {}
        return match, child


def endpoint(handler: Callable[[Request, RegistryService, Caller | None], Awaitable[Response]]) -> Handler:
    """Resolve the caller, run the handler and render registry errors in the OCI shape."""

    async def run(request: Request) -> Response:
        service: RegistryService = request.app.state.registry
        auth: RegistryAuth = service.auth
        try:
            caller = await auth.caller(
                request.headers.get("authorization"),
                client_ip(request, service.settings.trusted_proxies),
                request.headers.get("user-agent", ""),
            )
            return await handler(request, service, caller)
        except RegistryError as error:
            return error_response(error, head=request.method == "HEAD")
        except ClientDisconnect:
            log.info("client went away during %s %s", request.method, request.url.path)
            return Response(status_code=400)

    return run


def _repo(request: Request) -> Repo:
    return repo_for(request.path_params["name"])


async def _body(request: Request) -> AsyncIterator[bytes]:
    async for chunk in request.stream():
        yield chunk


def _upload_headers(repo: Repo, upload_id: str, offset: int) -> dict[str, str]:
    return {
        **API_VERSION,
        "Location": f"/v2/{repo.name}/blobs/uploads/{upload_id}",
        "Range": f"0-{max(offset - 1, 0)}",
        "Docker-Upload-UUID": upload_id,
    }


def _link(path: str, params: dict[str, str]) -> str:
    return f'<{path}?{urlencode(params)}>; rel="next"'


def _page_size(request: Request) -> int | None:
    value = request.query_params.get("n")
    if value is None or value == "":
        return None
    # ASCII digits only: str.isdigit() also accepts characters such as "²" that int() rejects.
    if not (value.isascii() and value.isdigit()):
        raise PaginationNumberInvalid("n must be a non-negative integer")
    # Capped, so a huge n neither overflows the database's LIMIT nor int()'s digit limit.
    digits = value.lstrip("0")
    return MAX_PAGE if len(digits) > len(str(MAX_PAGE)) else min(int(digits or "0"), MAX_PAGE)


# --- base, catalog -----------------------------------------------------------------------------------------
@endpoint
async def base(request: Request, service: RegistryService, caller: Caller | None) -> Response:
    if caller is None:
        raise Unauthorized(headers={"WWW-Authenticate": service.auth.challenge(None)})
    return JSONResponse({}, headers=API_VERSION)


@endpoint
async def catalog(request: Request, service: RegistryService, caller: Caller | None) -> Response:
    if caller is None:
        raise Unauthorized(headers={"WWW-Authenticate": service.auth.challenge("registry:catalog:*")})
    n = _page_size(request)
    limit = DEFAULT_PAGE if n is None else min(n, DEFAULT_PAGE)
    names = await service.catalog(caller, request.query_params.get("last"), limit) if limit else []
    headers = dict(API_VERSION)
    if names and len(names) == limit:
        headers["Link"] = _link("/v2/_catalog", {"n": str(limit), "last": names[-1]})
    return JSONResponse({"repositories": names}, headers=headers)


# --- manifests ---------------------------------------------------------------------------------------------
@endpoint
async def manifest(request: Request, service: RegistryService, caller: Caller | None) -> Response:
    repo, reference = _repo(request), request.path_params["reference"]
    method = request.method
    if method in ("GET", "HEAD"):
        result = await service.get_manifest(
            caller,
            repo,
            reference,
            accept=mt.parse_accept(request.headers.getlist("accept")),
            with_content=method == "GET",
            method=method,
        )
        headers = {
            **API_VERSION,
            "Docker-Content-Digest": result.digest,
            "ETag": f'"{result.digest}"',
            "Content-Type": result.media_type,
            "Content-Length": str(result.size),
        }
        if result.headers:
            headers.update(result.headers)
        return Response(result.content, headers=headers)
    if method == "PUT":
        content = await _read_capped(request, service.settings.max_manifest_bytes)
        pushed = await service.put_manifest(
            caller, repo, reference, content, request.headers.get("content-type"), request.query_params.getlist("tag")
        )
        headers = {
            **API_VERSION,
            "Location": f"/v2/{repo.name}/manifests/{pushed.digest}",
            "Docker-Content-Digest": pushed.digest,
        }
        if pushed.subject:
            headers["OCI-Subject"] = pushed.subject
        if pushed.tags and is_digest(reference):
            headers["OCI-Tag"] = ", ".join(pushed.tags)
        return Response(status_code=201, headers=headers)
    await service.delete_manifest(caller, repo, reference)
    return Response(status_code=202, headers=API_VERSION)


async def _read_capped(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ManifestTooLarge(f"manifests are limited to {limit} bytes")
    parts: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ManifestTooLarge(f"manifests are limited to {limit} bytes")
        parts.append(chunk)
    return b"".join(parts)


# --- blobs -------------------------------------------------------------------------------------------------
@endpoint
async def blob(request: Request, service: RegistryService, caller: Caller | None) -> Response:
    repo, digest = _repo(request), request.path_params["digest"]
    if request.method == "DELETE":
        await service.delete_blob(caller, repo, digest)
        return Response(status_code=202, headers=API_VERSION)
    found = await service.stat_blob(caller, repo, digest, request.method)
    headers = {
        **API_VERSION,
        "Docker-Content-Digest": found.digest,
        "ETag": f'"{found.digest}"',
        "Content-Type": "application/octet-stream",
        "Accept-Ranges": "bytes",
        "Cache-Control": "max-age=31536000",
    }
    if request.method == "HEAD":
        return Response(headers={**headers, "Content-Length": str(found.size)})
    requested = request.headers.get("range")
    if requested is None:
        return BlobResponse(service.storage.read(found.digest), headers={**headers, "Content-Length": str(found.size)})
    _check_range(requested, found.size)
    return BlobFileResponse(service.storage.local_path(found.digest), headers=headers, stat_result=None)


def _check_range(value: str, size: int) -> None:
    """Reject what FileResponse would not serve as a single satisfiable range, in the registry's error shape."""
    match = RANGE_RE.match(value.strip())
    unsatisfiable = RangeInvalid(headers={"Content-Range": f"bytes */{size}"})
    if not match or (not match.group(1) and not match.group(2)):
        raise unsatisfiable
    start, end = match.group(1), match.group(2)
    if start and (int(start) >= size or (end and int(end) < int(start))):
        raise unsatisfiable
    if not start and int(end) == 0:
        raise unsatisfiable


# --- uploads -----------------------------------------------------------------------------------------------
@endpoint
async def start_upload(request: Request, service: RegistryService, caller: Caller | None) -> Response:
    repo = _repo(request)
    params = request.query_params
    mount = params.get("mount")
    if mount and await service.mount_blob(caller, repo, mount, params.get("from")):
        return Response(
            status_code=201,
            headers={**API_VERSION, "Location": f"/v2/{repo.name}/blobs/{mount}", "Docker-Content-Digest": mount},
        )
    digest = params.get("digest")
    if digest is not None:
        done = await service.upload_whole(caller, repo, digest, _body(request))
        return Response(
            status_code=201,
            headers={
                **API_VERSION,
                "Location": f"/v2/{repo.name}/blobs/{done.digest}",
                "Docker-Content-Digest": done.digest,
            },
        )
    state = await service.start_upload(caller, repo)
    return Response(status_code=202, headers=_upload_headers(repo, state.id, state.offset))


def _content_range(value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    text = value.strip().removeprefix("bytes").strip().split("/", 1)[0]
    start, sep, end = text.partition("-")
    if not sep or not start.isdigit() or not end.isdigit() or int(end) < int(start):
        raise RangeInvalid(f"invalid Content-Range: {value[:100]}")
    return int(start), int(end)


@endpoint
async def upload(request: Request, service: RegistryService, caller: Caller | None) -> Response:
    repo, upload_id = _repo(request), request.path_params["uuid"]
    method = request.method
    if method in ("GET", "HEAD"):  # Starlette routes HEAD wherever GET goes: it must never reach the cancel below
        state = await service.upload_status(caller, repo, upload_id)
        return Response(status_code=204, headers=_upload_headers(repo, state.id, state.offset))
    if method == "PATCH":
        state = await service.append_upload(
            caller, repo, upload_id, _body(request), _content_range(request.headers.get("content-range"))
        )
        return Response(status_code=202, headers=_upload_headers(repo, state.id, state.offset))
    if method == "PUT":
        declared = request.headers.get("content-length")
        has_body = (declared is not None and declared != "0") or "chunked" in request.headers.get(
            "transfer-encoding", ""
        )
        done = await service.finish_upload(
            caller,
            repo,
            upload_id,
            request.query_params.get("digest"),
            _body(request) if has_body else None,
            _content_range(request.headers.get("content-range")) if has_body else None,
        )
        return Response(
            status_code=201,
            headers={
                **API_VERSION,
                "Location": f"/v2/{repo.name}/blobs/{done.digest}",
                "Docker-Content-Digest": done.digest,
            },
        )
    await service.cancel_upload(caller, repo, upload_id)
    return Response(status_code=204, headers=API_VERSION)


# --- tags, referrers ---------------------------------------------------------------------------------------
@endpoint
async def tags(request: Request, service: RegistryService, caller: Caller | None) -> Response:
    repo = _repo(request)
    n = _page_size(request)
    last = request.query_params.get("last")
    names = [] if n == 0 else await service.list_tags(caller, repo, last, n)
    headers = dict(API_VERSION)
    if n and len(names) == n:
        headers["Link"] = _link(f"/v2/{repo.name}/tags/list", {"n": str(n), "last": names[-1]})
    return JSONResponse({"name": repo.name, "tags": names}, headers=headers)


@endpoint
async def referrers(request: Request, service: RegistryService, caller: Caller | None) -> Response:
    repo, digest = _repo(request), request.path_params["digest"]
    artifact_type = request.query_params.get("artifactType")
    descriptors = await service.referrers(caller, repo, digest, artifact_type)
    headers = {**API_VERSION, "Content-Type": mt.OCI_INDEX}
    if artifact_type:
        headers["OCI-Filters-Applied"] = "artifactType"
    body: dict[str, Any] = {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": descriptors}
    return Response(json.dumps(body, separators=(",", ":")), headers=headers)


def registry_routes() -> list[BaseRoute]:
    name = "/v2/{name:path}"
    return [
        Route("/v2/", base, methods=["GET"]),
        Route("/v2", base, methods=["GET"]),
        Route("/v2/_catalog", catalog, methods=["GET"]),
        RegistryRoute(name + "/manifests/{reference}", manifest, methods=["GET", "PUT", "DELETE"]),
        RegistryRoute(name + "/blobs/uploads/", start_upload, methods=["POST"]),
        RegistryRoute(name + "/blobs/uploads", start_upload, methods=["POST"]),
        RegistryRoute(name + "/blobs/uploads/{uuid}", upload, methods=["GET", "PATCH", "PUT", "DELETE"]),
        RegistryRoute(name + "/blobs/{digest}", blob, methods=["GET", "DELETE"]),
        RegistryRoute(name + "/tags/list", tags, methods=["GET"]),
        RegistryRoute(name + "/referrers/{digest}", referrers, methods=["GET"]),
        *token_routes(),
    ]
