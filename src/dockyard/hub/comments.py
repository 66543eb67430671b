"""Repository comments: anyone signed in who can read a repository may comment; the author or a repository
admin may edit or delete a comment. Listed newest first."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.accounts.models import Account
from dockyard.accounts.permissions import Permission, Subject
from dockyard.api.deps import ORG_TOKEN_REFUSED
from dockyard.api.errors import Forbidden, NotFound, Unauthorized
from dockyard.db.base import utcnow
from dockyard.hub.community_access import require_repository
from dockyard.hub.community_models import Comment

MAX_COMMENT = 10_000


class CommentsStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def count(self, repository_id: int) -> int:
        query = select(func.count()).select_from(Comment).where(Comment.repository_id == repository_id)
        return int((await self.session.execute(query)).scalar_one())

    async def page(self, repository_id: int, offset: int, limit: int) -> Sequence[tuple[Comment, str]]:
        result = await self.session.execute(
            select(Comment, Account.name)
            .join(Account, Account.id == Comment.author_id)
            .where(Comment.repository_id == repository_id)
            .order_by(Comment.created_at.desc(), Comment.id.desc())
            .offset(offset)
            .limit(limit)
        )
        return [(comment, name) for comment, name in result.all()]

    async def get(self, repository_id: int, comment_id: int) -> tuple[Comment, str] | None:
        result = await self.session.execute(
            select(Comment, Account.name)
            .join(Account, Account.id == Comment.author_id)
            .where(Comment.repository_id == repository_id, Comment.id == comment_id)
        )
        row = result.first()
        return (row[0], row[1]) if row else None

    async def add(self, comment: Comment) -> Comment:
        self.session.add(comment)
        await self.session.flush()
        return comment

    async def delete(self, comment_id: int) -> None:
        await self.session.execute(delete(Comment).where(Comment.id == comment_id))


class CommentsService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.store = CommentsStore(session)

    async def listing(
        self, subject: Subject, namespace: str, name: str, offset: int, limit: int
    ) -> tuple[int, Sequence[tuple[Comment, str]]]:
        access = await require_repository(self.session, subject, namespace, name)
        count = await self.store.count(access.repository.id)
        return count, await self.store.page(access.repository.id, offset, limit)

    async def add(self, subject: Subject, namespace: str, name: str, body: str) -> tuple[Comment, str]:
        if subject.is_anonymous:
            raise Unauthorized("Authentication credentials were not provided.")
        access = await require_repository(self.session, subject, namespace, name)
        if subject.account_id is None or subject.username is None:
            raise Forbidden(ORG_TOKEN_REFUSED)
        now = utcnow()
        comment = await self.store.add(
            Comment(
                repository_id=access.repository.id,
                author_id=subject.account_id,
                body=body,
                created_at=now,
                updated_at=now,
            )
        )
        return comment, subject.username

    async def edit(
        self, subject: Subject, namespace: str, name: str, comment_id: int, body: str
    ) -> tuple[Comment, str]:
        comment, author = await self._editable(subject, namespace, name, comment_id)
        comment.body = body
        comment.updated_at = utcnow()
        await self.session.flush()
        return comment, author

    async def delete(self, subject: Subject, namespace: str, name: str, comment_id: int) -> None:
        comment, _ = await self._editable(subject, namespace, name, comment_id)
        await self.store.delete(comment.id)

    async def _editable(self, subject: Subject, namespace: str, name: str, comment_id: int) -> tuple[Comment, str]:
        if subject.is_anonymous:
            raise Unauthorized("Authentication credentials were not provided.")
        access = await require_repository(self.session, subject, namespace, name)
        found = await self.store.get(access.repository.id, comment_id)
        if found is None:
            raise NotFound("Comment not found")
        comment, author = found
        # A read-only token may not change anything, not even the holder's own comment.
        may_write = subject.max_permission >= Permission.WRITE
        if not ((comment.author_id == subject.account_id and may_write) or access.permission >= Permission.ADMIN):
            raise Forbidden("Only the author or a repository admin may change a comment.")
        return comment, author
