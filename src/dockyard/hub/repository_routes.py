"""Hub API routes for repositories: the current `/v2/namespaces/{namespace}/repositories` family, the legacy
`/v2/repositories/...` family clients still call, stars, a user's repositories and registry settings."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Body, Path, Query, Request, Response

from dockyard.api.deps import CurrentSubject, OptionalSubject, ReadSession, ServicesDep, WriteSession
from dockyard.api.errors import BadRequest
from dockyard.api.pagination import Pages, paginate
from dockyard.api.routing import HubRouter
from dockyard.hub import schemas
from dockyard.hub.repositories import RepositoryService

router = HubRouter(tags=["repositories"])

Namespace = Annotated[str, Path(min_length=1, max_length=255, pattern=schemas.SEGMENT_PATTERN)]
Name = Annotated[str, Path(min_length=1, max_length=255, pattern=schemas.SEGMENT_PATTERN)]
Username = Annotated[str, Path(min_length=1, max_length=255, pattern=schemas.SEGMENT_PATTERN)]
Ordering = Literal["name", "-name", "last_updated", "-last_updated", "pull_count", "-pull_count"]
NameFilter = Annotated[
    str | None, Query(max_length=255, pattern=schemas.NO_NUL_PATTERN, description="Part of the repository name")
]

CURRENT_ENTRY_FIELDS = set(schemas.RepositoryListEntry.model_fields)


def _current(entries: list[schemas.LegacyRepositoryListEntry]) -> list[schemas.RepositoryListEntry]:
    return [schemas.RepositoryListEntry(**e.model_dump(include=CURRENT_ENTRY_FIELDS)) for e in entries]


# --- current family ----------------------------------------------------------------------------------------
@router.get(
    "/v2/namespaces/{namespace}/repositories",
    response_model=schemas.Page[schemas.RepositoryListEntry],
    summary="List a namespace's repositories",
)
async def list_repositories(
    request: Request,
    namespace: Namespace,
    services: ServicesDep,
    session: ReadSession,
    subject: OptionalSubject,
    pages: Pages,
    ordering: Ordering | None = None,
    name: NameFilter = None,
) -> dict[str, Any]:
    count, entries = await RepositoryService(session, services).namespace_page(
        subject, namespace, name=name, ordering=ordering, offset=pages.offset, limit=pages.page_size
    )
    return paginate(request, services.settings.base_url, pages, count, _current(entries))


@router.post(
    "/v2/namespaces/{namespace}/repositories",
    response_model=schemas.RepositoryInfo,
    status_code=201,
    summary="Create a repository",
)
@router.post(
    "/v2/repositories/{namespace}/",
    response_model=schemas.RepositoryInfo,
    status_code=201,
    summary="Create a repository in a namespace (legacy)",
)
async def create_repository(
    namespace: Namespace,
    body: Annotated[schemas.CreateRepository, Body()],
    services: ServicesDep,
    session: WriteSession,
    subject: CurrentSubject,
) -> schemas.RepositoryInfo:
    return await RepositoryService(session, services).create(subject, namespace, body)


@router.get(
    "/v2/namespaces/{namespace}/repositories/{repository}",
    response_model=schemas.RepositoryInfo,
    summary="Get a repository (HEAD: check that it exists)",
)
@router.head(
    "/v2/namespaces/{namespace}/repositories/{repository}",
    response_model=schemas.RepositoryInfo,
    summary="Get a repository (HEAD: check that it exists)",
)
@router.get(
    "/v2/repositories/{namespace}/{repository}/",
    response_model=schemas.RepositoryInfo,
    summary="Get a repository (legacy)",
)
@router.head(
    "/v2/repositories/{namespace}/{repository}/",
    response_model=schemas.RepositoryInfo,
    summary="Get a repository (legacy)",
)
async def get_repository(
    namespace: Namespace, repository: Name, services: ServicesDep, session: ReadSession, subject: OptionalSubject
) -> schemas.RepositoryInfo:
    service = RepositoryService(session, services)
    return await service.info(subject, await service.get(subject, namespace, repository))


@router.patch(
    "/v2/namespaces/{namespace}/repositories/{repository}/immutabletags",
    response_model=schemas.RepositoryInfo,
    summary="Set the repository's immutable tag rules",
)
async def set_immutable_tags(
    namespace: Namespace,
    repository: Name,
    body: Annotated[schemas.ImmutableTagsUpdate, Body()],
    services: ServicesDep,
    session: WriteSession,
    subject: CurrentSubject,
) -> schemas.RepositoryInfo:
    return await RepositoryService(session, services).set_immutable_tags(subject, namespace, repository, body)


@router.post(
    "/v2/namespaces/{namespace}/repositories/{repository}/immutabletags/verify",
    response_model=schemas.ImmutableTagsVerifyResult,
    summary="List the repository's tags a rule would make immutable",
)
async def verify_immutable_tags(
    namespace: Namespace,
    repository: Name,
    body: Annotated[schemas.ImmutableTagsVerify, Body()],
    services: ServicesDep,
    session: ReadSession,
    subject: CurrentSubject,
) -> schemas.ImmutableTagsVerifyResult:
    tags = await RepositoryService(session, services).verify_immutable_rule(subject, namespace, repository, body.regex)
    return schemas.ImmutableTagsVerifyResult(tags=tags)


# --- legacy family -----------------------------------------------------------------------------------------
@router.get(
    "/v2/repositories/{namespace}/",
    response_model=schemas.Page[schemas.LegacyRepositoryListEntry],
    summary="List a namespace's repositories (legacy)",
)
async def list_repositories_legacy(
    request: Request,
    namespace: Namespace,
    services: ServicesDep,
    session: ReadSession,
    subject: OptionalSubject,
    pages: Pages,
    ordering: Ordering | None = None,
    name: NameFilter = None,
) -> dict[str, Any]:
    count, entries = await RepositoryService(session, services).namespace_page(
        subject, namespace, name=name, ordering=ordering, offset=pages.offset, limit=pages.page_size
    )
    return paginate(request, services.settings.base_url, pages, count, entries)


@router.post(
    "/v2/repositories/",
    response_model=schemas.RepositoryInfo,
    status_code=201,
    summary="Create a repository (legacy; the namespace comes from the body)",
)
async def create_repository_legacy(
    body: Annotated[schemas.CreateRepository, Body()],
    services: ServicesDep,
    session: WriteSession,
    subject: CurrentSubject,
) -> schemas.RepositoryInfo:
    if not body.namespace:
        raise BadRequest("namespace is required", extra={"fields": {"namespace": ["This field is required."]}})
    return await RepositoryService(session, services).create(subject, body.namespace, body)


@router.patch(
    "/v2/repositories/{namespace}/{repository}/",
    response_model=schemas.RepositoryInfo,
    summary="Change a repository's descriptions",
)
async def update_repository(
    namespace: Namespace,
    repository: Name,
    body: Annotated[schemas.UpdateRepository, Body()],
    services: ServicesDep,
    session: WriteSession,
    subject: CurrentSubject,
) -> schemas.RepositoryInfo:
    return await RepositoryService(session, services).update(subject, namespace, repository, body)


@router.delete(
    "/v2/repositories/{namespace}/{repository}/",
    status_code=202,
    response_class=Response,
    summary="Delete a repository with its tags and images",
)
async def delete_repository(
    namespace: Namespace, repository: Name, services: ServicesDep, session: WriteSession, subject: CurrentSubject
) -> Response:
    await RepositoryService(session, services).delete(subject, namespace, repository)
    return Response(status_code=202)


@router.post(
    "/v2/repositories/{namespace}/{repository}/privacy/",
    response_model=schemas.RepositoryInfo,
    summary="Make a repository private or public",
)
async def set_privacy(
    namespace: Namespace,
    repository: Name,
    body: Annotated[schemas.SetPrivacy, Body()],
    services: ServicesDep,
    session: WriteSession,
    subject: CurrentSubject,
) -> schemas.RepositoryInfo:
    return await RepositoryService(session, services).set_privacy(subject, namespace, repository, body.is_private)


@router.post(
    "/v2/repositories/{namespace}/{repository}/stars/",
    status_code=201,
    response_class=Response,
    summary="Star a repository",
)
async def star(
    namespace: Namespace,
    repository: Name,
    services: ServicesDep,
    session: WriteSession,
    subject: CurrentSubject,
    body: Annotated[dict[str, Any] | None, Body()] = None,
) -> Response:
    await RepositoryService(session, services).star(subject, namespace, repository, True)
    return Response(status_code=201)


@router.delete(
    "/v2/repositories/{namespace}/{repository}/stars/",
    status_code=204,
    response_class=Response,
    summary="Remove your star from a repository",
)
async def unstar(
    namespace: Namespace, repository: Name, services: ServicesDep, session: WriteSession, subject: CurrentSubject
) -> Response:
    await RepositoryService(session, services).star(subject, namespace, repository, False)
    return Response(status_code=204)


# --- users -------------------------------------------------------------------------------------------------
@router.get(
    "/v2/users/{username}/repositories/",
    response_model=list[schemas.UserRepository],
    summary="All of an account's repositories you can see (an unpaged array)",
)
async def user_repositories(
    username: Username, services: ServicesDep, session: ReadSession, subject: OptionalSubject
) -> list[schemas.UserRepository]:
    return await RepositoryService(session, services).user_repositories(subject, username)


@router.get(
    "/v2/users/{username}/repositories/starred",
    response_model=schemas.Page[schemas.LegacyRepositoryListEntry],
    summary="Repositories a user starred",
)
async def starred_repositories(
    request: Request,
    username: Username,
    services: ServicesDep,
    session: ReadSession,
    subject: OptionalSubject,
    pages: Pages,
) -> dict[str, Any]:
    count, entries = await RepositoryService(session, services).starred_page(
        subject, username, pages.offset, pages.page_size
    )
    return paginate(request, services.settings.base_url, pages, count, entries)


@router.get(
    "/v2/users/{username}/registry-settings/",
    response_model=schemas.RegistrySettingsInfo,
    summary="Private repository quota and usage",
)
async def registry_settings(
    username: Username, services: ServicesDep, session: ReadSession, subject: CurrentSubject
) -> schemas.RegistrySettingsInfo:
    return await RepositoryService(session, services).registry_settings(subject, username)


@router.patch(
    "/v2/users/{username}/registry-settings/",
    response_model=schemas.RegistrySettingsInfo,
    summary="Set an account's private repository quota (site administrators)",
)
async def set_registry_settings(
    username: Username,
    body: Annotated[schemas.RegistrySettingsUpdate, Body()],
    services: ServicesDep,
    session: WriteSession,
    subject: CurrentSubject,
) -> schemas.RegistrySettingsInfo:
    return await RepositoryService(session, services).set_registry_settings(subject, username, body)
