"""The legacy v1 index API (`/v1/repositories/...`, `/v1/users/...`), which old clients and scripts still call.

How v1 maps onto this server:
- A v1 repository is a registry repository (`/v1/repositories/foo/` is `library/foo`, for site admins only).
  PUT creates it (empty, public) when the caller may write to the namespace; DELETE removes it and everything
  in it (repository admins).
- v1 "images" are the repository's tagged manifests: `id` is the manifest digest without its algorithm prefix and
  `checksum` the full digest (`sha256:…`). The registry is the only source of truth for content, so
  `PUT …/images` checks the caller's access and the body's shape and changes nothing.
- `X-Docker-Token: true` on a request answers with `X-Docker-Token` and `WWW-Authenticate: Token …` carrying a
  registry bearer token for the repository (`signature=<token>,repository="ns/name",access=read|write|delete`),
  and `X-Docker-Endpoints` naming this server. `PUT …/auth` accepts such a token back.
- Authentication is HTTP Basic with a password (or whatever else AccountsService.authenticate accepts).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.accounts.permissions import Permission, Subject
from dockyard.accounts.service import LIBRARY, AccountsService
from dockyard.accounts.store import AccountsStore
from dockyard.api.errors import BadRequest, Forbidden, NotFound, Unauthorized
from dockyard.db.base import utcnow
from dockyard.events import AuditEvent, EventBus
from dockyard.registry.auth import RegistryAuth, Scope
from dockyard.registry.errors import RegistryError
from dockyard.registry.management import RegistryManagement, RepositoryExists, after_commit
from dockyard.registry.models import Repository
from dockyard.registry.references import canonical_name
from dockyard.registry.service import RegistryService
from dockyard.registry.store import RegistryStore

MAX_IMAGES = 1000
TOKEN_RE = re.compile(r"signature=([^,\s]+)")
ACCESS_ACTIONS = {"read": ["pull"], "write": ["pull", "push"], "delete": ["delete"]}


@dataclass(frozen=True)
class V1Image:
    id: str
    checksum: str


def canonical(namespace: str, name: str) -> str:
    try:
        return canonical_name(f"{namespace}/{name}")
    except RegistryError as exc:
        raise BadRequest(f"invalid repository name: {namespace}/{name}"[:300]) from exc


class IndexService:
    def __init__(self, session: AsyncSession, registry: RegistryService, bus: EventBus | None = None) -> None:
        self.session = session
        self.registry = RegistryStore(session)
        self.management = RegistryManagement(registry)
        self.accounts = AccountsService(session)
        self.bus = bus

    async def _permission(self, subject: Subject, path: str) -> tuple[Repository | None, Permission]:
        repository = await self.registry.repository(path)
        permission = await self.accounts.permission(
            subject,
            path.split("/", 1)[0],
            exists=repository is not None,
            is_private=bool(repository and repository.is_private),
            repository_id=repository.id if repository is not None else None,
            path=path,
        )
        return repository, permission

    async def create_repository(self, subject: Subject, path: str, *, library_form: bool) -> Repository:
        if library_form and not subject.is_admin:
            raise Forbidden("Only administrators create library repositories.")
        repository, permission = await self._permission(subject, path)
        if permission < Permission.WRITE:
            if repository is not None and permission >= Permission.READ:
                raise Forbidden("You do not have permission to write to this repository.")
            raise Forbidden("You may not create repositories in this namespace.")
        if repository is not None:
            return repository
        namespace = await AccountsStore(self.session).by_name(path.split("/", 1)[0])
        if namespace is None:
            raise NotFound("namespace not found")
        try:
            repository = await self.management.create_repository(
                self.session,
                namespace_id=namespace.id,
                namespace=namespace.name,
                name=path.split("/", 1)[1],
                is_private=False,
                description="",
                full_description="",
                private_limit=None,
            )
        except RepositoryExists:
            # Created by a concurrent push or call: v1 PUT is idempotent.
            found = await self.registry.repository(path)
            if found is None:
                raise
            return found
        self._audit(subject, "repo.create", path, {"is_private": False, "via": "v1"})
        return repository

    async def delete_repository(self, subject: Subject, path: str, *, library_form: bool) -> None:
        if library_form and not subject.is_admin:
            raise Forbidden("Only administrators delete library repositories.")
        repository, permission = await self._permission(subject, path)
        if repository is None or permission < Permission.READ:
            raise NotFound("Repository not found")
        if permission < Permission.ADMIN:
            raise Forbidden("You do not have permission to delete this repository.")
        await self.management.delete_repository(self.session, repository, subject.username)
        self._audit(subject, "repo.delete", path, {"via": "v1"})

    async def require(self, subject: Subject, path: str, need: Permission) -> Repository:
        repository, permission = await self._permission(subject, path)
        if repository is None or permission < Permission.READ:
            raise NotFound("Repository not found")
        if permission < need:
            if subject.is_anonymous:
                raise Unauthorized("Authentication credentials were not provided.")
            raise Forbidden("Permission denied")
        return repository

    async def images(self, subject: Subject, path: str) -> list[V1Image]:
        """The repository's tagged manifests as v1 images, oldest tag name first."""
        repository = await self.require(subject, path, Permission.READ)
        seen: dict[str, V1Image] = {}
        for tag in await self.registry.tag_names(repository.id, None, MAX_IMAGES):
            row = await self.registry.manifest_row(path, tag, by_digest=False, with_content=False)
            if row is not None and row.digest not in seen:
                seen[row.digest] = V1Image(id=row.digest.split(":", 1)[1], checksum=row.digest)
        return list(seen.values())

    async def set_password_or_email(
        self, subject: Subject, username: str, *, email: str | None, password: str | None
    ) -> None:
        if subject.username != username and not subject.is_admin:
            raise Forbidden("You may only change your own account.")
        account = await self.accounts.require_user(username)
        if password is not None:
            await self.accounts.set_password(username, password)
        if email is not None:
            account.email = email
        await self.session.flush()

    def _audit(self, subject: Subject, action: str, path: str, data: dict[str, object]) -> None:
        if self.bus is not None:
            bus, event = (
                self.bus,
                AuditEvent(path.split("/", 1)[0], subject.username, action, path, dict(data), utcnow()),
            )
            after_commit(self.session, lambda: bus.publish(event))


async def docker_token_headers(
    auth: RegistryAuth, subject: Subject, path: str, access: str, base_url: str
) -> dict[str, str]:
    """The v1 token headers: a registry bearer token for the repository with what the caller may do of `access`."""
    granted = await auth.grant(subject, [Scope("repository", path, tuple(ACCESS_ACTIONS[access]))])
    token, _, _ = auth.issue(subject, granted)
    value = f'signature={token},repository="{path}",access={access}'
    return {
        "X-Docker-Token": value,
        "WWW-Authenticate": f"Token {value}",
        "X-Docker-Endpoints": urlsplit(base_url).netloc,
    }


def token_signature(authorization: str) -> str | None:
    """The registry token inside `Authorization: Token signature=…,repository=…,access=…`."""
    scheme, _, rest = authorization.partition(" ")
    if scheme.lower() != "token":
        return None
    match = TOKEN_RE.search(rest)
    return match.group(1) if match else None


__all__ = ["LIBRARY", "IndexService", "V1Image", "canonical", "docker_token_headers", "token_signature"]
