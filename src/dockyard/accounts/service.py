"""Accounts rules: creating users and organisations, memberships, authentication and permission lookups."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.accounts.errors import AccountNotFound, AccountsError, LastOwner, NameTaken
from dockyard.accounts.models import ORGANIZATION, USER, Account, Membership
from dockyard.accounts.names import validate_account_name
from dockyard.accounts.passwords import hash_password_async, verify_password_async
from dockyard.accounts.permissions import GRANT_PERMISSION, ROLES, Permission, Subject, Target, decide
from dockyard.accounts.sessions import HubTokens
from dockyard.accounts.signin import SignIn
from dockyard.accounts.store import AccountsStore
from dockyard.accounts.twofactor import TwoFactorStore

LIBRARY = "library"


def subject_for(account: Account) -> Subject:
    return Subject(account_id=account.id, username=account.name, is_admin=account.is_admin)


class AccountsService:
    def __init__(self, session: AsyncSession) -> None:
        self.store = AccountsStore(session)

    async def create_user(
        self, name: str, password: str, *, email: str | None = None, is_admin: bool = False
    ) -> Account:
        validate_account_name(name)
        if len(password) < 8:
            raise AccountsError("passwords are at least 8 characters")
        await self._ensure_free(name)
        account = Account(
            name=name, kind=USER, email=email, is_admin=is_admin, password_hash=await hash_password_async(password)
        )
        return await self.store.add(account)

    async def create_org(self, name: str, owner: str, *, full_name: str = "", validate: bool = True) -> Account:
        if validate:
            validate_account_name(name)
        await self._ensure_free(name)
        owner_account = await self.require_user(owner)
        org = await self.store.add(Account(name=name, kind=ORGANIZATION, full_name=full_name))
        self.store.session.add(Membership(org_id=org.id, user_id=owner_account.id, role="owner"))
        await self.store.session.flush()
        return org

    async def set_password(self, name: str, password: str) -> None:
        if len(password) < 8:
            raise AccountsError("passwords are at least 8 characters")
        user = await self.require_user(name)
        user.password_hash = await hash_password_async(password)

    async def set_member(self, org_name: str, username: str, role: str) -> Membership:
        if role not in ROLES:
            raise AccountsError(f"role must be one of {', '.join(ROLES)}")
        org = await self.require_org(org_name)
        user = await self.require_user(username)
        membership = await self.store.membership(org.id, user.id)
        if membership is None:
            membership = Membership(org_id=org.id, user_id=user.id, role=role)
            self.store.session.add(membership)
        else:
            if membership.role == "owner" and role != "owner" and await self.store.owner_count(org.id) <= 1:
                raise LastOwner("an organisation keeps at least one owner")
            membership.role = role
        await self.store.session.flush()
        return membership

    async def members(self, org_name: str) -> Sequence[tuple[Account, str]]:
        org = await self.require_org(org_name)
        return await self.store.members(org.id)

    async def list_accounts(self, kind: str | None = None) -> Sequence[Account]:
        return await self.store.list(kind)

    async def authenticate(self, username: str, password: str, *, tokens: HubTokens | None = None) -> Subject | None:
        """The subject for a username and password, or None. Unknown users cost as much time as wrong passwords.
        A password alone does not do for an account with a second factor. Given the server's keys (`tokens`), a
        personal access token also does as the password (the subject is capped by its scopes), and an
        organisation access token with the organisation's name as the username."""
        if tokens is not None:
            result = await SignIn(self.store.session, tokens).check(username, password)
            return result.subject if result.ok else None
        account = await self.store.by_name(username)
        if account is None or account.kind != USER or not account.is_active or not account.password_hash:
            await hash_password_async(password)
            return None
        if not await verify_password_async(account.password_hash, password):
            return None
        if await TwoFactorStore(self.store.session).is_enabled(account.id):
            return None
        return subject_for(account)

    async def target(
        self,
        subject: Subject,
        namespace: str,
        *,
        exists: bool,
        is_private: bool,
        repository_id: int | None = None,
        path: str | None = None,
    ) -> Target | None:
        """The facts `decide` needs about a repository in `namespace` (None when the namespace does not exist).
        Pass the repository's id when it exists so the caller's collaborator and team grants count, and its path
        ("namespace/name") so organisation access tokens, which are granted by path, count too."""
        account = await self.store.by_name(namespace)
        if account is None:
            return None
        role = None
        if account.is_org and subject.account_id is not None:
            role = await self.store.role(account.id, subject.account_id)
        grant = Permission.NONE
        if (
            repository_id is not None
            and subject.account_id is not None
            and not subject.is_admin
            and subject.account_id != account.id
        ):
            grants = await self.store.repository_grants(repository_id, subject.account_id)
            grant = max((GRANT_PERMISSION.get(name, Permission.NONE) for name in grants), default=Permission.NONE)
        return Target(
            namespace_id=account.id,
            namespace_is_org=account.is_org,
            exists=exists,
            is_private=is_private,
            role=role,
            grant=grant,
            path=path,
        )

    async def permission(
        self,
        subject: Subject,
        namespace: str,
        *,
        exists: bool,
        is_private: bool,
        repository_id: int | None = None,
        path: str | None = None,
    ) -> Permission:
        target = await self.target(
            subject, namespace, exists=exists, is_private=is_private, repository_id=repository_id, path=path
        )
        return decide(subject, target)

    async def require_user(self, name: str) -> Account:
        account = await self.store.by_name(name)
        if account is None or account.kind != USER:
            raise AccountNotFound(f"no user named '{name}'")
        return account

    async def require_org(self, name: str) -> Account:
        account = await self.store.by_name(name)
        if account is None or account.kind != ORGANIZATION:
            raise AccountNotFound(f"no organisation named '{name}'")
        return account

    async def _ensure_free(self, name: str) -> None:
        if await self.store.by_name(name) is not None:
            raise NameTaken(f"the name '{name}' is taken")
