"""All automated-build queries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.db.base import utcnow
from dockyard.hub.community_models import AutoBuild, Build, BuildLink, BuildTag, BuildTriggerEvent
from dockyard.registry.models import Repository
from dockyard.registry.store import RegistryStore

QUEUED, BUILDING, SUCCESS, FAILED = 0, 3, 10, -1
STATUS_TEXT = {QUEUED: "Queued", BUILDING: "Building", SUCCESS: "Success", FAILED: "Failed"}


class BuildsStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def autobuild(self, repository_id: int) -> AutoBuild | None:
        query = select(AutoBuild).where(AutoBuild.repository_id == repository_id)
        return (await self.session.execute(query)).scalar_one_or_none()

    async def rules(self, repository_id: int) -> Sequence[BuildTag]:
        query = select(BuildTag).where(BuildTag.repository_id == repository_id).order_by(BuildTag.id)
        return (await self.session.execute(query)).scalars().all()

    async def rule(self, repository_id: int, rule_id: int) -> BuildTag | None:
        query = select(BuildTag).where(BuildTag.repository_id == repository_id, BuildTag.id == rule_id)
        return (await self.session.execute(query)).scalar_one_or_none()

    async def add(self, row: AutoBuild | BuildTag | BuildLink | Build | BuildTriggerEvent) -> None:
        self.session.add(row)
        await self.session.flush()

    async def delete_rules(self, repository_id: int) -> None:
        await self.session.execute(delete(BuildTag).where(BuildTag.repository_id == repository_id))

    async def delete_rule(self, rule_id: int) -> None:
        await self.session.execute(delete(BuildTag).where(BuildTag.id == rule_id))

    async def delete_autobuild(self, repository_id: int) -> None:
        await self.session.execute(delete(AutoBuild).where(AutoBuild.repository_id == repository_id))

    async def build_count(self, repository_id: int) -> int:
        query = select(func.count()).select_from(Build).where(Build.repository_id == repository_id)
        return int((await self.session.execute(query)).scalar_one())

    async def builds(self, repository_id: int, offset: int, limit: int) -> Sequence[Build]:
        query = (
            select(Build)
            .where(Build.repository_id == repository_id)
            .order_by(Build.created_at.desc(), Build.id.desc())
            .offset(offset)
            .limit(limit)
        )
        return (await self.session.execute(query)).scalars().all()

    async def build(self, repository_id: int, code: str) -> Build | None:
        query = select(Build).where(Build.repository_id == repository_id, Build.build_code == code)
        return (await self.session.execute(query)).scalar_one_or_none()

    async def queued(self, limit: int) -> Sequence[Build]:
        query = select(Build).where(Build.status == QUEUED).order_by(Build.created_at, Build.id).limit(limit)
        return (await self.session.execute(query)).scalars().all()

    async def unfinished_count(self) -> int:
        query = select(func.count()).select_from(Build).where(Build.status.in_((QUEUED, BUILDING)))
        return int((await self.session.execute(query)).scalar_one())

    async def claim(self, build_id: int) -> bool:
        result = await self.session.execute(
            update(Build)
            .where(Build.id == build_id, Build.status == QUEUED)
            .values(status=BUILDING, started_at=utcnow(), updated_at=utcnow())
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def fail_stale(self, before: datetime) -> int:
        """Builds still marked Building since `before` belonged to a process that died: mark them failed."""
        now = utcnow()
        result = await self.session.execute(
            update(Build)
            .where(Build.status == BUILDING, Build.updated_at < before)
            .values(
                status=FAILED, error="interrupted: the server stopped during the build", finished_at=now, updated_at=now
            )
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def links_from(self, repository_id: int) -> Sequence[tuple[BuildLink, str, str]]:
        """Links of a repository, with the from and to paths."""
        to_repo = select(Repository.id, Repository.path).subquery()
        result = await self.session.execute(
            select(BuildLink, Repository.path, to_repo.c.path)
            .join(Repository, Repository.id == BuildLink.from_repository_id)
            .join(to_repo, to_repo.c.id == BuildLink.to_repository_id)
            .where(BuildLink.from_repository_id == repository_id)
            .order_by(BuildLink.id)
        )
        return [(link, src, dst) for link, src, dst in result.all()]

    async def linking_to(self, repository_id: int) -> Sequence[Repository]:
        """Repositories that asked to be rebuilt when `repository_id` gets a push."""
        result = await self.session.execute(
            select(Repository)
            .join(BuildLink, BuildLink.from_repository_id == Repository.id)
            .where(BuildLink.to_repository_id == repository_id)
        )
        return result.scalars().all()

    async def link(self, from_id: int, link_id: int) -> BuildLink | None:
        query = select(BuildLink).where(BuildLink.id == link_id, BuildLink.from_repository_id == from_id)
        return (await self.session.execute(query)).scalar_one_or_none()

    async def link_between(self, from_id: int, to_id: int) -> BuildLink | None:
        query = select(BuildLink).where(BuildLink.from_repository_id == from_id, BuildLink.to_repository_id == to_id)
        return (await self.session.execute(query)).scalar_one_or_none()

    async def delete_link(self, link_id: int) -> None:
        await self.session.execute(delete(BuildLink).where(BuildLink.id == link_id))

    async def trigger_events(self, repository_id: int, offset: int, limit: int) -> Sequence[BuildTriggerEvent]:
        query = (
            select(BuildTriggerEvent)
            .where(BuildTriggerEvent.repository_id == repository_id)
            .order_by(BuildTriggerEvent.id.desc())
            .offset(offset)
            .limit(limit)
        )
        return (await self.session.execute(query)).scalars().all()

    async def trigger_event_count(self, repository_id: int) -> int:
        query = (
            select(func.count()).select_from(BuildTriggerEvent).where(BuildTriggerEvent.repository_id == repository_id)
        )
        return int((await self.session.execute(query)).scalar_one())

    async def repository_by_path(self, path: str) -> Repository | None:
        return await RegistryStore(self.session).repository(path)

    async def repository_by_id(self, repository_id: int) -> Repository | None:
        return await self.session.get(Repository, repository_id)

    async def active_or_queued(self, repository_id: int) -> Sequence[Build]:
        query = select(Build).where(
            Build.repository_id == repository_id, or_(Build.status == QUEUED, Build.status == BUILDING)
        )
        return (await self.session.execute(query)).scalars().all()
