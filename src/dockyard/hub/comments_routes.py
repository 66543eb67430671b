"""Hub API routes for repository comments (`comments(u, n, o)` in the npm client)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Body, Request, Response
from pydantic import BaseModel, Field

from dockyard.api.deps import CurrentSubject, OptionalSubject, ReadSession, ServicesDep, WriteSession
from dockyard.api.pagination import Pages, paginate
from dockyard.api.routing import HubRouter
from dockyard.hub.comments import MAX_COMMENT, CommentsService
from dockyard.hub.community_access import IdPath, Text, iso
from dockyard.hub.community_models import Comment

router = HubRouter(tags=["comments"])

BASE = "/v2/repositories/{namespace}/{name}/comments/"


class CommentBody(BaseModel):
    comment: Text = Field(min_length=1, max_length=MAX_COMMENT)


class CommentEntry(BaseModel):
    id: int
    user: str
    comment: str
    created_on: str
    updated_on: str


class CommentPage(BaseModel):
    count: int
    next: str | None
    previous: str | None
    results: list[CommentEntry]


def _entry(comment: Comment, author: str) -> CommentEntry:
    return CommentEntry(
        id=comment.id,
        user=author,
        comment=comment.body,
        created_on=iso(comment.created_at) or "",
        updated_on=iso(comment.updated_at) or "",
    )


@router.get(BASE, response_model=CommentPage, summary="List a repository's comments, newest first")
async def list_comments(
    namespace: str,
    name: str,
    request: Request,
    pages: Pages,
    subject: OptionalSubject,
    session: ReadSession,
    services: ServicesDep,
) -> dict[str, object]:
    count, rows = await CommentsService(session).listing(subject, namespace, name, pages.offset, pages.page_size)
    return paginate(request, services.settings.base_url, pages, count, [_entry(c, a) for c, a in rows])


@router.post(BASE, response_model=CommentEntry, status_code=201, summary="Comment on a repository")
async def add_comment(
    namespace: str, name: str, body: Annotated[CommentBody, Body()], subject: CurrentSubject, session: WriteSession
) -> CommentEntry:
    return _entry(*await CommentsService(session).add(subject, namespace, name, body.comment))


@router.patch(BASE + "{comment_id}/", response_model=CommentEntry, summary="Edit a comment")
async def edit_comment(
    namespace: str,
    name: str,
    comment_id: IdPath,
    body: Annotated[CommentBody, Body()],
    subject: CurrentSubject,
    session: WriteSession,
) -> CommentEntry:
    return _entry(*await CommentsService(session).edit(subject, namespace, name, comment_id, body.comment))


@router.delete(BASE + "{comment_id}/", status_code=204, response_class=Response, summary="Delete a comment")
async def delete_comment(
    namespace: str, name: str, comment_id: IdPath, subject: CurrentSubject, session: WriteSession
) -> Response:
    await CommentsService(session).delete(subject, namespace, name, comment_id)
    return Response(status_code=204)
