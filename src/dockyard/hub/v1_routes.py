"""HTTP for the legacy v1 index API; the mapping onto this server is described in hub/v1.py."""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import Body, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from dockyard.accounts.permissions import ANONYMOUS, Permission, Subject
from dockyard.accounts.service import LIBRARY, AccountsService
from dockyard.api.deps import ReadSession, ServicesDep, WriteSession, get_services
from dockyard.api.errors import BadRequest, Forbidden, Unauthorized
from dockyard.api.routing import HubRouter
from dockyard.http import client_ip
from dockyard.hub.community_access import Text, is_plain
from dockyard.hub.v1 import IndexService, canonical, docker_token_headers, token_signature

router = HubRouter(tags=["v1 index"])

BASIC_CHALLENGE = {"WWW-Authenticate": 'Basic realm="dockyard"'}


class V1ImageIn(BaseModel):
    id: Text = Field(min_length=1, max_length=160)
    checksum: Text | None = Field(default=None, max_length=200)


class V1ImageOut(BaseModel):
    id: str
    checksum: str


class SignupIn(BaseModel):
    username: Text = Field(min_length=1, max_length=30)
    password: Text = Field(min_length=1, max_length=4096)
    email: Text = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")


class UserUpdateIn(BaseModel):
    email: Text | None = Field(default=None, min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    password: Text | None = Field(default=None, min_length=1, max_length=4096)


async def _basic(request: Request) -> Subject | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        username, sep, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError) as exc:
        raise Unauthorized("malformed Basic credentials", headers=BASIC_CHALLENGE) from exc
    usable = sep and "\x00" not in username and len(username) <= 255
    subject = await get_services(request).registry.auth.authenticate(username, password) if usable else None
    if subject is None:
        raise Unauthorized("Incorrect authentication credentials", headers=BASIC_CHALLENGE)
    return subject


async def optional_user(request: Request) -> Subject:
    return await _basic(request) or ANONYMOUS


async def required_user(request: Request) -> Subject:
    subject = await _basic(request)
    if subject is None:
        raise Unauthorized("Authentication credentials were not provided.", headers=BASIC_CHALLENGE)
    return subject


V1User = Annotated[Subject, Depends(required_user)]
V1Caller = Annotated[Subject, Depends(optional_user)]


def _wants_token(request: Request) -> bool:
    return request.headers.get("x-docker-token", "").lower() == "true"


async def _answer(
    request: Request, services: ServicesDep, subject: Subject, path: str, access: str, body: object, status: int
) -> Response:
    headers = {"Vary": "Accept"}
    if _wants_token(request):
        headers.update(
            await docker_token_headers(services.registry.auth, subject, path, access, services.settings.base_url)
        )
    if status == 204:
        return Response(status_code=204, headers=headers)
    return JSONResponse(body, status_code=status, headers=headers)


# --- users -----------------------------------------------------------------------------------------------------
@router.get("/v1/users/", response_model=str, summary="Check HTTP Basic credentials")
async def check_login(subject: V1User) -> str:
    return "OK"


@router.post("/v1/users/", response_model=str, status_code=201, summary="Register (when DOCKYARD_ALLOW_SIGNUP is on)")
async def signup(body: Annotated[SignupIn, Body()], session: WriteSession, services: ServicesDep) -> str:
    if not services.settings.allow_signup:
        raise Forbidden("Sign-up is disabled on this server.")
    await AccountsService(session).create_user(body.username, body.password, email=body.email)
    return "User Created"


@router.put("/v1/users/{username}/", status_code=204, response_class=Response, summary="Change email or password")
async def update_user(
    username: str, body: Annotated[UserUpdateIn, Body()], subject: V1User, session: WriteSession, services: ServicesDep
) -> Response:
    if not is_plain(username):
        raise Forbidden("You may only change your own account.")
    if body.email is None and body.password is None:
        raise BadRequest("give an email, a password or both")
    await IndexService(session, services.registry).set_password_or_email(
        subject, username, email=body.email, password=body.password
    )
    return Response(status_code=204)


# --- images and auth (registered before the repository routes: `/v1/repositories/x/images` is library/x) -------
async def _images(
    request: Request, services: ServicesDep, subject: Subject, session: ReadSession, path: str
) -> Response:
    images = await IndexService(session, services.registry).images(subject, path)
    body = [{"id": image.id, "checksum": image.checksum} for image in images]
    return await _answer(request, services, subject, path, "read", body, 200)


async def _put_images(
    request: Request, services: ServicesDep, subject: Subject, session: ReadSession, path: str
) -> Response:
    await IndexService(session, services.registry).require(subject, path, Permission.WRITE)
    return await _answer(request, services, subject, path, "write", "", 204)


