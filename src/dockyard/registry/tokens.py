"""The Docker registry token service at /token (GET with Basic or anonymous, POST with OAuth2 grants)."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from dockyard.accounts.permissions import ANONYMOUS, Subject
from dockyard.accounts.throttle import Throttled
from dockyard.http import client_ip
from dockyard.registry.auth import RefreshTokens, RegistryAuth, parse_scopes

MAX_FORM_BYTES = 64 * 1024


def _error(status: int, code: str, message: str) -> JSONResponse:
    headers = {"WWW-Authenticate": 'Basic realm="dockyard"'} if status == 401 else {}
    body = {"errors": [{"code": code, "message": message}], "details": message}
    return JSONResponse(body, status_code=status, headers=headers)


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        username, sep, password = base64.b64decode(header[6:].strip(), validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return (username, password) if sep else None


async def _sign_in(request: Request, auth: RegistryAuth, username: str, password: str) -> Subject | Response:
    """The subject for the credentials, or the error response: 401, or 429 while sign-ins are throttled."""
    try:
        result = await auth.sign_in(username, password, client_ip(request, auth.settings.trusted_proxies))
    except Throttled as throttled:
        response = _error(429, "TOOMANYREQUESTS", str(throttled))
        response.headers["Retry-After"] = str(throttled.retry_after)
        return response
    if result.second_factor_required:
        return _error(401, "UNAUTHORIZED", "two-factor authentication is enabled: sign in with a personal access token")
    if result.subject is None:
        return _error(401, "UNAUTHORIZED", "incorrect username or password")
    return result.subject


async def _answer(
    auth: RegistryAuth, subject: Subject, scope_values: list[str], *, offline: bool, oauth: bool
) -> Response:
    scopes = parse_scopes(scope_values)
    access = await auth.grant(subject, scopes)
    token, expires_in, issued_at = auth.issue(subject, access)
    body: dict[str, Any] = {"token": token, "access_token": token, "expires_in": expires_in, "issued_at": issued_at}
    if oauth:
        body["scope"] = " ".join(s.render() for s in scopes)
    if offline and not subject.is_anonymous:
        body["refresh_token"] = RefreshTokens(auth).issue(subject)
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


async def get_token(request: Request) -> Response:
    auth: RegistryAuth = request.app.state.registry.auth
    subject: Subject = ANONYMOUS
    authorization = request.headers.get("authorization")
    if authorization:
        credentials = _basic_credentials(authorization)
        if credentials is None:
            return _error(401, "UNAUTHORIZED", "malformed Authorization header: use HTTP Basic")
        found = await _sign_in(request, auth, *credentials)
        if isinstance(found, Response):
            return found
        subject = found
    params = request.query_params
    offline = params.get("offline_token", "").lower() == "true"
    return await _answer(auth, subject, params.getlist("scope"), offline=offline, oauth=False)


async def post_token(request: Request) -> Response:
    auth: RegistryAuth = request.app.state.registry.auth
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return _error(400, "invalid_request", "form too large")
    try:
        form = parse_qs(body.decode(), keep_blank_values=True)
    except UnicodeDecodeError:
        return _error(400, "invalid_request", "the form is not UTF-8")
    field = {key: values[-1] for key, values in form.items()}
    grant_type = field.get("grant_type")
    subject: Subject | None
    if grant_type == "password":
        if not field.get("username"):
            return _error(400, "invalid_request", "username and password are required")
        found = await _sign_in(request, auth, field["username"], field.get("password", ""))
        if isinstance(found, Response):
            return found
        subject = found
    elif grant_type == "refresh_token":
        subject = await RefreshTokens(auth).subject(field.get("refresh_token", ""))
    else:
        return _error(400, "unsupported_grant_type", "grant_type must be password or refresh_token")
    if subject is None:
        return _error(401, "UNAUTHORIZED", "invalid credentials")
    offline = field.get("access_type") == "offline" or grant_type == "refresh_token"
    scopes = [s for values in form.get("scope", []) for s in values.split(" ") if s]
    response = await _answer(auth, subject, scopes, offline=offline, oauth=True)
    return response


def token_routes() -> list[BaseRoute]:
    return [Route("/token", get_token, methods=["GET"]), Route("/token", post_token, methods=["POST"])]
