"""Validation of account (namespace) names, including the names the Hub API's paths already use."""

from __future__ import annotations

import re

from dockyard.accounts.errors import InvalidName

NAME_RE = re.compile(r"^[a-z0-9](?:[a-z0-9_-]{0,28}[a-z0-9])?$")

# First path segments under /v2 that belong to the Hub API (and a few the web pages will want). A namespace
# with one of these names would make /v2/<name>/... ambiguous between the registry and the Hub API.
RESERVED_NAMES = frozenset(
    {
        "_catalog", "access-tokens", "admin-api", "api", "api_tokens", "auditlogs", "auth", "healthz", "help",
        "invites", "login", "logout", "namespaces", "orgs", "repositories", "scim", "search", "settings", "signup",
        "static",
        "token", "user", "users", "v1", "v2", "webhooks",
    }
)  # fmt: skip


def validate_account_name(name: str) -> str:
    if not NAME_RE.match(name):
        raise InvalidName(
            "names are 1 to 30 characters: lowercase letters, digits, '-' and '_', "
            "starting and ending with a letter or digit"
        )
    if name in RESERVED_NAMES:
        raise InvalidName(f"'{name}' is reserved")
    return name
