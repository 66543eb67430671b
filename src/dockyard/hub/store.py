"""Queries over the Hub's own tables: stars and per-account registry settings."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.db.base import utcnow
from dockyard.hub.models import RegistrySettings, Star


class HubStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- stars ---------------------------------------------------------------------------------------------
    async def star_counts(self, repository_ids: Collection[int]) -> dict[int, int]:
        if not repository_ids:
            return {}
        result = await self.session.execute(
            select(Star.repository_id, func.count())
            .where(Star.repository_id.in_(set(repository_ids)))
            .group_by(Star.repository_id)
        )
        return {repository_id: int(count) for repository_id, count in result.all()}

    async def starred(self, account_id: int, repository_ids: Collection[int] | None = None) -> set[int]:
        """Ids of the repositories the account starred (among `repository_ids`, when given)."""
        query = select(Star.repository_id).where(Star.account_id == account_id)
        if repository_ids is not None:
            if not repository_ids:
                return set()
            query = query.where(Star.repository_id.in_(set(repository_ids)))
        return set((await self.session.execute(query)).scalars().all())

    async def add_star(self, account_id: int, repository_id: int) -> None:
        dialect = self.session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        statement = insert(Star).values(account_id=account_id, repository_id=repository_id, created_at=utcnow())
        await self.session.execute(statement.on_conflict_do_nothing())

    async def remove_star(self, account_id: int, repository_id: int) -> None:
        await self.session.execute(
            delete(Star).where(Star.account_id == account_id, Star.repository_id == repository_id)
        )

    # --- registry settings ---------------------------------------------------------------------------------
    async def private_repo_limit(self, account_id: int) -> int | None:
        result = await self.session.execute(
            select(RegistrySettings.private_repo_limit).where(RegistrySettings.account_id == account_id)
        )
        return result.scalar_one_or_none()

    async def set_private_repo_limit(self, account_id: int, limit: int | None) -> None:
        settings = await self.session.get(RegistrySettings, account_id)
        if settings is None:
            self.session.add(RegistrySettings(account_id=account_id, private_repo_limit=limit, updated_at=utcnow()))
        else:
            settings.private_repo_limit = limit
            settings.updated_at = utcnow()
        await self.session.flush()
