"""Exceptions of the SDK. Every refusal by a server is a `HubError` carrying the HTTP status, the server's
`detail` and `message` (Hub API bodies carry both; the registry's `{"errors": [...]}` bodies are read too), the
parsed body and the `httpx.Response` itself. Subclasses name the common cases so callers can catch just those."""

from __future__ import annotations

from typing import Any

import httpx


class HubError(Exception):
    """A request the server refused, or one that never got an answer (then `status` is None)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        detail: str | None = None,
        body: Any = None,
        response: httpx.Response | None = None,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.detail = detail if detail is not None else message
        self.body = body
        self.response = response
        self.method = method
        self.url = url

    def __str__(self) -> str:
        prefix = f"{self.status} " if self.status is not None else ""
        return f"{prefix}{self.message}"


class BadRequest(HubError):
    """400 or 422: the request was malformed or failed validation (`fields` when the server named them)."""

    @property
    def fields(self) -> dict[str, list[str]]:
        if isinstance(self.body, dict) and isinstance(self.body.get("fields"), dict):
            return {str(k): [str(m) for m in v] for k, v in self.body["fields"].items() if isinstance(v, list)}
        return {}


class AuthenticationError(HubError):
    """401: no credentials, wrong ones, or an expired or revoked token."""


class TwoFactorRequired(AuthenticationError):
    """401 at sign-in with a `login_2fa_token`, and no `otp_callback` to ask for the code."""

    @property
    def login_2fa_token(self) -> str | None:
        if isinstance(self.body, dict):
            token = self.body.get("login_2fa_token")
            return token if isinstance(token, str) else None
        return None


class PermissionDenied(HubError):
    """403: signed in, but not allowed."""


class NotFound(HubError):
    """404: no such resource (or one the caller may not see)."""


class Conflict(HubError):
    """409: the resource exists already, or is in a state that forbids the change."""


class RateLimited(HubError):
    """429 after the retries ran out, or with a `Retry-After` longer than the SDK is willing to wait."""

    @property
    def retry_after(self) -> float | None:
        from dockyard.client.retry import retry_after

        return retry_after(self.response) if self.response is not None else None


class ServerError(HubError):
    """5xx after the retries (if any) ran out."""


class ConnectionFailed(HubError):
    """The request got no HTTP answer: the connection failed or timed out."""


_BY_STATUS: dict[int, type[HubError]] = {
    400: BadRequest,
    401: AuthenticationError,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    422: BadRequest,
    429: RateLimited,
}


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def describe_body(body: Any, fallback: str) -> tuple[str, str | None]:
    """(message, detail) from an error body of any of the shapes servers use: Hub `{detail, message}`, the
    registry's `{errors: [{code, message}]}`, gRPC-style `{code, message}`, DRF validation lists, or plain text."""
    if isinstance(body, dict):
        detail = body.get("detail")
        detail_text = _text(detail)
        if detail_text is None and isinstance(detail, list):  # FastAPI's own validation errors
            parts = [str(item.get("msg", item)) if isinstance(item, dict) else str(item) for item in detail]
            detail_text = "; ".join(parts) or None
        message = _text(body.get("message")) or detail_text
        if message is None and isinstance(body.get("errors"), list):
            parts = []
            for error in body["errors"]:
                if isinstance(error, dict):
                    parts.append(": ".join(p for p in (_text(error.get("code")), _text(error.get("message"))) if p))
            message = "; ".join(p for p in parts if p) or None
        if message is None:
            message = _text(body.get("error")) or _text(body.get("text"))
        return message or fallback, detail_text
    if isinstance(body, str) and body.strip():
        text = body.strip()
        return (text if len(text) <= 500 else text[:500] + "…"), None
    return fallback, None


def body_of(response: httpx.Response) -> Any:
    """The JSON body, or the text when it is not JSON (None when empty)."""
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text


def error_for(response: httpx.Response) -> HubError:
    """The exception for a refused response."""
    status = response.status_code
    body = body_of(response)
    fallback = response.reason_phrase or f"HTTP {status}"
    message, detail = describe_body(body, fallback)
    cls: type[HubError]
    if status == 401 and isinstance(body, dict) and body.get("login_2fa_token"):
        cls = TwoFactorRequired
    elif status >= 500:
        cls = ServerError
    else:
        cls = _BY_STATUS.get(status, HubError)
    request = response.request if _has_request(response) else None
    return cls(
        message,
        status=status,
        detail=detail,
        body=body,
        response=response,
        method=request.method if request is not None else None,
        url=str(request.url) if request is not None else None,
    )


def _has_request(response: httpx.Response) -> bool:
    try:
        response.request  # noqa: B018 - raises when the response was built without one
    except RuntimeError:
        return False
    return True
