"""The decisions both runners share, so the blocking and the asynchronous client behave alike: which headers a
request carries, whether the cache may answer it, what a write makes stale, when to sign in again, and what a
refused answer raises. The runners add only the I/O."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx

from dockyard import __version__
from dockyard.client.cache import CacheKey, ResponseCache
from dockyard.client.calls import Call, Download
from dockyard.client.context import Context
from dockyard.client.errors import ConnectionFailed, error_for

USER_AGENT = f"dockyard-sdk/{__version__} (python)"
DEFAULT_HEADERS = {"Accept": "application/json", "User-Agent": USER_AGENT}
DEFAULT_TIMEOUT = 30.0
CHUNK = 256 * 1024


def headers_for(ctx: Context, call: Call, url: str) -> dict[str, str]:
    headers = dict(call.headers or {})
    if call.auth and ctx.token and ctx.same_origin(url) and "Authorization" not in headers:
        headers.update(ctx.hub_headers())
    return headers


def request_args(ctx: Context, call: Call) -> dict[str, Any]:
    url = ctx.url(call.path)
    args: dict[str, Any] = {"method": call.method, "url": url, "headers": headers_for(ctx, call, url)}
    if call.params:
        args["params"] = call.params
    if call.json is not None:
        args["json"] = call.json
    return args


def cache_key(ctx: Context, call: Call) -> CacheKey | None:
    """The cache key of a GET the cache may answer, else None."""
    if call.method.upper() != "GET" or not call.cache or not ctx.cache.enabled:
        return None
    query: Any = call.params or None
    request = httpx.Request("GET", ctx.url(call.path), params=query)
    accept = (call.headers or {}).get("Accept", "")
    identity = ctx.identity() if call.auth else "-"
    return ResponseCache.key(identity, str(request.url), accept)


def after_response(ctx: Context, call: Call, response: httpx.Response, key: CacheKey | None) -> httpx.Response:
    """Invalidate what a write touched, keep a cacheable answer, and raise a refusal the flow did not expect."""
    if call.is_write:
        ctx.cache.invalidate([ctx.url(call.path), *call.invalidates])
    status = response.status_code
    if status >= 400 and status not in call.ok:
        raise error_for(response)
    if key is not None and status == 200:
        ctx.cache.put(key, response)
    return response


def should_sign_in_again(ctx: Context, call: Call, response: httpx.Response, sent_token: str | None) -> bool:
    """A 401 to a request that carried a token the client can replace (it holds a password or refresh token)."""
    return response.status_code == 401 and call.auth and sent_token is not None and ctx.can_sign_in


def connection_failed(call: Call, url: str, exc: httpx.TransportError) -> ConnectionFailed:
    return ConnectionFailed(f"cannot reach {url}: {exc or type(exc).__name__}", method=call.method, url=url)


def download_headers(ctx: Context, effect: Download, url: str) -> dict[str, str]:
    if effect.auth and ctx.token and ctx.same_origin(url):
        return ctx.hub_headers()
    return {}


def content_length(response: httpx.Response) -> int | None:
    value = response.headers.get("content-length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def partial_path(path: Path) -> Path:
    return path.with_name(path.name + ".part")


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_DISPOSITION = re.compile(r"filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)|filename\s*=\s*\"?([^\";]+)\"?")


def safe_name(name: str) -> str:
    """A file name with nothing that could leave its directory."""
    return _UNSAFE.sub("_", name.replace("\\", "/").rsplit("/", 1)[-1]).strip("._")


def download_target(effect: Download, response: httpx.Response) -> Path:
    """Where a download goes: its `path`, or in its `directory` the name from `Content-Disposition`."""
    if effect.path is not None:
        return effect.path
    assert effect.directory is not None
    name = ""
    match = _DISPOSITION.search(response.headers.get("content-disposition", ""))
    if match is not None:
        name = safe_name(unquote(match.group(1) or match.group(2) or ""))
    name = name or safe_name(effect.name) or "download"
    if name in effect.taken:
        stem, dot, suffix = name.rpartition(".")
        count = 2
        while (candidate := f"{stem or suffix}-{count}{dot}{suffix if stem else ''}") in effect.taken:
            count += 1
        name = candidate
    return effect.directory / name
