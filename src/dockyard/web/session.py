"""The browser's session: a cookie holding the same Hub access token `POST /v2/users/login` hands out, so
logging out, deactivating a token or disabling an account ends a browser session exactly as it ends an API one.

The cookie is HttpOnly (no script reads it), SameSite=Strict (no other site's page can make the browser send it,
which is what protects the POST forms from cross-site requests), Path=/, and Secure with the `__Host-` prefix when
the public URL is https (a plain-http sibling cannot then overwrite it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, urlsplit

from starlette.requests import Request
from starlette.responses import Response

from dockyard.accounts.permissions import Subject
from dockyard.accounts.sessions import ACCESS, IssuedToken
from dockyard.api.deps import subject_for_token
from dockyard.config import Settings

if TYPE_CHECKING:
    from dockyard.app import Services

COOKIE = "dockyard_session"
SECURE_COOKIE = "__Host-dockyard_session"
HOME = "/insights"
MAX_FORM_BYTES = 64 * 1024
MAX_FORM_FIELDS = 16


def secure(settings: Settings) -> bool:
    return settings.base_url.startswith("https://")


def cookie_name(settings: Settings) -> str:
    return SECURE_COOKIE if secure(settings) else COOKIE


def start(response: Response, settings: Settings, token: IssuedToken) -> None:
    response.set_cookie(
        cookie_name(settings),
        token.token,
        max_age=settings.hub_token_ttl_seconds,
        path="/",
        secure=secure(settings),
        httponly=True,
        samesite="strict",
    )


def end(response: Response, settings: Settings) -> None:
    response.delete_cookie(cookie_name(settings), path="/", secure=secure(settings), httponly=True, samesite="strict")


def token(request: Request, settings: Settings) -> str | None:
    return request.cookies.get(cookie_name(settings)) or None


def claims(request: Request, services: Services) -> dict[str, Any] | None:
    found = token(request, services.settings)
    return services.hub_tokens.decode(found, ACCESS) if found else None


@dataclass(frozen=True)
class Visitor:
    """Who is looking at a page: `subject` is None when not signed in; `stale` when a cookie came that no longer
    verifies (expired, logged out elsewhere), so the response should drop it."""

    subject: Subject | None
    stale: bool = False


async def visitor(request: Request, services: Services) -> Visitor:
    found = token(request, services.settings)
    if found is None:
        return Visitor(None)
    subject = await subject_for_token(services, found)
    if subject is None:
        return Visitor(None, stale=True)
    return Visitor(subject)


def local_path(value: str | None) -> str:
    """`value` when it is a path on this site, else the dashboard: a `next` parameter must never send the browser
    to another site after signing in (`//host/…` and `/\\host` are other sites to a browser)."""
    if not value or len(value) > 2048 or not value.startswith("/") or value.startswith(("//", "/\\")):
        return HOME
    if any(ord(char) < 0x20 or char in "\\\x7f" for char in value):
        return HOME
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return HOME
    return value


def login_url(request: Request) -> str:
    """`/login?next=` the page asked for, to come back to after signing in."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/login?next=" + quote(here, safe="/")


def cross_site(request: Request) -> bool:
    """Whether the browser says a form was posted from another site (`Sec-Fetch-Site`). The SameSite=Strict cookie
    already keeps other sites from acting in a session; this also keeps them from signing a visitor in to an
    account of their choosing. Clients that do not send the header (not browsers) are not refused."""
    return request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none")


class BadForm(Exception):
    """A form body too large, or not text."""


async def read_form(request: Request) -> dict[str, str]:
    """An `application/x-www-form-urlencoded` body as {name: first value} (the pages post nothing else, so no
    multipart parser is needed); a body past MAX_FORM_BYTES is refused without reading the rest."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise BadForm
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/x-www-form-urlencoded":
        return {}
    try:
        pairs = parse_qsl(body.decode(), keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise BadForm from None
    form: dict[str, str] = {}
    for name, value in pairs:
        form.setdefault(name, value)
    return form
