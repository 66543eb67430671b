"""`Hub`: the blocking client.

    from dockyard.client import Hub

    with Hub("https://hub.example.com", username="alice", password=os.environ["HUB_PAT"]) as hub:
        for repo in hub.list_repositories("alice", ordering="-last_updated"):
            print(repo.name, repo.pull_count)

Every operation is inherited from `Operations` (shared with `AsyncHub`); this module only performs the I/O.
"""

from __future__ import annotations

import inspect
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx

from dockyard.client import routes_accounts
from dockyard.client.cache import DEFAULT_TTL, ResponseCache
from dockyard.client.calls import AskCode, Call, Download, Effect, Flow, Listing
from dockyard.client.context import Context, OtpCallback
from dockyard.client.errors import TwoFactorRequired, error_for
from dockyard.client.paging import Paged
from dockyard.client.retry import RetryPolicy, as_policy
from dockyard.client.surface import Operations, SyncRunner
from dockyard.client.transport import (
    CHUNK,
    DEFAULT_HEADERS,
    DEFAULT_TIMEOUT,
    after_response,
    cache_key,
    connection_failed,
    content_length,
    download_headers,
    download_target,
    partial_path,
    request_args,
    should_sign_in_again,
)

T = TypeVar("T")


class Hub(Operations, SyncRunner):
    """A client of a Docker Hub-compatible Hub API, its DVP Data API and its registry.

    `base_url`: the Hub API (default https://hub.docker.com). `registry_url`: the registry (default
    https://registry-1.docker.io for Docker Hub, else the Hub's own origin). `auth_url`: the registry's token
    service (default https://auth.docker.io/token for Docker Hub, else read from the registry's challenge).

    Credentials: `username` with `password` (a password or a personal access token; the client signs in on its
    first authenticated request and again when its token expires), or a Hub `token` (JWT) from an earlier sign-in,
    optionally with its `refresh_token`. `otp_callback` is called for the 2FA code when the account has one.

    `cache_ttl` / `cache`: GET answers are cached for 300 s by default; `cache=False` turns that off.
    `retries`: how many times 429/502/503/504 answers are retried (an int or a `RetryPolicy`).
    `on_token`: called with the client's `Context` whenever its tokens change (to persist them).
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        registry_url: str | None = None,
        auth_url: str | None = None,
        username: str | None = None,
        password: str | None = None,
        token: str | None = None,
        refresh_token: str | None = None,
        otp_callback: OtpCallback | None = None,
        cache_ttl: float = DEFAULT_TTL,
        cache: bool = True,
        retries: int | RetryPolicy = 3,
        timeout: float = DEFAULT_TIMEOUT,
        verify: bool = True,
        transport: httpx.BaseTransport | None = None,
        on_token: Callable[[Context], None] | None = None,
    ) -> None:
        self._ctx = Context.build(
            base_url,
            registry_url,
            auth_url,
            username=username,
            password=password,
            token=token,
            refresh_token=refresh_token,
            otp_callback=otp_callback,
            cache=ResponseCache(cache_ttl, enabled=cache),
            retry=as_policy(retries),
            on_token=on_token,
        )
        self._client = httpx.Client(
            headers=DEFAULT_HEADERS, timeout=timeout, verify=verify, transport=transport, follow_redirects=True
        )

    # --- state -------------------------------------------------------------------------------------------------
    @property
    def context(self) -> Context:
        """Where the client points and what credentials it holds."""
        return self._ctx

    @property
    def token(self) -> str | None:
        return self._ctx.token

    @property
    def refresh_token(self) -> str | None:
        return self._ctx.refresh_token

    @property
    def cache(self) -> ResponseCache:
        return self._ctx.cache

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Hub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- running flows -----------------------------------------------------------------------------------------
    def _drive(self, flow: Flow[T]) -> T:
        value: Any = None
        error: BaseException | None = None
        while True:
            try:
                effect = flow.throw(error) if error is not None else flow.send(value)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            value, error = None, None
            try:
                value = self._perform(effect)
            except Exception as exc:  # handed to the flow, which may handle it or let it through
                error = exc

    def _paginate(self, listing: Listing[T]) -> Paged[T]:
        return Paged(self._send, listing)

    def _perform(self, effect: Effect) -> Any:
        if isinstance(effect, Call):
            return self._send(effect)
        if isinstance(effect, Download):
            return self._download(effect)
        if isinstance(effect, AskCode):
            return self._ask_code(effect)
        raise TypeError(f"unknown effect {effect!r}")

    def _ask_code(self, effect: AskCode) -> str:
        callback = self._ctx.otp_callback
        if callback is None:
            raise TwoFactorRequired(f"{effect.username} has two-factor authentication: give an otp_callback")
        code = callback()
        if inspect.isawaitable(code):
            if inspect.iscoroutine(code):
                code.close()
            raise TypeError("Hub needs a synchronous otp_callback (AsyncHub takes async ones)")
        return str(code)

    def _send(self, call: Call) -> httpx.Response:
        ctx = self._ctx
        if call.auth and ctx.needs_sign_in():
            self._drive(routes_accounts.sign_in(ctx))
        key = cache_key(ctx, call)
        if key is not None:
            cached = ctx.cache.get(key)
            if cached is not None:
                return cached
        attempt, signed_in_again = 1, False
        while True:
            args = request_args(ctx, call)
            sent_token = ctx.token if "Authorization" in args["headers"] else None
            try:
                response = self._client.request(**args)
            except httpx.TransportError as exc:
                raise connection_failed(call, args["url"], exc) from exc
            wait = ctx.retry.delay(call.method, response, attempt) if call.retry else None
            if wait is not None:
                response.close()
                time.sleep(wait)
                attempt += 1
                continue
            if not signed_in_again and should_sign_in_again(ctx, call, response, sent_token):
                signed_in_again = True
                self._drive(routes_accounts.sign_in(ctx))
                key = cache_key(ctx, call)
                continue
            return after_response(ctx, call, response, key)

    def _download(self, effect: Download) -> Path:
        ctx = self._ctx
        url = ctx.url(effect.url)
        attempt = 1
        while True:
            try:
                with self._client.stream("GET", url, headers=download_headers(ctx, effect, url)) as response:
                    wait = ctx.retry.delay("GET", response, attempt)
                    if wait is not None:
                        time.sleep(wait)
                        attempt += 1
                        continue
                    if response.status_code >= 400:
                        response.read()
                        raise error_for(response)
                    return self._write(effect, response)
            except httpx.TransportError as exc:
                raise connection_failed(Call("GET", url), url, exc) from exc

    @staticmethod
    def _write(effect: Download, response: httpx.Response) -> Path:
        total = content_length(response)
        target = download_target(effect, response)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = partial_path(target)
        done = 0
        try:
            with partial.open("wb") as out:
                if effect.progress is not None:
                    effect.progress(target.name, 0, total)
                for chunk in response.iter_bytes(CHUNK):
                    out.write(chunk)
                    done += len(chunk)
                    if effect.progress is not None:
                        effect.progress(target.name, done, total)
            os.replace(partial, target)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return target
