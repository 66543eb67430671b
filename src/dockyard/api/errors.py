"""Hub-style errors. Every error body carries `detail` and `message` (clients read one or the other), and no
success body ever carries `detail`: the npm client treats any body with that key as a failure."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from dockyard.accounts.errors import AccountsError
from dockyard.accounts.throttle import Throttled


class ApiError(Exception):
    status = 400

    def __init__(
        self,
        detail: str,
        *,
        status: int | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if status is not None:
            self.status = status
        self.headers = headers or {}
        self.extra = extra or {}


class BadRequest(ApiError):
    status = 400


class Unauthorized(ApiError):
    status = 401


class Forbidden(ApiError):
    status = 403


class NotFound(ApiError):
    status = 404


class Conflict(ApiError):
    status = 409


class TooManyRequests(ApiError):
    status = 429


def error_body(detail: str, **extra: Any) -> dict[str, Any]:
    return {"detail": detail, "message": detail, **extra}


def _json(status: int, detail: str, headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    return JSONResponse(error_body(detail, **extra), status_code=status, headers=headers)


def _field_errors(exc: RequestValidationError) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for error in exc.errors():
        location = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path", "header")]
        fields.setdefault(".".join(location) or "request", []).append(str(error.get("msg", "invalid")))
    return fields


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return _json(exc.status, exc.detail, exc.headers, **exc.extra)

    @app.exception_handler(Throttled)
    async def throttled(_: Request, exc: Throttled) -> JSONResponse:
        # Sign-in throttling raised from any credential check (HTTP Basic on the v1 API, for instance).
        return _json(429, str(exc), {"Retry-After": str(exc.retry_after)})

    @app.exception_handler(AccountsError)
    async def accounts_error(_: Request, exc: AccountsError) -> JSONResponse:
        return _json(exc.status, exc.message)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        fields = _field_errors(exc)
        summary = "; ".join(f"{name}: {', '.join(messages)}" for name, messages in fields.items())
        return _json(400, f"invalid request: {summary}", fields=fields)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = {404: "404: Page Not Found", 405: "405: Method Not Allowed"}.get(exc.status_code, str(exc.detail))
        return _json(exc.status_code, detail, dict(exc.headers or {}))
