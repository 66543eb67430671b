"""The pure permission decision: every kind of subject against public, private and missing repositories."""

from __future__ import annotations

import pytest

from dockyard.accounts.permissions import (
    ACTION_PERMISSION,
    ANONYMOUS,
    ROLE_PERMISSION,
    Permission,
    Subject,
    Target,
    allows,
    decide,
)

NONE, READ, WRITE, ADMIN = Permission.NONE, Permission.READ, Permission.WRITE, Permission.ADMIN

ALICE_ID, BOB_ID, ROOT_ID, ACME_ID = 10, 11, 1, 20
ALICE = Subject(account_id=ALICE_ID, username="alice")
BOB = Subject(account_id=BOB_ID, username="bob")
ROOT = Subject(account_id=ROOT_ID, username="root", is_admin=True)


def user_repo(owner: int, *, exists: bool = True, private: bool = False) -> Target:
    return Target(namespace_id=owner, namespace_is_org=False, exists=exists, is_private=private)


def org_repo(role: str | None, *, exists: bool = True, private: bool = False) -> Target:
    return Target(namespace_id=ACME_ID, namespace_is_org=True, exists=exists, is_private=private, role=role)


PUBLIC, PRIVATE, MISSING = {}, {"private": True}, {"exists": False}
KINDS = {"public": PUBLIC, "private": PRIVATE, "missing": MISSING}


@pytest.mark.parametrize(
    ("subject", "owner", "expected"),
    [
        # anonymous: reads what is public, nothing else
        (ANONYMOUS, ALICE_ID, {"public": READ, "private": NONE, "missing": NONE}),
        # the owner of the namespace: everything, including creating repositories
        (ALICE, ALICE_ID, {"public": ADMIN, "private": ADMIN, "missing": ADMIN}),
        # another user: like anonymous
        (BOB, ALICE_ID, {"public": READ, "private": NONE, "missing": NONE}),
        # the site administrator: everything, everywhere
        (ROOT, ALICE_ID, {"public": ADMIN, "private": ADMIN, "missing": ADMIN}),
    ],
)
def test_user_namespaces(subject: Subject, owner: int, expected: dict[str, Permission]) -> None:
    for kind, flags in KINDS.items():
        assert decide(subject, user_repo(owner, **flags)) == expected[kind], kind  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("owner", {"public": ADMIN, "private": ADMIN, "missing": ADMIN}),
        ("editor", {"public": ADMIN, "private": ADMIN, "missing": ADMIN}),
        ("member", {"public": READ, "private": NONE, "missing": NONE}),
        (None, {"public": READ, "private": NONE, "missing": NONE}),
        ("bogus-role", {"public": READ, "private": NONE, "missing": NONE}),
    ],
)
def test_organisation_roles(role: str | None, expected: dict[str, Permission]) -> None:
    for kind, flags in KINDS.items():
        assert decide(ALICE, org_repo(role, **flags)) == expected[kind], kind  # type: ignore[arg-type]


def test_a_role_means_nothing_to_anonymous() -> None:
    assert decide(ANONYMOUS, org_repo("owner", private=True)) == NONE
    assert decide(ANONYMOUS, org_repo("owner")) == READ


def test_a_role_in_a_user_namespace_means_nothing() -> None:
    target = Target(namespace_id=ALICE_ID, namespace_is_org=False, exists=True, is_private=True, role="owner")
    assert decide(BOB, target) == NONE


def test_missing_namespace_is_nothing_for_everyone() -> None:
    for subject in (ANONYMOUS, ALICE, ROOT, Subject(account_id=1, public_only=True)):
        assert decide(subject, None) == NONE
        for action in ACTION_PERMISSION:
            assert not allows(subject, None, action)


@pytest.mark.parametrize("cap", [NONE, READ, WRITE, ADMIN])
def test_capped_subjects(cap: Permission) -> None:
    """A scoped token never grants more than its cap, and never more than its user has."""
    capped_owner = Subject(account_id=ALICE_ID, username="alice", max_permission=cap)
    capped_admin = Subject(account_id=ROOT_ID, username="root", is_admin=True, max_permission=cap)
    capped_other = Subject(account_id=BOB_ID, username="bob", max_permission=cap)
    for kind, flags in KINDS.items():
        target = user_repo(ALICE_ID, **flags)  # type: ignore[arg-type]
        assert decide(capped_owner, target) == cap, kind
        assert decide(capped_admin, target) == cap, kind
        assert decide(capped_other, target) == min(cap, READ if kind == "public" else NONE), kind
    assert decide(Subject(account_id=ALICE_ID, max_permission=cap), org_repo("editor")) == cap


def test_public_only_subjects() -> None:
    """A public-only token reads public repositories and nothing else, whoever its owner is."""
    for subject in (
        Subject(account_id=ALICE_ID, username="alice", public_only=True),
        Subject(account_id=ROOT_ID, username="root", is_admin=True, public_only=True),
    ):
        assert decide(subject, user_repo(ALICE_ID)) == READ
        assert decide(subject, user_repo(ALICE_ID, private=True)) == NONE
        assert decide(subject, user_repo(ALICE_ID, exists=False)) == NONE
        assert decide(subject, org_repo("owner", private=True)) == NONE
        assert decide(subject, org_repo("owner")) == READ


def test_public_only_still_respects_the_cap() -> None:
    nothing = Subject(account_id=ALICE_ID, username="alice", public_only=True, max_permission=NONE)
    assert decide(nothing, user_repo(ALICE_ID)) == NONE
    assert decide(nothing, org_repo("owner")) == NONE


def test_allows_maps_actions_onto_permissions() -> None:
    assert ACTION_PERMISSION == {"pull": READ, "push": WRITE, "delete": ADMIN}
    public = user_repo(ALICE_ID)
    assert allows(ANONYMOUS, public, "pull")
    assert not allows(ANONYMOUS, public, "push")
    assert not allows(ANONYMOUS, public, "delete")
    assert allows(ALICE, public, "delete")
    write_only = Subject(account_id=ALICE_ID, max_permission=WRITE)
    assert allows(write_only, public, "push")
    assert not allows(write_only, public, "delete")
    with pytest.raises(KeyError):
        allows(ALICE, public, "bogus")


def test_roles_and_order() -> None:
    assert NONE < READ < WRITE < ADMIN
    assert set(ROLE_PERMISSION) == {"owner", "editor", "member"}
    assert ANONYMOUS.is_anonymous and not ALICE.is_anonymous