async def _auth(request: Request, services: ServicesDep, subject: Subject, session: ReadSession, path: str) -> str:
    signature = token_signature(request.headers.get("authorization", ""))
    if signature is not None:
        caller = await services.registry.auth.caller(
            f"Bearer {signature}",
            client_ip(request, services.settings.trusted_proxies),
            request.headers.get("user-agent", ""),
        )
        if caller is None or caller.token_access is None or not caller.token_access.get(path):
            raise Forbidden("Permission denied")
        return "OK"
    await IndexService(session, services.registry).require(subject, path, Permission.READ)
    return "OK"


@router.get("/v1/repositories/{name}/images", response_model=list[V1ImageOut], summary="Library repository images")
async def library_images(
    name: str, request: Request, services: ServicesDep, subject: V1Caller, session: ReadSession
) -> Response:
    return await _images(request, services, subject, session, canonical(LIBRARY, name))


@router.put("/v1/repositories/{name}/images", status_code=204, response_class=Response, summary="Library images")
async def put_library_images(
    name: str,
    request: Request,
    services: ServicesDep,
    subject: V1User,
    session: ReadSession,
    images: Annotated[list[V1ImageIn], Body()],
) -> Response:
    return await _put_images(request, services, subject, session, canonical(LIBRARY, name))


@router.put("/v1/repositories/{name}/auth", response_model=str, summary="Check a token for a library repository")
async def library_auth(
    name: str, request: Request, services: ServicesDep, subject: V1Caller, session: ReadSession
) -> str:
    return await _auth(request, services, subject, session, canonical(LIBRARY, name))


@router.get("/v1/repositories/{namespace}/{name}/images", response_model=list[V1ImageOut], summary="Images")
async def user_images(
    namespace: str, name: str, request: Request, services: ServicesDep, subject: V1Caller, session: ReadSession
) -> Response:
    return await _images(request, services, subject, session, canonical(namespace, name))


@router.put("/v1/repositories/{namespace}/{name}/images", status_code=204, response_class=Response, summary="Images")
async def put_user_images(
    namespace: str,
    name: str,
    request: Request,
    services: ServicesDep,
    subject: V1User,
    session: ReadSession,
    images: Annotated[list[V1ImageIn], Body()],
) -> Response:
    return await _put_images(request, services, subject, session, canonical(namespace, name))


@router.put("/v1/repositories/{namespace}/{name}/auth", response_model=str, summary="Check a token for a repository")
async def user_auth(
    namespace: str, name: str, request: Request, services: ServicesDep, subject: V1Caller, session: ReadSession
) -> str:
    return await _auth(request, services, subject, session, canonical(namespace, name))


# --- repositories ----------------------------------------------------------------------------------------------
async def _create(
    request: Request, services: ServicesDep, subject: Subject, session: WriteSession, path: str, library_form: bool
) -> Response:
    await IndexService(session, services.registry, services.bus).create_repository(
        subject, path, library_form=library_form
    )
    return await _answer(request, services, subject, path, "write", "", 200)


async def _delete(
    request: Request, services: ServicesDep, subject: Subject, session: WriteSession, path: str, library_form: bool
) -> Response:
    await IndexService(session, services.registry, services.bus).delete_repository(
        subject, path, library_form=library_form
    )
    return await _answer(request, services, subject, path, "delete", "", 202)


@router.put("/v1/repositories/{name}/", response_model=str, summary="Create a library repository (admins)")
async def create_library_repository(
    name: str,
    request: Request,
    services: ServicesDep,
    subject: V1User,
    session: WriteSession,
    images: Annotated[list[V1ImageIn] | None, Body()] = None,
) -> Response:
    return await _create(request, services, subject, session, canonical(LIBRARY, name), True)


@router.delete("/v1/repositories/{name}/", status_code=202, response_model=str, summary="Delete a library repository")
async def delete_library_repository(
    name: str, request: Request, services: ServicesDep, subject: V1User, session: WriteSession
) -> Response:
    return await _delete(request, services, subject, session, canonical(LIBRARY, name), True)


@router.put("/v1/repositories/{namespace}/{name}/", response_model=str, summary="Create a repository")
async def create_repository(
    namespace: str,
    name: str,
    request: Request,
    services: ServicesDep,
    subject: V1User,
    session: WriteSession,
    images: Annotated[list[V1ImageIn] | None, Body()] = None,
) -> Response:
    return await _create(request, services, subject, session, canonical(namespace, name), False)


@router.delete("/v1/repositories/{namespace}/{name}/", status_code=202, response_model=str, summary="Delete")
async def delete_repository(
    namespace: str, name: str, request: Request, services: ServicesDep, subject: V1User, session: WriteSession
) -> Response:
    return await _delete(request, services, subject, session, canonical(namespace, name), False)
