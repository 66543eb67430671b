"""Account names: the grammar every user and organisation name follows, and the reserved words."""

from __future__ import annotations

import pytest

from dockyard.accounts.errors import InvalidName
from dockyard.accounts.names import RESERVED_NAMES, validate_account_name
from dockyard.registry.references import canonical_name

INVALID = [
    "",
    "Alice",
    "-alice",
    "alice-",
    "_alice",
    "alice_",
    "a" * 31,
    "al ice",
    "al.ice",
    "al/ice",
    "alicé",
    "alice\n",
    "\nalice",
    "a_-b",
    "a-_b",
    "a___b",
]
VALID = ["a", "a" * 30, "0", "a-b", "a--b", "a_b", "a__b", "x1-y2_z3", "library"]


@pytest.mark.parametrize("name", INVALID)
def test_invalid(name: str) -> None:
    with pytest.raises(InvalidName):
        validate_account_name(name)


@pytest.mark.parametrize("name", VALID)
def test_valid(name: str) -> None:
    assert validate_account_name(name) == name


@pytest.mark.parametrize("name", sorted(RESERVED_NAMES))
def test_reserved(name: str) -> None:
    with pytest.raises(InvalidName):
        validate_account_name(name)


def test_hub_api_words_are_reserved() -> None:
    assert {"v2", "token", "namespaces", "repositories", "search", "users", "orgs", "_catalog"} <= RESERVED_NAMES


@pytest.mark.parametrize("name", VALID)
def test_every_valid_name_is_a_repository_namespace(name: str) -> None:
    """A user or organisation must be able to push: its name is the first component of its repositories."""
    assert canonical_name(f"{name}/app") == f"{name}/app"
