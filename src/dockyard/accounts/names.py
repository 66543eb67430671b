"""Validation of account (namespace) names, including the names the Hub API's paths already use."""

from __future__ import annotations

import re

from dockyard.accounts.errors import InvalidName

# A name is also the first component of its repositories' names, so it follows the OCI path-component grammar
# (without '.'): separators are '_', '__' or runs of '-'. Used with fullmatch, so a trailing newline never passes.
NAME_RE = re.compile(r"[a-z0-9]+(?:(?:_|__|-+)[a-z0-9]+)*")
MAX_NAME_LENGTH = 30

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
    if len(name) > MAX_NAME_LENGTH or not NAME_RE.fullmatch(name):
        raise InvalidName(
            "names are 1 to 30 characters: lowercase letters and digits, separated by '-', '_' or '__', "
            "starting and ending with a letter or digit"
        )
    if name in RESERVED_NAMES:
        raise InvalidName(f"'{name}' is reserved")
    return name
