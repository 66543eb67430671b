"""Writing and reading OCI image layouts (https://github.com/opencontainers/image-spec/blob/main/image-layout.md).

Images are built from bytes we choose, with the standard library only, and come out the same on every run: tar
entries carry fixed owners, modes and times, gzip streams carry no timestamp, and the optional big layer is filled
from a seeded generator. A layout can hold single-platform images and indexes (OCI image index, or a Docker
manifest list with `DOCKER` media types) that point at one image per platform. Clients read it with
`skopeo copy oci:<dir>:<tag> ...`, and a layout that skopeo wrote can be read back the same way.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import random
import tarfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REF_NAME = "org.opencontainers.image.ref.name"
CREATED = "2024-01-01T00:00:00Z"
DIR_TRANSPORT_VERSION = "Directory Transport Version: 1.1\n"


@dataclass(frozen=True)
class MediaTypes:
    manifest: str
    index: str
    config: str
    layer: str


OCI = MediaTypes(
    manifest="application/vnd.oci.image.manifest.v1+json",
    index="application/vnd.oci.image.index.v1+json",
    config="application/vnd.oci.image.config.v1+json",
    layer="application/vnd.oci.image.layer.v1.tar+gzip",
)
DOCKER = MediaTypes(
    manifest="application/vnd.docker.distribution.manifest.v2+json",
    index="application/vnd.docker.distribution.manifest.list.v2+json",
    config="application/vnd.docker.container.image.v1+json",
    layer="application/vnd.docker.image.rootfs.diff.tar.gzip",
)


@dataclass(frozen=True)
class Platform:
    architecture: str
    os: str = "linux"
    variant: str | None = None

    def to_json(self) -> dict[str, str]:
        value = {"architecture": self.architecture, "os": self.os}
        if self.variant:
            value["variant"] = self.variant
        return value


AMD64 = Platform("amd64")
ARM64 = Platform("arm64", variant="v8")
DEFAULT_PLATFORMS = (AMD64, ARM64)


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int

    def to_json(self, **extra: Any) -> dict[str, Any]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size, **extra}


@dataclass(frozen=True)
class Image:
    """One image manifest with its config and layers, as written into a layout."""

    manifest: Descriptor
    manifest_bytes: bytes
    config: Descriptor
    config_bytes: bytes
    layers: tuple[Descriptor, ...]
    platform: Platform

    @property
    def digest(self) -> str:
        return self.manifest.digest

    @property
    def blob_digests(self) -> list[str]:
        """The config and layers: what a registry must hold as blobs for this image."""
        return [self.config.digest, *(layer.digest for layer in self.layers)]


@dataclass(frozen=True)
class Index:
    """An image index (or Docker manifest list) and the images it lists, in order."""

    descriptor: Descriptor
    index_bytes: bytes
    children: tuple[Image, ...]

    @property
    def digest(self) -> str:
        return self.descriptor.digest

    def child(self, architecture: str) -> Image:
        for image in self.children:
            if image.platform.architecture == architecture:
                return image
        raise KeyError(architecture)


@dataclass
class ImageLayout:
    """An OCI image layout directory: `oci-layout`, `index.json` and `blobs/<algorithm>/<hex>`."""

    root: Path
    _index: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        (self.root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
        marker = self.root / "oci-layout"
        if not marker.exists():
            marker.write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
        index_path = self.root / "index.json"
        if index_path.exists():
            self._index = json.loads(index_path.read_text())
        else:
            self._index = {"schemaVersion": 2, "mediaType": OCI.index, "manifests": []}
            self._save_index()

    # --- references for clients ----------------------------------------------------------------------------
    def ref(self, tag: str) -> str:
        """The containers/image reference of a tag in this layout (`oci:<dir>:<tag>`)."""
        return f"oci:{self.root}:{tag}"

    def export_dir(self, target: Image | Index, destination: Path) -> str:
        """Copy an image or index into containers/image's `dir:` format and return its reference.

        skopeo 1.9 reads only OCI media types from an OCI layout's index.json, so a Docker schema2 image or
        manifest list is pushed from a `dir:` copy, which hands the manifest to the client byte for byte."""
        destination = Path(destination)
        destination.mkdir(parents=True, exist_ok=True)
        (destination / "version").write_text(DIR_TRANSPORT_VERSION)
        images = [target] if isinstance(target, Image) else list(target.children)
        if isinstance(target, Image):
            (destination / "manifest.json").write_bytes(target.manifest_bytes)
        else:
            (destination / "manifest.json").write_bytes(target.index_bytes)
            for image in images:
                hexpart = image.digest.partition(":")[2]
                (destination / f"{hexpart}.manifest.json").write_bytes(image.manifest_bytes)
        for image in images:
            for digest in image.blob_digests:
                (destination / digest.partition(":")[2]).write_bytes(self.blob(digest))
        return f"dir:{destination}"

    # --- blobs ---------------------------------------------------------------------------------------------
    def blob_path(self, digest: str) -> Path:
        algorithm, _, hexpart = digest.partition(":")
        return self.root / "blobs" / algorithm / hexpart

    def has_blob(self, digest: str) -> bool:
        return self.blob_path(digest).is_file()

    def blob(self, digest: str) -> bytes:
        return self.blob_path(digest).read_bytes()

    def write_blob(self, data: bytes) -> tuple[str, int]:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        path = self.blob_path(digest)
        if not path.exists():
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_bytes(data)
            os.replace(tmp, path)
        return digest, len(data)

    def _put(self, media_type: str, data: bytes) -> Descriptor:
        digest, size = self.write_blob(data)
        return Descriptor(media_type, digest, size)

    def _put_json(self, media_type: str, document: Mapping[str, Any]) -> tuple[Descriptor, bytes]:
        data = canonical_json(document)
        return self._put(media_type, data), data

    # --- index.json ----------------------------------------------------------------------------------------
    @property
    def index(self) -> dict[str, Any]:
        """The layout's index.json as last written (re-read with `reload`)."""
        return self._index

    def reload(self) -> None:
        self._index = json.loads((self.root / "index.json").read_text())

    def tags(self) -> dict[str, dict[str, Any]]:
        """Tag -> the descriptor index.json lists for it."""
        found = {}
        for entry in self._index.get("manifests", []):
            name = entry.get("annotations", {}).get(REF_NAME)
            if name:
                found[name] = entry
        return found

    def descriptor(self, tag: str) -> dict[str, Any]:
        return self.tags()[tag]

    def manifest(self, tag: str) -> dict[str, Any]:
        """The parsed manifest or index that `tag` points at."""
        return json.loads(self.blob(self.descriptor(tag)["digest"]))

    def tag(self, descriptor: Descriptor, name: str, platform: Platform | None = None) -> None:
        entries = [e for e in self._index["manifests"] if e.get("annotations", {}).get(REF_NAME) != name]
        entry = descriptor.to_json(annotations={REF_NAME: name})
        if platform is not None:
            entry["platform"] = platform.to_json()
        entries.append(entry)
        self._index["manifests"] = entries
        self._save_index()

    def _save_index(self) -> None:
        path = self.root / "index.json"
        tmp = path.with_name("index.json.tmp")
        tmp.write_text(json.dumps(self._index, indent=2))
        os.replace(tmp, path)

    # --- building images -----------------------------------------------------------------------------------
    def build_image(
        self,
        *,
        label: str,
        media: MediaTypes = OCI,
        platform: Platform = AMD64,
        files: Mapping[str, bytes] | None = None,
        big_layer_bytes: int = 0,
    ) -> Image:
        """Write an image's blobs and manifest without tagging it: a small layer holding `files` (by default one
        file that names the label and platform), and optionally a second layer of `big_layer_bytes` random bytes
        drawn from a generator seeded by the label."""
        if files is None:
            files = {"hello.txt": f"hello from {label} ({platform.architecture})\n".encode()}
        layer_sources = [dict(files)]
        if big_layer_bytes:
            layer_sources.append({"random.bin": seeded_bytes(f"{label}/{platform.architecture}", big_layer_bytes)})
        layers: list[Descriptor] = []
        diff_ids: list[str] = []
        for index, contents in enumerate(layer_sources):
            compressed, diff_id = tar_gz(contents, level=1 if index else 6)
            layers.append(self._put(media.layer, compressed))
            diff_ids.append(diff_id)
        config: dict[str, Any] = {
            "created": CREATED,
            "architecture": platform.architecture,
            "os": platform.os,
            "config": {"Cmd": ["/bin/sh"], "Labels": {"dockyard.test": label}},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": [
                {"created": CREATED, "created_by": f"tests.support.layout layer {i}"} for i in range(len(diff_ids))
            ],
        }
        if platform.variant:
            config["variant"] = platform.variant
        config_descriptor, config_bytes = self._put_json(media.config, config)
        manifest: dict[str, Any] = {
            "schemaVersion": 2,
            "mediaType": media.manifest,
            "config": config_descriptor.to_json(),
            "layers": [layer.to_json() for layer in layers],
        }
        if media is OCI:
            manifest["annotations"] = {"org.opencontainers.image.title": label}
        manifest_descriptor, manifest_bytes = self._put_json(media.manifest, manifest)
        return Image(manifest_descriptor, manifest_bytes, config_descriptor, config_bytes, tuple(layers), platform)

    def add_image(
        self,
        tag: str,
        *,
        media: MediaTypes = OCI,
        platform: Platform = AMD64,
        files: Mapping[str, bytes] | None = None,
        big_layer_bytes: int = 0,
        label: str | None = None,
    ) -> Image:
        """A single-platform image, tagged `tag` in index.json."""
        image = self.build_image(
            label=label or tag, media=media, platform=platform, files=files, big_layer_bytes=big_layer_bytes
        )
        self.tag(image.manifest, tag)
        return image

    def add_index(
        self,
        tag: str,
        *,
        media: MediaTypes = OCI,
        platforms: Iterable[Platform] = DEFAULT_PLATFORMS,
        big_layer_bytes: int = 0,
        label: str | None = None,
    ) -> Index:
        """An index (a manifest list with Docker media types) over one image per platform, tagged `tag`."""
        label = label or tag
        children = tuple(
            self.build_image(
                label=f"{label}-{p.architecture}", media=media, platform=p, big_layer_bytes=big_layer_bytes
            )
            for p in platforms
        )
        index = {
            "schemaVersion": 2,
            "mediaType": media.index,
            "manifests": [child.manifest.to_json(platform=child.platform.to_json()) for child in children],
        }
        descriptor, index_bytes = self._put_json(media.index, index)
        self.tag(descriptor, tag)
        return Index(descriptor, index_bytes, children)


def canonical_json(document: Mapping[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def seeded_bytes(seed: str, size: int) -> bytes:
    """`size` bytes that do not compress, the same for the same seed on every run."""
    return random.Random(int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big")).randbytes(size)


def tar_gz(files: Mapping[str, bytes], *, level: int = 6) -> tuple[bytes, str]:
    """A reproducible gzipped tar of `files` (path -> content) and the diff ID (digest of the plain tar)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for name in sorted(files):
            content = files[name]
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mtime = 0
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            archive.addfile(info, io.BytesIO(content))
    plain = raw.getvalue()
    compressed = io.BytesIO()
    with gzip.GzipFile(fileobj=compressed, mode="wb", mtime=0, compresslevel=level) as stream:
        stream.write(plain)
    return compressed.getvalue(), sha256_digest(plain)
