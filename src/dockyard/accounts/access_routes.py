"""Hub API routes that share one repository: collaborators on a personal repository (the npm client's
`collaborators`, `addCollaborator`, `deleteCollaborator`) and team permissions on an organisation's repository."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, Path, Request, Response

from dockyard.accounts import schemas_people as schemas
from dockyard.accounts.collaborators import CollaboratorsService
from dockyard.accounts.repo_access import repository_access
from dockyard.accounts.teams import TeamsService
from dockyard.api.deps import CurrentSubject, ReadSession, ServicesDep, WriteSession
from dockyard.api.pagination import Pages, paginate
from dockyard.api.routing import HubRouter

router = HubRouter(tags=["repository access"])

Namespace = Annotated[str, Path(min_length=1, max_length=255, pattern=schemas.NO_NUL)]
RepoName = Annotated[str, Path(min_length=1, max_length=255, pattern=schemas.NO_NUL)]
Username = Annotated[str, Path(min_length=1, max_length=255, pattern=schemas.NO_NUL)]
GroupId = Annotated[int, Path(ge=1, le=2**31 - 1)]


# --- collaborators ---------------------------------------------------------------------------------------------
@router.get(
    "/v2/repositories/{namespace}/{repository}/collaborators/",
    response_model=schemas.Page[schemas.CollaboratorOut],
    summary="A personal repository's collaborators",
)
async def list_collaborators(
    request: Request,
    namespace: Namespace,
    repository: RepoName,
    pages: Pages,
    subject: CurrentSubject,
    session: ReadSession,
    services: ServicesDep,
) -> dict[str, Any]:
    repo = await repository_access(session, subject, namespace, repository)
    count, rows = await CollaboratorsService(session).list_collaborators(repo, pages.offset, pages.page_size)
    results = [schemas.CollaboratorOut(user=account.name, permission=row.permission) for row, account in rows]  # type: ignore[arg-type]
    return paginate(request, services.settings.base_url, pages, count, results)


@router.post(
    "/v2/repositories/{namespace}/{repository}/collaborators/",
    status_code=201,
    response_model=schemas.CollaboratorOut,
    summary="Add a collaborator (write access unless `permission` says otherwise)",
)
async def add_collaborator(
    namespace: Namespace,
    repository: RepoName,
    body: Annotated[schemas.CollaboratorAdd, Body()],
    subject: CurrentSubject,
    session: WriteSession,
    services: ServicesDep,
) -> schemas.CollaboratorOut:
    repo = await repository_access(session, subject, namespace, repository)
    row, account = await CollaboratorsService(session, services.bus).add(repo, body.user, body.permission)
    return schemas.CollaboratorOut(user=account.name, permission=row.permission)  # type: ignore[arg-type]


@router.delete(
    "/v2/repositories/{namespace}/{repository}/collaborators/{username}/",
    status_code=204,
    response_class=Response,
    summary="Remove a collaborator (admins), or stop collaborating (yourself)",
)
async def remove_collaborator(
    namespace: Namespace,
    repository: RepoName,
    username: Username,
    subject: CurrentSubject,
    session: WriteSession,
    services: ServicesDep,
) -> Response:
    repo = await repository_access(session, subject, namespace, repository)
    await CollaboratorsService(session, services.bus).remove(repo, username)
    return Response(status_code=204)


# --- team permissions ------------------------------------------------------------------------------------------
@router.get(
    "/v2/repositories/{namespace}/{repository}/groups",
    response_model=schemas.Page[schemas.TeamGrant],
    summary="The groups with a permission on an organisation's repository (admins)",
)
async def list_team_grants(
    request: Request,
    namespace: Namespace,
    repository: RepoName,
    pages: Pages,
    subject: CurrentSubject,
    session: ReadSession,
    services: ServicesDep,
) -> dict[str, Any]:
    repo = await repository_access(session, subject, namespace, repository)
    count, rows = await TeamsService(session).grants(repo, pages.offset, pages.page_size)
    results = [
        schemas.TeamGrant(group_name=team.name, permission=grant.permission, group_id=team.id)  # type: ignore[arg-type]
        for grant, team in rows
    ]
    return paginate(request, services.settings.base_url, pages, count, results)


@router.post(
    "/v2/repositories/{namespace}/{repository}/groups",
    response_model=schemas.TeamGrant,
    summary="Give a group read, write or admin permission on an organisation's repository (admins)",
)
async def grant_team(
    namespace: Namespace,
    repository: RepoName,
    body: Annotated[schemas.TeamGrantRequest, Body()],
    subject: CurrentSubject,
    session: WriteSession,
    services: ServicesDep,
) -> schemas.TeamGrant:
    repo = await repository_access(session, subject, namespace, repository)
    grant, team = await TeamsService(session, services.bus).grant(repo, body.group_id, body.permission)
    return schemas.TeamGrant(group_name=team.name, permission=grant.permission, group_id=team.id)  # type: ignore[arg-type]


@router.delete(
    "/v2/repositories/{namespace}/{repository}/groups/{group_id}",
    status_code=204,
    response_class=Response,
    summary="Take a group's permission on a repository away (admins)",
)
async def revoke_team(
    namespace: Namespace,
    repository: RepoName,
    group_id: GroupId,
    subject: CurrentSubject,
    session: WriteSession,
    services: ServicesDep,
) -> Response:
    repo = await repository_access(session, subject, namespace, repository)
    await TeamsService(session, services.bus).revoke(repo, group_id)
    return Response(status_code=204)
