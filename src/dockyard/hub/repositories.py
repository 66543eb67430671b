"""Repositories through the Hub API: listing, creating, reading, describing, privacy, deletion, immutable tag
rules, stars and the private-repository quota. Registry data is read through the registry's listing store and
changed through RegistryManagement, in the request's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.accounts import collaborators
from dockyard.accounts.models import Account
from dockyard.accounts.permissions import Permission, Subject
from dockyard.api.errors import ApiError, BadRequest, Conflict, Forbidden
from dockyard.db import utcnow
from dockyard.events import AuditEvent
from dockyard.hub import schemas
from dockyard.hub.access import Access, RepoAccess, denied
from dockyard.hub.store import HubStore
from dockyard.registry.immutable import InvalidRule, load_rules, matching_rule, validate_rule, validate_rules
from dockyard.registry.listing import ListingStore, Visibility
from dockyard.registry.management import ManagementError, RegistryManagement, after_commit
from dockyard.registry.models import Repository
from dockyard.registry.references import split_name

if TYPE_CHECKING:
    from dockyard.app import Services

# Config media types -> the Hub's content types.
CONTENT_TYPES = {
    "application/vnd.oci.image.config.v1+json": "image",
    "application/vnd.docker.container.image.v1+json": "image",
    "application/vnd.docker.plugin.v1+json": "plugin",
    "application/vnd.wasm.config.v0+json": "wasm",
    "application/vnd.wasm.config.v1+json": "wasm",
    "application/vnd.cncf.helm.config.v1+json": "helm",
    "application/vnd.docker.compose.config.empty.v1+json": "compose",
}


def content_type(media_type: str | None) -> str:
    return CONTENT_TYPES.get(media_type or "", "unrecognized")


def content_types(media_types: Sequence[str]) -> list[str]:
    return sorted({content_type(media_type) for media_type in media_types})


def management_error(exc: ManagementError) -> ApiError:
    return ApiError(exc.message, status=exc.status)


class RepositoryService:
    def __init__(self, session: AsyncSession, services: Services) -> None:
        self.session = session
        self.services = services
        self.access = Access(session)
        self.listing = ListingStore(session)
        self.store = HubStore(session)
        self.management = RegistryManagement(services.registry)

    def audit(self, subject: Subject, repository: Repository, action: str, **data: Any) -> None:
        event = AuditEvent(
            account=repository.path.split("/", 1)[0],
            actor=subject.username,
            action=action,
            name=repository.path,
            data=data,
            time=utcnow(),
        )
        after_commit(self.session, lambda: self.services.bus.publish(event))

    # --- reading -------------------------------------------------------------------------------------------
    async def get(self, subject: Subject, namespace: str, name: str, need: Permission = Permission.READ) -> RepoAccess:
        return await self.access.repository(subject, namespace, name, need)

    async def info(self, subject: Subject, access: RepoAccess) -> schemas.RepositoryInfo:
        repository, permission = access.repository, access.permission
        entry = (await self.entries(subject, [repository], permissions={repository.id: permission}))[0]
        starred = subject.account_id is not None and bool(await self.store.starred(subject.account_id, [repository.id]))
        return schemas.RepositoryInfo(
            **entry.model_dump(exclude={"user", "is_automated", "can_edit", "is_migrated"}),
            user=entry.user,
            full_description=repository.full_description,
            is_automated=False,
            collaborator_count=await collaborators.count(self.session, repository.id),
            hub_user=entry.user,
            has_starred=starred,
            permissions=schemas.Permissions(
                read=permission >= Permission.READ,
                write=permission >= Permission.WRITE,
                admin=permission >= Permission.ADMIN,
            ),
            immutable_tags_settings=schemas.ImmutableTagsSettings(
                enabled=repository.immutable_tags, rules=load_rules(repository.immutable_tags_rules)
            ),
            source=None,
            can_edit=permission >= Permission.WRITE,
            is_migrated=False,
        )

    async def entries(
        self,
        subject: Subject,
        repositories: Sequence[Repository],
        *,
        permissions: dict[int, Permission] | None = None,
    ) -> list[schemas.LegacyRepositoryListEntry]:
        """List entries (with the legacy fields; the current family's routes drop them when serialising)."""
        ids = [repository.id for repository in repositories]
        stars = await self.store.star_counts(ids)
        sizes = await self.listing.storage_sizes(ids)
        media = await self.listing.config_media_types(ids)
        if permissions is None:
            permissions = {}
            if not subject.is_anonymous:
                for repository in repositories:
                    permissions[repository.id] = await self.access.permission(subject, repository)
        entries = []
        for repository in repositories:
            namespace = repository.path.split("/", 1)[0]
            pushed = repository.last_pushed_at is not None
            media_types = media.get(repository.id, [])
            entries.append(
                schemas.LegacyRepositoryListEntry(
                    user=namespace,
                    name=repository.name,
                    namespace=namespace,
                    repository_type="image",
                    status=1 if pushed else 0,
                    status_description="active" if pushed else "inactive",
                    description=repository.description,
                    is_private=repository.is_private,
                    star_count=stars.get(repository.id, 0),
                    pull_count=repository.pull_count,
                    last_updated=repository.last_pushed_at,
                    last_modified=repository.updated_at,
                    date_registered=repository.created_at,
                    affiliation=None,
                    media_types=media_types,
                    content_types=content_types(media_types),
                    categories=[],
                    storage_size=sizes.get(repository.id, 0),
                    is_automated=False,
                    can_edit=permissions.get(repository.id, Permission.NONE) >= Permission.WRITE,
                    is_migrated=False,
                )
            )
        return entries

    async def namespace_page(
        self, subject: Subject, namespace: str, *, name: str | None, ordering: str | None, offset: int, limit: int
    ) -> tuple[int, list[schemas.LegacyRepositoryListEntry]]:
        account = await self.access.namespace(namespace)
        visibility = await self.access.visibility(subject, account)
        count, repositories = await self.listing.repositories(
            namespace_id=account.id, visibility=visibility, name=name, ordering=ordering, offset=offset, limit=limit
        )
        return count, await self.entries(subject, repositories)

    async def user_repositories(self, subject: Subject, username: str) -> list[schemas.UserRepository]:
        """Every repository of the account the caller may see (the npm client's unpaged `repositories(u)`)."""
        account = await self.access.namespace(username)
        visibility = await self.access.visibility(subject, account)
        _, repositories = await self.listing.repositories(
            namespace_id=account.id, visibility=visibility, ordering="name", limit=10_000
        )
        stars = await self.store.star_counts([r.id for r in repositories])
        return [
            schemas.UserRepository(
                namespace=account.name,
                name=r.name,
                description=r.description,
                is_private=r.is_private,
                star_count=stars.get(r.id, 0),
                pull_count=r.pull_count,
                last_updated=r.last_pushed_at,
            )
            for r in repositories
        ]

    # --- creating and changing -----------------------------------------------------------------------------
    async def create(self, subject: Subject, namespace: str, body: schemas.CreateRepository) -> schemas.RepositoryInfo:
        account = await self.access.namespace(namespace)
        if body.namespace is not None and body.namespace != account.name and body.namespace != namespace:
            raise BadRequest(
                "the namespace in the body does not match the one in the path",
                extra={"fields": {"namespace": ["does not match the path"]}},
            )
        if not await self.access.may_create_in(subject, account):
            raise denied(subject)
        try:
            split_name(f"{account.name}/{body.name}")
        except Exception as exc:
            raise BadRequest(
                "the repository name is too long for this namespace", extra={"fields": {"name": ["too long"]}}
            ) from exc
        try:
            repository = await self.management.create_repository(
                self.session,
                namespace_id=account.id,
                namespace=account.name,
                name=body.name,
                is_private=body.is_private,
                description=body.description,
                full_description=body.full_description,
                private_limit=await self.store.private_repo_limit(account.id),
            )
        except ManagementError as exc:
            if exc.status == 409:
                raise Conflict(exc.message) from exc
            raise management_error(exc) from exc
        self.audit(subject, repository, "repo.create", is_private=repository.is_private)
        access = await self.access.repository(subject, account.name, repository.name)
        return await self.info(subject, access)

    async def update(
        self, subject: Subject, namespace: str, name: str, body: schemas.UpdateRepository
    ) -> schemas.RepositoryInfo:
        access = await self.get(subject, namespace, name, Permission.WRITE)
        await self.management.update_repository(
            self.session, access.repository, description=body.description, full_description=body.full_description
        )
        self.audit(subject, access.repository, "repo.update", **body.model_dump(exclude_none=True))
        return await self.info(subject, access)

    async def set_privacy(
        self, subject: Subject, namespace: str, name: str, is_private: bool
    ) -> schemas.RepositoryInfo:
        access = await self.get(subject, namespace, name, Permission.ADMIN)
        changed = access.repository.is_private != is_private
        limit = await self.store.private_repo_limit(access.namespace.id)
        try:
            await self.management.set_privacy(self.session, access.repository, is_private, limit)
        except ManagementError as exc:
            raise management_error(exc) from exc
        if changed:
            self.audit(subject, access.repository, "repo.change_privacy", is_private=is_private)
        return await self.info(subject, access)

    async def delete(self, subject: Subject, namespace: str, name: str) -> None:
        access = await self.get(subject, namespace, name, Permission.ADMIN)
        await self.management.delete_repository(self.session, access.repository, subject.username)
        self.audit(subject, access.repository, "repo.delete")

    # --- immutable tags ------------------------------------------------------------------------------------
    async def set_immutable_tags(
        self, subject: Subject, namespace: str, name: str, body: schemas.ImmutableTagsUpdate
    ) -> schemas.RepositoryInfo:
        access = await self.get(subject, namespace, name, Permission.ADMIN)
        try:
            rules = validate_rules(body.immutable_tags_rules)
        except InvalidRule as exc:
            raise BadRequest(
                f"invalid immutable tag rule: {exc}", extra={"fields": {"immutable_tags_rules": [str(exc)]}}
            ) from exc
        await self.management.set_immutable_tags(self.session, access.repository, body.immutable_tags, rules)
        self.audit(subject, access.repository, "repo.immutable.tags.updated", enabled=body.immutable_tags, rules=rules)
        return await self.info(subject, access)

    async def verify_immutable_rule(self, subject: Subject, namespace: str, name: str, regex: str) -> list[str]:
        access = await self.get(subject, namespace, name)
        try:
            validate_rule(regex)
        except InvalidRule as exc:
            raise BadRequest(f"invalid regular expression: {exc}", extra={"fields": {"regex": [str(exc)]}}) from exc
        tags = await self.listing.tag_names(access.repository.id)
        return [tag for tag in tags if matching_rule(tag, [regex]) is not None]

    # --- stars ---------------------------------------------------------------------------------------------
    async def star(self, subject: Subject, namespace: str, name: str, starred: bool) -> None:
        access = await self.get(subject, namespace, name)
        if subject.account_id is None:
            raise denied(subject) if subject.is_anonymous else Forbidden("only users can star repositories")
        if starred:
            await self.store.add_star(subject.account_id, access.repository.id)
        else:
            await self.store.remove_star(subject.account_id, access.repository.id)

    async def starred_page(
        self, subject: Subject, username: str, offset: int, limit: int
    ) -> tuple[int, list[schemas.LegacyRepositoryListEntry]]:
        """What the user starred, among the repositories the caller may see."""
        user = await self.access.namespace(username)
        ids = await self.store.starred(user.id)
        visibility = await self._visibility_among(subject, ids)
        count, repositories = await self.listing.repositories(
            namespace_id=None, visibility=visibility, ids=ids, ordering="name", offset=offset, limit=limit
        )
        return count, await self.entries(subject, repositories)

    async def _visibility_among(self, subject: Subject, ids: set[int]) -> Visibility:
        if subject.is_admin:
            return Visibility(all_private=True)
        if subject.is_anonymous or not ids:
            return Visibility()
        readable = set()
        for repository in await self.listing.repositories_by_ids(ids, private_only=True):
            if await self.access.permission(subject, repository) >= Permission.READ:
                readable.add(repository.id)
        return Visibility(private_ids=frozenset(readable))

    # --- registry settings ---------------------------------------------------------------------------------
    async def registry_settings(self, subject: Subject, username: str) -> schemas.RegistrySettingsInfo:
        account = await self._settings_account(subject, username)
        limit = await self.store.private_repo_limit(account.id)
        used = await self.listing.private_count(account.id)
        return schemas.RegistrySettingsInfo(
            private_repo_used=used,
            num_free_private_repos=limit,
            private_repo_limit=limit,
            private_repo_available=None if limit is None else max(limit - used, 0),
            private_repo_percent_used=0.0 if not limit else round(100.0 * used / limit, 2),
            default_repo_visibility="public",
        )

    async def set_registry_settings(
        self, subject: Subject, username: str, body: schemas.RegistrySettingsUpdate
    ) -> schemas.RegistrySettingsInfo:
        if not subject.is_admin:
            await self._settings_account(subject, username)
            raise Forbidden("only site administrators can change the private repository limit")
        account = await self.access.namespace(username)
        await self.store.set_private_repo_limit(account.id, body.private_repo_limit)
        return await self.registry_settings(subject, username)

    async def _settings_account(self, subject: Subject, username: str) -> Account:
        """The account whose settings the caller may read: their own, an organisation they own, or any for an
        administrator."""
        account = await self.access.namespace(username)
        if subject.is_admin or subject.account_id == account.id:
            return account
        if account.is_org and subject.account_id is not None:
            role = await self.access.accounts.store.role(account.id, subject.account_id)
            if role == "owner":
                return account
        raise denied(subject)
