"""Grammar of repository names, tags and digests (OCI Distribution Spec, "Pulling manifests")."""

from __future__ import annotations

import re

from dockyard.registry.errors import DigestInvalid, NameInvalid

# Always used with fullmatch: `$` would also match before a trailing newline ("v1\n" is not a tag).
NAME_RE = re.compile(r"^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$")
TAG_RE = re.compile(r"^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$")
DIGEST_LENGTHS = {"sha256": 64, "sha512": 128}
DIGEST_RE = re.compile(r"^(sha256|sha512):([a-f0-9]+)$")
# The one-segment names of Docker Hub's official images live in this namespace.
DEFAULT_NAMESPACE = "library"


def is_digest(reference: str) -> bool:
    return ":" in reference


def parse_digest(value: str) -> str:
    """Validate a digest, raising DIGEST_INVALID; only the algorithms this registry can verify are accepted."""
    match = DIGEST_RE.fullmatch(value)
    if not match or len(match.group(2)) != DIGEST_LENGTHS[match.group(1)]:
        raise DigestInvalid(f"invalid or unsupported digest: {value[:200]}")
    return value


def is_valid_digest(value: str) -> bool:
    match = DIGEST_RE.fullmatch(value)
    return bool(match) and len(match.group(2)) == DIGEST_LENGTHS[match.group(1)]  # type: ignore[union-attr]


def is_valid_tag(value: str) -> bool:
    return bool(TAG_RE.fullmatch(value))


def split_name(name: str) -> tuple[str, str]:
    """("namespace", "repo/path") for a repository name; a one-segment name lives in `library/`."""
    if len(name) > 255 or not NAME_RE.fullmatch(name):
        raise NameInvalid(f"invalid repository name: {name[:255]}")
    namespace, _, rest = name.partition("/")
    if not rest:
        return DEFAULT_NAMESPACE, namespace
    return namespace, rest


def canonical_name(name: str) -> str:
    namespace, rest = split_name(name)
    return f"{namespace}/{rest}"
