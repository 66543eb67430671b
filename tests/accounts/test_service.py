"""AccountsService against a real database: users, organisations, memberships, passwords and lookups."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.accounts import passwords
from dockyard.accounts.errors import AccountNotFound, AccountsError, InvalidName, LastOwner, NameTaken
from dockyard.accounts.models import Account, Membership
from dockyard.accounts.permissions import Permission
from dockyard.accounts.service import AccountsService
from dockyard.db import Database

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("fast_passwords")]

PASSWORD = "correct horse"


@pytest.fixture
async def accounts(session: AsyncSession) -> AccountsService:
    service = AccountsService(session)
    await service.create_user("alice", PASSWORD, email="alice@example.com")
    await service.create_user("bob", PASSWORD)
    await service.create_org("acme", "alice", full_name="Acme Inc.")
    return service


async def test_create_user(accounts: AccountsService) -> None:
    alice = await accounts.require_user("alice")
    assert alice.kind == "user"
    assert alice.email == "alice@example.com"
    assert not alice.is_admin and alice.is_active and not alice.is_org
    root = await accounts.create_user("root", PASSWORD, is_admin=True)
    assert root.is_admin


async def test_passwords_are_argon2_hashes(accounts: AccountsService) -> None:
    alice = await accounts.require_user("alice")
    bob = await accounts.require_user("bob")
    assert alice.password_hash is not None and bob.password_hash is not None
    assert alice.password_hash.startswith("$argon2id$")
    assert PASSWORD not in alice.password_hash
    assert alice.password_hash != bob.password_hash  # salted
    assert passwords.verify_password(alice.password_hash, PASSWORD)
    assert not passwords.verify_password(alice.password_hash, PASSWORD + "!")
    assert not passwords.verify_password("not a hash", PASSWORD)


async def test_password_is_nowhere_in_the_database(db: Database, accounts: AccountsService) -> None:
    await accounts.store.session.commit()
    async with db.reader() as session:
        rows = (await session.execute(select(Account))).scalars().all()
    for row in rows:
        for column in Account.__table__.columns:
            value = getattr(row, column.key)
            assert not (isinstance(value, str) and PASSWORD in value), column.key


def test_production_hash_parameters(monkeypatch: pytest.MonkeyPatch) -> None:
    """Outside the tests' cheap settings, hashes use argon2id with at least the library's recommended cost."""
    monkeypatch.undo()
    hashed = passwords.hash_password(PASSWORD)
    assert hashed.startswith("$argon2id$v=19$")
    parameters = dict(item.split("=") for item in hashed.split("$")[3].split(","))
    assert int(parameters["m"]) >= 65536 and int(parameters["t"]) >= 3 and int(parameters["p"]) >= 1
    assert passwords.verify_password(hashed, PASSWORD)


async def test_short_passwords_are_refused(accounts: AccountsService) -> None:
    with pytest.raises(AccountsError):
        await accounts.create_user("carol", "short")
    with pytest.raises(AccountsError):
        await accounts.set_password("alice", "1234567")
    assert await accounts.store.by_name("carol") is None


async def test_set_password(accounts: AccountsService) -> None:
    await accounts.set_password("alice", "a new password")
    assert await accounts.authenticate("alice", PASSWORD) is None
    assert await accounts.authenticate("alice", "a new password") is not None
    with pytest.raises(AccountNotFound):
        await accounts.set_password("acme", "a new password")


async def test_authenticate(accounts: AccountsService) -> None:
    subject = await accounts.authenticate("alice", PASSWORD)
    alice = await accounts.require_user("alice")
    assert subject is not None
    assert subject.account_id == alice.id and subject.username == "alice" and not subject.is_admin
    assert await accounts.authenticate("alice", "wrong password") is None
    assert await accounts.authenticate("nobody", PASSWORD) is None
    assert await accounts.authenticate("acme", PASSWORD) is None
    assert await accounts.authenticate("ALICE", PASSWORD) is None
    alice.is_active = False
    assert await accounts.authenticate("alice", PASSWORD) is None


async def test_names_are_validated(accounts: AccountsService) -> None:
    """The grammar itself is tested in test_names.py; here, that both kinds of account go through it."""
    for name in ("Alice", "a_-b", "alice\n", "v2", "namespaces"):
        with pytest.raises(InvalidName):
            await accounts.create_user(name, PASSWORD)
        with pytest.raises(InvalidName):
            await accounts.create_org(name, "alice")
    assert (await accounts.create_user("x1-y2_z3", PASSWORD)).name == "x1-y2_z3"
    assert (await accounts.create_org("a__b", "alice")).name == "a__b"
    assert await accounts.store.count() == 5


async def test_names_are_one_namespace(accounts: AccountsService) -> None:
    for create in (
        lambda: accounts.create_user("alice", PASSWORD),
        lambda: accounts.create_user("acme", PASSWORD),
        lambda: accounts.create_org("alice", "bob"),
        lambda: accounts.create_org("acme", "bob"),
    ):
        with pytest.raises(NameTaken) as caught:
            await create()
        assert caught.value.status == 409


async def test_create_org(accounts: AccountsService) -> None:
    acme = await accounts.require_org("acme")
    assert acme.is_org and acme.full_name == "Acme Inc." and acme.password_hash is None
    members = await accounts.members("acme")
    assert [(account.name, role) for account, role in members] == [("alice", "owner")]
    with pytest.raises(AccountNotFound):
        await accounts.create_org("other", "nobody")
    with pytest.raises(AccountNotFound):
        await accounts.create_org("other", "acme")  # an organisation cannot own one
    with pytest.raises(AccountNotFound):
        await accounts.require_org("alice")
    with pytest.raises(AccountNotFound):
        await accounts.require_user("acme")


async def test_set_member(accounts: AccountsService) -> None:
    membership = await accounts.set_member("acme", "bob", "member")
    assert membership.role == "member"
    await accounts.set_member("acme", "bob", "editor")
    members = {account.name: role for account, role in await accounts.members("acme")}
    assert members == {"alice": "owner", "bob": "editor"}
    rows = (await accounts.store.session.execute(select(Membership))).scalars().all()
    assert len(rows) == 2
    with pytest.raises(AccountsError):
        await accounts.set_member("acme", "bob", "superuser")
    with pytest.raises(AccountNotFound):
        await accounts.set_member("acme", "nobody", "member")
    with pytest.raises(AccountNotFound):
        await accounts.set_member("nothing", "bob", "member")
    with pytest.raises(AccountNotFound):
        await accounts.set_member("alice", "bob", "member")  # alice is a user, not an organisation


async def test_last_owner_cannot_be_demoted(accounts: AccountsService) -> None:
    for role in ("editor", "member"):
        with pytest.raises(LastOwner):
            await accounts.set_member("acme", "alice", role)
    assert (
        await accounts.store.role((await accounts.require_org("acme")).id, (await accounts.require_user("alice")).id)
        == "owner"
    )
    # With a second owner, either may step down, but not both.
    await accounts.set_member("acme", "bob", "owner")
    await accounts.set_member("acme", "alice", "member")
    with pytest.raises(LastOwner):
        await accounts.set_member("acme", "bob", "editor")
    members = {account.name: role for account, role in await accounts.members("acme")}
    assert members == {"alice": "member", "bob": "owner"}


async def test_target_and_permission(accounts: AccountsService) -> None:
    alice = await accounts.authenticate("alice", PASSWORD)
    bob = await accounts.authenticate("bob", PASSWORD)
    assert alice is not None and bob is not None
    assert await accounts.target(alice, "nothing", exists=False, is_private=False) is None
    target = await accounts.target(alice, "acme", exists=True, is_private=True)
    assert target is not None and target.namespace_is_org and target.role == "owner"
    assert await accounts.permission(alice, "acme", exists=True, is_private=True) == Permission.ADMIN
    assert await accounts.permission(bob, "acme", exists=True, is_private=True) == Permission.NONE
    assert await accounts.permission(bob, "acme", exists=True, is_private=False) == Permission.READ
    await accounts.set_member("acme", "bob", "editor")
    assert await accounts.permission(bob, "acme", exists=False, is_private=False) == Permission.ADMIN
    assert await accounts.permission(bob, "alice", exists=False, is_private=False) == Permission.NONE
    assert await accounts.permission(alice, "alice", exists=False, is_private=False) == Permission.ADMIN
    user_target = await accounts.target(bob, "alice", exists=True, is_private=False)
    assert user_target is not None and user_target.role is None and not user_target.namespace_is_org


async def test_list_accounts(accounts: AccountsService) -> None:
    assert [a.name for a in await accounts.list_accounts()] == ["acme", "alice", "bob"]
    assert [a.name for a in await accounts.list_accounts("user")] == ["alice", "bob"]
    assert [a.name for a in await accounts.list_accounts("org")] == ["acme"]
    assert await accounts.store.count() == 3
