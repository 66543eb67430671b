"""`AsyncHub`: the asynchronous client, with exactly the operations of `Hub` (both inherit them from
`Operations`), each returning an awaitable, and list operations returning async iterators.

    async with AsyncHub("https://hub.example.com", token=token) as hub:
        async for tag in hub.list_tags("alice", "app"):
            print(tag.name, tag.digest)
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio
import httpx

from dockyard.client import routes_accounts
from dockyard.client.cache import DEFAULT_TTL, ResponseCache
from dockyard.client.calls import AskCode, Call, Download, Effect, Flow, Listing
from dockyard.client.context import Context, OtpCallback
from dockyard.client.errors import TwoFactorRequired, error_for
from dockyard.client.paging import AsyncPaged
from dockyard.client.retry import RetryPolicy, as_policy
from dockyard.client.surface import AsyncRunner, Operations
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


class AsyncHub(Operations, AsyncRunner):
    """The asynchronous twin of `Hub`; the same settings (see `Hub`). `otp_callback` may be a coroutine
    function."""

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
        transport: httpx.AsyncBaseTransport | None = None,
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
        self._client = httpx.AsyncClient(
            headers=DEFAULT_HEADERS, timeout=timeout, verify=verify, transport=transport, follow_redirects=True
        )

    # --- state -------------------------------------------------------------------------------------------------
    @property
    def context(self) -> Context:
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

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> AsyncHub:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # --- running flows -----------------------------------------------------------------------------------------
    async def _drive(self, flow: Flow[T]) -> T:
        value: Any = None
        error: BaseException | None = None
        while True:
            try:
                effect = flow.throw(error) if error is not None else flow.send(value)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            value, error = None, None
            try:
                value = await self._perform(effect)
            except Exception as exc:
                error = exc

    def _paginate(self, listing: Listing[T]) -> AsyncPaged[T]:
        return AsyncPaged(self._send, listing)

    async def _perform(self, effect: Effect) -> Any:
        if isinstance(effect, Call):
            return await self._send(effect)
        if isinstance(effect, Download):
            return await self._download(effect)
        if isinstance(effect, AskCode):
            return await self._ask_code(effect)
        raise TypeError(f"unknown effect {effect!r}")

    async def _ask_code(self, effect: AskCode) -> str:
        callback = self._ctx.otp_callback
        if callback is None:
            raise TwoFactorRequired(f"{effect.username} has two-factor authentication: give an otp_callback")
        code = callback()
        if inspect.isawaitable(code):
            code = await code
        return str(code)

    async def _send(self, call: Call) -> httpx.Response:
        ctx = self._ctx
        if call.auth and ctx.needs_sign_in():
            await self._drive(routes_accounts.sign_in(ctx))
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
                response = await self._client.request(**args)
            except httpx.TransportError as exc:
                raise connection_failed(call, args["url"], exc) from exc
            wait = ctx.retry.delay(call.method, response, attempt) if call.retry else None
            if wait is not None:
                await response.aclose()
                await anyio.sleep(wait)
                attempt += 1
                continue
            if not signed_in_again and should_sign_in_again(ctx, call, response, sent_token):
                signed_in_again = True
                await self._drive(routes_accounts.sign_in(ctx))
                key = cache_key(ctx, call)
                continue
            return after_response(ctx, call, response, key)

    async def _download(self, effect: Download) -> Path:
        ctx = self._ctx
        url = ctx.url(effect.url)
        attempt = 1
        while True:
            try:
                async with self._client.stream("GET", url, headers=download_headers(ctx, effect, url)) as response:
                    wait = ctx.retry.delay("GET", response, attempt)
                    if wait is not None:
                        await anyio.sleep(wait)
                        attempt += 1
                        continue
                    if response.status_code >= 400:
                        await response.aread()
                        raise error_for(response)
                    return await self._write(effect, response)
            except httpx.TransportError as exc:
                raise connection_failed(Call("GET", url), url, exc) from exc

    @staticmethod
    async def _write(effect: Download, response: httpx.Response) -> Path:
        total = content_length(response)
        target = download_target(effect, response)
        await anyio.Path(target.parent).mkdir(parents=True, exist_ok=True)
        partial = partial_path(target)
        done = 0
        try:
            async with await anyio.open_file(partial, "wb") as out:
                if effect.progress is not None:
                    effect.progress(target.name, 0, total)
                async for chunk in response.aiter_bytes(CHUNK):
                    await out.write(chunk)
                    done += len(chunk)
                    if effect.progress is not None:
                        effect.progress(target.name, done, total)
            await anyio.to_thread.run_sync(os.replace, partial, target)
        except BaseException:
            await anyio.Path(partial).unlink(missing_ok=True)
            raise
        return target
