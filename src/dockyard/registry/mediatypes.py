"""Manifest media types and what each one references."""

from __future__ import annotations

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"

IMAGE_MANIFESTS = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
INDEXES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})
MANIFEST_TYPES = IMAGE_MANIFESTS | INDEXES

# Layers a registry is not expected to hold (their descriptors carry `urls` to fetch them from elsewhere).
NON_DISTRIBUTABLE_PREFIXES = (
    "application/vnd.oci.image.layer.nondistributable.",
    "application/vnd.docker.image.rootfs.foreign.",
)


def is_non_distributable(media_type: str) -> bool:
    return media_type.startswith(NON_DISTRIBUTABLE_PREFIXES)


def parse_accept(values: list[str]) -> set[str]:
    """Media types named in one or more Accept headers (clients send one header per type, or a list)."""
    accepted: set[str] = set()
    for value in values:
        for part in value.split(","):
            media_type = part.split(";", 1)[0].strip().lower()
            if media_type:
                accepted.add(media_type)
    return accepted
