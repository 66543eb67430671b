"""Hub API routes for organisation invites: owners invite existing users in bulk, list, resend and cancel; the
invitee lists their own, accepts or declines."""

from __future__ import annotations

from typing import Annotated

from fastapi import Body, Path, Response

from dockyard.accounts import schemas_people as schemas
from dockyard.accounts.invites import InvitesService, InviteView
from dockyard.api.deps import CurrentSubject, ReadSession, ServicesDep, WriteSession
from dockyard.api.routing import HubRouter

router = HubRouter(tags=["invites"])

OrgName = Annotated[str, Path(min_length=1, max_length=255, pattern=schemas.NO_NUL)]
InviteId = Annotated[str, Path(min_length=1, max_length=64, pattern=schemas.NO_NUL)]


def _out(view: InviteView) -> schemas.InviteOut:
    return schemas.invite_out(view.invite, view.invitee, view.inviter, view.org, view.team)


@router.post(
    "/v2/invites/bulk",
    status_code=202,
    response_model=schemas.BulkInviteResponse,
    summary="Invite existing users (by username or e-mail address) to an organisation (owners)",
)
async def bulk_invite(
    body: Annotated[schemas.BulkInviteRequest, Body()],
    subject: CurrentSubject,
    session: WriteSession,
    services: ServicesDep,
) -> schemas.BulkInviteResponse:
    results = await InvitesService(session, services.bus).bulk(
        subject, body.org, body.team, body.role, body.invitees, body.dry_run
    )
    return schemas.BulkInviteResponse(
        invitees=[
            schemas.BulkInviteEntry(
                invitee=result.invitee,
                status=result.status,
                invite=_out(result.invite) if result.invite is not None else None,
            )
            for result in results
        ]
    )


@router.get("/v2/orgs/{org}/invites", response_model=schemas.InviteList, summary="Pending invites (owners)")
async def org_invites(org: OrgName, subject: CurrentSubject, session: ReadSession) -> schemas.InviteList:
    return schemas.InviteList(data=[_out(view) for view in await InvitesService(session).org_invites(subject, org)])


@router.get("/v2/user/invites", response_model=schemas.InviteList, summary="The signed-in user's pending invites")
async def my_invites(subject: CurrentSubject, session: ReadSession) -> schemas.InviteList:
    return schemas.InviteList(data=[_out(view) for view in await InvitesService(session).mine(subject)])


@router.delete(
    "/v2/invites/{invite_id}",
    status_code=204,
    response_class=Response,
    summary="Cancel an invite (owners), or decline it (the invitee)",
)
async def cancel_invite(
    invite_id: InviteId, subject: CurrentSubject, session: WriteSession, services: ServicesDep
) -> Response:
    await InvitesService(session, services.bus).cancel(subject, invite_id)
    return Response(status_code=204)


@router.patch(
    "/v2/invites/{invite_id}/resend", status_code=204, response_class=Response, summary="Resend an invite (owners)"
)
async def resend_invite(
    invite_id: InviteId, subject: CurrentSubject, session: WriteSession, services: ServicesDep
) -> Response:
    await InvitesService(session, services.bus).resend(subject, invite_id)
    return Response(status_code=204)


@router.post(
    "/v2/invites/{invite_id}/accept",
    response_model=schemas.Organization,
    summary="Accept an invite and join the organisation (the invitee)",
)
async def accept_invite(
    invite_id: InviteId, subject: CurrentSubject, session: WriteSession, services: ServicesDep
) -> schemas.Organization:
    return schemas.organization(await InvitesService(session, services.bus).accept(subject, invite_id))


@router.post("/v2/invites/{invite_id}/decline", status_code=204, response_class=Response, summary="Decline an invite")
async def decline_invite(
    invite_id: InviteId, subject: CurrentSubject, session: WriteSession, services: ServicesDep
) -> Response:
    await InvitesService(session, services.bus).decline(subject, invite_id)
    return Response(status_code=204)
