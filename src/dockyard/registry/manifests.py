"""Parsing and validating pushed manifests (OCI image manifest and index, Docker schema2 and manifest list)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from dockyard.registry import mediatypes as mt
from dockyard.registry.errors import ManifestInvalid
from dockyard.registry.references import is_valid_digest


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    platform: dict[str, Any] | None = None


@dataclass(frozen=True)
class ParsedManifest:
    media_type: str
    config: Descriptor | None
    layers: list[Descriptor] = field(default_factory=list)
    children: list[Descriptor] = field(default_factory=list)
    subject: Descriptor | None = None
    artifact_type: str | None = None
    annotations: dict[str, str] | None = None

    @property
    def is_index(self) -> bool:
        return self.media_type in mt.INDEXES

    def blob_digests(self, *, distributable_only: bool = True) -> list[str]:
        blobs = ([self.config] if self.config else []) + [
            layer for layer in self.layers if not (distributable_only and mt.is_non_distributable(layer.media_type))
        ]
        return list(dict.fromkeys(d.digest for d in blobs))


def _descriptor(value: Any, where: str) -> Descriptor:
    if not isinstance(value, dict):
        raise ManifestInvalid(f"{where} is not a descriptor object")
    media_type, digest, size = value.get("mediaType"), value.get("digest"), value.get("size")
    if not isinstance(media_type, str) or not media_type:
        raise ManifestInvalid(f"{where} has no mediaType")
    if not isinstance(digest, str) or not is_valid_digest(digest):
        raise ManifestInvalid(f"{where} has an invalid digest")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ManifestInvalid(f"{where} has an invalid size")
    platform = value.get("platform")
    if platform is not None and not isinstance(platform, dict):
        raise ManifestInvalid(f"{where} has an invalid platform")
    return Descriptor(media_type=media_type, digest=digest, size=size, platform=platform)


def _media_type(document: dict[str, Any], content_type: str | None) -> str:
    declared = document.get("mediaType")
    if declared is not None and not isinstance(declared, str):
        raise ManifestInvalid("mediaType must be a string")
    header = (content_type or "").split(";", 1)[0].strip().lower() or None
    if declared and header and declared != header:
        raise ManifestInvalid(f"Content-Type {header} does not match the manifest's mediaType {declared}")
    media_type = declared or header
    if media_type is None:
        # OCI allows mediaType to be left out; the shape tells the kind.
        media_type = mt.OCI_INDEX if "manifests" in document else mt.OCI_MANIFEST
    if media_type not in mt.MANIFEST_TYPES:
        raise ManifestInvalid(f"unsupported manifest media type: {media_type[:200]}")
    return media_type


def parse_manifest(content: bytes, content_type: str | None) -> ParsedManifest:
    try:
        document = json.loads(content)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestInvalid(f"manifest is not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise ManifestInvalid("manifest is not a JSON object")
    version = document.get("schemaVersion")
    if type(version) is not int or version != 2:  # 2.0 and true are not 2
        raise ManifestInvalid("only schemaVersion 2 manifests are supported")
    media_type = _media_type(document, content_type)
    subject = _descriptor(document["subject"], "subject") if document.get("subject") is not None else None
    artifact_type = document.get("artifactType")
    if artifact_type is not None and not isinstance(artifact_type, str):
        raise ManifestInvalid("artifactType must be a string")
    annotations = document.get("annotations")
    if annotations is not None and not (
        isinstance(annotations, dict) and all(isinstance(v, str) for v in annotations.values())
    ):
        raise ManifestInvalid("annotations must map strings to strings")

    if media_type in mt.INDEXES:
        children = document.get("manifests")
        if not isinstance(children, list):
            raise ManifestInvalid("an index needs a manifests list")
        return ParsedManifest(
            media_type=media_type,
            config=None,
            children=[_descriptor(child, f"manifests[{i}]") for i, child in enumerate(children)],
            subject=subject,
            artifact_type=artifact_type,
            annotations=annotations,
        )

    if "config" not in document:
        raise ManifestInvalid("an image manifest needs a config descriptor")
    config = _descriptor(document["config"], "config")
    layers = document.get("layers", [])
    if not isinstance(layers, list):
        raise ManifestInvalid("layers must be a list")
    return ParsedManifest(
        media_type=media_type,
        config=config,
        layers=[_descriptor(layer, f"layers[{i}]") for i, layer in enumerate(layers)],
        subject=subject,
        artifact_type=artifact_type or config.media_type,
        annotations=annotations,
    )
